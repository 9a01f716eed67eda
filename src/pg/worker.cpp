#include "worker.hpp"

#include <chrono>
#include <cstring>

#include <sys/resource.h>

#include "args.hpp"
#include "error.hpp"
#include "guard.hpp"
#include "model_change.hpp"

namespace unlearn::pg {
namespace {

// The database's worker lock (pg_locks: advisory, classid this, objid 0,
// objsubid kOwnLockKind): "unlw".
constexpr uint32 kWorkerLockSpace = 0x756e6c77;

// Started after the asking transaction committed: its work is visible.
struct WorkerArgs {
    Oid role;  // the extension's owner, as whom the worker connects
};

// ---- the worker's items: plain globals, since the worker's main loop is C
// (a PostgreSQL error longjmps through it) and each item runs in its own
// transaction behind guarded().

struct Item {
    bool catch_up;  // else: fold the model's deltas
    int32 model_id;
    int32 shard;
};
std::vector<Item> items;
size_t current = 0;
bool progress = false;
std::optional<ShardRetrain> prepared;

Datum list_work(FunctionCallInfo) {
    items.clear();
    if (!deltas_installed() || !catchup_installed()) return 0;  // another version, or not installed here
    Spi spi;
    SpiResult r = spi.exec(
        "SELECT false, model_id, 0 FROM (SELECT DISTINCT model_id FROM unlearn.state_delta) d "
        "UNION ALL SELECT true, model_id, shard FROM (SELECT model_id, shard, since FROM unlearn.catchup ORDER BY since) c");
    for (uint64 i = 0; i < r.rows(); ++i)
        items.push_back(Item{DatumGetBool(r.datum(i, 1)), r.int4(i, 2), r.int4(i, 3)});
    return 0;
}

Datum fold_item(FunctionCallInfo) {
    Spi spi;
    const Item &it = items[current];
    const std::optional<ModelMeta> model = load_model_by_id(spi, it.model_id);
    if (!model) return 0;
    const ModelMeta &m = *model;
    const auto pending = [&] {
        return spi.exec("SELECT count(*) FROM unlearn.state_delta WHERE model_id = $1", {int4_param(m.id)}).int8(0, 1);
    };
    const int64 before = pending();
    fold_free_deltas(spi, m);
    progress |= pending() < before;
    return 0;
}

Datum prepare_item(FunctionCallInfo) {
    Spi spi;
    prepared = prepare_catch_up(spi, items[current].model_id, items[current].shard);
    if (!prepared) progress = true;  // nothing left to do for it
    return 0;
}

Datum keep_item(FunctionCallInfo) {
    Spi spi;
    keep_catch_up(spi, *prepared);  // a shard whose rows changed meanwhile is prepared again next round
    progress = true;
    return 0;
}

}  // namespace

namespace {

Oid owner = InvalidOid;      // the extension's owner, read once per backend
bool work_left = false;      // this transaction left work for after commit

LOCKTAG worker_locktag() {
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kWorkerLockSpace, 0, kOwnLockKind);
    return tag;
}

bool worker_running() {
    const LOCKTAG tag = worker_locktag();
    return GetLockConflicts(&tag, ExclusiveLock, nullptr)->backendId != InvalidBackendId;
}

// Plain C, no C++ object: it runs inside PostgreSQL's commit. The work is
// visible now; a worker holding the lock lists work again after letting go
// of it, so a running worker will see it, and else one is started.
void start_worker_unless_running() {
    if (!OidIsValid(owner) || worker_running()) return;
    BackgroundWorker w;
    memset(&w, 0, sizeof(w));
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;  // the next writer asks again
    snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_unlearn");
    snprintf(w.bgw_function_name, BGW_MAXLEN, "unlearn_worker_main");
    snprintf(w.bgw_name, BGW_MAXLEN, "pg_unlearn worker for database %u", MyDatabaseId);
    snprintf(w.bgw_type, BGW_MAXLEN, "pg_unlearn worker");
    w.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
    const WorkerArgs args{owner};
    static_assert(sizeof(args) <= BGW_EXTRALEN, "worker arguments fit bgw_extra");
    memcpy(w.bgw_extra, &args, sizeof(args));
    if (!RegisterDynamicBackgroundWorker(&w, nullptr))
        ereport(LOG, (errmsg("pg_unlearn could not start a background worker"),
                      errhint("Raise max_worker_processes; the work waits in unlearn.catchup and unlearn.state_delta "
                              "for the next writer or unlearn.wait.")));
}

void at_commit(XactEvent event, void *) {
    if (event == XACT_EVENT_COMMIT && work_left) start_worker_unless_running();
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) work_left = false;
}

void know_owner(Spi &spi) {
    if (OidIsValid(owner)) return;
    SpiResult r = spi.exec("SELECT extowner FROM pg_extension WHERE extname = 'pg_unlearn'");
    if (r.rows() == 1) owner = DatumGetObjectId(r.datum(0, 1));
}

}  // namespace

void request_worker(Spi &spi) {
    static bool registered = false;
    know_owner(spi);
    if (!registered) {
        pg_call([] { RegisterXactCallback(at_commit, nullptr); });
        registered = true;
    }
    work_left = true;
}

void start_worker_now(Spi &spi) {
    know_owner(spi);
    pg_call([] { start_worker_unless_running(); });
}

}  // namespace unlearn::pg

