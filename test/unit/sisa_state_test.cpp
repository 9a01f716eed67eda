// SISA shard states as stored (model.hpp): a shard's last checkpoint round
// trips bit for bit, hostile bytes are CorruptState or decode to something
// usable (never a crash), a blob read with another network layout is
// refused, and the strategy and option names users type resolve as
// documented for logistic_regression and mlp.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "bytes.hpp"
#include "lineage.hpp"
#include "logistic.hpp"
#include "mlp.hpp"
#include "model.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr int kFeatures = 3, kSlices = 3;

// Labels deliberately not 0..K-1: the model maps them to class indices.
const std::vector<double> kLabels = {-1.0, 3.0, 7.0};

Options mlp_model_options() {
    Options o = parse_options(Algorithm::Mlp, {{"hidden", 5}, {"layers", 2}, {"epochs", 2}, {"batch_size", 16}});
    o.seed = 11;
    return o;
}

Options options_for(Algorithm a) {
    return a == Algorithm::Mlp ? mlp_model_options() : parse_options(a, {});
}

// One shard trained from seeded rows, as src/pg would store it.
SisaShard trained_shard(Algorithm a, int rows, uint32_t seed, uint64_t stream) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    ShardRows r;
    r.x.resize(rows, kFeatures);
    for (int i = 0; i < rows; ++i) {
        const int c = static_cast<int>(rng() % kLabels.size());
        const std::string key = std::to_string(seed) + ":" + std::to_string(i);
        r.y.push_back(c);
        r.keys.push_back(key);
        r.hash.push_back(key_hash(key));
        r.slice.push_back(slice_of(key, kSlices, 0));
        for (int j = 0; j < kFeatures; ++j) r.x(i, j) = (c == j ? 2.0 : 0.0) + n01(rng);
    }
    r.sort_canonical();
    SisaShard s;
    s.classes = ClassLabels(kLabels);
    auto learner = make_learner(a, options_for(a), kFeatures, s.classes.size());
    s.last = train_slices(*learner, r, kSlices, 0, nullptr, stream).back();
    return s;
}

const SisaShard &as_sisa(const ShardState &s) { return std::get<SisaShard>(s); }

RowMatrix probe_rows() {
    RowMatrix x(4, kFeatures);
    x << 0, 0, 0, 2, 0, 0, 0, 2, 0, -1, 1, 3;
    return x;
}


// Decodes, and on success uses what it decoded: fit, predict, encode again.
void decode_and_use(Algorithm a, const Bytes &b) {
    ShardState s = decode_state(a, kFeatures, b.data(), b.size(), options_for(a));
    try {  // fitting may fail (a shard without rows), but only with unlearn::Error
        FittedModel m = fit_model(a, options_for(a), {s});
        (void)m.parameters();
        const Vector x = probe_rows().row(3).transpose();
        const double label = m.predict(x);
        EXPECT_GE(as_sisa(s).classes.index(label), 0) << "predicted a label the model does not have";
        Vector p = m.predict_proba(x);
        EXPECT_EQ(p.size(), as_sisa(s).classes.size());
    } catch (const Error &) {
    }
    Bytes again = encode_state(a, s);
    (void)decode_state(a, kFeatures, again.data(), again.size(), options_for(a));
}

Outcome outcome(Algorithm a, const Bytes &bytes, std::string *why) {
    return outcome_of([&] { decode_and_use(a, bytes); }, why);
}

// The frame is magic(4) format(2) kind(2) payload_len(4) checksum(8).
constexpr size_t kHeader = 20;
Bytes payload_of(const Bytes &blob) { return {blob.begin() + kHeader, blob.end()}; }
Bytes reframe(const Bytes &like, const Bytes &payload) {
    const char magic[4] = {char(like[0]), char(like[1]), char(like[2]), char(like[3])};
    const uint16_t kind = static_cast<uint16_t>(like[6] | like[7] << 8);
    return frame(magic, kind, payload);
}

}  // namespace

class SisaState : public ::testing::TestWithParam<Algorithm> {};

