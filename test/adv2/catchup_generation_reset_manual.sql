\c t2
SELECT rows_held FROM unlearn.models WHERE name = 'mtr';
DELETE FROM tr WHERE id = 1;   -- slice 0: the shard's catch-up (generation 1) goes to the worker at commit
SELECT pg_sleep(2);
SELECT backend_type, state, wait_event FROM pg_stat_activity WHERE backend_type = 'pg_unlearn worker';
SELECT model, operation, phase FROM unlearn.progress;
BEGIN;
INSERT INTO tr VALUES (100001, 1, 1, 1);   -- learned: this transaction now holds the shard's state row
TRUNCATE tr;                                -- waits for the worker's read; deletes the catch-up row
INSERT INTO tr VALUES (100002, 2, 0.5, 1), (100003, -3, 0.2, 0);  -- learned: a new catch-up row, generation 1 again
COMMIT;
SELECT unlearn.wait('mtr', 120);
SELECT rows_held, version FROM unlearn.models WHERE name = 'mtr';
SELECT shard, slice, rows FROM unlearn.checkpoints c JOIN unlearn.models m USING (model_id) WHERE m.name = 'mtr' ORDER BY 1, 2;
SELECT check_name, value, passed FROM unlearn.verify('mtr');
SELECT count(*) AS table_rows FROM tr;
