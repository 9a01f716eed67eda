#include "certified.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "interrupt.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {
namespace {

constexpr double kGamma = 0.25;

// Multiply-adds per chunk of rows (rows × (p+1)²): about 10 ms, so a cancel
// is seen well within 100 ms and the [x; 1] copies stay chunk-sized.
constexpr double kChunkWork = 2e7;

RowMatrix with_ones(const Eigen::Ref<const RowMatrix> &x) {
    RowMatrix t(x.rows(), x.cols() + 1);
    t.leftCols(x.cols()) = x;
    t.col(x.cols()).setOnes();
    return t;
}

// Calls fn(x̃, first row) for consecutive chunks of the rows, x̃ = [x; 1].
// One chunk when the rows fit in one: small problems compute as one pass would.
template <typename Fn>
void for_chunks(const RowMatrix &x, Fn fn) {
    const double q = x.cols() + 1.0;
    const Eigen::Index step = std::max<Eigen::Index>(64, static_cast<Eigen::Index>(kChunkWork / (q * q)));
    for (Eigen::Index start = 0; start < x.rows(); start += step) {
        check_interrupts();
        const Eigen::Index len = std::min(step, x.rows() - start);
        fn(with_ones(x.middleRows(start, len)), start);
    }
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Σ s_i x̃x̃ᵀ at theta over the rows (no penalty).
Matrix weighted_gram(const RowMatrix &x, const Vector &theta) {
    Matrix out = Matrix::Zero(theta.size(), theta.size());
    for_chunks(x, [&](const RowMatrix &xt, Eigen::Index) {
        Vector z = xt * theta;
        Vector s = z.unaryExpr([](double v) {
            const double p = sigmoid(v);
            return p * (1 - p);
        });
        out.noalias() += xt.transpose() * (s.asDiagonal() * xt);
    });
    return out;
}

// Σ x̃x̃ᵀ over the rows.
Matrix plain_gram(const RowMatrix &x) {
    Matrix out = Matrix::Zero(x.cols() + 1, x.cols() + 1);
    for_chunks(x, [&](const RowMatrix &xt, Eigen::Index) { out.noalias() += xt.transpose() * xt; });
    return out;
}

// Σ (σ(x̃ᵀθ) − y) x̃ over the rows: their summed log-loss gradient.
Vector loss_gradient(const RowMatrix &x, const std::vector<int> &y, const Vector &theta) {
    Vector g = Vector::Zero(theta.size());
    for_chunks(x, [&](const RowMatrix &xt, Eigen::Index start) {
        Vector r = (xt * theta).unaryExpr([](double v) { return sigmoid(v); });
        for (Eigen::Index i = 0; i < r.size(); ++i) r(i) -= y[static_cast<size_t>(start + i)];
        g.noalias() += xt.transpose() * r;
    });
    return g;
}

Matrix penalty(int features, double l2) {
    Matrix pen = Matrix::Zero(features + 1, features + 1);
    pen.diagonal().head(features).setConstant(l2);
    return pen;
}

// ‖X‖₂ from the Gram matrix: the square root of its largest eigenvalue.
double spectral_norm(const Matrix &gram) {
    Eigen::SelfAdjointEigenSolver<Matrix> eig(gram, Eigen::EigenvaluesOnly);
    return std::sqrt(std::max(0.0, eig.eigenvalues().maxCoeff()));
}

void check(const CertifiedOptions &o) {
    if (!(o.noise > 0) || !(o.epsilon > 0) || !(o.delta > 0 && o.delta < 1) || !(o.l2 > 0))
        throw Error(ErrorKind::InvalidParameter, "certified removal needs noise > 0, epsilon > 0, 0 < delta < 1, l2 > 0");
}

}  // namespace

double certified_budget(const CertifiedOptions &o) {
    check(o);
    return o.noise * o.epsilon / std::sqrt(2.0 * std::log(1.5 / o.delta));
}

Vector certified_noise(const CertifiedOptions &o, int features, int32_t shard) {
    Stream st(mix_seed(static_cast<uint64_t>(o.seed) ^ 0xce27, static_cast<uint64_t>(shard)));
    Vector b(features + 1);
    for (Eigen::Index i = 0; i < b.size(); ++i) {  // Box-Muller on the platform-independent stream
        const double u1 = 1.0 - st.uniform(), u2 = st.uniform();
        b(i) = o.noise * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
    return b;
}

CertifiedState certified_empty(Eigen::Index parameters, int64_t retrains) {
    CertifiedState s;
    s.theta = Vector::Zero(parameters);
    s.hessian = s.gram = Matrix::Zero(parameters, parameters);
    s.retrains = retrains;
    return s;
}

namespace {
// Everything but θ, from the rows θ was fitted on: the Hessian at θ (θ is θ₀),
// the Gram matrix, the counts, and the bound, which starts at what the solver
// left rather than at zero.
void complete_from_rows(CertifiedState &s, const RowMatrix &x, const std::vector<int> &y, const CertifiedOptions &o,
                        int32_t shard) {
    s.hessian = weighted_gram(x, s.theta) + penalty(static_cast<int>(x.cols()), o.l2);
    s.gram = plain_gram(x);
    s.rows = x.rows();
    s.positives = std::count(y.begin(), y.end(), 1);
    s.max_norm = 0;
    for_chunks(x, [&](const RowMatrix &xt, Eigen::Index) { s.max_norm = std::max(s.max_norm, xt.rowwise().norm().maxCoeff()); });
    s.bound = certified_gradient_norm(s, x, y, o, shard);
}
}  // namespace

CertifiedState certified_train(const RowMatrix &x, const std::vector<int> &y, const CertifiedOptions &o, int32_t shard) {
    check(o);
    const int p = static_cast<int>(x.cols());
    bool seen[2] = {false, false};
    for (int v : y) {
        if (v != 0 && v != 1) throw Error(ErrorKind::Internal, "certified removal is for two classes");
        seen[v] = true;
    }
    if (!seen[0] || !seen[1])
        throw Error(ErrorKind::DataException, "a certified shard holds rows of only one class",
                    "Certified removal needs both classes in every shard; use fewer shards.");
    LogisticOptions lo;
    lo.l2 = o.l2;
    lo.linear = certified_noise(o, p, shard);
    LogisticParams fit = fit_logistic(x, y, 2, lo);
    CertifiedState s;
    s.theta.resize(p + 1);
    s.theta.head(p) = fit.coef.row(0).transpose();
    s.theta(p) = fit.intercept(0);
    complete_from_rows(s, x, y, o, shard);
    return s;
}

bool single_class(const std::vector<int> &y) {
    return !y.empty() && std::all_of(y.begin(), y.end(), [&](int v) { return v == y.front(); });
}

CertifiedState certified_refit(const RowMatrix &x, const std::vector<int> &y, const CertifiedOptions &o, int32_t shard) {
    if (!single_class(y)) return certified_train(x, y, o, shard);
    check(o);
    constexpr double kSaturated = 40;  // σ(40) rounds to 1 in double precision
    const int p = static_cast<int>(x.cols());
    CertifiedState s;
    s.theta = Vector::Zero(p + 1);
    s.theta(p) = y.front() == 1 ? kSaturated : -kSaturated;
    complete_from_rows(s, x, y, o, shard);
    return s;
}

double certified_gradient_norm(const CertifiedState &s, const RowMatrix &x, const std::vector<int> &y,
                               const CertifiedOptions &o, int32_t shard) {
    const int p = static_cast<int>(x.cols());
    Vector g = loss_gradient(x, y, s.theta) + certified_noise(o, p, shard);
    g.head(p) += o.l2 * s.theta.head(p);
    return g.norm();
}

CertifiedRemoval certified_remove(CertifiedState &s, const RowMatrix &x, const std::vector<int> &y, const CertifiedOptions &o) {
    CertifiedRemoval out;
    out.bound_before = s.bound;
    if (x.rows() == 0) {
        out.bound_after = s.bound;
        return out;
    }
    // one class held, before or after: no perturbed optimum to be near, so the caller refits
    const int64_t removed_positives = std::count(y.begin(), y.end(), 1);
    const bool one_class_before = s.positives == 0 || s.positives == s.rows;
    const int64_t positives_after = s.positives - removed_positives, rows_after = s.rows - x.rows();
    if (one_class_before || positives_after <= 0 || positives_after >= rows_after) {
        s.rows = rows_after;
        s.positives = positives_after;
        out.over_budget = true;
        out.bound_after = INFINITY;
        return out;
    }
    const Vector delta = loss_gradient(x, y, s.theta);  // Σ_R ∇ℓ_i(θ)
    // their terms entered at θ₀ and leave at θ: |ℓ''(x̃ᵀθ) − ℓ''(x̃ᵀθ₀)| ‖x̃‖² ≤ γ D ‖x̃‖³ each
    double cubes = 0;
    for_chunks(x, [&](const RowMatrix &xt, Eigen::Index) { cubes += xt.rowwise().norm().array().cube().sum(); });
    s.hessian_error += kGamma * s.drift * cubes;
    s.hessian -= weighted_gram(x, s.theta);
    s.gram -= plain_gram(x);
    s.rows = rows_after;
    s.positives = positives_after;
    Eigen::LDLT<Matrix> ldlt(s.hessian);
    const Vector v = ldlt.solve(delta);
    if (ldlt.info() != Eigen::Success || !v.allFinite()) {
        out.over_budget = true;
        out.bound_after = INFINITY;
        return out;
    }
    const double norm_x = spectral_norm(s.gram);
    const double xv = std::sqrt(std::max(0.0, v.dot(s.gram * v)));
    s.bound += 0.5 * kGamma * norm_x * s.max_norm * v.norm() * xv + kGamma * norm_x * s.max_norm * s.drift * xv +
               s.hessian_error * v.norm();
    s.theta += v;
    s.drift += v.norm();
    ++s.newton_steps;
    out.bound_after = s.bound;
    out.over_budget = !(s.bound <= certified_budget(o));
    return out;
}

double certified_min_curvature(const RowMatrix &x, const Vector &a, const Vector &b, double l2) {
    // ℓ''(z) = σ(z)(1 − σ(z)) is unimodal and x̃ᵀθ is linear along the segment, so
    // each row's weight anywhere between a and b is at least its smaller end
    const int p = static_cast<int>(x.cols());
    const auto weight = [](double z) {
        const double q = sigmoid(z);
        return q * (1 - q);
    };
    Matrix h = penalty(p, l2);
    for_chunks(x, [&](const RowMatrix &xt, Eigen::Index) {
        const Vector za = xt * a, zb = xt * b;
        Vector s(za.size());
        for (Eigen::Index i = 0; i < s.size(); ++i) s(i) = std::min(weight(za(i)), weight(zb(i)));
        h.noalias() += xt.transpose() * (s.asDiagonal() * xt);
    });
    Eigen::SelfAdjointEigenSolver<Matrix> eig(h, Eigen::EigenvaluesOnly);
    return eig.eigenvalues().minCoeff();
}

ConstituentPtr certified_constituent(const CertifiedState &s) {
    LogisticParams m;
    m.classes = 2;
    m.rows = s.rows;
    m.present = {0, 1};
    const Eigen::Index p = s.theta.size() - 1;
    m.coef = s.theta.head(p).transpose();
    m.intercept = Vector::Constant(1, s.theta(p));
    return std::make_shared<LogisticConstituent>(std::move(m));
}

void encode_certified(ByteWriter &w, const CertifiedState &s) {
    w.put<int64_t>(s.rows);
    w.put<int64_t>(s.positives);
    w.put<double>(s.max_norm);
    w.put<double>(s.bound);
    w.put<double>(s.drift);
    w.put<double>(s.hessian_error);
    w.put<int64_t>(s.newton_steps);
    w.put<int64_t>(s.retrains);
    put_vector(w, s.theta);
    put_vector(w, s.hessian.reshaped());
    put_vector(w, s.gram.reshaped());
}

CertifiedState decode_certified(ByteReader &r, int features) {
    CertifiedState s;
    const auto q = static_cast<size_t>(features) + 1;
    s.rows = r.get<int64_t>();
    s.positives = r.get<int64_t>();
    s.max_norm = r.get<double>();
    s.bound = r.get<double>();
    s.drift = r.get<double>();
    s.hessian_error = r.get<double>();
    s.newton_steps = r.get<int64_t>();
    s.retrains = r.get<int64_t>();
    if (s.rows < 0 || s.rows > (int64_t{1} << 43) || s.positives < 0 || s.positives > s.rows || !(s.max_norm >= 0) || !std::isfinite(s.max_norm) || !(s.bound >= 0) ||
        !std::isfinite(s.bound) || !(s.drift >= 0) || !std::isfinite(s.drift) || !(s.hessian_error >= 0) ||
        !std::isfinite(s.hessian_error) ||
        s.newton_steps < 0 || s.retrains < 0)
        ByteReader::fail("bad certified header");
    s.theta = get_finite(r, q);
    s.hessian = get_finite(r, q * q).reshaped(static_cast<Eigen::Index>(q), static_cast<Eigen::Index>(q));
    s.gram = get_finite(r, q * q).reshaped(static_cast<Eigen::Index>(q), static_cast<Eigen::Index>(q));
    return s;
}

}  // namespace unlearn
