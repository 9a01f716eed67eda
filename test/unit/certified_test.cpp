// Certified removal (certified.hpp; Guo, Goldstein, Hannun, van der Maaten,
// ICML 2020) against its definition, computed here from the raw rows: the
// perturbed objective L(θ) = Σ log-loss + (λ/2)‖w‖² + bᵀθ, θ = [w; intercept],
// its gradient Σ x̃(σ(θᵀx̃) − y) + λ[w; 0] + b and Hessian written out in
// long double. Training must reach the optimum of L; a removal must be the
// Newton step θ + H⁻¹Δ with H the remaining rows' Hessian at θ₀; the running
// bound must stay above the true residual of the remaining rows after every
// removal; the residual bound must turn into a distance to an exact retrain;
// the budget is σε/sqrt(2 ln(1.5/δ)); the noise is seeded per shard and
// N(0, σ²); stored shards round trip and hostile bytes are CorruptState.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "bytes.hpp"
#include "certified.hpp"
#include "model.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr int kFeatures = 3;
constexpr double kEps = 2.220446049250313e-16;

struct Rows {
    RowMatrix x;
    std::vector<int> y;  // 0/1
};

// Features of different spreads and offsets; labels drawn from a logistic
// model, so the classes overlap and the optimum is finite.
Rows make_rows(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    const double w[kFeatures] = {1.2, -0.8, 0.5};
    Rows d{RowMatrix(n, kFeatures), std::vector<int>(static_cast<size_t>(n))};
    for (int i = 0; i < n; ++i) {
        double z = -0.3;
        for (int j = 0; j < kFeatures; ++j) {
            d.x(i, j) = (j == 1 ? 0.7 : -0.2) + (0.5 + j) * n01(rng);
            z += w[j] * d.x(i, j);
        }
        d.y[static_cast<size_t>(i)] = u01(rng) < 1.0 / (1.0 + std::exp(-z)) ? 1 : 0;
    }
    return d;
}

Rows subset(const Rows &d, const std::vector<Eigen::Index> &idx) {
    Rows out{take_rows(d.x, idx), {}};
    for (Eigen::Index i : idx) out.y.push_back(d.y[static_cast<size_t>(i)]);
    return out;
}

long double sigmoid_l(long double z) { return 1.0L / (1.0L + std::exp(-z)); }

// x̃ᵀθ for row i, x̃ = [x; 1]
long double score(const RowMatrix &x, Eigen::Index i, const Vector &theta) {
    long double s = theta(x.cols());
    for (Eigen::Index j = 0; j < x.cols(); ++j) s += static_cast<long double>(x(i, j)) * theta(j);
    return s;
}

// ∇L(θ) = Σ x̃(σ(θᵀx̃) − y) + λ[w; 0] + b, one row at a time in long double.
LongVector perturbed_gradient(const Rows &d, const Vector &theta, double l2, const Vector &b) {
    const Eigen::Index p = d.x.cols();
    LongVector g = LongVector::Zero(p + 1);
    for (Eigen::Index i = 0; i < d.x.rows(); ++i) {
        const long double r = sigmoid_l(score(d.x, i, theta)) - d.y[static_cast<size_t>(i)];
        for (Eigen::Index j = 0; j < p; ++j) g(j) += r * d.x(i, j);
        g(p) += r;
    }
    for (Eigen::Index j = 0; j < p; ++j) g(j) += static_cast<long double>(l2) * theta(j);
    for (Eigen::Index j = 0; j <= p; ++j) g(j) += b(j);
    return g;
}

// What double arithmetic over the rows can resolve of that gradient: a few
// ulps of Σ |terms| per coordinate (the residual at an optimum is itself
// rounding, so no two summation orders agree on it to more than this).
double rounding_floor(const Rows &d, const Vector &theta, double l2, const Vector &b) {
    long double total = 0;
    for (Eigen::Index i = 0; i < d.x.rows(); ++i) {
        const long double r = std::fabs(sigmoid_l(score(d.x, i, theta)) - d.y[static_cast<size_t>(i)]);
        total += r * (1.0L + d.x.row(i).cwiseAbs().sum());
    }
    total += l2 * theta.cwiseAbs().sum() + b.cwiseAbs().sum();
    return static_cast<double>(8.0L * kEps * total);
}

