// unlearn.predict (array and record forms), unlearn.predict_proba,
// unlearn.coefficients: the read path, served from the per-backend cache.
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <string_view>


#include "args.hpp"
#include "error.hpp"
#include "logistic.hpp"
#include "class_list.hpp"
#include "model_cache.hpp"
#include "rows.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace {

// The features of a float8[] argument, read in place (it is called once per
// row: no copy). False when an element is NULL: the prediction is then NULL.
bool features_from_array(FunctionCallInfo fcinfo, const CachedModel &m, Eigen::Map<const Vector> *out) {
    require_arg(fcinfo, 1, "features");
    // An array built in the query (ARRAY[...]) is plain: nothing to detoast
    // or expand, so nothing that could fail and no pg_call (a row's call
    // costs a few of them)
    const Datum d = PG_GETARG_DATUM(1);
    ArrayType *a = VARATT_IS_EXTENDED(DatumGetPointer(d)) ? pg_call([&] { return PG_GETARG_ARRAYTYPE_P(1); })
                                                          : reinterpret_cast<ArrayType *>(DatumGetPointer(d));
    if (ARR_NDIM(a) > 1 || ARR_ELEMTYPE(a) != FLOAT8OID)
        throw Error(ErrorKind::InvalidParameter, "features must be a one-dimensional float8 array");
    const int n = ARR_NDIM(a) == 1 ? ARR_DIMS(a)[0] : 0;  // a valid array's length: ArrayGetNItems' checks hold
    if (!m.meta.categories.empty())
        throw Error(ErrorKind::InvalidParameter, "model \"" + m.meta.name + "\" has categorical features",
                    "Predict from a row: unlearn.predict(model, t) FROM t.");
    if (static_cast<size_t>(n) != m.meta.features.size())
        throw Error(ErrorKind::InvalidParameter,
                    "model \"" + m.meta.name + "\" expects " + std::to_string(m.meta.features.size()) +
                        " features, got " + std::to_string(n),
                    "Pass the features in the order unlearn.models.features lists them.");
    if (array_contains_nulls(a)) return false;
    new (out) Eigen::Map<const Vector>(reinterpret_cast<const double *>(ARR_DATA_PTR(a)), n);
    return true;
}

}  // namespace

// Where the row types predict has seen hold a model's features: kept with the
// model in the backend cache (so a new version starts afresh), one entry per
// row type, checked per call against the type cache without a lookup, the
// way PostgreSQL's own field selection caches a row type.
struct unlearn::pg::RecordLayouts {
    struct Entry {
        Oid type = InvalidOid;
        int32 typmod = -1;
        TypeCacheEntry *typentry = nullptr;  // a named composite type: its descriptor is current while
        uint64 tupdesc_id = 0;               // typentry->tupDesc_identifier is still this
        TupleDesc record_desc = nullptr;     // an anonymous record type: its descriptor never changes
        FeatureLayout layout;
        std::vector<Datum> values;  // the row deformed, by attribute number - 1
        std::unique_ptr<bool[]> isnull;
        Vector x;  // the expanded row
        TupleDesc desc() const { return typentry ? typentry->tupDesc : record_desc; }
        bool current() const { return !typentry || (tupdesc_id != 0 && typentry->tupDesc_identifier == tupdesc_id); }
    };
    std::vector<Entry> entries;
};

namespace {

RecordLayouts::Entry &layout_for(const CachedModel &m, Oid type, int32 typmod) {
    if (!m.record_layouts) m.record_layouts = std::make_shared<RecordLayouts>();
    std::vector<RecordLayouts::Entry> &entries = m.record_layouts->entries;
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        if (it->type != type || it->typmod != typmod) continue;
        if (it->current()) return *it;
        entries.erase(it);
        break;
    }
    if (entries.size() >= 8) entries.erase(entries.begin());  // a query predicts over a row type or two
    // pinned while the layout is built: the catalog lookups below may process
    // invalidations
    RecordLayouts::Entry e;
    e.type = type;
    e.typmod = typmod;
    TupleDesc desc = pg_call([&] {
        TupleDesc d = lookup_rowtype_tupdesc(type, typmod);
        if (type == RECORDOID) {
            e.record_desc = d;
            e.tupdesc_id = assign_record_type_identifier(type, typmod);
        } else {
            e.typentry = lookup_type_cache(type, TYPECACHE_TUPDESC);
            e.tupdesc_id = e.typentry->tupDesc_identifier;
        }
        return d;
    });
    try {
        e.layout = record_layout(desc, m.meta.name, m.meta.relation, m.meta.features, m.meta.categories);
    } catch (...) {
        pg_call([&] { ReleaseTupleDesc(desc); });
        throw;
    }
    const auto natts = static_cast<size_t>(desc->natts);
    pg_call([&] { ReleaseTupleDesc(desc); });
    e.values.resize(natts);
    e.isnull.reset(new bool[natts]());
    e.x.resize(e.layout.width);
    entries.push_back(std::move(e));
    return entries.back();
}

