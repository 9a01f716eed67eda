-- pg_unlearn demo: the two stories of the policy brief.
--
-- Part 1, a school district withdraws its data. An ESL learning tool scores students' oral exercises with a model trained
-- on every participating district. District A withdraws and asks that its
-- data and everything learned from it be removed. One DELETE does both.
-- Afterwards students who resemble district A (most of A speaks with the
-- southern accent, which the exercises reward) are marked more harshly: the
-- model watches that group on held-out students and warns at the DELETE.
\set ON_ERROR_STOP on
\pset footer off
\echo
\echo '== 1. Install the extension and load three districts of exam results'
CREATE EXTENSION IF NOT EXISTS pg_unlearn;
DROP TABLE IF EXISTS exam_results;
CREATE TABLE exam_results (
    student_id   int PRIMARY KEY,
    district     text NOT NULL,
    accent       text NOT NULL,
    hours_study  float8,
    home_english bool,
    vocab_score  float8,
    oral_score   float8,
    passed       int GENERATED ALWAYS AS ((oral_score > 60)::int) STORED
);
SELECT setseed(0.42);
INSERT INTO exam_results
SELECT i,
       (ARRAY['A', 'B', 'C'])[1 + i % 3],
       CASE WHEN a THEN 'southern' ELSE 'northern' END,
       h, e, v,
       -- southern-accent students score higher on the same inputs; the model has no accent feature
       20 + 2.5 * h + 8 * e::int + 0.4 * v + CASE WHEN a THEN 6 ELSE 0 END + 3 * (random() - 0.5)
FROM generate_series(1, 30000) i,
     LATERAL (SELECT 10 * random() AS h, random() < 0.4 AS e, 100 * random() AS v,
                     random() < CASE WHEN i % 3 = 0 THEN 0.8 ELSE 0.1 END AS a, i AS k) r;
SELECT district, count(*) AS students, count(*) FILTER (WHERE accent = 'southern') AS southern_accent
FROM exam_results GROUP BY 1 ORDER BY 1;

\echo
\echo '== 2. Train in SQL: one call, one pass over the table'
\echo '(a fifth of the students is held out, never trained on, to watch each accent group and to test forgetting)'
SELECT * FROM unlearn.train('oral_score', 'exam_results', 'oral_score',
                            ARRAY['hours_study', 'home_english', 'vocab_score'],
                            options => '{"holdout": 0.2, "monitor_group": "accent", "impact_warning": 0.1}');
SELECT feature, round(coefficient::numeric, 4) AS coefficient FROM unlearn.coefficients('oral_score');
\echo 'A student of district A, 5 hours of study, no English at home, vocabulary 60:'
SELECT round(unlearn.predict('oral_score', ARRAY[5, 0, 60])::numeric, 2) AS predicted_oral_score;
\echo 'A pass/fail classifier has no summation form: it is trained with SISA, 4 shards x 2 slices,'
\echo 'a checkpoint after every slice:'
SELECT * FROM unlearn.train('passes_oral', 'exam_results', 'passed',
                            ARRAY['hours_study', 'home_english', 'vocab_score'], 'logistic_regression',
                            shards => 4, slices => 2);
SELECT round(p[2]::numeric, 3) AS probability_of_passing FROM unlearn.predict_proba('passes_oral', ARRAY[5, 0, 60]) p;
\echo 'A random forest forgets exactly too (DaRE: each node keeps the statistics of its candidate splits,'
\echo 'and a DELETE retrains only the subtrees whose split it changes):'
SELECT * FROM unlearn.train('passes_forest', 'exam_results', 'passed',
                            ARRAY['hours_study', 'home_english', 'vocab_score'], 'random_forest',
                            options => '{"n_estimators": 20, "max_depth": 8, "seed": 1}');

\echo
\echo '== 3. District A withdraws: an ordinary DELETE'
\timing on
DELETE FROM exam_results WHERE district = 'A';
\timing off
\echo 'The WARNING above: held-out southern-accent students of B and C are now marked more harshly.'
\echo 'The model changed in the same transaction (the intercept carries less of the accent bonus):'
SELECT feature, round(coefficient::numeric, 4) AS coefficient FROM unlearn.coefficients('oral_score');
SELECT round(unlearn.predict('oral_score', ARRAY[5, 0, 60])::numeric, 2) AS predicted_oral_score;
\echo 'The SISA classifier did not retrain inside the DELETE: from its commit each shard serves its last'
\echo 'checkpoint that never saw a student of A (here none: every first slice held one), and a background'
\echo 'worker retrains the rest after the commit. unlearn.catching_up shows the shards still catching up:'
SELECT unlearn.wait('passes_oral') AS classifier_caught_up;
SELECT round(p[2]::numeric, 3) AS probability_of_passing FROM unlearn.predict_proba('passes_oral', ARRAY[5, 0, 60]) p;

\echo
\echo '== 4. Prove it: no student of district A is held, and each model equals a retrain'
SELECT unlearn.trained_on('oral_score', '3') AS holds_student_3_of_A,
       unlearn.trained_on('oral_score', '4') AS holds_student_4_of_B,
       unlearn.trained_on('passes_oral', '3') AS classifier_holds_3;
