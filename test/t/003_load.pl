# Eight clients deleting, inserting, updating and predicting on random rows
# for a bounded time, while one more model trains: no client fails, and
# afterwards every model equals a retrain on the table (verify), and the
# models that learn inserts, the one trained during the load among them,
# hold exactly the table's rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_unlearn;
    CREATE TABLE t (id int PRIMARY KEY, x1 float8, x2 float8, y float8, label int, b int);
    INSERT INTO t SELECT i, sin(i), cos(i), 2 * sin(i) - cos(i) + 0.1 * sin(7 * i), i % 3, (sin(i) > 0.2)::int
    FROM generate_series(1, 20000) i;
    SELECT name FROM unlearn.train('ols_learn', 't', 'y', ARRAY['x1', 'x2'], options => '{"on_insert": "learn"}');
    SELECT name FROM unlearn.train('ridge_ignore', 't', 'y', ARRAY['x1'], 'ridge', shards => 4);
    SELECT name FROM unlearn.train('nb_learn', 't', 'label', ARRAY['x1', 'x2'], 'naive_bayes', shards => 2,
                                   options => '{"on_insert": "learn"}');
    SELECT name FROM unlearn.train('sisa_lr', 't', 'label', ARRAY['x1', 'x2'], 'logistic_regression', shards => 8, slices => 2,
                                   options => '{"on_insert": "learn"}');
    SELECT name FROM unlearn.train('cert', 't', 'b', ARRAY['x1', 'x2'], 'logistic_regression', 'certified', shards => 2);
    SELECT name FROM unlearn.train('forest', 't', 'label', ARRAY['x1', 'x2'], 'random_forest',
                                   options => '{"n_estimators": 4, "max_depth": 6, "on_insert": "learn"}');
});

# a training that runs while the clients write: they do not wait for it,
# and it applies what they changed during its scan
my ($train_out, $train_err) = ('', '');
my $trainer = IPC::Run::start(
    [ 'psql', '-X', '-q', '-A', '-t', '-d', $node->connstr('postgres'), '-c',
      q{SELECT rows_trained > 0 FROM unlearn.train('during', 't', 'label', ARRAY['x1', 'x2'], 'mlp', }
    . q{options => '{"hidden": 8, "epochs": 30, "n_iter_no_change": 1000, "on_insert": "learn"}')} ],
    '>', \$train_out, '2>', \$train_err);

$node->pgbench(
    '--no-vacuum --client=8 --jobs=2 --time=5',
    0,
    [qr{processed: [1-9]}],
    [qr{^$}],
    'eight clients delete, insert, update and predict',
    {
        'delete' => q{
\set id random(1, 40000)
DELETE FROM t WHERE id = :id;
},
        'insert' => q{
\set id random(20001, 40000)
INSERT INTO t VALUES (:id, random(), random(), random(), (:id % 3), (:id % 2)) ON CONFLICT (id) DO NOTHING;
},
        'update' => q{
\set id random(1, 40000)
UPDATE t SET y = y + 1 WHERE id = :id;
},
        'predict' => q{
\set id random(1, 40000)
SELECT unlearn.predict('ols_learn', t), unlearn.predict('nb_learn', t) FROM t WHERE id = :id;
},
    });

$trainer->finish;
is($train_out, "t\n", 'a model trains during the load') or diag($train_err);

# SISA shards catch up and deltas are folded after commit
is($node->safe_psql('postgres', "SELECT bool_and(unlearn.wait(name, 300)) FROM unlearn.models"), 't',
    'every model catches up after the load');
my $verified = $node->safe_psql('postgres',
    "SELECT string_agg(m.name || '=' || v.ok::text, ',' ORDER BY m.name) FROM unlearn.models m, "
  . "LATERAL (SELECT bool_and(passed) AS ok FROM unlearn.verify(m.name)) v");
is($verified, 'cert=true,during=true,forest=true,nb_learn=true,ols_learn=true,ridge_ignore=true,sisa_lr=true',
    'every model verifies after the load');
is($node->safe_psql('postgres',
    "SELECT string_agg(name || '=' || (rows_held = (SELECT count(*) FROM t))::text, ',' ORDER BY name) "
  . "FROM unlearn.models WHERE name IN ('ols_learn', 'during', 'forest')"),
    'during=true,forest=true,ols_learn=true', 'learning models hold exactly the rows of the table');
ok(!$node->log_contains('deadlock detected'), 'no deadlock');
ok(!$node->log_contains('terminated by signal'), 'no backend crashed');
$node->stop;
done_testing();
