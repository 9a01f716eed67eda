// Relations and tuple slots as C++ objects (pg_duckdb's pg/relations style):
// opened when made, closed when the scope ends. Destructors never throw and
// never longjmp.
#pragma once

#include "guard.hpp"

namespace unlearn::pg {

class PgRelation {
public:
    PgRelation(Oid relid, LOCKMODE lock) : lock_(lock) { rel_ = pg_call([&] { return table_open(relid, lock); }); }
    ~PgRelation() {
        pg_release([&] { table_close(rel_, lock_); });  // an abort releases it otherwise
    }
    PgRelation(const PgRelation &) = delete;
    PgRelation &operator=(const PgRelation &) = delete;
    Relation get() const { return rel_; }
    TupleDesc desc() const { return RelationGetDescr(rel_); }

private:
    Relation rel_ = nullptr;
    LOCKMODE lock_;
};

// A standalone slot of the given descriptor: ops &TTSOpsMinimalTuple for a
// tuplestore's tuples (a trigger's transition table), &TTSOpsHeapTuple for SPI's.
class PgTupleSlot {
public:
    PgTupleSlot(TupleDesc desc, const TupleTableSlotOps *ops) {
        slot_ = pg_call([&] { return MakeSingleTupleTableSlot(desc, ops); });
    }
    ~PgTupleSlot() {
        pg_release([&] { ExecDropSingleTupleTableSlot(slot_); });  // an abort releases it otherwise
    }
    PgTupleSlot(const PgTupleSlot &) = delete;
    PgTupleSlot &operator=(const PgTupleSlot &) = delete;
    TupleTableSlot *get() const { return slot_; }

private:
    TupleTableSlot *slot_ = nullptr;
};

}  // namespace unlearn::pg
