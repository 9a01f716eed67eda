// unlearn.predict (array and record forms), unlearn.predict_proba,
// unlearn.coefficients: the read path, served from the per-backend cache.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>


#include "args.hpp"
#include "error.hpp"
#include "logistic.hpp"
#include "model_cache.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace {

// The features of a float8[] argument, read in place (it is called once per
// row: no copy). False when an element is NULL: the prediction is then NULL.
bool features_from_array(FunctionCallInfo fcinfo, const CachedModel &m, Eigen::Map<const Vector> *out) {
    require_arg(fcinfo, 1, "features");
    ArrayType *a = nullptr;
    int n = 0;
    pg_call([&] {
        a = PG_GETARG_ARRAYTYPE_P(1);
        n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
    });
    if (ARR_NDIM(a) > 1 || ARR_ELEMTYPE(a) != FLOAT8OID)
        throw Error(ErrorKind::InvalidParameter, "features must be a one-dimensional float8 array");
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

// Where a row type keeps each of a model's features, resolved once: a query
// predicts over one row type, so the last layout is the one to keep.
struct RowLayout {
    Oid type = InvalidOid;
    int32 typmod = -1;
    int32 model_id = 0;
    int64 version = -1;
    std::vector<AttrNumber> att;  // 1-based
    std::vector<Oid> base_type;
    std::vector<int> slot;                                   // first column in the expanded row
    std::vector<const std::vector<std::string> *> vocab;      // categorical features
    std::vector<char> row_enum;    // categorical: the row's column is an enum
    std::vector<Oid> model_enum;   // categorical: the model's enum type (its vocabulary holds label OIDs), or 0
    int width = 0;  // of the expanded row
};

const RowLayout &layout_for(const CachedModel &m, Oid type, int32 typmod, TupleDesc desc) {
    static RowLayout last;
    if (last.type == type && last.typmod == typmod && last.model_id == m.meta.id && last.version == m.meta.version)
        return last;
    RowLayout l;
    l.type = type;
    l.typmod = typmod;
    l.model_id = m.meta.id;
    l.version = m.meta.version;
    for (const auto &name : m.meta.features) {
        AttrNumber att = InvalidAttrNumber;
        Oid base = InvalidOid;
        for (int i = 0; i < desc->natts && att == InvalidAttrNumber; ++i) {
            Form_pg_attribute a = TupleDescAttr(desc, i);
            if (!a->attisdropped && name == NameStr(a->attname)) {
                att = static_cast<AttrNumber>(i + 1);
                base = pg_call([&] { return getBaseType(a->atttypid); });
            }
        }
        if (att == InvalidAttrNumber)
            throw Error(ErrorKind::UndefinedColumn,
                        "row has no column \"" + name + "\" needed by model \"" + m.meta.name + "\"");
        l.slot.push_back(l.slot.empty() ? 0 : l.slot.back() + (l.vocab.back() ? static_cast<int>(l.vocab.back()->size()) : 1));
        auto cat = m.meta.categories.find(name);
        l.vocab.push_back(cat == m.meta.categories.end() ? nullptr : &cat->second);
        if (l.vocab.back()) {
            const Oid trained = pg_call([&] {
                const AttrNumber a = get_attnum(m.meta.relation, name.c_str());
                return a == InvalidAttrNumber ? InvalidOid : getBaseType(get_atttype(m.meta.relation, a));
            });
            l.row_enum.push_back(pg_call([&] { return type_is_enum(base); }));
            l.model_enum.push_back(trained != InvalidOid && pg_call([&] { return type_is_enum(trained); }) ? trained : InvalidOid);
            l.att.push_back(att);
            l.base_type.push_back(base);
            continue;
        }
        l.row_enum.push_back(false);
        l.model_enum.push_back(InvalidOid);
        if (base != INT2OID && base != INT4OID && base != INT8OID && base != FLOAT4OID && base != FLOAT8OID &&
            base != BOOLOID && base != NUMERICOID)
            throw Error(ErrorKind::WrongObjectType, "column \"" + name + "\" of the row is not numeric");
        l.att.push_back(att);
        l.base_type.push_back(base);
    }
    l.width = width(m.meta);
    last = std::move(l);
    return last;
}

// A row whose column type differs from the one the model was trained on
// (text for an enum, or another enum): the category of the same label.
// Plain C, inside pg_call.
CategoryRef matching_category(bool row_enum, Datum d, Oid model_enum, char (&code)[16]) {
    const char *label;
    if (row_enum) {
        HeapTuple tup = SearchSysCache1(ENUMOID, d);
        if (!HeapTupleIsValid(tup)) return {"", 0};
        label = pstrdup(NameStr(reinterpret_cast<Form_pg_enum>(GETSTRUCT(tup))->enumlabel));
        ReleaseSysCache(tup);
    } else {
        label = TextDatumGetCString(d);
    }
    if (model_enum == InvalidOid) return {label, strlen(label)};  // the model's categories are text
    HeapTuple tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(model_enum), CStringGetDatum(label));
    if (!HeapTupleIsValid(tup)) return {"", 0};  // no such label: an unseen category
    const int n = snprintf(code, sizeof(code), "%u", reinterpret_cast<Form_pg_enum>(GETSTRUCT(tup))->oid);
    ReleaseSysCache(tup);
    return {code, static_cast<size_t>(n)};
}