// Features taken from a row by column name, decoded into the layout's row;
// false when one of them is NULL.
bool features_from_record(FunctionCallInfo fcinfo, const CachedModel &m, const Vector **out) {
    require_arg(fcinfo, 1, "row");
    // a row formed by the executor is never toasted: detoast only when it is
    const Datum arg = PG_GETARG_DATUM(1);
    HeapTupleHeader rec = VARATT_IS_EXTENDED(DatumGetPointer(arg))
                              ? pg_call([&] { return PG_GETARG_HEAPTUPLEHEADER(1); })
                              : reinterpret_cast<HeapTupleHeader>(DatumGetPointer(arg));
    RecordLayouts::Entry &e = layout_for(m, HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec));
    *out = &e.x;
    return pg_call([&] {
        HeapTupleData tuple;
        tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
        ItemPointerSetInvalid(&tuple.t_self);
        tuple.t_tableOid = InvalidOid;
        tuple.t_data = rec;
        // one pass over the row (and one check of its type), not one per feature
        heap_deform_tuple(&tuple, e.desc(), e.values.data(), e.isnull.get());
        // a row stored before ALTER TABLE ... ADD COLUMN ... DEFAULT lacks the
        // new columns: heap_getattr gives their default, as the executor does
        for (int a = HeapTupleHeaderGetNatts(rec); a < e.desc()->natts; ++a)
            e.values[static_cast<size_t>(a)] = heap_getattr(&tuple, a + 1, e.desc(), &e.isnull[a]);
        return decode_features(e.layout, Decode::Prediction, e.values.data(), e.isnull.get(), e.x.data());
    });
}

// The training rule applies to predictions too: a row with a NaN, infinite or
// beyond ±1e100 value is not trainable, and the sums that make a prediction
// (a naive Bayes log-likelihood, a softmax) overflow on it. No value in the
// message: a caller's features may be personal data.
void check_predictable(const CachedModel &m, const Eigen::Ref<const Vector> &x) {
    constexpr double kMaxMagnitude = 1e100;  // rows.cpp's bound for trainable values
    if ((x.array().abs() <= kMaxMagnitude).all()) return;  // one pass; NaN compares false
    for (Eigen::Index i = 0; i < x.size(); ++i) {
        if (std::isfinite(x(i)) && std::fabs(x(i)) <= kMaxMagnitude) continue;
        const std::vector<std::string> names = column_names(m.meta);
        const std::string name = static_cast<size_t>(i) < names.size() ? names[static_cast<size_t>(i)] : "?";
        throw Error(ErrorKind::DataException,
                    "feature \"" + name + "\" is NaN, infinite or beyond ±1e100, so model \"" + m.meta.name +
                        "\" cannot predict from it",
                    "Training skips rows with such values; pass NULL (the prediction is then NULL) or a value within ±1e100.");
    }
}

// The fit's probabilities in the class list's order: a class the fit does
// not hold (no trainable row of it, or all forgotten) has probability 0.
Vector proba_in_class_order(const CachedModel &m, const ClassView &v, const Eigen::Ref<const Vector> &x) {
    const Vector p = m.fit.predict_proba(x);
    Vector out = Vector::Zero(static_cast<Eigen::Index>(v.codes.size()));
    for (size_t i = 0; i < v.slot_of_fitted.size(); ++i)
        if (v.slot_of_fitted[i] >= 0) out(v.slot_of_fitted[i]) = p(static_cast<Eigen::Index>(i));
    return out;
}

void refuse_text_labels(const CachedModel &m) {
    if (!m.meta.classes.empty())
        throw Error(ErrorKind::InvalidParameter,
                    "model \"" + m.meta.name + "\" predicts text class labels, not numbers",
                    "Use unlearn.predict_label(model, ...) for the label, or unlearn.predict_proba_by_class for each "
                    "class's probability.");
}

// The features of a call's second argument: a float8[] or a row.
bool features_of(FunctionCallInfo fcinfo, const CachedModel &m, bool row, Eigen::Map<const Vector> *out) {
    if (!row) return features_from_array(fcinfo, m, out);
    const Vector *x = nullptr;
    if (!features_from_record(fcinfo, m, &x)) return false;
    new (out) Eigen::Map<const Vector>(x->data(), x->size());
    return true;
}

