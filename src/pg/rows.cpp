#include "rows.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>


#include "error.hpp"
#include "classifier.hpp"
#include "lineage.hpp"

namespace unlearn::pg {

bool is_numeric_type(Oid base_type) {
    switch (base_type) {
        case INT2OID: case INT4OID: case INT8OID: case FLOAT4OID: case FLOAT8OID: case NUMERICOID: case BOOLOID:
            return true;
        default:
            return false;
    }
}

namespace {

constexpr const char *kNumericHint =
    "Targets must be smallint, integer, bigint, real, double precision, numeric or boolean "
    "(a classifier's may also be text or enum); "
    "features may also be text or enum (categorical).";

AttrNumber find_column(TupleDesc desc, const std::string &rel_name, const std::string &name, Oid *type) {
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (!a->attisdropped && name == NameStr(a->attname)) {
            *type = pg_call([&] { return getBaseType(a->atttypid); });
            return a->attnum;
        }
    }
    throw Error(ErrorKind::UndefinedColumn, "column \"" + name + "\" of relation \"" + rel_name + "\" does not exist",
                "Column names are case-sensitive; pass them as they appear in \\d.");
}

// Called inside pg_call: plain C data only, nothing with a destructor.
// type is one is_numeric_type accepts.
double datum_to_double(Datum d, Oid type) {
    switch (type) {
        case INT2OID: return DatumGetInt16(d);
        case INT4OID: return DatumGetInt32(d);
        case INT8OID: return static_cast<double>(DatumGetInt64(d));
        case FLOAT4OID: return DatumGetFloat4(d);
        case FLOAT8OID: return DatumGetFloat8(d);
        case BOOLOID: return DatumGetBool(d) ? 1.0 : 0.0;
        case NUMERICOID: return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
    }
    elog(ERROR, "unexpected type %u", type);
    return 0;
}

// Squares and cross-products of the statistics must stay finite, or one row
// would silently poison a model: beyond 1e100 a value is skipped like NaN.
constexpr double kMaxMagnitude = 1e100;
bool usable(double v) { return std::isfinite(v) && std::fabs(v) <= kMaxMagnitude; }

// A value of a row whose column type differs from the one the model was
// trained on (text for an enum, or another enum): the category of the same
// label. Plain C, inside pg_call.
CategoryRef matching_category(bool row_enum, Datum d, Oid model_enum, char (&code)[16]) {
    const char *label;
    if (row_enum) {
        HeapTuple tup = SearchSysCache1(ENUMOID, d);
        if (!HeapTupleIsValid(tup)) return {"", 0};
        label = pstrdup(NameStr(reinterpret_cast<Form_pg_enum>(GETSTRUCT(tup))->enumlabel));
        ReleaseSysCache(tup);
    } else {
        label = TextDatumGetCString(d);
    }
    if (model_enum == InvalidOid) return {label, strlen(label)};  // the model's categories are text
    HeapTuple tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(model_enum), CStringGetDatum(label));
    if (!HeapTupleIsValid(tup)) return {"", 0};  // no such label: an unseen category
    const int n = snprintf(code, sizeof(code), "%u", reinterpret_cast<Form_pg_enum>(GETSTRUCT(tup))->oid);
    ReleaseSysCache(tup);
    return {code, static_cast<size_t>(n)};
}

// The position of a category in a byte-ordered vocabulary, or -1.
std::ptrdiff_t category_index(const std::vector<std::string> &vocab, CategoryRef c) {
    const std::string_view v(c.data, c.len);
    auto it = std::lower_bound(vocab.begin(), vocab.end(), v,
                               [](const std::string &a, std::string_view b) { return a.compare(0, a.size(), b.data(), b.size()) < 0; });
    return it != vocab.end() && std::string_view(*it) == v ? it - vocab.begin() : -1;
}

// Appends a feature to the layout: it takes the next width columns.
void place(FeatureLayout &layout, FeatureColumn column) {
    column.slot = layout.width;
    layout.width += column.vocab ? static_cast<int>(column.vocab->size()) : 1;
    layout.max_att = std::max(layout.max_att, column.att);
    layout.features.push_back(column);
}

}  // namespace

