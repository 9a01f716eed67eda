#include "model.hpp"

#include <cmath>

#include "bytes.hpp"
#include "error.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
constexpr char kStateMagic[4] = {'U', 'L', 'S', 'T'};
constexpr uint32_t kMaxFeatures = 1600;  // PostgreSQL's column limit

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

void put_dd(ByteWriter &w, const DDSum &s) {
    w.put<double>(s.hi);
    w.put<double>(s.lo);
}
DDSum get_dd(ByteReader &r) {
    DDSum s;
    s.hi = r.get<double>();
    s.lo = r.get<double>();
    if (!std::isfinite(s.hi) || !std::isfinite(s.lo)) ByteReader::fail("non-finite sum");
    return s;
}
std::vector<double> get_shift(ByteReader &r, uint32_t p) {
    r.need(static_cast<size_t>(p) * sizeof(double));
    std::vector<double> shift(p);
    for (auto &v : shift) {
        v = r.get<double>();
        if (!std::isfinite(v)) ByteReader::fail("non-finite shift");
    }
    return shift;
}
}  // namespace

Algorithm parse_algorithm(const std::string &name) {
    if (name == "linear_regression") return Algorithm::LinearRegression;
    if (name == "ridge") return Algorithm::Ridge;
    if (name == "naive_bayes") return Algorithm::NaiveBayes;
    throw Error(ErrorKind::InvalidParameter, "unknown algorithm \"" + name + "\"",
                "Use one of linear_regression, ridge, naive_bayes.");
}

const char *algorithm_name(Algorithm a) {
    switch (a) {
        case Algorithm::LinearRegression: return "linear_regression";
        case Algorithm::Ridge: return "ridge";
        case Algorithm::NaiveBayes: return "naive_bayes";
    }
    throw Error(ErrorKind::Internal, "unknown algorithm code");
}

bool is_classifier(Algorithm a) { return a == Algorithm::NaiveBayes; }

Strategy parse_strategy(const std::string &name, Algorithm) {
    if (name == "auto" || name == "incremental") return Strategy::Incremental;
    if (name == "sisa" || name == "certified")
        throw Error(ErrorKind::InvalidParameter, "strategy \"" + name + "\" is not available in this version",
                    "Use strategy 'incremental' (or 'auto').");
    throw Error(ErrorKind::InvalidParameter, "unknown strategy \"" + name + "\"",
                "Use one of auto, incremental.");
}

const char *strategy_name(Strategy) { return "incremental"; }

Options parse_options(Algorithm a, const std::map<std::string, double> &raw) {
    Options o;
    for (const auto &kv : raw) {
        if (kv.first == "l2" && a == Algorithm::Ridge) {
            if (!(kv.second > 0.0) || !std::isfinite(kv.second))
                throw Error(ErrorKind::InvalidParameter, "option \"l2\" must be a positive number",
                            "Ridge's alpha, as in scikit-learn's Ridge(alpha=...).");
            o.l2 = kv.second;
        } else if (kv.first == "seed") {
            if (kv.second != std::floor(kv.second) || std::fabs(kv.second) > 9e15)
                throw Error(ErrorKind::InvalidParameter, "option \"seed\" must be an integer");
            o.seed = static_cast<int64_t>(kv.second);
        } else {
            throw Error(ErrorKind::InvalidParameter,
                        "unknown option \"" + kv.first + "\" for algorithm " + algorithm_name(a),
                        a == Algorithm::Ridge ? "Valid options: l2, seed, on_insert." : "Valid options: seed, on_insert.");
        }
    }
    if (a == Algorithm::Ridge && raw.find("l2") == raw.end()) o.l2 = 1.0;  // Ridge()'s default alpha
    return o;
}

ShardState empty_state(Algorithm a, int features, const std::vector<double> &shift, double y_shift) {
    if (a == Algorithm::NaiveBayes) return NaiveBayesStats(features, shift);
    return LinearStats(features, shift, y_shift);
}

void add_rows(ShardState &s, const RowMatrix &x, const Vector &y, int sign) {
    std::visit([&](auto &st) { st.add_rows(x, y, sign); }, s);
}

void drop_feature(ShardState &s, int j) {
    std::visit([&](auto &st) { st.drop_feature(j); }, s);
}

double column_total(const ShardState &s, int j) {
    return std::visit([&](const auto &st) { return st.column_total(j); }, s);
}

int64_t state_rows(const ShardState &s) {
    return std::visit([](const auto &st) { return st.rows(); }, s);
}