long double norm_l(const LongVector &v) { return std::sqrt(v.squaredNorm()); }

// H = Σ σ(1−σ) x̃x̃ᵀ + λ diag(1, …, 1, 0) at θ, written out.
LongMatrix perturbed_hessian(const Rows &d, const Vector &theta, double l2) {
    const Eigen::Index p = d.x.cols();
    LongMatrix h = LongMatrix::Zero(p + 1, p + 1);
    for (Eigen::Index i = 0; i < d.x.rows(); ++i) {
        const long double s = sigmoid_l(score(d.x, i, theta));
        LongVector xt(p + 1);
        for (Eigen::Index j = 0; j < p; ++j) xt(j) = d.x(i, j);
        xt(p) = 1.0L;
        h += s * (1.0L - s) * xt * xt.transpose();
    }
    for (Eigen::Index j = 0; j < p; ++j) h(j, j) += l2;
    return h;
}

CertifiedOptions options(double noise = 1.0) {
    CertifiedOptions o;
    o.l2 = 0.5;
    o.noise = noise;
    o.epsilon = 1.0;
    o.delta = 1e-4;
    o.seed = 17;
    return o;
}

}  // namespace

TEST(Certified, TrainingReachesTheOptimumOfThePerturbedObjective) {
    const Rows d = make_rows(500, 1u);
    const CertifiedOptions o = options();
    const int32_t shard = 3;
    const CertifiedState s = certified_train(d.x, d.y, o, shard);
    const Vector b = certified_noise(o, kFeatures, shard);
    ASSERT_EQ(b.size(), kFeatures + 1);
    ASSERT_EQ(s.theta.size(), kFeatures + 1);
    const double residual = static_cast<double>(norm_l(perturbed_gradient(d, s.theta, o.l2, b)));
    EXPECT_LT(residual, 1e-8 * 500);
    // the bound starts at what the solver left. Both it and our residual are
    // norms of a rounding-level vector (~1e-14 here, and the two differ by
    // ~15% relative), so 1e-12 relative cannot hold; they must agree to what
    // double sums over the rows can resolve (the floor, ~1e-12 here)
    const double floor = rounding_floor(d, s.theta, o.l2, b);
    EXPECT_NEAR(s.bound, residual, std::max(1e-12 * residual, floor)) << "floor " << floor;
    // the optimum moves with the noise: the unperturbed gradient there is about -b
    const double unperturbed = static_cast<double>(norm_l(perturbed_gradient(d, s.theta, o.l2, Vector::Zero(kFeatures + 1))));
    EXPECT_NEAR(unperturbed, b.norm(), 1e-8 * 500);
    EXPECT_EQ(s.rows, 500);
    EXPECT_EQ(s.drift, 0.0);
    EXPECT_EQ(s.hessian_error, 0.0);
    EXPECT_EQ(s.newton_steps, 0);
    // the kept Hessian and Gram matrix are those of the rows at θ₀
    LongMatrix gram = LongMatrix::Zero(kFeatures + 1, kFeatures + 1);
    for (Eigen::Index i = 0; i < d.x.rows(); ++i) {
        LongVector xt(kFeatures + 1);
        for (int j = 0; j < kFeatures; ++j) xt(j) = d.x(i, j);
        xt(kFeatures) = 1.0L;
        gram += xt * xt.transpose();
    }
    EXPECT_LT((s.gram.cast<long double>() - gram).cwiseAbs().maxCoeff(), 1e-12L * gram.cwiseAbs().maxCoeff());
    const LongMatrix h = perturbed_hessian(d, s.theta, o.l2);
    EXPECT_LT((s.hessian.cast<long double>() - h).cwiseAbs().maxCoeff(), 1e-12L * h.cwiseAbs().maxCoeff());
}

