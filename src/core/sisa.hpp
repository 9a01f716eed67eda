// SISA (Bourtoule et al., IEEE S&P 2021): rows are split into shards and
// each shard into slices; a shard's constituent is trained slice by slice,
// slice k on slices 0..k resuming from the checkpoint of slice k-1. Forgetting
// a row discards its shard's checkpoints from the row's slice on and trains
// again from the last checkpoint that never saw it.
#pragma once

#include <string>
#include <vector>

#include "classifier.hpp"

namespace unlearn {

// Slice assignment, like shard_of: from the key and the model seed.
int32_t slice_of(const std::string &key, int32_t slices, int64_t seed);

// The rows of one shard. Training order is canonical, by (slice, key hash,
// key), never the table's physical order: a retrain must see the same rows
// in the same order whatever VACUUM or UPDATE did to the heap.
struct ShardRows {
    RowMatrix x;
    std::vector<int> y;  // class indices
    std::vector<int32_t> slice;
    std::vector<uint64_t> hash;
    std::vector<std::string> keys;

    void sort_canonical();
    Eigen::Index prefix(int32_t slice_inclusive) const;  // rows in slices 0..k (after sorting)
};

// Order-dependent digest of the key hashes a checkpoint has seen.
uint64_t digest_keys(const std::vector<uint64_t> &sorted_hashes, size_t count);

struct Checkpoint {
    int32_t slice = 0;
    int64_t rows = 0;      // rows in slices 0..slice
    uint64_t digest = 0;   // digest_keys of those rows
    ConstituentPtr model;  // null when no row has been seen yet
};

// Trains slices from..slices-1 of one shard (rows sorted canonically),
// resuming from resume (the checkpoint of slice from-1; null when from is 0).
std::vector<Checkpoint> train_slices(const Learner &learner, const ShardRows &rows, int32_t slices, int32_t from,
                                     const Checkpoint *resume, uint64_t shard_stream);

// Aggregated class probabilities over the constituents that hold rows:
// their mean, or with vote the share of constituents whose top class it is.
Matrix aggregate(const std::vector<ConstituentPtr> &members, const RowMatrix &x, int classes, bool vote);

}  // namespace unlearn
