#include "logistic.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "interrupt.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {
namespace {

// Multiply-adds per chunk of the Hessian (rows × (p+1)² × blocks): about
// 10 ms of work, so a cancel is seen well within 100 ms.
constexpr double kChunkWork = 2e7;

using Rows = Eigen::Ref<const RowMatrix>;

double log1pexp(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

// The problem restricted to the present classes: local labels 0..k-1, and
// the parameters as one vector θ = [w_1; b_1; w_2; b_2; ...] (one block for
// two classes).
struct Problem {
    const RowMatrix &x;
    std::vector<int> local;  // per row
    int k;                   // present classes
    int blocks;              // 1 when k == 2, else k
    double l2;
    const Vector *linear = nullptr;  // bᵀθ, when set
    int p() const { return static_cast<int>(x.cols()); }
    Eigen::Index dim() const { return static_cast<Eigen::Index>(blocks) * (p() + 1); }

    // The rows are visited in chunks: each chunk's work is bounded, so the
    // loops check for a cancel often and the n × p temporaries of the
    // Hessian (the weighted rows) are chunk-sized. One chunk when the rows fit
    // in one, so small problems compute exactly as an unchunked pass would.
    Eigen::Index chunk() const {
        const double q = p() + 1.0;
        return std::max<Eigen::Index>(64, static_cast<Eigen::Index>(kChunkWork / (q * q * blocks)));
    }

    Matrix scores(const Vector &theta, const Rows &xb) const {  // rows × blocks
        Matrix z(xb.rows(), blocks);
        for (int c = 0; c < blocks; ++c) {
            auto blk = theta.segment(static_cast<Eigen::Index>(c) * (p() + 1), p() + 1);
            z.col(c) = xb * blk.head(p());
            z.col(c).array() += blk(p());
        }
        return z;
    }
    // Per-row probabilities of the blocks' classes (sigmoid or softmax).
    Matrix probs(const Matrix &z) const {
        if (blocks == 1) return z.unaryExpr([](double v) { return 1.0 / (1.0 + std::exp(-v)); });
        Matrix pr(z.rows(), z.cols());
        for (Eigen::Index i = 0; i < z.rows(); ++i) {
            double mx = z.row(i).maxCoeff();
            pr.row(i) = (z.row(i).array() - mx).exp();
            pr.row(i) /= pr.row(i).sum();
        }
        return pr;
    }
    double penalty(const Vector &theta) const {
        double s = 0;
        for (int c = 0; c < blocks; ++c) s += theta.segment(static_cast<Eigen::Index>(c) * (p() + 1), p()).squaredNorm();
        return 0.5 * l2 * s;
    }
    // Rows summed in order whatever the chunking: the same value either way.
    double objective(const Vector &theta) const {
        double f = 0;
        const Eigen::Index n = x.rows(), step = chunk();
        for (Eigen::Index start = 0; start < n; start += step) {
            check_interrupts();
            const Eigen::Index len = std::min(step, n - start);
            Matrix z = scores(theta, x.middleRows(start, len));
            for (Eigen::Index i = 0; i < len; ++i) {
                const int yi = local[static_cast<size_t>(start + i)];
                if (blocks == 1) {
                    f += log1pexp(z(i, 0)) - (yi == 1 ? z(i, 0) : 0.0);
                } else {
                    double mx = z.row(i).maxCoeff();
                    f += mx + std::log((z.row(i).array() - mx).exp().sum()) - z(i, yi);
                }
            }
        }
        return f + penalty(theta) + (linear ? linear->dot(theta) : 0.0);
    }
    // Gradient and Hessian of the objective at theta, accumulated chunk by chunk.
    void derivatives(const Vector &theta, Vector *g, Matrix *h) const {
        const Eigen::Index n = x.rows(), step = chunk();
        const int q = p() + 1;
        g->setZero(dim());
        h->setZero(dim(), dim());
        for (Eigen::Index start = 0; start < n; start += step) {
            check_interrupts();
            const Eigen::Index len = std::min(step, n - start);
            const Rows xb = x.middleRows(start, len);
            Matrix pr = probs(scores(theta, xb));
            Matrix resid = pr;  // p - onehot
            for (Eigen::Index i = 0; i < len; ++i) {
                const int yi = local[static_cast<size_t>(start + i)];
                if (blocks == 1) resid(i, 0) -= yi == 1 ? 1.0 : 0.0;
                else resid(i, yi) -= 1.0;
            }
            for (int c = 0; c < blocks; ++c) {
                g->segment(static_cast<Eigen::Index>(c) * q, p()).noalias() += xb.transpose() * resid.col(c);
                (*g)(static_cast<Eigen::Index>(c) * q + p()) += resid.col(c).sum();
            }
            for (int c = 0; c < blocks; ++c)
                for (int d = c; d < blocks; ++d) {
                    Vector wgt = blocks == 1 ? Vector(pr.col(0).array() * (1.0 - pr.col(0).array()))
                                             : Vector(pr.col(c).array() * ((c == d ? 1.0 : 0.0) - pr.col(d).array()));
                    RowMatrix wx = wgt.asDiagonal() * xb;
                    auto blk = h->block(static_cast<Eigen::Index>(c) * q, static_cast<Eigen::Index>(d) * q, q, q);
                    blk.topLeftCorner(p(), p()).noalias() += xb.transpose() * wx;
                    blk.topRightCorner(p(), 1) += wx.colwise().sum().transpose();
                    blk(p(), p()) += wgt.sum();
                }
        }
        for (int c = 0; c < blocks; ++c)
            for (int d = c; d < blocks; ++d) {
                auto blk = h->block(static_cast<Eigen::Index>(c) * q, static_cast<Eigen::Index>(d) * q, q, q);
                blk.bottomLeftCorner(1, p()) = blk.topRightCorner(p(), 1).transpose();
                if (d != c) h->block(static_cast<Eigen::Index>(d) * q, static_cast<Eigen::Index>(c) * q, q, q) = blk.transpose();
            }
        if (linear) *g += *linear;
        for (int c = 0; c < blocks; ++c) {
            g->segment(static_cast<Eigen::Index>(c) * q, p()) += l2 * theta.segment(static_cast<Eigen::Index>(c) * q, p());
            for (int j = 0; j < p(); ++j) (*h)(static_cast<Eigen::Index>(c) * q + j, static_cast<Eigen::Index>(c) * q + j) += l2;
        }
    }
};

}  // namespace

LogisticParams fit_logistic(const RowMatrix &x, const std::vector<int> &y, int classes, const LogisticOptions &o,
                            const LogisticParams *warm) {
    if (!(o.l2 > 0) || !std::isfinite(o.l2))
        throw Error(ErrorKind::InvalidParameter, "option \"l2\" must be a positive number",
                    "The inverse of scikit-learn's C: LogisticRegression(C=1/l2).");
    LogisticParams m;
    m.classes = classes;
    m.rows = x.rows();
    const int p = static_cast<int>(x.cols());
    std::vector<int> to_local(static_cast<size_t>(classes), -1);
    for (int yi : y) {
        if (yi < 0 || yi >= classes) throw Error(ErrorKind::Internal, "class index out of range");
        to_local[static_cast<size_t>(yi)] = 0;
    }
    for (int c = 0; c < classes; ++c)
        if (to_local[static_cast<size_t>(c)] == 0) {
            to_local[static_cast<size_t>(c)] = static_cast<int>(m.present.size());
            m.present.push_back(c);
        }
    const int k = static_cast<int>(m.present.size());
    if (k < 2) {  // no rows, or one class: that class with certainty
        m.coef.resize(0, p);
        m.intercept.resize(0);
        return m;
    }
    Problem prob{x, {}, k, k == 2 ? 1 : k, o.l2};
    if (o.linear.size() > 0) {
        if (k != 2 || o.linear.size() != prob.dim())
            throw Error(ErrorKind::Internal, "an objective perturbation needs two classes and one entry per parameter");
        prob.linear = &o.linear;
    }
    prob.local.reserve(y.size());
    for (int yi : y) prob.local.push_back(to_local[static_cast<size_t>(yi)]);

    const int q = p + 1;
    Vector theta = Vector::Zero(prob.dim());
    if (warm && warm->present == m.present && warm->coef.cols() == p)
        for (int c = 0; c < prob.blocks; ++c) {
            theta.segment(static_cast<Eigen::Index>(c) * q, p) = warm->coef.row(c).transpose();
            theta(static_cast<Eigen::Index>(c) * q + p) = warm->intercept(c);
        }
    double f = prob.objective(theta);
    Vector g;
    Matrix h;
    for (m.iterations = 0; m.iterations < o.max_iterations; ++m.iterations) {
        check_interrupts();
        Progress at;
        at.iteration = m.iterations;
        at.rows = x.rows();
        at.loss = f;
        report_progress(at);
        prob.derivatives(theta, &g, &h);
        // Softmax intercepts may all shift together without changing the
        // loss: a tiny diagonal term keeps that direction solvable and the
        // stationary point where it is.
        if (prob.blocks > 1)
            for (int c = 0; c < prob.blocks; ++c) h(static_cast<Eigen::Index>(c) * q + p, static_cast<Eigen::Index>(c) * q + p) += 1e-10 * (1.0 + static_cast<double>(x.rows()));
        Vector step = -h.ldlt().solve(g);
        if (!step.allFinite()) throw Error(ErrorKind::Singular, "logistic regression did not converge (singular Hessian)");
        // backtracking (Armijo) line search
        double t = 1.0, slope = g.dot(step), f_new = f;
        Vector next;
        for (int ls = 0; ls < 60; ++ls, t *= 0.5) {
            next = theta + t * step;
            f_new = prob.objective(next);
            if (f_new <= f + 1e-4 * t * slope || std::fabs(f_new - f) <= 1e-15 * std::fabs(f)) break;
        }
        // the common shift of softmax intercepts changes nothing: centre it
        // away before measuring the move, or rounding keeps it moving
        if (prob.blocks > 1) {
            double mean = 0;
            for (int c = 0; c < prob.blocks; ++c) mean += next(static_cast<Eigen::Index>(c) * q + p);
            mean /= prob.blocks;
            for (int c = 0; c < prob.blocks; ++c) next(static_cast<Eigen::Index>(c) * q + p) -= mean;
        }
        const double moved = (next - theta).cwiseAbs().maxCoeff();
        theta = next;
        f = f_new;
        if (moved <= o.tolerance * (1.0 + theta.cwiseAbs().maxCoeff())) {
            ++m.iterations;
            break;
        }
    }
    if (!theta.allFinite()) throw Error(ErrorKind::Singular, "logistic regression did not converge");
    m.coef.resize(prob.blocks, p);
    m.intercept.resize(prob.blocks);
    for (int c = 0; c < prob.blocks; ++c) {
        m.coef.row(c) = theta.segment(static_cast<Eigen::Index>(c) * q, p).transpose();
        m.intercept(c) = theta(static_cast<Eigen::Index>(c) * q + p);
    }
    if (prob.blocks > 1) m.intercept.array() -= m.intercept.mean();
    return m;
}

Matrix logistic_proba(const LogisticParams &m, const RowMatrix &x) {
    Matrix out = Matrix::Zero(x.rows(), m.classes);
    const auto k = m.present.size();
    if (k == 0) {
        out.setConstant(1.0 / m.classes);
        return out;
    }
    if (k == 1) {
        out.col(m.present[0]).setOnes();
        return out;
    }
    Matrix z = (x * m.coef.transpose()).rowwise() + m.intercept.transpose();
    if (k == 2) {
        Vector p1 = z.col(0).unaryExpr([](double v) { return 1.0 / (1.0 + std::exp(-v)); });
        out.col(m.present[1]) = p1;
        out.col(m.present[0]) = (1.0 - p1.array()).matrix();
        return out;
    }
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
        double mx = z.row(i).maxCoeff();
        Eigen::RowVectorXd e = (z.row(i).array() - mx).exp();
        e /= e.sum();
        for (size_t c = 0; c < k; ++c) out(i, m.present[c]) = e(static_cast<Eigen::Index>(c));
    }
    return out;
}

