// unlearn.export: a model's fitted parameters as one JSON document, for
// inspection and for use outside the database. It carries what the model
// computes with (coefficients, naive Bayes means and variances, each SISA
// shard's logistic weights or network layers with their input scaling),
// the class list, feature names and options: no row, key or lineage, and no
// summation-form sums (the sums a model forgets by are kept inside).
#include <string>

#include "args.hpp"
#include "class_list.hpp"
#include "error.hpp"
#include "evidence.hpp"
#include "logistic.hpp"
#include "mlp.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace {

std::string json_vector(const Eigen::Ref<const Vector> &v) {
    std::string out = "[";
    for (Eigen::Index i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_number(v(i));
    return out + "]";
}

// rows of numbers, as numpy's array of shape (rows, cols) writes them
std::string json_matrix(const Matrix &m) {
    std::string out = "[";
    for (Eigen::Index r = 0; r < m.rows(); ++r) out += (r ? ", " : "") + json_vector(m.row(r).transpose());
    return out + "]";
}

std::string json_strings(const std::vector<std::string> &v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_string(v[i]);
    return out + "]";
}

std::string shard_json(const Constituent *c, size_t shard, const ClassView &classes) {
    std::string out = "{\"shard\": " + std::to_string(shard);
    if (!c) return out + ", \"empty\": true}";
    if (const auto *lr = dynamic_cast<const LogisticConstituent *>(c)) {
        const LogisticParams &p = lr->params();
        std::vector<std::string> present;
        for (int k : p.present) present.push_back(classes.names.at(static_cast<size_t>(k)));
        // two present classes: one row, the log-odds of the second (scikit-learn's coef_)
        return out + ", \"classes\": " + json_strings(present) + ", \"coef\": " + json_matrix(p.coef) +
               ", \"intercept\": " + json_vector(p.intercept) + ", \"rows\": " + std::to_string(p.rows) + "}";
    }
    if (const auto *nn = dynamic_cast<const MlpConstituent *>(c)) {
        const MlpParams &p = nn->params();
        out += ", \"input_mean\": " + json_vector(p.mean) + ", \"input_scale\": " + json_vector(p.scale) + ", \"layers\": [";
        for (size_t l = 0; l < p.w.size(); ++l) {
            const bool last = l + 1 == p.w.size();
            out += std::string(l ? ", " : "") + "{\"shape\": [" + std::to_string(p.w[l].rows()) + ", " +
                   std::to_string(p.w[l].cols()) + "], \"activation\": \"" + (last ? "softmax" : "relu") +
                   "\", \"weights\": " + json_matrix(p.w[l]) + ", \"bias\": " + json_vector(p.b[l]) + "}";
        }
        return out + "], \"rows\": " + std::to_string(p.rows) + "}";
    }
    throw Error(ErrorKind::Internal, "a shard of an unknown kind");
}

std::string parameters_json(const CachedModel &m) {
    const std::vector<std::string> names = column_names(m.meta);
    if (const auto *lin = std::get_if<LinearFit>(&m.fit.fit))
        return "{\"coef\": " + json_vector(lin->coef) + ", \"intercept\": " + json_number(lin->intercept) + "}";
    // a forest's thresholds are the cells of rows it holds (1.6% wide by
    // default, exact for small integers): its trees stay inside
    if (std::get_if<ForestFit>(&m.fit.fit))
        return "{\"feature_importances\": " + json_vector(m.fit.parameters()) +
               ", \"trees\": \"not exported: their split thresholds locate held rows\"}";
    const ClassView &classes = class_view(m, "export");
    if (const auto *nb = std::get_if<NaiveBayesFit>(&m.fit.fit)) {
        // per class in the class list's order; a forgotten class has prior 0 and no parameters
        std::string out = "{\"epsilon\": " + json_number(nb->epsilon) + ", \"classes\": [";
        for (size_t c = 0; c < nb->classes.size(); ++c) {
            const auto r = static_cast<Eigen::Index>(c);
            const int slot = class_slot(classes, nb->classes[c]);
            out += std::string(c ? ", " : "") + "{\"class\": " +
                   json_string(slot < 0 ? number_label(nb->classes[c]) : classes.names[static_cast<size_t>(slot)]) +
                   ", \"prior\": " + json_number(nb->priors(r));
            if (nb->priors(r) > 0)
                out += ", \"mean\": " + json_vector(nb->theta.row(r).transpose()) + ", \"var\": " +
                       json_vector(nb->var.row(r).transpose());
            out += "}";
        }
        return out + "]}";
    }
    const auto &sisa = std::get<SisaFit>(m.fit.fit);
    std::string out = std::string("{\"aggregation\": \"") + (sisa.vote ? "vote" : "mean probability") + "\", \"shards\": [";
    for (size_t s = 0; s < sisa.members.size(); ++s) out += (s ? ", " : "") + shard_json(sisa.members[s].get(), s, classes);
    return out + "]}";
}

}  // namespace

UNLEARN_FUNCTION(unlearn_export) {
    const CachedModel &m = model_for_call(fcinfo);
    const ModelMeta &meta = m.meta;
    std::string json = "{\"format\": \"pg_unlearn model export\", \"format_version\": 1";
    json += ", \"model\": " + json_string(meta.name) + ", \"algorithm\": " + json_string(algorithm_name(meta.algorithm)) +
            ", \"strategy\": " + json_string(strategy_name(meta.strategy)) + ", \"shards\": " +
            std::to_string(meta.shards) + ", \"slices\": " + std::to_string(meta.slices) + ", \"version\": " +
            std::to_string(meta.version) + ", \"target\": " + json_string(meta.target) +
            ", \"features\": " + json_strings(meta.features) + ", \"columns\": " + json_strings(column_names(meta)) +
            ", \"rows\": " + std::to_string(m.fit.rows());
    if (is_classifier(meta.algorithm)) json += ", \"classes\": " + json_strings(class_view(m, "export").names);
    {
        Spi spi;  // the options as stored (validated at training)
        SpiResult r = spi.exec("SELECT options::text FROM unlearn.models WHERE model_id = $1", {int4_param(meta.id)});
        if (r.rows() == 1) json += ", \"options\": " + r.str(0, 1);
    }
    json += ", \"parameters\": " + parameters_json(m);
    json += ", \"holds\": \"fitted parameters, class list, feature names and options; no row, key, lineage or "
            "per-row value\"}";
    return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str())); });
}
