#include "spi.hpp"

#include "error.hpp"

#include <cstring>
#include <optional>
#include <type_traits>
#include <unordered_map>


namespace unlearn::pg {

// The plan cache's rule, checked by the compiler: only a literal is a key.
static_assert(std::is_constructible_v<SqlText, const char (&)[9]>);
static_assert(!std::is_constructible_v<SqlText, const char *>);
static_assert(!std::is_constructible_v<SqlText, std::string>);
static_assert(!std::is_constructible_v<SqlText, char (&)[9]>);

namespace {

// A kept plan, and whether it writes or locks rows of the extension's tables
// (run as the extension's owner: see Spi::exec).
struct KeptPlan {
    SPIPlanPtr plan = nullptr;
    bool writes = false;
};

std::unordered_map<const char *, KeptPlan> &plan_cache() {
    static std::unordered_map<const char *, KeptPlan> plans;
    return plans;
}

Datum bytea_datum(const std::vector<uint8_t> &bytes) {
    return pg_call([&] {
        bytea *b = static_cast<bytea *>(palloc(VARHDRSZ + bytes.size()));
        SET_VARSIZE(b, VARHDRSZ + bytes.size());
        if (!bytes.empty()) std::memcpy(VARDATA(b), bytes.data(), bytes.size());
        return PointerGetDatum(b);
    });
}

Param array_param(Oid array_type, Oid elem_type, std::vector<Datum> &elems) {
    int16 len;
    bool byval;
    char align;
    Datum d = pg_call([&] {
        get_typlenbyvalalign(elem_type, &len, &byval, &align);
        return PointerGetDatum(construct_array(elems.data(), static_cast<int>(elems.size()), elem_type, len, byval, align));
    });
    return {array_type, d};
}

}  // namespace

Param int4_param(int32 v) { return {INT4OID, Int32GetDatum(v)}; }
Param int8_param(int64 v) { return {INT8OID, Int64GetDatum(v)}; }
Param oid_param(Oid v) { return {OIDOID, ObjectIdGetDatum(v)}; }
Param text_param(const std::string &s) {
    return {TEXTOID, pg_call([&] { return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size()))); })};
}
Param bytea_param(const std::vector<uint8_t> &bytes) { return {BYTEAOID, bytea_datum(bytes)}; }

Param int4_array_param(const std::vector<int32> &values) {
    std::vector<Datum> elems;
    for (int32 v : values) elems.push_back(Int32GetDatum(v));
    return array_param(INT4ARRAYOID, INT4OID, elems);
}
Param int8_array_param(const std::vector<int64> &values) {
    std::vector<Datum> elems;
    for (int64 v : values) elems.push_back(Int64GetDatum(v));
    return array_param(INT8ARRAYOID, INT8OID, elems);
}
// Built in place, one allocation: a training's or a large DELETE's blocks
// (megabytes) would be copied twice through bytea datums and construct_array.
Param bytea_array_param(const std::vector<std::vector<uint8_t>> &values) {
    return pg_call([&] {
        if (values.empty()) return Param{BYTEAARRAYOID, PointerGetDatum(construct_empty_array(BYTEAOID))};
        Size bytes = ARR_OVERHEAD_NONULLS(1);
        for (const auto &v : values) bytes += INTALIGN(VARHDRSZ + v.size());
        if (!AllocSizeIsValid(bytes))
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("array size exceeds the maximum allowed (%d)", static_cast<int>(MaxAllocSize))));
        auto *a = static_cast<ArrayType *>(palloc(bytes));
        SET_VARSIZE(a, bytes);
        a->ndim = 1;
        a->dataoffset = 0;  // no nulls bitmap
        a->elemtype = BYTEAOID;
        *ARR_DIMS(a) = static_cast<int>(values.size());
        *ARR_LBOUND(a) = 1;
        char *p = ARR_DATA_PTR(a);
        for (const auto &v : values) {
            const Size len = VARHDRSZ + v.size();
            SET_VARSIZE(p, len);
            if (!v.empty()) std::memcpy(VARDATA(p), v.data(), v.size());
            std::memset(p + len, 0, INTALIGN(len) - len);  // alignment padding, as construct_array zeroes it
            p += INTALIGN(len);
        }
        return Param{BYTEAARRAYOID, PointerGetDatum(a)};
    });
}
Param text_array_param(const std::vector<std::string> &values) {
    std::vector<Datum> elems;
    for (const auto &v : values) elems.push_back(text_param(v).value);
    return array_param(TEXTARRAYOID, TEXTOID, elems);
}

