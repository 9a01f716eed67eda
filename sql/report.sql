-- unlearn.report: one self-contained HTML page per model. (Rendering in
-- headless Chromium: test/python/check_report.py.)
CREATE TABLE rp (id text PRIMARY KEY, grp text, x1 float8, x2 float8, y int);
INSERT INTO rp SELECT 'key-' || i, (ARRAY['north', 'south', 'east'])[1 + i % 3], sin(i), cos(i * 0.7),
       (sin(i) + 0.5 * cos(i * 0.7) > 0.1)::int FROM generate_series(1, 900) i;
UPDATE rp SET x2 = 123456.789 WHERE id = 'key-5';
SELECT rows_trained FROM unlearn.train('rp_lr', 'rp', 'y', ARRAY['x1', 'x2'], 'logistic_regression', shards => 3,
                                       options => '{"holdout": 0.25, "monitor_group": "grp", "retrain": "inline"}');
DELETE FROM rp WHERE id IN ('key-5', 'key-6', 'key-7', 'key-8', 'key-9', 'key-10', 'key-11');
SELECT unlearn.wait('rp_lr') AS caught_up;
SELECT unlearn.refresh_metrics('rp_lr') ? 'accuracy' AS refreshed;
CREATE TEMP TABLE page AS SELECT unlearn.report('rp_lr') AS html;
-- a whole page, with its charts: quality over time, ROC, group impact, shards (rows, retrains)
SELECT left(html, 15) AS starts, right(html, 14) AS ends,
       (length(html) - length(replace(html, '<svg', ''))) / 4 AS charts,
       (length(html) - length(replace(html, '<polyline', ''))) / 9 AS lines,
       position('Membership inference' IN html) > 0 AS roc, position('accuracy per group of grp' IN html) > 0 AS groups,
       position('retrains per shard' IN html) > 0 AS shards
FROM page;
-- nothing fetched, no key, no value of a row
SELECT html ~ '\msrc=|\mhref=|url\(|<script|@import' AS fetches, position('key-' IN html) > 0 AS has_key,
       position('123456' IN html) > 0 AS has_value
FROM page;
-- one audit row per event, each with its state hashes' prefixes
SELECT (length(html) - length(replace(html, '<tr><td>', ''))) / 8 AS audit_rows,
       (SELECT count(*) FROM unlearn.audit WHERE model = 'rp_lr') AS events FROM page;
-- names are escaped
SELECT rows_trained FROM unlearn.train('rp <b>&"''', 'rp', 'y', ARRAY['x1', 'x2']);
SELECT position('rp <b>' IN r) > 0 AS raw_name, position('rp &lt;b&gt;&amp;&quot;&#39;' IN r) > 0 AS escaped_name,
       position('No metrics recorded' IN r) > 0 AS says_no_metrics, position('No holdout rows' IN r) > 0 AS says_no_holdout,
       position('Summation form' IN r) > 0 AS says_exact
FROM unlearn.report('rp <b>&"''') r;
-- certified: the budget chart once a removal happened
SELECT rows_trained FROM unlearn.train('rp_cert', 'rp', 'y', ARRAY['x1', 'x2'], 'logistic_regression', 'certified');
SELECT position('No removal yet' IN unlearn.report('rp_cert')) > 0 AS unspent;
DELETE FROM rp WHERE id = 'key-20';
SELECT position('bound / budget after each removal' IN unlearn.report('rp_cert')) > 0 AS budget_chart;
-- group names only for a role that may read the group column
CREATE ROLE rp_reader;
GRANT USAGE ON SCHEMA unlearn TO rp_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA unlearn TO rp_reader;
GRANT SELECT (id, x1, x2, y) ON rp TO rp_reader;
SET ROLE rp_reader;
SELECT position('north' IN r) > 0 AS names_groups, position('which you may not read' IN r) > 0 AS says_why
FROM unlearn.report('rp_lr') r;
RESET ROLE;
REVOKE ALL ON rp FROM rp_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA unlearn FROM rp_reader;
REVOKE USAGE ON SCHEMA unlearn FROM rp_reader;
DROP ROLE rp_reader;
SELECT expect_error($$SELECT unlearn.report('no_such_model')$$);
SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name LIKE 'rp%' ORDER BY name;
DROP TABLE rp;