// Removes rows one at a time and in batches; after each removal the true
// residual over the remaining rows must stay below the running bound, and
// the result must be as close to an exact retrain as the bound promises.
TEST(Certified, BoundHoldsAndPromisesTheDistanceToARetrain) {
    const Rows d = make_rows(500, 2u);
    const CertifiedOptions o = options();
    const int32_t shard = 1;
    const Vector b = certified_noise(o, kFeatures, shard);
    CertifiedState s = certified_train(d.x, d.y, o, shard);

    std::vector<Eigen::Index> order(500);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937 rng(5u);
    std::shuffle(order.begin(), order.end(), rng);
    const std::vector<int> plan = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 20, 1, 1, 1, 1, 1,
                                   1, 1, 1, 1, 1, 7, 1, 1, 1, 1, 3, 1, 1, 1, 1};
    size_t taken = 0;
    int removals = 0;
    double previous = s.bound;
    for (int k : plan) {
        const std::vector<Eigen::Index> gone(order.begin() + static_cast<long>(taken),
                                             order.begin() + static_cast<long>(taken + static_cast<size_t>(k)));
        taken += static_cast<size_t>(k);
        const Rows removed = subset(d, gone);
        const CertifiedRemoval r = certified_remove(s, removed.x, removed.y, o);
        ++removals;
        const Rows left = subset(d, std::vector<Eigen::Index>(order.begin() + static_cast<long>(taken), order.end()));
        ASSERT_EQ(s.rows, static_cast<int64_t>(left.x.rows()));
        EXPECT_EQ(r.bound_before, previous);
        EXPECT_EQ(r.bound_after, s.bound);
        EXPECT_GE(s.bound, previous) << "the bound only grows between retrains";
        previous = s.bound;
        const double truth = static_cast<double>(norm_l(perturbed_gradient(left, s.theta, o.l2, b)));
        EXPECT_LE(truth, s.bound + 1e-12) << "after removal " << removals << " (" << k << " rows)";
    }
    EXPECT_GE(removals, 30);
    EXPECT_EQ(s.newton_steps, removals);

    const Rows left = subset(d, std::vector<Eigen::Index>(order.begin() + static_cast<long>(taken), order.end()));
    const CertifiedState exact = certified_train(left.x, left.y, o, shard);
    const double distance = (s.theta - exact.theta).norm();
    const double mu = certified_min_curvature(left.x, s.theta, exact.theta, o.l2);
    ASSERT_GT(mu, 0);
    EXPECT_LE(distance, (s.bound + exact.bound) / mu);
    EXPECT_GT(distance, 0.0) << "a Newton step is not an exact retrain";
    EXPECT_LT(distance, 0.05 * exact.theta.norm());
    // and the removals moved θ a lot further than that: they did real work
    // (the Hessian kept at θ₀ costs accuracy as θ drifts: ~4% of the move here)
    const CertifiedState before = certified_train(d.x, d.y, o, shard);
    EXPECT_GT((before.theta - exact.theta).norm(), 5 * distance);
}

TEST(Certified, RemovalIsTheNewtonStepWithTheHessianAtTheOptimum) {
    const Rows d = make_rows(300, 3u);
    const CertifiedOptions o = options();
    CertifiedState s = certified_train(d.x, d.y, o, 0);
    const Vector before = s.theta;
    const Eigen::Index gone = 41;
    std::vector<Eigen::Index> keep;
    for (Eigen::Index i = 0; i < d.x.rows(); ++i)
        if (i != gone) keep.push_back(i);
    const Rows left = subset(d, keep), removed = subset(d, {gone});

    const LongMatrix h = perturbed_hessian(left, before, o.l2);
    LongVector delta(kFeatures + 1);
    const long double r = sigmoid_l(score(d.x, gone, before)) - d.y[static_cast<size_t>(gone)];
    for (int j = 0; j < kFeatures; ++j) delta(j) = r * d.x(gone, j);
    delta(kFeatures) = r;
    const LongVector step = h.fullPivLu().solve(delta);

    certified_remove(s, removed.x, removed.y, o);
    const Vector moved = s.theta - before;
    for (int j = 0; j <= kFeatures; ++j) EXPECT_NEAR(moved(j), static_cast<double>(step(j)), 1e-9) << "coordinate " << j;
    EXPECT_GT(moved.norm(), 1e-6) << "the step is not trivial";
    EXPECT_NEAR(s.drift, moved.norm(), 1e-15) << "the drift is the step taken from θ₀";
    EXPECT_EQ(s.hessian_error, 0.0) << "the first removal subtracts its terms at θ₀ itself";
    EXPECT_LT((s.hessian.cast<long double>() - h).cwiseAbs().maxCoeff(), 1e-12L * h.cwiseAbs().maxCoeff());
}

