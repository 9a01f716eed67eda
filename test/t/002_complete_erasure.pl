# After a DELETE the row's old version is still in the table's files; after
# the commands unlearn.erasure_commands() returns, neither the table nor the
# extension's tables hold its key or values on disk.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('erasure');
$node->init;
$node->start;

my $secret = 'erase-me-4a7f19';
$node->safe_psql('postgres', qq{
    CREATE EXTENSION pg_unlearn;
    CREATE TABLE people (who text PRIMARY KEY, note text, x float8, y float8);
    INSERT INTO people SELECT 'person-' || i, 'ordinary', i, 2 * i + sin(i) FROM generate_series(1, 5000) i;
    INSERT INTO people VALUES ('$secret', 'note-$secret', 123456.789, 987654.321);
    SELECT name FROM unlearn.train('m', 'people', 'y', ARRAY['x']);
});

# every file of a relation and of its TOAST table
sub files_of {
    my ($rel) = @_;
    my $paths = $node->safe_psql('postgres', qq{
        SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid = '$rel'::regclass
        UNION ALL SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c
        WHERE c.oid = '$rel'::regclass AND c.reltoastrelid <> 0});
    my @files;
    for my $p (split /\n/, $paths) {
        push @files, grep { -f $_ } glob($node->data_dir . "/$p*");
    }
    return @files;
}

sub on_disk {
    my @hits;
    for my $rel ('people', 'unlearn.lineage_blocks', 'unlearn.state', 'unlearn.models', 'unlearn.audit') {
        for my $f (files_of($rel)) {
            my $bytes = slurp_file($f);
            push @hits, "$rel:$f" if index($bytes, $secret) >= 0;
        }
    }
    return @hits;
}

$node->safe_psql('postgres', 'CHECKPOINT');
ok(scalar(on_disk()) > 0, 'the key is on disk while the row exists (the probe works)');

$node->safe_psql('postgres', "DELETE FROM people WHERE who = '$secret'");
is($node->safe_psql('postgres', "SELECT unlearn.trained_on('m', '$secret')"), 'f', 'the model forgot the row');
$node->safe_psql('postgres', 'CHECKPOINT');
ok(scalar(on_disk()) > 0, 'after DELETE alone the old row version is still in the files');

my $commands = $node->safe_psql('postgres', "SELECT * FROM unlearn.erasure_commands('people')");
$node->safe_psql('postgres', $_) for split /\n/, $commands;
is(join(', ', on_disk()), '', 'after the erasure commands no file holds the key');
is($node->safe_psql('postgres', "SELECT bool_and(passed) FROM unlearn.verify('m')"), 't', 'the model still verifies');

$node->stop;
done_testing();
