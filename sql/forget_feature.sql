-- A feature must stop counting: the CV-ranking model still weighs a driving
-- licence the job no longer needs. forget_feature drops it exactly.
CREATE TABLE cv (applicant int PRIMARY KEY, years_experience float8, has_degree bool,
                 driving_licence bool, score float8);
INSERT INTO cv
SELECT i, (i * 7) % 25, i % 3 = 0, i % 4 <> 0,
       40 + 1.5 * ((i * 7) % 25) + 8 * (i % 3 = 0)::int + 12 * (i % 4 <> 0)::int + sin(i) * 3
FROM generate_series(1, 1200) i;
SELECT rows_trained FROM unlearn.train('cv_rank', 'cv', 'score', ARRAY['years_experience', 'has_degree', 'driving_licence']);
SELECT rows_trained FROM unlearn.train('cv_ridge', 'cv', 'score', ARRAY['years_experience', 'has_degree', 'driving_licence'],
                                       'ridge', options => '{"l2": 5}');
SELECT rows_trained FROM unlearn.train('cv_nb', 'cv', 'has_degree', ARRAY['years_experience', 'driving_licence', 'score'],
                                       'naive_bayes');
SELECT unlearn.feature_influence('cv_rank', 'driving_licence') > 5 AS licence_counts_before;

SELECT unlearn.forget_feature('cv_rank', 'driving_licence');
SELECT unlearn.forget_feature('cv_ridge', 'driving_licence');
SELECT unlearn.forget_feature('cv_nb', 'driving_licence');
SELECT name, features, version FROM unlearn.models WHERE name LIKE 'cv\_%' ORDER BY name;
SELECT unlearn.feature_influence('cv_rank', 'driving_licence') AS licence_influence_after,
       unlearn.feature_influence('cv_rank', 'years_experience') > 0 AS experience_still_counts;

-- exactly the models trained without the column
SELECT rows_trained FROM unlearn.train('cv_rank_without', 'cv', 'score', ARRAY['years_experience', 'has_degree']);
SELECT rows_trained FROM unlearn.train('cv_ridge_without', 'cv', 'score', ARRAY['years_experience', 'has_degree'],
                                       'ridge', options => '{"l2": 5}');
SELECT rows_trained FROM unlearn.train('cv_nb_without', 'cv', 'has_degree', ARRAY['years_experience', 'score'],
                                       'naive_bayes');
SELECT a.model, count(*) AS parameters, max(rel_diff(x.coefficient, y.coefficient)) < 1e-9 AS same_as_retrain
FROM (VALUES ('cv_rank'), ('cv_ridge'), ('cv_nb')) a(model)
JOIN LATERAL unlearn.coefficients(a.model) x ON true
JOIN LATERAL unlearn.coefficients(a.model || '_without') y USING (feature)
GROUP BY a.model ORDER BY a.model;
SELECT m.name, v.check_name, v.passed FROM unlearn.models m, unlearn.verify(m.name) v
WHERE m.name IN ('cv_rank', 'cv_ridge', 'cv_nb') AND NOT v.passed;

-- the model keeps forgetting rows afterwards, and an UPDATE of the forgotten column is now unrelated
DELETE FROM cv WHERE applicant <= 100;
UPDATE cv SET driving_licence = NOT driving_licence WHERE applicant = 500;
SELECT unlearn.trained_on('cv_rank', '500') AS still_holds_500, unlearn.trained_on('cv_rank', '50') AS holds_50;
SELECT m.name, v.check_name, v.passed FROM unlearn.models m, unlearn.verify(m.name) v
WHERE m.name IN ('cv_rank', 'cv_ridge', 'cv_nb') AND NOT v.passed;
SELECT event, method, rows FROM unlearn.audit WHERE model = 'cv_rank' ORDER BY event_id;

-- later DDL on the table must not bring a forgotten feature back
ALTER TABLE cv ADD COLUMN extra int;
SELECT name, features FROM unlearn.models WHERE name LIKE 'cv\_%' AND name NOT LIKE '%without' ORDER BY name;
SELECT expect_error($$SELECT unlearn.forget_feature('cv_rank', 'driving_licence')$$);
SELECT expect_error($$SELECT unlearn.forget_feature('cv_rank', 'nope')$$);
SELECT unlearn.forget_feature('cv_rank', 'has_degree');
SELECT expect_error($$SELECT unlearn.forget_feature('cv_rank', 'years_experience')$$);
SELECT expect_error($$SELECT unlearn.forget_feature('ghost', 'x')$$);
