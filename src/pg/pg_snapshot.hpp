// The active snapshot as a C++ object: pushed when made, popped when the
// scope ends (an ERROR's abort would pop it too; unwinding a C++ exception
// pops it first). Destructors never throw and never longjmp.
#pragma once

#include "guard.hpp"

namespace unlearn::pg {

// The snapshot a model's change reads its table with, when not the latest
// (TableAsOf sets it): nullptr, the latest.
inline Snapshot table_as_of = nullptr;

// While one lives, a model's change reads its table (PgActiveSnapshot::
// of_table, and the rows fetched by key) as of the given snapshot, which the
// caller keeps registered: training's catch-up rounds apply the changes made
// up to a snapshot, and a subtree or shard they retrain must see the table
// as it was then, not changes a later round will apply.
class TableAsOf {
public:
    explicit TableAsOf(Snapshot snapshot) : outer_(table_as_of) { table_as_of = snapshot; }
    ~TableAsOf() { table_as_of = outer_; }
    TableAsOf(const TableAsOf &) = delete;
    TableAsOf &operator=(const TableAsOf &) = delete;

private:
    Snapshot outer_;
};

class PgActiveSnapshot {
public:
    // What has committed by now: a fresh snapshot, not the transaction's.
    // see_own_changes: first make the command's own changes visible (inside
    // a trigger the statement's snapshot still shows the rows it deleted).
    static PgActiveSnapshot latest(bool see_own_changes = false) { return PgActiveSnapshot(see_own_changes); }
    // The table as a model's change reads it: latest(true), or as of
    // TableAsOf's snapshot (with the transaction's own changes since).
    static PgActiveSnapshot of_table() {
        return table_as_of ? PgActiveSnapshot(table_as_of, Copied{}) : PgActiveSnapshot(true);
    }
    // A snapshot the caller keeps registered (PgRegisteredSnapshot).
    static PgActiveSnapshot of(Snapshot snapshot) { return PgActiveSnapshot(snapshot); }
    ~PgActiveSnapshot() {
        if (!pushed_) return;
        pg_release([] { PopActiveSnapshot(); });  // an abort releases it otherwise
    }
    PgActiveSnapshot(PgActiveSnapshot &&o) noexcept : pushed_(o.pushed_) { o.pushed_ = false; }
    PgActiveSnapshot(const PgActiveSnapshot &) = delete;
    PgActiveSnapshot &operator=(const PgActiveSnapshot &) = delete;
    PgActiveSnapshot &operator=(PgActiveSnapshot &&) = delete;

private:
    explicit PgActiveSnapshot(Snapshot snapshot) {
        pg_call([&] { PushActiveSnapshot(snapshot); });
        pushed_ = true;
    }
    struct Copied {};
    PgActiveSnapshot(Snapshot snapshot, Copied) {
        pg_call([&] {
            CommandCounterIncrement();
            PushCopiedSnapshot(snapshot);
            UpdateActiveSnapshotCommandId();
        });
        pushed_ = true;
    }
    explicit PgActiveSnapshot(bool see_own_changes) {
        pg_call([&] {
            if (see_own_changes) CommandCounterIncrement();
            PushActiveSnapshot(GetLatestSnapshot());
        });
        pushed_ = true;
    }
    bool pushed_ = false;
};

// What has committed by now, kept registered for the scope: it keeps the row
// versions it sees from being pruned, so that they can be compared with a
// later snapshot's.
class PgRegisteredSnapshot {
public:
    PgRegisteredSnapshot() { snapshot_ = pg_call([] { return RegisterSnapshot(GetLatestSnapshot()); }); }
    // The transaction's snapshot under REPEATABLE READ, a new one under READ COMMITTED.
    struct Transaction {};
    explicit PgRegisteredSnapshot(Transaction) {
        snapshot_ = pg_call([] { return RegisterSnapshot(GetTransactionSnapshot()); });
    }
    ~PgRegisteredSnapshot() {
        pg_release([&] { UnregisterSnapshot(snapshot_); });  // an abort releases it otherwise
    }
    PgRegisteredSnapshot(const PgRegisteredSnapshot &) = delete;
    PgRegisteredSnapshot &operator=(const PgRegisteredSnapshot &) = delete;
    Snapshot get() const { return snapshot_; }

private:
    Snapshot snapshot_ = nullptr;
};

}  // namespace unlearn::pg
