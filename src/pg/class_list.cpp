#include "class_list.hpp"

#include <algorithm>
#include <cstdio>

#include "error.hpp"
#include "rows.hpp"

namespace unlearn::pg {

// what: the function asked, for the error a regression model gives
std::vector<double> fit_classes(const FittedModel &fit, const char *what) {
    if (const auto *nb = std::get_if<NaiveBayesFit>(&fit.fit)) return nb->classes;
    if (const auto *sisa = std::get_if<SisaFit>(&fit.fit)) return sisa->classes.labels();
    if (const auto *forest = std::get_if<ForestFit>(&fit.fit); forest && forest->classes.size() > 0)
        return forest->classes.labels();
    throw Error(ErrorKind::InvalidParameter,
                std::string(what) + " needs a classifier, and this model is " + algorithm_name(fit.algorithm),
                "Use unlearn.predict for regression models.");
}

std::string number_label(double v) {
    char label[64];
    snprintf(label, sizeof(label), "%.17g", v);
    return label;
}

namespace {
ClassView build_class_view(const CachedModel &m, const std::vector<double> &fitted) {
    ClassView v;
    const Oid type = pg_call([&] {
        const AttrNumber a = get_attnum(m.meta.relation, m.meta.target.c_str());
        return a == InvalidAttrNumber ? InvalidOid : getBaseType(get_atttype(m.meta.relation, a));
    });
    if (!m.meta.classes.empty()) {
        for (size_t i = 0; i < m.meta.classes.size(); ++i) {
            v.names.push_back(category_label(type, m.meta.classes[i]));
            v.codes.push_back(static_cast<double>(i));
        }
    } else {
        for (double c : fitted) {
            v.names.push_back(type == BOOLOID ? (c != 0 ? "true" : "false") : number_label(c));
            v.codes.push_back(c);
        }
    }
    for (double c : fitted) v.slot_of_fitted.push_back(class_slot(v, c));
    return v;
}
}  // namespace

const ClassView &class_view(const CachedModel &m, const char *what) {
    if (!m.classes) m.classes = std::make_shared<const ClassView>(build_class_view(m, fit_classes(m.fit, what)));
    return *m.classes;
}

int class_slot(const ClassView &v, double code) {
    auto it = std::find(v.codes.begin(), v.codes.end(), code);
    return it == v.codes.end() ? -1 : static_cast<int>(it - v.codes.begin());
}

}  // namespace unlearn::pg
