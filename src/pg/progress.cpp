#include "progress.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "guard.hpp"
#include "interrupt.hpp"

extern "C" {
#include "pgstat.h"
#include "utils/backend_status.h"
#include "catalog/pg_authid.h"
}

namespace unlearn::pg {
namespace {

using Clock = std::chrono::steady_clock;

int progress_interval_ms = 5000;

struct State {
    bool active = false;
    std::string model, operation;
    int32 shards = 1, shard = -1;
    double expected_rows = 0;  // the planner's estimate of the source's rows, for the scan's share
    int64 rows_read = 0;
    Progress core;
    Clock::time_point started, phase_started, last_report;
    std::string file;
};

State state;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string entry_path(int pid) { return std::string(PG_STAT_TMP_DIR) + "/pg_unlearn_progress." + std::to_string(pid); }

// The share of the current phase done, or -1 when unknown: the scan by rows
// against the estimate, training by shards, slices and epochs (an mlp may
// stop before its epoch bound, so the estimate errs long).
double fraction_done() {
    if (state.shard < 0) return state.expected_rows > 0 ? std::min(1.0, state.rows_read / state.expected_rows) : -1;
    double within = 0;
    const Progress &c = state.core;
    if (c.slices > 0) within = (c.slice + (c.epochs > 0 ? static_cast<double>(c.epoch) / c.epochs : 0.0)) / c.slices;
    else if (c.epochs > 0) within = static_cast<double>(c.epoch) / c.epochs;
    return (state.shard + within) / std::max(1, state.shards);
}

std::string describe(double elapsed, double remaining) {
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(1);
    out << state.operation << " of model \"" << state.model << "\": ";
    if (state.shard < 0) {
        out << "reading rows, " << state.rows_read << " read";
    } else {
        out << "shard " << state.shard + 1 << " of " << state.shards;
        const Progress &c = state.core;
        if (c.slices > 0) out << ", slice " << c.slice + 1 << " of " << c.slices;
        if (c.epoch >= 0) out << ", epoch " << c.epoch << " of at most " << c.epochs;
        if (c.iteration >= 0) out << ", Newton iteration " << c.iteration + 1;
        if (c.rows >= 0) out << ", " << c.rows << " rows";
        if (std::isfinite(c.loss)) {
            out.precision(6);
            out.unsetf(std::ios::fixed);
            out << ", loss " << c.loss;
            out.setf(std::ios::fixed);
            out.precision(1);
        }
    }
    out << ", " << elapsed << " s elapsed";
    if (remaining >= 0) out << ", about " << remaining << " s left" << (state.shard < 0 ? " in the scan" : "");
    return out.str();
}

// tab-separated, one line: what unlearn.progress shows
void write_entry(double elapsed, double remaining) {
    const Progress &c = state.core;
    std::ostringstream line;
    line.precision(17);
    line << MyProcPid << '\t' << MyStartTimestamp << '\t' << GetUserId() << '\t' << state.model << '\t' << state.operation
         << '\t' << (state.shard < 0 ? "scan" : "train") << '\t' << state.rows_read << '\t' << state.shard << '\t'
         << state.shards << '\t' << c.slice << '\t' << c.slices << '\t' << c.epoch << '\t' << c.epochs << '\t'
         << c.iteration << '\t' << (std::isfinite(c.loss) ? c.loss : NAN) << '\t' << elapsed << '\t' << remaining << '\n';
    const std::string path = entry_path(MyProcPid), tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        if (!f) return;  // progress is a courtesy: no error for it
        f << line.str();
        if (!f) return;
    }
    if (std::rename(tmp.c_str(), path.c_str()) == 0) state.file = path;
}

void remove_entry() {
    if (!state.file.empty()) std::remove(state.file.c_str());
    state.file.clear();
}

void maybe_report() {
    if (!state.active || progress_interval_ms < 0) return;
    const auto now = Clock::now();
    if (seconds(now - state.last_report) * 1000 < progress_interval_ms) return;
    state.last_report = now;
    const double elapsed = seconds(now - state.started), f = fraction_done();
    const double phase = seconds(now - state.phase_started);
    const double remaining = f > 0 && f < 1 ? phase * (1 - f) / f : -1;
    write_entry(elapsed, remaining);
    const std::string msg = describe(elapsed, remaining);
    pg_call([&] { ereport(NOTICE, (errmsg("%s", msg.c_str()))); });
}

void on_core_progress(const Progress &p) {
    if (!state.active) return;
    if (p.slices >= 0) {  // a new slice: the fit's epochs start again
        state.core = Progress{};
        state.core.slice = p.slice;
        state.core.slices = p.slices;
        state.core.rows = p.rows;
    } else {
        if (p.epoch >= 0) {
            state.core.epoch = p.epoch;
            state.core.epochs = p.epochs;
        }
        if (p.iteration >= 0) state.core.iteration = p.iteration;
        if (p.rows >= 0) state.core.rows = p.rows;
        state.core.loss = p.loss;
    }
    maybe_report();
}

}  // namespace

