#include "fetch.hpp"

#include "error.hpp"
#include "source.hpp"

namespace unlearn::pg {

namespace {
struct SpiTuples {
    SPITupleTable *table;
    uint64 rows;
    uint64 at;
};
bool next_spi_slot(void *source, TupleTableSlot *slot) {
    auto *t = static_cast<SpiTuples *>(source);
    if (t->at >= t->rows) return false;
    ExecStoreHeapTuple(t->table->vals[t->at++], slot, false);
    return true;
}

}  // namespace

std::string select_by_key(const ModelMeta &m, const std::string &columns, Oid *key_type) {
    if (m.key_columns.size() != 1) throw Error(ErrorKind::Internal, "rows are read by key only for a one-column key");
    // PostgreSQL's strings are made inside pg_call and joined outside it, so
    // that an error longjmps over no C++ object
    Oid base = InvalidOid;
    const char *relation = nullptr, *type_name = nullptr;
    pg_call([&] {
        const AttrNumber att = get_attnum(m.relation, m.key_columns[0].c_str());
        base = getBaseType(get_atttype(m.relation, att));
        relation = quote_qualified_identifier(get_namespace_name(get_rel_namespace(m.relation)), get_rel_name(m.relation));
        type_name = format_type_be(get_atttype(m.relation, att));
    });
    if (key_type) *key_type = base;
    return "SELECT " + columns + " FROM " + relation + " WHERE " + quoted(m.key_columns[0]) + " = ANY($1::text[]::" +
           type_name + "[])";
}

void fetch_by_key(Spi &spi, const ModelMeta &m, const std::vector<std::string> &wanted,
                  const std::function<void(const RowBatch &)> &on_batch) {
    std::string columns = quoted(m.key_columns.at(0)) + ", " + quoted(m.target);
    for (const auto &f : m.features) columns += ", " + quoted(f);
    Oid key_type = InvalidOid;
    std::string sql = select_by_key(m, columns, &key_type);
    // integer keys (the common case) skip the text-to-key cast of every element
    const bool integer = key_type == INT8OID || key_type == INT4OID || key_type == INT2OID;
    std::vector<std::string> keys;
    std::vector<int64> ints;
    for (const auto &k : wanted) {
        if (integer) ints.push_back(std::stoll(k));
        else keys.push_back(k);
    }
    if (integer) sql.replace(sql.rfind("$1::text[]::"), std::string("$1::text[]::").size(), "$1::int8[]::");
    SpiResult r = spi.exec_as_owner(m.relation, sql, {integer ? int8_array_param(ints) : text_array_param(keys)});
    SpiTuples src{r.table(), r.rows(), 0};
    TupleTableSlot *slot = nullptr;
    MemoryContext scratch = nullptr;
    pg_call([&] {
        scratch = AllocSetContextCreate(CurrentMemoryContext, "pg_unlearn shard rows", ALLOCSET_DEFAULT_SIZES);
        slot = MakeSingleTupleTableSlot(src.table->tupdesc, &TTSOpsHeapTuple);
    });
    ColumnPlan plan = plan_columns(src.table->tupdesc, relation_name(m.relation), m.key_columns, m.target, m.features,
                                   &m.categories);
    RowBatch batch(plan.width, 4096);
    while (fill_batch(plan, next_spi_slot, &src, slot, scratch, batch) > 0) on_batch(batch);
    pg_call([&] {
        ExecDropSingleTupleTableSlot(slot);
        MemoryContextDelete(scratch);
    });
}

}  // namespace unlearn::pg
