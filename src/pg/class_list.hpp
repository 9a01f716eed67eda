// A classifier's classes as a reader sees them, in the order predict_proba
// gives them: fixed at training. A text or enum target's classes are its
// labels (the model knows them by position); a numeric target's are the
// labels the fit holds, a forgotten one kept with probability 0
// (naive_bayes.hpp; SISA and certified shards keep the training's list).
#pragma once

#include <string>
#include <vector>

#include "model_cache.hpp"

namespace unlearn::pg {

struct ClassView {
    std::vector<std::string> names;  // as a person reads them: text, an enum's label, a number, true/false
    std::vector<double> codes;       // what the fit calls each class, in the same order
    std::vector<int> slot_of_fitted;  // for each class of the fit, its place here (-1: none)
};

// The fit's class codes; what names the function asked, for the error a
// regression model gives.
std::vector<double> fit_classes(const FittedModel &fit, const char *what);
// Built once per cached model version (an enum label renamed since shows
// under its new name from the model's next version on).
const ClassView &class_view(const CachedModel &m, const char *what);
// The position of the fit's class code in the class list (-1: none).
int class_slot(const ClassView &v, double code);
// A number as JSON and labels write it: shortest exact form.
std::string number_label(double v);

}  // namespace unlearn::pg
