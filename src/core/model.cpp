#include "model.hpp"

#include <algorithm>
#include <cmath>

#include "bytes.hpp"
#include "error.hpp"
#include "logistic.hpp"
#include "mlp.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
constexpr char kStateMagic[4] = {'U', 'L', 'S', 'T'};
constexpr uint32_t kMaxFeatures = 1600;  // PostgreSQL's column limit
// No table holds more rows than 2^32 pages of at most 2^11 tuples; bounding
// every stored count by that keeps their sums far from int64 overflow.
constexpr int64_t kMaxRows = int64_t{1} << 43;
constexpr uint16_t kCertifiedKind = 0x80;  // frame kind of a certified shard: algorithm | this

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

// An old blob is refused with the way out rather than read approximately:
// its double-double sums cannot be made exact.
[[noreturn]] void old_sums() {
    throw Error(ErrorKind::CorruptState,
                "the state of this model was stored by pg_unlearn 0.4 or earlier, whose sums are not exact",
                "Run unlearn.resync(model) to rebuild the state from the table.");
}
}  // namespace

Algorithm parse_algorithm(const std::string &name) {
    if (name == "linear_regression") return Algorithm::LinearRegression;
    if (name == "ridge") return Algorithm::Ridge;
    if (name == "naive_bayes") return Algorithm::NaiveBayes;
    if (name == "logistic_regression") return Algorithm::LogisticRegression;
    if (name == "mlp") return Algorithm::Mlp;
    if (name == "random_forest") return Algorithm::RandomForest;
    if (name == "random_forest_regressor") return Algorithm::RandomForestRegressor;
    throw Error(ErrorKind::InvalidParameter, "unknown algorithm \"" + name + "\"",
                "Use one of linear_regression, ridge, naive_bayes, logistic_regression, mlp, random_forest, "
                "random_forest_regressor.");
}

const char *algorithm_name(Algorithm a) {
    switch (a) {
        case Algorithm::LinearRegression: return "linear_regression";
        case Algorithm::Ridge: return "ridge";
        case Algorithm::NaiveBayes: return "naive_bayes";
        case Algorithm::LogisticRegression: return "logistic_regression";
        case Algorithm::Mlp: return "mlp";
        case Algorithm::RandomForest: return "random_forest";
        case Algorithm::RandomForestRegressor: return "random_forest_regressor";
    }
    throw Error(ErrorKind::Internal, "unknown algorithm code");
}

bool is_classifier(Algorithm a) {
    return a != Algorithm::LinearRegression && a != Algorithm::Ridge && a != Algorithm::RandomForestRegressor;
}

bool is_forest(Algorithm a) { return a == Algorithm::RandomForest || a == Algorithm::RandomForestRegressor; }

bool has_summation_form(Algorithm a) {
    return a == Algorithm::LinearRegression || a == Algorithm::Ridge || a == Algorithm::NaiveBayes;
}

Strategy parse_strategy(const std::string &name, Algorithm a) {
    const bool summation = has_summation_form(a);
    if (is_forest(a)) {
        if (name == "auto" || name == "dare") return Strategy::Dare;
        if (name == "incremental" || name == "sisa" || name == "certified")
            throw Error(ErrorKind::FeatureNotSupported,
                        "strategy \"" + name + "\" is not for " + algorithm_name(a) +
                            ", which forgets exactly by updating its trees",
                        "Use strategy 'dare' (or 'auto').");
        throw Error(ErrorKind::InvalidParameter, "unknown strategy \"" + name + "\"", "Use auto or dare.");
    }
    if (name == "dare")
        throw Error(ErrorKind::FeatureNotSupported,
                    std::string("strategy \"dare\" is for random forests, not ") + algorithm_name(a),
                    "Use strategy 'auto'.");
    if (name == "auto") return summation ? Strategy::Incremental : Strategy::Sisa;
    if (name == "incremental" && summation) return Strategy::Incremental;
    if (name == "incremental")
        throw Error(ErrorKind::InvalidParameter,
                    std::string("strategy \"incremental\" needs a summation form, which ") + algorithm_name(a) +
                        " does not have",
                    "Use strategy 'sisa' (or 'auto').");
    if (name == "sisa" && !summation) return Strategy::Sisa;
    if (name == "sisa")
        throw Error(ErrorKind::FeatureNotSupported,
                    std::string("strategy \"sisa\" is for iterative algorithms; ") + algorithm_name(a) +
                        " forgets exactly by decrement",
                    "Use strategy 'incremental' (or 'auto').");
    if (name == "certified" && a == Algorithm::LogisticRegression) return Strategy::Certified;
    if (name == "certified")
        throw Error(ErrorKind::FeatureNotSupported,
                    std::string("strategy \"certified\" is for logistic_regression, not ") + algorithm_name(a),
                    summation ? "Use strategy 'incremental' (or 'auto'): it forgets exactly."
                              : "Use strategy 'sisa' (or 'auto').");
    throw Error(ErrorKind::InvalidParameter, "unknown strategy \"" + name + "\"",
                "Use one of auto, incremental, sisa, certified.");
}

