// Decoded shard states kept per backend from one change of a model to the
// next, so that a session's run of DELETEs does not read and decode the
// same state again each time (a forest's is megabytes: reading and decoding
// it was a quarter of a single-row DELETE).
//
// A state is kept under the stored row version it equals: (xmin, ctid) of
// its unlearn.state row, which no other row version ever has (a transaction
// writing a row again writes a new ctid while the old version stands, and
// an aborted version's slot is reused by another transaction's xmin), with
// the model's layout (id, width), until xmin's 32 bits come round again
// (2^32 xids after it; a frozen row keeps its raw xmin, so that may be
// soon), in the relfilenode unlearn.state had (VACUUM FULL and CLUSTER
// keep xmin and move rows into a new one). A change takes a kept state when the row
// it reads is that version, and gives its states back after writing them,
// under the versions written, with the audit's hash of them (the next
// change's hash before): a change that fails gives nothing back, so a
// half-changed state is never kept. A rolled-back change leaves states kept
// under a version no snapshot sees, never used again.
//
// Memory: the states of the kKeptModels models this backend changed last
// (a DELETE on a table changes each of its models in turn), while what they
// hold, decoded (state_bytes: a forest, and as much the sums of a summation
// or certified model of a few hundred features), stays within
// half of unlearn.max_memory; the least recently changed go first.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model.hpp"
#include "pg.hpp"

namespace unlearn::pg {

constexpr size_t kKeptModels = 8;

struct StateVersion {
    std::string xmin, ctid;  // as text; empty: unknown
    bool known() const { return !xmin.empty() && !ctid.empty(); }
    bool operator==(const StateVersion &o) const { return xmin == o.xmin && ctid == o.ctid; }
};

// The kept states of the model's shards (versions: one per shard, in shard
// order) that are those row versions, taken out of the cache; the others
// empty.
std::vector<std::optional<ShardState>> take_kept_states(int32 model_id, int width,
                                                        const std::vector<StateVersion> &versions);
// The audit's state hash of a model's states kept as these versions (one
// per shard, in shard order), taken or not; "" when they were not all kept
// as these.
std::string kept_hash(int32 model_id, int width, const std::vector<StateVersion> &versions);
// Keeps a model's states (those of a known version), dropping what was
// kept before; hash: the audit's hash of them all ("" when not every shard
// is kept).
void keep_states(int32 model_id, int width, std::vector<int32> shards, std::vector<StateVersion> versions,
                 std::vector<ShardState> states, std::string hash);

}  // namespace unlearn::pg
