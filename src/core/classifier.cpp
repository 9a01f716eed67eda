#include "classifier.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "error.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

ClassLabels::ClassLabels(std::vector<double> sorted_labels) : labels_(std::move(sorted_labels)) {}

void check_class_label(double v) {
    if (v != std::floor(v) || std::fabs(v) > 9007199254740992.0)  // NaN and ±inf fail too
        throw Error(ErrorKind::DataException, "target holds a value that is not an integer class label",
                    "Classifiers need integer labels (e.g. 0/1, or 0..K-1); round or map the target first.");
}

void check_class_count(size_t distinct) {
    if (distinct > kMaxClassLabels)
        throw Error(ErrorKind::DataException,
                    "target has more than " + std::to_string(kMaxClassLabels) + " distinct class labels",
                    "Classifiers take at most " + std::to_string(kMaxClassLabels) +
                        " classes; for a continuous target use linear_regression or ridge.");
}

ClassLabels ClassLabels::of(const Vector &y) {
    std::set<double> seen;
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        const double v = y(i);
        check_class_label(v);
        if (seen.insert(v == 0 ? 0.0 : v).second) check_class_count(seen.size());
    }
    return ClassLabels(std::vector<double>(seen.begin(), seen.end()));
}

int ClassLabels::index(double label) const {
    auto it = std::lower_bound(labels_.begin(), labels_.end(), label);
    return it != labels_.end() && *it == label ? static_cast<int>(it - labels_.begin()) : -1;
}

void ClassLabels::encode(ByteWriter &w) const {
    w.put<uint32_t>(static_cast<uint32_t>(labels_.size()));
    for (double v : labels_) w.put<double>(v);
}

ClassLabels ClassLabels::decode(ByteReader &r) {
    auto k = r.get<uint32_t>();
    if (k < 2 || k > kMaxClasses) ByteReader::fail("bad number of classes");
    std::vector<double> labels;
    for (uint32_t i = 0; i < k; ++i) {
        double v = r.get<double>();
        if (!std::isfinite(v) || v != std::floor(v) || (!labels.empty() && v <= labels.back()))
            ByteReader::fail("bad class label");
        labels.push_back(v);
    }
    return ClassLabels(std::move(labels));
}

Vector get_finite(ByteReader &r, size_t count) {
    r.need(count * sizeof(double));
    Vector v(static_cast<Eigen::Index>(count));
    for (size_t i = 0; i < count; ++i) {
        v(static_cast<Eigen::Index>(i)) = r.get<double>();
        if (!std::isfinite(v(static_cast<Eigen::Index>(i)))) ByteReader::fail("non-finite parameter");
    }
    return v;
}

void put_vector(ByteWriter &w, const Eigen::Ref<const Vector> &v) {
    for (Eigen::Index i = 0; i < v.size(); ++i) w.put<double>(v(i));
}

}  // namespace unlearn