const char *strategy_name(Strategy s) {
    return s == Strategy::Sisa ? "sisa" : s == Strategy::Certified ? "certified" : s == Strategy::Dare ? "dare" : "incremental";
}

CertifiedOptions certified_options(const Options &o) {
    CertifiedOptions c;
    c.l2 = o.l2;
    c.noise = o.noise;
    c.epsilon = o.epsilon;
    c.delta = o.delta;
    c.seed = o.seed;
    return c;
}

MlpOptions mlp_options(const Options &o) {
    MlpOptions m;
    m.hidden = o.hidden;
    m.layers = o.layers;
    m.epochs = o.epochs;
    m.tol = o.tol;
    m.n_iter_no_change = o.n_iter_no_change;
    m.batch_size = o.batch_size;
    m.learning_rate = o.learning_rate;
    m.l2 = o.l2;
    m.seed = static_cast<uint64_t>(o.seed);
    return m;
}

ForestOptions forest_options(const Options &o, int features) {
    ForestOptions f;
    f.n_estimators = o.n_estimators;
    f.max_depth = o.max_depth;
    f.min_samples_leaf = o.min_samples_leaf;
    f.k = o.k;
    f.random_depth = o.random_depth;
    if (o.cell_bits > 0) f.cell_bits = o.cell_bits;
    f.seed = static_cast<uint64_t>(o.seed);
    const double p = std::max(1, features);
    f.max_features = o.max_features == -1 ? std::floor(std::sqrt(p))
                     : o.max_features == -2 ? std::floor(std::log2(p))
                                            : o.max_features;
    if (f.max_features != 0 && f.max_features < 1) f.max_features = std::max(f.max_features, 1.0 / p);
    return f;
}

namespace {
int int_option(const std::string &key, double v, double lo, double hi) {
    if (v != std::floor(v) || v < lo || v > hi)
        throw Error(ErrorKind::InvalidParameter, "option \"" + key + "\" must be an integer between " +
                                                     std::to_string(static_cast<long long>(lo)) + " and " +
                                                     std::to_string(static_cast<long long>(hi)));
    return static_cast<int>(v);
}
}  // namespace