// Features taken from a row by column name; false when one of them is NULL.
bool features_from_record(FunctionCallInfo fcinfo, const CachedModel &m, Vector *out) {
    require_arg(fcinfo, 1, "row");
    const size_t p = m.meta.features.size();
    HeapTupleHeader rec = nullptr;
    TupleDesc desc = nullptr;
    pg_call([&] {
        rec = PG_GETARG_HEAPTUPLEHEADER(1);
        desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec));
    });
    bool has_null = false;
    try {
        const RowLayout &l = layout_for(m, HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec), desc);
        out->resize(l.width);
        pg_call([&] {
            HeapTupleData tuple;
            tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
            ItemPointerSetInvalid(&tuple.t_self);
            tuple.t_tableOid = InvalidOid;
            tuple.t_data = rec;
            double *x = out->data();
            char code[16];
            for (size_t j = 0; j < p; ++j) {
                bool isnull;
                Datum d = heap_getattr(&tuple, l.att[j], desc, &isnull);
                has_null = has_null || isnull;
                if (isnull) continue;
                double *at = x + l.slot[j];
                if (const std::vector<std::string> *vocab = l.vocab[j]) {
                    // a category the model never saw (or has forgotten) sets no indicator
                    std::fill(at, at + vocab->size(), 0.0);
                    CategoryRef c = category_ref(l.row_enum[j], d, code);
                    if (l.row_enum[j] != (l.model_enum[j] != InvalidOid) ||
                        (l.row_enum[j] && l.base_type[j] != l.model_enum[j]))
                        c = matching_category(l.row_enum[j], d, l.model_enum[j], code);
                    const std::string_view v(c.data, c.len);
                    auto it = std::lower_bound(vocab->begin(), vocab->end(), v, [](const std::string &a, std::string_view b) {
                        return a.compare(0, a.size(), b.data(), b.size()) < 0;
                    });
                    if (it != vocab->end() && std::string_view(*it) == v) at[it - vocab->begin()] = 1.0;
                    continue;
                }
                switch (l.base_type[j]) {
                    case INT2OID: *at = DatumGetInt16(d); break;
                    case INT4OID: *at = DatumGetInt32(d); break;
                    case INT8OID: *at = static_cast<double>(DatumGetInt64(d)); break;
                    case FLOAT4OID: *at = DatumGetFloat4(d); break;
                    case FLOAT8OID: *at = DatumGetFloat8(d); break;
                    case BOOLOID: *at = DatumGetBool(d) ? 1.0 : 0.0; break;
                    default: *at = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
                }
            }
        });
    } catch (...) {
        pg_call([&] { ReleaseTupleDesc(desc); });
        throw;
    }
    pg_call([&] { ReleaseTupleDesc(desc); });
    return !has_null;
}

// The training rule applies to predictions too: a row with a NaN, infinite or
// beyond ±1e100 value is not trainable, and the sums that make a prediction
// (a naive Bayes log-likelihood, a softmax) overflow on it. No value in the
// message: a caller's features may be personal data.
void check_predictable(const CachedModel &m, const Eigen::Ref<const Vector> &x) {
    constexpr double kMaxMagnitude = 1e100;  // rows.cpp's bound for trainable values
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

}  // namespace

UNLEARN_FUNCTION(unlearn_predict) {
    const CachedModel &m = model_for_call(fcinfo, text_arg(fcinfo, 0, "model name"));
    Eigen::Map<const Vector> x(nullptr, 0);
    if (!features_from_array(fcinfo, m, &x)) PG_RETURN_NULL();
    check_predictable(m, x);
    return Float8GetDatum(m.fit.predict(x));
}

UNLEARN_FUNCTION(unlearn_predict_row) {
    const CachedModel &m = model_for_call(fcinfo, text_arg(fcinfo, 0, "model name"));
    Vector x;
    if (!features_from_record(fcinfo, m, &x)) PG_RETURN_NULL();
    check_predictable(m, x);
    return Float8GetDatum(m.fit.predict(x));
}

UNLEARN_FUNCTION(unlearn_predict_proba) {
    const CachedModel &m = model_for_call(fcinfo, text_arg(fcinfo, 0, "model name"));
    Eigen::Map<const Vector> x(nullptr, 0);
    if (!features_from_array(fcinfo, m, &x)) PG_RETURN_NULL();
    check_predictable(m, x);
    Vector p = m.fit.predict_proba(x);
    std::vector<Datum> elems;
    for (Eigen::Index i = 0; i < p.size(); ++i) elems.push_back(Float8GetDatum(p(i)));
    return pg_call([&] {
        return PointerGetDatum(construct_array(elems.data(), static_cast<int>(elems.size()), FLOAT8OID, 8,
                                               FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
}

UNLEARN_FUNCTION(unlearn_coefficients) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    const CachedModel &m = model_for_call(fcinfo, name);
    std::vector<std::pair<std::string, double>> rows;
    std::vector<int32> shard_of_row;
    const std::vector<std::string> names = column_names(m.meta);
    auto label_of = [](double v) {
        char label[64];
        snprintf(label, sizeof(label), "%.17g", v);
        return std::string(label);
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
    } else if (const auto *lin = std::get_if<LinearFit>(&m.fit.fit)) {
        for (size_t j = 0; j < names.size(); ++j) rows.emplace_back(names[j], lin->coef(static_cast<Eigen::Index>(j)));
        rows.emplace_back("(intercept)", lin->intercept);
    } else {
        const auto &nb = std::get<NaiveBayesFit>(m.fit.fit);
        for (size_t c = 0; c < nb.classes.size(); ++c) {
            const std::string label = label_of(nb.classes[c]);
            const auto r = static_cast<Eigen::Index>(c);
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
