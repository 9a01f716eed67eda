#include "mlp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "error.hpp"
#include "interrupt.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {
namespace {

std::vector<int> widths(int p, int k, const MlpOptions &o) {
    std::vector<int> w{p};
    for (int l = 0; l < o.layers; ++l) w.push_back(o.hidden);
    w.push_back(k);
    return w;
}

// Forward pass over a batch; acts[l] is the input of layer l, the last
// entry the softmax output.
std::vector<Matrix> forward(const MlpParams &m, const Matrix &a0) {
    std::vector<Matrix> acts{a0};
    for (size_t l = 0; l < m.w.size(); ++l) {
        Matrix z = (acts.back() * m.w[l].transpose()).rowwise() + m.b[l].transpose();
        if (l + 1 < m.w.size()) {
            acts.push_back(z.cwiseMax(0.0));
        } else {
            for (Eigen::Index i = 0; i < z.rows(); ++i) {
                z.row(i).array() -= z.row(i).maxCoeff();
                z.row(i) = z.row(i).array().exp().matrix();
                z.row(i) /= z.row(i).sum();
            }
            acts.push_back(std::move(z));
        }
    }
    return acts;
}

// A batch's summed loss before its update: the cross-entropy of its rows
// (probabilities clipped at machine epsilon, as scikit-learn's log_loss) plus
// len × l2/2 |W|^2, the objective whose gradient the update follows.
double batch_loss(const MlpParams &m, const Matrix &proba, const std::vector<int> &y,
                  const std::vector<Eigen::Index> &idx, double l2) {
    double loss = 0.0;
    for (size_t i = 0; i < idx.size(); ++i)
        loss -= std::log(std::max(proba(static_cast<Eigen::Index>(i), y[static_cast<size_t>(idx[i])]),
                                  std::numeric_limits<double>::epsilon()));
    double squares = 0.0;
    for (const auto &w : m.w) squares += w.squaredNorm();
    return loss + static_cast<double>(idx.size()) * 0.5 * l2 * squares;
}

Matrix standardise(const MlpParams &m, const RowMatrix &x) {
    return ((x.rowwise() - m.mean.transpose()).array().rowwise() / m.scale.transpose().array()).matrix();
}

}  // namespace

void check_mlp_options(const MlpOptions &o, int, int) {
    auto bad = [](const std::string &what) {
        throw Error(ErrorKind::InvalidParameter, what,
                    "mlp options: hidden (1-4096), layers (1 or 2), epochs (1-10000), tol (>= 0), "
                    "n_iter_no_change (1-10000), batch_size (>= 1), learning_rate (> 0), l2 (>= 0), seed.");
    };
    if (o.hidden < 1 || o.hidden > 4096) bad("option \"hidden\" must be between 1 and 4096");
    if (o.layers < 1 || o.layers > 2) bad("option \"layers\" must be 1 or 2");
    if (o.epochs < 1 || o.epochs > 10000) bad("option \"epochs\" must be between 1 and 10000");
    if (!(o.tol >= 0) || !std::isfinite(o.tol)) bad("option \"tol\" must be zero or positive");
    if (o.n_iter_no_change < 1 || o.n_iter_no_change > 10000) bad("option \"n_iter_no_change\" must be between 1 and 10000");
    if (o.batch_size < 1) bad("option \"batch_size\" must be at least 1");
    if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) bad("option \"learning_rate\" must be positive");
    if (!(o.l2 >= 0) || !std::isfinite(o.l2)) bad("option \"l2\" must be zero or positive");
}

double mlp_parameters(const MlpOptions &o, int features, int classes) {
    double params = 0;
    std::vector<int> w = widths(features, classes, o);
    for (size_t l = 0; l + 1 < w.size(); ++l) params += (static_cast<double>(w[l]) + 1) * w[l + 1];
    return params;
}

double mlp_training_bytes(const MlpOptions &o, int features, int classes) {
    const double activations = static_cast<double>(features) + 2.0 * o.hidden * o.layers + classes;
    return 8.0 * (6 * mlp_parameters(o, features, classes) + 3.0 * o.batch_size * activations);
}

MlpLearner::MlpLearner(int features, int classes, MlpOptions o) : p_(features), k_(classes), o_(o) {
    check_mlp_options(o_, p_, k_);
}

