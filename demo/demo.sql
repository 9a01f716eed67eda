-- pg_unlearn demo: the two stories of the policy brief.
--
-- Part 1, a school district withdraws its data. An ESL learning tool scores students' oral exercises with a model trained
-- on every participating district. District A withdraws and asks that its
-- data and everything learned from it be removed. One DELETE does both.
\set ON_ERROR_STOP on
\pset footer off
\echo
\echo '== 1. Install the extension and load three districts of exam results'
CREATE EXTENSION IF NOT EXISTS pg_unlearn;
DROP TABLE IF EXISTS exam_results;
CREATE TABLE exam_results (
    student_id   int PRIMARY KEY,
    district     text NOT NULL,
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
       h, e, v,
       -- district A's students score differently on the same inputs
       20 + 2.5 * h + 8 * e::int + 0.4 * v + CASE WHEN i % 3 = 0 THEN 6 ELSE 0 END + 3 * (random() - 0.5)
FROM generate_series(1, 30000) i,
     LATERAL (SELECT 10 * random() AS h, random() < 0.4 AS e, 100 * random() AS v, i AS k) r;
SELECT district, count(*) AS students FROM exam_results GROUP BY 1 ORDER BY 1;

\echo
\echo '== 2. Train in SQL: one call, one pass over the table'
SELECT * FROM unlearn.train('oral_score', 'exam_results', 'oral_score',
                            ARRAY['hours_study', 'home_english', 'vocab_score']);
SELECT feature, round(coefficient::numeric, 4) AS coefficient FROM unlearn.coefficients('oral_score');
\echo 'A student of district A, 5 hours of study, no English at home, vocabulary 60:'
SELECT round(unlearn.predict('oral_score', ARRAY[5, 0, 60])::numeric, 2) AS predicted_oral_score;
\echo 'A pass/fail classifier has no summation form: it is trained with SISA, 4 shards x 2 slices,'
\echo 'a checkpoint after every slice:'
SELECT * FROM unlearn.train('passes_oral', 'exam_results', 'passed',
                            ARRAY['hours_study', 'home_english', 'vocab_score'], 'logistic_regression',
                            shards => 4, slices => 2);
SELECT round(p[2]::numeric, 3) AS probability_of_passing FROM unlearn.predict_proba('passes_oral', ARRAY[5, 0, 60]) p;

\echo
\echo '== 3. District A withdraws: an ordinary DELETE'
\timing on
DELETE FROM exam_results WHERE district = 'A';
\timing off
\echo 'The model changed in the same transaction (the intercept no longer carries A''s +6 bonus):'
SELECT feature, round(coefficient::numeric, 4) AS coefficient FROM unlearn.coefficients('oral_score');
SELECT round(unlearn.predict('oral_score', ARRAY[5, 0, 60])::numeric, 2) AS predicted_oral_score;
\echo 'The classifier retrained each shard from its first slice that held a student of A:'
SELECT round(p[2]::numeric, 3) AS probability_of_passing FROM unlearn.predict_proba('passes_oral', ARRAY[5, 0, 60]) p;

\echo
\echo '== 4. Prove it: no student of district A is held, and each model equals a retrain'
SELECT unlearn.trained_on('oral_score', '3') AS holds_student_3_of_A,
       unlearn.trained_on('oral_score', '4') AS holds_student_4_of_B,
       unlearn.trained_on('passes_oral', '3') AS classifier_holds_3;
SELECT * FROM unlearn.verify('oral_score');
SELECT check_name, value, passed FROM unlearn.verify('passes_oral') WHERE check_name NOT LIKE 'shard %';

\echo
\echo '== 5. The audit a data-protection officer files: counts and hashes, no data'
SELECT event, rows, method, shards, round(duration_ms::numeric, 1) AS ms,
       left(state_hash_before, 12) AS hash_before, left(state_hash_after, 12) AS hash_after
FROM unlearn.audit WHERE model IN ('oral_score', 'passes_oral') ORDER BY event_id;

\echo
\echo '== 6. Forgetting is transactional: a rolled-back DELETE leaves the model untouched'
BEGIN;
DELETE FROM exam_results WHERE district = 'B';
SELECT rows_held FROM unlearn.models WHERE name = 'oral_score';
ROLLBACK;
SELECT rows_held FROM unlearn.models WHERE name = 'oral_score';

SELECT unlearn.drop_model('oral_score');
SELECT unlearn.drop_model('passes_oral');
DROP TABLE exam_results;

-- Part 2, a feature must stop counting. A CV-ranking model still weighs a
-- driving licence that the job no longer needs; retraining everywhere is
-- impractical. forget_feature removes it exactly, without reading the table.
\echo
\echo '== 7. A CV-ranking model that still counts the driving licence'
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
\echo '== 8. Forget the feature: exact, no table scan, audited'
SELECT unlearn.forget_feature('cv_rank', 'driving_licence');
SELECT feature, round(coefficient::numeric, 3) AS coefficient FROM unlearn.coefficients('cv_rank');
SELECT round(unlearn.feature_influence('cv_rank', 'driving_licence')::numeric, 2) AS licence_influence;
SELECT check_name, passed FROM unlearn.verify('cv_rank');
SELECT event, method, rows FROM unlearn.audit WHERE model = 'cv_rank' ORDER BY event_id;

SELECT unlearn.drop_model('cv_rank');
DROP TABLE applications;
