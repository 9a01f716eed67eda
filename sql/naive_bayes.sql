-- Gaussian naive Bayes, checked against SQL aggregates: priors, means and
-- population variances plus 1e-9 x the largest feature variance (GaussianNB()).
CREATE TABLE iris_like (id int PRIMARY KEY, f1 float8, f2 float8, label int);
INSERT INTO iris_like
SELECT i, (i % 3) * 2 + sin(i) , 10 + (i % 3) - cos(i * 3) * 0.5, i % 3 FROM generate_series(1, 300) i;
SELECT name, algorithm, rows_trained FROM unlearn.train('nb', 'iris_like', 'label', ARRAY['f1', 'f2'], 'naive_bayes');

CREATE VIEW nb_reference AS
WITH eps AS (SELECT 1e-9 * greatest(var_pop(f1), var_pop(f2)) AS e FROM iris_like)
SELECT format('prior[%s]', label) AS feature, count(*)::float8 / (SELECT count(*) FROM iris_like) AS value FROM iris_like GROUP BY label
UNION ALL SELECT format('mean[%s].f1', label), avg(f1) FROM iris_like GROUP BY label
UNION ALL SELECT format('mean[%s].f2', label), avg(f2) FROM iris_like GROUP BY label
UNION ALL SELECT format('var[%s].f1', label), var_pop(f1) + min(e) FROM iris_like, eps GROUP BY label
UNION ALL SELECT format('var[%s].f2', label), var_pop(f2) + min(e) FROM iris_like, eps GROUP BY label;

SELECT count(*) AS parameters, bool_and(rel_diff(c.coefficient, r.value) < 1e-9) AS all_match
FROM unlearn.coefficients('nb') c FULL JOIN nb_reference r USING (feature);

-- predict is the argmax of the joint log-likelihood, computed here independently
CREATE VIEW nb_argmax AS
WITH p AS (SELECT feature, value FROM nb_reference),
     cls AS (SELECT DISTINCT label FROM iris_like),
     jll AS (
        SELECT t.id, cls.label,
               ln((SELECT value FROM p WHERE feature = format('prior[%s]', cls.label)))
               - 0.5 * ln(2 * pi() * (SELECT value FROM p WHERE feature = format('var[%s].f1', cls.label)))
               - 0.5 * (t.f1 - (SELECT value FROM p WHERE feature = format('mean[%s].f1', cls.label))) ^ 2
                     / (SELECT value FROM p WHERE feature = format('var[%s].f1', cls.label))
               - 0.5 * ln(2 * pi() * (SELECT value FROM p WHERE feature = format('var[%s].f2', cls.label)))
               - 0.5 * (t.f2 - (SELECT value FROM p WHERE feature = format('mean[%s].f2', cls.label))) ^ 2
                     / (SELECT value FROM p WHERE feature = format('var[%s].f2', cls.label)) AS ll
        FROM iris_like t, cls)
SELECT DISTINCT ON (id) id, label FROM jll ORDER BY id, ll DESC;
SELECT count(*) FILTER (WHERE unlearn.predict('nb', t) = a.label) AS agree, count(*) AS total
FROM iris_like t JOIN nb_argmax a USING (id);
SELECT array_length(p, 1) AS classes, abs((SELECT sum(v) FROM unnest(p) v) - 1) < 1e-12 AS sums_to_one
FROM (SELECT unlearn.predict_proba('nb', ARRAY[2.0, 11.0]) AS p) s;

-- forget a whole class: it leaves the model as it would leave a retrain
DELETE FROM iris_like WHERE label = 2 OR id % 10 = 0;
SELECT count(*) AS parameters, bool_and(rel_diff(c.coefficient, r.value) < 1e-9) AS all_match
FROM unlearn.coefficients('nb') c FULL JOIN nb_reference r USING (feature);
SELECT count(*) FROM unlearn.coefficients('nb') WHERE feature LIKE '%[2]%';
SELECT array_length(unlearn.predict_proba('nb', ARRAY[2.0, 11.0]), 1) AS classes;
SELECT * FROM unlearn.verify('nb') WHERE NOT passed;