namespace {
// The extension's tables are small and reached by key: their scans are
// planned as index scans, whatever their size. A sequential, bitmap or TID
// scan of a one-page table asks the kernel for the table's size (an lseek)
// at every execution, eight times per single-row DELETE of an OLS model,
// where an index scan reads the pages it needs from shared buffers. Planning
// happens once per backend (the plans are kept), but a kept plan is planned
// again when its table's statistics change, inside a Spi scope too: so the
// setting holds for the scope, at the scope's GUC level (undone with it).
constexpr const char *kScanSettings[] = {"enable_seqscan", "enable_bitmapscan", "enable_tidscan"};
// The session's own values of kScanSettings, saved by the outermost Spi
// scope (an inner one sees the outer's "off"): a query on a user's table
// (AsOwner) is planned with them, as it was before the extension's scopes
// set them.
std::string session_scans[3];
int spi_depth = 0;  // Spi scopes open in this backend

void set_scans(const std::string values[3]) {
    for (int i = 0; i < 3; ++i)
        (void)set_config_option(kScanSettings[i], values[i].c_str(), PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                                true, 0, false);
}

// Called inside pg_call.
void plan_by_index() {
    if (spi_depth == 0)
        for (int i = 0; i < 3; ++i) session_scans[i] = GetConfigOption(kScanSettings[i], false, false);
    const std::string off[3] = {"off", "off", "off"};
    set_scans(off);
}
void plan_as_the_session() {
    if (spi_depth > 0) set_scans(session_scans);
}
}  // namespace

