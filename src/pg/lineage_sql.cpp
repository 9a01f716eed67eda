// What lineage tells about rows: unlearn.trained_on (is a row in the model?)
// and the rows behind the unlearn.lineage view.
#include <algorithm>

#include "args.hpp"
#include "error.hpp"
#include "key_codec.hpp"
#include "pg_memory.hpp"
#include "source.hpp"
#include "strategy.hpp"

using namespace unlearn;
using namespace unlearn::pg;

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
    // Keys are the table's: none for a reader who may not read the model
    // (no error, so that the unlearn.lineage view over every model still
    // lists the models the reader may see), nor for a model gone. The
    // reader is the current user: the function is not SECURITY DEFINER,
    // since the session's user (GetOuterUserId) is not the one calling when
    // another role's code calls it (a SECURITY DEFINER function, an index
    // expression run by ANALYZE or autovacuum). Once the reader's right is
    // checked, the model and its blocks are read as the extension's owner,
    // so the reader needs no SELECT on unlearn.lineage_blocks.
    std::map<int32, LineageBlock> blocks;
    bool shown = false;
    {
        // only the extension's own reads in this scope: the keys are shown
        // (their types' output functions) after it
        const SpiReadsAsExtension as_extension;
        const std::optional<ModelReaders> readers = model_readers(spi, m.id);
        shown = readers && may_read_model(GetUserId(), *readers) && model_source(spi, m.id, &relation, &key_names);
        if (shown) blocks = load_all_blocks(spi, m);
    }
    if (shown) {
        try {
            cols = key_columns(relation, key_names);
        } catch (const Error &) {  // a key column dropped or retyped since: keys show as bytes
        }
    }
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
