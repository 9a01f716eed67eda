// Evidence that a model holds what lineage says and nothing else:
// unlearn.verify (each strategy retrains from scratch and compares),
// unlearn.trained_on and the rows behind the unlearn.lineage view.
#include <cmath>

#include "args.hpp"
#include "error.hpp"
#include "key_codec.hpp"
#include "pg_memory.hpp"
#include "source.hpp"
#include "strategy.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace {

// Lineage names rows by the primary key the model was trained with. When the
// table lost it (or it moved to other columns), keys may repeat and no retrain
// can be matched row for row: verify reports a failed check instead of failing.
bool key_is_primary(Spi &spi, const ModelMeta &m) {
    SpiResult pk = spi.exec(
        "SELECT a.attname::text FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisprimary "
        "AND a.attrelid = i.indrelid ORDER BY k.ord",
        {oid_param(m.relation)});
    std::vector<std::string> keys;
    for (uint64 i = 0; i < pk.rows(); ++i) keys.push_back(pk.str(i, 1));
    return keys == m.key_columns;
}

}  // namespace

UNLEARN_FUNCTION(unlearn_verify) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    ModelMeta m = load_model(spi, name);
    const std::vector<Check> checks = key_is_primary(spi, m) ? strategy_of(m.strategy).verify(spi, m)
                                                             : std::vector<Check>{{"source_primary_key_missing", 1, 0}};
    const PgMemoryContextSwitch to_caller(spi.outer());
    pg_call([&] {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        for (const auto &c : checks) {
            Datum values[4] = {CStringGetTextDatum(c.name.c_str()), Float8GetDatum(c.value), Float8GetDatum(c.tolerance),
                               BoolGetDatum(std::fabs(c.value) <= c.tolerance)};
            bool nulls[4] = {false, false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return static_cast<Datum>(0);
}

// trained_on(model, key text) and trained_on(model, key anyelement): the key
// is parsed (or taken) as the key column's base type, as the caller (these
// functions are not SECURITY DEFINER), and looked up by its encoding.
UNLEARN_FUNCTION(unlearn_trained_on) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    require_arg(fcinfo, 1, "key");
    const Oid type = pg_call([&] { return get_fn_expr_argtype(fcinfo->flinfo, 1); });
    if (type == InvalidOid) throw Error(ErrorKind::Internal, "unlearn.trained_on: cannot determine the key's type");
    Spi spi;
    ModelMeta m = load_model(spi, name);
    require_select(m.relation, m.key_columns, "trained_on tells whether a row is in the table: GRANT SELECT on its key.");
    const std::string key = key_from_datum(key_columns(m.relation, m.key_columns), type, PG_GETARG_DATUM(1));
    auto blocks = load_blocks(spi, m, {lineage_of(m).bucket(key)});
    bool held = false;
    for (const auto &kv : blocks)
        if (const LineageEntry *e = kv.second.find(key)) held = e->role == Role::Train;
    return BoolGetDatum(held);
}

// (key, shard, slice, role) of every row a model's lineage holds; the key
// rendered by its type's output function in the reader's session (display
// only: lineage identifies it by its stored value).
UNLEARN_FUNCTION(unlearn_lineage_entries) {
    require_arg(fcinfo, 0, "model id");
    ModelMeta m;
    m.id = PG_GETARG_INT32(0);
    Spi spi;
    Oid relation = InvalidOid;
    std::vector<std::string> key_names;
    std::vector<KeyColumn> cols;
    if (model_source(spi, m.id, &relation, &key_names)) {
        try {
            cols = key_columns(relation, key_names);
        } catch (const Error &) {  // a key column dropped or retyped since: keys show as bytes
        }
    }
    auto blocks = load_all_blocks(spi, m);
    const PgMemoryContextSwitch to_caller(spi.outer());
    pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (const auto &kv : blocks)
        for (const auto &e : kv.second.entries()) {
            const std::string key = key_display(cols, e.key);
            pg_call([&] {
                Datum values[4] = {PointerGetDatum(cstring_to_text_with_len(key.data(), static_cast<int>(key.size()))),
                                   Int32GetDatum(e.shard), Int32GetDatum(e.slice),
                                   CStringGetTextDatum(e.role == Role::Train ? "train" : "holdout")};
                bool nulls[4] = {false, false, false, false};
                tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            });
        }
    return static_cast<Datum>(0);
}
