// unlearn.max_memory: the most memory one pg_unlearn operation (a train, a
// DELETE's forgetting, a verify) may use for its rows and models. Every
// operation that holds rows in memory estimates its peak with the formula
// documented in the README ("Interrupts and memory") and is refused, before
// it trains or writes anything, when the estimate exceeds the setting.
#pragma once

#include <string>

#include "guard.hpp"
#include "model.hpp"

namespace unlearn::pg {

// Defines the setting; called once, from _PG_init.
void define_memory_setting();
double max_memory_bytes();

// Throws ResourceLimit (SQLSTATE 54000) when bytes, with what the statement
// already holds (MemoryReservation), exceed unlearn.max_memory;
// operation says what would need it ("training model \"m\""), fix how to need less.
// so_far: bytes counts only the rows read so far, the whole needs more.
void check_memory(double bytes, const std::string &operation, const std::string &fix, bool so_far = false);

// Bytes of rows held in memory while they are collected and trained on: the
// feature values in `copies` copies, the key texts (key_bytes in all) and the
// bookkeeping beside each row (label, slice, hash, lineage entry):
//     rows × (8 × width × copies + 192) + 4 × key_bytes
double rows_bytes(double rows, int width, double key_bytes, int copies);

// Memory a statement holds while it calls what checks its own: a DELETE's
// transition rows while a shard retrains. Checked when taken, counted by
// every check_memory until released (destroyed).
class MemoryReservation {
public:
    MemoryReservation() = default;
    MemoryReservation(double bytes, const std::string &operation, const std::string &fix);
    MemoryReservation(MemoryReservation &&o) noexcept : bytes_(o.bytes_) { o.bytes_ = 0; }
    MemoryReservation &operator=(MemoryReservation &&o) noexcept;
    MemoryReservation(const MemoryReservation &) = delete;
    MemoryReservation &operator=(const MemoryReservation &) = delete;
    ~MemoryReservation() { release(); }

private:
    void release() noexcept;
    double bytes_ = 0;
};

// What training one shard holds besides its rows: the learner's working set
// (an mlp's parameters, moments and batch; a Newton solver's Hessian) and the
// checkpoints kept while the shards are trained (checkpoints_kept) and while
// one shard's are written (slices). rows: the most rows one fit sees.
double learner_bytes(Algorithm a, const Options &o, int width, int classes, double rows, double checkpoints_kept,
                     int32 slices);

}  // namespace unlearn::pg
