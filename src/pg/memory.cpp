#include "memory.hpp"

#include <cmath>

#include "error.hpp"
#include "mlp.hpp"

namespace unlearn::pg {
namespace {

int max_memory_kb = 1024 * 1024;
double reserved_bytes = 0;  // held by live MemoryReservations of this backend  // 1 GB: what the mlp size check allowed before the setting existed

// Per row besides its values and key text: a shard's string header, class
// index, slice and hash, twice while the shard is sorted (96), the raw label
// (8), the lineage reference with its vector's growth room (64), the
// encoded lineage entry's header (16) and the allocator's overhead (16).
constexpr double kRowBookkeeping = 96 + 8 + 64 + 16 + 16;
// The key text is held by the shard's rows, lineage (with its string's
// growth room) and the encoded lineage block.
constexpr double kKeyCopies = 4;

std::string megabytes(double bytes) { return std::to_string(static_cast<long long>(std::ceil(bytes / (1024.0 * 1024)))); }

}  // namespace

void define_memory_setting() {
    DefineCustomIntVariable("unlearn.max_memory",
                            "Most memory one pg_unlearn operation may use for rows and models.",
                            "Training, the forgetting of a DELETE and verify estimate their peak memory and are "
                            "refused before they start when it exceeds this.",
                            &max_memory_kb, 1024 * 1024, 1024, MAX_KILOBYTES, PGC_USERSET, GUC_UNIT_KB, nullptr,
                            nullptr, nullptr);
}

double max_memory_bytes() { return 1024.0 * max_memory_kb; }

void check_memory(double bytes, const std::string &operation, const std::string &fix, bool so_far) {
    bytes += reserved_bytes;
    if (bytes <= max_memory_bytes()) return;
    const std::string limit = "unlearn.max_memory (" + megabytes(max_memory_bytes()) + " MB)";
    if (so_far)
        throw Error(ErrorKind::ResourceLimit,
                    operation + " needs more memory than " + limit + ": the rows read so far need about " +
                        megabytes(bytes) + " MB",
                    "Raise unlearn.max_memory, or " + fix + ".");
    throw Error(ErrorKind::ResourceLimit,
                operation + " needs about " + megabytes(bytes) + " MB of memory, more than " + limit,
                "Raise unlearn.max_memory (SET unlearn.max_memory = '" + megabytes(bytes * 1.1) + "MB'), or " + fix + ".");
}

MemoryReservation::MemoryReservation(double bytes, const std::string &operation, const std::string &fix) {
    check_memory(bytes, operation, fix);
    bytes_ = bytes;
    reserved_bytes += bytes;
}

MemoryReservation &MemoryReservation::operator=(MemoryReservation &&o) noexcept {
    if (this != &o) {
        release();
        bytes_ = o.bytes_;
        o.bytes_ = 0;
    }
    return *this;
}

void MemoryReservation::release() noexcept {
    reserved_bytes -= bytes_;
    bytes_ = 0;
}

double rows_bytes(double rows, int width, double key_bytes, int copies) {
    return rows * (8.0 * width * copies + kRowBookkeeping) + kKeyCopies * key_bytes;
}

double learner_bytes(Algorithm a, const Options &o, int width, int classes, double rows, double checkpoints_kept,
                     int32 slices) {
    double work = 0, checkpoint = 0;
    const double q = width + 1.0;
    if (a == Algorithm::Mlp) {
        const MlpOptions mo = mlp_options(o);
        work = mlp_training_bytes(mo, width, classes);
        checkpoint = 8.0 * mlp_parameters(mo, width, classes);
    } else {
        // Newton: the Hessian, its factorisation and the step's temporaries
        // (4 dim²), and one chunk of weighted rows (the solvers' 2e7
        // multiply-adds per chunk, at most all rows; three temporaries of
        // the chunk's width)
        const double blocks = classes == 2 ? 1.0 : classes, dim = blocks * q;
        const double chunk = std::min(rows, std::max(64.0, 2e7 / (q * q * blocks)));
        work = 8.0 * (4 * dim * dim + 3 * chunk * q * blocks);
        checkpoint = 8.0 * (dim + 8) + 8.0 * (2 * q * q);  // a certified shard keeps its Hessian and Gram matrix
    }
    // write_checkpoints encodes a shard's slices, binds them as one array and
    // the INSERT reads it: three copies at once
    return work + checkpoint * (checkpoints_kept + 3.0 * slices);
}

}  // namespace unlearn::pg
