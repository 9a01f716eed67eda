// unlearn.forget_feature: a model stops using a column. How its state
// follows is the strategy's: summation-form statistics drop the feature's
// sums exactly, without reading the table; shard-trained models train again
// without it.
#include <algorithm>

#include "args.hpp"
#include "error.hpp"
#include "model_owner.hpp"
#include "strategy.hpp"

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_forget_feature) {
    const auto started = Clock::now();
    const std::string name = text_arg(fcinfo, 0, "model name");
    const std::string feature = text_arg(fcinfo, 1, "feature");
    Spi spi;
    check_may_change_model(spi, name, "change its features");
    lock_model(spi, name);  // a concurrent DELETE must not write a state with the old layout
    const ModelMeta m = load_model(spi, name);
    auto it = std::find(m.features.begin(), m.features.end(), feature);
    if (it == m.features.end())
        throw Error(ErrorKind::UndefinedColumn, "model \"" + name + "\" has no feature \"" + feature + "\"",
                    "unlearn.models.features lists the features the model uses.");
    if (m.features.size() == 1)
        throw Error(ErrorKind::InvalidParameter, "cannot forget \"" + feature + "\", the only feature of model \"" + name + "\"",
                    "Drop the model with unlearn.drop_model instead.");
    // the feature's columns: one, or one per category of a categorical feature
    int first = 0;
    for (auto f = m.features.begin(); f != it; ++f) {
        auto c = m.categories.find(*f);
        first += c == m.categories.end() ? 1 : static_cast<int>(c->second.size());
    }
    auto cat = m.categories.find(feature);
    const int count = cat == m.categories.end() ? 1 : static_cast<int>(cat->second.size());

    ModelChange change(spi, m, "forget_feature", "", started);
    ModelMeta &without = change.model;
    without.features.erase(without.features.begin() + (it - m.features.begin()));
    if (without.categories.erase(feature) > 0) delete_categories(spi, without, feature);
    write_features(spi, without);
    strategy_of(m.strategy).drop_feature(change, first, count);
    change.audit.rows = change.held();
    change.commit();
    PG_RETURN_VOID();
}
