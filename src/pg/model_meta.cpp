#include "model_meta.hpp"

#include <map>

#include "error.hpp"

namespace unlearn::pg {

LineageLayout lineage_layout(const ModelMeta &m, bool shard_major) {
    return LineageLayout{m.shards, m.slices, m.buckets, m.options.seed, shard_major};
}

bool has_categorical_feature(Oid relid, const std::vector<std::string> &features) {
    for (const auto &f : features)
        if (pg_call([&] {
                const AttrNumber att = get_attnum(relid, f.c_str());
                return att != InvalidAttrNumber && is_category_type(getBaseType(get_atttype(relid, att)));
            }))
            return true;
    return false;
}

int width(const ModelMeta &m) {
    int w = 0;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        w += it == m.categories.end() ? 1 : static_cast<int>(it->second.size());
    }
    return w;
}

std::vector<std::string> column_names(const ModelMeta &m) {
    std::vector<std::string> out;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        if (it == m.categories.end()) {
            out.push_back(f);
            continue;
        }
        // an enum category is its label's OID: shown by the label it has now
        const Oid type = pg_call([&] {
            const AttrNumber att = get_attnum(m.relation, f.c_str());
            return att == InvalidAttrNumber ? InvalidOid : getBaseType(get_atttype(m.relation, att));
        });
        for (const auto &c : it->second) out.push_back(f + "=" + (type == InvalidOid ? c : category_label(type, c)));
    }
    return out;
}

namespace {
// least squares with an intercept leaves each categorical feature's first
// category out (it is the reference); ridge and naive Bayes keep them all
std::vector<int> reference_columns(const ModelMeta &m) {
    std::vector<int> reference;
    int at = 0;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        int k = it == m.categories.end() ? 1 : static_cast<int>(it->second.size());
        if (it != m.categories.end() && k > 0 && m.algorithm == Algorithm::LinearRegression) reference.push_back(at);
        at += k;
    }
    return reference;
}
}  // namespace

FittedModel fit_meta(const ModelMeta &m, const std::vector<ShardState> &states) {
    return fit_model(m.algorithm, m.options, states, reference_columns(m));
}

FittedModel fit_meta(const ModelMeta &m, std::vector<ShardState> &&states) {
    return fit_model(m.algorithm, m.options, std::move(states), reference_columns(m));
}

bool prune_categories(ModelMeta &m, std::vector<ShardState> &states) {
    bool changed = false;
    int at = 0;
    for (const auto &f : m.features) {
        auto it = m.categories.find(f);
        if (it == m.categories.end()) {
            ++at;
            continue;
        }
        auto &vocab = it->second;
        for (size_t c = 0; c < vocab.size();) {
            double total = 0;
            for (const auto &s : states) total += summation(s).column_total(at + static_cast<int>(c));
            if (total == 0.0) {
                for (auto &s : states) summation(s).drop_feature(at + static_cast<int>(c));
                vocab.erase(vocab.begin() + static_cast<std::ptrdiff_t>(c));
                changed = true;
            } else {
                ++c;
            }
        }
        at += static_cast<int>(vocab.size());
    }
    return changed;
}

const Options &stored_options(Spi &spi, Algorithm algorithm, const std::string &json) {
    static std::map<std::pair<int, std::string>, Options> parsed;
    auto key = std::make_pair(static_cast<int>(algorithm), json);
    auto it = parsed.find(key);
    if (it == parsed.end()) {
        if (parsed.size() > 1000) parsed.clear();
        it = parsed.emplace(key, parse_model_options(spi, algorithm, json)).first;
    }
    return it->second;
}