Options parse_options(Algorithm a, const std::map<std::string, double> &raw) {
    Options o;
    const bool regularised = a == Algorithm::Ridge || a == Algorithm::LogisticRegression || a == Algorithm::Mlp;
    if (a == Algorithm::Ridge || a == Algorithm::LogisticRegression) o.l2 = 1.0;  // Ridge()'s alpha, LogisticRegression()'s C
    if (a == Algorithm::Mlp) o.l2 = 1e-4;                                         // MLPClassifier()'s alpha
    const char *valid = is_forest(a) ? "Valid options: n_estimators, max_depth, min_samples_leaf, max_features, k, random_depth, cell_bits, seed, holdout, on_insert."
                        : a == Algorithm::Mlp ? "Valid options: hidden, layers, epochs, tol, n_iter_no_change, batch_size, learning_rate, l2, seed, holdout, aggregation, on_insert."
                        : a == Algorithm::LogisticRegression ? "Valid options: l2, seed, holdout, aggregation, on_insert; noise, epsilon, delta (certified)."
                        : a == Algorithm::Ridge ? "Valid options: l2, seed, holdout, on_insert."
                                                : "Valid options: seed, holdout, on_insert.";
    for (const auto &kv : raw) {
        const std::string &k = kv.first;
        const double v = kv.second;
        if (k == "l2" && regularised) {
            if (!(a == Algorithm::Mlp ? v >= 0.0 : v > 0.0) || !std::isfinite(v))
                throw Error(ErrorKind::InvalidParameter,
                            a == Algorithm::Mlp ? "option \"l2\" must be zero or positive" : "option \"l2\" must be a positive number",
                            a == Algorithm::Ridge ? "Ridge's alpha, as in scikit-learn's Ridge(alpha=...)."
                            : a == Algorithm::Mlp ? "Weight decay, as scikit-learn's MLPClassifier(alpha=...)."
                                                  : "The inverse of scikit-learn's C: LogisticRegression(C=1/l2).");
            o.l2 = v;
        } else if (k == "holdout") {
            if (!(v >= 0.0 && v <= 0.9))
                throw Error(ErrorKind::InvalidParameter, "option \"holdout\" must be a fraction between 0 and 0.9",
                            "The share of rows kept out of training, for membership inference and forgetting evidence.");
            o.holdout = v;
        } else if (k == "seed") {
            if (v != std::floor(v) || std::fabs(v) > 9e15)
                throw Error(ErrorKind::InvalidParameter, "option \"seed\" must be an integer");
            o.seed = static_cast<int64_t>(v);
        } else if (a == Algorithm::LogisticRegression && (k == "noise" || k == "epsilon" || k == "delta")) {
            if (!(v > 0) || !std::isfinite(v) || (k == "delta" && !(v < 1)))
                throw Error(ErrorKind::InvalidParameter,
                            "option \"" + k + "\" must be " + (k == "delta" ? "between 0 and 1" : "a positive number"),
                            "Certified removal: noise is the σ of the objective perturbation; epsilon and delta the "
                            "(ε, δ) guarantee. Only strategy certified uses them.");
            (k == "noise" ? o.noise : k == "epsilon" ? o.epsilon : o.delta) = v;
        } else if (is_forest(a) && k == "n_estimators") {
            o.n_estimators = int_option(k, v, 1, kMaxTrees);
        } else if (is_forest(a) && k == "max_depth") {
            o.max_depth = int_option(k, v, 1, kMaxForestDepth);
        } else if (is_forest(a) && k == "min_samples_leaf") {
            o.min_samples_leaf = int_option(k, v, 1, 1000000);
        } else if (is_forest(a) && k == "k") {
            o.k = int_option(k, v, 1, kMaxCandidates);
        } else if (is_forest(a) && k == "random_depth") {
            o.random_depth = int_option(k, v, 0, kMaxForestDepth);
        } else if (is_forest(a) && k == "cell_bits") {
            o.cell_bits = int_option(k, v, 1, kMaxCellBits);
        } else if (is_forest(a) && k == "max_features") {
            // -1 and -2 stand for 'sqrt' and 'log2' (the boundary parses the words)
            if (!(v == -1 || v == -2 || (v > 0 && v <= 1) || (v > 1 && v == std::floor(v) && v <= 1600)))
                throw Error(ErrorKind::InvalidParameter,
                            "option \"max_features\" must be a fraction in (0, 1], a whole number of features, "
                            "\"sqrt\" or \"log2\"",
                            "The features each split considers, as scikit-learn's max_features.");
            o.max_features = v;
        } else if (a == Algorithm::Mlp && k == "hidden") {
            o.hidden = int_option(k, v, 1, 4096);
        } else if (a == Algorithm::Mlp && k == "layers") {
            o.layers = int_option(k, v, 1, 2);
        } else if (a == Algorithm::Mlp && k == "epochs") {
            o.epochs = int_option(k, v, 1, 10000);
        } else if (a == Algorithm::Mlp && k == "tol") {
            if (!(v >= 0.0) || !std::isfinite(v))
                throw Error(ErrorKind::InvalidParameter, "option \"tol\" must be zero or a positive number",
                            "Training stops when the loss has not improved by tol for more than n_iter_no_change "
                            "epochs, as scikit-learn's MLPClassifier(tol=...).");
            o.tol = v;
        } else if (a == Algorithm::Mlp && k == "n_iter_no_change") {
            o.n_iter_no_change = int_option(k, v, 1, 10000);
        } else if (a == Algorithm::Mlp && k == "batch_size") {
            o.batch_size = int_option(k, v, 1, 1000000);
        } else if (a == Algorithm::Mlp && k == "learning_rate") {
            if (!(v > 0.0) || !std::isfinite(v))
                throw Error(ErrorKind::InvalidParameter, "option \"learning_rate\" must be a positive number");
            o.learning_rate = v;
        } else {
            throw Error(ErrorKind::InvalidParameter, "unknown option \"" + k + "\" for algorithm " + algorithm_name(a),
                        valid);
        }
    }
    return o;
}

