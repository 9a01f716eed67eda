#include "state_cache.hpp"

#include <list>
#include <map>
#include <optional>

#include "memory.hpp"

namespace unlearn::pg {
namespace {

struct Kept {
    int32 model_id = 0;
    int width = 0;
    // per shard its version, and its state until a change takes it
    std::map<int32, std::pair<StateVersion, std::optional<ShardState>>> shards;
    std::string hash;  // of all the shards as kept, "" when not all are
    double bytes = 0;  // what a forest holds (others are small next to it)
};

// most recently kept first
std::list<Kept> &kept() {
    static std::list<Kept> k;
    return k;
}

Kept *kept_model(int32 model_id, int width) {
    for (Kept &k : kept())
        if (k.model_id == model_id) return k.width == width ? &k : nullptr;
    return nullptr;
}

double held_bytes(const ShardState &s) {
    const auto *forest = std::get_if<ForestShard>(&s);
    return forest ? static_cast<double>(forest->forest.bytes()) : 0.0;
}

}  // namespace

bool take_kept_state(int32 model_id, int width, int32 shard, const StateVersion &v, ShardState &out) {
    Kept *k = kept_model(model_id, width);
    if (!k || !v.known()) return false;
    auto at = k->shards.find(shard);
    if (at == k->shards.end() || !(at->second.first == v) || !at->second.second) return false;
    out = std::move(*at->second.second);
    at->second.second.reset();
    return true;
}

std::string kept_hash(int32 model_id, int width, const std::vector<StateVersion> &versions) {
    const Kept *k = kept_model(model_id, width);
    if (!k || k->hash.empty() || k->shards.size() != versions.size()) return "";
    for (size_t s = 0; s < versions.size(); ++s) {
        const auto at = k->shards.find(static_cast<int32>(s));
        if (at == k->shards.end() || !versions[s].known() || !(at->second.first == versions[s])) return "";
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
    k.hash = std::move(hash);
    for (size_t i = 0; i < shards.size(); ++i)
        if (versions[i].known()) {
            k.bytes += held_bytes(states[i]);
            k.shards.emplace(shards[i], std::make_pair(std::move(versions[i]), std::optional<ShardState>(std::move(states[i]))));
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
}

}  // namespace unlearn::pg
