# Models are ordinary table data: a crash loses no committed forgetting and
# keeps none that did not commit; pg_dump/pg_restore carries models that
# still forget; a base backup plus WAL replay restores them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "max_wal_size = 1GB\n");
$node->start;

sub all_verified {
    my ($db) = @_;
    return $node->safe_psql($db,
        "SELECT coalesce(bool_and(v.passed), false) FROM unlearn.models m, unlearn.verify(m.name) v");
}

$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_unlearn;
    CREATE TABLE t (id int PRIMARY KEY, x1 float8, x2 float8, y float8);
    INSERT INTO t SELECT i, sin(i), cos(i), 1 + 2 * sin(i) - cos(i) + 0.1 * sin(7 * i) FROM generate_series(1, 200000) i;
    SELECT name FROM unlearn.train('ols', 't', 'y', ARRAY['x1', 'x2'], shards => 4);
    SELECT name FROM unlearn.train('rdg', 't', 'y', ARRAY['x1'], 'ridge');
    CREATE TABLE c (id int PRIMARY KEY, x1 float8, x2 float8, label int);
    INSERT INTO c SELECT i, sin(i), cos(i), (sin(i) + 0.5 * cos(i) + 0.3 * sin(11 * i) > 0)::int FROM generate_series(1, 40000) i;
    SELECT name FROM unlearn.train('sisa_lr', 'c', 'label', ARRAY['x1', 'x2'], 'logistic_regression', shards => 4, slices => 3);
    SELECT name FROM unlearn.train('sisa_nn', 'c', 'label', ARRAY['x1', 'x2'], 'mlp', shards => 2, slices => 2,
                                   options => '{"hidden": 64, "epochs": 40}');
});

# 1. a committed large DELETE survives an immediate shutdown
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 = 0');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'ols'"),
    '180000', 'committed forgetting survives a crash');
is(all_verified('postgres'), 't', 'every model verifies after crash recovery');

# 2. a crash in the middle of a large DELETE's transaction forgets nothing
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, q{
    BEGIN;
    DELETE FROM t WHERE id % 10 = 1;
    \echo started
    SELECT pg_sleep(600);
});
$node->stop('immediate');
eval { $bg->quit };  # its server is gone: only reap the psql process
$node->start;
is($node->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'ols'"),
    '180000', 'uncommitted forgetting is gone after a crash');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM unlearn.lineage WHERE model = 'ols'") , '180000', 'lineage matches the table');
is(all_verified('postgres'), 't', 'every model verifies after a crash mid-DELETE');

# 3. a crash during train leaves nothing half-created
$bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, q{
    BEGIN;
    SELECT name FROM unlearn.train('half', 't', 'y', ARRAY['x1']);
    \echo started
    SELECT pg_sleep(600);
});
$node->stop('immediate');
eval { $bg->quit };  # its server is gone: only reap the psql process
$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM unlearn.models WHERE name = 'half'"), '0',
    'a crash during train leaves no model');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM unlearn.state s LEFT JOIN unlearn.models m USING (model_id) WHERE m.model_id IS NULL"),
    '0', 'and no orphan state');

# 3b. a crash inside a DELETE's transaction on SISA models keeps every checkpoint as it was
my $checkpoints = "SELECT string_agg(model_id || '/' || shard || '/' || slice || '/' || digest || '/' || md5(state), ',' "
    . "ORDER BY model_id, shard, slice) FROM unlearn.checkpoints";
my $before = $node->safe_psql('postgres', $checkpoints);
$bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, q{
    \echo started
    BEGIN;
    DELETE FROM c WHERE id % 50 = 7;
    SELECT pg_sleep(600);
});
# stop while the shards retrain (or, on a fast machine, before the commit that never comes)
$node->poll_query_until('postgres',
    "SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'DELETE FROM c%' OR query LIKE 'SELECT pg_sleep%'");