std::unique_ptr<Learner> make_learner(Algorithm a, const Options &o, int features, int classes) {
    if (a == Algorithm::LogisticRegression) {
        LogisticOptions lo;
        lo.l2 = o.l2;
        return std::make_unique<LogisticLearner>(features, classes, lo);
    }
    if (a == Algorithm::Mlp) return std::make_unique<MlpLearner>(features, classes, mlp_options(o));
    throw Error(ErrorKind::Internal, std::string(algorithm_name(a)) + " has no SISA learner");
}

ShardState empty_state(Algorithm a, int features) {
    if (a == Algorithm::NaiveBayes) return NaiveBayesStats(features);
    return LinearStats(features);
}

SummationForm &summation(ShardState &s) {
    if (auto *linear = std::get_if<LinearStats>(&s)) return *linear;
    if (auto *nb = std::get_if<NaiveBayesStats>(&s)) return *nb;
    throw Error(ErrorKind::Internal, "a SISA or certified shard has no summation form");
}

const SummationForm &summation(const ShardState &s) { return summation(const_cast<ShardState &>(s)); }

void merge_state(ShardState &base, const ShardState &delta, int sign) {
    std::visit(
        [&](auto &b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (!std::is_same_v<T, LinearStats> && !std::is_same_v<T, NaiveBayesStats>) {
                throw Error(ErrorKind::Internal, "only a summation-form state has deltas");
            } else {
                const T *d = std::get_if<T>(&delta);
                if (!d) throw Error(ErrorKind::CorruptState, "a state delta holds another algorithm");
                b.merge(*d, sign);
            }
        },
        base);
}

int64_t state_rows(const ShardState &s) {
    if (const auto *forest = std::get_if<ForestShard>(&s)) return forest->forest.rows();
    if (const auto *sisa = std::get_if<SisaShard>(&s)) return sisa->last.rows;
    if (const auto *cert = std::get_if<CertifiedShard>(&s)) return cert->state.rows;
    return summation(s).rows();
}

namespace {
// a sum's header, its limbs and their allocation's header
size_t sum_bytes(const ExactSum &e) { return sizeof(ExactSum) + (e.digits() ? 16 + 8 * e.digits() : 0); }
}  // namespace

size_t state_bytes(const ShardState &s) {
    if (const auto *forest = std::get_if<ForestShard>(&s)) return sizeof(ForestShard) + forest->forest.bytes();
    if (const auto *sisa = std::get_if<SisaShard>(&s))
        return sizeof(SisaShard) + (sisa->last.model ? 8 * static_cast<size_t>(sisa->last.model->parameters().size()) : 0);
    if (const auto *cert = std::get_if<CertifiedShard>(&s))
        return sizeof(CertifiedShard) +
               8 * static_cast<size_t>(cert->state.theta.size() + cert->state.hessian.size() + cert->state.gram.size());
    size_t b = sizeof(ShardState);
    if (const auto *lin = std::get_if<LinearStats>(&s))
        for (const ExactSum *e : lin->sums()) b += sum_bytes(*e);
    if (const auto *nb = std::get_if<NaiveBayesStats>(&s))
        for (const auto &kv : nb->classes())
            for (const auto *sums : {&kv.second.sx, &kv.second.sxx})
                for (const ExactSum &e : *sums) b += sum_bytes(e);
    return b;
}

std::vector<uint8_t> encode_checkpoint(Algorithm a, const ClassLabels &classes, const Checkpoint &c) {
    ByteWriter w;
    classes.encode(w);
    w.put<int32_t>(c.slice);
    w.put<int64_t>(c.rows);
    w.put<uint64_t>(c.digest);
    w.put<uint8_t>(c.model ? 1 : 0);
    if (c.model) c.model->encode(w);
    return frame(kStateMagic, static_cast<uint16_t>(a), w.bytes());
}

