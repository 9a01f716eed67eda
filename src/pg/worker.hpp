// The background worker: what writers leave for after commit, done by a
// dynamic background worker (no shared_preload_libraries needed).
//
// Work: SISA shards catching up (unlearn.catchup) and deltas of concurrent
// writers (unlearn.state_delta). A writer that leaves either asks for a
// worker once per transaction; the worker first waits for that transaction
// to end, then takes the database's worker lock (one worker per database
// does the work; another that finds the lock taken leaves) and works until
// nothing is left, each item in its own transactions. After a crash nothing
// is lost: the work is in tables, and the next writer, unlearn.wait or
// unlearn.compact asks for a worker again; meanwhile every model serves a
// state free of the forgotten rows.
#pragma once

#include <optional>
#include <vector>

#include "catalog.hpp"
#include "sisa.hpp"

namespace unlearn::pg {

// Registers a worker for this database, once per transaction.
void request_worker(Spi &spi);

// A SISA shard's catch-up in two steps (sisa.cpp): trained from one
// snapshot, without any lock writers take...
struct ShardRetrain {
    ModelMeta model;
    int32 shard;
    int64 generation;
    ClassLabels classes;
    std::vector<Checkpoint> checkpoints;
};
std::optional<ShardRetrain> prepare_catch_up(Spi &spi, int32 model_id, int32 shard);
// ...then kept in a short transaction of its own if the shard's rows did not
// change meanwhile (false: they did; prepare again).
bool keep_catch_up(Spi &spi, const ShardRetrain &r);

}  // namespace unlearn::pg