Datum float8_array(const Vector &p) {
    std::vector<Datum> elems;
    for (Eigen::Index i = 0; i < p.size(); ++i) elems.push_back(Float8GetDatum(p(i)));
    return pg_call([&] {
        return PointerGetDatum(construct_array(elems.data(), static_cast<int>(elems.size()), FLOAT8OID, 8,
                                               FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
}

Datum text_array(const std::vector<std::string> &names) {
    return pg_call([&] {
        std::vector<Datum> elems;
        for (const auto &n : names) elems.push_back(PointerGetDatum(cstring_to_text_with_len(n.data(), static_cast<int>(n.size()))));
        return PointerGetDatum(construct_array(elems.data(), static_cast<int>(elems.size()), TEXTOID, -1, false, TYPALIGN_INT));
    });
}

// The predicted class's label; false when a feature is NULL.
bool predicted_label(FunctionCallInfo fcinfo, bool row, std::string *label) {
    const CachedModel &m = model_for_call(fcinfo);
    Eigen::Map<const Vector> x(nullptr, 0);
    if (!features_of(fcinfo, m, row, &x)) return false;
    check_predictable(m, x);
    const ClassView &v = class_view(m, "predict_label");
    const int slot = class_slot(v, m.fit.predict(x));
    if (slot < 0) throw Error(ErrorKind::Internal, "the predicted class is not in the model's class list");
    *label = v.names[static_cast<size_t>(slot)];
    return true;
}

Datum predict_label(FunctionCallInfo fcinfo, bool row) {
    std::string label;
    if (!predicted_label(fcinfo, row, &label)) PG_RETURN_NULL();
    return pg_call([&] { return PointerGetDatum(cstring_to_text_with_len(label.data(), static_cast<int>(label.size()))); });
}

// The label in the type of the third argument (its value is ignored: NULL::t
// names the type), read by that type's input function as the caller; the
// function is not strict, so a NULL model or features is checked here.
Datum predict_label_as(FunctionCallInfo fcinfo, bool row) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();  // as the strict forms
    std::string label;
    if (!predicted_label(fcinfo, row, &label)) PG_RETURN_NULL();
    return pg_call([&] {
        const Oid type = get_fn_expr_argtype(fcinfo->flinfo, 2);
        if (!OidIsValid(type)) elog(ERROR, "could not determine the type of the label");
        Oid input, ioparam;
        getTypeInputInfo(type, &input, &ioparam);
        return OidInputFunctionCall(input, const_cast<char *>(label.c_str()), ioparam, -1);
    });
}

Datum predict_proba(FunctionCallInfo fcinfo, bool row) {
    const CachedModel &m = model_for_call(fcinfo);
    Eigen::Map<const Vector> x(nullptr, 0);
    if (!features_of(fcinfo, m, row, &x)) PG_RETURN_NULL();
    check_predictable(m, x);
    return float8_array(proba_in_class_order(m, class_view(m, "predict_proba"), x));
}

Datum predict_proba_by_class(FunctionCallInfo fcinfo, bool row) {
    const CachedModel &m = model_for_call(fcinfo);
    Eigen::Map<const Vector> x(nullptr, 0);
    const bool known = features_of(fcinfo, m, row, &x);
    if (known) check_predictable(m, x);
    const ClassView &v = class_view(m, "predict_proba");
    const Vector p = known ? proba_in_class_order(m, v, x) : Vector();
    pg_call([&] {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        for (size_t i = 0; i < v.names.size(); ++i) {
            Datum values[2] = {PointerGetDatum(cstring_to_text_with_len(v.names[i].data(), static_cast<int>(v.names[i].size()))),
                               known ? Float8GetDatum(p(static_cast<Eigen::Index>(i))) : Datum(0)};
            bool nulls[2] = {false, !known};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return static_cast<Datum>(0);
}

}  // namespace

UNLEARN_FUNCTION(unlearn_predict) {
    const CachedModel &m = model_for_call(fcinfo);
    refuse_text_labels(m);
    Eigen::Map<const Vector> x(nullptr, 0);
    if (!features_from_array(fcinfo, m, &x)) PG_RETURN_NULL();
    check_predictable(m, x);
    return Float8GetDatum(m.fit.predict(x));
}

UNLEARN_FUNCTION(unlearn_predict_row) {
    const CachedModel &m = model_for_call(fcinfo);
    refuse_text_labels(m);
    const Vector *x = nullptr;
    if (!features_from_record(fcinfo, m, &x)) PG_RETURN_NULL();
    check_predictable(m, *x);
    return Float8GetDatum(m.fit.predict(*x));
}

UNLEARN_FUNCTION(unlearn_predict_proba) { return predict_proba(fcinfo, false); }
UNLEARN_FUNCTION(unlearn_predict_proba_row) { return predict_proba(fcinfo, true); }
UNLEARN_FUNCTION(unlearn_predict_label) { return predict_label(fcinfo, false); }
UNLEARN_FUNCTION(unlearn_predict_label_row) { return predict_label(fcinfo, true); }
UNLEARN_FUNCTION(unlearn_predict_label_as) { return predict_label_as(fcinfo, false); }
UNLEARN_FUNCTION(unlearn_predict_label_as_row) { return predict_label_as(fcinfo, true); }
UNLEARN_FUNCTION(unlearn_predict_proba_by_class) { return predict_proba_by_class(fcinfo, false); }
UNLEARN_FUNCTION(unlearn_predict_proba_by_class_row) { return predict_proba_by_class(fcinfo, true); }

UNLEARN_FUNCTION(unlearn_classes) {
    const CachedModel &m = model_for_call(fcinfo);
    return text_array(class_view(m, "classes").names);
}

UNLEARN_FUNCTION(unlearn_coefficients) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    const CachedModel &m = model_for_call(fcinfo, name);
    std::vector<std::pair<std::string, double>> rows;
    std::vector<int32> shard_of_row;
    const std::vector<std::string> names = column_names(m.meta);
    const bool classifier = is_classifier(m.meta.algorithm);
    const ClassView none;
    const ClassView &view = classifier ? class_view(m, "coefficients") : none;
    auto label_of = [&](double code) {
        const int slot = class_slot(view, code);
        return slot < 0 ? number_label(code) : view.names[static_cast<size_t>(slot)];
    };
    if (const auto *sisa = std::get_if<SisaFit>(&m.fit.fit)) {
        if (m.meta.algorithm != Algorithm::LogisticRegression)
            throw Error(ErrorKind::FeatureNotSupported,
                        std::string("model \"") + name + "\" is an mlp, which has no coefficients",
                        "Use unlearn.predict_proba to inspect it, or unlearn.verify to check it.");
        // per shard: one row of weights for two classes (the second class's
        // log-odds), one per class for more, as scikit-learn's coef_
        for (size_t s = 0; s < sisa->members.size(); ++s) {
            const auto *lr = dynamic_cast<const LogisticConstituent *>(sisa->members[s].get());
            if (!lr) continue;
            const LogisticParams &p = lr->params();
            for (Eigen::Index c = 0; c < p.coef.rows(); ++c) {
                const std::string suffix =
                    p.coef.rows() == 1 ? "" : "[" + label_of(sisa->classes.label(p.present[static_cast<size_t>(c)])) + "]";
                for (size_t j = 0; j < names.size(); ++j) {
                    rows.emplace_back(names[j] + suffix, p.coef(c, static_cast<Eigen::Index>(j)));
                    shard_of_row.push_back(static_cast<int32>(s));
                }
                rows.emplace_back("(intercept)" + suffix, p.intercept(c));
                shard_of_row.push_back(static_cast<int32>(s));
            }
        }
    } else if (const auto *forest = std::get_if<ForestFit>(&m.fit.fit)) {
        // scikit-learn's feature_importances_: the mean decrease in impurity
        const Vector imp = forest->forest->importances();
        for (size_t j = 0; j < names.size() && static_cast<Eigen::Index>(j) < imp.size(); ++j)
            rows.emplace_back(names[j], imp(static_cast<Eigen::Index>(j)));
    } else if (const auto *lin = std::get_if<LinearFit>(&m.fit.fit)) {
        for (size_t j = 0; j < names.size(); ++j) rows.emplace_back(names[j], lin->coef(static_cast<Eigen::Index>(j)));
        rows.emplace_back("(intercept)", lin->intercept);
    } else {
        const auto &nb = std::get<NaiveBayesFit>(m.fit.fit);
        for (size_t c = 0; c < nb.classes.size(); ++c) {
            const auto r = static_cast<Eigen::Index>(c);
            if (nb.priors(r) == 0) continue;  // a forgotten class has no parameters
            const std::string label = label_of(nb.classes[c]);
            rows.emplace_back(std::string("prior[") + label + "]", nb.priors(r));
            for (size_t j = 0; j < names.size(); ++j) {
                const auto k = static_cast<Eigen::Index>(j);
                rows.emplace_back(std::string("mean[") + label + "]." + names[j], nb.theta(r, k));
                rows.emplace_back(std::string("var[") + label + "]." + names[j], nb.var(r, k));
            }
        }
    }
    pg_call([&] {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        for (size_t i = 0; i < rows.size(); ++i) {
            const auto &row = rows[i];
            Datum values[3] = {Int32GetDatum(shard_of_row.empty() ? 0 : shard_of_row[i]),
                               CStringGetTextDatum(row.first.c_str()), Float8GetDatum(row.second)};
            bool nulls[3] = {false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return static_cast<Datum>(0);
}
