#include "model_cache.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <unordered_map>

#include "args.hpp"
#include "error.hpp"

namespace unlearn::pg {
namespace {

std::unordered_map<std::string, std::shared_ptr<CachedModel>> &cache() {
    static std::unordered_map<std::string, std::shared_ptr<CachedModel>> models;
    return models;
}

uint64 local_changes = 0;
// Bumped whenever an entry leaves or joins the cache: a pointer into it
// taken at one generation is valid while the generation stays.
uint64 cache_generation = 0;

// Plain data in fn_extra (palloc'd in fn_mcxt): no destructor ever runs.
struct CallMemo {
    char name[256];
    size_t name_len;
    uint64 local_changes;
    // the snapshot, all of what decides what it sees
    TransactionId xmin, xmax;
    CommandId curcid;
    uint32 xcnt;
    int32 subxcnt;
    bool suboverflowed;
    TransactionId *xids;  // xip then subxip, in fn_mcxt
    size_t room;          // of xids
    // the role it was read for: the extension's tables show a role only
    // the models it may read (their row-level security)
    Oid user;
    int32 id;
    int64 version;
    const CachedModel *model;  // the entry found, while cache_generation is generation
    uint64 generation;
};

void remember_snapshot(CallMemo *memo, Snapshot snap, MemoryContext where) {
    const size_t count = snap->xcnt + static_cast<size_t>(std::max(snap->subxcnt, 0));
    if (count > memo->room) {  // a busier snapshot than any before: room in the memo's context
        memo->xids = static_cast<TransactionId *>(
            pg_call([&] { return MemoryContextAlloc(where, count * sizeof(TransactionId)); }));
        memo->room = count;
    }
    memo->xmin = snap->xmin;
    memo->xmax = snap->xmax;
    memo->curcid = snap->curcid;
    memo->xcnt = snap->xcnt;
    memo->subxcnt = std::max(snap->subxcnt, 0);
    memo->suboverflowed = snap->suboverflowed;
    std::copy_n(snap->xip, snap->xcnt, memo->xids);
    std::copy_n(snap->subxip, memo->subxcnt, memo->xids + snap->xcnt);
}

// The memo's snapshot, or one that sees the same. xmin, xmax and curcid
// alone can be equal across another transaction's commit (a PL/pgSQL
// loop's expression keeps its memo while each evaluation takes a new
// snapshot: memo_snapshot.spec); the transactions in progress cannot.
bool same_snapshot(const CallMemo *memo, Snapshot snap) {
    return memo->local_changes == local_changes && memo->xmin == snap->xmin && memo->xmax == snap->xmax &&
           memo->curcid == snap->curcid && memo->xcnt == snap->xcnt && memo->subxcnt == snap->subxcnt &&
           memo->suboverflowed == snap->suboverflowed && std::equal(snap->xip, snap->xip + snap->xcnt, memo->xids) &&
           std::equal(snap->subxip, snap->subxip + memo->subxcnt, memo->xids + snap->xcnt);
}

// Whether the memo, fully written, is of this name, role and snapshot.
bool memo_matches(const CallMemo *memo, const char *name, size_t len, Snapshot snap) {
    return memo && memo->model && snap && memo->name_len == len && std::memcmp(memo->name, name, len) == 0 &&
           memo->user == GetUserId() && same_snapshot(memo, snap);
}

// The memo names the model version this statement already validated; the
// backend cache is then consulted by name without a query.
const CachedModel *memo_model(const CallMemo *memo, const std::string &name, Snapshot snap) {
    if (!memo_matches(memo, name.data(), name.size(), snap)) return nullptr;
    auto it = cache().find(name);
    if (it == cache().end() || it->second->meta.id != memo->id || it->second->meta.version != memo->version)
        return nullptr;
    return it->second.get();
}

std::shared_ptr<CachedModel> load_current(const std::string &name) {
    Spi spi;
    const ModelVersion v = model_version(spi, name);
    auto &c = cache();
    auto it = c.find(name);
    if (v.found && it != c.end() && it->second->meta.id == v.id && it->second->meta.version == v.version &&
        it->second->state_fingerprint == v.state_fingerprint)
        return it->second;
    if (it != c.end()) c.erase(it);
    ++cache_generation;
    auto entry = std::make_shared<CachedModel>(CachedModel{load_model(spi, name), FittedModel{}, v.state_fingerprint});
    entry->fit = fit_meta(entry->meta, load_states(spi, entry->meta, nullptr, nullptr, StatesFor::Predicting));
    c[name] = entry;
    // again: the load's queries may have run a load of this name (user code
    // on the catalog), whose entry this one just replaced
    ++cache_generation;
    return entry;
}

}  // namespace

void note_local_change() { ++local_changes; }

void note_model_written(int32 model_id) {
    note_local_change();
    auto &c = cache();
    for (auto it = c.begin(); it != c.end();) it = it->second->meta.id == model_id ? c.erase(it) : std::next(it);
    ++cache_generation;
}

const CachedModel &model_for_call(FunctionCallInfo fcinfo, const std::string &name) {
    Snapshot snap = pg_call([] { return ActiveSnapshotSet() ? GetActiveSnapshot() : nullptr; });
    auto *memo = static_cast<CallMemo *>(fcinfo->flinfo->fn_extra);
    if (const CachedModel *hit = memo_model(memo, name, snap)) {
        memo->model = hit;  // the fast path's again, whatever other loads did since
        memo->generation = cache_generation;
        return *hit;
    }
    std::shared_ptr<CachedModel> model = load_current(name);
    if (name.size() >= sizeof(memo->name)) return *model;  // too long to memoise: the cache still holds it
    if (!memo)
        memo = static_cast<CallMemo *>(
            pg_call([&] { return MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallMemo)); }));
    fcinfo->flinfo->fn_extra = memo;
    memo->model = nullptr;  // no hit until every field below is written
    if (!snap) return *model;
    remember_snapshot(memo, snap, fcinfo->flinfo->fn_mcxt);
    std::memcpy(memo->name, name.c_str(), name.size() + 1);
    memo->name_len = name.size();
    memo->generation = cache_generation;
    memo->local_changes = local_changes;
    memo->user = GetUserId();
    memo->id = model->meta.id;
    memo->version = model->meta.version;
    memo->model = model.get();
    return *model;
}

const CachedModel &model_for_call(FunctionCallInfo fcinfo) {
    require_arg(fcinfo, 0, "model name");
    // The statement's later rows: the name's bytes and the snapshot read in
    // one step, compared with the memo without building a string or
    // looking the name up (a forest's scoring calls this 200,000 times)
    const auto *memo = static_cast<const CallMemo *>(fcinfo->flinfo->fn_extra);
    const char *bytes = nullptr;
    size_t len = 0;
    Snapshot snap = pg_call([&] {
        const text *t = PG_GETARG_TEXT_PP(0);
        bytes = VARDATA_ANY(t);
        len = VARSIZE_ANY_EXHDR(t);
        return ActiveSnapshotSet() ? GetActiveSnapshot() : nullptr;
    });
    if (memo_matches(memo, bytes, len, snap) && memo->generation == cache_generation) return *memo->model;
    return model_for_call(fcinfo, std::string(bytes, len));
}

}  // namespace unlearn::pg
