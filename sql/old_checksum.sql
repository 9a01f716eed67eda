-- A state sealed by a build before stop 28 (its frame's checksum FNV-1a a
-- byte at a time, hash64, and no kWordSumFlag in its format field) still
-- decodes, and the audit's chain of hashes goes on across the change of
-- checksum: the next change's hash before is the SHA-256 of the row as it
-- was stored, not of this build's encoding of it. The old seal is made here
-- from the current blob: the flag cleared and hash64 of the payload written
-- in its place (FNV-1a 64, then murmur3's fmix64, in numeric arithmetic).
CREATE TABLE oc (id int PRIMARY KEY, x1 float8, x2 float8, label int, y float8);
INSERT INTO oc SELECT i, round((4 * sin(i))::numeric, 2), round((3 * cos(i * 1.7))::numeric, 1), 0, 0
FROM generate_series(1, 60) i;
UPDATE oc SET label = (x1 + 0.8 * x2 > 1)::int, y = 2 * x1 - x2 + 0.3 * sin(id * 7.3);
SELECT count(*) AS models FROM (
    SELECT unlearn.train('oc_lin', 'oc', 'y', ARRAY['x1', 'x2'])
    UNION ALL SELECT unlearn.train('oc_sisa', 'oc', 'label', ARRAY['x1', 'x2'], 'logistic_regression', 'sisa',
                                   shards => 2, slices => 2, options => '{"retrain": "inline", "seed": 3}')) m;
CREATE FUNCTION oc_u64_mul(a numeric, b numeric) RETURNS numeric LANGUAGE sql IMMUTABLE
    AS $$ SELECT mod(a * b, 18446744073709551616::numeric) $$;
CREATE FUNCTION oc_u64_bits(a numeric) RETURNS bit(64) LANGUAGE sql IMMUTABLE
    AS $$ SELECT (CASE WHEN a >= 9223372036854775808 THEN a - 18446744073709551616 ELSE a END)::int8::bit(64) $$;
CREATE FUNCTION oc_u64_num(b bit(64)) RETURNS numeric LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN b::int8 < 0 THEN b::int8::numeric + 18446744073709551616 ELSE b::int8::numeric END $$;
CREATE FUNCTION oc_hash64(p bytea) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    h numeric := 1469598103934665603;  -- hash64's offset (not FNV's published one)
    b bit(64);
BEGIN
    FOR i IN 0 .. length(p) - 1 LOOP
        h := oc_u64_mul(oc_u64_num(oc_u64_bits(h) # get_byte(p, i)::int8::bit(64)), 1099511628211);
    END LOOP;
    b := oc_u64_bits(h);
    b := b # (b >> 33);
    b := oc_u64_bits(oc_u64_mul(oc_u64_num(b), 18397679294719823053));
    b := b # (b >> 33);
    b := oc_u64_bits(oc_u64_mul(oc_u64_num(b), 14181476777654086739));
    RETURN oc_u64_num(b # (b >> 33));
END $$;
-- little-endian bytes of an unsigned 64-bit value
CREATE FUNCTION oc_le64(v numeric) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(set_byte('\x00'::bytea, 0, mod(trunc(v / power(256::numeric, k)), 256)::int), ''::bytea ORDER BY k)
    FROM generate_series(0, 7) k $$;
CREATE FUNCTION oc_old_seal(s bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT overlay(set_byte(s, 5, get_byte(s, 5) & 127) PLACING oc_le64(oc_hash64(substr(s, 21))) FROM 13 FOR 8) $$;
CREATE TABLE before_reseal AS SELECT unlearn.predict('oc_lin', ARRAY[1.0, 2.0]::float8[]) AS lin,
    unlearn.predict('oc_sisa', ARRAY[1.0, 2.0]::float8[]) AS sisa;
-- every state of this build carries the flag; re-sealed the old way
SELECT m.name, bool_and(get_byte(s.state, 5) & 128 = 128) AS word_sum
FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name LIKE 'oc_%' GROUP BY 1 ORDER BY 1;
UPDATE unlearn.state s SET state = oc_old_seal(s.state)
FROM unlearn.models m WHERE m.model_id = s.model_id AND m.name LIKE 'oc_%';
CREATE TABLE old_rows AS
SELECT m.name, encode(sha256(string_agg(s.state, ''::bytea ORDER BY s.shard)), 'hex') AS stored
FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name LIKE 'oc_%' GROUP BY 1;
\c
-- read, predicted from and changed in a new session (nothing kept)
SELECT unlearn.predict('oc_lin', ARRAY[1.0, 2.0]::float8[]) = lin AS lin_predicts_as_before,
       unlearn.predict('oc_sisa', ARRAY[1.0, 2.0]::float8[]) = sisa AS sisa_predicts_as_before
FROM before_reseal;
DELETE FROM oc WHERE id IN (3, 4);
SELECT o.name, a.state_hash_before = o.stored AS before_is_the_old_row,
       a.state_hash_after = (SELECT encode(sha256(string_agg(s.state, ''::bytea ORDER BY s.shard)), 'hex')
                             FROM unlearn.state s JOIN unlearn.models m USING (model_id) WHERE m.name = o.name) AS after_is_the_rows
FROM old_rows o JOIN LATERAL (SELECT * FROM unlearn.audit WHERE model = o.name AND event = 'unlearn'
                              ORDER BY event_id DESC LIMIT 1) a ON true ORDER BY 1;
-- a state sealed the old way with a payload byte changed is refused
UPDATE unlearn.state s SET state = oc_old_seal(s.state)
FROM unlearn.models m WHERE m.model_id = s.model_id AND m.name = 'oc_lin';
UPDATE unlearn.state s SET state = set_byte(s.state, 30, get_byte(s.state, 30) # 1)
FROM unlearn.models m WHERE m.model_id = s.model_id AND m.name = 'oc_lin';
\c
SELECT unlearn.predict('oc_lin', ARRAY[1.0, 2.0]::float8[]);
SELECT count(*) AS passed FROM unlearn.verify('oc_sisa') WHERE passed;
SELECT unlearn.drop_model('oc_lin'), unlearn.drop_model('oc_sisa');
DROP TABLE oc, old_rows, before_reseal;
DROP FUNCTION oc_old_seal(bytea), oc_le64(numeric), oc_hash64(bytea), oc_u64_num(bit), oc_u64_bits(numeric), oc_u64_mul(numeric, numeric);