bool decode_features(const FeatureLayout &layout, Decode mode, const Datum *values, const bool *isnull, double *x) {
    const bool training = mode == Decode::Training;
    char code[16];
    for (const FeatureColumn &f : layout.features) {
        const int i = f.att - 1;
        double *at = x + f.slot;
        if (f.vocab) {
            // one indicator per category; a category the model never saw (or
            // has forgotten) sets none, and is not trainable
            std::fill(at, at + f.vocab->size(), 0.0);
            if (isnull[i]) return false;
            const CategoryRef c = f.by_label ? matching_category(f.row_enum, values[i], f.model_enum, code)
                                             : category_ref(f.row_enum, values[i], code);
            const std::ptrdiff_t k = category_index(*f.vocab, c);
            if (k >= 0)
                at[k] = 1.0;
            else if (training)
                return false;
            continue;
        }
        if (isnull[i]) return false;
        *at = datum_to_double(values[i], f.type);
        if (training && !usable(*at)) return false;
    }
    return true;
}

FeatureLayout record_layout(TupleDesc desc, const std::string &model, Oid relid, const std::vector<std::string> &features,
                            const Categories &categories) {
    FeatureLayout layout;
    for (const auto &name : features) {
        FeatureColumn c;
        for (int i = 0; i < desc->natts && c.att == InvalidAttrNumber; ++i) {
            Form_pg_attribute a = TupleDescAttr(desc, i);
            if (!a->attisdropped && name == NameStr(a->attname)) {
                c.att = static_cast<AttrNumber>(i + 1);
                c.type = pg_call([&] { return getBaseType(a->atttypid); });
            }
        }
        if (c.att == InvalidAttrNumber)
            throw Error(ErrorKind::UndefinedColumn, "row has no column \"" + name + "\" needed by model \"" + model + "\"");
        auto cat = categories.find(name);
        if (cat != categories.end()) {
            // its value is read as text or an enum label: any other type is refused
            if (!is_category_type(c.type))
                throw Error(ErrorKind::WrongObjectType, "column \"" + name +
                                                            "\" of the row is not text or an enum, but the model treats it as categorical");
            c.vocab = &cat->second;
            // the model's categories are of the source column's type: enum
            // label OIDs, or text
            const Oid trained = pg_call([&] {
                const AttrNumber a = get_attnum(relid, name.c_str());
                return a == InvalidAttrNumber ? InvalidOid : getBaseType(get_atttype(relid, a));
            });
            c.row_enum = pg_call([&] { return type_is_enum(c.type); });
            c.model_enum = trained != InvalidOid && pg_call([&] { return type_is_enum(trained); }) ? trained : InvalidOid;
            c.by_label = c.row_enum != (c.model_enum != InvalidOid) || (c.row_enum && c.type != c.model_enum);
        } else if (!is_numeric_type(c.type)) {
            throw Error(ErrorKind::WrongObjectType, "column \"" + name + "\" of the row is not numeric");
        }
        place(layout, c);
    }
    return layout;
}

bool is_category_type(Oid type) {
    return type == TEXTOID || type == VARCHAROID || type == BPCHAROID || pg_call([&] { return type_is_enum(type); });
}

CategoryRef category_ref(bool is_enum, Datum value, char (&buf)[16]) {
    if (is_enum) {
        const int n = snprintf(buf, sizeof(buf), "%u", DatumGetObjectId(value));
        return {buf, static_cast<size_t>(n)};
    }
    // detoasted copies live in the caller's (scratch) memory context
    struct varlena *v = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(value)));
    return {VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)};
}

std::string category_label(Oid base_type, const std::string &category) {
    if (!pg_call([&] { return type_is_enum(base_type); })) return category;
    const char *label = pg_call([&]() -> const char * {
        char *end = nullptr;
        const unsigned long oid = strtoul(category.c_str(), &end, 10);
        if (category.empty() || *end != '\0') return nullptr;
        HeapTuple tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(static_cast<Oid>(oid)));
        if (!HeapTupleIsValid(tup)) return nullptr;
        char *name = pstrdup(NameStr(reinterpret_cast<Form_pg_enum>(GETSTRUCT(tup))->enumlabel));
        ReleaseSysCache(tup);
        return name;
    });
    return label ? std::string(label) : category;
}

