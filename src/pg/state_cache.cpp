#include "state_cache.hpp"

#include <list>
#include <map>

#include "memory.hpp"

namespace unlearn::pg {
namespace {

struct Kept {
    int32 model_id = 0;
    int width = 0;
    std::map<int32, std::pair<StateVersion, KeptState>> shards;
    double bytes = 0;  // what its states hold (state_bytes) and the stored bytes kept beside them
};

// most recently kept first
std::list<Kept> &kept() {
    static std::list<Kept> k;
    return k;
}

double held_bytes(const KeptState &s) { return static_cast<double>(s.bytes.size() + state_bytes(s.state)); }

}  // namespace

bool take_kept_state(int32 model_id, int width, int32 shard, const StateVersion &v, KeptState &out) {
    for (Kept &k : kept()) {
        if (k.model_id != model_id) continue;
        if (k.width != width || !v.known()) return false;
        auto at = k.shards.find(shard);
        if (at == k.shards.end() || !(at->second.first == v)) return false;
        out = std::move(at->second.second);
        k.shards.erase(at);
        return true;
    }
    return false;
}

void keep_states(int32 model_id, int width, std::vector<int32> shards, std::vector<StateVersion> versions,
                 std::vector<KeptState> states) {
    auto &all = kept();
    all.remove_if([&](const Kept &k) { return k.model_id == model_id; });  // first: its memory goes before the new counts
    Kept k;
    k.model_id = model_id;
    k.width = width;
    for (size_t i = 0; i < shards.size(); ++i)
        if (versions[i].known()) {
            k.bytes += held_bytes(states[i]);
            k.shards.emplace(shards[i], std::make_pair(std::move(versions[i]), std::move(states[i])));
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