void define_progress_setting() {
    DefineCustomIntVariable("unlearn.progress_interval",
                            "How often long pg_unlearn work reports its progress.",
                            "Training, shard retrains and verify that last longer than this send a NOTICE with "
                            "their progress this often and keep an entry in unlearn.progress; -1 turns it off, "
                            "0 reports at every step.",
                            &progress_interval_ms, 5000, -1, INT_MAX, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
}

void install_progress_hook() { set_progress_hook(&on_core_progress); }

ProgressScope::ProgressScope(const std::string &model, const char *operation, int32 shards, Oid relation)
    : owner_(!state.active) {
    if (!owner_) return;
    state = State{};
    state.active = true;
    state.model = model;  // one field of a tab-separated line: no tab or newline in it
    for (char &c : state.model)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    state.operation = operation;
    state.shards = std::max(1, shards);
    if (OidIsValid(relation))
        state.expected_rows = pg_call([&] {
            HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relation));
            double n = 0;
            if (HeapTupleIsValid(tup)) {
                n = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->reltuples;
                ReleaseSysCache(tup);
            }
            return n;
        });
    state.started = state.phase_started = state.last_report = Clock::now();
}

ProgressScope::~ProgressScope() {
    if (!owner_) return;
    remove_entry();
    state = State{};
}

void progress_shard(int32 shard) {
    if (!state.active) return;
    if (state.shard < 0) state.phase_started = Clock::now();  // the scan is over
    state.shard = shard;
    state.core = Progress{};
    maybe_report();
}

void progress_rows_read(int64 rows) {
    if (!state.active) return;
    state.rows_read += rows;
    maybe_report();
}

}  // namespace unlearn::pg

using namespace unlearn;
using namespace unlearn::pg;

namespace {

std::vector<std::string> split_tabs(const std::string &line) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, '\t')) out.push_back(field);
    return out;
}

double number(const std::string &s) {
    char *end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    return end && *end == '\0' ? v : NAN;
}

}  // namespace

// The progress entries of live backends the caller may see (as
// pg_stat_activity shows a backend's query: its own role's, or every one
// to members of pg_read_all_stats).
UNLEARN_FUNCTION(unlearn_progress_entries) {
    struct Live {
        int pid;
        TimestampTz started;
        Oid user;
    };
    std::vector<Live> live = pg_call([] {
        std::vector<Live> out;
        const int n = pgstat_fetch_stat_numbackends();
        for (int i = 1; i <= n; ++i) {
            LocalPgBackendStatus *b = pgstat_fetch_stat_local_beentry(i);
            if (b) out.push_back({b->backendStatus.st_procpid, b->backendStatus.st_proc_start_timestamp, b->backendStatus.st_userid});
        }
        return out;
    });
    std::vector<std::vector<std::string>> rows;
    for (const Live &b : live) {
        std::ifstream f(entry_path(b.pid));
        std::string line;
        if (!f || !std::getline(f, line)) continue;
        std::vector<std::string> fields = split_tabs(line);
        if (fields.size() != 17 || fields[0] != std::to_string(b.pid) || fields[1] != std::to_string(b.started)) continue;
        const bool visible = pg_call([&] {
            return has_privs_of_role(GetUserId(), b.user) || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
        });
        if (visible) rows.push_back(std::move(fields));
    }
    pg_call([&] {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        for (const auto &r : rows) {
            // pid, model, operation, phase, rows_read, shard, shards, slice, slices, epoch, epochs, iteration, loss,
            // elapsed, remaining
            Datum values[15];
            bool nulls[15] = {false};
            auto count_or_null = [&](int at, const std::string &s, bool one_based, bool wide) {
                const double v = number(s);
                nulls[at] = !(v >= 0);
                const int64 n = nulls[at] ? 0 : static_cast<int64>(v) + (one_based ? 1 : 0);
                values[at] = wide ? Int64GetDatum(n) : Int32GetDatum(static_cast<int32>(n));
            };
            auto float_or_null = [&](int at, const std::string &s) {
                const double v = number(s);
                nulls[at] = !std::isfinite(v) || v < 0;
                values[at] = Float8GetDatum(v);
            };
            values[0] = Int32GetDatum(static_cast<int32>(number(r[0])));
            values[1] = CStringGetTextDatum(r[3].c_str());
            values[2] = CStringGetTextDatum(r[4].c_str());
            values[3] = CStringGetTextDatum(r[5].c_str());
            count_or_null(4, r[6], false, true);   // rows_read
            count_or_null(5, r[7], true, false);   // shard, 1-based as the NOTICE says it
            count_or_null(6, r[8], false, false);  // shards
            count_or_null(7, r[9], true, false);   // slice
            count_or_null(8, r[10], false, false); // slices
            count_or_null(9, r[11], false, false); // epoch
            count_or_null(10, r[12], false, false); // epochs
            count_or_null(11, r[13], true, false); // Newton iteration
            float_or_null(12, r[14]);              // loss
            float_or_null(13, r[15]);              // elapsed
            float_or_null(14, r[16]);              // remaining
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return static_cast<Datum>(0);
}
