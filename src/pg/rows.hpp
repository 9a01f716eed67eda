// Reading training rows out of tuples: the columns a model uses, resolved
// by name against a tuple descriptor, and a batch filler that turns slots into
// a feature matrix, a target vector and key texts without one query per row.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "guard.hpp"
#include "linear_stats.hpp"

namespace unlearn::pg {

// Categorical features: for each text or enum feature, its categories in
// byte order. A categorical feature occupies one indicator column per category.
using Categories = std::map<std::string, std::vector<std::string>>;
bool is_category_type(Oid type);
// The type's output function: keys and categories are compared in text form.
FmgrInfo output_function(Oid type);

struct ColumnPlan {
    std::vector<AttrNumber> key_att;
    std::vector<FmgrInfo> key_out;
    std::vector<Oid> key_type;  // integer keys skip the fmgr call: same text as int8out
    std::vector<AttrNumber> feature_att;
    std::vector<Oid> feature_type;
    std::vector<int> feature_slot;                             // first column in the expanded row
    std::vector<const std::vector<std::string> *> feature_vocab;  // categorical features only
    std::vector<FmgrInfo> feature_out;
    int width = 0;
    AttrNumber target_att = InvalidAttrNumber;
    Oid target_type = InvalidOid;
    AttrNumber max_att = 0;
};

// Errors name the relation and column; rel_name is only for messages.
// categories must outlive the plan: it points into them.
ColumnPlan plan_columns(TupleDesc desc, const std::string &rel_name, const std::vector<std::string> &keys,
                        const std::string &target, const std::vector<std::string> &features,
                        const Categories *categories = nullptr);

// Rows whose feature or target is NULL, NaN, infinite or beyond ±1e100 are
// not trainable: they are skipped and counted, and never enter lineage.
struct RowBatch {
    explicit RowBatch(int features, int capacity);
    RowMatrix x;
    Vector y;
    std::vector<std::string> keys;
    std::vector<char> trainable;
    int rows = 0;
    int capacity() const { return static_cast<int>(x.rows()); }
    // the trainable rows packed at the top of x and y
    RowMatrix trainable_x() const;
    Vector trainable_y() const;
};

using NextSlot = bool (*)(void *source, TupleTableSlot *slot);

// Fills up to batch.x.rows() rows from next(); returns how many (0 at the end).
int fill_batch(const ColumnPlan &plan, NextSlot next, void *source, TupleTableSlot *slot, MemoryContext scratch,
               RowBatch &batch);

// Scans a heap relation under the active snapshot; calls on_batch per batch.
template <typename OnBatch>
void scan_relation(Relation rel, const ColumnPlan &plan, int features, OnBatch on_batch);

// implementation detail of scan_relation
struct HeapSource {
    TableScanDesc scan;
};
bool next_heap_slot(void *source, TupleTableSlot *slot);

template <typename OnBatch>
void scan_relation(Relation rel, const ColumnPlan &plan, int features, OnBatch on_batch) {
    HeapSource src{};
    TupleTableSlot *slot = nullptr;
    MemoryContext scratch = nullptr;
    pg_call([&] {
        scratch = AllocSetContextCreate(CurrentMemoryContext, "pg_unlearn scan", ALLOCSET_DEFAULT_SIZES);
        slot = table_slot_create(rel, nullptr);
        src.scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
    });
    RowBatch batch(features, 4096);
    // A heap scan restarts when asked again after its end: stop at a short batch.
    for (int n = batch.capacity(); n == batch.capacity();) {
        n = fill_batch(plan, next_heap_slot, &src, slot, scratch, batch);
        if (n > 0) on_batch(batch);
    }
    pg_call([&] {
        table_endscan(src.scan);
        ExecDropSingleTupleTableSlot(slot);
        MemoryContextDelete(scratch);
    });
}

// The relations holding a source's rows: the table itself, or every leaf
// partition of a partitioned table (each with its own column numbers).
std::vector<Oid> leaf_relations(Oid relid);
std::string relation_label(Oid relid);

// Scans a source, partitioned or not, resolving the columns by name in each
// relation that holds its rows.
template <typename OnBatch>
void scan_source(Oid relid, const std::vector<std::string> &keys, const std::string &target,
                 const std::vector<std::string> &features, const Categories *categories, OnBatch on_batch) {
    for (Oid leaf : leaf_relations(relid)) {
        Relation rel = pg_call([&] { return table_open(leaf, AccessShareLock); });
        ColumnPlan plan = plan_columns(RelationGetDescr(rel), relation_label(leaf), keys, target, features, categories);
        scan_relation(rel, plan, plan.width, on_batch);
        pg_call([&] { table_close(rel, AccessShareLock); });
    }
}

}  // namespace unlearn::pg