ConstituentPtr MlpLearner::fit(const RowMatrix &x, const std::vector<int> &y, const Constituent *resume,
                               uint64_t stream, int32_t slice) const {
    const auto *prev = dynamic_cast<const MlpConstituent *>(resume);
    MlpParams m;
    const Eigen::Index n = x.rows();
    if (prev && prev->params().rows > 0) {
        m = prev->params();
    } else {
        if (n == 0) return std::make_shared<MlpConstituent>(MlpParams{});
        m.mean = x.colwise().mean().transpose();
        m.scale = ((x.rowwise() - m.mean.transpose()).colwise().squaredNorm() / static_cast<double>(n)).cwiseSqrt().transpose();
        for (Eigen::Index j = 0; j < m.scale.size(); ++j)
            if (!(m.scale(j) > 0)) m.scale(j) = 1.0;
        Stream init(mix_seed(o_.seed, stream));
        std::vector<int> w = widths(p_, k_, o_);
        for (size_t l = 0; l + 1 < w.size(); ++l) {
            const double a = std::sqrt(6.0 / (w[l] + w[l + 1]));  // Glorot uniform
            Matrix wl(w[l + 1], w[l]);
            for (Eigen::Index i = 0; i < wl.rows(); ++i)
                for (Eigen::Index j = 0; j < wl.cols(); ++j) wl(i, j) = a * (2.0 * init.uniform() - 1.0);
            m.w.push_back(std::move(wl));
            m.b.push_back(Vector::Zero(w[l + 1]));
        }
    }
    m.rows = n;
    if (n == 0) return std::make_shared<MlpConstituent>(std::move(m));
    const Matrix a0all = standardise(m, x);
    std::vector<Matrix> mw, vw;
    std::vector<Vector> mb, vb;
    for (size_t l = 0; l < m.w.size(); ++l) {
        mw.push_back(Matrix::Zero(m.w[l].rows(), m.w[l].cols()));
        vw.push_back(mw.back());
        mb.push_back(Vector::Zero(m.b[l].size()));
        vb.push_back(mb.back());
    }
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    int64_t t = 0;
    std::vector<Eigen::Index> order(static_cast<size_t>(n));
    Stream shuffle(mix_seed(o_.seed ^ 0x5151, stream));
    // Slice k trains on k+1 slices' rows: with epochs / (k+1) passes every
    // slice does the same work, and a shard with R slices costs what one
    // slice would (SISA's intent), while a late slice is cheap to redo.
    const int epochs = std::max(1, (o_.epochs + slice) / (slice + 1));
    // The stopping rule (see mlp.hpp): its state lives in this fit only.
    double best_loss = std::numeric_limits<double>::infinity();
    int no_improvement = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        double epoch_loss = 0.0;  // sum over the batches of len × the batch's mean loss
        std::iota(order.begin(), order.end(), 0);
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
        for (size_t start = 0; start < order.size(); start += static_cast<size_t>(o_.batch_size)) {
            check_interrupts();  // a mini-batch is at most a few milliseconds at the sizes check_mlp_options allows
            const size_t len = std::min(order.size() - start, static_cast<size_t>(o_.batch_size));
            std::vector<Eigen::Index> idx(order.begin() + static_cast<std::ptrdiff_t>(start),
                                          order.begin() + static_cast<std::ptrdiff_t>(start + len));
            std::vector<Matrix> acts = forward(m, a0all(idx, Eigen::all));
            Matrix delta = acts.back();  // softmax - onehot, averaged over the batch
            for (size_t i = 0; i < len; ++i) delta(static_cast<Eigen::Index>(i), y[static_cast<size_t>(idx[i])]) -= 1.0;
            delta /= static_cast<double>(len);
            epoch_loss += batch_loss(m, acts.back(), y, idx, o_.l2);
            ++t;
            const double c1 = 1.0 - std::pow(b1, static_cast<double>(t)), c2 = 1.0 - std::pow(b2, static_cast<double>(t));
            for (size_t l = m.w.size(); l-- > 0;) {
                Matrix gw = delta.transpose() * acts[l] + o_.l2 * m.w[l];
                Vector gb = delta.colwise().sum().transpose();
                if (l > 0) delta = ((delta * m.w[l]).array() * (acts[l].array() > 0).cast<double>()).matrix();
                mw[l] = b1 * mw[l] + (1 - b1) * gw;
                vw[l] = b2 * vw[l] + (1 - b2) * gw.cwiseAbs2();
                mb[l] = b1 * mb[l] + (1 - b1) * gb;
                vb[l] = b2 * vb[l] + (1 - b2) * gb.cwiseAbs2();
                m.w[l].array() -= o_.learning_rate * (mw[l].array() / c1) / ((vw[l].array() / c2).sqrt() + eps);
                m.b[l].array() -= o_.learning_rate * (mb[l].array() / c1) / ((vb[l].array() / c2).sqrt() + eps);
            }
        }
        const double loss = epoch_loss / static_cast<double>(n);
        if (!(loss <= best_loss - o_.tol)) ++no_improvement;  // a NaN loss never improves
        else no_improvement = 0;
        if (loss < best_loss) best_loss = loss;
        Progress at;
        at.slice = slice;
        at.epoch = epoch + 1;
        at.epochs = epochs;
        at.rows = n;
        at.loss = loss;
        report_progress(at);
        if (no_improvement > o_.n_iter_no_change) break;
    }
    for (const auto &w : m.w)
        if (!w.allFinite()) throw Error(ErrorKind::DataException, "mlp training diverged", "Use a smaller learning_rate.");
    return std::make_shared<MlpConstituent>(std::move(m));
}

