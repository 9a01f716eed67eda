-- pg_unlearn 0.1.0 -> 0.2.0: models can learn inserted rows (options.on_insert).
\echo Use "ALTER EXTENSION pg_unlearn UPDATE TO '0.2.0'" to load this file. \quit

-- The INSERT trigger exists only while a model on the table learns new rows:
-- tables whose models ignore inserts pay nothing on COPY and INSERT.
CREATE OR REPLACE FUNCTION unlearn.install_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'unlearn_forget_delete') THEN
        EXECUTE format('CREATE TRIGGER unlearn_forget_delete AFTER DELETE ON %s '
                       'REFERENCING OLD TABLE AS unlearn_old FOR EACH STATEMENT '
                       'EXECUTE FUNCTION unlearn.forget_rows()', rel);
        EXECUTE format('CREATE TRIGGER unlearn_forget_update AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS unlearn_old NEW TABLE AS unlearn_new FOR EACH STATEMENT '
                       'EXECUTE FUNCTION unlearn.forget_rows()', rel);
        EXECUTE format('CREATE TRIGGER unlearn_forget_truncate AFTER TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION unlearn.forget_rows()', rel);
    END IF;
    IF EXISTS (SELECT 1 FROM unlearn.models WHERE relation = rel AND options->>'on_insert' = 'learn')
       AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'unlearn_learn_insert') THEN
        EXECUTE format('CREATE TRIGGER unlearn_learn_insert AFTER INSERT ON %s '
                       'REFERENCING NEW TABLE AS unlearn_new FOR EACH STATEMENT '
                       'EXECUTE FUNCTION unlearn.forget_rows()', rel);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION unlearn.drop_model(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m unlearn.models;
    trigger_name name;
BEGIN
    DELETE FROM unlearn.models WHERE name = model RETURNING * INTO m;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM unlearn.models lists the trained models.';
    END IF;
    -- the forget triggers go with the table's last model, the learn trigger
    -- with its last learning model
    FOR trigger_name IN
        SELECT t.tgname FROM pg_trigger t
        WHERE t.tgrelid = m.relation
          AND ((t.tgname IN ('unlearn_forget_delete', 'unlearn_forget_update', 'unlearn_forget_truncate')
                AND NOT EXISTS (SELECT 1 FROM unlearn.models o WHERE o.relation = m.relation))
            OR (t.tgname = 'unlearn_learn_insert'
                AND NOT EXISTS (SELECT 1 FROM unlearn.models o
                                WHERE o.relation = m.relation AND o.options->>'on_insert' = 'learn')))
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, m.relation);
    END LOOP;
    INSERT INTO unlearn.audit (event, model_id, model, rows, method, shards, duration_ms)
    VALUES ('drop', m.model_id, m.name, m.rows_held, 'drop', '{}', 0);
END
$$;

COMMENT ON FUNCTION unlearn.train(text, regclass, text, text[], text, text, int, int, jsonb)
    IS 'train a model over a table; later DELETEs on the table are forgotten by it, and with options.on_insert = learn, INSERTs are learned';