Options parse_model_options(Spi &spi, Algorithm algorithm, const std::string &json) {
    const char *hint = "Write options as a JSON object, e.g. '{\"l2\": 0.5, \"on_insert\": \"learn\"}'.";
    if (spi.exec("SELECT 1 WHERE jsonb_typeof($1::text::jsonb) <> 'object'", {text_param(json)}).rows() > 0)
        throw Error(ErrorKind::InvalidParameter, "options must be a JSON object", hint);
    SpiResult r = spi.exec(
        "SELECT key, jsonb_typeof(value), CASE WHEN jsonb_typeof(value) = 'number' THEN value::text::float8 END, "
        "value #>> '{}' FROM jsonb_each($1::text::jsonb)",
        {text_param(json)});
    std::map<std::string, double> numbers;
    std::string on_insert, monitor_group;
    double impact_warning = -1;
    bool vote = false, retrain_inline = false;
    for (uint64 i = 0; i < r.rows(); ++i) {
        std::string key = r.str(i, 1);
        std::string type = r.str(i, 2);
        if (key == "on_insert") {
            std::string v = type == "string" ? r.str(i, 4) : "";
            if (v != "learn" && v != "ignore")
                throw Error(ErrorKind::InvalidParameter, "option \"on_insert\" must be \"learn\" or \"ignore\"",
                            "\"learn\" adds inserted rows to the model; \"ignore\" (the default) leaves them out.");
            on_insert = v;
            continue;
        }
        if (key == "retrain") {
            std::string v = type == "string" ? r.str(i, 4) : "";
            if (v != "background" && v != "inline")
                throw Error(ErrorKind::InvalidParameter, "option \"retrain\" must be \"background\" or \"inline\"",
                            "\"background\" (the default) serves a shard's last clean checkpoint at commit and retrains "
                            "the rest after it; \"inline\" retrains inside the DELETE.");
            retrain_inline = v == "inline";
            continue;
        }
        if (key == "monitor_group") {
            monitor_group = type == "string" ? r.str(i, 4) : "";
            if (monitor_group.empty())
                throw Error(ErrorKind::InvalidParameter, "option \"monitor_group\" must name a column",
                            "Each DELETE then reports the holdout metric of every group of that column.");
            continue;
        }
        if (key == "impact_warning") {
            const double v = type == "number" ? r.float8(i, 3) : -1;
            if (!(v >= 0 && v <= 1))
                throw Error(ErrorKind::InvalidParameter, "option \"impact_warning\" must be a number between 0 and 1",
                            "The worsening of a group's holdout accuracy (or relative RMSE) that raises a WARNING.");
            impact_warning = v;
            continue;
        }
        if (key == "max_features" && is_forest(algorithm) && type == "string") {
            const std::string v = r.str(i, 4);
            if (v != "sqrt" && v != "log2")
                throw Error(ErrorKind::InvalidParameter,
                            "option \"max_features\" must be a fraction in (0, 1], a whole number of features, "
                            "\"sqrt\" or \"log2\"",
                            "The features each split considers, as scikit-learn's max_features.");
            numbers[key] = v == "sqrt" ? -1 : -2;  // parse_options' codes for the words
            continue;
        }
        if (key == "aggregation" && !has_summation_form(algorithm) && !is_forest(algorithm)) {
            std::string v = type == "string" ? r.str(i, 4) : "";
            if (v != "mean" && v != "vote")
                throw Error(ErrorKind::InvalidParameter, "option \"aggregation\" must be \"mean\" or \"vote\"",
                            "\"mean\" (the default) averages the shards' probabilities; \"vote\" takes their majority.");
            vote = v == "vote";
            continue;
        }
        if (type != "number")
            throw Error(ErrorKind::InvalidParameter, "option \"" + key + "\" must be a number", hint);
        numbers[key] = r.float8(i, 3);
    }
    Options out = parse_options(algorithm, numbers);
    out.vote = vote;
    out.learn_inserts = on_insert == "learn";
    out.retrain_inline = retrain_inline;
    out.monitor_group = monitor_group;
    if (impact_warning >= 0) out.impact_warning = impact_warning;
    if (!out.monitor_group.empty() && !(out.holdout > 0))
        throw Error(ErrorKind::InvalidParameter, "option \"monitor_group\" needs holdout rows",
                    "Add options.holdout, e.g. '{\"holdout\": 0.2, \"monitor_group\": \"district\"}'.");
    return out;
}

bool snapshot_bound(const ModelMeta &m) {
    return !m.created_here && pg_call([] { return IsolationUsesXactSnapshot(); });
}

}  // namespace unlearn::pg
