#include "state_cache.hpp"

#include <cstdlib>
#include <limits>
#include <list>
#include <map>
#include <optional>

#include "freed_memory.hpp"
#include "guard.hpp"
#include "memory.hpp"

namespace unlearn::pg {
namespace {

struct KeptShard {
    StateVersion version;
    uint64 reassigned = 0;             // the full xid at which version's xmin comes round again
    std::optional<ShardState> state;  // until a change takes it
};

struct Kept {
    int32 model_id = 0;
    int width = 0;
    Oid relfilenode = InvalidOid;  // of unlearn.state, which the ctids are in
    std::map<int32, KeptShard> shards;
    std::string hash;  // the audit's hash of all the shards as kept, "" when not all are
    double bytes = 0;  // what its states hold (state_bytes)
};

// most recently kept first
std::list<Kept> &kept() {
    static std::list<Kept> k;
    return k;
}

uint64 next_xid() { return U64FromFullTransactionId(pg_call([] { return ReadNextFullTransactionId(); })); }

// xmin is 32 bits: 2^32 xids on, a transaction has it again and may write
// the row at the same ctid. The first full xid after next with xmin's 32
// bits; a frozen row keeps its raw xmin, which may be that old already.
// Bootstrap and frozen xids (below FirstNormalTransactionId) never come round.
uint64 reassigned_at(const std::string &xmin, uint64 next) {
    const auto x = static_cast<TransactionId>(std::strtoul(xmin.c_str(), nullptr, 10));
    if (!TransactionIdIsNormal(x)) return std::numeric_limits<uint64>::max();
    return next + static_cast<uint32>(x - static_cast<TransactionId>(next));
}

// VACUUM FULL and CLUSTER move rows to other ctids and keep their xmin: a
// transaction's later version of a row (a superuser's UPDATE after a
// change) can then stand where its earlier, kept version stood. They write
// unlearn.state into a new relfilenode (so does TRUNCATE): a ctid is a place
// in one. Read while the relation is locked (the caller has read or written
// it in this transaction), so no rewrite comes between.
Oid state_relfilenode() {
    return pg_call([] {
        const Oid relid = get_relname_relid("state", get_namespace_oid("unlearn", true));
        Relation rel = OidIsValid(relid) ? RelationIdGetRelation(relid) : nullptr;
        if (!RelationIsValid(rel)) return InvalidOid;
        const Oid node = rel->rd_node.relNode;
        RelationClose(rel);
        return node;
    });
}

// The model's kept states while they are of this layout and relfilenode.
Kept *kept_model(int32 model_id, int width) {
    for (Kept &k : kept())
        if (k.model_id == model_id) return k.width == width && k.relfilenode == state_relfilenode() ? &k : nullptr;
    return nullptr;
}

// Whether the kept shard is that row version: the same (xmin, ctid), and
// xmin not come round by next (the next full xid).
bool same_row(const KeptShard &s, const StateVersion &v, uint64 next) {
    return v.known() && s.version == v && next <= s.reassigned;
}

}  // namespace

std::vector<std::optional<ShardState>> take_kept_states(int32 model_id, int width,
                                                        const std::vector<StateVersion> &versions) {
    std::vector<std::optional<ShardState>> out(versions.size());
    Kept *k = kept_model(model_id, width);
    if (!k) return out;
    const uint64 next = next_xid();
    for (size_t s = 0; s < versions.size(); ++s) {
        auto at = k->shards.find(static_cast<int32>(s));
        if (at == k->shards.end() || !at->second.state || !same_row(at->second, versions[s], next)) continue;
        out[s] = std::move(at->second.state);
        at->second.state.reset();
    }
    return out;
}

std::string kept_hash(int32 model_id, int width, const std::vector<StateVersion> &versions) {
    const Kept *k = kept_model(model_id, width);
    if (!k || k->hash.empty() || k->shards.size() != versions.size()) return "";
    const uint64 next = next_xid();
    for (size_t s = 0; s < versions.size(); ++s) {
        const auto at = k->shards.find(static_cast<int32>(s));
        if (at == k->shards.end() || !same_row(at->second, versions[s], next)) return "";
    }
    return k->hash;
}

void keep_states(int32 model_id, int width, std::vector<int32> shards, std::vector<StateVersion> versions,
                 std::vector<ShardState> states, std::string hash) {
    auto &all = kept();
    all.remove_if([&](const Kept &k) { return k.model_id == model_id; });  // first: its memory goes before the new counts
    Kept k;
    k.model_id = model_id;
    k.width = width;
    k.relfilenode = state_relfilenode();
    k.hash = std::move(hash);
    const uint64 next = next_xid();
    for (size_t i = 0; i < shards.size(); ++i)
        if (versions[i].known()) {
            k.bytes += static_cast<double>(state_bytes(states[i]));
            const uint64 reassigned = reassigned_at(versions[i].xmin, next);
            k.shards.emplace(shards[i], KeptShard{std::move(versions[i]), reassigned, std::move(states[i])});
        }
    all.push_front(std::move(k));
    // the bound: kKeptModels models, and half of unlearn.max_memory for
    // what they hold, the least recently kept going first (even the newest)
    double total = 0;
    size_t n = 0;
    for (auto it = all.begin(); it != all.end();) {
        total += it->bytes;
        if (++n > kKeptModels || total > max_memory_bytes() / 2) {
            total -= it->bytes;
            --n;
            it = all.erase(it);
        } else {
            ++it;
        }
    }
    retain_freed_memory(total);
}

}  // namespace unlearn::pg
