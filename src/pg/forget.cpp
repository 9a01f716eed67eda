// The trigger that makes a table's DELETE, UPDATE and TRUNCATE reach every
// model trained on it, once per statement, inside the deleting transaction.
#include <algorithm>
#include <chrono>


#include "error.hpp"
#include "forget.hpp"
#include "interrupt.hpp"
#include "memory.hpp"
#include "model_cache.hpp"
#include "pg_memory.hpp"
#include "pg_relation.hpp"
#include "rows.hpp"
#include "source.hpp"
#include "strategy.hpp"

namespace unlearn::pg {
namespace {

// The rows of one transition table, as one model reads them.
struct Collected : StatementRows {
    MemoryReservation memory;  // held until the rows are: a shard retrain counts them
};

bool next_stored_slot(void *source, TupleTableSlot *slot) {
    return tuplestore_gettupleslot(static_cast<Tuplestorestate *>(source), true, false, slot);
}

// The rows are held three times at the peak (collected, split by shard, kept
// for the event's figures), and the lineage blocks they touch are decoded:
// at most one block (kKeysPerBlock keys, each a header and its text) per row.
double transition_bytes(const ModelMeta &m, int64 rows, int p, double key_bytes) {
    const double avg_key = rows > 0 ? key_bytes / static_cast<double>(rows) : 0;
    const double blocks = std::min<double>(static_cast<double>(rows), lineage_of(m).total_buckets());
    return rows_bytes(static_cast<double>(rows), p, key_bytes, 3) + blocks * kKeysPerBlock * (2 * avg_key + 80);
}

Collected read_transition(Tuplestorestate *store, TupleDesc desc, const ColumnPlan &plan, int p, const ModelMeta &m) {
    const PgMemoryContext scratch("pg_unlearn forget", true);
    const PgTupleSlot slot(desc, &TTSOpsMinimalTuple);
    const int64 total = pg_call([&] {
        tuplestore_rescan(store);
        return tuplestore_tuple_count(store);
    });
    Collected c;
    c.x.resize(0, p);
    RowBatch batch(p, static_cast<int>(std::min<int64>(std::max<int64>(total, 1), 4096)));
    Eigen::Index at = 0;
    while (fill_batch(plan, next_stored_slot, store, slot.get(), scratch.get(), batch) > 0) {
        if (at == 0) {  // the first batch's keys tell the key size: refuse before collecting the rest
            double key_bytes = 0;
            for (int i = 0; i < batch.rows; ++i) key_bytes += static_cast<double>(batch.keys[i].size());
            c.memory = MemoryReservation(transition_bytes(m, total, p, key_bytes * static_cast<double>(total) / batch.rows),
                                         "applying the statement's " + std::to_string(total) + " rows to model \"" +
                                             m.name + "\"",
                                         "change the rows in smaller statements");
            c.x.resize(total, p);
            c.y.resize(total);
            c.keys.reserve(static_cast<size_t>(total));
        }
        if (at + batch.rows > total) throw Error(ErrorKind::Internal, "transition table grew while read");
        c.x.middleRows(at, batch.rows) = batch.x.topRows(batch.rows);
        c.y.segment(at, batch.rows) = batch.y.head(batch.rows);
        for (int i = 0; i < batch.rows; ++i) {
            c.keys.push_back(std::move(batch.keys[i]));
            c.trainable.push_back(batch.trainable[i]);
        }
        at += batch.rows;
    }
    c.x.conservativeResize(at, Eigen::NoChange);
    c.y.conservativeResize(at);
    return c;
}

// UPDATE keeps a row's version in the model only if nothing the model reads
// changed: the key, and the feature and target values as the model sees them.
std::vector<char> changed_rows(const Collected &old_rows, const Collected &new_rows) {
    if (old_rows.keys.size() != new_rows.keys.size())
        throw Error(ErrorKind::Internal, "UPDATE transition tables differ in length");
    std::vector<char> changed(old_rows.keys.size());
    for (size_t i = 0; i < changed.size(); ++i) {
        auto r = static_cast<Eigen::Index>(i);
        changed[i] = old_rows.keys[i] != new_rows.keys[i] || old_rows.trainable[i] != new_rows.trainable[i] ||
                     (old_rows.trainable[i] && (old_rows.x.row(r) != new_rows.x.row(r) || old_rows.y(r) != new_rows.y(r)));
    }
    return changed;
}

// Changed lineage blocks written per statement by a large DELETE.
constexpr size_t kBlocksPerWrite = 512;

// Selected rows grouped by lineage bucket: keys and their row numbers.
struct Wanted {
    std::vector<std::string> keys;
    std::vector<size_t> rows;
};
std::map<int32, Wanted> by_bucket(const ModelMeta &m, const Collected &rows, const std::vector<char> &selected) {
    const LineageLayout lineage = lineage_of(m);
    std::map<int32, Wanted> wanted;
    for (size_t i = 0; i < rows.keys.size(); ++i) {
        if (!selected[i]) continue;
        Wanted &w = wanted[lineage.bucket(rows.keys[i])];
        w.keys.push_back(rows.keys[i]);
        w.rows.push_back(i);
    }
    return wanted;
}

std::vector<int32> bucket_numbers(const std::map<int32, Wanted> &wanted) {
    std::vector<int32> buckets;
    for (const auto &kv : wanted) buckets.push_back(kv.first);
    return buckets;
}

// The bucket count is chosen at training; a model that has learned many
// more rows since would rewrite ever larger blocks on each DELETE, so its
// lineage is redistributed over as many buckets as its size calls for —
// when no other writer holds the model: else a later statement does it.
void rebucket(Spi &spi, const ModelMeta &m, int64 held) {
    if (!try_lock_model_layout(spi, m)) return;
    ModelMeta grown = m;
    grown.buckets = lineage_of(m).buckets_for(held);
    const LineageLayout lineage = lineage_of(grown);
    std::map<int32, std::vector<LineageEntry>> split;
    for (const auto &kv : load_all_blocks(spi, m))
        for (const LineageEntry &e : kv.second.entries()) split[lineage.bucket(e)].push_back(e);
    BlockWrites blocks;
    for (auto &kv : split) blocks.add(kv.first, LineageBlock(std::move(kv.second)));
    delete_lineage(spi, m);
    write_encoded_blocks(spi, grown, blocks.buckets, blocks.blobs);
    write_bucket_count(spi, grown);
}

// The lineage diff of a DELETE or UPDATE: the selected rows leave lineage;
// the strategy forgets those it trained on. keep_holdout (UPDATE): rows
// whose key stays, whose holdout entry stays too (never trained on, its new
// version is as unseen as the old).
int64 forget_rows(Spi &spi, const ModelMeta &m, const Collected &rows, const std::vector<char> &selected,
                  Clock::time_point started, const std::vector<char> *keep_holdout = nullptr) {
    std::map<int32, Wanted> wanted = by_bucket(m, rows, selected);
    if (wanted.empty()) return 0;
    // changed blocks are written as they accumulate (a large DELETE's
    // would otherwise all be held encoded), always before the strategy reads
    BlockWrites changed;
    bool any_changed = false;
    std::vector<RowEntry> removed;      // the forgotten rows the model was trained on
    std::vector<Eigen::Index> trained;  // those of them whose values are at hand
    std::vector<Eigen::Index> unseen;   // deleted holdout rows: the evidence's reference when there are enough
    // most of a statement's rows were trained on: room for them all, not a
    // doubling per power of two (a 10% DELETE of a million rows moved
    // its entries 17 times)
    const int64 requested = std::count(selected.begin(), selected.end(), 1);
    removed.reserve(static_cast<size_t>(requested));
    trained.reserve(static_cast<size_t>(requested));
    lock_blocks_each(spi, m, bucket_numbers(wanted), [&](int32 bucket, LineageBlock &block) {
        check_interrupts();  // a block of lineage per turn: a million-row DELETE visits thousands
        const Wanted &w = wanted[bucket];
        std::vector<RowEntry> found = block.remove_many(w.keys, w.rows);  // keys not found: never trained on
        if (found.empty()) return;
        for (RowEntry &r : found) {
            if (r.entry.role != Role::Train) {
                if (r.entry.role == Role::Holdout && keep_holdout && (*keep_holdout)[r.row]) block.insert(r.entry);
                else if (r.entry.role == Role::Holdout && rows.trainable[r.row])
                    unseen.push_back(static_cast<Eigen::Index>(r.row));
                continue;
            }
            if (rows.trainable[r.row]) trained.push_back(static_cast<Eigen::Index>(r.row));
            removed.push_back(std::move(r));
        }
        changed.add(bucket, block);
        any_changed = true;
        if (changed.buckets.size() + changed.gone.size() >= kBlocksPerWrite) {
            write_blocks(spi, m, changed);
            changed = BlockWrites();
        }
    });
    if (!any_changed) return 0;
    const ForgettingStrategy &strategy = strategy_of(m.strategy);
    // holdout rows only: no state changed, so no figures (a no-op group impact would hide the last real one)
    const bool scored = !removed.empty() && has_event_figures(m);
    const DeletedRows forgotten = scored ? DeletedRows{rows.x(trained, Eigen::all), rows.y(trained),
                                                       rows.x(unseen, Eigen::all), rows.y(unseen)}
                                         : DeletedRows{};
    const DeletedRows *figures = scored ? &forgotten : nullptr;
    ModelChange change(spi, m, "unlearn", removed.empty() ? "holdout rows only" : strategy.forget_method(), started,
                       scored);
    change.audit.rows = static_cast<int64>(removed.size());
    change.audit.rows_requested = requested;
    if (strategy.forget_reads_lineage())
        write_blocks(spi, m, changed);  // first: a retrain reads the rows lineage holds now
    else
        change.write_blocks_with(std::move(changed));
    strategy.forget(change, rows, removed);
    change.commit(change.audit.rows, figures);
    return change.audit.rows;
}

// options.on_insert = 'learn': new rows (and new versions of updated rows)
// join the model and its lineage, in the shard (and slice) their key hashes to.
int64 learn_rows(Spi &spi, const ModelMeta &m, const Collected &rows, std::vector<char> selected,
                 Clock::time_point started) {
    const int64 requested = std::count(selected.begin(), selected.end(), 1);  // untrainable ones too
    for (size_t i = 0; i < selected.size(); ++i) selected[i] = selected[i] && rows.trainable[i];
    std::map<int32, Wanted> wanted = by_bucket(m, rows, selected);
    if (wanted.empty()) return 0;
    std::map<int32, LineageBlock> blocks = lock_blocks(spi, m, bucket_numbers(wanted), true);
    const ForgettingStrategy &strategy = strategy_of(m.strategy);
    const LineageLayout lineage = lineage_of(m);
    ModelChange change(spi, m, "learn", strategy.learn_method(), started);
    std::vector<RowEntry> added;  // rows that join the model, with their lineage entries
    for (const auto &kv : wanted) {
        check_interrupts();
        LineageBlock &block = blocks[kv.first];
        for (size_t k = 0; k < kv.second.keys.size(); ++k) {
            const std::string &key = kv.second.keys[k];
            if (block.find(key))  // already held: a key cannot be learned twice (no key in the message: logs keep it)
                throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" already holds a row being inserted",
                            "The table was changed with triggers disabled; unlearn.resync() retrains the model.");
            const Placement at = lineage.place(key);
            if (is_holdout(key, m.options.holdout, m.options.seed)) {
                block.insert(make_entry(key, at.shard, 0, Role::Holdout));  // kept out of training, like at train time
                continue;
            }
            const size_t row = kv.second.rows[k];
            if (!strategy.learns_label(change, rows.y(static_cast<Eigen::Index>(row)))) continue;
            LineageEntry entry = make_entry(key, at.shard, at.slice, Role::Train);
            block.insert(entry);
            added.push_back(RowEntry{row, std::move(entry)});
        }
    }
    change.audit.rows = static_cast<int64>(added.size());
    change.audit.rows_requested = requested;
    write_blocks(spi, m, blocks);  // first: a retrain reads the rows lineage holds now
    if (!strategy.learn(change, rows, added)) return 0;
    const int64 held = change.commit();
    if (held > 4 * static_cast<int64>(lineage_of(m).total_buckets()) * kKeysPerBlock) rebucket(spi, m, held);
    return change.audit.rows;
}

// DELETE: every row leaves the model.
int64 delete_rows(Spi &spi, const ModelMeta &m, const Collected &rows, Clock::time_point started) {
    return -forget_rows(spi, m, rows, std::vector<char>(rows.keys.size(), 1), started);
}

// INSERT: every row joins the model, if it learns new rows.
int64 insert_rows(Spi &spi, const ModelMeta &m, const Collected &rows, Clock::time_point started) {
    if (!m.options.learn_inserts) return 0;
    return learn_rows(spi, m, rows, std::vector<char>(rows.keys.size(), 1), started);
}

// UPDATE: pairs of a row's old and new versions, in the same order. A pair
// the model reads no change in stays; the old version of a changed row is
// forgotten and its new version learned when new rows are.
int64 update_rows(Spi &spi, const ModelMeta &m, const Collected &old_rows, const Collected &new_rows,
                  Clock::time_point started) {
    const std::vector<char> selected = changed_rows(old_rows, new_rows);
    std::vector<char> keep_holdout;  // UPDATE without learning: holdout rows that keep their key stay holdout
    if (!m.options.learn_inserts) {
        keep_holdout.resize(selected.size());
        for (size_t i = 0; i < selected.size(); ++i) keep_holdout[i] = selected[i] && old_rows.keys[i] == new_rows.keys[i];
    }
    int64 change = -forget_rows(spi, m, old_rows, selected, started, keep_holdout.empty() ? nullptr : &keep_holdout);
    if (m.options.learn_inserts) change += learn_rows(spi, m, new_rows, selected, Clock::now());
    return change;
}

// The rows of `rows` at the given positions, in that order.
Collected pick(const Collected &rows, const std::vector<Eigen::Index> &at) {
    Collected c;
    c.x = rows.x(at, Eigen::all);
    c.y = rows.y(at);
    for (Eigen::Index i : at) {
        c.keys.push_back(rows.keys[static_cast<size_t>(i)]);
        c.trainable.push_back(rows.trainable[static_cast<size_t>(i)]);
    }
    return c;
}

// TRUNCATE: the model keeps its layout and holds no row.
void forget_everything(Spi &spi, const ModelMeta &m, Clock::time_point started) {
    ModelChange change(spi, m, "unlearn", "truncate", started);
    const int64 held = change.held();
    delete_lineage(spi, m);
    delete_checkpoints(spi, m);
    delete_catchups(spi, m);
    strategy_of(m.strategy).reset(change);
    change.audit.rows = held;
    change.commit(held);
}

}  // namespace

