// A row's identity in lineage: its primary key's stored value in a canonical
// binary form, independent of the session. Output functions are never used
// for identity: they read DateStyle, TimeZone, bytea_output,
// extra_float_digits, and an enum's label changes with RENAME VALUE.
//
// Encoding of one column's value:
//   smallint, integer, bigint  the value as a big-endian 8-byte integer, so
//                              retyping int4 -> int8 keeps every identity
//   real, double precision     the IEEE bits, -0 read as 0 and every NaN as
//                              one NaN (they are equal keys)
//   numeric                    numeric_send's digits without the display
//                              scale (1.0 = 1.00: one key)
//   character(n)               its bytes without trailing blanks (char(5)
//                              and char(8) hold equal keys)
//   enum                       the label's OID (RENAME VALUE keeps it)
//   other fixed-length types   the stored bytes (date, timestamp(tz), uuid,
//                              bool, oid, interval, ...)
//   other varlena types        the detoasted, unpacked data bytes (text,
//                              varchar, bytea, inet, ...)
// Domains are read as their base type. A composite key is the concatenation
// of its columns' encodings, each after a 4-byte big-endian length.
// Refused: arrays, composites, ranges, and types not built into PostgreSQL
// (other than enums), whose equality and I/O a table owner may define.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spi.hpp"

namespace unlearn::pg {

enum class KeyFamily : uint8 { Integer, Float4, Float8, Numeric, Bpchar, FixedByVal, FixedByRef, Varlena };

struct KeyColumn {
    Oid base = InvalidOid;  // the declared type with domains stripped
    KeyFamily family = KeyFamily::Varlena;
    int16 typlen = 0;
    bool byval = false;
    char align = 'i';
};

// How a key column of this declared type is encoded; refuses (0A000) types
// that cannot be. column and relation name it in the message.
KeyColumn key_column(Oid declared_type, const std::string &column, const std::string &relation);
// The key columns of relid as they are now.
std::vector<KeyColumn> key_columns(Oid relid, const std::vector<std::string> &columns);

// Appends one column's value (composite: after its length). Plain C: safe
// inside pg_call; detoasted copies go to the current memory context.
void append_key_part(std::string &out, const KeyColumn &c, Datum value, bool composite);

// The Datum (of the base type) one column's encoding stands for, palloc'd in
// the current memory context; false when the bytes are not such an encoding.
// Call inside pg_call.
bool key_value(const KeyColumn &c, const char *bytes, size_t len, Datum *out);

// A base-type array of the keys of a one-column key (keys that decode to no
// value of the type are left out: no row can have them).
Param key_array_param(const KeyColumn &c, const std::vector<std::string> &keys);

// A key as the user writes it: the base types' input functions, run as the
// caller; a composite key in ROW(k1, k2)::text form.
std::string key_from_text(const std::vector<KeyColumn> &cols, const std::string &text);
// A key passed as a typed value: the key's own type (or a domain over it),
// another integer type for an integer key, or text.
std::string key_from_datum(const std::vector<KeyColumn> &cols, Oid type, Datum value);

// For display only (the lineage view): the base types' output functions in
// the reader's session; bytes that decode to no key show as bytea hex.
std::string key_display(const std::vector<KeyColumn> &cols, const std::string &key);

}  // namespace unlearn::pg