using namespace unlearn;
using namespace unlearn::pg;

namespace {

// One step in a transaction of its own, at the given isolation level;
// false when it failed (reported to the log, its transaction aborted).
bool run_in_transaction(Body body, int isolation) {
    volatile bool ok = true;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    XactIsoLevel = isolation;
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "pg_unlearn worker");
    PG_TRY();
    {
        guarded(body, nullptr);
        PopActiveSnapshot();
        CommitTransactionCommand();
    }
    PG_CATCH();
    {
        HOLD_INTERRUPTS();
        EmitErrorReport();
        FlushErrorState();
        AbortCurrentTransaction();
        RESUME_INTERRUPTS();
        ok = false;
    }
    PG_END_TRY();
    pgstat_report_activity(STATE_IDLE, nullptr);
    return ok;
}

bool worker_lock(bool take) {
    bool held = true;
    StartTransactionCommand();
    const LOCKTAG tag = worker_locktag();
    if (take)
        held = LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
    else
        LockRelease(&tag, ExclusiveLock, true);
    CommitTransactionCommand();
    return held;
}

void pause_ms(long ms) {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
}

// Rounds over the work until none is left, or until no round has made
// progress for a while (a writer holding a base in an open transaction):
// the next writer or unlearn.wait asks for a worker again.
void work_until_done() {
    int idle_rounds = 0;
    while (run_in_transaction(list_work, XACT_READ_COMMITTED) && !items.empty()) {
        progress = false;
        for (current = 0; current < items.size(); ++current) {
            if (!items[current].catch_up) {
                run_in_transaction(fold_item, XACT_READ_COMMITTED);
                continue;
            }
            // the rows of a shard are read from one snapshot; keeping the
            // result checks, under the writers' turn, that they did not change
            prepared.reset();
            if (run_in_transaction(prepare_item, XACT_REPEATABLE_READ) && prepared)
                run_in_transaction(keep_item, XACT_READ_COMMITTED);
        }
        prepared.reset();
        if (progress) {
            idle_rounds = 0;
        } else {
            if (++idle_rounds > 20) return;
            pause_ms(500);
        }
    }
}

}  // namespace

constexpr int kWorkerNiceness = 10;

extern "C" PGDLLEXPORT void unlearn_worker_main(Datum main_arg);

void unlearn_worker_main(Datum main_arg) {
    WorkerArgs args;
    memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), args.role, 0);
    // Catching up is background work: the served models are already free of
    // the forgotten rows, so the writers' backends go first for the CPU (a
    // niceness the operating system may refuse; then it runs as any backend).
    (void)setpriority(PRIO_PROCESS, 0, kWorkerNiceness);
    // One worker per database works; another leaves. The one that works
    // looks again after letting go, so that work left meanwhile (whose
    // worker left) is not missed.
    while (worker_lock(true)) {
        work_until_done();
        worker_lock(false);
        if (!run_in_transaction(list_work, XACT_READ_COMMITTED) || items.empty()) break;
    }
    proc_exit(0);
}

UNLEARN_FUNCTION(unlearn_wait) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    const double timeout = PG_ARGISNULL(1) ? 60.0 : PG_GETARG_FLOAT8(1);
    if (pg_call([] { return IsolationUsesXactSnapshot(); }))
        throw Error(ErrorKind::FeatureNotSupported, "unlearn.wait needs READ COMMITTED",
                    "Its snapshot would never see the worker's progress: call it outside REPEATABLE READ.");
    if (pg_call([] { return TransactionIdIsValid(GetTopTransactionIdIfAny()); }))
        throw Error(ErrorKind::ActiveTransaction, "unlearn.wait cannot wait in a transaction that has changed data",
                    "The worker waits for this transaction to end: call unlearn.wait after COMMIT.");
    Spi spi;
    const ModelMeta m = load_model(spi, name);
    const auto started = Clock::now();
    auto asked = started - std::chrono::hours(1);
    for (;;) {
        const int64 pending =
            spi.exec("SELECT (SELECT count(*) FROM unlearn.catchup WHERE model_id = $1) + "
                     "(SELECT count(*) FROM unlearn.state_delta WHERE model_id = $1)",
                     {int4_param(m.id)})
                .int8(0, 1);
        if (pending == 0) PG_RETURN_BOOL(true);
        const auto now = Clock::now();
        if (std::chrono::duration<double>(now - started).count() >= timeout) PG_RETURN_BOOL(false);
        if (now - asked > std::chrono::seconds(2)) {  // after a crash nobody else may ask
            start_worker_now(spi);
            asked = now;
        }
        pg_call([] { pause_ms(20); });
    }
}

// unlearn.hold_worker() / release_worker(): the database's worker lock for
// the session, as tests and maintenance need it (waits while a worker works).
UNLEARN_FUNCTION(unlearn_hold_worker) {
    pg_call([] {
        const LOCKTAG tag = worker_locktag();
        (void)LockAcquire(&tag, ExclusiveLock, true, false);
    });
    PG_RETURN_VOID();
}

UNLEARN_FUNCTION(unlearn_release_worker) {
    const bool held = pg_call([] {
        const LOCKTAG tag = worker_locktag();
        return LockHeldByMe(&tag, ExclusiveLock) && LockRelease(&tag, ExclusiveLock, true);
    });
    PG_RETURN_BOOL(held);
}