// The state after a removal must not hold θ₀: with θ₀, the stored Hessian and
// θ, Δ = Ĥ(θ − θ₀) is the removed row's gradient, (σ − y)[x; 1], and gives the
// row back. Independently: no 8-byte run of the blob equals a coordinate of θ₀,
// and the reconstruction from θ₀ (were it kept) would indeed return the row.
TEST(Certified, StateAfterARemovalDoesNotKeepTheOptimumThatSawTheRow) {
    const Rows d = make_rows(300, 11u);
    const CertifiedOptions o = options();
    CertifiedShard c{ClassLabels(std::vector<double>{0.0, 1.0}), certified_train(d.x, d.y, o, 0)};
    const Vector theta0 = c.state.theta;
    const Rows gone = subset(d, {42});
    certified_remove(c.state, gone.x, gone.y, o);
    const Vector rebuilt = c.state.hessian * (c.state.theta - theta0);
    const Vector x_back = rebuilt.head(kFeatures) / rebuilt(kFeatures);
    ASSERT_LT((x_back - gone.x.row(0).transpose()).norm(), 1e-8) << "the attack works when θ₀ is at hand";
    const Bytes blob = encode_state(Algorithm::LogisticRegression, c);
    for (Eigen::Index j = 0; j < theta0.size(); ++j) {
        unsigned char pattern[sizeof(double)];
        const double v = theta0(j);
        std::memcpy(pattern, &v, sizeof v);
        EXPECT_EQ(std::search(blob.begin(), blob.end(), pattern, pattern + sizeof pattern), blob.end())
            << "coordinate " << j << " of θ₀ is in the stored state";
    }
}

// μ must bound the curvature from below all along the segment, not only at
// the ends and the midpoint: checked at 101 points, with the long-double
// Hessian of the test's own.
TEST(Certified, MinCurvatureIsALowerBoundOnTheSegment) {
    const Rows d = make_rows(200, 13u);
    const double l2 = 0.01;
    Vector a = Vector::Zero(kFeatures + 1), b = Vector::Zero(kFeatures + 1);
    a(0) = 6;
    b(0) = -6;
    b(kFeatures) = 3;  // the segment crosses the region where ℓ'' peaks
    const double mu = certified_min_curvature(d.x, a, b, l2);
    EXPECT_GT(mu, 0);
    for (int k = 0; k <= 100; ++k) {
        const Vector at = a + (b - a) * (k / 100.0);
        const LongMatrix h = perturbed_hessian(d, at, l2);
        Eigen::SelfAdjointEigenSolver<Matrix> eig(h.cast<double>(), Eigen::EigenvaluesOnly);
        EXPECT_LE(mu, eig.eigenvalues().minCoeff() + 1e-12) << "at t = " << k / 100.0;
    }
}

TEST(Certified, BudgetAndOverBudget) {
    for (double noise : {1e-6, 0.3, 1.0, 7.5})
        for (double eps : {0.1, 1.0, 4.0})
            for (double delta : {1e-6, 1e-4, 0.05}) {
                CertifiedOptions o = options(noise);
                o.epsilon = eps;
                o.delta = delta;
                const double expected = noise * eps / std::sqrt(2.0 * std::log(1.5 / delta));
                EXPECT_NEAR(certified_budget(o), expected, 1e-14 * expected);
            }

    const Rows d = make_rows(200, 4u);
    const Rows removed = subset(d, {7});
    {
        const CertifiedOptions tiny = options(1e-6);
        CertifiedState s = certified_train(d.x, d.y, tiny, 0);
        const CertifiedRemoval r = certified_remove(s, removed.x, removed.y, tiny);
        EXPECT_TRUE(r.over_budget);
        EXPECT_GT(r.bound_after, certified_budget(tiny));
    }
    {
        const CertifiedOptions wide = options(1.0);
        CertifiedState s = certified_train(d.x, d.y, wide, 0);
        const CertifiedRemoval r = certified_remove(s, removed.x, removed.y, wide);
        EXPECT_FALSE(r.over_budget);
        EXPECT_LE(r.bound_after, certified_budget(wide));
    }
    CertifiedOptions bad = options();
    bad.noise = 0;
    EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { certified_budget(bad); }));
}