double logistic_objective(const LogisticParams &m, const RowMatrix &x, const std::vector<int> &y, double l2) {
    Matrix pr = logistic_proba(m, x);
    double f = 0;
    for (Eigen::Index i = 0; i < x.rows(); ++i) f -= std::log(pr(i, y[static_cast<size_t>(i)]));
    return f + 0.5 * l2 * m.coef.squaredNorm();
}

Vector LogisticConstituent::parameters() const {
    Vector v(m_.coef.size() + m_.intercept.size());
    Eigen::Index at = 0;
    for (Eigen::Index c = 0; c < m_.coef.rows(); ++c) {
        v.segment(at, m_.coef.cols()) = m_.coef.row(c).transpose();
        at += m_.coef.cols();
        v(at++) = m_.intercept(c);
    }
    return v;
}

void LogisticConstituent::encode(ByteWriter &w) const {
    w.put<uint32_t>(static_cast<uint32_t>(m_.present.size()));
    for (int c : m_.present) w.put<uint32_t>(static_cast<uint32_t>(c));
    w.put<int64_t>(m_.rows);
    w.put<uint32_t>(static_cast<uint32_t>(m_.iterations));
    for (Eigen::Index c = 0; c < m_.coef.rows(); ++c) put_vector(w, m_.coef.row(c).transpose());
    put_vector(w, m_.intercept);
}

