#include "model_change.hpp"

#include <algorithm>
#include <cstdio>

#include "error.hpp"
#include "sha256.hpp"

#include "model_cache.hpp"
#include "state_cache.hpp"
#include "worker.hpp"

namespace unlearn::pg {

ModelChange::ModelChange(Spi &spi_, const ModelMeta &m, const char *event, std::string method,
                         Clock::time_point started, bool keep_before)
    : spi(spi_), model(m), started_(started) {
    states = load_states(spi_, m, &seen_, &stored_, StatesFor::Changing);  // in the body: seen_, stored_ are declared after states
    audit.event = event;
    audit.method = std::move(method);
    std::vector<StateVersion> versions;
    for (const StateSeen &v : seen_) versions.push_back(v.version());
    audit.hash_before = kept_hash(m.id, width(m), versions);  // the hash the change that kept them took
    if (audit.hash_before.empty()) audit.hash_before = state_hash(m, states, stored_);
    held_before_ = held();
    if (keep_before) before_ = states;
}

ModelChange::ModelChange(Spi &spi_, const ModelMeta &m, std::vector<ShardState> trained, std::string method,
                         Clock::time_point started)
    : spi(spi_), model(m), states(std::move(trained)), created_(true), started_(started) {
    audit.event = "train";
    audit.method = std::move(method);
}

int64 ModelChange::held() const {
    int64 held = 0;
    for (const auto &st : states) held += state_rows(st);
    return held;
}

void ModelChange::change_all_shards() {
    audit.shards.clear();
    for (int32 s = 0; s < model.shards; ++s) audit.shards.push_back(s);
}

void ModelChange::add_rows(int32 shard, const RowMatrix &x, const Vector &y, int sign) {
    ShardState &state = states.at(static_cast<size_t>(shard));
    audit.shards.push_back(shard);
    if (created_ || takes_turns(model)) {
        summation(state).add_rows(x, y, sign);
        return;
    }
    auto at = deltas_.find(shard);
    if (at != deltas_.end() && at->second.sign != sign)
        throw Error(ErrorKind::Internal, "a change both adds and takes away rows of a shard");
    // The rows are summed once, and the state takes their sums: the sums are
    // exact, so the state is bit for bit what adding the rows to it would
    // make (a 10% DELETE of a million rows summed them twice). A shard's
    // rows come in one call (add_by_shard), so their sums become its delta;
    // should a second call come, the delta takes them too.
    ShardState rows = empty_state(model.algorithm, width(model));
    summation(rows).add_rows(x, y, +1);
    merge_state(state, rows, sign);
    if (at == deltas_.end())
        deltas_.emplace(shard, Delta{std::move(rows), sign});
    else
        merge_state(at->second.rows, rows, +1);
}

void ModelChange::lock_shards(const std::vector<int32> &shards) {
    for (auto &kv : lock_shard_states(spi, model, shards, seen_)) {
        ShardState &st = states.at(static_cast<size_t>(kv.first));
        held_before_ += state_rows(kv.second) - state_rows(st);  // what the writers before this one changed
        st = std::move(kv.second);
        if (static_cast<size_t>(kv.first) < stored_.size()) stored_[static_cast<size_t>(kv.first)].clear();
        if (static_cast<size_t>(kv.first) < seen_.size()) seen_[static_cast<size_t>(kv.first)] = StateSeen{};  // read anew, version not known
    }
}

void ModelChange::prune_categories() {
    if (!pg::prune_categories(model, states)) return;
    layout_changed_ = true;
    change_all_shards();  // the layout of every shard changed with the vocabulary
    write_categories(spi, model);
}

int64 ModelChange::commit(int64 forgotten, const DeletedRows *deleted) {
    std::vector<int32> whole;  // shards written whole; the others by their rows alone
    for (int32 s : audit.shards)
        if (!deltas_.count(s) && std::find(whole.begin(), whole.end(), s) == whole.end()) whole.push_back(s);
    stored_.resize(states.size());
    for (int32 s : audit.shards) stored_.at(static_cast<size_t>(s)).clear();
    seen_.resize(states.size());
    const int64 rows = held();
    bool left_work = false;  // deltas for the background worker to fold
    if (created_ || !whole.empty() || deltas_.size() != 1 || !written_in_one_statement(rows, forgotten, deleted, left_work))
        write_step_by_step(whole, rows, forgotten, deleted, left_work);
    if (left_work) request_worker(spi);
    note_model_written(model.id);
    keep_for_next_change();
    return rows;
}

// The changed shards written (whole: those written whole) or as deltas, the
// audit's figures, then the model row touched (not a new one's) with the
// audit event.
void ModelChange::write_step_by_step(const std::vector<int32> &whole, int64 rows, int64 forgotten,
                                     const DeletedRows *deleted, bool &left_work) {
    write_blocks(spi, model, blocks_);
    if (!whole.empty()) {
        std::vector<StateSeen> versions;
        std::vector<std::vector<uint8_t>> written = write_states(spi, model, states, whole, &versions);
        for (size_t i = 0; i < whole.size(); ++i) {
            stored_.at(static_cast<size_t>(whole[i])) = std::move(written[i]);
            seen_.at(static_cast<size_t>(whole[i])) = versions[i];
        }
    }
    for (const auto &kv : deltas_) {
        StateSeen &seen = seen_.at(static_cast<size_t>(kv.first));
        StateSeen written;  // rewritten whole: that version; folded or a delta: not known
        left_work |= !change_shard(spi, model, kv.first, kv.second.rows, kv.second.sign,
                                   states.at(static_cast<size_t>(kv.first)), seen, &written);
        seen = std::move(written);
    }
    finish_audit(deleted);
    if (created_)  // its row was just inserted, counts and all
        write_audit(spi, model, audit);
    else
        left_work |= !touch_model_and_audit(spi, model, rows - held_before_, forgotten, audit);
}

void ModelChange::finish_audit(const DeletedRows *deleted) {
    audit.hash_after = state_hash(model, states, stored_);
    if (deleted) {
        // a model of another layout: the deleted rows and the state before
        // were in the old one, so there is nothing to score them with
        const std::string figures =
            layout_changed_ ? "\"figures_skipped\": \"a category left the model with these rows: they are not scored\""
                            : event_figures(spi, model, before_, states, *deleted);
        if (!figures.empty()) audit.details += (audit.details.empty() ? "" : ", ") + figures;
    }
    audit.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
}

// One shard changed by its rows (a single-row DELETE's change): its rewrite,
// the model row and the audit in one statement, the event's figures first
// (its duration then leaves out that statement's time, as it always left
// out the audit's). False, having written nothing, when the schema or the
// isolation level does not allow it.
bool ModelChange::written_in_one_statement(int64 rows, int64 forgotten, const DeletedRows *deleted, bool &left_work) {
    const int32 shard = deltas_.begin()->first;
    const Delta &delta = deltas_.begin()->second;
    StateSeen &seen = seen_.at(static_cast<size_t>(shard));
    const ShardState &whole = states.at(static_cast<size_t>(shard));
    if (!rewrites_in_one(model, seen)) return false;
    // one block rewritten (a single-row change's) goes with the statement
    const bool one_block = blocks_.buckets.size() == 1 && blocks_.gone.empty();
    if (!one_block) write_blocks(spi, model, blocks_);
    finish_audit(deleted);
    const ShardTouched done = rewrite_shard_touch_and_audit(spi, model, shard, whole, seen, rows - held_before_,
                                                            forgotten, audit, one_block ? &blocks_ : nullptr);
    seen = done.written;  // not rewritten: folded or a delta, version not known
    if (!done.rewritten) left_work |= !fold_or_append_delta(spi, model, shard, delta.rows, delta.sign);
    if (!done.touched) left_work |= !count_later(spi, model, rows - held_before_, forgotten);
    return true;
}

void ModelChange::keep_for_next_change() {
    std::vector<int32> shards;
    std::vector<StateVersion> versions;
    std::vector<ShardState> kept;
    bool all = true;  // every shard is a known row version: the hash after stands for them
    for (size_t s = 0; s < states.size(); ++s) {
        const StateVersion v = seen_.at(s).version();  // unknown ones keep_states drops
        all = all && v.known();
        shards.push_back(static_cast<int32>(s));
        versions.push_back(v);
        kept.push_back(std::move(states[s]));
    }
    states.clear();
    keep_states(model.id, width(model), std::move(shards), std::move(versions), std::move(kept),
                all ? audit.hash_after : std::string());
}

std::string state_hash(const ModelMeta &m, const std::vector<ShardState> &states,
                       const std::vector<std::vector<uint8_t>> &stored) {
    // The hash is of the rows as stored (sha256 of the shards' state bytes,
    // in shard order: what SQL can check): a shard's bytes as they were read
    // or written, and encoded only when not at hand (a shard with deltas, a
    // kept one). Hashing what was read, not an encoding of it, keeps the
    // chain of before/after hashes across a change of the stored form: a
    // blob sealed by an older build (another checksum, stop 28; another
    // payload format) is not what this build would encode.
    std::vector<std::vector<uint8_t>> encoded(states.size());
    std::vector<const std::vector<uint8_t> *> blobs;
    for (size_t i = 0; i < states.size(); ++i) {
        const bool reuse = i < stored.size() && !stored[i].empty();
        if (!reuse) encoded[i] = encode_state(m.algorithm, states[i]);
        blobs.push_back(reuse ? &stored[i] : &encoded[i]);
    }
    Sha256 sha;
    for (const auto *b : blobs) sha.update(b->data(), b->size());
    return sha.hex();
}

}  // namespace unlearn::pg
