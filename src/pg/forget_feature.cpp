// unlearn.forget_feature: a model stops using a column. Summation-form
// statistics drop the feature's sums exactly, without reading the table;
// SISA shards train again without it.
#include <algorithm>
#include <chrono>

#include "args.hpp"
#include "catalog.hpp"
#include "error.hpp"
#include "model_cache.hpp"
#include "certify.hpp"
#include "sisa.hpp"

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_forget_feature) {
    const auto started = std::chrono::steady_clock::now();
    const std::string name = text_arg(fcinfo, 0, "model name");
    const std::string feature = text_arg(fcinfo, 1, "feature");
    Spi spi;
    // lock the model row: a concurrent DELETE must not write a state with the old layout
    spi.exec("SELECT 1 FROM unlearn.models WHERE name = $1 FOR UPDATE", {text_param(name)});
    ModelMeta m = load_model(spi, name);
    auto it = std::find(m.features.begin(), m.features.end(), feature);
    if (it == m.features.end())
        throw Error(ErrorKind::UndefinedColumn, "model \"" + name + "\" has no feature \"" + feature + "\"",
                    "unlearn.models.features lists the features the model uses.");
    if (m.features.size() == 1)
        throw Error(ErrorKind::InvalidParameter, "cannot forget \"" + feature + "\", the only feature of model \"" + name + "\"",
                    "Drop the model with unlearn.drop_model instead.");
    // the feature's columns: one, or one per category of a categorical feature
    int first = 0;
    for (auto f = m.features.begin(); f != it; ++f) {
        auto c = m.categories.find(*f);
        first += c == m.categories.end() ? 1 : static_cast<int>(c->second.size());
    }
    auto cat = m.categories.find(feature);
    const int count = cat == m.categories.end() ? 1 : static_cast<int>(cat->second.size());

    std::vector<ShardState> states = load_states(spi, m);
    AuditEvent audit;
    audit.hash_before = state_hash(m, states);
    const bool sisa = m.strategy == Strategy::Sisa, certified = m.strategy == Strategy::Certified;
    if (!sisa && !certified) {
        for (auto &s : states)
            for (int j = first + count - 1; j >= first; --j) drop_feature(s, j);
    }
    m.features.erase(it);
    if (cat != m.categories.end()) {
        m.categories.erase(cat);
        spi.exec("DELETE FROM unlearn.vocabulary WHERE model_id = $1 AND feature = $2",
                 {int4_param(m.id), text_param(feature)});
    }
    for (int32 s = 0; s < m.shards; ++s) audit.shards.push_back(s);
    spi.exec("UPDATE unlearn.models SET features = $2 WHERE model_id = $1",
             {int4_param(m.id), text_array_param(m.features)});
    if (sisa) {
        // no summation form to drop a statistic from: every shard trains
        // again from its first slice, reading the table without the column
        std::map<int32, int32> from;
        for (int32 s : audit.shards) from[s] = 0;
        retrain_shards(spi, m, from, states);
    } else if (certified) {
        certified_retrain(spi, m, std::set<int32>(audit.shards.begin(), audit.shards.end()), states);
        write_states(spi, m, states, audit.shards);
    } else {
        // a feature set that the remaining rows cannot fit is refused before the state is written
        (void)fit_meta(m, states);
        write_states(spi, m, states, audit.shards);
    }
    int64 held = 0;
    for (const auto &st : states) held += state_rows(st);
    touch_model(spi, m, held, 0);
    audit.event = "forget_feature";
    audit.method = sisa || certified ? "shard retrain" : "drop statistic";
    audit.rows = held;
    audit.hash_after = state_hash(m, states);
    audit.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    write_audit(spi, m, audit);
    note_local_change();
    PG_RETURN_VOID();
}
