-- ALTER EXTENSION pg_unlearn UPDATE on a database holding models trained
-- under 0.1.0: they keep predicting and forgetting, and gain on_insert.
CREATE DATABASE unlearn_upgrade;
\c unlearn_upgrade
CREATE EXTENSION pg_unlearn VERSION '0.1.0';
CREATE TABLE old_t (id int PRIMARY KEY, x float8, y float8);
INSERT INTO old_t SELECT i, i, 3 * i + 2 + sin(i) FROM generate_series(1, 200) i;
SELECT rows_trained FROM unlearn.train('old_ols', 'old_t', 'y', ARRAY['x']);
SELECT round(unlearn.predict('old_ols', ARRAY[10.0])::numeric, 6) AS before_update;

ALTER EXTENSION pg_unlearn UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_unlearn';
-- 0.5.0 identifies keys by value: every model was retrained from its table
SELECT model, event FROM unlearn.audit WHERE event = 'resync' ORDER BY event_id;
SELECT unlearn.trained_on('old_ols', 21) AS typed_key, unlearn.trained_on('old_ols', '21') AS text_key;
SELECT round(unlearn.predict('old_ols', ARRAY[10.0])::numeric, 6) AS after_update;
DELETE FROM old_t WHERE id <= 20;
SELECT check_name, passed FROM unlearn.verify('old_ols') ORDER BY 1;
-- the 0.1.0 model ignores inserts; a new model on the same table can learn them
SELECT rows_trained FROM unlearn.train('new_ols', 'old_t', 'y', ARRAY['x'], options => '{"on_insert": "learn"}');
INSERT INTO old_t VALUES (1000, 1000, 3002);
SELECT name, rows_held FROM unlearn.models ORDER BY name;
SELECT name, check_name, passed FROM unlearn.models, unlearn.verify(name) ORDER BY 1, 2;

-- the upgraded database holds the same objects as one created at the default version
SELECT count(*) AS objects FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE e.extname = 'pg_unlearn' AND d.deptype = 'e';
\c contrib_regression
SELECT count(*) AS objects FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE e.extname = 'pg_unlearn' AND d.deptype = 'e';
DROP DATABASE unlearn_upgrade;

-- 0.3.0 -> 0.4.0 with a SISA model in place: the new library forgets on the
-- old schema (no audit.details yet), and after the update the old model's
-- events have certificates and new models can be certified.
CREATE DATABASE unlearn_upgrade3;
\c unlearn_upgrade3
CREATE EXTENSION pg_unlearn VERSION '0.3.0';
CREATE TABLE old_c (id int PRIMARY KEY, x float8, y int);
INSERT INTO old_c SELECT i, i % 17, (i % 17 > 8 OR i % 5 = 0)::int FROM generate_series(1, 300) i;
SELECT rows_trained FROM unlearn.train('old_lr', 'old_c', 'y', ARRAY['x'], 'logistic_regression', shards => 2);
DELETE FROM old_c WHERE id <= 10;
SELECT count(*) AS unlearn_events FROM unlearn.audit WHERE model = 'old_lr' AND event = 'unlearn';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_unlearn';
SELECT check_name, passed FROM unlearn.verify('old_lr') ORDER BY 1;
SELECT c->>'event' AS event, (c->>'rows_forgotten')::int AS rows_forgotten, c->>'method' AS method
FROM unlearn.audit a, unlearn.audit_certificate(a.event_id) c
WHERE a.model = 'old_lr' AND a.event = 'unlearn';
SELECT rows_trained FROM unlearn.train('new_cert', 'old_c', 'y', ARRAY['x'], 'logistic_regression', 'certified');
DELETE FROM old_c WHERE id = 11;
SELECT model, method FROM unlearn.audit WHERE event = 'unlearn' AND rows = 1 ORDER BY event_id;
SELECT count(*) AS objects FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE e.extname = 'pg_unlearn' AND d.deptype = 'e';
\c contrib_regression
DROP DATABASE unlearn_upgrade3;

-- Every upgrade path ends at the definitions a fresh install of the default
-- version makes (pg_unlearn--0.7.0.sql, which replays no history): the same
-- functions, views, tables, columns, constraints, indexes, sequences, event
-- triggers, grants, comments, row-level security policies and dumped
-- configuration tables. Each path lists
-- its differences from the fresh install: none.
CREATE DATABASE unlearn_paths;
\c unlearn_paths
CREATE VIEW definitions AS
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'pg_unlearn'),
     ns AS (SELECT oid FROM pg_namespace WHERE nspname = 'unlearn')
SELECT 'member' AS kind, pg_describe_object(d.classid, d.objid, d.objsubid) AS definition
FROM pg_depend d JOIN ext ON d.refobjid = ext.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
UNION ALL
SELECT 'function', format('%s acl %s comment %s', pg_get_functiondef(p.oid), p.proacl, obj_description(p.oid, 'pg_proc'))
FROM pg_proc p JOIN ns ON p.pronamespace = ns.oid
UNION ALL
SELECT 'relation', format('%s %s acl %s comment %s %s row security %s options %s', c.relname, c.relkind, c.relacl,
                          obj_description(c.oid, 'pg_class'),
                          CASE c.relkind WHEN 'v' THEN pg_get_viewdef(c.oid) WHEN 'i' THEN pg_get_indexdef(c.oid) END,
                          c.relrowsecurity, c.reloptions)
