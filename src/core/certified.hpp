// Certified removal (Guo, Goldstein, Hannun, van der Maaten, ICML 2020) for
// two-class logistic regression. Training minimises
//     L(θ) = Σ log-loss + (λ/2)‖w‖² + bᵀθ,   θ = [w; intercept],
// with b drawn from N(0, σ²) per coordinate (seeded, per shard). Removing
// rows R is one Newton step θ ← θ + Ĥ⁻¹Δ, Δ = Σ_R ∇ℓ_i(θ), with Ĥ the Hessian
// of the rows at θ₀ (the last exact optimum), kept up to date by subtracting
// the removed rows' terms, so no row is read. θ₀ itself is not kept: with θ₀,
// Ĥ and θ a single removed row could be solved for (Δ = Ĥ(θ − θ₀) is its
// gradient, a multiple of [x; 1]). So the removed rows' terms are subtracted
// at the current θ, and two scalars carry what that costs: D ≥ ‖θ − θ₀‖ (the
// sum of the steps) and E ≥ ‖Ĥ − H(θ₀)‖ (each removed row adds at most
// γ D ‖x̃‖³). The gradient residual ‖∇L(θ)‖ of the remaining rows stays below
// a running bound β:
//     β += (γ/2)‖X‖ M ‖v‖ ‖Xv‖ + γ ‖X‖ M D ‖Xv‖ + E ‖v‖,   v = Ĥ⁻¹Δ,
// γ = 1/4 (a Lipschitz constant of the logistic ℓ''), ‖X‖ and ‖Xv‖ from the
// remaining rows' Gram matrix XᵀX (kept in summation form), M the largest
// row norm trained on. The first term is Guo et al.'s; the others pay for
// the Hessian being evaluated at θ₀ rather than θ. While β ≤ σε/c,
// c = sqrt(2 ln(1.5/δ)), the model is (ε, δ)-indistinguishable from one
// retrained without R; past it, the shard is retrained exactly and β resets.
#pragma once

#include "classifier.hpp"
#include "logistic.hpp"

namespace unlearn {

struct CertifiedOptions {
    double l2 = 1.0;
    double noise = 1.0;  // σ of the objective perturbation
    double epsilon = 1.0;
    double delta = 1e-4;
    int64_t seed = 0;
};

// The gradient-residual budget σε/c the running bound may reach.
double certified_budget(const CertifiedOptions &o);
// The perturbation b of a shard: p + 1 normal draws from the seeded stream.
Vector certified_noise(const CertifiedOptions &o, int features, int32_t shard);

struct CertifiedState {
    Vector theta;    // [w; intercept]
    Matrix hessian;  // of the held rows at θ₀ (the last exact optimum, not kept), with the penalty, within hessian_error
    Matrix gram;     // Σ x̃x̃ᵀ of the held rows, x̃ = [x; 1]
    int64_t rows = 0;
    int64_t positives = 0;  // held rows of the second class: a shard left with one class has no certificate
    double max_norm = 0;  // largest ‖x̃‖ ever trained on (an upper bound for the held rows)
    double bound = 0;     // running bound on the gradient residual
    double drift = 0;     // ≥ ‖θ − θ₀‖: the sum of the Newton steps since θ₀
    double hessian_error = 0;  // ≥ ‖hessian − H(θ₀)‖₂: removed rows' terms subtracted at θ, not θ₀
    int64_t newton_steps = 0;
    int64_t retrains = 0;
};

// A shard with no rows, of the same layout (after TRUNCATE, or when every row left).
CertifiedState certified_empty(Eigen::Index parameters, int64_t retrains);

// Exact training of one shard: y holds 0/1 (the model's two classes).
CertifiedState certified_train(const RowMatrix &x, const std::vector<int> &y, const CertifiedOptions &o, int32_t shard);

struct CertifiedRemoval {
    double bound_before = 0, bound_after = 0;
    bool over_budget = false;  // the caller retrains the shard exactly
};
// Exact training after deletions, which may leave a shard with one class:
// the perturbed objective then has no minimum (the unpenalised intercept
// runs off), so the shard predicts its class with certainty (θ = 0, the
// intercept saturated), as a SISA shard does. Such a shard carries no
// certificate: its next removal retrains it, and a Newton step that would
// leave a shard with one class is not taken (the shard is refitted).
CertifiedState certified_refit(const RowMatrix &x, const std::vector<int> &y, const CertifiedOptions &o, int32_t shard);
// Whether the rows hold one class only (certified_refit's degenerate case).
bool single_class(const std::vector<int> &y);

// One Newton step that removes the rows (their values, as deleted).
CertifiedRemoval certified_remove(CertifiedState &s, const RowMatrix &x, const std::vector<int> &y, const CertifiedOptions &o);

// ‖∇L(θ)‖ over the given rows: what the bound promises to stay above (tests, verify).
double certified_gradient_norm(const CertifiedState &s, const RowMatrix &x, const std::vector<int> &y,
                               const CertifiedOptions &o, int32_t shard);

// A lower bound μ of the objective's curvature on the segment from a to b
// (each row weighted by the smaller of its ℓ'' at the two ends): ‖a − b‖ ≤
// ‖∇L(a)‖ / μ when b is the optimum. Verify uses it to turn the residual
// bound into a distance from an exact retrain.
double certified_min_curvature(const RowMatrix &x, const Vector &a, const Vector &b, double l2);

// The constituent that predicts with θ (two classes, as LogisticParams).
ConstituentPtr certified_constituent(const CertifiedState &s);

void encode_certified(ByteWriter &w, const CertifiedState &s);
CertifiedState decode_certified(ByteReader &r, int features);

}  // namespace unlearn
