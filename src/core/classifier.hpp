// What SISA needs from an iterative classifier: a constituent model that
// gives class probabilities and serialises itself, and a learner that
// trains one, optionally resuming from an earlier constituent. Any
// algorithm with these two pieces plugs into the sisa strategy.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Dense>

#include "bytes.hpp"
#include "linear_stats.hpp"

namespace unlearn {

using Matrix = Eigen::MatrixXd;

class Constituent {
public:
    virtual ~Constituent() = default;
    // n × K probabilities over the model's K classes (rows sum to 1)
    virtual Matrix proba(const RowMatrix &x) const = 0;
    // the numbers verify compares, in a fixed order
    virtual Vector parameters() const = 0;
    virtual void encode(ByteWriter &w) const = 0;
};

using ConstituentPtr = std::shared_ptr<const Constituent>;

class Learner {
public:
    virtual ~Learner() = default;
    // y holds class indices in [0, K). resume is the checkpoint of the
    // previous slice (or null); stream separates the random streams of
    // shards and slices; x holds slices 0..slice. The same arguments give
    // bit-identical results.
    virtual ConstituentPtr fit(const RowMatrix &x, const std::vector<int> &y, const Constituent *resume,
                               uint64_t stream, int32_t slice = 0) const = 0;
    virtual ConstituentPtr decode(ByteReader &r) const = 0;
};

// What a class label is, one rule for every classifier (naive_bayes,
// logistic_regression, mlp, certified logistic regression): a finite
// integer-valued number within ±2^53, and a target has at most
// kMaxClassLabels distinct ones; more is taken for a continuous target.
// Both throw DataException (22000) with a hint that says the fix.
constexpr size_t kMaxClassLabels = 100;
void check_class_label(double v);
void check_class_count(size_t distinct);

// Integer class labels, sorted: the target's values map to indices.
class ClassLabels {
public:
    static constexpr size_t kMaxClasses = kMaxClassLabels;
    ClassLabels() = default;
    explicit ClassLabels(std::vector<double> sorted_labels);
    // Validates and collects the distinct labels of y (integers only).
    static ClassLabels of(const Vector &y);
    int index(double label) const;  // -1 when unknown
    double label(int i) const { return labels_.at(static_cast<size_t>(i)); }
    int size() const { return static_cast<int>(labels_.size()); }
    const std::vector<double> &labels() const { return labels_; }
    void encode(ByteWriter &w) const;
    static ClassLabels decode(ByteReader &r);

private:
    std::vector<double> labels_;
};

// A deterministic random stream (splitmix64): same seed, same numbers on
// every platform, unlike std:: distributions.
class Stream {
public:
    explicit Stream(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    uint64_t below(uint64_t n) { return next() % n; }

private:
    uint64_t s_;
};

inline uint64_t mix_seed(uint64_t a, uint64_t b) { return Stream(a * 0x9e3779b97f4a7c15ULL ^ b).next(); }

// Reads count finite doubles into a vector of that size.
Vector get_finite(ByteReader &r, size_t count);
void put_vector(ByteWriter &w, const Eigen::Ref<const Vector> &v);

}  // namespace unlearn