std::vector<uint8_t> encode_state(Algorithm a, const ShardState &s) {
    ByteWriter w;
    std::visit(overloaded{
                   [&](const LinearStats &st) {
                       w.put<uint32_t>(static_cast<uint32_t>(st.features()));
                       w.put<int64_t>(st.rows());
                       for (double v : st.shift()) w.put<double>(v);
                       w.put<double>(st.y_shift());
                       for (const DDSum *d : st.sums()) put_dd(w, *d);
                   },
                   [&](const NaiveBayesStats &st) {
                       w.put<uint32_t>(static_cast<uint32_t>(st.features()));
                       for (double v : st.shift()) w.put<double>(v);
                       w.put<uint32_t>(static_cast<uint32_t>(st.classes().size()));
                       for (const auto &kv : st.classes()) {
                           w.put<double>(kv.first);
                           w.put<int64_t>(kv.second.n);
                           for (const auto &d : kv.second.sx) put_dd(w, d);
                           for (const auto &d : kv.second.sxx) put_dd(w, d);
                       }
                   },
               },
               s);
    return frame(kStateMagic, static_cast<uint16_t>(a), w.bytes());
}

ShardState decode_state(Algorithm expected, int features, const uint8_t *data, size_t len) {
    uint16_t kind = 0;
    ByteReader r = unframe(data, len, kStateMagic, &kind);
    if (kind != static_cast<uint16_t>(expected)) ByteReader::fail("state belongs to another algorithm");
    auto p = r.get<uint32_t>();
    if (p > kMaxFeatures || static_cast<int>(p) != features) ByteReader::fail("wrong number of features");
    if (expected == Algorithm::NaiveBayes) {
        NaiveBayesStats st(static_cast<int>(p), get_shift(r, p));
        auto k = r.get<uint32_t>();
        if (k > NaiveBayesStats::kMaxClasses) ByteReader::fail("too many classes");
        for (uint32_t c = 0; c < k; ++c) {
            double label = r.get<double>();
            if (!std::isfinite(label) || st.classes().count(label)) ByteReader::fail("bad class label");
            ClassStats &cs = st.class_stats(label);
            cs.n = r.get<int64_t>();
            if (cs.n <= 0) ByteReader::fail("bad class count");
            r.need(2 * static_cast<size_t>(p) * 2 * sizeof(double));
            for (auto &d : cs.sx) d = get_dd(r);
            for (auto &d : cs.sxx) d = get_dd(r);
        }
        if (r.remaining()) ByteReader::fail("trailing bytes");
        return st;
    }
    auto n = r.get<int64_t>();
    if (n < 0) ByteReader::fail("negative row count");
    std::vector<double> shift = get_shift(r, p);
    double y_shift = r.get<double>();
    if (!std::isfinite(y_shift)) ByteReader::fail("non-finite shift");
    LinearStats st(static_cast<int>(p), std::move(shift), y_shift);
    st.set_rows(n);
    auto sums = st.sums();
    r.need(sums.size() * 2 * sizeof(double));
    for (DDSum *d : sums) *d = get_dd(r);
    if (r.remaining()) ByteReader::fail("trailing bytes");
    return st;
}

FittedModel fit_model(Algorithm a, const Options &o, const std::vector<ShardState> &shards,
                      const std::vector<int> &reference) {
    if (shards.empty()) throw Error(ErrorKind::CorruptState, "model has no shard state");
    ShardState total = shards.front();
    for (size_t i = 1; i < shards.size(); ++i)
        std::visit(
            [&](auto &t) {
                using T = std::decay_t<decltype(t)>;
                const T *other = std::get_if<T>(&shards[i]);
                if (!other) throw Error(ErrorKind::CorruptState, "shards hold different algorithms");
                t.merge(*other);
            },
            total);
    FittedModel m{a, LinearFit{}};
    std::visit(overloaded{
                   [&](const LinearStats &st) {
                       m.fit = a == Algorithm::Ridge ? st.solve(o.l2) : st.solve(0.0, reference);
                   },
                   [&](const NaiveBayesStats &st) { m.fit = st.solve(); },
               },
               total);
    return m;
}

double FittedModel::predict(const Eigen::Ref<const Vector> &x) const {
    return std::visit(overloaded{
                          [&](const LinearFit &f) { return f.coef.dot(x) + f.intercept; },
                          [&](const NaiveBayesFit &f) { return f.predict(x); },
                      },
                      fit);
}

Vector FittedModel::predict_proba(const Eigen::Ref<const Vector> &x) const {
    const auto *nb = std::get_if<NaiveBayesFit>(&fit);
    if (!nb)
        throw Error(ErrorKind::InvalidParameter,
                    std::string("predict_proba needs a classifier, and this model is ") + algorithm_name(algorithm),
                    "Use unlearn.predict for regression models.");
    return nb->predict_proba(x);
}

Vector FittedModel::parameters() const {
    return std::visit(overloaded{
                          [](const LinearFit &f) {
                              Vector v(f.coef.size() + 1);
                              v << f.coef, f.intercept;
                              return v;
                          },
                          [](const NaiveBayesFit &f) {
                              Vector v(f.priors.size() + f.theta.size() + f.var.size());
                              v << f.priors, f.theta.reshaped(), f.var.reshaped();
                              return v;
                          },
                      },
                      fit);
}

int64_t FittedModel::rows() const {
    return std::visit([](const auto &f) { return f.rows; }, fit);
}

}  // namespace unlearn