Spi::Spi() : outer_(CurrentMemoryContext) {
    guc_level_ = pg_call([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
        int level = NewGUCNestLevel();
        (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                                GUC_ACTION_SAVE, true, 0, false);
        // the extension's tables show a reader the models it may read (their
        // row-level security policies): a session's row_security = off would
        // make each read fail instead (set only then: every DML trigger opens
        // a scope)
        if (!row_security)
            (void)set_config_option("row_security", "on", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        plan_by_index();
        return level;
    });
    ++spi_depth;
}

Spi::~Spi() {
    --spi_depth;
    // On the error path the transaction abort cleans SPI and GUC state; here
    // we only undo what the normal path set up, and never throw.
    if (std::uncaught_exceptions()) return;
    try {
        pg_call([this] {
            AtEOXact_GUC(true, guc_level_);
            SPI_finish();
        });
    } catch (...) {
    }
}

namespace {
// Params as SPI takes them: three parallel arrays.
struct SpiArgs {
    explicit SpiArgs(const std::vector<Param> &params) {
        for (const auto &p : params) {
            types.push_back(p.type);
            values.push_back(p.value);
            nulls.push_back(p.null ? 'n' : ' ');
        }
    }
    std::vector<Oid> types;
    std::vector<Datum> values;
    std::vector<char> nulls;
};
}  // namespace

namespace {
// Whether a prepared statement changes or locks rows: any command but a
// plain SELECT, a SELECT with a data-changing WITH, or FOR UPDATE/SHARE.
bool plan_writes(SPIPlanPtr plan) {
    ListCell *lc;
    foreach (lc, SPI_plan_get_plan_sources(plan)) {
        auto *source = static_cast<CachedPlanSource *>(lfirst(lc));
        if (source->commandTag != CMDTAG_SELECT) return true;
        ListCell *qc;
        foreach (qc, source->query_list) {
            const Query *q = lfirst_node(Query, qc);
            if (q->commandType != CMD_SELECT || q->hasModifyingCTE || q->rowMarks != NIL) return true;
        }
    }
    return false;
}

// The backend's plan for a statement literal, prepared on first use and
// generic: never planned again for the parameters' values. The statements
// reach the extension's tables by key, through their indexes (plan_by_index;
// a few read a catalog or expand an array), and a custom plan would choose
// the same; yet PostgreSQL plans a statement afresh at every execution while
// a custom plan's estimate stays below the generic one's, and it did so for
// the states' read and the shard locks of every change (about a tenth of a
// single-row DELETE's CPU). Statements given arrays of thousands of values
// (lineage blocks, keys) would also copy them into every planning.
const KeptPlan &cached_plan(SqlText statement, std::vector<Oid> &types) {
    const char *sql = statement.c_str();
    auto &cache = plan_cache();
    auto it = cache.find(sql);
    if (it != cache.end()) return it->second;
    KeptPlan kept = pg_call([&] {
        SPIPlanPtr p = SPI_prepare_cursor(sql, static_cast<int>(types.size()), types.data(),
                                          CURSOR_OPT_GENERIC_PLAN);
        if (!p) elog(ERROR, "SPI_prepare failed for pg_unlearn query: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(p);
        return KeptPlan{p, plan_writes(p)};
    });
    return cache[sql] = kept;
}

// Runs its scope as the extension's owner: the role whose rights the
// triggers run with (SECURITY DEFINER). Restored on every exit, the error
// path included (a plain assignment): a caller that caught an error must not
// go on as the extension's owner.
class AsExtensionOwner {
public:
    AsExtensionOwner() {
        const Oid owner = extension_owner();
        GetUserIdAndSecContext(&user_, &context_);
        if (owner == user_) return;
        SetUserIdAndSecContext(owner, context_ | SECURITY_LOCAL_USERID_CHANGE);
        switched_ = true;
    }
    ~AsExtensionOwner() {
        if (switched_) SetUserIdAndSecContext(user_, context_);
    }
    AsExtensionOwner(const AsExtensionOwner &) = delete;
    AsExtensionOwner &operator=(const AsExtensionOwner &) = delete;

private:
    Oid user_ = InvalidOid;
    int context_ = 0;
    bool switched_ = false;
};

}  // namespace

namespace {
Snapshot one_snapshot = nullptr;  // SpiOneSnapshot's, while one lives
}  // namespace

SpiOneSnapshot::SpiOneSnapshot(Snapshot snapshot) : outer_(one_snapshot) { one_snapshot = snapshot; }
SpiOneSnapshot::~SpiOneSnapshot() { one_snapshot = outer_; }

namespace {
// A prepared plan run through `snapshot` when one is given (the backend's
// own writes stay visible), else as SPI runs it: under READ COMMITTED, a
// new snapshot per query.
SpiResult execute(SPIPlanPtr plan, SpiArgs &args, long limit, Snapshot snapshot) {
    return pg_call([&] {
        int rc = snapshot ? SPI_execute_snapshot(plan, args.values.data(), args.nulls.data(), snapshot,
                                                 InvalidSnapshot, false, true, limit)
                          : SPI_execute_plan(plan, args.values.data(), args.nulls.data(), false, limit);
        if (rc < 0) elog(ERROR, "pg_unlearn query failed: %s", SPI_result_code_string(rc));
        return SpiResult(SPI_tuptable, SPI_processed);
    });
}
}  // namespace

namespace {
int reads_as_extension = 0;  // SpiReadsAsExtension scopes open
}  // namespace

SpiReadsAsExtension::SpiReadsAsExtension() { ++reads_as_extension; }
SpiReadsAsExtension::~SpiReadsAsExtension() { --reads_as_extension; }  // on the error path too

SpiResult Spi::exec(SqlText sql, const std::vector<Param> &params, long limit) {
    SpiArgs args(params);
    const KeptPlan &kept = cached_plan(sql, args.types);
    if (!kept.writes && reads_as_extension == 0) return execute(kept.plan, args, limit, one_snapshot);
    AsExtensionOwner owner;
    return execute(kept.plan, args, limit, one_snapshot);
}

SpiResult Spi::exec_as_extension(SqlText sql, const std::vector<Param> &params) {
    SpiArgs args(params);
    const KeptPlan &kept = cached_plan(sql, args.types);
    AsExtensionOwner owner;
    return execute(kept.plan, args, 0, one_snapshot);
}

namespace {
int owner_code_depth = 0;  // AsOwner scopes open

// Runs its scope as a relation's owner with SECURITY_RESTRICTED_OPERATION and
// a GUC nest level of its own (so a SET LOCAL by the owner's code ends with
// the scope); the error path is undone by the transaction abort, which
// restores the user and security context PostgreSQL saved at its start.
class AsOwner {
public:
    explicit AsOwner(Oid relation) {
        pg_call([&] {
            GetUserIdAndSecContext(&user_, &context_);
            HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relation));
            if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for relation %u", relation);
            const Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
            ReleaseSysCache(tuple);
            SetUserIdAndSecContext(owner, context_ | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
            level_ = NewGUCNestLevel();
            (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                                    GUC_ACTION_SAVE, true, 0, false);
            plan_as_the_session();  // a user's table: planned as the session plans it
        });
        ++owner_code_depth;
    }
    ~AsOwner() {
        --owner_code_depth;  // on the error path too: the flag is the backend's, not the transaction's
        if (std::uncaught_exceptions()) return;
        try {
            pg_call([this] {
                AtEOXact_GUC(false, level_);
                SetUserIdAndSecContext(user_, context_);
            });
        } catch (...) {
        }
    }
    AsOwner(const AsOwner &) = delete;
    AsOwner &operator=(const AsOwner &) = delete;

private:
    Oid user_ = InvalidOid;
    int context_ = 0;
    int level_ = 0;
};
}  // namespace

bool running_owner_code() { return owner_code_depth > 0; }

namespace {
// extension_owner's answer, kept until pg_proc changes (an invalidation of
// any function forgets it: DROP EXTENSION, ALTER FUNCTION ... OWNER TO)
Oid kept_extension_owner = InvalidOid;
bool owner_callback_registered = false;
void forget_extension_owner(Datum, int, uint32) { kept_extension_owner = InvalidOid; }
}  // namespace

Oid extension_owner() {
    if (OidIsValid(kept_extension_owner)) return kept_extension_owner;
    return pg_call([] {
        if (!owner_callback_registered) {
            CacheRegisterSyscacheCallback(PROCOID, forget_extension_owner, 0);
            owner_callback_registered = true;
        }
        // the owner of the triggers' function: the role they run as
        const Oid function = LookupFuncName(list_make2(makeString(pstrdup("unlearn")), makeString(pstrdup("forget_rows"))),
                                            0, nullptr, false);
        HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for function %u", function);
        const Oid owner = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple))->proowner;
        ReleaseSysCache(tuple);
        kept_extension_owner = owner;
        return owner;
    });
}