ConstituentPtr LogisticLearner::fit(const RowMatrix &x, const std::vector<int> &y, const Constituent *resume,
                                    uint64_t, int32_t) const {
    const auto *warm = dynamic_cast<const LogisticConstituent *>(resume);
    return std::make_shared<LogisticConstituent>(fit_logistic(x, y, k_, o_, warm ? &warm->params() : nullptr));
}

ConstituentPtr LogisticLearner::decode(ByteReader &r) const {
    LogisticParams m;
    m.classes = k_;
    auto k = r.get<uint32_t>();
    if (k > static_cast<uint32_t>(k_)) ByteReader::fail("too many classes");
    for (uint32_t i = 0; i < k; ++i) {
        auto c = r.get<uint32_t>();
        if (c >= static_cast<uint32_t>(k_) || (!m.present.empty() && static_cast<int>(c) <= m.present.back()))
            ByteReader::fail("bad class index");
        m.present.push_back(static_cast<int>(c));
    }
    m.rows = r.get<int64_t>();
    if (m.rows < 0) ByteReader::fail("negative row count");
    m.iterations = static_cast<int>(r.get<uint32_t>() & 0xffff);
    const Eigen::Index blocks = k < 2 ? 0 : (k == 2 ? 1 : k);
    m.coef.resize(blocks, p_);
    for (Eigen::Index c = 0; c < blocks; ++c) m.coef.row(c) = get_finite(r, static_cast<size_t>(p_)).transpose();
    m.intercept = get_finite(r, static_cast<size_t>(blocks));
    return std::make_shared<LogisticConstituent>(std::move(m));
}

}  // namespace unlearn
