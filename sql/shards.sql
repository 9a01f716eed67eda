-- Shards split the state; summation-form shards add up to the whole model.
CREATE TABLE sh (id int PRIMARY KEY, x1 float8, x2 float8, y float8);
INSERT INTO sh SELECT i, sin(i) * 10, cos(i) + i % 7, 1 + sin(i) * 20 - cos(i) + 0.3 * (i % 7) + sin(i * 13) FROM generate_series(1, 3000) i;
SELECT name, shards FROM unlearn.train('sh1', 'sh', 'y', ARRAY['x1', 'x2']);
SELECT name, shards FROM unlearn.train('sh4', 'sh', 'y', ARRAY['x1', 'x2'], shards => 4);
SELECT count(*) AS shard_states FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name = 'sh4';
-- every shard gets a fair share of rows (assignment hashes the key)
SELECT count(DISTINCT shard) AS shards_used, min(n) > 600 AS balanced
FROM (SELECT shard, count(*) AS n FROM unlearn.lineage WHERE model = 'sh4' GROUP BY shard) s;
SELECT max(rel_diff(a.coefficient, b.coefficient)) < 1e-12 AS same_model
FROM unlearn.coefficients('sh1') a JOIN unlearn.coefficients('sh4') b USING (feature);
DELETE FROM sh WHERE id % 3 = 0;
SELECT max(rel_diff(a.coefficient, b.coefficient)) < 1e-12 AS same_model
FROM unlearn.coefficients('sh1') a JOIN unlearn.coefficients('sh4') b USING (feature);
SELECT cardinality(shards) AS shards_touched FROM unlearn.audit WHERE model = 'sh4' AND event = 'unlearn';
DELETE FROM sh WHERE id = 1;
SELECT cardinality(shards) AS shards_touched FROM unlearn.audit WHERE model = 'sh4' AND event = 'unlearn' ORDER BY event_id DESC LIMIT 1;
SELECT check_name, passed FROM unlearn.verify('sh4') ORDER BY 1;
