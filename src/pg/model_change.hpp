// A change of a model's state, from the event that opens it to the audit
// event that records it. Opened with the model and the event, it loads the
// shard states and hashes them, and notes the time; a strategy then changes
// states (and, for a categorical model, the vocabulary) and names the shards
// it changed; commit() writes them, hashes again, scores the forgetting,
// and bumps the model row and writes the audit — once, in this order, for
// every event (train, unlearn, learn, truncate, forget_feature).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "evidence.hpp"

namespace unlearn::pg {

using Clock = std::chrono::steady_clock;

class ModelChange {
public:
    // An existing model: its states as stored. keep_before keeps a copy for
    // the figures of a forgetting.
    ModelChange(Spi &spi, const ModelMeta &m, const char *event, std::string method, Clock::time_point started,
                bool keep_before = false);
    // A model just created (its row inserted): the trained states, nothing before.
    ModelChange(Spi &spi, const ModelMeta &m, std::vector<ShardState> trained, std::string method,
                Clock::time_point started);
    ModelChange(const ModelChange &) = delete;
    ModelChange &operator=(const ModelChange &) = delete;

    Spi &spi;
    ModelMeta model;  // as it will be: a strategy may prune its categories
    std::vector<ShardState> states;
    AuditEvent audit;  // a strategy sets method, shards and details; rows by the event

    // Rows the states hold now.
    int64 held() const;
    // Every shard changed (a new layout, a reset, a retrain of all).
    void change_all_shards();
    // A summation-form shard learns (sign +1) or forgets (-1) rows. Unless
    // the model's writers take turns, the rows' own sums are kept apart too:
    // commit() then changes the stored shard by them alone, so that writers
    // in other transactions need not wait (change_shard in catalog.hpp).
    void add_rows(int32 shard, const RowMatrix &x, const Vector &y, int sign);
    // A strategy that computes a shard's new state from its current one
    // (SISA, certified) locks the shards first: their states are then as
    // the writers before this one left them, and the next waits for commit.
    void lock_shards(const std::vector<int32> &shards);
    // Categories no held row carries leave model and states (a summation-form
    // model): every shard then changed, and the rows at hand no longer fit
    // the layout, so no figures are computed.
    void prune_categories();

    // Lineage blocks (locked by this transaction) that commit() writes, with
    // the change's own statement when it can.
    void write_blocks_with(BlockWrites blocks) { blocks_ = std::move(blocks); }

    // Writes the changed shards, hashes, adds the forgetting's figures
    // when deleted is given, then touches the model row (not a new one) and
    // writes the audit event in one statement. Returns the rows held. The
    // states then go to the backend's kept states (state_cache.hpp) for the
    // next change: states is empty after it.
    int64 commit(int64 forgotten = 0, const DeletedRows *deleted = nullptr);

private:
    void keep_for_next_change();
    // The audit's hash after, the forgetting's figures and the duration.
    void finish_audit(const DeletedRows *deleted);
    // commit()'s writes, two ways; left_work: deltas or counts for the worker to fold
    void write_step_by_step(const std::vector<int32> &whole, int64 rows, int64 forgotten, const DeletedRows *deleted,
                            bool &left_work);
    bool written_in_one_statement(int64 rows, int64 forgotten, const DeletedRows *deleted, bool &left_work);
    struct Delta {
        ShardState rows;  // the sums of the rows added or taken away
        int sign;
    };
    std::map<int32, Delta> deltas_;
    BlockWrites blocks_;  // lineage to write with the change
    std::vector<StateSeen> seen_;  // the base versions states were read from (or written as, once written)
    // per shard, the bytes states[s] was read from or written as (empty when
    // unknown): the state hashes reuse them instead of encoding again
    std::vector<std::vector<uint8_t>> stored_;
    int64 held_before_ = 0;
    std::vector<ShardState> before_;
    bool created_ = false;
    bool layout_changed_ = false;
    Clock::time_point started_;
};

// SHA-256 of the encoded states, in hex: the audit's state hashes. stored:
// per shard, its encoding when already at hand (used only for a state whose
// encoding is canonical, see model_change.cpp).
std::string state_hash(const ModelMeta &m, const std::vector<ShardState> &states,
                       const std::vector<std::vector<uint8_t>> &stored = {});

}  // namespace unlearn::pg
