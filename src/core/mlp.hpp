// A small multilayer perceptron for SISA constituents: one or two ReLU
// hidden layers, softmax output, trained by seeded mini-batch Adam on inputs
// standardised with the statistics of the first slice that had rows, until
// the training loss stops improving (scikit-learn's MLPClassifier rule) or
// the epoch bound. Deterministic: the same rows in the same order, the same
// resume point and the same stream give bit-identical parameters.
//
// Stopping, and why a SISA retrain still equals training from scratch: each
// fit (one slice k, over the rows of slices 0..k) starts its own stopping
// state. After every epoch it takes the mean over the fit's rows of the
// mini-batch losses (cross-entropy plus l2/2 |W|^2, each batch's loss taken
// before its update, as scikit-learn's loss_curve_); an epoch whose loss is
// not below the best so far by tol counts as no improvement, and after more
// than n_iter_no_change such epochs in a row the fit stops. Nothing of it is
// carried from one slice to the next (like Adam's moments): the decision
// depends only on the fit's rows, its resume checkpoint, its seed stream and
// the slice number, all of which a retrain from the checkpoint before the
// deleted row's slice reproduces exactly.
#pragma once

#include "classifier.hpp"

namespace unlearn {

struct MlpOptions {
    int hidden = 32;     // units per hidden layer
    int layers = 1;      // hidden layers: 1 or 2
    int epochs = 200;    // at most this many passes (MLPClassifier's max_iter); slice k at most epochs/(k+1) over slices 0..k
    double tol = 1e-4;   // an epoch improves when its loss is below the best so far by tol
    int n_iter_no_change = 10;  // stop after more than this many epochs in a row without improvement
    int batch_size = 200;
    double learning_rate = 1e-3;
    double l2 = 1e-4;    // weight decay (scikit-learn's alpha)
    uint64_t seed = 0;
};

// Throws InvalidParameter for options out of range.
void check_mlp_options(const MlpOptions &o, int features, int classes);
// Weights and biases of the network.
double mlp_parameters(const MlpOptions &o, int features, int classes);
// Peak bytes of one fit besides its rows (x and its standardised copy, which
// the caller counts per row): the parameters, their gradient, its product
// temporary, Adam's two moments and the resumed checkpoint's copy (6 P), and
// one mini-batch's activations, deltas and their temporaries, three of each
// layer's width per row: 8 (6 P + 3 B (p + 2 H L + K)).
double mlp_training_bytes(const MlpOptions &o, int features, int classes);

struct MlpParams {
    Vector mean, scale;       // input standardisation
    std::vector<Matrix> w;    // layer l: out × in
    std::vector<Vector> b;
    int64_t rows = 0;
};

class MlpConstituent : public Constituent {
public:
    explicit MlpConstituent(MlpParams m) : m_(std::move(m)) {}
    Matrix proba(const RowMatrix &x) const override;
    Vector parameters() const override;
    void encode(ByteWriter &w) const override;
    const MlpParams &params() const { return m_; }

private:
    MlpParams m_;
};

class MlpLearner : public Learner {
public:
    MlpLearner(int features, int classes, MlpOptions o);
    ConstituentPtr fit(const RowMatrix &x, const std::vector<int> &y, const Constituent *resume,
                       uint64_t stream, int32_t slice = 0) const override;
    ConstituentPtr decode(ByteReader &r) const override;

private:
    int p_, k_;
    MlpOptions o_;
};

}  // namespace unlearn