Matrix MlpConstituent::proba(const RowMatrix &x) const {
    if (m_.w.empty()) {
        Matrix out(x.rows(), 1);
        out.setOnes();
        return out;  // callers skip constituents without rows
    }
    return forward(m_, standardise(m_, x)).back();
}

Vector MlpConstituent::parameters() const {
    Eigen::Index total = 0;
    for (size_t l = 0; l < m_.w.size(); ++l) total += m_.w[l].size() + m_.b[l].size();
    Vector v(total);
    Eigen::Index at = 0;
    for (size_t l = 0; l < m_.w.size(); ++l) {
        v.segment(at, m_.w[l].size()) = m_.w[l].reshaped();
        at += m_.w[l].size();
        v.segment(at, m_.b[l].size()) = m_.b[l];
        at += m_.b[l].size();
    }
    return v;
}

void MlpConstituent::encode(ByteWriter &w) const {
    w.put<int64_t>(m_.rows);
    w.put<uint32_t>(static_cast<uint32_t>(m_.w.size()));
    if (m_.w.empty()) return;
    put_vector(w, m_.mean);
    put_vector(w, m_.scale);
    for (size_t l = 0; l < m_.w.size(); ++l) {
        w.put<uint32_t>(static_cast<uint32_t>(m_.w[l].rows()));
        put_vector(w, m_.w[l].reshaped());
        put_vector(w, m_.b[l]);
    }
}

ConstituentPtr MlpLearner::decode(ByteReader &r) const {
    MlpParams m;
    m.rows = r.get<int64_t>();
    if (m.rows < 0) ByteReader::fail("negative row count");
    auto layers = r.get<uint32_t>();
    if (layers == 0) {
        if (m.rows != 0) ByteReader::fail("rows without layers");
        return std::make_shared<MlpConstituent>(std::move(m));
    }
    std::vector<int> w = widths(p_, k_, o_);
    if (layers + 1 != w.size()) ByteReader::fail("wrong number of layers");
    m.mean = get_finite(r, static_cast<size_t>(p_));
    m.scale = get_finite(r, static_cast<size_t>(p_));
    if ((m.scale.array() <= 0).any()) ByteReader::fail("non-positive scale");
    for (size_t l = 0; l < layers; ++l) {
        if (r.get<uint32_t>() != static_cast<uint32_t>(w[l + 1])) ByteReader::fail("wrong layer width");
        Vector flat = get_finite(r, static_cast<size_t>(w[l + 1]) * static_cast<size_t>(w[l]));
        m.w.push_back(flat.reshaped(w[l + 1], w[l]));
        m.b.push_back(get_finite(r, static_cast<size_t>(w[l + 1])));
    }
    return std::make_shared<MlpConstituent>(std::move(m));
}

}  // namespace unlearn
