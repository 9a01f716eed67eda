// Privacy figures computed from per-row losses: the loss-threshold
// membership-inference attack (Yeom et al., 2018). Members (rows trained on)
// tend to have lower loss than non-members; an attacker who guesses
// "member" below a threshold is judged by the whole ROC curve.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace unlearn {

struct AttackFigures {
    double auc = 0.5;             // P(score(member) > score(non-member)), ties count one half
    double tpr_at_1pct_fpr = 0;   // members caught while at most 1% of non-members are accused
    double advantage = 0;         // max over thresholds of TPR - FPR
    int64_t members = 0, nonmembers = 0;
    // the ROC curve, (FPR, TPR) from (0, 0) to (1, 1), one point per
    // distinct score, thinned to steps of at least 1/200 on either axis
    std::vector<std::pair<double, double>> roc;
};

// Scores: higher means "more likely a member" (the negated loss). Throws
// InvalidParameter when either side is empty.
AttackFigures threshold_attack(const std::vector<double> &member_scores, const std::vector<double> &nonmember_scores);

}  // namespace unlearn
