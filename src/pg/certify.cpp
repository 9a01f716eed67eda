#include "certify.hpp"

#include "error.hpp"
#include "evidence.hpp"
#include "sisa.hpp"

namespace unlearn::pg {

std::vector<int> binary_labels(const ClassLabels &classes, const Vector &y) {
    std::vector<int> out;
    out.reserve(static_cast<size_t>(y.size()));
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        const int c = classes.index(y(i));
        if (c < 0) throw Error(ErrorKind::CorruptState, "a certified model holds a row of a class it does not know");
        out.push_back(c);
    }
    return out;
}

void certified_retrain(Spi &spi, const ModelMeta &m, const std::set<int32> &shards, std::vector<ShardState> &states) {
    if (shards.empty()) return;
    const ClassLabels classes = std::get<CertifiedShard>(states.at(0)).classes;
    ShardSet rows = read_shards(spi, m, classes, shards);
    if (rows.missing != 0)
        throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" holds rows its table no longer has",
                    "The table was changed with triggers disabled; unlearn.resync('" + m.name + "') retrains the model.");
    const CertifiedOptions o = certified_options(m.options);
    for (int32 s : shards) {
        auto &shard = std::get<CertifiedShard>(states.at(static_cast<size_t>(s)));
        const ShardRows &r = rows.shards[s];
        const int64 retrains = shard.state.retrains + 1;
        shard.state = r.y.empty() ? certified_empty(width(m) + 1, retrains)  // every row of the shard left
                                  : certified_refit(r.x, r.y, o, s);
        shard.state.retrains = retrains;
    }
}

std::string certified_forget(Spi &spi, const ModelMeta &m, const std::map<int32, std::vector<Eigen::Index>> &by_shard,
                             const RowMatrix &x, const Vector &y, std::vector<ShardState> &states, std::string *method) {
    const CertifiedOptions o = certified_options(m.options);
    if (by_shard.empty()) {  // only holdout rows left: no shard changes
        *method = "holdout rows only";
        return "\"path\": \"none\"";
    }
    std::set<int32> over;
    double before = 0, reached = 0;  // reached: the largest bound a step led to, before any retrain
    for (const auto &kv : by_shard) {
        auto &shard = std::get<CertifiedShard>(states.at(static_cast<size_t>(kv.first)));
        if (shard.state.rows == 0) continue;
        const CertifiedRemoval r =
            certified_remove(shard.state, x(kv.second, Eigen::all), binary_labels(shard.classes, y(kv.second)), o);
        before = std::max(before, r.bound_before);
        reached = std::max(reached, r.bound_after);
        if (r.over_budget) over.insert(kv.first);
    }
    certified_retrain(spi, m, over, states);
    double after = 0;  // the largest bound of a touched shard, after its step or its retrain
    for (const auto &kv : by_shard)
        after = std::max(after, std::get<CertifiedShard>(states.at(static_cast<size_t>(kv.first))).state.bound);
    *method = over.empty() ? "newton step" : "newton step, shard retrain (budget spent)";
    std::string out = std::string("\"path\": \"") + (over.empty() ? "newton" : "retrain") +
                      "\", \"bound_before\": " + json_number(before) + ", \"bound_after\": " + json_number(after) +
                      ", \"budget\": " + json_number(certified_budget(o)) +
                      ", \"shards_retrained\": " + std::to_string(over.size());
    // why the shard was retrained: what the bound would have become (null: no step was possible)
    if (!over.empty()) out += ", \"bound_reached\": " + json_number(reached);
    return out;
}

}  // namespace unlearn::pg
