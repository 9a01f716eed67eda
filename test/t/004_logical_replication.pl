# A model on a logical replication subscriber forgets what the publisher
# deletes. The apply worker runs with session_replication_role = replica and
# fires row triggers only, never statement triggers: the replica row triggers
# (ENABLE REPLICA) carry each replicated change to the models, exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;

my $table = 'CREATE TABLE t (id int PRIMARY KEY, x float8, y float8)';
$pub->safe_psql('postgres', qq{
    $table;
    INSERT INTO t SELECT i, i % 29, 4 * (i % 29) + sin(i) FROM generate_series(1, 300) i;
    CREATE PUBLICATION p FOR TABLE t;
});
$sub->safe_psql('postgres', qq{
    CREATE EXTENSION pg_unlearn;
    $table;
});
my $conn = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres', "CREATE SUBSCRIPTION s CONNECTION '$conn' PUBLICATION p");
$sub->wait_for_subscription_sync($pub, 's');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM t'), '300', 'initial copy arrived');

$sub->safe_psql('postgres', q{
    SELECT name FROM unlearn.train('ols', 't', 'y', ARRAY['x']);
    SELECT name FROM unlearn.train('learner', 't', 'y', ARRAY['x'], 'ridge', options => '{"on_insert": "learn"}');
});

$pub->safe_psql('postgres', q{
    DELETE FROM t WHERE id <= 20;
    UPDATE t SET y = y + 10 WHERE id BETWEEN 21 AND 25;
    INSERT INTO t VALUES (301, 1, 5), (302, 2, 9);
});
$pub->wait_for_catchup('s');

is($sub->safe_psql('postgres', 'SELECT count(*) FROM t'), '282', 'changes replicated');
is($sub->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'ols'"),
    '275', 'the 20 replicated deletes and 5 updates were forgotten (ols does not learn new rows)');
is($sub->safe_psql('postgres', "SELECT unlearn.trained_on('ols', '7')"), 'f', 'a replicated delete is forgotten');
is($sub->safe_psql('postgres', "SELECT rows_held FROM unlearn.models WHERE name = 'learner'"),
    '282', 'the learning model took the updated and inserted rows');
is($sub->safe_psql('postgres',
    "SELECT bool_and(v.passed) FROM unlearn.models m, unlearn.verify(m.name) v"),
    't', 'both models equal a retrain on the subscriber\'s rows');
is($sub->safe_psql('postgres', "SELECT count(*) FROM unlearn.audit WHERE event = 'unlearn' AND model = 'ols'"),
    '25', 'one audit event per replicated row change');

# A replicated TRUNCATE: the TRUNCATE trigger fires always (no row trigger
# can stand for it), so the models forget every row, once.
$pub->safe_psql('postgres', 'TRUNCATE t');
$pub->wait_for_catchup('s');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM t'), '0', 'the TRUNCATE replicated');
is($sub->safe_psql('postgres', "SELECT string_agg(rows_held::text, ',' ORDER BY name) FROM unlearn.models"),
    '0,0', 'a replicated TRUNCATE is forgotten by both models');

$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s');
$sub->stop;
$pub->stop;
done_testing();