$node->stop('immediate');
eval { $bg->quit };
$node->start;
is($node->safe_psql('postgres', $checkpoints), $before, 'a crash mid shard retrain leaves the checkpoints as they were');
is($node->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'sisa_lr'"), '40000',
    'and the SISA model holds every row');
$node->safe_psql('postgres', 'DELETE FROM c WHERE id % 50 = 8');
$node->safe_psql('postgres', "SELECT unlearn.wait('sisa_lr') AND unlearn.wait('sisa_nn')");
is($node->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'sisa_nn'"), '39200',
    'SISA models forget after recovery');

# 4. pg_dump / pg_restore round trip: same predictions, still forgets. A
# table that lost a column before training is restored with other attribute
# numbers: its model keeps its columns (it used to be renamed by the stale
# numbers, or dropped, at the restore's first ALTER TABLE)
$node->safe_psql('postgres', q{
    CREATE TABLE dc (id int PRIMARY KEY, a int, junk int, x float8, g text, y float8, z float8);
    INSERT INTO dc SELECT i, i, i, i % 7, 'g' || (i % 2), 2 * (i % 7) + (i % 3), 0 FROM generate_series(1, 300) i;
    ALTER TABLE dc DROP COLUMN junk;
    SELECT name FROM unlearn.train('dc_m', 'dc', 'y', ARRAY['x'], 'ridge', options => '{"holdout": 0.3, "monitor_group": "g"}');
});
my $columns = "SELECT key_columns::text || target || features::text || (options->>'monitor_group') FROM unlearn.models WHERE name = 'dc_m'";
my $dump = $node->basedir . '/models.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
my $probe = "SELECT unlearn.predict('ols', ARRAY[0.3, -0.2])::text || ' ' || unlearn.predict('rdg', ARRAY[0.5])::text"
    . " || ' ' || unlearn.predict_proba('sisa_lr', ARRAY[0.3, -0.2])::text || ' ' || unlearn.predict_proba('sisa_nn', ARRAY[0.3, -0.2])::text";
is($node->safe_psql('restored', $probe), $node->safe_psql('postgres', $probe), 'restored models predict identically');
$node->safe_psql('restored', 'DELETE FROM t WHERE id % 10 = 2');
is($node->safe_psql('restored', "SELECT rows_held FROM unlearn.models WHERE name = 'ols'"),
    '160000', 'restored models still forget on DELETE');
$node->safe_psql('restored', 'DELETE FROM c WHERE id % 50 = 9');
$node->safe_psql('restored', "SELECT unlearn.wait('sisa_lr') AND unlearn.wait('sisa_nn')");
is($node->safe_psql('restored', "SELECT rows_held FROM unlearn.models WHERE name = 'sisa_lr'"),
    '38400', 'restored SISA models still forget on DELETE');
is($node->safe_psql('restored', $columns), '{id}y{x}g', 'a restored model keeps its columns');
$node->safe_psql('restored', 'ALTER TABLE dc ADD COLUMN w int; ALTER TABLE dc RENAME COLUMN g TO g2');
is($node->safe_psql('restored', $columns), '{id}y{x}g2', 'and follows a rename after the restore');
is(all_verified('restored'), 't', 'restored models verify');

# 5. base backup + WAL replay
$node->backup('base');
$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 10 = 3');
$node->safe_psql('postgres', "SELECT pg_switch_wal()");
my $replica = PostgreSQL::Test::Cluster->new('replayed');
$replica->init_from_backup($node, 'base', has_streaming => 1);
$replica->start;
$node->wait_for_catchup($replica);
is($replica->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'ols'"),
    '160000', 'WAL replay carries the forgetting');
is($replica->safe_psql('postgres',
    "SELECT coalesce(bool_and(v.passed), false) FROM unlearn.models m, unlearn.verify(m.name) v"),
    't', 'models verify on the replayed copy');

# 6. no backend died on the way
ok(!$node->log_contains('terminated by signal'), 'no backend crashed');

$replica->stop;
$node->stop;
done_testing();