TEST(Certified, NoiseIsSeededPerShardAndNormal) {
    const double sigma = 2.5;
    CertifiedOptions o = options(sigma);
    const Vector a = certified_noise(o, 1999, 4);
    ASSERT_EQ(a.size(), 2000);
    EXPECT_TRUE(a == certified_noise(o, 1999, 4)) << "same seed and shard, same noise";
    EXPECT_FALSE(a == certified_noise(o, 1999, 5)) << "another shard, other noise";
    EXPECT_TRUE(a.head(4) == certified_noise(o, 3, 4)) << "the model's layout draws a prefix of the stream";
    CertifiedOptions other = o;
    other.seed = o.seed + 1;
    EXPECT_FALSE(a == certified_noise(other, 1999, 4)) << "another seed, other noise";
    EXPECT_TRUE(a.allFinite());

    const double mean = a.mean();
    const double sd = std::sqrt((a.array() - mean).square().sum() / static_cast<double>(a.size() - 1));
    EXPECT_LT(std::fabs(mean), 0.1 * sigma);
    EXPECT_LT(std::fabs(sd - sigma), 0.1 * sigma);
    // a normal tail, not a bounded one: some draws past 2σ, none absurd
    const auto past2 = (a.array().abs() > 2 * sigma).count();
    EXPECT_GT(past2, 40);   // expected ~91
    EXPECT_LT(past2, 150);
    EXPECT_LT(a.cwiseAbs().maxCoeff(), 6 * sigma);
}

TEST(Certified, OneClassShardIsADataException) {
    Rows d = make_rows(50, 6u);
    std::fill(d.y.begin(), d.y.end(), 1);
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { certified_train(d.x, d.y, options(), 0); }));
    std::fill(d.y.begin(), d.y.end(), 0);
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { certified_train(d.x, d.y, options(), 0); }));
}

// After deletions a shard may hold one class: the refit predicts it with
// certainty (independently: the probability of that class is 1 on every row,
// its log-loss is 0) and its bound is exactly its gradient residual.
TEST(Certified, RefitOfOneClassPredictsIt) {
    Rows d = make_rows(50, 7u);
    for (int cls : {0, 1}) {
        std::fill(d.y.begin(), d.y.end(), cls);
        const CertifiedState s = certified_refit(d.x, d.y, options(), 0);
        EXPECT_EQ(s.rows, 50);
        const Matrix p = certified_constituent(s)->proba(d.x);
        for (Eigen::Index i = 0; i < p.rows(); ++i) EXPECT_NEAR(p(i, cls), 1.0, 1e-15);
        EXPECT_DOUBLE_EQ(s.bound, certified_gradient_norm(s, d.x, d.y, options(), 0));
    }
    // a removal that would leave one class is no Newton step: the caller refits
    Rows mixed = make_rows(60, 9u);
    CertifiedState t = certified_train(mixed.x, mixed.y, options(), 0);
    std::vector<Eigen::Index> ones;
    for (Eigen::Index i = 0; i < mixed.x.rows(); ++i)
        if (mixed.y[static_cast<size_t>(i)] == 1) ones.push_back(i);
    ASSERT_FALSE(ones.empty());
    const Rows gone = subset(mixed, ones);
    const CertifiedRemoval r = certified_remove(t, gone.x, gone.y, options());
    EXPECT_TRUE(r.over_budget);
    EXPECT_EQ(t.newton_steps, 0);
    // two classes: the refit is the ordinary training
    Rows both = make_rows(80, 8u);
    EXPECT_TRUE(certified_refit(both.x, both.y, options(), 1).theta.isApprox(certified_train(both.x, both.y, options(), 1).theta));
}

