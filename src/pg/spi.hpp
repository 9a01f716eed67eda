// SPI for C++: one connection per scope, search_path pinned to
// pg_catalog, pg_temp while it is open (so user objects cannot shadow ours),
// plans prepared once per backend, every call through pg_call.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "guard.hpp"

namespace unlearn::pg {

struct Param {
    Oid type;
    Datum value;
    bool null = false;
};

Param int4_param(int32 v);
Param int8_param(int64 v);
Param text_param(const std::string &s);
Param bytea_param(const std::vector<uint8_t> &bytes);
Param oid_param(Oid v);
// Arrays built in the current memory context.
Param int4_array_param(const std::vector<int32> &values);
Param int8_array_param(const std::vector<int64> &values);
Param bytea_array_param(const std::vector<std::vector<uint8_t>> &values);
Param text_array_param(const std::vector<std::string> &values);

class SpiResult {
public:
    SpiResult() = default;
    SpiResult(SPITupleTable *table, uint64 rows) : table_(table), rows_(rows) {}
    uint64 rows() const { return rows_; }
    bool is_null(uint64 row, int col) const;
    Datum datum(uint64 row, int col) const;  // col is 1-based
    std::string str(uint64 row, int col) const;
    int64 int8(uint64 row, int col) const;
    int32 int4(uint64 row, int col) const;
    double float8(uint64 row, int col) const;
    bool boolean(uint64 row, int col) const;
    std::vector<uint8_t> bytes(uint64 row, int col) const;
    // A bytea's data in place, valid while this result is (no copy: a
    // statement rewriting thousands of lineage blocks reads each once).
    std::pair<const uint8_t *, size_t> bytes_view(uint64 row, int col) const;
    std::vector<std::string> text_array(uint64 row, int col) const;
    std::vector<AttrNumber> int2_array(uint64 row, int col) const;
    SPITupleTable *table() const { return table_; }

private:
    SPITupleTable *table_ = nullptr;
    uint64 rows_ = 0;
};

// Whether an exec_as_owner query is running in this backend: the owner's
// code it meets (a policy, an index expression, a function) must not change
// a modelled table then, because the change in progress holds lineage and
// states read before it and would write them back over the nested one.
bool running_owner_code();

// The extension's owner: the role its triggers and event triggers run as
// (SECURITY DEFINER), and the only role that writes its tables. Statements
// of Spi::exec that change or lock rows run as it, whoever called; those
// that only read run as the caller, with the caller's grants.
Oid extension_owner();

// The text of a statement whose plan the backend keeps: constructible only
// from a string literal (a const char array of static storage in practice),
// because the literal's address keys the plan cache. A pointer, a std::string
// or a mutable buffer does not compile; statements built at run time go
// through Spi::exec_once or Spi::exec_as_owner, which plan them every time.
class SqlText {
public:
    template <std::size_t N>
    constexpr SqlText(const char (&literal)[N]) : text_(literal) {}  // NOLINT: implicit on purpose
    template <std::size_t N>
    SqlText(char (&)[N]) = delete;  // a mutable buffer: its address is not the statement's
    constexpr const char *c_str() const { return text_; }

private:
    const char *text_;
};

// While one lives, every query of Spi::exec and Spi::exec_as_owner reads
// the given snapshot (registered by the caller; the backend's own writes
// stay visible), instead of a new one per query under READ COMMITTED: a
// reader that compares several tables (verify) sees them at one moment.
class SpiOneSnapshot {
public:
    explicit SpiOneSnapshot(Snapshot snapshot);
    ~SpiOneSnapshot();
    SpiOneSnapshot(const SpiOneSnapshot &) = delete;
    SpiOneSnapshot &operator=(const SpiOneSnapshot &) = delete;

private:
    Snapshot outer_;
};

// Within its scope the extension's statements (Spi::exec) run as the
// extension's owner, reads included: for a reader whose right to what is
// read was checked first (lineage_entries shows a model's keys to a reader
// who may read the model, without SELECT on unlearn.lineage_blocks).
class SpiReadsAsExtension {
public:
    SpiReadsAsExtension();
    ~SpiReadsAsExtension();
    SpiReadsAsExtension(const SpiReadsAsExtension &) = delete;
    SpiReadsAsExtension &operator=(const SpiReadsAsExtension &) = delete;
};

class Spi {
public:
    Spi();
    ~Spi();
    Spi(const Spi &) = delete;
    Spi &operator=(const Spi &) = delete;

    // sql is a string literal (SqlText): its address keys the backend's plan
    // cache, which plans it once, generically (spi.cpp says why).
    SpiResult exec(SqlText sql, const std::vector<Param> &params = {}, long limit = 0);
    // exec() run as the extension's owner even when it only reads: a call of
    // one of the extension's own functions that writes its tables
    // (install_triggers, drop_model's and resync's bodies), not executable by
    // PUBLIC. The caller's right to it is checked before (model_owner.hpp).
    SpiResult exec_as_extension(SqlText sql, const std::vector<Param> &params = {});
    // For statements built at run time (DDL, quoted identifiers): not cached.
    void exec_once(const std::string &sql);
    // A query over a user's table (built at run time, not cached), run as the
    // table's owner under SECURITY_RESTRICTED_OPERATION, the way PostgreSQL
    // runs index expressions, ANALYZE and REFRESH MATERIALIZED VIEW: whatever
    // the owner defined (a domain CHECK, a cast, an operator, a type's I/O)
    // runs with the owner's rights, never with the extension owner's, even
    // when called from the SECURITY DEFINER trigger or an event trigger.
    SpiResult exec_as_owner(Oid relation, const std::string &sql, const std::vector<Param> &params = {});
    // exec() (sql a literal, plan cached) with a snapshot taken now
    // rather than the transaction's: under REPEATABLE READ, what has committed
    // since the transaction began.
    SpiResult exec_latest(SqlText sql, const std::vector<Param> &params = {});
    // The caller's memory context: results returned to PostgreSQL go there,
    // because SPI's own context is freed when this scope ends.
    MemoryContext outer() const { return outer_; }

private:
    int guc_level_ = 0;
    MemoryContext outer_ = nullptr;
};

}  // namespace unlearn::pg
