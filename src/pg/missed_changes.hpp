// Training that does not lock writers out. train reads its table from one
// snapshot while writers go on; at the end it locks writers out only while
// it applies what its scan missed, and until its commit (the model and its
// triggers become visible to writers at that commit).
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
// the snapshot its scan read (`scanned`, still registered) and now: rows
// whose version visible then is not visible now are forgotten, rows visible
// now and not then are learned (or not, by the model's on_insert), exactly as
// the table's triggers would have. Call with writers locked out. Returns by
// how many rows the rows trained on changed. A partition detached since the
// scan fails it (serialization failure): its rows left without a DELETE.
int64 apply_changes_since(Spi &spi, const ModelMeta &m, Snapshot scanned);

}  // namespace unlearn::pg
