#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "error.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

AttackFigures threshold_attack(const std::vector<double> &member_scores, const std::vector<double> &nonmember_scores) {
    if (member_scores.empty() || nonmember_scores.empty())
        throw Error(ErrorKind::InvalidParameter, "a membership attack needs both members and non-members",
                    "Train with options.holdout (e.g. 0.2) to keep rows out of training.");
    AttackFigures f;
    f.members = static_cast<int64_t>(member_scores.size());
    f.nonmembers = static_cast<int64_t>(nonmember_scores.size());
    // one sweep over all scores, highest first: each distinct score is a threshold
    std::vector<std::pair<double, bool>> all;
    all.reserve(member_scores.size() + nonmember_scores.size());
    for (double s : member_scores) all.emplace_back(std::isnan(s) ? -INFINITY : s, true);
    for (double s : nonmember_scores) all.emplace_back(std::isnan(s) ? -INFINITY : s, false);
    std::sort(all.begin(), all.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    const double m = static_cast<double>(f.members), n = static_cast<double>(f.nonmembers);
    double tp = 0, fp = 0, area = 0;
    f.roc.emplace_back(0.0, 0.0);
    for (size_t i = 0; i < all.size();) {
        double dtp = 0, dfp = 0;
        size_t j = i;
        for (; j < all.size() && all[j].first == all[i].first; ++j) (all[j].second ? dtp : dfp) += 1;
        area += dfp * (tp + dtp / 2);  // non-members at this score: members above, half the tied ones
        tp += dtp;
        fp += dfp;
        if (fp / n <= 0.01) f.tpr_at_1pct_fpr = std::max(f.tpr_at_1pct_fpr, tp / m);
        f.advantage = std::max(f.advantage, tp / m - fp / n);
        i = j;
        const auto &last = f.roc.back();
        if (j == all.size() || fp / n - last.first >= 0.005 || tp / m - last.second >= 0.005) f.roc.emplace_back(fp / n, tp / m);
    }
    f.auc = area / (m * n);
    return f;
}

}  // namespace unlearn
