// unlearn.verify: evidence that a model holds what lineage says and nothing
// else. Each strategy retrains from the table and compares (its verify);
// this file checks the key and returns the checks as a set.
#include <cmath>

#include "args.hpp"
#include "pg_memory.hpp"
#include "pg_snapshot.hpp"
#include "progress.hpp"
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
    // one moment: a catch-up or a writer that commits between two reads
    // must not make the served state and its retrain disagree
    const PgRegisteredSnapshot moment(PgRegisteredSnapshot::Transaction{});
    const PgActiveSnapshot reading = PgActiveSnapshot::of(moment.get());
    const SpiOneSnapshot one(moment.get());
    ModelMeta m = load_model(spi, name);
    const ProgressScope progress(m.name, "verify", m.shards);
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