namespace {

CertifiedShard trained_shard(uint32_t seed, int32_t shard, int removals) {
    const Rows d = make_rows(200, seed);
    CertifiedShard c;
    c.classes = ClassLabels({0, 1});
    c.state = certified_train(d.x, d.y, options(), shard);
    for (int i = 0; i < removals; ++i) {
        const Rows gone = subset(d, {static_cast<Eigen::Index>(i)});
        certified_remove(c.state, gone.x, gone.y, options());
    }
    return c;
}


// Decodes, and on success uses what it decoded: fit, predict, encode again.
void decode_and_use(const Bytes &b) {
    ShardState s = decode_state(Algorithm::LogisticRegression, kFeatures, b.data(), b.size());
    const auto &c = std::get<CertifiedShard>(s);
    EXPECT_EQ(c.classes.size(), 2);
    EXPECT_EQ(c.state.theta.size(), kFeatures + 1);
    EXPECT_EQ(c.state.hessian.rows(), kFeatures + 1);
    try {  // a shard without rows has nothing to predict with: unlearn::Error
        Options o;
        FittedModel m = fit_model(Algorithm::LogisticRegression, o, {s});
        const Vector p = m.predict_proba(Vector::Ones(kFeatures));
        EXPECT_EQ(p.size(), 2);
        (void)m.parameters();
    } catch (const Error &) {
    }
    Bytes again = encode_state(Algorithm::LogisticRegression, s);
    (void)decode_state(Algorithm::LogisticRegression, kFeatures, again.data(), again.size());
}

Outcome outcome(const Bytes &bytes, std::string *why) {
    return outcome_of([&] { decode_and_use(bytes); }, why);
}

constexpr size_t kHeader = 20;  // magic(4) format(2) kind(2) payload_len(4) checksum(8)
constexpr char kMagic[4] = {'U', 'L', 'S', 'T'};
constexpr uint16_t kCertifiedKind = static_cast<uint16_t>(Algorithm::LogisticRegression) | 0x80;

}  // namespace

