#include "key_codec.hpp"

#include <cmath>
#include <cstring>

#include "error.hpp"

namespace unlearn::pg {

namespace {

constexpr uint64 kCanonicalNaN8 = 0x7ff8000000000000ULL;
constexpr uint32 kCanonicalNaN4 = 0x7fc00000U;

void put_be(std::string &out, uint64 v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64 get_be(const char *p, int bytes) {
    uint64 v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

bool is_integer(Oid t) { return t == INT2OID || t == INT4OID || t == INT8OID; }

// Called inside pg_call.
void append_value(std::string &out, const KeyColumn &c, Datum d) {
    switch (c.family) {
        case KeyFamily::Integer: {
            const int64 v = c.base == INT2OID ? DatumGetInt16(d) : c.base == INT4OID ? DatumGetInt32(d) : DatumGetInt64(d);
            put_be(out, static_cast<uint64>(v), 8);
            return;
        }
        case KeyFamily::Float4: {
            const float4 f = DatumGetFloat4(d);
            uint32 bits = kCanonicalNaN4;
            if (!std::isnan(f)) {
                const float4 z = f == 0.0f ? 0.0f : f;  // -0 = 0
                std::memcpy(&bits, &z, 4);
            }
            put_be(out, bits, 4);
            return;
        }
        case KeyFamily::Float8: {
            const float8 f = DatumGetFloat8(d);
            uint64 bits = kCanonicalNaN8;
            if (!std::isnan(f)) {
                const float8 z = f == 0.0 ? 0.0 : f;
                std::memcpy(&bits, &z, 8);
            }
            put_be(out, bits, 8);
            return;
        }
        case KeyFamily::FixedByVal: {
            uint64 v = c.typlen == 1   ? static_cast<uint8>(DatumGetChar(d))
                       : c.typlen == 2 ? static_cast<uint16>(DatumGetInt16(d))
                       : c.typlen == 4 ? static_cast<uint32>(DatumGetInt32(d))
                                       : static_cast<uint64>(DatumGetInt64(d));
            put_be(out, v, c.typlen);
            return;
        }
        case KeyFamily::FixedByRef:
            out.append(DatumGetPointer(d), static_cast<size_t>(c.typlen));
            return;
        case KeyFamily::Numeric: {
            // numeric_send: ndigits, weight, sign, dscale, digits (int16 each,
            // network order); the display scale is not part of the value
            bytea *b = DatumGetByteaPP(DirectFunctionCall1(numeric_send, d));
            const char *p = VARDATA_ANY(b);
            const size_t n = VARSIZE_ANY_EXHDR(b);
            out.append(p, 6);
            out.append(p + 8, n - 8);
            pfree(b);
            return;
        }
        case KeyFamily::Bpchar:
        case KeyFamily::Varlena: {
            struct varlena *v = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(d)));
            const char *p = VARDATA_ANY(v);
            size_t n = VARSIZE_ANY_EXHDR(v);
            if (c.family == KeyFamily::Bpchar)
                while (n > 0 && p[n - 1] == ' ') --n;  // char(n) pads; its equality ignores the padding
            out.append(p, n);
            if (reinterpret_cast<Pointer>(v) != DatumGetPointer(d)) pfree(v);
            return;
        }
    }
}

// The display scale numeric_out would need for these digits and no more.
int16 minimal_dscale(int16 ndigits, int16 weight, uint16 last_digit) {
    const int groups = ndigits - weight - 1;  // base-10000 digits after the point
    if (ndigits == 0 || groups <= 0) return 0;
    int zeros = 0;
    for (uint16 d = last_digit; d != 0 && d % 10 == 0 && zeros < 4; d /= 10) ++zeros;
    return static_cast<int16>(groups * 4 - zeros);
}

bool numeric_value(const char *p, size_t len, Datum *out) {
    if (len < 6 || (len - 6) % 2 != 0) return false;
    const auto ndigits = static_cast<int16>(get_be(p, 2));
    if (ndigits < 0 || static_cast<size_t>(ndigits) != (len - 6) / 2) return false;
    const auto weight = static_cast<int16>(get_be(p + 2, 2));
    const auto sign = static_cast<uint16>(get_be(p + 4, 2));
    const auto last = static_cast<uint16>(ndigits > 0 ? get_be(p + len - 2, 2) : 0);
    const int16 dscale = sign == 0x0000 || sign == 0x4000 ? minimal_dscale(ndigits, weight, last) : 0;
    StringInfoData buf;
    initStringInfo(&buf);
    appendBinaryStringInfo(&buf, p, 6);
    const char scale[2] = {static_cast<char>((dscale >> 8) & 0xff), static_cast<char>(dscale & 0xff)};
    appendBinaryStringInfo(&buf, scale, 2);
    appendBinaryStringInfo(&buf, p + 6, static_cast<int>(len - 6));
    *out = DirectFunctionCall3(numeric_recv, PointerGetDatum(&buf), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    return true;
}

std::vector<std::string_view> split_key(const std::string &key, size_t ncols, bool *ok) {
    std::vector<std::string_view> parts;
    *ok = true;
    if (ncols == 1) {
        parts.emplace_back(key);
        return parts;
    }
    size_t at = 0;
    while (at < key.size() && parts.size() < ncols) {
        if (key.size() - at < 4) break;
        const uint64 n = get_be(key.data() + at, 4);
        at += 4;
        if (n > key.size() - at) break;
        parts.emplace_back(key.data() + at, n);
        at += n;
    }
    *ok = at == key.size() && parts.size() == ncols;
    return parts;
}

// record_out's quoting, so a composite key reads as ROW(k1, k2)::text does
void append_quoted_field(std::string &out, const char *v) {
    bool quote = *v == '\0';
    for (const char *p = v; *p && !quote; ++p)
        quote = *p == '"' || *p == '\\' || *p == '(' || *p == ')' || *p == ',' || isspace(static_cast<unsigned char>(*p));
    if (!quote) {
        out += v;
        return;
    }
    out += '"';
    for (const char *p = v; *p; ++p) {
        if (*p == '"' || *p == '\\') out += *p;
        out += *p;
    }
    out += '"';
}

std::string hex(const std::string &bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out = "\\x";
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string type_name(Oid type) {
    return pg_call([&] { return std::string(format_type_be(type)); });
}

}  // namespace

KeyColumn key_column(Oid declared, const std::string &column, const std::string &relation) {
    KeyColumn c;
    char typtype = 0, category = 0;
    bool preferred = false;
    Oid element = InvalidOid;
    pg_call([&] {
        c.base = getBaseType(declared);
        get_typlenbyvalalign(c.base, &c.typlen, &c.byval, &c.align);
        typtype = get_typtype(c.base);
        get_type_category_preferred(c.base, &category, &preferred);
        element = get_element_type(c.base);
    });
    const bool builtin_scalar = typtype == TYPTYPE_BASE && c.base < FirstNormalObjectId &&
                                category != TYPCATEGORY_ARRAY && element == InvalidOid &&
                                (c.typlen > 0 || c.typlen == -1);
    if (typtype == TYPTYPE_ENUM) c.family = KeyFamily::FixedByVal;
    else if (!builtin_scalar)
        throw Error(ErrorKind::FeatureNotSupported,
                    "primary key column \"" + column + "\" of " + relation + " has type " + type_name(declared) +
                        ", by which pg_unlearn cannot identify rows",
                    "Keys must be of a scalar type built into PostgreSQL (integer, numeric, text, bytea, uuid, date "
                    "and time types, ...), an enum, or a domain over one; add such a column as the primary key.");
    else if (is_integer(c.base)) c.family = KeyFamily::Integer;
    else if (c.base == FLOAT4OID) c.family = KeyFamily::Float4;
    else if (c.base == FLOAT8OID) c.family = KeyFamily::Float8;
    else if (c.base == NUMERICOID) c.family = KeyFamily::Numeric;
    else if (c.base == BPCHAROID) c.family = KeyFamily::Bpchar;
    else if (c.byval) c.family = KeyFamily::FixedByVal;
    else if (c.typlen > 0) c.family = KeyFamily::FixedByRef;
    else c.family = KeyFamily::Varlena;
    if (c.family == KeyFamily::FixedByVal && c.typlen != 1 && c.typlen != 2 && c.typlen != 4 && c.typlen != 8)
        throw Error(ErrorKind::Internal, "unexpected length of a by-value type");
    return c;
}

std::vector<KeyColumn> key_columns(Oid relid, const std::vector<std::string> &columns) {
    std::vector<KeyColumn> out;
    for (const auto &name : columns) {
        Oid type = pg_call([&] {
            const AttrNumber att = get_attnum(relid, name.c_str());
            return att == InvalidAttrNumber ? InvalidOid : get_atttype(relid, att);
        });
        if (type == InvalidOid)
            throw Error(ErrorKind::UndefinedColumn, "key column \"" + name + "\" no longer exists",
                        "unlearn.resync() retrains the model on the table's current primary key.");
        out.push_back(key_column(type, name, pg_call([&] { return std::string(get_rel_name(relid)); })));
    }
    return out;
}

void append_key_part(std::string &out, const KeyColumn &c, Datum value, bool composite) {
    if (!composite) {
        append_value(out, c, value);
        return;
    }
    const size_t at = out.size();
    out.append(4, '\0');
    append_value(out, c, value);
    const uint64 n = out.size() - at - 4;
    for (int i = 0; i < 4; ++i) out[at + static_cast<size_t>(i)] = static_cast<char>((n >> (8 * (3 - i))) & 0xff);
}

bool key_value(const KeyColumn &c, const char *p, size_t len, Datum *out) {
    switch (c.family) {
        case KeyFamily::Integer: {
            if (len != 8) return false;
            const auto v = static_cast<int64>(get_be(p, 8));
            if (c.base == INT2OID) {
                if (v < PG_INT16_MIN || v > PG_INT16_MAX) return false;
                *out = Int16GetDatum(static_cast<int16>(v));
            } else if (c.base == INT4OID) {
                if (v < PG_INT32_MIN || v > PG_INT32_MAX) return false;
                *out = Int32GetDatum(static_cast<int32>(v));
            } else {
                *out = Int64GetDatum(v);
            }
            return true;
        }
        case KeyFamily::Float4: {
            if (len != 4) return false;
            const auto bits = static_cast<uint32>(get_be(p, 4));
            float4 f;
            std::memcpy(&f, &bits, 4);
            *out = Float4GetDatum(f);
            return true;
        }
        case KeyFamily::Float8: {
            if (len != 8) return false;
            const uint64 bits = get_be(p, 8);
            float8 f;
            std::memcpy(&f, &bits, 8);
            *out = Float8GetDatum(f);
            return true;
        }
        case KeyFamily::FixedByVal: {
            if (len != static_cast<size_t>(c.typlen)) return false;
            const uint64 v = get_be(p, c.typlen);
            *out = c.typlen == 1   ? CharGetDatum(static_cast<char>(v))
                   : c.typlen == 2 ? Int16GetDatum(static_cast<int16>(v))
                   : c.typlen == 4 ? UInt32GetDatum(static_cast<uint32>(v))
                                   : Int64GetDatum(static_cast<int64>(v));
            return true;
        }
        case KeyFamily::FixedByRef: {
            if (len != static_cast<size_t>(c.typlen)) return false;
            char *copy = static_cast<char *>(palloc(len));
            std::memcpy(copy, p, len);
            *out = PointerGetDatum(copy);
            return true;
        }
        case KeyFamily::Numeric:
            return numeric_value(p, len, out);
        case KeyFamily::Bpchar:
        case KeyFamily::Varlena: {
            if (len > MaxAllocSize - VARHDRSZ) return false;
            struct varlena *v = static_cast<struct varlena *>(palloc(VARHDRSZ + len));
            SET_VARSIZE(v, VARHDRSZ + len);
            if (len) std::memcpy(VARDATA(v), p, len);
            *out = PointerGetDatum(v);
            return true;
        }
    }
    return false;
}

Param key_array_param(const KeyColumn &c, const std::vector<std::string> &keys) {
    Oid array_type = InvalidOid;
    Datum array = pg_call([&] {
        array_type = get_array_type(c.base);
        if (array_type == InvalidOid) elog(ERROR, "type %u has no array type", c.base);
        Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (keys.size() + 1)));
        int n = 0;
        for (const auto &k : keys)
            if (key_value(c, k.data(), k.size(), &elems[n])) ++n;
        return PointerGetDatum(construct_array(elems, n, c.base, c.typlen, c.byval, c.align));
    });
    return {array_type, array};
}

std::string key_from_text(const std::vector<KeyColumn> &cols, const std::string &text) {
    std::string key;
    if (cols.size() == 1) {
        pg_call([&] {
            Oid in, ioparam;
            getTypeInputInfo(cols[0].base, &in, &ioparam);
            Datum d = OidInputFunctionCall(in, const_cast<char *>(text.c_str()), ioparam, -1);
            append_key_part(key, cols[0], d, false);
        });
        return key;
    }
    // ROW(k1, k2)::text: record_in over the key's base types
    const int n = static_cast<int>(cols.size());
    bool has_null = false;
    pg_call([&] {
        TupleDesc desc = CreateTemplateTupleDesc(n);
        for (int i = 0; i < n; ++i) TupleDescInitEntry(desc, static_cast<AttrNumber>(i + 1), nullptr, cols[i].base, -1, 0);
        desc = BlessTupleDesc(desc);
        Datum rec = OidInputFunctionCall(F_RECORD_IN, const_cast<char *>(text.c_str()), RECORDOID, desc->tdtypmod);
        HeapTupleHeader h = DatumGetHeapTupleHeader(rec);
        HeapTupleData tuple;
        tuple.t_len = HeapTupleHeaderGetDatumLength(h);
        ItemPointerSetInvalid(&tuple.t_self);
        tuple.t_tableOid = InvalidOid;
        tuple.t_data = h;
        Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * n));
        bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * n));
        heap_deform_tuple(&tuple, desc, values, nulls);
        for (int i = 0; i < n && !has_null; ++i) {
            has_null = nulls[i];
            if (!has_null) append_key_part(key, cols[i], values[i], true);
        }
    });
    if (has_null)
        throw Error(ErrorKind::InvalidParameter, "a primary key has no NULL part",
                    "Write a composite key as ROW(k1, k2)::text reads, e.g. (1,abc).");
    return key;
}

