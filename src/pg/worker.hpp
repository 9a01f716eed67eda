// The background worker: what writers leave for after commit, done by a
// dynamic background worker (no shared_preload_libraries needed).
//
// Work: SISA shards catching up (unlearn.catchup) and deltas of concurrent
// writers (unlearn.state_delta). A writer that leaves either starts a worker
// at its commit, unless one holds the database's worker lock (one worker per
// database works; one that finds the lock taken leaves). The worker works
// until nothing is left, each item in its own transactions, lets go of the
// lock and lists the work once more: work committed while it held the lock
// (whose writer started no worker) is not missed. After a crash nothing
// is lost: the work is in tables, and the next writer, unlearn.wait or
// unlearn.compact asks for a worker again; meanwhile every model serves a
// state free of the forgotten rows.
#pragma once

#include <optional>
#include <vector>

#include "catalog.hpp"
#include "sisa.hpp"

namespace unlearn::pg {

// This transaction leaves work: at its commit a worker is started for the
// database unless one is running.
void request_worker(Spi &spi);
// unlearn.wait: a worker now, unless one is running.
void start_worker_now(Spi &spi);

// A SISA shard's catch-up in two steps (sisa.cpp): trained from one
// snapshot, without any lock writers take...
struct ShardRetrain {
    ModelMeta model;
    int32 shard;
    CatchUp catchup;  // its row as read: kept only if still that row
    ClassLabels classes;
    std::vector<Checkpoint> checkpoints;
};
std::optional<ShardRetrain> prepare_catch_up(Spi &spi, int32 model_id, int32 shard);
// ...then kept in a short transaction of its own if the shard's rows did not
// change meanwhile (false: they did; prepare again).
bool keep_catch_up(Spi &spi, const ShardRetrain &r);

}  // namespace unlearn::pg