TEST(Certified, StateRoundTripsAndHostileBytesAreCorruptState) {
    const CertifiedShard c = trained_shard(7u, 2, 3);
    ASSERT_EQ(c.state.newton_steps, 3);
    const Bytes blob = encode_state(Algorithm::LogisticRegression, c);
    ASSERT_GT(blob.size(), kHeader);
    EXPECT_EQ(blob[6] | blob[7] << 8, kCertifiedKind);
    const ShardState back = decode_state(Algorithm::LogisticRegression, kFeatures, blob.data(), blob.size());
    const CertifiedShard &t = std::get<CertifiedShard>(back);
    EXPECT_EQ(t.classes.labels(), (std::vector<double>{0, 1}));
    EXPECT_TRUE(t.state.theta == c.state.theta);
    EXPECT_EQ(t.state.drift, c.state.drift);
    EXPECT_EQ(t.state.hessian_error, c.state.hessian_error);
    EXPECT_TRUE(t.state.hessian == c.state.hessian);
    EXPECT_TRUE(t.state.gram == c.state.gram);
    EXPECT_EQ(t.state.bound, c.state.bound);
    EXPECT_EQ(t.state.max_norm, c.state.max_norm);
    EXPECT_EQ(t.state.rows, c.state.rows);
    EXPECT_EQ(t.state.positives, c.state.positives);
    EXPECT_EQ(t.state.newton_steps, c.state.newton_steps);
    EXPECT_EQ(t.state.retrains, c.state.retrains);
    EXPECT_EQ(state_rows(back), 197);
    EXPECT_EQ(encode_state(Algorithm::LogisticRegression, back), blob);

    // another layout or another algorithm is refused
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] {
        decode_state(Algorithm::LogisticRegression, kFeatures + 1, blob.data(), blob.size());
    }));
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] {
        decode_state(Algorithm::Mlp, kFeatures, blob.data(), blob.size());
    }));

    // every truncation, every bit flip: of the blob as stored (the checksum
    // catches them) and of its payload framed again (the decoder must)
    const Bytes payload(blob.begin() + kHeader, blob.end());
    std::vector<std::pair<std::string, Bytes>> cases;
    for (size_t n = 0; n < blob.size(); ++n) cases.push_back({"blob cut at " + std::to_string(n), Bytes(blob.begin(), blob.begin() + static_cast<long>(n))});
    for (size_t n = 0; n < payload.size(); ++n)
        cases.push_back({"payload cut at " + std::to_string(n), frame(kMagic, kCertifiedKind, Bytes(payload.begin(), payload.begin() + static_cast<long>(n)))});
    for (size_t i = 0; i < blob.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            Bytes b = blob;
            b[i] ^= static_cast<uint8_t>(1u << bit);
            cases.push_back({"blob byte " + std::to_string(i) + " bit " + std::to_string(bit), std::move(b)});
        }
    for (size_t i = 0; i < payload.size(); ++i)
        for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x10}, uint8_t{0x40}, uint8_t{0x80}, uint8_t{0xff}}) {
            Bytes p = payload;
            p[i] ^= mask;
            cases.push_back({"payload byte " + std::to_string(i) + " ^ " + std::to_string(mask), frame(kMagic, kCertifiedKind, p)});
        }
    int rejected = 0, accepted = 0;
    for (const auto &cs : cases) {
        std::string why;
        switch (outcome(cs.second, &why)) {
            case Outcome::Rejected: ++rejected; break;
            case Outcome::Accepted: ++accepted; break;
            case Outcome::Wrong: ADD_FAILURE() << cs.first << ": " << why; break;
        }
    }
    EXPECT_GT(rejected, 0);
    EXPECT_GT(accepted, 0) << "flips in θ's mantissas decode to a usable shard";

    // a payload claiming three classes, framed as a certified shard
    Bytes three = payload;
    three[0] = 3;  // uint32 class count, little endian
    double label = 2.0;
    uint8_t raw[sizeof label];
    std::memcpy(raw, &label, sizeof label);
    three.insert(three.begin() + 4 + 2 * sizeof(double), raw, raw + sizeof raw);
    const Bytes reframed = frame(kMagic, kCertifiedKind, three);
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] {
        decode_state(Algorithm::LogisticRegression, kFeatures, reframed.data(), reframed.size());
    }));
}

TEST(Certified, FitAveragesTheShardsSigmoids) {
    const CertifiedShard a = trained_shard(8u, 0, 0), b = trained_shard(9u, 1, 2);
    CertifiedShard empty;
    empty.classes = ClassLabels({0, 1});
    empty.state = certified_empty(kFeatures + 1, 1);
    Options o;
    const FittedModel m = fit_model(Algorithm::LogisticRegression, o, {a, empty, b});
    EXPECT_EQ(m.rows(), 200 + 198);
    RowMatrix probe(4, kFeatures);
    probe << 0, 0, 0, 1, -1, 2, -2, 3, 0.5, 4, -4, -1;
    auto sig = [&](const Vector &theta, Eigen::Index i) {
        long double z = theta(kFeatures);
        for (int j = 0; j < kFeatures; ++j) z += static_cast<long double>(theta(j)) * probe(i, j);
        return sigmoid_l(z);
    };
    for (Eigen::Index i = 0; i < probe.rows(); ++i) {
        const double expected = static_cast<double>((sig(a.state.theta, i) + sig(b.state.theta, i)) / 2);
        const Vector p = m.predict_proba(probe.row(i).transpose());
        ASSERT_EQ(p.size(), 2);
        EXPECT_NEAR(p(1), expected, 1e-12) << "probe " << i;
        EXPECT_NEAR(p(0), 1.0 - expected, 1e-12) << "probe " << i;
        EXPECT_EQ(m.predict(probe.row(i).transpose()), expected > 0.5 ? 1.0 : 0.0);
    }
}