SELECT * FROM unlearn.verify('oral_score');
SELECT check_name, value, passed FROM unlearn.verify('passes_oral') WHERE check_name NOT LIKE 'shard %';
\echo 'The forest is the one a training on the remaining students with the same seed builds, node for node:'
SELECT check_name, value, passed FROM unlearn.verify('passes_forest');
\echo 'What the DELETE did to each accent group, on held-out students (RMSE of the oral score):'
SELECT "group" AS accent, holdout_rows, round(before::numeric, 2) AS rmse_before, round(after::numeric, 2) AS rmse_after
FROM unlearn.group_impact('oral_score');

\echo
\echo '== 5. The audit a data-protection officer files: counts and hashes, no data'
SELECT event, rows, method, shards, round(duration_ms::numeric, 1) AS ms,
       left(state_hash_before, 12) AS hash_before, left(state_hash_after, 12) AS hash_after
FROM unlearn.audit WHERE model IN ('oral_score', 'passes_oral') ORDER BY event_id;
\echo 'The certificate of the withdrawal. evidence_auc: how well a loss-threshold attacker tells A''s'
\echo 'forgotten students from students the model never saw (0.5 = not at all):'
SELECT jsonb_pretty(unlearn.audit_certificate(event_id) #- '{figures,groups}') AS certificate
FROM unlearn.audit WHERE model = 'oral_score' AND event = 'unlearn';

\echo
\echo '== 6. Forgetting is transactional: a rolled-back DELETE leaves the model untouched'
BEGIN;
DELETE FROM exam_results WHERE district = 'B';
SELECT rows_held FROM unlearn.models WHERE name = 'oral_score';
ROLLBACK;
SELECT rows_held FROM unlearn.models WHERE name = 'oral_score';

\echo
\echo '== 7. How good are the models? Metrics on the held-out students, a dashboard, progress, a report'
\echo 'Training measured each model on its held-out students; the DELETE marked those figures stale:'
SELECT name, algorithm, strategy, rows_held, rows_forgotten, metric, round(metric_value::numeric, 3) AS metric_value,
       metrics_stale, last_event, shards_holding_rows
FROM unlearn.model_summary ORDER BY name;
\echo 'Measured again on the held-out students left (and recorded in the audit):'
SELECT round((m->>'r2')::numeric, 3) AS r2, round((m->>'rmse')::numeric, 2) AS rmse, (m->>'rows')::int AS holdout_rows
FROM unlearn.refresh_metrics('oral_score') m;
\echo 'The classifier kept no students out: measured on the table as it is (rows it was trained on, so optimistic):'
SELECT round((m->>'accuracy')::numeric, 3) AS accuracy, round((m->>'roc_auc')::numeric, 3) AS roc_auc,
       round((m->>'macro_f1')::numeric, 3) AS macro_f1, (m->>'rows')::int AS rows FROM unlearn.evaluate('passes_oral', 'exam_results') m;
\echo 'Long work reports its progress (every 5 s by default, here every 20 ms; another session reads unlearn.progress):'
SET unlearn.progress_interval = '20ms';
SELECT bool_and(passed) AS verified FROM unlearn.verify('passes_oral');
RESET unlearn.progress_interval;
\echo 'A report a person can read: one self-contained HTML page (inline SVG), no key or value of any row:'
\t on
\a
\o /tmp/pg_unlearn_demo_report.html
SELECT unlearn.report('oral_score');
\o
\a
\t off
\echo 'written to /tmp/pg_unlearn_demo_report.html (README: docs/report.png shows one)'

SELECT unlearn.drop_model('oral_score');
SELECT unlearn.drop_model('passes_oral');
SELECT unlearn.drop_model('passes_forest');
DROP TABLE exam_results;

-- Part 2, a feature must stop counting. A CV-ranking model still weighs a
-- driving licence that the job no longer needs; retraining everywhere is
-- impractical. forget_feature removes it exactly, without reading the table.
\echo
\echo '== 8. A CV-ranking model that still counts the driving licence'
DROP TABLE IF EXISTS applications;
CREATE TABLE applications (applicant int PRIMARY KEY, years_experience float8, has_degree bool,
                           driving_licence bool, interview_score float8);
INSERT INTO applications
SELECT i, e, d, l, 40 + 1.5 * e + 8 * d::int + 12 * l::int + 6 * (random() - 0.5)
FROM generate_series(1, 20000) i,
     LATERAL (SELECT 25 * random() AS e, random() < 0.35 AS d, random() < 0.7 AS l, i AS k) r;
SELECT rows_trained FROM unlearn.train('cv_rank', 'applications', 'interview_score',
                                       ARRAY['years_experience', 'has_degree', 'driving_licence']);
SELECT feature, round(coefficient::numeric, 3) AS coefficient FROM unlearn.coefficients('cv_rank');
\echo 'Two applicants alike but for the licence are ranked this far apart:'
SELECT round(unlearn.feature_influence('cv_rank', 'driving_licence')::numeric, 2) AS licence_influence;

\echo
\echo '== 9. Forget the feature: exact, no table scan, audited'
SELECT unlearn.forget_feature('cv_rank', 'driving_licence');
SELECT feature, round(coefficient::numeric, 3) AS coefficient FROM unlearn.coefficients('cv_rank');
SELECT round(unlearn.feature_influence('cv_rank', 'driving_licence')::numeric, 2) AS licence_influence;
SELECT check_name, passed FROM unlearn.verify('cv_rank');
SELECT event, method, rows FROM unlearn.audit WHERE model = 'cv_rank' ORDER BY event_id;

SELECT unlearn.drop_model('cv_rank');
DROP TABLE applications;