SpiResult Spi::exec_as_owner(Oid relation, const std::string &sql, const std::vector<Param> &params) {
    SpiArgs args(params);
    AsOwner owner(relation);
    if (one_snapshot) {
        // the owner's code the query runs (a function calling pg_unlearn)
        // reads as any query would, not through the caller's snapshot
        struct Restore {
            Snapshot pinned;
            ~Restore() { one_snapshot = pinned; }
        } restore{one_snapshot};
        one_snapshot = nullptr;
        SPIPlanPtr plan = pg_call([&] {
            SPIPlanPtr p = SPI_prepare(sql.c_str(), static_cast<int>(params.size()), args.types.data());
            if (!p) elog(ERROR, "SPI_prepare failed for pg_unlearn query: %s", SPI_result_code_string(SPI_result));
            return p;
        });
        SpiResult result = execute(plan, args, 0, restore.pinned);
        pg_call([&] { SPI_freeplan(plan); });
        return result;
    }
    return pg_call([&] {
        int rc = params.empty() ? SPI_execute(sql.c_str(), false, 0)
                                : SPI_execute_with_args(sql.c_str(), static_cast<int>(params.size()), args.types.data(),
                                                        args.values.data(), args.nulls.data(), false, 0);
        if (rc < 0) elog(ERROR, "pg_unlearn query failed: %s", SPI_result_code_string(rc));
        return SpiResult(SPI_tuptable, SPI_processed);
    });
}

