// Training that does not lock writers out. train reads its table from one
// snapshot while writers go on, applies what changed meanwhile (in rounds,
// writers going on), and locks writers out only to apply the changes of the
// last round, until its commit (the model and its triggers become visible
// to writers at that commit).
#pragma once

#include <memory>

#include "catalog.hpp"
#include "pg_snapshot.hpp"

namespace unlearn::pg {

// Locks relation and its partitions SHARE ROW EXCLUSIVE until commit, like
// the first CREATE TRIGGER would. It asks without waiting while writers are
// in flight, so that new writers never queue behind it for a transaction
// that stays open; after kQueueAfterMs it waits its turn like any DDL.
// The partitions are those the scan (from snapshot `scanned`) read, and
// any attached since.
constexpr int kQueueAfterMs = 2000;
void lock_out_writers(Oid relation, Snapshot scanned);

// The changes to a model's table since its training's scan, applied to the
// model as the table's triggers would have applied them: rows whose version
// the earlier snapshot sees and the later does not are forgotten, rows the
// later sees and the earlier does not are learned (or not, by the model's
// on_insert). A partition detached meanwhile fails it (serialization
// failure): its rows left without a DELETE.
class MissedChanges {
public:
    explicit MissedChanges(Snapshot scanned) : scanned_(scanned) {}  // registered by the caller
    // In rounds while writers go on (a long training meets many changes),
    // until a round finds few. Returns by how many rows the rows trained on changed.
    int64 apply_while_writers_go_on(Spi &spi, const ModelMeta &m);
    // What changed since, with writers locked out (lock_out_writers).
    int64 apply_rest(Spi &spi, const ModelMeta &m);

private:
    struct Round {
        int64 versions = 0;  // row versions that left or came
        int64 held = 0;      // by how many rows the rows trained on changed
    };
    // From what is applied so far to a snapshot taken now.
    Round apply_round(Spi &spi, const ModelMeta &m);

    Snapshot scanned_;
    std::unique_ptr<PgRegisteredSnapshot> caught_up_;  // applied up to it, beyond the scan
};

}  // namespace unlearn::pg