Categories distinct_categories(Oid relid, const std::vector<std::string> &features, size_t max_categories) {
    std::vector<std::string> names;
    std::vector<char> enums;
    for (const auto &f : features) {
        Oid base = pg_call([&] {
            const AttrNumber att = get_attnum(relid, f.c_str());
            return att == InvalidAttrNumber ? InvalidOid : getBaseType(get_atttype(relid, att));
        });
        if (base == InvalidOid || !is_category_type(base)) continue;
        names.push_back(f);
        enums.push_back(pg_call([&] { return type_is_enum(base); }));
    }
    if (names.empty()) return {};
    std::vector<std::set<std::string>> seen(names.size());
    const std::string *too_many = nullptr;
    for (Oid leaf : leaf_relations(relid)) {
        // columns by name: a partition may number them differently
        std::vector<AttrNumber> att(names.size());
        AttrNumber max_att = 0;
        for (size_t j = 0; j < names.size(); ++j) {
            att[j] = pg_call([&] { return get_attnum(leaf, names[j].c_str()); });
            if (att[j] == InvalidAttrNumber)
                throw Error(ErrorKind::UndefinedColumn, "column \"" + names[j] + "\" of relation " + relation_label(leaf) +
                                                            " does not exist");
            max_att = std::max(max_att, att[j]);
        }
        pg_call([&] {
            Relation rel = table_open(leaf, AccessShareLock);
            TupleTableSlot *slot = table_slot_create(rel, nullptr);
            TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
            MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "pg_unlearn categories", ALLOCSET_DEFAULT_SIZES);
            MemoryContext old = MemoryContextSwitchTo(scratch);
            char buf[16];
            for (uint64 row = 1; !too_many && table_scan_getnextslot(scan, ForwardScanDirection, slot); ++row) {
                CHECK_FOR_INTERRUPTS();
                slot_getsomeattrs(slot, max_att);
                for (size_t j = 0; j < names.size(); ++j) {
                    if (slot->tts_isnull[att[j] - 1]) continue;
                    const CategoryRef c = category_ref(enums[j], slot->tts_values[att[j] - 1], buf);
                    seen[j].emplace(c.data, c.len);
                    if (seen[j].size() > max_categories) too_many = &names[j];
                }
                if (row % 4096 == 0) MemoryContextReset(scratch);
            }
            MemoryContextSwitchTo(old);
            MemoryContextDelete(scratch);
            table_endscan(scan);
            ExecDropSingleTupleTableSlot(slot);
            table_close(rel, AccessShareLock);
        });
        if (too_many)
            throw Error(ErrorKind::DataException,
                        "feature \"" + *too_many + "\" has more than " + std::to_string(max_categories) + " categories",
                        "One-hot encoding that many categories would make the model as large as the data.");
    }
    Categories out;
    for (size_t j = 0; j < names.size(); ++j) out[names[j]] = std::vector<std::string>(seen[j].begin(), seen[j].end());
    return out;
}

ClassList distinct_classes(Oid relid, const std::string &target) {
    // read up to a feature's limit of categories, then refused by the
    // classifiers' one rule, with its message
    Categories found = distinct_categories(relid, {target}, 1000);
    auto it = found.find(target);
    if (it == found.end()) return {};
    check_class_count(it->second.size());
    return std::move(it->second);
}

ColumnPlan plan_columns(TupleDesc desc, const std::string &rel_name, const std::vector<std::string> &keys,
                        const std::string &target, const std::vector<std::string> &features,
                        const Categories *categories, const ClassList *classes) {
    ColumnPlan plan;
    auto not_numeric = [&](const std::string &name) {
        return Error(ErrorKind::WrongObjectType,
                     "column \"" + name + "\" of relation \"" + rel_name + "\" is not numeric", kNumericHint);
    };
    for (const auto &k : keys) {
        Oid type;
        AttrNumber att = find_column(desc, rel_name, k, &type);
        plan.key_att.push_back(att);
        plan.max_att = std::max(plan.max_att, att);
        plan.key_cols.push_back(key_column(TupleDescAttr(desc, att - 1)->atttypid, k, rel_name));
    }
    for (const auto &f : features) {
        FeatureColumn c;
        c.att = find_column(desc, rel_name, f, &c.type);
        if (is_category_type(c.type)) {
            auto it = categories ? categories->find(f) : Categories::const_iterator();
            if (!categories || it == categories->end())
                throw Error(ErrorKind::WrongObjectType,
                            "column \"" + f + "\" of relation \"" + rel_name + "\" is text, but the model treats it as numeric",
                            "Retrain the model: unlearn.resync() reads the column as categorical.");
            c.vocab = &it->second;
            c.row_enum = pg_call([&] { return type_is_enum(c.type); });
        } else if (!is_numeric_type(c.type)) {
            throw not_numeric(f);
        }
        place(plan, c);
    }
    plan.target_att = find_column(desc, rel_name, target, &plan.target_type);
    if (is_category_type(plan.target_type) && classes && !classes->empty()) {
        plan.target_classes = classes;
        plan.target_enum = pg_call([&] { return type_is_enum(plan.target_type); });
    } else if (!is_numeric_type(plan.target_type)) {
        throw not_numeric(target);
    } else if (classes && !classes->empty()) {
        throw Error(ErrorKind::WrongObjectType,
                    "column \"" + target + "\" of relation \"" + rel_name + "\" is numeric, but the model's classes are text",
                    "Retrain the model: unlearn.resync() reads the column's classes again.");
    }
    plan.max_att = std::max(plan.max_att, plan.target_att);
    return plan;
}