TEST_P(SisaState, RoundTripIsBitForBit) {
    const Algorithm a = GetParam();
    SisaShard s = trained_shard(a, 150, 1u, 2);
    ASSERT_NE(s.last.model, nullptr);
    EXPECT_EQ(s.last.slice, kSlices - 1);
    EXPECT_EQ(s.last.rows, 150);
    Bytes blob = encode_state(a, s);
    ShardState back = decode_state(a, kFeatures, blob.data(), blob.size(), options_for(a));
    const SisaShard &t = as_sisa(back);
    EXPECT_EQ(t.classes.labels(), kLabels);
    EXPECT_EQ(t.last.slice, s.last.slice);
    EXPECT_EQ(t.last.rows, s.last.rows);
    EXPECT_EQ(t.last.digest, s.last.digest);
    ASSERT_NE(t.last.model, nullptr);
    EXPECT_TRUE(t.last.model->parameters() == s.last.model->parameters());
    EXPECT_TRUE(t.last.model->proba(probe_rows()) == s.last.model->proba(probe_rows()));
    EXPECT_EQ(encode_state(a, back), blob);
    EXPECT_EQ(encode_checkpoint(a, s.classes, s.last), blob);
    EXPECT_EQ(state_rows(back), 150);
}

TEST_P(SisaState, ShardWithoutRowsRoundTrips) {
    const Algorithm a = GetParam();
    SisaShard s;
    s.classes = ClassLabels(kLabels);
    s.last.slice = 1;
    Bytes blob = encode_state(a, s);
    ShardState back = decode_state(a, kFeatures, blob.data(), blob.size(), options_for(a));
    EXPECT_EQ(as_sisa(back).last.model, nullptr);
    EXPECT_EQ(state_rows(back), 0);
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { fit_model(a, options_for(a), {back}).predict(Vector::Zero(kFeatures)); }));
}

// fit_model over shards: the mean of the shards' constituents, class labels
// (not indices) out of predict, and every shard's parameters in order.
TEST_P(SisaState, FittedModelAggregatesTheShards) {
    const Algorithm a = GetParam();
    std::vector<ShardState> shards;
    for (uint32_t s = 0; s < 3; ++s) {
        Bytes blob = encode_state(a, trained_shard(a, 120 + 10 * static_cast<int>(s), 10u + s, s));
        shards.push_back(decode_state(a, kFeatures, blob.data(), blob.size(), options_for(a)));
    }
    SisaShard empty;
    empty.classes = ClassLabels(kLabels);
    shards.push_back(empty);  // a shard whose rows were all forgotten
    FittedModel m = fit_model(a, options_for(a), shards);
    EXPECT_EQ(m.rows(), 120 + 130 + 140);
    const RowMatrix x = probe_rows();
    Matrix mean = Matrix::Zero(x.rows(), 3);
    std::vector<double> all;
    for (size_t s = 0; s < 3; ++s) {
        const ConstituentPtr &c = as_sisa(shards[s]).last.model;
        mean += c->proba(x) / 3.0;
        Vector p = c->parameters();
        all.insert(all.end(), p.data(), p.data() + p.size());
    }
    EXPECT_TRUE(m.parameters() == Eigen::Map<Vector>(all.data(), static_cast<Eigen::Index>(all.size())));
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
        Vector p = m.predict_proba(x.row(i).transpose());
        ASSERT_EQ(p.size(), 3);
        for (int c = 0; c < 3; ++c) EXPECT_NEAR(p(c), mean(i, c), 1e-15) << "row " << i;
        Eigen::Index top;
        mean.row(i).maxCoeff(&top);
        EXPECT_EQ(m.predict(x.row(i).transpose()), kLabels[static_cast<size_t>(top)]) << "row " << i;
    }
}