FROM pg_class c JOIN ns ON c.relnamespace = ns.oid
UNION ALL
SELECT 'policy', format('%s on %s for %s to %s using %s check %s', pol.polname, c.relname, pol.polcmd, pol.polroles,
                        pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid))
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN ns ON c.relnamespace = ns.oid
UNION ALL
SELECT 'column', format('%s.%s %s %s not null %s default %s storage %s acl %s comment %s', c.relname, a.attnum, a.attname,
                        format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid),
                        a.attstorage, a.attacl, col_description(c.oid, a.attnum))
FROM pg_class c JOIN ns ON c.relnamespace = ns.oid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
UNION ALL
SELECT 'constraint', format('%s %s', co.conname, pg_get_constraintdef(co.oid))
FROM pg_constraint co JOIN ns ON co.connamespace = ns.oid
UNION ALL
SELECT 'sequence', format('%s %s start %s by %s min %s max %s cache %s cycle %s', c.relname, s.seqtypid::regtype,
                          s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN ns ON c.relnamespace = ns.oid
UNION ALL
SELECT 'event trigger', format('%s on %s tags %s runs %s enabled %s', e.evtname, e.evtevent, e.evttags,
                               e.evtfoid::regprocedure, e.evtenabled)
FROM pg_event_trigger e
UNION ALL
SELECT 'dumped', format('%s %s %s', u.n, u.rel::regclass, u.cond)
FROM ext, unnest(ext.extconfig, ext.extcondition) WITH ORDINALITY AS u(rel, cond, n);
CREATE EXTENSION pg_unlearn;
SELECT extversion FROM pg_extension WHERE extname = 'pg_unlearn';
CREATE TABLE fresh AS SELECT * FROM definitions;
SELECT kind, count(*) FROM fresh GROUP BY kind ORDER BY kind;
CREATE VIEW differences AS
(SELECT 'upgraded only' AS side, * FROM definitions EXCEPT ALL SELECT 'upgraded only', * FROM fresh)
UNION ALL
(SELECT 'fresh only', * FROM fresh EXCEPT ALL SELECT 'fresh only', * FROM definitions);
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.1.0';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT * FROM differences ORDER BY 1, 2, 3;
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.2.0';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT * FROM differences ORDER BY 1, 2, 3;
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.3.0';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT * FROM differences ORDER BY 1, 2, 3;
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.4.0';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT * FROM differences ORDER BY 1, 2, 3;
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.5.0';
-- mlp models of 0.5.0 ran a fixed number of epochs: 0.5.1 pins it in their options
CREATE TABLE mlp_t (id int PRIMARY KEY, x float8, y int);
INSERT INTO mlp_t SELECT i, i % 7, (i % 7 > 3)::int FROM generate_series(1, 60) i;
SELECT rows_trained FROM unlearn.train('old_mlp', 'mlp_t', 'y', ARRAY['x'], 'mlp', shards => 2);
SELECT rows_trained FROM unlearn.train('old_mlp_e', 'mlp_t', 'y', ARRAY['x'], 'mlp', options => '{"epochs": 3}');
ALTER EXTENSION pg_unlearn UPDATE;
SELECT name, options->'epochs' AS epochs, options->'n_iter_no_change' AS n_iter_no_change
FROM unlearn.models ORDER BY name;
SELECT unlearn.drop_model(name) FROM unlearn.models;
DROP TABLE mlp_t;
SELECT * FROM differences ORDER BY 1, 2, 3;
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.5.1';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT * FROM differences ORDER BY 1, 2, 3;
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.6.0';
-- before the update (no owner column), this library already writes the
-- extension's tables as their owner for every caller: a 0.6.0 reader (USAGE
-- and SELECT on unlearn.*) may not change a model through it; a model then
-- belongs to its table's owner
CREATE TABLE reader_t (id int PRIMARY KEY, x float8, z float8, y float8);
INSERT INTO reader_t SELECT i, i % 13, i % 7, (i % 13) * 2 + (i % 7) + (i % 3) FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('dba_m', 'reader_t', 'y', ARRAY['x', 'z']);
CREATE ROLE unlearn_reader06;
GRANT USAGE ON SCHEMA unlearn TO unlearn_reader06;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO unlearn_reader06;
CREATE SCHEMA reader06 AUTHORIZATION unlearn_reader06;
SET ROLE unlearn_reader06;
CREATE TABLE reader06.junk (id int PRIMARY KEY, x float8, y float8);
INSERT INTO reader06.junk SELECT i, i % 5, 42 + (i % 5) + (i % 2) FROM generate_series(1, 50) i;
SELECT unlearn.forget_feature('dba_m', 'z');
SELECT unlearn.train('dba_m', 'reader06.junk', 'y', ARRAY['x'], replace => true);
SELECT unlearn.compact('dba_m');
RESET ROLE;
SELECT name, relation, features FROM unlearn.models WHERE name = 'dba_m';
SELECT unlearn.drop_model('dba_m');
DROP TABLE reader_t;
DROP SCHEMA reader06 CASCADE;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM unlearn_reader06;
REVOKE ALL ON SCHEMA unlearn FROM unlearn_reader06;
DROP ROLE unlearn_reader06;
-- (the grants left acl entries behind: the update is compared from a fresh install)
DROP EXTENSION pg_unlearn;
CREATE EXTENSION pg_unlearn VERSION '0.6.0';
ALTER EXTENSION pg_unlearn UPDATE;
SELECT * FROM differences ORDER BY 1, 2, 3;
\c contrib_regression
DROP DATABASE unlearn_paths;