SpiResult Spi::exec_latest(SqlText sql, const std::vector<Param> &params) {
    SpiArgs args(params);
    const KeptPlan &kept = cached_plan(sql, args.types);
    std::optional<AsExtensionOwner> owner;
    if (kept.writes) owner.emplace();
    SPIPlanPtr plan = kept.plan;
    return pg_call([&] {
        int rc = SPI_execute_snapshot(plan, args.values.data(), args.nulls.data(), GetLatestSnapshot(),
                                      InvalidSnapshot, true, false, 0);
        if (rc < 0) elog(ERROR, "pg_unlearn query failed: %s", SPI_result_code_string(rc));
        return SpiResult(SPI_tuptable, SPI_processed);
    });
}

void Spi::exec_once(const std::string &sql) {
    pg_call([&] {
        int rc = SPI_execute(sql.c_str(), false, 0);
        if (rc < 0) elog(ERROR, "pg_unlearn statement failed: %s", SPI_result_code_string(rc));
    });
}

bool SpiResult::is_null(uint64 row, int col) const {
    bool isnull;
    (void)SPI_getbinval(table_->vals[row], table_->tupdesc, col, &isnull);
    return isnull;
}

Datum SpiResult::datum(uint64 row, int col) const {
    bool isnull;
    Datum d = SPI_getbinval(table_->vals[row], table_->tupdesc, col, &isnull);
    if (isnull) throw Error(ErrorKind::Internal, "unexpected NULL in pg_unlearn catalog");
    return d;
}

std::string SpiResult::str(uint64 row, int col) const {
    Datum d = datum(row, col);
    return pg_call([&] {
        auto *t = reinterpret_cast<::text *>(PG_DETOAST_DATUM_PACKED(d));
        return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
    });
}

int64 SpiResult::int8(uint64 row, int col) const { return DatumGetInt64(datum(row, col)); }
int32 SpiResult::int4(uint64 row, int col) const { return DatumGetInt32(datum(row, col)); }
double SpiResult::float8(uint64 row, int col) const { return DatumGetFloat8(datum(row, col)); }
bool SpiResult::boolean(uint64 row, int col) const { return DatumGetBool(datum(row, col)); }

std::vector<uint8_t> SpiResult::bytes(uint64 row, int col) const {
    Datum d = datum(row, col);
    std::vector<uint8_t> out;
    pg_call([&] {
        bytea *b = DatumGetByteaPP(d);
        const auto *p = reinterpret_cast<const uint8_t *>(VARDATA_ANY(b));
        out.assign(p, p + VARSIZE_ANY_EXHDR(b));
    });
    return out;
}

std::pair<const uint8_t *, size_t> SpiResult::bytes_view(uint64 row, int col) const {
    Datum d = datum(row, col);
    return pg_call([&] {
        bytea *b = DatumGetByteaPP(d);  // a detoasted copy lives in SPI's context, as the result does
        return std::make_pair(reinterpret_cast<const uint8_t *>(VARDATA_ANY(b)), static_cast<size_t>(VARSIZE_ANY_EXHDR(b)));
    });
}

std::vector<std::string> SpiResult::text_array(uint64 row, int col) const {
    Datum d = datum(row, col);
    Datum *elems = nullptr;
    bool *nulls = nullptr;
    int n = 0;
    pg_call([&] { deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n); });
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        if (nulls[i]) throw Error(ErrorKind::Internal, "unexpected NULL in pg_unlearn catalog array");
        out.push_back(pg_call([&] { return std::string(text_to_cstring(DatumGetTextPP(elems[i]))); }));
    }
    return out;
}

std::vector<AttrNumber> SpiResult::int2_array(uint64 row, int col) const {
    Datum d = datum(row, col);
    Datum *elems = nullptr;
    bool *nulls = nullptr;
    int n = 0;
    pg_call([&] { deconstruct_array(DatumGetArrayTypeP(d), INT2OID, sizeof(int16), true, TYPALIGN_SHORT, &elems, &nulls, &n); });
    std::vector<AttrNumber> out;
    for (int i = 0; i < n; ++i) {
        if (nulls[i]) throw Error(ErrorKind::Internal, "unexpected NULL in pg_unlearn catalog array");
        out.push_back(DatumGetInt16(elems[i]));
    }
    return out;
}

}  // namespace unlearn::pg