std::vector<uint8_t> encode_state(Algorithm a, const ShardState &s) {
    if (const auto *forest = std::get_if<ForestShard>(&s)) {
        // the forest's own encoding carries its version (forest.cpp); it is
        // megabytes, so it is written after room for the frame's header in a
        // buffer reserved for its upper bound (memory in its held form),
        // not copied into a frame or grown by doubling
        ByteWriter w;
        w.reserve(kFrameHeader + forest->forest.bytes());
        w.skip(kFrameHeader);
        if (a == Algorithm::RandomForest) forest->classes.encode(w);  // a regression has none
        forest->forest.encode(w);
        seal_frame(w.bytes(), kStateMagic, static_cast<uint16_t>(a));
        return w.take();
    }
    if (const auto *sisa = std::get_if<SisaShard>(&s)) return encode_checkpoint(a, sisa->classes, sisa->last);
    if (const auto *cert = std::get_if<CertifiedShard>(&s)) {
        ByteWriter w;
        cert->classes.encode(w);
        encode_certified(w, cert->state);
        return frame(kStateMagic, static_cast<uint16_t>(a) | kCertifiedKind, w.bytes());
    }
    ByteWriter w;
    std::visit(overloaded{
                   [&](const SisaShard &) {},
                   [&](const CertifiedShard &) {},
                   [&](const ForestShard &) {},
                   [&](const LinearStats &st) {
                       w.put<uint32_t>(static_cast<uint32_t>(st.features()));
                       w.put<int64_t>(st.rows());
                       for (const ExactSum *d : st.sums()) d->encode(w);
                   },
                   [&](const NaiveBayesStats &st) {
                       w.put<uint32_t>(static_cast<uint32_t>(st.features()));
                       w.put<uint32_t>(static_cast<uint32_t>(st.classes().size()));
                       for (const auto &kv : st.classes()) {
                           w.put<double>(kv.first);
                           w.put<int64_t>(kv.second.n);
                           for (const auto &d : kv.second.sx) d.encode(w);
                           for (const auto &d : kv.second.sxx) d.encode(w);
                       }
                   },
               },
               s);
    return frame(kStateMagic, static_cast<uint16_t>(a), w.bytes(), kExactStateFormat);
}

std::string state_difference(Algorithm a, const ShardState &ours, const ShardState &theirs) {
    if (encode_state(a, ours) == encode_state(a, theirs)) return "";
    const auto *fa = std::get_if<ForestShard>(&ours);
    const auto *fb = std::get_if<ForestShard>(&theirs);
    if (fa && fb) return fa->classes.labels() != fb->classes.labels() ? "the set of classes" : fa->forest.difference(fb->forest);
    const auto *la = std::get_if<LinearStats>(&ours);
    const auto *lb = std::get_if<LinearStats>(&theirs);
    if (la && lb && la->features() == lb->features()) {
        if (la->rows() != lb->rows()) return "n";
        const int q = la->features() + 2;
        auto name = [&](int k) { return k == q - 1 ? std::string("y") : "x" + std::to_string(k); };
        auto mine = la->sums();
        auto other = lb->sums();
        size_t i = 0;  // sums() order: the upper triangle of (1, x, y) without (0, 0)
        for (int r = 0; r < q; ++r)
            for (int c = r == 0 ? 1 : r; c < q; ++c, ++i)
                if (*mine[i] != *other[i])
                    return r == 0 ? "sum(" + name(c) + ")"
                           : r == c ? "sum(" + name(r) + "^2)"
                                    : "sum(" + name(r) + "*" + name(c) + ")";
    }
    const auto *na = std::get_if<NaiveBayesStats>(&ours);
    const auto *nb = std::get_if<NaiveBayesStats>(&theirs);
    if (na && nb && na->features() == nb->features()) {
        // classes by their rank, never by label: a label may be a value of
        // a forgotten row; a class that holds no row has no sums to compare
        auto held = [](const NaiveBayesStats &s) {
            size_t k = 0;
            for (const auto &kv : s.classes()) k += kv.second.n > 0;
            return k;
        };
        if (held(*na) != held(*nb)) return "the set of classes";
        int rank = 0;
        for (const auto &kv : na->classes()) {
            if (kv.second.n == 0) continue;
            auto it = nb->classes().find(kv.first);
            const std::string label = "class #" + std::to_string(++rank);
            if (it == nb->classes().end() || it->second.n == 0) return "the set of classes";
            if (kv.second.n != it->second.n) return label + ": n";
            for (size_t j = 0; j < kv.second.sx.size(); ++j) {
                if (kv.second.sx[j] != it->second.sx[j]) return label + ": sum(x" + std::to_string(j + 1) + ")";
                if (kv.second.sxx[j] != it->second.sxx[j]) return label + ": sum(x" + std::to_string(j + 1) + "^2)";
            }
        }
    }
    return "layout";
}

