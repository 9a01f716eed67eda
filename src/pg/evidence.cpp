#include "evidence.hpp"

#include <cstdio>

#include "fetch.hpp"
#include "metrics.hpp"

namespace unlearn::pg {
namespace {

constexpr int64 kHoldoutBlocks = 16;  // about 800 holdout rows at holdout 0.2: enough for an AUC, cheap to fetch

std::vector<std::string> holdout_sample(Spi &spi, const ModelMeta &m) {
    SpiResult r = spi.exec(
        "SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 ORDER BY bucket LIMIT $2",
        {int4_param(m.id), int8_param(kHoldoutBlocks)});
    std::vector<std::string> keys;
    for (uint64 i = 0; i < r.rows(); ++i) {
        std::vector<uint8_t> blob = r.bytes(i, 2);
        const LineageBlock block = LineageBlock::decode(blob.data(), blob.size());
        for (const auto &e : block.entries())
            if (e.role == Role::Holdout) keys.push_back(e.key);
    }
    return keys;
}

}  // namespace

std::string forgetting_evidence(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &after, const RowMatrix &x,
                                const Vector &y) {
    if (!(m.options.holdout > 0) || m.key_columns.size() != 1 || x.rows() == 0) return "";
    std::vector<std::string> keys = holdout_sample(spi, m);
    if (keys.empty()) return "";
    FittedModel fit = fit_meta(m, after);
    if (fit.rows() == 0) return "";
    std::vector<double> forgotten, unseen;
    for (Eigen::Index i = 0; i < x.rows(); ++i) forgotten.push_back(-fit.loss(x.row(i).transpose(), y(i)));
    fetch_by_key(spi, m, keys, [&](const RowBatch &b) {
        for (int i = 0; i < b.rows; ++i)
            if (b.trainable[i]) unseen.push_back(-fit.loss(b.x.row(i).transpose(), b.y(i)));
    });
    if (unseen.empty()) return "";
    const AttackFigures f = threshold_attack(forgotten, unseen);
    char json[160];
    snprintf(json, sizeof(json), "\"evidence_auc\": %.17g, \"evidence_forgotten\": %lld, \"evidence_unseen\": %lld", f.auc,
             static_cast<long long>(f.members), static_cast<long long>(f.nonmembers));
    return json;
}

}  // namespace unlearn::pg