TEST_P(SisaState, EveryTruncationIsCorruptState) {
    const Algorithm a = GetParam();
    const Bytes blob = encode_state(a, trained_shard(a, 60, 3u, 1));
    const Bytes payload = payload_of(blob);
    std::string why;
    for (size_t n = 0; n < blob.size(); ++n) {
        Bytes cut(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(n));
        ASSERT_EQ(outcome(a, cut, &why), Outcome::Rejected) << "first " << n << " bytes " << why;
    }
    // past the checksum: the parser itself must see the end coming
    for (size_t n = 0; n < payload.size(); ++n) {
        Bytes cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n));
        ASSERT_EQ(outcome(a, reframe(blob, cut), &why), Outcome::Rejected) << "payload of " << n << " bytes " << why;
    }
    Bytes longer = payload;
    longer.push_back(0);
    EXPECT_EQ(outcome(a, reframe(blob, longer), &why), Outcome::Rejected) << "trailing byte " << why;
}

TEST_P(SisaState, EverySingleByteChangeIsRejectedOrSafe) {
    const Algorithm a = GetParam();
    const Bytes blob = encode_state(a, trained_shard(a, 60, 4u, 1));
    std::string why;
    // every position, every other value: the frame's checksum catches each
    for (size_t i = 0; i < blob.size(); ++i)
        for (int v = 1; v < 256; ++v) {
            Bytes bad = blob;
            bad[i] ^= static_cast<uint8_t>(v);
            ASSERT_EQ(outcome(a, bad, &why), Outcome::Rejected) << "byte " << i << " ^ " << v << " " << why;
        }
    // With a valid checksum the parser sees the change: it may decode (a
    // changed weight is just another weight), but then it must be usable.
    // Every value in the leading bytes (labels, checkpoint header, the
    // model's counts and class lists); past them, where the weights are,
    // every single-bit change and a few whole-byte ones (NaN, infinity).
    const Bytes payload = payload_of(blob);
    int accepted = 0;
    for (size_t i = 0; i < payload.size(); ++i) {
        std::vector<int> values = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff, 0x7f, 0xf0, 0x0f};
        if (i < 96) {
            values.clear();
            for (int v = 1; v < 256; ++v) values.push_back(v);
        }
        for (int v : values) {
            Bytes bad = payload;
            bad[i] ^= static_cast<uint8_t>(v);
            Outcome o = outcome(a, reframe(blob, bad), &why);
            ASSERT_NE(o, Outcome::Wrong) << "payload byte " << i << " ^ " << v << ": " << why;
            accepted += o == Outcome::Accepted;
        }
    }
    EXPECT_GT(accepted, 0);
}

TEST_P(SisaState, RandomPayloadDamageIsRejectedOrSafe) {
    const Algorithm a = GetParam();
    const Bytes blob = encode_state(a, trained_shard(a, 60, 5u, 1));
    const Bytes payload = payload_of(blob);
    std::mt19937_64 rng(6);
    std::string why;
    for (int t = 0; t < 3000; ++t) {
        Bytes bad = payload;
        for (int k = 0, m = 1 + static_cast<int>(rng() % 8); k < m; ++k) bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
        if (t % 4 == 0) bad.resize(rng() % (bad.size() + 1));
        ASSERT_NE(outcome(a, reframe(blob, bad), &why), Outcome::Wrong) << "case " << t << ": " << why;
    }
}

TEST_P(SisaState, BlobOfAnotherLayoutIsCorruptState) {
    const Algorithm a = GetParam();
    const Bytes blob = encode_state(a, trained_shard(a, 60, 7u, 1));
    for (int features : {kFeatures - 1, kFeatures + 1, 0, 1601})
        EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                                [&] { decode_state(a, features, blob.data(), blob.size(), options_for(a)); }))
            << features << " features";
    const Algorithm other = a == Algorithm::Mlp ? Algorithm::LogisticRegression : Algorithm::Mlp;
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                            [&] { decode_state(other, kFeatures, blob.data(), blob.size(), options_for(other)); }));
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                            [&] { decode_state(Algorithm::Ridge, kFeatures, blob.data(), blob.size()); }));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SisaState, ::testing::Values(Algorithm::LogisticRegression, Algorithm::Mlp),
                         [](const auto &info) { return std::string(algorithm_name(info.param)); });

