#include "args.hpp"


#include "error.hpp"

namespace unlearn::pg {

void require_arg(FunctionCallInfo fcinfo, int n, const char *what) {
    if (PG_ARGISNULL(n))
        throw Error(ErrorKind::InvalidParameter, std::string(what) + " must not be NULL");
}

std::string text_arg(FunctionCallInfo fcinfo, int n, const char *what) {
    require_arg(fcinfo, n, what);
    return pg_call([&] {
        text *t = PG_GETARG_TEXT_PP(n);
        return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
    });
}

int32 int4_arg(FunctionCallInfo fcinfo, int n, const char *what) {
    require_arg(fcinfo, n, what);
    return PG_GETARG_INT32(n);
}

std::string jsonb_arg_text(FunctionCallInfo fcinfo, int n, const char *what) {
    require_arg(fcinfo, n, what);
    return pg_call([&] { return std::string(DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(n)))); });
}

namespace {
template <typename T, typename Conv>
std::vector<T> array_arg(FunctionCallInfo fcinfo, int n, const char *what, Oid elem, Conv conv) {
    require_arg(fcinfo, n, what);
    Datum *elems = nullptr;
    bool *nulls = nullptr;
    int count = 0;
    int ndim = 0;
    pg_call([&] {
        ArrayType *a = PG_GETARG_ARRAYTYPE_P(n);
        ndim = ARR_NDIM(a);
        int16 len;
        bool byval;
        char align;
        get_typlenbyvalalign(elem, &len, &byval, &align);
        deconstruct_array(a, elem, len, byval, align, &elems, &nulls, &count);
    });
    if (ndim > 1) throw Error(ErrorKind::InvalidParameter, std::string(what) + " must be a one-dimensional array");
    std::vector<T> out;
    out.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        if (nulls[i]) throw Error(ErrorKind::InvalidParameter, std::string(what) + " must not contain NULL");
        out.push_back(conv(elems[i]));
    }
    return out;
}
}  // namespace

std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char *what) {
    return array_arg<std::string>(fcinfo, n, what, TEXTOID, [](Datum d) {
        return pg_call([&] {
            text *t = DatumGetTextPP(d);
            return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
        });
    });
}

std::vector<AttrNumber> int2_array_arg(FunctionCallInfo fcinfo, int n, const char *what) {
    return array_arg<AttrNumber>(fcinfo, n, what, INT2OID, [](Datum d) { return DatumGetInt16(d); });
}

}  // namespace unlearn::pg
