#include "strategy.hpp"

#include <cmath>

#include "error.hpp"

namespace unlearn::pg {

double max_rel_diff(const Vector &a, const Vector &b) {
    if (a.size() != b.size()) return INFINITY;
    if (a.size() == 0) return 0.0;
    double scale = std::max(b.cwiseAbs().maxCoeff(), 1e-300);
    return (a - b).cwiseAbs().maxCoeff() / scale;
}

std::map<int32, std::vector<Eigen::Index>> rows_by_shard(const ModelMeta &m, const StatementRows &rows,
                                                         const std::vector<RowEntry> &removed) {
    std::map<int32, std::vector<Eigen::Index>> out;
    for (const RowEntry &r : removed) {
        if (!rows.trainable[r.row] || r.entry.shard >= m.shards)
            throw Error(ErrorKind::CorruptState,
                        "model \"" + m.name + "\" holds a row whose values no longer match its lineage",
                        "The table was changed with triggers disabled; drop and retrain the model.");
        out[r.entry.shard].push_back(static_cast<Eigen::Index>(r.row));
    }
    return out;
}

// Each strategy's file defines its accessor; this is the only place that
// names them.
const ForgettingStrategy &incremental_strategy();
const ForgettingStrategy &sisa_strategy();
const ForgettingStrategy &certified_strategy();
const ForgettingStrategy &dare_strategy();

const ForgettingStrategy &strategy_of(Strategy s) {
    switch (s) {
        case Strategy::Incremental: return incremental_strategy();
        case Strategy::Sisa: return sisa_strategy();
        case Strategy::Certified: return certified_strategy();
        case Strategy::Dare: return dare_strategy();
    }
    throw Error(ErrorKind::Internal, "unknown strategy code");
}

}  // namespace unlearn::pg
