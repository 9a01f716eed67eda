-- Privacy for every strategy and key type: after DELETE, UPDATE (of the key
-- and the values), forget_feature and TRUNCATE, no text or jsonb column of
-- any unlearn.* table or view, no unlearn.audit_certificate() and no error
-- message holds a forgotten key or a forgotten row's value. One scenario,
-- run over incremental (ols, ridge, naive Bayes), SISA (logistic, mlp) and
-- certified models, with text, integer and composite keys, with holdout
-- and (one-column keys) monitor_group on. NOTICEs and WARNINGs raised on the
-- way are in this file's expected output, which holds none of the secrets.
--
-- The secrets are distinctive, so a search for them is unambiguous: keys
-- SECRET-KEY-4711-*, 13579246xx and SECRET-REGION-4711, the note
-- SECRET-NOTE-0815 and the feature values 0.987654321 (deleted rows) and
-- 0.135792468 (x2 of a kept row, forgotten by forget_feature).
CREATE FUNCTION pv_key(kind text, n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'text' THEN 'k-' || n WHEN 'int' THEN n::text ELSE 'region-' || (n % 3) END $$;

-- Every place a secret was found: text-like columns of unlearn's tables and
-- views, the certificate of every audit event of this test (earlier events
-- predate its secrets), the messages captured. Each column is read once.
CREATE TABLE pv_start AS SELECT coalesce(max(event_id), 0) AS event_id FROM unlearn.audit;
CREATE FUNCTION pv_leaks(secrets text[]) RETURNS TABLE (place text, secret text) LANGUAGE plpgsql AS $$
DECLARE c record; s text; blob text;
BEGIN
    FOR c IN SELECT cl.relname, a.attname FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid
             WHERE cl.relnamespace = 'unlearn'::regnamespace AND cl.relkind IN ('r', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
               AND a.atttypid IN ('text'::regtype, 'jsonb'::regtype, 'json'::regtype, 'varchar'::regtype, 'name'::regtype,
                                  'text[]'::regtype, 'jsonb[]'::regtype)
             UNION ALL SELECT 'audit_certificate()', NULL
             UNION ALL SELECT 'messages', NULL
    LOOP
        IF c.relname = 'audit_certificate()' THEN
            SELECT string_agg(unlearn.audit_certificate(a.event_id)::text, E'\n') INTO blob
            FROM unlearn.audit a WHERE a.event_id > (SELECT event_id FROM pv_start);
        ELSIF c.relname = 'messages' THEN
            SELECT string_agg(m.message, E'\n') INTO blob FROM pv_messages m;
        ELSE
            EXECUTE format('SELECT string_agg(%I::text, E''\n'') FROM unlearn.%I', c.attname, c.relname) INTO blob;
        END IF;
        FOREACH s IN ARRAY secrets LOOP
            IF strpos(blob, s) > 0 THEN
                place := c.relname || coalesce('.' || c.attname, ''); secret := s; RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
END $$;

-- The same search over bytea columns (lineage blocks, states, checkpoints)
-- for the keys' text bytes: reported, as lineage's key encoding is binary-bound.
CREATE FUNCTION pv_bytea_hits(secrets text[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE c record; n bigint; total bigint := 0;
BEGIN
    FOR c IN SELECT cl.relname, a.attname FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid
             WHERE cl.relnamespace = 'unlearn'::regnamespace AND cl.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
               AND a.atttypid = 'bytea'::regtype
    LOOP
        EXECUTE format('SELECT count(*) FROM unlearn.%I t, unnest($1) s WHERE position(convert_to(s, ''UTF8'') IN t.%I) > 0',
                       c.relname, c.attname) INTO n USING secrets;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;

CREATE TABLE pv_messages (op text, message text);
-- Runs one step, keeping any error's message, detail and hint to search.
CREATE FUNCTION pv_step(op text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hint text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    INSERT INTO pv_messages VALUES (op, concat_ws(E'\n', msg, det, hint));
    RETURN st;
END $$;

-- One model over a fresh table, then each forgetting step and a search for
-- what it forgot. Returns, per step, its outcome and the leaks found.
CREATE FUNCTION pv_case(algorithm text, strategy text, key_kind text, options jsonb)
RETURNS TABLE (step text, outcome text, leaks text, bytea_hits bigint) LANGUAGE plpgsql AS $$
DECLARE
    target text := CASE WHEN algorithm IN ('linear_regression', 'ridge') THEN 'y' ELSE 'label' END;
    k1 text[]; k2 text[]; k3 text[];
    values_gone text[] := ARRAY['SECRET-NOTE-0815', '987654321'];
    r text;
BEGIN
    EXECUTE format('CREATE TABLE pv (%s, grp text, note text, x1 float8, x2 float8, y float8, label int, PRIMARY KEY (%s))',
                   CASE key_kind WHEN 'text' THEN 'k text' WHEN 'int' THEN 'k bigint' ELSE 'region text, n int' END,
                   CASE key_kind WHEN 'composite' THEN 'region, n' ELSE 'k' END);
    -- ordinary rows, then four row sets with secrets: deleted, re-keyed, kept (x2 forgotten), truncated
    EXECUTE format('INSERT INTO pv SELECT %s, ''district-'' || (i %% 3), ''ordinary'', sin(i), cos(i * 1.3), 0, 0 FROM generate_series(1, 150) i',
                   CASE key_kind WHEN 'composite' THEN 'pv_key(''composite'', i), i' ELSE 'pv_key(' || quote_literal(key_kind) || ', i)' || CASE key_kind WHEN 'int' THEN '::bigint' ELSE '' END END);
    IF key_kind = 'text' THEN
        INSERT INTO pv (k, grp, note, x1, x2) SELECT 'SECRET-KEY-4711-' || i, 'district-' || (i % 3), 'SECRET-NOTE-0815', 0.987654321, sin(i) FROM generate_series(1, 4) i;
        INSERT INTO pv (k, grp, note, x1, x2) SELECT 'SECRET-KEY-4712-' || i, 'district-1', 'SECRET-NOTE-0815', 0.987654321, 0.3 FROM generate_series(1, 2) i;
        INSERT INTO pv (k, grp, note, x1, x2) VALUES ('SECRET-KEY-4713-1', 'district-2', 'kept', 0.2, 0.135792468);
        k1 := ARRAY['SECRET-KEY-4711']; k2 := ARRAY['SECRET-KEY-4712']; k3 := ARRAY['SECRET-KEY-4713'];
    ELSIF key_kind = 'int' THEN
        INSERT INTO pv (k, grp, note, x1, x2) SELECT 1357924600 + i, 'district-' || (i % 3), 'SECRET-NOTE-0815', 0.987654321, sin(i) FROM generate_series(1, 4) i;
        INSERT INTO pv (k, grp, note, x1, x2) SELECT 1357924610 + i, 'district-1', 'SECRET-NOTE-0815', 0.987654321, 0.3 FROM generate_series(1, 2) i;
        INSERT INTO pv (k, grp, note, x1, x2) VALUES (1357924621, 'district-2', 'kept', 0.2, 0.135792468);
        k1 := ARRAY['135792460']; k2 := ARRAY['135792461']; k3 := ARRAY['135792462'];
    ELSE
        INSERT INTO pv (region, n, grp, note, x1, x2) SELECT 'SECRET-REGION-4711', i, 'district-0', 'SECRET-NOTE-0815', 0.987654321, sin(i) FROM generate_series(1, 4) i;
        INSERT INTO pv (region, n, grp, note, x1, x2) SELECT 'SECRET-REGION-4712', i, 'district-1', 'SECRET-NOTE-0815', 0.987654321, 0.3 FROM generate_series(1, 2) i;
        INSERT INTO pv (region, n, grp, note, x1, x2) VALUES ('SECRET-REGION-4713', 1, 'district-2', 'kept', 0.2, 0.135792468);
        k1 := ARRAY['SECRET-REGION-4711']; k2 := ARRAY['SECRET-REGION-4712']; k3 := ARRAY['SECRET-REGION-4713'];
    END IF;
    UPDATE pv SET y = 1 + 2 * x1 - x2 + 0.3 * sin(x1 * 40), label = (x1 - 0.5 * x2 + 0.4 * sin(x1 * 40) > 0)::int;
    step := 'train';
    outcome := pv_step(step, format('SELECT unlearn.train(''pv_m'', ''pv'', %L, ARRAY[''x1'', ''x2''], %L, %L, 2, %s, %L)',
                                    target, algorithm, strategy, CASE WHEN strategy = 'sisa' THEN 2 ELSE 1 END, options));
    -- the control: while the rows are held, the search finds their keys in lineage
    SELECT string_agg(DISTINCT l.place || ':' || l.secret, ', ') INTO leaks FROM pv_leaks(k1 || k2 || k3) l;
    bytea_hits := NULL;
    RETURN NEXT;
    IF outcome <> 'ok' THEN DROP TABLE pv; RETURN; END IF;

    step := 'delete';
    outcome := pv_step(step, CASE key_kind WHEN 'composite' THEN 'DELETE FROM pv WHERE region = ''SECRET-REGION-4711'''
                                           ELSE 'DELETE FROM pv WHERE note = ''SECRET-NOTE-0815'' AND x2 <> 0.3' END);
    SELECT string_agg(l.place || ':' || l.secret, ', ') INTO leaks FROM pv_leaks(k1 || values_gone) l;
    bytea_hits := pv_bytea_hits(k1);
    RETURN NEXT;

    step := 'update';  -- new keys and values: the old ones are forgotten
    outcome := pv_step(step, CASE key_kind WHEN 'composite' THEN 'UPDATE pv SET region = ''moved'', x1 = 0.5, note = ''moved'' WHERE region = ''SECRET-REGION-4712'''
                                           WHEN 'int' THEN 'UPDATE pv SET k = k + 1000, x1 = 0.5, note = ''moved'' WHERE note = ''SECRET-NOTE-0815'''
                                           ELSE 'UPDATE pv SET k = ''moved-'' || right(k, 1), x1 = 0.5, note = ''moved'' WHERE note = ''SECRET-NOTE-0815''' END);
    SELECT string_agg(l.place || ':' || l.secret, ', ') INTO leaks
    FROM pv_leaks(k1 || k2 || values_gone) l;
    bytea_hits := pv_bytea_hits(k1 || k2);
    RETURN NEXT;

    step := 'forget_feature';
    outcome := pv_step(step, 'SELECT unlearn.forget_feature(''pv_m'', ''x2'')');
    SELECT string_agg(l.place || ':' || l.secret, ', ') INTO leaks FROM pv_leaks(k1 || k2 || values_gone || ARRAY['135792468']) l;
    bytea_hits := NULL;
    RETURN NEXT;

    step := 'truncate';
    outcome := pv_step(step, 'TRUNCATE pv');
    SELECT string_agg(l.place || ':' || l.secret, ', ') INTO leaks FROM pv_leaks(k1 || k2 || k3 || values_gone || ARRAY['135792468']) l;
    bytea_hits := pv_bytea_hits(k1 || k2 || k3);
    RETURN NEXT;

    PERFORM unlearn.drop_model('pv_m');
    DROP TABLE pv;
END $$;

CREATE TABLE pv_cases (algorithm text, strategy text, options jsonb);
INSERT INTO pv_cases VALUES
    ('linear_regression', 'incremental', '{"holdout": 0.3, "monitor_group": "grp"}'),
    ('ridge', 'incremental', '{"holdout": 0.3, "monitor_group": "grp"}'),
    ('naive_bayes', 'incremental', '{"holdout": 0.3, "monitor_group": "grp"}'),
    ('logistic_regression', 'sisa', '{"holdout": 0.3, "monitor_group": "grp", "on_insert": "learn"}'),
    ('mlp', 'sisa', '{"holdout": 0.3, "monitor_group": "grp", "hidden": 4, "epochs": 10, "seed": 3}'),
    ('logistic_regression', 'certified', '{"holdout": 0.3, "monitor_group": "grp", "noise": 1, "epsilon": 1, "delta": 1e-4}');

-- (after train, "leaks" is the control: the held keys, found where lineage shows them)
SELECT c.algorithm, c.strategy, k.kind, r.step, r.outcome, coalesce(r.leaks, 'none') AS leaks, r.bytea_hits
FROM pv_cases c, (VALUES ('text'), ('int'), ('composite')) k(kind),
     LATERAL pv_case(c.algorithm, c.strategy, k.kind,
                     CASE WHEN k.kind = 'composite' THEN c.options - 'monitor_group' ELSE c.options END) r;
-- what the errors said (none may name a secret; pv_leaks searched them too)
SELECT DISTINCT op, message FROM pv_messages ORDER BY 1, 2;
DROP TABLE pv_cases, pv_messages, pv_start;
DROP FUNCTION pv_case, pv_step, pv_leaks, pv_bytea_hits, pv_key;
