// Training that does not lock writers out. train reads its table from one
// snapshot while writers go on, applies what changed meanwhile (in rounds,
// writers going on), and locks writers out only to apply the changes of the
// last round, until its commit (the model and its triggers become visible
// to writers at that commit).
#pragma once

#include "catalog.hpp"

namespace unlearn::pg {

// Locks relation and its partitions SHARE ROW EXCLUSIVE until commit, like
// the first CREATE TRIGGER would. It asks without waiting while writers are
// in flight, so that new writers never queue behind it for a transaction
// that stays open; after kQueueAfterMs it waits its turn like any DDL.
// The partitions are those the scan (from snapshot `scanned`) read, and
// any attached since.
constexpr int kQueueAfterMs = 2000;
void lock_out_writers(Oid relation, Snapshot scanned);

// Applies to model m every change to relation (and its partitions) between
// two snapshots (both registered): rows whose version visible in `from` is
// not visible in `to` are forgotten, rows visible in `to` and not in `from`
// are learned (or not, by the model's on_insert), exactly as the table's
// triggers would have. A partition detached between the two fails it
// (serialization failure): its rows left without a DELETE.
struct AppliedChanges {
    int64 versions = 0;  // row versions that left or came
    int64 held = 0;      // by how many rows the rows trained on changed
};
AppliedChanges apply_changes_between(Spi &spi, const ModelMeta &m, Snapshot from, Snapshot to);

}  // namespace unlearn::pg