TEST(SisaStateMlp, OtherNetworkOptionsAreCorruptState) {
    const Bytes blob = encode_state(Algorithm::Mlp, trained_shard(Algorithm::Mlp, 60, 8u, 1));
    auto with = [](const char *key, double v) {
        Options o = mlp_model_options();
        if (std::string(key) == "hidden") o.hidden = static_cast<int>(v);
        if (std::string(key) == "layers") o.layers = static_cast<int>(v);
        return o;
    };
    const std::vector<std::pair<std::string, Options>> other = {
        {"hidden 4", with("hidden", 4)}, {"hidden 6", with("hidden", 6)}, {"hidden 32", with("hidden", 32)},
        {"layers 1", with("layers", 1)}, {"hidden 0 (invalid)", with("hidden", 0)},
        {"layers 3 (invalid)", with("layers", 3)},
    };
    for (const auto &c : other)
        EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                                [&] { decode_state(Algorithm::Mlp, kFeatures, blob.data(), blob.size(), c.second); }))
            << c.first;
    // training options that do not shape the network do not matter to decoding
    Options o = mlp_model_options();
    o.epochs = 77;
    o.batch_size = 3;
    o.learning_rate = 0.5;
    o.seed = 1;
    EXPECT_NO_THROW(decode_state(Algorithm::Mlp, kFeatures, blob.data(), blob.size(), o));
}

// ---------------------------------------------------------------------------
// strategy and option names

TEST(SisaOptions, AutoStrategyIsSisaWithoutASummationForm) {
    for (Algorithm a : {Algorithm::LogisticRegression, Algorithm::Mlp}) {
        EXPECT_EQ(parse_algorithm(algorithm_name(a)), a);
        EXPECT_TRUE(is_classifier(a));
        EXPECT_FALSE(has_summation_form(a));
        EXPECT_EQ(parse_strategy("auto", a), Strategy::Sisa) << algorithm_name(a);
        EXPECT_EQ(parse_strategy("sisa", a), Strategy::Sisa) << algorithm_name(a);
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { parse_strategy("incremental", a); }))
            << algorithm_name(a);
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { parse_strategy("magic", a); }))
            << algorithm_name(a);
    }
    EXPECT_STREQ(algorithm_name(Algorithm::LogisticRegression), "logistic_regression");
    EXPECT_STREQ(algorithm_name(Algorithm::Mlp), "mlp");
    EXPECT_STREQ(strategy_name(Strategy::Sisa), "sisa");
    for (Algorithm a : {Algorithm::Ridge, Algorithm::LinearRegression, Algorithm::NaiveBayes})
        EXPECT_EQ(parse_strategy("auto", a), Strategy::Incremental) << algorithm_name(a);
}

TEST(SisaOptions, DefaultsAreScikitLearns) {
    const Options lr = parse_options(Algorithm::LogisticRegression, {});
    EXPECT_EQ(lr.l2, 1.0);  // LogisticRegression(C=1.0)
    const Options mlp = parse_options(Algorithm::Mlp, {});
    EXPECT_EQ(mlp.l2, 1e-4);  // MLPClassifier(alpha=1e-4)
    EXPECT_EQ(mlp.learning_rate, 1e-3);  // learning_rate_init
    EXPECT_EQ(mlp.batch_size, 200);
    EXPECT_EQ(mlp.epochs, 200);  // max_iter
    EXPECT_EQ(mlp.tol, 1e-4);
    EXPECT_EQ(mlp.n_iter_no_change, 10);
    const MlpOptions view = mlp_options(parse_options(Algorithm::Mlp, {{"tol", 0.5}, {"n_iter_no_change", 3}}));
    EXPECT_EQ(view.tol, 0.5);
    EXPECT_EQ(view.n_iter_no_change, 3);
    const Options set = parse_options(Algorithm::Mlp, {{"hidden", 64}, {"layers", 2}, {"epochs", 5},
                                                       {"batch_size", 50}, {"learning_rate", 0.01}, {"l2", 0},
                                                       {"seed", -3}});
    EXPECT_EQ(set.hidden, 64);
    EXPECT_EQ(set.layers, 2);
    EXPECT_EQ(set.epochs, 5);
    EXPECT_EQ(set.batch_size, 50);
    EXPECT_EQ(set.learning_rate, 0.01);
    EXPECT_EQ(set.l2, 0.0);
    EXPECT_EQ(set.seed, -3);
    EXPECT_EQ(parse_options(Algorithm::LogisticRegression, {{"l2", 0.25}, {"seed", 9}}).l2, 0.25);
}