std::string key_from_datum(const std::vector<KeyColumn> &cols, Oid type, Datum value) {
    const Oid base = pg_call([&] { return getBaseType(type); });
    if (base == TEXTOID || base == VARCHAROID || base == BPCHAROID || base == UNKNOWNOID || base == NAMEOID) {
        std::string written = pg_call([&] {
            if (base == UNKNOWNOID) return std::string(DatumGetCString(value));
            if (base == NAMEOID) return std::string(NameStr(*DatumGetName(value)));
            return std::string(TextDatumGetCString(value));
        });
        // a text-like key compares its bytes; any other key is parsed
        if (cols.size() == 1 && cols[0].base == base && base != NAMEOID && base != UNKNOWNOID) {
            std::string key;
            pg_call([&] { append_key_part(key, cols[0], value, false); });
            return key;
        }
        return key_from_text(cols, written);
    }
    const bool same = cols.size() == 1 && (cols[0].base == base || (is_integer(cols[0].base) && is_integer(base)));
    if (!same)
        throw Error(ErrorKind::InvalidParameter,
                    "a key of type " + type_name(type) + " cannot identify a row of a table keyed by " +
                        (cols.size() == 1 ? type_name(cols[0].base) : std::string("several columns")),
                    cols.size() == 1 ? "Pass the key as type " + type_name(cols[0].base) + ", or as text."
                                     : "Pass a composite key as text, as ROW(k1, k2)::text reads, e.g. (1,abc).");
    KeyColumn as_passed = cols[0];
    as_passed.base = base;  // an integer key may come as any integer type: one encoding
    std::string key;
    pg_call([&] { append_key_part(key, as_passed, value, false); });
    return key;
}

std::string key_display(const std::vector<KeyColumn> &cols, const std::string &key) {
    bool ok = false;
    const std::vector<std::string_view> parts = split_key(key, cols.size(), &ok);
    if (!ok || cols.empty()) return hex(key);
    std::string out;
    for (size_t k = 0; k < cols.size(); ++k) {
        const char *text = nullptr;
        pg_call([&] {
            Datum d;
            if (!key_value(cols[k], parts[k].data(), parts[k].size(), &d)) return;
            Oid fn;
            bool varlena;
            getTypeOutputInfo(cols[k].base, &fn, &varlena);
            text = OidOutputFunctionCall(fn, d);
        });
        if (!text) return hex(key);
        if (cols.size() == 1) return text;
        out += k == 0 ? '(' : ',';
        append_quoted_field(out, text);
    }
    return out + ')';
}

}  // namespace unlearn::pg