ShardState decode_state(Algorithm expected, int features, const uint8_t *data, size_t len, const Options &o,
                        bool forest_statistics) {
    uint16_t kind = 0, format = 0;
    ByteReader r = unframe(data, len, kStateMagic, &kind, &format);
    if (has_summation_form(expected) && kind == static_cast<uint16_t>(expected) && format < kExactStateFormat)
        old_sums();
    if (format != (has_summation_form(expected) ? kExactStateFormat : kFirstFormat))
        ByteReader::fail("unknown format version");
    if (kind == (static_cast<uint16_t>(expected) | kCertifiedKind) && expected == Algorithm::LogisticRegression) {
        if (features < 1 || features > static_cast<int>(kMaxFeatures)) ByteReader::fail("wrong number of features");
        CertifiedShard st;
        st.classes = ClassLabels::decode(r);
        if (st.classes.size() != 2) ByteReader::fail("a certified model has two classes");
        st.state = decode_certified(r, features);
        if (r.remaining()) ByteReader::fail("trailing bytes");
        return st;
    }
    if (kind != static_cast<uint16_t>(expected)) ByteReader::fail("state belongs to another algorithm");
    if (is_forest(expected)) {
        if (features < 1 || features > static_cast<int>(kMaxFeatures)) ByteReader::fail("wrong number of features");
        ClassLabels classes = expected == Algorithm::RandomForest ? ClassLabels::decode(r) : ClassLabels();
        Forest forest = Forest::decode(r, features, classes.size(), forest_statistics);
        if (r.remaining()) ByteReader::fail("trailing bytes");
        return ForestShard{std::move(classes), std::move(forest)};
    }
    if (!has_summation_form(expected)) {
        if (features < 1 || features > static_cast<int>(kMaxFeatures)) ByteReader::fail("wrong number of features");
        SisaShard st;
        st.classes = ClassLabels::decode(r);
        st.last.slice = r.get<int32_t>();
        st.last.rows = r.get<int64_t>();
        st.last.digest = r.get<uint64_t>();
        if (st.last.slice < 0 || st.last.rows < 0 || st.last.rows > kMaxRows) ByteReader::fail("bad checkpoint header");
        auto has_model = r.get<uint8_t>();
        if (has_model > 1) ByteReader::fail("bad checkpoint header");
        if (has_model) {
            std::unique_ptr<Learner> learner;
            try {
                learner = make_learner(expected, o, features, st.classes.size());
            } catch (const Error &) {
                ByteReader::fail("options do not match the stored model");
            }
            st.last.model = learner->decode(r);
        }
        if (r.remaining()) ByteReader::fail("trailing bytes");
        return st;
    }
    auto p = r.get<uint32_t>();
    if (p > kMaxFeatures || static_cast<int>(p) != features) ByteReader::fail("wrong number of features");
    // every sum takes at least two bytes: check before allocating
    if (expected == Algorithm::NaiveBayes) {
        NaiveBayesStats st(static_cast<int>(p));
        auto k = r.get<uint32_t>();
        if (k > NaiveBayesStats::kMaxClasses) ByteReader::fail("too many classes");
        for (uint32_t c = 0; c < k; ++c) {
            double label = r.get<double>();
            if (!std::isfinite(label) || st.classes().count(label)) ByteReader::fail("bad class label");
            auto n = r.get<int64_t>();
            if (n < 0 || n > kMaxRows) ByteReader::fail("bad class count");  // 0: a forgotten class
            r.need(2 * static_cast<size_t>(p) * 2);
            ClassStats &cs = st.class_stats(label);
            cs.n = n;
            for (auto &d : cs.sx) d = ExactSum::decode(r);
            for (auto &d : cs.sxx) d = ExactSum::decode(r);
            // a forgotten class holds no row: its sums are zero
            if (n == 0 && (std::any_of(cs.sx.begin(), cs.sx.end(), [](const ExactSum &d) { return d != ExactSum(); }) ||
                           std::any_of(cs.sxx.begin(), cs.sxx.end(), [](const ExactSum &d) { return d != ExactSum(); })))
                ByteReader::fail("bad class count");
        }
        if (r.remaining()) ByteReader::fail("trailing bytes");
        return st;
    }
    auto n = r.get<int64_t>();
    if (n < 0 || n > kMaxRows) ByteReader::fail("bad row count");
    r.need((static_cast<size_t>(p) + 2) * (p + 3) / 2 * 2 - 2);
    LinearStats st(static_cast<int>(p));
    st.set_rows(n);
    for (ExactSum *d : st.sums()) *d = ExactSum::decode(r);
    if (r.remaining()) ByteReader::fail("trailing bytes");
    return st;
}

