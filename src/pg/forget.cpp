// The trigger that makes a table's DELETE, UPDATE and TRUNCATE reach every
// model trained on it, once per statement, inside the deleting transaction.
#include <chrono>


#include "catalog.hpp"
#include "error.hpp"
#include "model_cache.hpp"
#include "rows.hpp"
#include "source.hpp"

namespace unlearn::pg {
namespace {

using Clock = std::chrono::steady_clock;

// The rows of one transition table, as one model reads them.
struct Collected {
    std::vector<std::string> keys;
    RowMatrix x;
    Vector y;
    std::vector<char> trainable;
};

bool next_stored_slot(void *source, TupleTableSlot *slot) {
    return tuplestore_gettupleslot(static_cast<Tuplestorestate *>(source), true, false, slot);
}

Collected read_transition(Tuplestorestate *store, TupleDesc desc, const ColumnPlan &plan, int p) {
    TupleTableSlot *slot = nullptr;
    MemoryContext scratch = nullptr;
    int64 total = 0;
    pg_call([&] {
        scratch = AllocSetContextCreate(CurrentMemoryContext, "pg_unlearn forget", ALLOCSET_SMALL_SIZES);
        slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
        tuplestore_rescan(store);
        total = tuplestore_tuple_count(store);
    });
    Collected c;
    c.x.resize(total, p);
    c.y.resize(total);
    c.keys.reserve(static_cast<size_t>(total));
    RowBatch batch(p, static_cast<int>(std::min<int64>(std::max<int64>(total, 1), 4096)));
    Eigen::Index at = 0;
    while (fill_batch(plan, next_stored_slot, store, slot, scratch, batch) > 0) {
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
    pg_call([&] {
        ExecDropSingleTupleTableSlot(slot);
        MemoryContextDelete(scratch);
    });
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

void forget_rows(Spi &spi, const ModelMeta &m, const Collected &rows, const std::vector<char> &selected,
                 Clock::time_point started) {
    // 1. lineage: which of these rows does the model hold, and in which shard
    struct Wanted {
        std::vector<std::string> keys;
        std::vector<size_t> rows;
    };
    std::map<int32, Wanted> wanted;
    for (size_t i = 0; i < rows.keys.size(); ++i) {
        if (!selected[i]) continue;
        Wanted &w = wanted[bucket_of(rows.keys[i], m.buckets)];
        w.keys.push_back(rows.keys[i]);
        w.rows.push_back(i);
    }
    if (wanted.empty()) return;
    std::vector<int32> buckets;
    for (const auto &kv : wanted) buckets.push_back(kv.first);
    std::map<int32, LineageBlock> blocks = load_blocks(spi, m, buckets);
    std::vector<std::vector<Eigen::Index>> by_shard(static_cast<size_t>(m.shards));
    int64 forgotten = 0;
    std::map<int32, LineageBlock> changed;
    for (auto &kv : blocks) {
        const Wanted &w = wanted[kv.first];
        std::vector<Removal> found = kv.second.remove_many(w.keys, w.rows);  // keys not found: never trained on
        if (found.empty()) continue;
        for (const Removal &r : found) {
            if (r.entry.role != Role::Train) continue;
            if (!rows.trainable[r.row] || r.entry.shard >= m.shards)
                throw Error(ErrorKind::CorruptState,
                            "model \"" + m.name + "\" holds a row whose values no longer match its lineage",
                            "The table was changed with triggers disabled; drop and retrain the model.");
            by_shard[static_cast<size_t>(r.entry.shard)].push_back(static_cast<Eigen::Index>(r.row));
            ++forgotten;
        }
        changed.emplace(kv.first, std::move(kv.second));
    }
    if (changed.empty()) return;

    // 2. state: subtract the rows' terms from each shard they were in
    std::vector<ShardState> states = load_states(spi, m);
    AuditEvent audit;
    audit.hash_before = state_hash(m, states);
    for (size_t s = 0; s < by_shard.size(); ++s) {
        if (by_shard[s].empty()) continue;
        RowMatrix x = rows.x(by_shard[s], Eigen::all);
        Vector y = rows.y(by_shard[s]);
        add_rows(states[s], x, y, -1);
        audit.shards.push_back(static_cast<int32>(s));
    }
    int64 held = 0;
    for (const auto &st : states) held += state_rows(st);

    write_blocks(spi, m, changed);
    if (!audit.shards.empty()) write_states(spi, m, states, audit.shards);
    touch_model(spi, m, held, forgotten);

    audit.event = "unlearn";
    audit.method = "decrement";
    audit.rows = forgotten;
    audit.hash_after = state_hash(m, states);
    audit.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    write_audit(spi, m, audit);
}

void forget_everything(Spi &spi, const ModelMeta &m, Clock::time_point started) {
    std::vector<ShardState> states = load_states(spi, m);
    AuditEvent audit;
    audit.hash_before = state_hash(m, states);
    int64 held = 0;
    for (size_t s = 0; s < states.size(); ++s) {
        held += state_rows(states[s]);
        // keep the layout, drop every sum: the same state a train on no rows would have
        std::visit([](auto &st) { st = std::decay_t<decltype(st)>(st.features(), st.shift()); }, states[s]);
        audit.shards.push_back(static_cast<int32>(s));
    }
    spi.exec("DELETE FROM unlearn.lineage_blocks WHERE model_id = $1", {int4_param(m.id)});
    write_states(spi, m, states, audit.shards);
    touch_model(spi, m, 0, held);
    audit.event = "unlearn";
    audit.method = "truncate";
    audit.rows = held;
    audit.hash_after = state_hash(m, states);
    audit.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    write_audit(spi, m, audit);
}

}  // namespace
}  // namespace unlearn::pg

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_forget_rows) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(ErrorKind::FeatureNotSupported, "unlearn.forget_rows() may only be called as a trigger");
    auto *td = reinterpret_cast<TriggerData *>(fcinfo->context);
    const TriggerEvent ev = td->tg_event;
    if (!TRIGGER_FIRED_FOR_STATEMENT(ev) || !TRIGGER_FIRED_AFTER(ev))
        throw Error(ErrorKind::FeatureNotSupported, "unlearn.forget_rows() must run AFTER ... FOR EACH STATEMENT");
    const auto started = Clock::now();
    const Oid relid = RelationGetRelid(td->tg_relation);
    const TupleDesc desc = RelationGetDescr(td->tg_relation);
    note_local_change();
    Spi spi;
    std::vector<ModelMeta> models = lock_models_of(spi, relid);
    const std::string rel_name = relation_name(relid);
    for (const ModelMeta &m : models) {
        if (TRIGGER_FIRED_BY_TRUNCATE(ev)) {
            forget_everything(spi, m, started);
            continue;
        }
        if (!td->tg_oldtable)
            throw Error(ErrorKind::FeatureNotSupported, "unlearn.forget_rows() needs REFERENCING OLD TABLE");
        const int p = static_cast<int>(m.features.size());
        ColumnPlan plan = plan_columns(desc, rel_name, m.key_columns, m.target, m.features);
        Collected old_rows = read_transition(td->tg_oldtable, desc, plan, p);
        std::vector<char> selected(old_rows.keys.size(), 1);
        if (TRIGGER_FIRED_BY_UPDATE(ev)) {
            if (!td->tg_newtable)
                throw Error(ErrorKind::FeatureNotSupported, "unlearn.forget_rows() needs REFERENCING NEW TABLE on UPDATE");
            selected = changed_rows(old_rows, read_transition(td->tg_newtable, desc, plan, p));
        }
        forget_rows(spi, m, old_rows, selected, started);
    }
    return PointerGetDatum(nullptr);
}
