-- A role that may only DELETE from the source still makes every model
-- forget (the trigger is SECURITY DEFINER with a pinned search_path, safe
-- against shadowing objects); without rights on the extension's tables a
-- role sees none of its lineage or audit.
CREATE TABLE priv (id int PRIMARY KEY, x float8, y float8);
INSERT INTO priv SELECT i, i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('priv_ols', 'priv', 'y', ARRAY['x']);
CREATE ROLE unlearn_deleter;
GRANT SELECT, DELETE ON priv TO unlearn_deleter;
CREATE SCHEMA shadow AUTHORIZATION unlearn_deleter;

SET ROLE unlearn_deleter;
-- objects that would hijack unqualified names in a careless trigger
CREATE FUNCTION shadow.jsonb_each(jsonb) RETURNS TABLE (key text, value jsonb)
    LANGUAGE sql AS $$ SELECT 'l2', '1'::jsonb $$;
CREATE TABLE shadow.models (name text);
SET search_path = shadow, public;
DELETE FROM priv WHERE id <= 10;
SELECT expect_error($$SELECT count(*) FROM unlearn.lineage_blocks$$);
SELECT expect_error($$SELECT count(*) FROM unlearn.audit$$);
SELECT expect_error($$SELECT count(*) FROM unlearn.lineage$$);
RESET search_path;
RESET ROLE;
SELECT rows_held FROM unlearn.models WHERE name = 'priv_ols';
SELECT check_name, passed FROM unlearn.verify('priv_ols') ORDER BY 1;
SELECT event, rows FROM unlearn.audit WHERE model = 'priv_ols' ORDER BY event_id;
DROP SCHEMA shadow CASCADE;
-- row-level security: a role cannot train on rows it cannot see
CREATE TABLE rls (id int PRIMARY KEY, x float8, y float8, owner name);
INSERT INTO rls SELECT i, i, 2 * i, CASE WHEN i % 2 = 0 THEN 'unlearn_deleter' ELSE 'someone' END
FROM generate_series(1, 20) i;
ALTER TABLE rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON rls USING (owner = current_user);
GRANT SELECT ON rls TO unlearn_deleter;
GRANT USAGE ON SCHEMA unlearn TO unlearn_deleter;
GRANT SELECT ON unlearn.models TO unlearn_deleter;  -- past the name check, to the source check
SET ROLE unlearn_deleter;
SELECT count(*) AS visible_rows FROM rls;
SELECT expect_error($$SELECT unlearn.train('rls_ols', 'rls', 'y', ARRAY['x'])$$);
RESET ROLE;
REVOKE ALL ON unlearn.models FROM unlearn_deleter;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_deleter;
REVOKE ALL ON priv, rls FROM unlearn_deleter;
DROP TABLE rls;
DROP ROLE unlearn_deleter;

-- names are identifiers everywhere: quotes, spaces, unicode, SQL
CREATE TABLE "Größe ""quoted"" table" ("Key; DROP TABLE priv;--" int PRIMARY KEY, "höhe m" float8, "y'" float8, "Bool x" bool);
INSERT INTO "Größe ""quoted"" table" SELECT i, i * 0.5, i + sin(i), i % 2 = 0 FROM generate_series(1, 60) i;
SELECT name, rows_trained FROM unlearn.train('mo''del "x" ✓', '"Größe ""quoted"" table"', 'y''', ARRAY['höhe m', 'Bool x']);
SELECT round(unlearn.predict('mo''del "x" ✓', t)::numeric, 6) = round(unlearn.predict('mo''del "x" ✓', ARRAY["höhe m", "Bool x"::int])::numeric, 6) AS forms_agree
FROM "Größe ""quoted"" table" t WHERE "Key; DROP TABLE priv;--" = 7;
DELETE FROM "Größe ""quoted"" table" WHERE "Key; DROP TABLE priv;--" < 5;
SELECT unlearn.trained_on('mo''del "x" ✓', '3') AS holds_3, unlearn.trained_on('mo''del "x" ✓', '30') AS holds_30;
SELECT count(*) FROM unlearn.lineage WHERE model = 'mo''del "x" ✓';
SELECT unlearn.feature_influence('mo''del "x" ✓', 'Bool x') >= 0 AS influence_ok;
SELECT unlearn.forget_feature('mo''del "x" ✓', 'Bool x');
SELECT check_name, passed FROM unlearn.verify('mo''del "x" ✓') ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = '"Größe ""quoted"" table"'::regclass ORDER BY 1;
SELECT unlearn.drop_model('mo''del "x" ✓');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = '"Größe ""quoted"" table"'::regclass AND tgname LIKE 'unlearn%';
SELECT count(*) FROM priv;
