// SISA at the boundary: reading a shard's rows back from the source,
// retraining shards from their last clean checkpoint, and the checkpoints
// table. The arithmetic lives in src/core/sisa.
#pragma once

#include <map>
#include <set>
#include <unordered_map>

#include "catalog.hpp"

namespace unlearn::pg {

struct Placement {
    int32 shard;
    int32 slice;
};
// The training rows lineage holds in the given shards, by key.
using HeldRows = std::unordered_map<std::string, Placement>;
HeldRows held_rows(Spi &spi, const ModelMeta &m, const std::set<int32> &shards);

// Where a new row goes: shard and slice from its key and the model seed.
Placement place(const std::string &key, int32 shards, int32 slices, int64 seed);

// Rows of the wanted shards, read from the source, with their labels as
// class indices, each shard sorted canonically. missing counts held rows the
// source no longer has (or has with values the model cannot use).
struct ShardSet {
    std::map<int32, ShardRows> shards;
    int64 missing = 0;
};
ShardSet read_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes, const std::set<int32> &wanted);

// Trains slices from..slices-1 of one shard; from > 0 resumes from the
// stored checkpoint of slice from-1.
std::vector<Checkpoint> train_shard(Spi &spi, const ModelMeta &m, const ClassLabels &classes, int32 shard,
                                    const ShardRows &rows, int32 from);
// Replaces the shard's checkpoints from the first one given on.
void write_checkpoints(Spi &spi, const ModelMeta &m, int32 shard, const ClassLabels &classes,
                       const std::vector<Checkpoint> &checkpoints);

// Retrains each shard in from (shard -> first affected slice) over the rows
// lineage holds now, once, writing its checkpoints; states (the model's
// shard states, as loaded) get the new last checkpoints.
void retrain_shards(Spi &spi, const ModelMeta &m, const std::map<int32, int32> &from, std::vector<ShardState> &states);

// (shard, slice) -> (rows, digest) of every stored checkpoint
std::map<std::pair<int32, int32>, std::pair<int64, std::string>> checkpoint_digests(Spi &spi, const ModelMeta &m);
std::string digest_text(uint64_t digest);

}  // namespace unlearn::pg
