#include "fetch.hpp"

#include <optional>

#include "error.hpp"
#include "pg_memory.hpp"
#include "pg_relation.hpp"
#include "pg_snapshot.hpp"
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

std::string select_by_key(const ModelMeta &m, const std::string &columns, KeyColumn *key) {
    if (m.key_columns.size() != 1) throw Error(ErrorKind::Internal, "rows are read by key only for a one-column key");
    // PostgreSQL's strings are made inside pg_call and joined outside it, so
    // that an error longjmps over no C++ object
    // a table dropped since the caller's snapshot read the model (the
    // background worker's catch-up) has no name: an error, not a null
    const char *relation = nullptr;
    pg_call([&] {
        const char *schema = get_namespace_name(get_rel_namespace(m.relation));
        const char *table = get_rel_name(m.relation);
        if (schema && table) relation = quote_qualified_identifier(schema, table);
    });
    if (!relation)
        throw Error(ErrorKind::UndefinedObject, "the table of model \"" + m.name + "\" no longer exists",
                    "The model was trained on a table dropped since; unlearn.drop_model('" + m.name + "') drops it too.");
    *key = key_columns(m.relation, m.key_columns).at(0);
    return "SELECT " + columns + " FROM " + relation + " WHERE " + quoted(m.key_columns[0]) +
           " OPERATOR(pg_catalog.=) ANY($1)";
}

void fetch_by_key(Spi &spi, const ModelMeta &m, const std::vector<std::string> &wanted,
                  const std::function<void(const RowBatch &)> &on_batch) {
    std::string columns = quoted(m.key_columns.at(0)) + ", " + quoted(m.target);
    for (const auto &f : m.features) columns += ", " + quoted(f);
    KeyColumn key;
    const std::string sql = select_by_key(m, columns, &key);
    std::optional<SpiOneSnapshot> as_of;  // the table as a model's change reads it (TableAsOf)
    if (table_as_of) as_of.emplace(table_as_of);
    SpiResult r = spi.exec_as_owner(m.relation, sql, {key_array_param(key, wanted)});
    as_of.reset();
    SpiTuples src{r.table(), r.rows(), 0};
    const PgMemoryContext scratch("pg_unlearn shard rows");
    const PgTupleSlot slot(src.table->tupdesc, &TTSOpsHeapTuple);
    ColumnPlan plan = plan_columns(src.table->tupdesc, relation_name(m.relation), m.key_columns, m.target, m.features,
                                   &m.categories, &m.classes);
    RowBatch batch(plan.width, 4096);
    while (fill_batch(plan, next_spi_slot, &src, slot.get(), scratch.get(), batch) > 0) on_batch(batch);
}

}  // namespace unlearn::pg
