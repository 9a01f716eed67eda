-- No role can stop the background worker or stall a model's writers from
-- SQL: pg_unlearn's own locks are of a kind pg_advisory_lock cannot take.
-- (0.6.0 used kind 2: any role that could log in could take x'756e6c77', 0
-- and hold every catch-up of the database back.)
CREATE ROLE unlearn_wl_plain LOGIN;
CREATE TABLE wl (id int PRIMARY KEY, x1 float8, x2 float8, y int);
INSERT INTO wl SELECT i, sin(i), cos(i), (sin(i) + cos(2 * i) > 0)::int FROM generate_series(1, 400) i;
SELECT name FROM unlearn.train('wl_lr', 'wl', 'y', ARRAY['x1', 'x2'], 'logistic_regression', shards => 4, slices => 2);
SET ROLE unlearn_wl_plain;
SELECT pg_advisory_lock(x'756e6c77'::int, 0), pg_advisory_lock(x'756e6c77'::bigint);
RESET ROLE;
DELETE FROM wl WHERE id <= 40;
-- the worker catches up though the session holds both advisory locks
SELECT unlearn.wait('wl_lr', 60) AS caught_up;
SELECT check_name, passed FROM unlearn.verify('wl_lr') ORDER BY 1;
SELECT pg_advisory_unlock_all();
-- holding the worker back is the superuser's: unlearn.hold_worker
SELECT has_function_privilege('unlearn_wl_plain', 'unlearn.hold_worker()', 'EXECUTE') AS plain_may_hold,
       has_function_privilege('unlearn_wl_plain', 'unlearn.release_worker()', 'EXECUTE') AS plain_may_release;
SELECT unlearn.hold_worker();
DELETE FROM wl WHERE id <= 80;
SELECT unlearn.wait('wl_lr', 1) AS caught_up_while_held;
SELECT unlearn.release_worker();
SELECT unlearn.wait('wl_lr', 60) AS caught_up;
SELECT unlearn.release_worker() AS held_still;
SELECT unlearn.drop_model('wl_lr');
DROP TABLE wl;
DROP ROLE unlearn_wl_plain;