-- a regression model has no probabilities; a one-class target is refused
SELECT expect_error($$SELECT unlearn.predict_proba('nope', ARRAY[1.0])$$);
CREATE TABLE one_class (id int PRIMARY KEY, f float8, label int);
INSERT INTO one_class SELECT i, i, 7 FROM generate_series(1, 10) i;
SELECT expect_error($$SELECT unlearn.train('nb1', 'one_class', 'label', ARRAY['f'], 'naive_bayes')$$);
SELECT rows_trained FROM unlearn.train('ols_for_proba', 'one_class', 'f', ARRAY['label'], 'ridge');
SELECT expect_error($$SELECT unlearn.predict_proba('ols_for_proba', ARRAY[1.0])$$);

-- one rule for what a class label is, for every classifier (classifier.hpp):
-- a finite integer, at most 100 distinct; naive_bayes refuses a continuous
-- target and 0.5/1.5 labels as logistic regression and the mlp do
CREATE TABLE nb_labels (id int PRIMARY KEY, f float8, measured float8, half float8, code int);
INSERT INTO nb_labels
SELECT i, sin(i), i * 0.37 + cos(i), CASE WHEN i % 2 = 0 THEN 0.5 ELSE 1.5 END, i FROM generate_series(1, 300) i;
SELECT expect_error($$SELECT unlearn.train('nb_measured', 'nb_labels', 'measured', ARRAY['f'], 'naive_bayes')$$);
SELECT expect_error($$SELECT unlearn.train('nb_half', 'nb_labels', 'half', ARRAY['f'], 'naive_bayes')$$);
SELECT expect_error($$SELECT unlearn.train('lr_half', 'nb_labels', 'half', ARRAY['f'], 'logistic_regression')$$);
SELECT expect_error($$SELECT unlearn.train('cert_half', 'nb_labels', 'half', ARRAY['f'], 'logistic_regression', 'certified')$$);
SELECT expect_error($$SELECT unlearn.train('mlp_half', 'nb_labels', 'half', ARRAY['f'], 'mlp')$$);
-- integers, but 300 distinct values: refused too, also when 4 shards hold fewer than 100 each
SELECT expect_error($$SELECT unlearn.train('nb_code', 'nb_labels', 'code', ARRAY['f'], 'naive_bayes')$$);
SELECT expect_error($$SELECT unlearn.train('nb_code4', 'nb_labels', 'code', ARRAY['f'], 'naive_bayes', shards => 4)$$);
-- learning an inserted row follows the same rule; an integer label the model was not
-- trained on is not learned: the class list is fixed at training, as for every classifier
CREATE TABLE nb_learn (id int PRIMARY KEY, f float8, label float8);
INSERT INTO nb_learn SELECT i, i % 2 + sin(i), i % 2 FROM generate_series(1, 40) i;
SELECT rows_trained FROM unlearn.train('nb_learns', 'nb_learn', 'label', ARRAY['f'], 'naive_bayes',
                                       options => '{"on_insert": "learn"}');
SELECT expect_error($$INSERT INTO nb_learn VALUES (1001, 1.0, 2.5)$$);
SELECT expect_error($$UPDATE nb_learn SET label = label + 0.5 WHERE id = 1$$);
INSERT INTO nb_learn VALUES (1002, 1.0, 5), (1003, 1.0, 1);
SELECT array_length(unlearn.predict_proba('nb_learns', ARRAY[2.0]), 1) AS classes,
       unlearn.trained_on('nb_learns', 1002) AS unknown_label_learned, unlearn.trained_on('nb_learns', 1003) AS known_label_learned;
SELECT * FROM unlearn.verify('nb_learns') WHERE NOT passed;
