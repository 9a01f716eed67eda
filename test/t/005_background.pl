# What writers leave for after commit survives a crash and a dump: deltas of
# concurrent writers not yet folded, SISA shards still catching up. At every
# moment the served models hold no forgotten row (verify retrains the
# served configuration); after a restart or a restore, unlearn.wait starts a
# worker again and everything catches up.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('background');
$node->init;
$node->start;

sub all_verified {
    my ($db) = @_;
    return $node->safe_psql($db,
        "SELECT coalesce(bool_and(v.passed), false) FROM unlearn.models m, unlearn.verify(m.name) v");
}
sub pending {
    my ($db) = @_;
    return $node->safe_psql($db,
        "SELECT (SELECT count(*) FROM unlearn.state_delta) || '/' || (SELECT count(*) FROM unlearn.catchup)");
}

$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_unlearn;
    CREATE TABLE t (id int PRIMARY KEY, x1 float8, x2 float8, y float8);
    INSERT INTO t SELECT i, sin(i), cos(i), 1 + 2 * sin(i) - cos(i) + 0.1 * sin(7 * i) FROM generate_series(1, 20000) i;
    SELECT name FROM unlearn.train('ols', 't', 'y', ARRAY['x1', 'x2']);
    CREATE TABLE c (id int PRIMARY KEY, x1 float8, x2 float8, label int);
    INSERT INTO c SELECT i, sin(i), cos(i), (sin(i) + 0.5 * cos(i) + 0.3 * sin(11 * i) > 0)::int FROM generate_series(1, 20000) i;
    SELECT name FROM unlearn.train('nn', 'c', 'label', ARRAY['x1', 'x2'], 'mlp', shards => 2, slices => 2,
                                   options => '{"hidden": 64, "epochs": 60, "n_iter_no_change": 60}');
    -- two keys in different lineage blocks of ols (entries come block by block)
    CREATE TABLE picks AS
    WITH e AS (SELECT key, row_number() OVER () AS n
               FROM unlearn.lineage_entries((SELECT model_id FROM unlearn.models WHERE name = 'ols')))
    SELECT (SELECT key::int FROM e ORDER BY n LIMIT 1) AS a, (SELECT key::int FROM e ORDER BY n DESC LIMIT 1) AS b;
});

# The database's worker lock (unlearn.hold_worker): a session holding it
# keeps every worker away, so that work stays pending for as long as a test needs.
my $worker_lock = "SELECT unlearn.hold_worker()";

# 1. a writer holds the base of ols open; a second writer leaves a delta; a
#    DELETE on the mlp leaves its shards catching up; then the server crashes
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe($worker_lock);
$holder->query_safe('BEGIN');
$holder->query_safe('DELETE FROM t WHERE id = (SELECT a FROM picks)');
$node->safe_psql('postgres', 'DELETE FROM t WHERE id = (SELECT b FROM picks)');
$node->safe_psql('postgres', 'DELETE FROM c WHERE id % 7 = 0');
like(pending('postgres'), qr{^[1-9][0-9]*/[1-9][0-9]*$}, 'a delta and catch-ups are pending');
is(all_verified('postgres'), 't', 'the served models verify while work is pending');
$node->stop('immediate');
eval { $holder->quit };
$node->start;
like(pending('postgres'), qr{^[1-9][0-9]*/[1-9][0-9]*$}, 'the pending work survives the crash');
is($node->safe_psql('postgres', "SELECT unlearn.trained_on('ols', (SELECT b::text FROM picks))"), 'f',
    'the committed DELETE is forgotten after the crash');
is($node->safe_psql('postgres', "SELECT unlearn.trained_on('ols', (SELECT a::text FROM picks))"), 't',
    'the uncommitted one is not');
is(all_verified('postgres'), 't', 'the served models verify after the crash');
is($node->safe_psql('postgres', "SELECT unlearn.wait('ols', 120) AND unlearn.wait('nn', 300)"), 't',
    'unlearn.wait starts a worker again and everything catches up');
is(pending('postgres'), '0/0', 'nothing is left pending');
is($node->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'ols'"), '19999',
    'the folded delta counted its row');
is(all_verified('postgres'), 't', 'every model verifies after the catch-up');

# 1b. a crash while the worker retrains: nothing half-kept, it catches up again
$node->safe_psql('postgres', 'DELETE FROM c WHERE id % 7 = 2');
$node->poll_query_until('postgres', "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'pg_unlearn worker'");
$node->stop('immediate');
$node->start;
is(all_verified('postgres'), 't', 'after a crash mid catch-up the served models verify');
is($node->safe_psql('postgres', "SELECT unlearn.wait('nn', 300)"), 't', 'and catch up');
is(all_verified('postgres'), 't', 'and verify after catching up');

# 2. pg_dump / pg_restore while a delta is pending and shards catch up
$holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe($worker_lock);
$holder->query_safe('BEGIN');
$holder->query_safe('DELETE FROM t WHERE id = (SELECT a FROM picks)');
$node->safe_psql('postgres', 'DELETE FROM t WHERE id = (SELECT b FROM picks) + 1');
# rows of the last slice only: each shard serves its first slice's checkpoint
$node->safe_psql('postgres',
    "DELETE FROM c WHERE id IN (SELECT key::int FROM unlearn.lineage WHERE model = 'nn' AND slice = 1 ORDER BY key LIMIT 50)");
like(pending('postgres'), qr{^[1-9][0-9]*/[1-9][0-9]*$}, 'pending work before the dump');
my $probe = "SELECT unlearn.predict('ols', ARRAY[0.3, -0.2])::text || ' ' || unlearn.predict_proba('nn', ARRAY[0.3, -0.2])::text";
my $dump = $node->basedir . '/pending.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump with pending work');
my $served = $node->safe_psql('postgres', $probe);
$holder->query_safe('ROLLBACK');
$holder->quit;  # and the worker lock with it
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
like(pending('restored'), qr{^[1-9][0-9]*/[1-9][0-9]*$}, 'the restored database has the pending work');
is($node->safe_psql('restored', $probe), $served, 'restored models serve what the dumped ones served');
is(all_verified('restored'), 't', 'restored models verify before catching up');
is($node->safe_psql('restored', "SELECT unlearn.wait('ols', 120) AND unlearn.wait('nn', 300)"), 't',
    'the restored database catches up');
is(pending('restored'), '0/0', 'nothing left pending after the restore');
is(all_verified('restored'), 't', 'restored models verify after catching up');
is($node->safe_psql('postgres', "SELECT unlearn.wait('ols', 120) AND unlearn.wait('nn', 300)"), 't',
    'the source database catches up too');
is(all_verified('postgres'), 't', 'and verifies');

ok(!$node->log_contains('terminated by signal'), 'no backend or worker crashed');
$node->stop;
done_testing();
