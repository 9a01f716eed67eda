// What a training's scan missed: one pass over every row version of the
// table (changed_versions.cpp: all-visible pages skipped), each tested
// against the snapshot applied so far (at first the scan's) and against one
// taken now. A version visible to the first only left the table meanwhile;
// one visible to the second only came.
// Values are read from the stored tuples, in binary, as a trigger's
// transition table holds them: no user-defined code runs.
#include <algorithm>
#include <chrono>
#include <thread>

#include "changed_versions.hpp"
#include "error.hpp"
#include "forget.hpp"
#include "interrupt.hpp"
#include "missed_changes.hpp"
#include "pg_relation.hpp"
#include "pg_snapshot.hpp"
#include "rows.hpp"
#include "source.hpp"

namespace unlearn::pg {
namespace {

// The relation and its partitions, parents first, as `seen_by` sees them:
// a partition whose DETACH ... CONCURRENTLY it sees is none (as the scan saw).
std::vector<Oid> relation_tree(Oid relation, Snapshot seen_by) {
    const PgActiveSnapshot seeing = PgActiveSnapshot::of(seen_by);
    std::vector<Oid> out;
    pg_call([&] {
        List *all = find_all_inheritors(relation, NoLock, nullptr);
        ListCell *lc;
        foreach (lc, all) out.push_back(lfirst_oid(lc));
        list_free(all);
    });
    return out;
}

bool try_lock_all(const std::vector<Oid> &rels) {
    return pg_call([&] {
        size_t got = 0;
        while (got < rels.size() && ConditionalLockRelationOid(rels[got], ShareRowExclusiveLock)) ++got;
        if (got == rels.size()) return true;
        while (got > 0) UnlockRelationOid(rels[--got], ShareRowExclusiveLock);
        return false;
    });
}

// Rounds of changes applied while writers go on, and how few changed row
// versions end them early: the last round's, applied with writers locked
// out, is what they wait for.
constexpr int kUnlockedRounds = 3;
constexpr int64 kFewChanges = 256;

}  // namespace

void lock_out_writers(Oid relation, Snapshot scanned) {
    const std::vector<Oid> rels = relation_tree(relation, scanned);
    const auto queue_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(kQueueAfterMs);
    int pause_ms = 1;
    while (!try_lock_all(rels)) {
        if (std::chrono::steady_clock::now() >= queue_at) {
            pg_call([&] {
                for (Oid r : rels) LockRelationOid(r, ShareRowExclusiveLock);
            });
            break;
        }
        check_interrupts();
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
        pause_ms = std::min(pause_ms * 2, 20);
    }
    // A partition attached while the locks were let go between tries: with
    // the parent locked no other can come, and writers of this one wait too.
    const PgRegisteredSnapshot now;
    const std::vector<Oid> tree = relation_tree(relation, now.get());
    pg_call([&] {
        for (Oid r : tree)
            if (std::find(rels.begin(), rels.end(), r) == rels.end()) LockRelationOid(r, ShareRowExclusiveLock);
    });
}

MissedChanges::Round MissedChanges::apply_round(Spi &spi, const ModelMeta &m) {
    auto now = std::make_unique<PgRegisteredSnapshot>();
    const Snapshot from = caught_up_ ? caught_up_->get() : scanned_;
    const Snapshot to = now->get();
    // A partition detached since `from` took its rows out of the table
    // without a DELETE (train's SHARE UPDATE EXCLUSIVE makes DETACH ...
    // CONCURRENTLY wait; this is the check that it did).
    const std::vector<Oid> tree = relation_tree(m.relation, to);
    for (Oid relid : relation_tree(m.relation, from))
        if (std::find(tree.begin(), tree.end(), relid) == tree.end())
            throw Error(ErrorKind::SerializationFailure,
                        "partition " + relation_label(relid) + " was detached from " + relation_name(m.relation) +
                            " while model \"" + m.name + "\" trained",
                        "Train again: the model would hold the rows the partition took away.");
    Round applied;
    for (Oid relid : tree) {
        if (pg_call([&] { return get_rel_relkind(relid); }) != RELKIND_RELATION) continue;
        ChangedVersions versions;
        versions.collect(relid, from, to);
        const int64 changed = versions.count();
        applied.versions += changed;
        // what a retrain of a subtree or shard reads is the table as of
        // `to`: changes after it are the next round's
        const TableAsOf as_of(to);
        if (changed > 0) applied.held += apply_missed_changes(spi, m, relid, versions.removed(), versions.added());
    }
    caught_up_ = std::move(now);
    return applied;
}

int64 MissedChanges::apply_while_writers_go_on(Spi &spi, const ModelMeta &m) {
    int64 held = 0;
    for (int round = 0; round < kUnlockedRounds; ++round) {
        const Round r = apply_round(spi, m);
        held += r.held;
        if (r.versions < kFewChanges) break;
    }
    return held;
}

int64 MissedChanges::apply_rest(Spi &spi, const ModelMeta &m) { return apply_round(spi, m).held; }

}  // namespace unlearn::pg