TEST(SisaOptions, BadOptionsAreInvalid) {
    using Raw = std::map<std::string, double>;
    const Algorithm LR = Algorithm::LogisticRegression, MLP = Algorithm::Mlp;
    const std::vector<std::pair<Algorithm, Raw>> bad = {
        {LR, {{"C", 1.0}}},  // unknown keys
        {LR, {{"alpha", 1.0}}},
        {MLP, {{"hidden_layer_sizes", 10}}},
        {MLP, {{"shards", 4}}},
        {LR, {{"hidden", 8}}},  // mlp options are not logistic regression's
        {LR, {{"layers", 1}}},
        {LR, {{"epochs", 10}}},
        {LR, {{"batch_size", 10}}},
        {LR, {{"learning_rate", 0.1}}},
        {Algorithm::Ridge, {{"hidden", 8}}},
        {Algorithm::NaiveBayes, {{"epochs", 8}}},
        {LR, {{"l2", 0.0}}},  // LogisticRegression's C must be finite and positive
        {LR, {{"l2", -1.0}}},
        {LR, {{"l2", NAN}}},
        {MLP, {{"l2", -1.0}}},
        {MLP, {{"l2", INFINITY}}},
        {MLP, {{"hidden", 0}}},
        {MLP, {{"hidden", 4097}}},
        {MLP, {{"hidden", 2.5}}},
        {MLP, {{"layers", 0}}},
        {MLP, {{"layers", 3}}},
        {MLP, {{"epochs", 0}}},
        {MLP, {{"epochs", 10001}}},
        {MLP, {{"tol", -1e-4}}},
        {MLP, {{"tol", INFINITY}}},
        {MLP, {{"n_iter_no_change", 0}}},
        {MLP, {{"n_iter_no_change", 1.5}}},
        {LR, {{"tol", 1e-4}}},
        {MLP, {{"batch_size", 0}}},
        {MLP, {{"learning_rate", 0.0}}},
        {MLP, {{"learning_rate", NAN}}},
        {MLP, {{"seed", 0.5}}},
    };
    for (const auto &c : bad) {
        std::string shown;
        for (const auto &kv : c.second) shown += kv.first + "=" + std::to_string(kv.second) + " ";
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { parse_options(c.first, c.second); }))
            << algorithm_name(c.first) << ": " << shown;
    }
}

// ---------------------------------------------------------------------------
// Found by review, fixed: decode_state() accepted any checkpoint row count >= 0, and
// fit_model() then adds the shards' counts (`f.rows += st->last.rows`) in
// int64_t: two shards of 2^63 - 2 rows overflow, undefined behaviour (UBSan:
// "signed integer overflow"), in practice a negative row count. The same
// defect as naive Bayes' class counts (hostile_bytes_test.cpp).
TEST(SisaState, RowCountsWhoseTotalOverflowsAreCorrupt) {
    const Algorithm a = Algorithm::LogisticRegression;
    SisaShard s = trained_shard(a, 60, 9u, 1);
    s.last.rows = INT64_MAX - 1;
    const Bytes blob = encode_state(a, s);
    try {
        std::vector<ShardState> shards;
        for (int k = 0; k < 2; ++k) shards.push_back(decode_state(a, kFeatures, blob.data(), blob.size(), options_for(a)));
        FittedModel m = fit_model(a, options_for(a), shards);
        EXPECT_GE(m.rows(), INT64_MAX - 1) << "the total row count overflowed";
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::CorruptState) << e.what();
    }
}