int64 apply_missed_changes(Spi &spi, const ModelMeta &m, Oid relid, Tuplestorestate *removed,
                           Tuplestorestate *added) {
    const auto started = Clock::now();
    const PgRelation rel(relid, NoLock);  // locked by the caller
    const TupleDesc desc = rel.desc();
    ColumnPlan plan = plan_columns(desc, relation_name(relid), m.key_columns, m.target, m.features, &m.categories,
                                   &m.classes);
    const Collected gone = read_transition(removed, desc, plan, plan.width, m);
    const Collected came = read_transition(added, desc, plan, plan.width, m);
    // one key gone and come again: an UPDATE of that row (or several)
    std::map<std::string, Eigen::Index> came_at;
    for (size_t i = 0; i < came.keys.size(); ++i) came_at.emplace(came.keys[i], static_cast<Eigen::Index>(i));
    std::vector<Eigen::Index> old_pairs, new_pairs, gone_only, came_only;
    std::vector<char> paired(came.keys.size(), 0);
    for (size_t i = 0; i < gone.keys.size(); ++i) {
        auto it = came_at.find(gone.keys[i]);
        if (it == came_at.end()) {
            gone_only.push_back(static_cast<Eigen::Index>(i));
            continue;
        }
        old_pairs.push_back(static_cast<Eigen::Index>(i));
        new_pairs.push_back(it->second);
        paired[static_cast<size_t>(it->second)] = 1;
    }
    for (size_t i = 0; i < came.keys.size(); ++i)
        if (!paired[i]) came_only.push_back(static_cast<Eigen::Index>(i));
    int64 change = 0;
    if (!gone_only.empty()) change += delete_rows(spi, m, pick(gone, gone_only), started);
    if (!old_pairs.empty()) change += update_rows(spi, m, pick(gone, old_pairs), pick(came, new_pairs), Clock::now());
    if (!came_only.empty()) change += insert_rows(spi, m, pick(came, came_only), Clock::now());
    return change;
}

}  // namespace unlearn::pg

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_forget_rows) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(ErrorKind::FeatureNotSupported, "unlearn.forget_rows() may only be called as a trigger");
    auto *td = reinterpret_cast<TriggerData *>(fcinfo->context);
    const TriggerEvent ev = td->tg_event;
    if (!TRIGGER_FIRED_AFTER(ev))
        throw Error(ErrorKind::FeatureNotSupported, "unlearn.forget_rows() must run AFTER the change");
    if (running_owner_code())
        throw Error(ErrorKind::FeatureNotSupported,
                    "rows of " + relation_name(RelationGetRelid(td->tg_relation)) +
                        " cannot change while pg_unlearn reads a table as its owner",
                    "A policy, trigger, index expression or function of the table's owner changed rows while "
                    "pg_unlearn read them for a model's change; change data outside such code.");
    // Logical replication's apply worker fires row triggers only: the replica
    // row triggers hand their row over as a one-row transition table.
    TriggerData one_row;
    if (TRIGGER_FIRED_FOR_ROW(ev)) {
        one_row = *td;
        pg_call([&] {
            auto one = [](HeapTuple tuple) {
                Tuplestorestate *store = tuplestore_begin_heap(false, false, work_mem);
                tuplestore_puttuple(store, tuple);
                return store;
            };
            if (TRIGGER_FIRED_BY_INSERT(ev)) {
                one_row.tg_newtable = one(td->tg_trigtuple);
            } else {
                one_row.tg_oldtable = one(td->tg_trigtuple);
                if (TRIGGER_FIRED_BY_UPDATE(ev)) one_row.tg_newtable = one(td->tg_newtuple);
            }
        });
        td = &one_row;
    }
    const Oid relid = RelationGetRelid(td->tg_relation);
    const TupleDesc desc = RelationGetDescr(td->tg_relation);
    // A statement that touched no row changes no model: no lock, no work.
    const bool empty = pg_call([&] {
        return (!td->tg_oldtable || tuplestore_tuple_count(td->tg_oldtable) == 0) &&
               (!td->tg_newtable || tuplestore_tuple_count(td->tg_newtable) == 0);
    });
    if (empty && !TRIGGER_FIRED_BY_TRUNCATE(ev)) return PointerGetDatum(nullptr);
    note_local_change();
    Spi spi;
    const std::string rel_name = relation_name(relid);
    // An UPDATE of columns no model reads must not queue behind other
    // writers on the model rows: look before locking.
    if (TRIGGER_FIRED_BY_UPDATE(ev) && td->tg_oldtable && td->tg_newtable) {
        bool relevant = false;
        for (const ModelMeta &m : models_of(spi, relid, false)) {
            ColumnPlan plan = plan_columns(desc, rel_name, m.key_columns, m.target, m.features, &m.categories, &m.classes);
            const int p = plan.width;
            std::vector<char> changed = changed_rows(read_transition(td->tg_oldtable, desc, plan, p, m),
                                                     read_transition(td->tg_newtable, desc, plan, p, m));
            relevant = relevant || std::find(changed.begin(), changed.end(), 1) != changed.end();
        }
        if (!relevant) return PointerGetDatum(nullptr);
    }
    std::vector<ModelMeta> models = models_of(spi, relid, true);
    for (const ModelMeta &m : models) {
        // each model's event times its own work, not the models before it
        const auto started = Clock::now();
        if (TRIGGER_FIRED_BY_TRUNCATE(ev)) {
            // TRUNCATE of one partition leaves the others' rows: their values
            // are gone, so the model is retrained from what remains
            if (m.relation != relid)
                resync_or_drop(spi, m);
            else
                forget_everything(spi, m, started);
            continue;
        }
        ColumnPlan plan = plan_columns(desc, rel_name, m.key_columns, m.target, m.features, &m.categories, &m.classes);
        const int p = plan.width;
        const bool needs_old = !TRIGGER_FIRED_BY_INSERT(ev);
        const bool needs_new = TRIGGER_FIRED_BY_INSERT(ev) || (TRIGGER_FIRED_BY_UPDATE(ev) && m.options.learn_inserts);
        if ((needs_old && !td->tg_oldtable) || ((needs_new || TRIGGER_FIRED_BY_UPDATE(ev)) && !td->tg_newtable))
            throw Error(ErrorKind::FeatureNotSupported,
                        "unlearn.forget_rows() needs the transition tables unlearn.install_triggers() declares");
        if (TRIGGER_FIRED_BY_INSERT(ev)) {
            if (m.options.learn_inserts) insert_rows(spi, m, read_transition(td->tg_newtable, desc, plan, p, m), started);
            continue;
        }
        Collected old_rows = read_transition(td->tg_oldtable, desc, plan, p, m);
        if (TRIGGER_FIRED_BY_UPDATE(ev))
            update_rows(spi, m, old_rows, read_transition(td->tg_newtable, desc, plan, p, m), started);
        else
            delete_rows(spi, m, old_rows, started);
    }
    return PointerGetDatum(nullptr);
}