FittedModel fit_model(Algorithm a, const Options &o, std::vector<ShardState> &&shards,
                      const std::vector<int> &reference) {
    auto *forest = shards.size() == 1 ? std::get_if<ForestShard>(&shards.front()) : nullptr;
    if (!forest) return fit_model(a, o, static_cast<const std::vector<ShardState> &>(shards), reference);
    const int64_t rows = forest->forest.rows();
    return FittedModel{a, ForestFit{std::move(forest->classes), std::make_shared<const Forest>(std::move(forest->forest)), rows}};
}

FittedModel fit_model(Algorithm a, const Options &o, const std::vector<ShardState> &shards,
                      const std::vector<int> &reference) {
    if (shards.empty()) throw Error(ErrorKind::CorruptState, "model has no shard state");
    if (const auto *first = std::get_if<ForestShard>(&shards.front())) {
        if (shards.size() != 1) throw Error(ErrorKind::CorruptState, "a forest has one shard");
        return FittedModel{a, ForestFit{first->classes, std::make_shared<const Forest>(first->forest), first->forest.rows()}};
    }
    if (const auto *first = std::get_if<CertifiedShard>(&shards.front())) {
        SisaFit f;  // shards aggregate as SISA's constituents do
        f.classes = first->classes;
        f.vote = o.vote;
        for (const auto &s : shards) {
            const auto *st = std::get_if<CertifiedShard>(&s);
            if (!st || st->classes.labels() != f.classes.labels())
                throw Error(ErrorKind::CorruptState, "shards hold different models");
            f.members.push_back(st->state.rows > 0 ? certified_constituent(st->state) : nullptr);
            f.rows += st->state.rows;
        }
        return FittedModel{a, std::move(f)};
    }
    if (const auto *first = std::get_if<SisaShard>(&shards.front())) {
        SisaFit f;
        f.classes = first->classes;
        f.vote = o.vote;
        for (const auto &s : shards) {
            const auto *st = std::get_if<SisaShard>(&s);
            if (!st || st->classes.labels() != f.classes.labels())
                throw Error(ErrorKind::CorruptState, "shards hold different models");
            f.members.push_back(st->last.rows > 0 ? st->last.model : nullptr);
            f.rows += st->last.rows;
        }
        return FittedModel{a, std::move(f)};
    }
    ShardState total = shards.front();
    for (size_t i = 1; i < shards.size(); ++i)
        std::visit(
            [&](auto &t) {
                using T = std::decay_t<decltype(t)>;
                const T *other = std::get_if<T>(&shards[i]);
                if (!other) throw Error(ErrorKind::CorruptState, "shards hold different algorithms");
                if constexpr (std::is_same_v<T, SisaShard> || std::is_same_v<T, CertifiedShard> ||
                              std::is_same_v<T, ForestShard>)
                    throw Error(ErrorKind::Internal, "unreachable");
                else t.merge(*other);
            },
            total);
    FittedModel m{a, LinearFit{}};
    std::visit(overloaded{
                   [&](const LinearStats &st) {
                       m.fit = a == Algorithm::Ridge ? st.solve(o.l2) : st.solve(0.0, reference);
                   },
                   [&](const NaiveBayesStats &st) { m.fit = st.solve(); },
                   [&](const SisaShard &) {},
                   [&](const CertifiedShard &) {},
                   [&](const ForestShard &) {},
               },
               total);
    return m;
}

namespace {
// A row of another layout (a category pruned since it was read) must be an
// error, not an Eigen assertion that aborts the backend.
void check_width(Eigen::Index got, Eigen::Index want) {
    if (got != want)
        throw Error(ErrorKind::Internal, "a row of " + std::to_string(got) + " values for a model of " +
                                             std::to_string(want) + " features");
}
}  // namespace