RowBatch::RowBatch(int features, int capacity)
    // x zeroed: a row that cannot be trained on may leave values unset, and
    // a forest's row filter reads every row of a batch
    : x(RowMatrix::Zero(capacity, features)), y(capacity), keys(static_cast<size_t>(capacity)),
      trainable(static_cast<size_t>(capacity)) {}

RowMatrix RowBatch::trainable_x() const {
    RowMatrix out(x.rows(), x.cols());
    Eigen::Index n = 0;
    for (int i = 0; i < rows; ++i)
        if (trainable[i]) out.row(n++) = x.row(i);
    out.conservativeResize(n, Eigen::NoChange);
    return out;
}

Vector RowBatch::trainable_y() const {
    Vector out(rows);
    Eigen::Index n = 0;
    for (int i = 0; i < rows; ++i)
        if (trainable[i]) out(n++) = y(i);
    out.conservativeResize(n);
    return out;
}

int fill_batch(const ColumnPlan &plan, NextSlot next, void *source, TupleTableSlot *slot, MemoryContext scratch,
               RowBatch &batch) {
    const int capacity = static_cast<int>(batch.x.rows());
    const size_t nkeys = plan.key_att.size();
    batch.rows = 0;
    pg_call([&] {
        char code[16];
        // the slot may own a tuple allocated in scratch (a tuplestore read
        // back from disk hands out palloc'd copies): release it first
        ExecClearTuple(slot);
        MemoryContextReset(scratch);
        MemoryContext old = MemoryContextSwitchTo(scratch);
        int n = 0;
        while (n < capacity && next(source, slot)) {
            CHECK_FOR_INTERRUPTS();
            slot_getsomeattrs(slot, plan.max_att);
            std::string &key = batch.keys[n];
            key.clear();
            for (size_t k = 0; k < nkeys; ++k) {
                const int i = plan.key_att[k] - 1;
                if (slot->tts_isnull[i]) elog(ERROR, "a primary key column is NULL");
                append_key_part(key, plan.key_cols[k], slot->tts_values[i], nkeys > 1);
            }
            bool ok = decode_features(plan, Decode::Training, slot->tts_values, slot->tts_isnull, batch.x.row(n).data());
            int t = plan.target_att - 1;
            ok = ok && !slot->tts_isnull[t];
            if (ok && plan.target_classes) {
                // a label by its stored value, never a rendering a setting changes
                const std::ptrdiff_t k =
                    category_index(*plan.target_classes, category_ref(plan.target_enum, slot->tts_values[t], code));
                ok = k >= 0;
                batch.y(n) = static_cast<double>(k);
            } else if (ok) {
                batch.y(n) = datum_to_double(slot->tts_values[t], plan.target_type);
            }
            batch.trainable[n] = ok && usable(batch.y(n));
            ++n;
        }
        MemoryContextSwitchTo(old);
        batch.rows = n;
    });
    return batch.rows;
}

std::vector<Oid> leaf_relations(Oid relid) {
    std::vector<Oid> leaves;
    bool foreign = false;
    pg_call([&] {
        List *all = find_all_inheritors(relid, AccessShareLock, nullptr);
        ListCell *lc;
        foreach (lc, all) {
            char kind = get_rel_relkind(lfirst_oid(lc));
            if (kind == RELKIND_RELATION) leaves.push_back(lfirst_oid(lc));
            foreign = foreign || kind == RELKIND_FOREIGN_TABLE;
        }
    });
    if (foreign)
        throw Error(ErrorKind::FeatureNotSupported, "a partition of the source is a foreign table",
                    "Rows deleted on a remote server never reach a trigger here; train on local partitions only.");
    return leaves;
}

std::string relation_label(Oid relid) {
    return pg_call([&] {
        const char *n = get_rel_name(relid);
        return std::string(n ? quote_identifier(n) : "?");
    });
}

bool next_heap_slot(void *source, TupleTableSlot *slot) {
    return table_scan_getnextslot(static_cast<HeapSource *>(source)->scan, ForwardScanDirection, slot);
}

}  // namespace unlearn::pg
