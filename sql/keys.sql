-- Key identity: lineage identifies a row by its primary key's stored value,
-- whatever the session's settings. Each model is trained under one setting
-- and its rows are deleted under another; every deleted row must be
-- forgotten (trained_on false, lineage and rows_held shrink, verify passes).
CREATE FUNCTION keys_check(m text) RETURNS text LANGUAGE sql AS $$
SELECT format('held %s, lineage %s, verified %s',
              (SELECT rows_held FROM unlearn.models WHERE name = m),
              (SELECT count(*) FROM unlearn.lineage WHERE model = m),
              (SELECT bool_and(passed) FROM unlearn.verify(m)))
$$;

-- timestamptz: trained under UTC, deleted under America/New_York
SET TimeZone = 'UTC';
CREATE TABLE k_tstz (k timestamptz PRIMARY KEY, x float8, y float8);
INSERT INTO k_tstz SELECT timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour', i, 2 * i + sin(i)
FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('k_tstz', 'k_tstz', 'y', ARRAY['x']);
SET TimeZone = 'America/New_York';
DELETE FROM k_tstz WHERE x <= 10;
SELECT keys_check('k_tstz');
SELECT count(*) FILTER (WHERE unlearn.trained_on('k_tstz', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'))
       AS deleted_still_held
FROM generate_series(1, 10) i;
SELECT count(*) FILTER (WHERE unlearn.trained_on('k_tstz', k)) AS kept_held FROM k_tstz;
-- text keys are read in the caller's session: the same instant, written two ways
SELECT unlearn.trained_on('k_tstz', '2024-01-01 11:00:00+00') AS utc_text,
       unlearn.trained_on('k_tstz', '2024-01-01 06:00:00') AS new_york_text,
       unlearn.trained_on('k_tstz', '2024-01-01 10:00:00+00') AS deleted_text;
-- the lineage view renders keys in the reader's session (display only)
SELECT key FROM unlearn.lineage WHERE model = 'k_tstz' AND key::timestamptz = '2024-01-01 11:00:00+00';
SET TimeZone = 'UTC';
SELECT key FROM unlearn.lineage WHERE model = 'k_tstz' AND key::timestamptz = '2024-01-01 11:00:00+00';
RESET TimeZone;

-- bytea: trained with bytea_output = hex, deleted under escape
CREATE TABLE k_bytea (k bytea PRIMARY KEY, x float8, y float8);
INSERT INTO k_bytea SELECT int4send(i), i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('k_bytea', 'k_bytea', 'y', ARRAY['x']);
SET bytea_output = 'escape';
DELETE FROM k_bytea WHERE x <= 10;
SELECT keys_check('k_bytea');
SELECT count(*) FILTER (WHERE unlearn.trained_on('k_bytea', int4send(i))) AS deleted_still_held
FROM generate_series(1, 10) i;
SELECT unlearn.trained_on('k_bytea', int4send(11)) AS typed, unlearn.trained_on('k_bytea', '\x0000000b') AS hex_text;
RESET bytea_output;

-- date: trained under DateStyle ISO, deleted under German
CREATE TABLE k_date (k date PRIMARY KEY, x float8, y float8);
INSERT INTO k_date SELECT date '2024-01-01' + i, i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('k_date', 'k_date', 'y', ARRAY['x']);
SET DateStyle = 'German';
DELETE FROM k_date WHERE x <= 10;
SELECT keys_check('k_date');
SELECT count(*) FILTER (WHERE unlearn.trained_on('k_date', date '2024-01-01' + i)) AS deleted_still_held
FROM generate_series(1, 10) i;
SELECT unlearn.trained_on('k_date', '12.01.2024') AS german_text, unlearn.trained_on('k_date', '11.01.2024') AS deleted_text;
RESET DateStyle;

-- float8: trained with shortest-exact output, deleted under extra_float_digits = 0
CREATE TABLE k_float (k float8 PRIMARY KEY, x float8, y float8);
INSERT INTO k_float SELECT i / 3.0::float8, i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('k_float', 'k_float', 'y', ARRAY['x']);
SET extra_float_digits = 0;
DELETE FROM k_float WHERE x <= 10;
SELECT keys_check('k_float');
SELECT count(*) FILTER (WHERE unlearn.trained_on('k_float', i / 3.0::float8)) AS deleted_still_held
FROM generate_series(1, 10) i;
RESET extra_float_digits;

-- real keys whose text collides under extra_float_digits = 0 are distinct keys
SET extra_float_digits = 0;
CREATE TABLE k_real (k real PRIMARY KEY, x float8, y float8);
INSERT INTO k_real SELECT (1 + i * 2.4e-7)::real, i, 2 * i + sin(i) FROM generate_series(1, 40) i;
SELECT count(DISTINCT k) AS keys, count(DISTINCT k::text) AS texts FROM k_real;
SELECT rows_trained FROM unlearn.train('k_real', 'k_real', 'y', ARRAY['x']);
DELETE FROM k_real WHERE x <= 10;
SELECT keys_check('k_real');
RESET extra_float_digits;

-- numeric: the display scale is not part of the key (1.5 = 1.50)
CREATE TABLE k_num (k numeric PRIMARY KEY, x float8, y float8);
INSERT INTO k_num SELECT round(i / 4.0, 2), i, 2 * i + sin(i) FROM generate_series(1, 100) i;
SELECT rows_trained FROM unlearn.train('k_num', 'k_num', 'y', ARRAY['x']);
SELECT unlearn.trained_on('k_num', '1.5') AS short, unlearn.trained_on('k_num', '1.5000') AS long,
       unlearn.trained_on('k_num', 1.50) AS typed, unlearn.trained_on('k_num', '1.51') AS absent;
ALTER TABLE k_num ALTER COLUMN k TYPE numeric(12, 4);
DELETE FROM k_num WHERE x <= 10;
SELECT keys_check('k_num');

-- char(n): the padding is not part of the key (char(4) -> char(8) keeps every key); uuid by its bytes
CREATE TABLE k_char (k char(4) PRIMARY KEY, u uuid UNIQUE NOT NULL, x float8, y float8);
INSERT INTO k_char SELECT lpad(i::text, 3, '0'), md5(i::text)::uuid, i, 2 * i + sin(i) FROM generate_series(1, 50) i;
SELECT rows_trained FROM unlearn.train('k_char', 'k_char', 'y', ARRAY['x']);
ALTER TABLE k_char ALTER COLUMN k TYPE char(8);
DELETE FROM k_char WHERE x <= 10;
SELECT keys_check('k_char');
SELECT unlearn.trained_on('k_char', '011') AS unpadded, unlearn.trained_on('k_char', '011     '::char(8)) AS padded,
       unlearn.trained_on('k_char', '010') AS deleted;
ALTER TABLE k_char DROP CONSTRAINT k_char_pkey, ADD PRIMARY KEY (u);
SELECT unlearn.resync('k_char');
DELETE FROM k_char WHERE x <= 20;
SELECT keys_check('k_char');
SELECT unlearn.trained_on('k_char', md5('21')::uuid) AS typed, unlearn.trained_on('k_char', md5('20')) AS deleted_text;

-- enum key: ALTER TYPE ... RENAME VALUE keeps every key
CREATE TYPE k_label AS ENUM ('a01', 'a02', 'a03', 'a04', 'a05', 'a06', 'a07', 'a08', 'a09', 'a10',
                             'a11', 'a12', 'a13', 'a14', 'a15', 'a16', 'a17', 'a18', 'a19', 'a20');
CREATE TABLE k_enum (k k_label PRIMARY KEY, x float8, y float8);
INSERT INTO k_enum SELECT format('a%s', lpad(i::text, 2, '0'))::k_label, i, 2 * i + sin(i) FROM generate_series(1, 20) i;
SELECT rows_trained FROM unlearn.train('k_enum', 'k_enum', 'y', ARRAY['x']);
ALTER TYPE k_label RENAME VALUE 'a01' TO 'first';
ALTER TYPE k_label RENAME VALUE 'a02' TO 'second';
SELECT unlearn.trained_on('k_enum', 'first') AS renamed_text, unlearn.trained_on('k_enum', 'second'::k_label) AS renamed_typed;
DELETE FROM k_enum WHERE k IN ('first', 'second', 'a03');
SELECT keys_check('k_enum');
SELECT unlearn.trained_on('k_enum', 'first') AS first, unlearn.trained_on('k_enum', 'a04') AS a04;
SELECT key FROM unlearn.lineage WHERE model = 'k_enum' ORDER BY key LIMIT 2;

-- enum categorical feature: a renamed category is the same category
CREATE TYPE k_size AS ENUM ('S', 'M', 'L');
CREATE TABLE k_shop (id int PRIMARY KEY, size k_size, x float8, y float8);
INSERT INTO k_shop SELECT i, (ARRAY['S', 'M', 'L'])[1 + i % 3]::k_size, sin(i), 10 + 2 * (i % 3) + sin(i) + 0.1 * cos(7 * i)
FROM generate_series(1, 300) i;
SELECT rows_trained FROM unlearn.train('k_shop', 'k_shop', 'y', ARRAY['x', 'size'], 'ridge', options => '{"l2": 0.5}');
CREATE TABLE k_shop_before AS SELECT id, unlearn.predict('k_shop', s) AS p FROM k_shop s;
ALTER TYPE k_size RENAME VALUE 'M' TO 'medium';
SELECT feature FROM unlearn.coefficients('k_shop') WHERE feature LIKE 'size=%' ORDER BY 1;
SELECT bool_and(b.p = unlearn.predict('k_shop', s)) AS same_predictions FROM k_shop s JOIN k_shop_before b USING (id);
-- a row of text (as a literal would give) is matched to the model's enum by label
SELECT unlearn.predict('k_shop', r) = (SELECT b.p FROM k_shop_before b WHERE id = 1) AS text_row_matches
FROM (SELECT 1 AS id, 'medium'::text AS size, sin(1) AS x) r;
DELETE FROM k_shop WHERE size = 'medium' AND id <= 150;
SELECT keys_check('k_shop');
SELECT rows_trained FROM unlearn.train('k_shop_fresh', 'k_shop', 'y', ARRAY['x', 'size'], 'ridge', options => '{"l2": 0.5}');
SELECT count(*) AS coefficients, max(abs(a.coefficient - b.coefficient)) < 1e-9 AS equals_retrain
FROM unlearn.coefficients('k_shop') a FULL JOIN unlearn.coefficients('k_shop_fresh') b USING (feature);

-- monitor_group on an enum: read without casts (a cast the table owner
-- defines must not run), groups follow a rename
CREATE TYPE k_grp AS ENUM ('north', 'south');
CREATE FUNCTION k_trap(v anyelement) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('keys.trap', true) = 'on' THEN RAISE EXCEPTION 'user code ran'; END IF;
    RETURN 'cast';
END $$;
CREATE CAST (k_grp AS text) WITH FUNCTION k_trap(anyelement);
CREATE TABLE k_mon (id int PRIMARY KEY, grp k_grp, x float8, y float8);
INSERT INTO k_mon SELECT i, (ARRAY['north', 'south'])[1 + i % 2]::k_grp, i % 50, 3 * (i % 50) + sin(i)
FROM generate_series(1, 1000) i;
SELECT rows_trained FROM unlearn.train('k_mon', 'k_mon', 'y', ARRAY['x'], 'ridge',
                                      options => '{"holdout": 0.3, "monitor_group": "grp", "l2": 0.1}');
ALTER TYPE k_grp RENAME VALUE 'north' TO 'boreal';
SET keys.trap = on;
DELETE FROM k_mon WHERE id <= 40;
RESET keys.trap;
SELECT array_agg(g->>'group' ORDER BY g->>'group') AS groups
FROM unlearn.audit a, jsonb_array_elements(a.details->'groups') g
WHERE a.model = 'k_mon' AND a.event = 'unlearn';
SELECT keys_check('k_mon');

-- a domain key whose CHECK is the table owner's function: reading rows back
-- by key (a SISA shard retrain) casts nothing to the domain
CREATE FUNCTION k_dom_ok(v int) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('keys.trap', true) = 'on' THEN RAISE EXCEPTION 'domain check ran'; END IF;
    RETURN true;
END $$;
CREATE DOMAIN k_dk AS int CHECK (k_dom_ok(VALUE));
CREATE TABLE k_dom (id k_dk PRIMARY KEY, x float8, y int);
INSERT INTO k_dom SELECT i, i % 17, (i % 17 > 8 OR i % 5 = 0)::int FROM generate_series(1, 400) i;
SELECT rows_trained FROM unlearn.train('k_dom', 'k_dom', 'y', ARRAY['x'], 'logistic_regression', shards => 4);
SET keys.trap = on;
DELETE FROM k_dom WHERE id = 7;
RESET keys.trap;
SELECT unlearn.trained_on('k_dom', 7) AS deleted, unlearn.trained_on('k_dom', 8) AS kept;
SELECT bool_and(passed) AS verified FROM unlearn.verify('k_dom');

-- trained_on: typed and text arguments
CREATE TABLE k_int (id int PRIMARY KEY, x float8, y float8);
INSERT INTO k_int SELECT i, i, 2 * i + sin(i) FROM generate_series(1, 20) i;
SELECT rows_trained FROM unlearn.train('k_int', 'k_int', 'y', ARRAY['x']);
DELETE FROM k_int WHERE id = 4;
SELECT unlearn.trained_on('k_int', 5) AS int4, unlearn.trained_on('k_int', 5::bigint) AS int8,
       unlearn.trained_on('k_int', 5::smallint) AS int2, unlearn.trained_on('k_int', '5') AS unknown,
       unlearn.trained_on('k_int', '5'::text) AS text, unlearn.trained_on('k_int', 4) AS deleted,
       unlearn.trained_on('k_int', 21) AS never;
SELECT expect_error($$SELECT unlearn.trained_on('k_int', 5.0)$$);
SELECT expect_error($$SELECT unlearn.trained_on('k_int', 'five')$$);
-- int4 -> int8 keeps every key
ALTER TABLE k_int ALTER COLUMN id TYPE bigint;
DELETE FROM k_int WHERE id = 5;
SELECT unlearn.trained_on('k_int', 5) AS deleted_after_retype, unlearn.trained_on('k_int', 6) AS kept;
SELECT keys_check('k_int');
-- a composite key, written as ROW(k1, k2)::text reads
CREATE TABLE k_pair (a int, b text, x float8, y float8, PRIMARY KEY (a, b));
INSERT INTO k_pair SELECT i, (ARRAY['east west', 'north'])[1 + i % 2], i, 2 * i + sin(i) FROM generate_series(1, 20) i;
SELECT rows_trained FROM unlearn.train('k_pair', 'k_pair', 'y', ARRAY['x']);
DELETE FROM k_pair WHERE a = 3;
SELECT unlearn.trained_on('k_pair', '(2,"east west")') AS quoted, unlearn.trained_on('k_pair', ROW(1, 'north')::text) AS row_text,
       unlearn.trained_on('k_pair', '(3,north)') AS deleted;
SELECT key FROM unlearn.lineage WHERE model = 'k_pair' ORDER BY key LIMIT 2;
SELECT keys_check('k_pair');

-- keys pg_unlearn cannot identify rows by are refused at train
CREATE TABLE k_array (k int[] PRIMARY KEY, x float8, y float8);
INSERT INTO k_array SELECT ARRAY[i], i, i FROM generate_series(1, 5) i;
SELECT expect_error($$SELECT unlearn.train('k_array', 'k_array', 'y', ARRAY['x'])$$);
-- nor keys equal with other bytes: lineage knows a key by its bytes, so
-- trained_on would answer for '1 day' and not for '24 hours', the same row
CREATE TABLE k_interval (k interval PRIMARY KEY, x float8, y float8);
INSERT INTO k_interval SELECT make_interval(days => i), i, i FROM generate_series(1, 5) i;
SELECT expect_error($$SELECT unlearn.train('k_interval', 'k_interval', 'y', ARRAY['x'])$$);
CREATE COLLATION k_nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE k_nocase (k text COLLATE k_nocase PRIMARY KEY, x float8, y float8);
INSERT INTO k_nocase SELECT 'K' || i, i, i FROM generate_series(1, 5) i;
SELECT expect_error($$SELECT unlearn.train('k_nocase', 'k_nocase', 'y', ARRAY['x'])$$);
DROP TABLE k_interval, k_nocase;
DROP COLLATION k_nocase;

-- the same key in an INHERITS parent and its child: two rows, one key
CREATE TABLE k_parent (id int PRIMARY KEY, x float8, y float8);
CREATE TABLE k_child (PRIMARY KEY (id)) INHERITS (k_parent);
INSERT INTO k_parent SELECT i, i, 2 * i FROM generate_series(1, 20) i;
INSERT INTO k_child SELECT i, i, 2 * i + 1 FROM generate_series(15, 25) i;
SELECT expect_error($$SELECT unlearn.train('k_parent', 'k_parent', 'y', ARRAY['x'])$$);
SELECT count(*) AS models FROM unlearn.models WHERE name = 'k_parent';

SELECT unlearn.drop_model(name) FROM unlearn.models WHERE name LIKE 'k\_%' ORDER BY name;
DROP FUNCTION keys_check(text);