double FittedModel::predict(const Eigen::Ref<const Vector> &x) const {
    return std::visit(overloaded{
                          [&](const LinearFit &f) {
                              check_width(x.size(), f.coef.size());
                              return f.coef.dot(x) + f.intercept;
                          },
                          [&](const NaiveBayesFit &f) {
                              check_width(x.size(), f.theta.cols());
                              return f.predict(x);
                          },
                          [&](const SisaFit &f) {
                              Eigen::Index top;
                              f.proba(x.transpose()).row(0).maxCoeff(&top);  // first of equals, as numpy's argmax
                              return f.classes.label(static_cast<int>(top));
                          },
                          [&](const ForestFit &f) {
                              check_width(x.size(), f.forest->features());
                              // a Ref to a Vector is contiguous: its values in place, no copy per row
                              if (f.classes.size() == 0) return f.forest->predict_value(x.data());
                              return f.classes.label(f.forest->predict_class(x.data()));
                          },
                      },
                      fit);
}

Vector FittedModel::predict_proba(const Eigen::Ref<const Vector> &x) const {
    if (const auto *sisa = std::get_if<SisaFit>(&fit)) return sisa->proba(x.transpose()).row(0).transpose();
    if (const auto *forest = std::get_if<ForestFit>(&fit); forest && forest->classes.size() > 0) {
        check_width(x.size(), forest->forest->features());
        return forest->forest->predict_proba(x.data());  // a Ref to a Vector is contiguous
    }
    const auto *nb = std::get_if<NaiveBayesFit>(&fit);
    if (!nb)
        throw Error(ErrorKind::InvalidParameter,
                    std::string("predict_proba needs a classifier, and this model is ") + algorithm_name(algorithm),
                    "Use unlearn.predict for regression models.");
    check_width(x.size(), nb->theta.cols());
    return nb->predict_proba(x);
}

double FittedModel::loss(const Eigen::Ref<const Vector> &x, double y) const {
    if (!is_classifier(algorithm)) {
        const double e = predict(x) - y;
        return e * e;
    }
    int c = -1;
    if (const auto *sisa = std::get_if<SisaFit>(&fit)) {
        c = sisa->classes.index(y);
    } else if (const auto *forest = std::get_if<ForestFit>(&fit)) {
        c = forest->classes.index(y);
    } else {
        const auto &labels = std::get<NaiveBayesFit>(fit).classes;
        auto it = std::find(labels.begin(), labels.end(), y);
        c = it == labels.end() ? -1 : static_cast<int>(it - labels.begin());
    }
    const double p = c < 0 ? 0.0 : predict_proba(x)(c);
    return -std::log(std::max(p, 1e-15));
}

Vector FittedModel::parameters() const {
    return std::visit(overloaded{
                          [](const LinearFit &f) {
                              Vector v(f.coef.size() + 1);
                              v << f.coef, f.intercept;
                              return v;
                          },
                          [](const NaiveBayesFit &f) {
                              // the classes that hold rows: a forgotten class
                              // has no parameters, and a retrain never saw it
                              std::vector<Eigen::Index> held;
                              for (Eigen::Index c = 0; c < f.priors.size(); ++c)
                                  if (f.priors(c) > 0) held.push_back(c);
                              const Eigen::MatrixXd theta = f.theta(held, Eigen::all), var = f.var(held, Eigen::all);
                              Vector v(static_cast<Eigen::Index>(held.size()) + theta.size() + var.size());
                              v << f.priors(held), theta.reshaped(), var.reshaped();
                              return v;
                          },
                          [](const SisaFit &f) {
                              std::vector<double> all;
                              for (const auto &m : f.members)
                                  if (m) {
                                      Vector p = m->parameters();
                                      all.insert(all.end(), p.data(), p.data() + p.size());
                                  }
                              return Vector(Eigen::Map<Vector>(all.data(), static_cast<Eigen::Index>(all.size())));
                          },
                          [](const ForestFit &f) { return f.forest->importances(); },
                      },
                      fit);
}

int64_t FittedModel::rows() const {
    return std::visit([](const auto &f) { return f.rows; }, fit);
}

}  // namespace unlearn
