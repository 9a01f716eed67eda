// Reading training rows out of tuples: the columns a model uses, resolved
// by name against a tuple descriptor, and a batch filler that turns slots into
// a feature matrix, a target vector and encoded keys without one query per row.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "guard.hpp"
#include "key_codec.hpp"
#include "linear_stats.hpp"
#include "progress.hpp"

namespace unlearn::pg {

// Categorical features: for each text or enum feature, its categories in
// byte order. A categorical feature occupies one indicator column per category.
// A category is identified by its stored value, never by an output function
// or cast: a text category by its bytes, an enum category by its label's OID
// in decimal (so ALTER TYPE ... RENAME VALUE keeps it).
using Categories = std::map<std::string, std::vector<std::string>>;
bool is_category_type(Oid type);
struct CategoryRef {
    const char *data;
    size_t len;
};
// The category of a non-NULL value; buf holds an enum's code. Plain C: call
// inside pg_call. is_enum: the column's base type is an enum.
CategoryRef category_ref(bool is_enum, Datum value, char (&buf)[16]);
// What a category is called now (an enum's current label), for display.
std::string category_label(Oid base_type, const std::string &category);
// The categories of each categorical feature of relid (and its leaf
// partitions), read in binary under the active snapshot; more than
// max_categories of one feature is refused.
Categories distinct_categories(Oid relid, const std::vector<std::string> &features, size_t max_categories);

// A classifier's text or enum target: its classes as categories are
// identified (a text label by its bytes, an enum label by its OID in
// decimal), in byte order, fixed at training. A row's label reaches the
// model as its position in this list; a label outside it is not trainable.
using ClassList = std::vector<std::string>;

// A classifier's classes when its target is text or an enum: the target's
// distinct values, read in binary like categories; empty for a numeric
// target. More than kMaxClassLabels is refused as check_class_count does.
ClassList distinct_classes(Oid relid, const std::string &target);

// The row decoder: how a model's features sit in one row type, resolved by
// column name once, and how one row's values become a row of the feature
// matrix. Training, forgetting, learning, verify and predict all read rows
// through it, so a value means the same thing on every path.

// The types a target or a numeric feature may have (after domains): the one
// list, also named in the error hint below.
bool is_numeric_type(Oid base_type);

struct FeatureColumn {
    AttrNumber att = InvalidAttrNumber;  // in the row, 1-based
    Oid type = InvalidOid;               // the row column's base type
    int slot = 0;                        // first column in the expanded row
    const std::vector<std::string> *vocab = nullptr;  // categorical features only
    bool row_enum = false;                            // categorical: the row's column is an enum
    // categorical, predict only: the row's column is not of the type the
    // model was trained on (text for an enum, another enum), so its value is
    // matched by label against model_enum (0: the model's categories are text)
    bool by_label = false;
    Oid model_enum = InvalidOid;
};

struct FeatureLayout {
    std::vector<FeatureColumn> features;
    int width = 0;             // of the expanded row: one column per numeric feature, one per category
    AttrNumber max_att = 0;    // the last attribute to deform
};

// What a decoded row is for. Training: a NULL, a category the model does not
// know, or a value that is NaN, infinite or beyond ±1e100 makes the row not
// trainable. Prediction: only a NULL stops (the prediction is NULL); an
// unknown category sets no indicator, and values are checked by the caller.
enum class Decode { Training, Prediction };

// Decodes one row's features (values and isnull indexed by attribute number
// - 1) into x[0, width); false at the first feature that stops it (see
// Decode). Plain C: call inside pg_call, in a memory context that may take
// detoasted copies.
bool decode_features(const FeatureLayout &layout, Decode mode, const Datum *values, const bool *isnull, double *x);

// The layout of a model's features in a row passed to predict: errors name
// the model; categorical features are matched to the model's categories by
// label when the row's type differs from the one trained on (relid's column).
FeatureLayout record_layout(TupleDesc desc, const std::string &model, Oid relid,
                            const std::vector<std::string> &features, const Categories &categories);

// A source's columns: the features (as above), the key and the target.
struct ColumnPlan : FeatureLayout {
    std::vector<AttrNumber> key_att;
    std::vector<KeyColumn> key_cols;  // lineage identity: see key_codec.hpp
    AttrNumber target_att = InvalidAttrNumber;
    Oid target_type = InvalidOid;
    const ClassList *target_classes = nullptr;  // a text or enum target
    bool target_enum = false;
};

// Errors name the relation and column; rel_name is only for messages.
// categories and classes must outlive the plan: it points into them. A text
// or enum target needs its classes (a model trained on a numeric target
// refuses one).
ColumnPlan plan_columns(TupleDesc desc, const std::string &rel_name, const std::vector<std::string> &keys,
                        const std::string &target, const std::vector<std::string> &features,
                        const Categories *categories = nullptr, const ClassList *classes = nullptr);

// Rows whose feature or target is NULL, NaN, infinite or beyond ±1e100 are
// not trainable: they are skipped and counted, and never enter lineage.
struct RowBatch {
    explicit RowBatch(int features, int capacity);
    RowMatrix x;
    Vector y;
    std::vector<std::string> keys;  // encoded (key_codec.hpp)
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
        progress_rows_read(n);
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
                 const std::vector<std::string> &features, const Categories *categories, const ClassList *classes,
                 OnBatch on_batch) {
    for (Oid leaf : leaf_relations(relid)) {
        Relation rel = pg_call([&] { return table_open(leaf, AccessShareLock); });
        ColumnPlan plan =
            plan_columns(RelationGetDescr(rel), relation_label(leaf), keys, target, features, categories, classes);
        scan_relation(rel, plan, plan.width, on_batch);
        pg_call([&] { table_close(rel, AccessShareLock); });
    }
}

}  // namespace unlearn::pg
