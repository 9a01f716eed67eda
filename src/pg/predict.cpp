// unlearn.predict (array and record forms), unlearn.predict_proba,
// unlearn.coefficients: the read path, served from the per-backend cache.
#include <cstdio>


#include "args.hpp"
#include "error.hpp"
#include "model_cache.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace {

// false when an element is NULL: the prediction is then NULL, as for a row
bool features_from_array(FunctionCallInfo fcinfo, const CachedModel &m, Vector *out) {
    bool has_null = false;
    std::vector<double> v = float8_array_arg(fcinfo, 1, "features", &has_null);
    if (v.size() != m.meta.features.size())
        throw Error(ErrorKind::InvalidParameter,
                    "model \"" + m.meta.name + "\" expects " + std::to_string(m.meta.features.size()) +
                        " features, got " + std::to_string(v.size()),
                    "Pass the features in the order unlearn.models.features lists them.");
    *out = Eigen::Map<Vector>(v.data(), static_cast<Eigen::Index>(v.size()));
    return !has_null;
}

// Features taken from a row by column name; false when one of them is NULL.
bool features_from_record(FunctionCallInfo fcinfo, const CachedModel &m, Vector *out) {
    require_arg(fcinfo, 1, "row");
    const auto &names = m.meta.features;
    out->resize(static_cast<Eigen::Index>(names.size()));
    int missing = -1;
    int wrong_type = -1;
    bool has_null = false;
    pg_call([&] {
        HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(1);
        TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec));
        HeapTupleData tuple;
        tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
        ItemPointerSetInvalid(&tuple.t_self);
        tuple.t_tableOid = InvalidOid;
        tuple.t_data = rec;
        for (size_t j = 0; j < names.size() && missing < 0 && wrong_type < 0; ++j) {
            int att = -1;
            for (int i = 0; i < desc->natts && att < 0; ++i)
                if (!TupleDescAttr(desc, i)->attisdropped && names[j] == NameStr(TupleDescAttr(desc, i)->attname))
                    att = i;
            if (att < 0) {
                missing = static_cast<int>(j);
                break;
            }
            bool isnull;
            Datum d = heap_getattr(&tuple, att + 1, desc, &isnull);
            has_null = has_null || isnull;
            if (isnull) continue;
            double v = 0;
            switch (getBaseType(TupleDescAttr(desc, att)->atttypid)) {
                case INT2OID: v = DatumGetInt16(d); break;
                case INT4OID: v = DatumGetInt32(d); break;
                case INT8OID: v = static_cast<double>(DatumGetInt64(d)); break;
                case FLOAT4OID: v = DatumGetFloat4(d); break;
                case FLOAT8OID: v = DatumGetFloat8(d); break;
                case BOOLOID: v = DatumGetBool(d) ? 1.0 : 0.0; break;
                case NUMERICOID: v = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d)); break;
                default: wrong_type = static_cast<int>(j);
            }
            (*out)(static_cast<Eigen::Index>(j)) = v;
        }
        ReleaseTupleDesc(desc);
    });
    if (missing >= 0)
        throw Error(ErrorKind::UndefinedColumn, "row has no column \"" + names[static_cast<size_t>(missing)] +
                                                    "\" needed by model \"" + m.meta.name + "\"");
    if (wrong_type >= 0)
        throw Error(ErrorKind::WrongObjectType,
                    "column \"" + names[static_cast<size_t>(wrong_type)] + "\" of the row is not numeric");
    return !has_null;
}

}  // namespace

UNLEARN_FUNCTION(unlearn_predict) {
    const CachedModel &m = model_for_call(fcinfo, text_arg(fcinfo, 0, "model name"));
    Vector x;
    if (!features_from_array(fcinfo, m, &x)) PG_RETURN_NULL();
    return Float8GetDatum(m.fit.predict(x));
}

UNLEARN_FUNCTION(unlearn_predict_row) {
    const CachedModel &m = model_for_call(fcinfo, text_arg(fcinfo, 0, "model name"));
    Vector x;
    if (!features_from_record(fcinfo, m, &x)) PG_RETURN_NULL();
    return Float8GetDatum(m.fit.predict(x));
}

UNLEARN_FUNCTION(unlearn_predict_proba) {
    const CachedModel &m = model_for_call(fcinfo, text_arg(fcinfo, 0, "model name"));
    Vector x;
    if (!features_from_array(fcinfo, m, &x)) PG_RETURN_NULL();
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
    if (const auto *lin = std::get_if<LinearFit>(&m.fit.fit)) {
        for (size_t j = 0; j < m.meta.features.size(); ++j)
            rows.emplace_back(m.meta.features[j], lin->coef(static_cast<Eigen::Index>(j)));
        rows.emplace_back("(intercept)", lin->intercept);
    } else {
        const auto &nb = std::get<NaiveBayesFit>(m.fit.fit);
        for (size_t c = 0; c < nb.classes.size(); ++c) {
            char label[64];
            snprintf(label, sizeof(label), "%.17g", nb.classes[c]);
            const auto r = static_cast<Eigen::Index>(c);
            rows.emplace_back(std::string("prior[") + label + "]", nb.priors(r));
            for (size_t j = 0; j < m.meta.features.size(); ++j) {
                const auto k = static_cast<Eigen::Index>(j);
                rows.emplace_back(std::string("mean[") + label + "]." + m.meta.features[j], nb.theta(r, k));
                rows.emplace_back(std::string("var[") + label + "]." + m.meta.features[j], nb.var(r, k));
            }
        }
    }
    pg_call([&] {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        for (const auto &row : rows) {
            Datum values[3] = {Int32GetDatum(0), CStringGetTextDatum(row.first.c_str()), Float8GetDatum(row.second)};
            bool nulls[3] = {false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return static_cast<Datum>(0);
}
