-- Categorical features: text and enum columns are one-hot encoded with a
-- vocabulary stored in the model. The vocabulary is data: a category leaves
-- with the last held row that carries it.
CREATE TYPE shirt_size AS ENUM ('S', 'M', 'L');
CREATE TABLE shop (id int PRIMARY KEY, color text, size shirt_size, x float8, y float8);
INSERT INTO shop
SELECT i, (ARRAY['red', 'green', 'blue', 'Ümber'])[1 + i % 4], (ARRAY['S', 'M', 'L'])[1 + i % 3]::shirt_size,
       sin(i), 10 + 3 * (i % 4) + 2 * (i % 3) + sin(i) + 0.1 * cos(7 * i)
FROM generate_series(1, 1200) i;
INSERT INTO shop VALUES (5000, 'magenta', 'S', 0.5, 99), (5001, NULL, 'M', 0.1, 1);

-- one categorical feature alone: least squares is the group means, the
-- first category (byte order) being the reference
SELECT rows_trained, rows_skipped FROM unlearn.train('shop_ols', 'shop', 'y', ARRAY['color']);
SELECT feature, categories FROM unlearn.vocabulary v JOIN unlearn.models m USING (model_id) WHERE m.name = 'shop_ols';
CREATE VIEW group_means AS
WITH g AS (SELECT color, avg(y) AS mean FROM shop WHERE color IS NOT NULL GROUP BY color),
     r AS (SELECT mean FROM g ORDER BY color COLLATE "C" LIMIT 1)
SELECT 'color=' || g.color AS feature, g.mean - r.mean AS expected FROM g, r
UNION ALL SELECT '(intercept)', r.mean FROM r;
SELECT count(*) AS coefficients, bool_and(abs(c.coefficient - e.expected) < 1e-9) AS group_means
FROM unlearn.coefficients('shop_ols') c FULL JOIN group_means e USING (feature);

-- forgetting every row of a category removes it from vocabulary and model
DELETE FROM shop WHERE color = 'magenta';
SELECT categories FROM unlearn.vocabulary v JOIN unlearn.models m USING (model_id) WHERE m.name = 'shop_ols';
SELECT count(*) AS coefficients, bool_and(abs(c.coefficient - e.expected) < 1e-9) AS group_means
FROM unlearn.coefficients('shop_ols') c FULL JOIN group_means e USING (feature);
-- the reference category itself ('blue'): the next one becomes the reference
DELETE FROM shop WHERE color = 'blue';
SELECT count(*) AS coefficients, bool_and(abs(c.coefficient - e.expected) < 1e-9) AS group_means
FROM unlearn.coefficients('shop_ols') c FULL JOIN group_means e USING (feature);
SELECT check_name, passed FROM unlearn.verify('shop_ols') ORDER BY 1;

-- mixed numeric, text and enum features, every algorithm; equal to a retrain after deletes
SELECT name FROM unlearn.train('shop_ridge', 'shop', 'y', ARRAY['x', 'color', 'size'], 'ridge', options => '{"l2": 0.5}');
CREATE TABLE shop_labels AS SELECT id, color, size, x, (y > 15)::int AS label FROM shop;
ALTER TABLE shop_labels ADD PRIMARY KEY (id);
SELECT name FROM unlearn.train('shop_nb', 'shop_labels', 'label', ARRAY['x', 'color', 'size'], 'naive_bayes');
DELETE FROM shop WHERE id % 5 = 0 OR size = 'L';
DELETE FROM shop_labels WHERE id % 5 = 0 OR color = 'Ümber';
SELECT name, array_agg(feature ORDER BY feature) FILTER (WHERE feature LIKE 'size=%' OR feature LIKE 'color=%') AS indicators
FROM unlearn.models m, unlearn.coefficients(m.name) WHERE m.name = 'shop_ridge' GROUP BY 1;
SELECT m.name, bool_and(v.passed) AS verified FROM unlearn.models m, unlearn.verify(m.name) v
WHERE m.name LIKE 'shop%' GROUP BY 1 ORDER BY 1;
SELECT name FROM unlearn.train('shop_ridge_fresh', 'shop', 'y', ARRAY['x', 'color', 'size'], 'ridge', options => '{"l2": 0.5}');
SELECT count(*) AS coefficients, max(abs(a.coefficient - b.coefficient)) < 1e-9 AS equals_retrain
FROM unlearn.coefficients('shop_ridge') a FULL JOIN unlearn.coefficients('shop_ridge_fresh') b USING (feature);

-- an unseen category at predict time sets no indicator: for least squares it
-- predicts like the reference category
SELECT abs(unlearn.predict('shop_ols', s) - (SELECT coefficient FROM unlearn.coefficients('shop_ols') WHERE feature = '(intercept)')) < 1e-9 AS unseen_is_reference
FROM (SELECT 1 AS id, 'never-seen'::text AS color) s;
SELECT expect_error($$SELECT unlearn.predict('shop_ols', ARRAY[1.0])$$);
-- a row whose column for a categorical feature is a number is refused (it crashed the backend before)
SELECT expect_error($$SELECT unlearn.predict('shop_ols', s) FROM (SELECT 1.0::float8 AS x, 5 AS color) s$$);
SELECT expect_error($$SELECT unlearn.feature_influence('shop_ridge', 'x')$$);

-- forget_feature drops a categorical feature with its vocabulary
SELECT unlearn.forget_feature('shop_ridge', 'color');
SELECT feature FROM unlearn.vocabulary v JOIN unlearn.models m USING (model_id) WHERE m.name = 'shop_ridge';
SELECT bool_and(passed) AS verified FROM unlearn.verify('shop_ridge');
-- unrelated DDL on the table leaves categorical features alone
ALTER TABLE shop ADD COLUMN note text;
SELECT name, features FROM unlearn.models WHERE relation = 'shop'::regclass ORDER BY name;
-- renaming a categorical column keeps the feature and its vocabulary (its
-- text type made the event trigger forget it as a dropped numeric feature)
ALTER TABLE shop RENAME COLUMN color TO colour;
SELECT name, features FROM unlearn.models WHERE relation = 'shop'::regclass ORDER BY name;
SELECT m.name, v.feature, cardinality(v.categories) AS categories FROM unlearn.vocabulary v JOIN unlearn.models m USING (model_id)
WHERE m.relation = 'shop'::regclass ORDER BY 1, 2;
DELETE FROM shop WHERE id = (SELECT min(id) FROM shop);
SELECT name, bool_and(passed) AS verified FROM unlearn.models, unlearn.verify(name)
WHERE relation = 'shop'::regclass GROUP BY name ORDER BY name;
ALTER TABLE shop RENAME COLUMN colour TO color;
-- TRUNCATE empties every vocabulary
TRUNCATE shop;
SELECT m.name, v.categories FROM unlearn.vocabulary v JOIN unlearn.models m USING (model_id)
WHERE m.relation = 'shop'::regclass ORDER BY 1, v.feature;
