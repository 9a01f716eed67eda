// Memory for the few arrays a training fills with one entry per row (the
// lineage's key refs and bytes, their bucket order): tens of MB, touched
// once. Taken from the kernel 4 kB at a time they cost one page fault per
// 4 kB (a million-row training took ~20,000 faults, most of them here, and
// a fault costs several µs on a virtual machine); asked for in transparent
// huge pages (MADV_HUGEPAGE: the kernel's default "madvise" mode serves only
// regions that ask) they cost one per 2 MB. Small arrays and systems without
// madvise get the ordinary allocator. The memory is the same either way: at
// most one huge page more than asked for per array.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace unlearn {

template <typename T>
struct BulkAllocator {
    using value_type = T;
    static constexpr size_t kHugePage = size_t{2} << 20;

    BulkAllocator() = default;
    template <typename U>
    BulkAllocator(const BulkAllocator<U> &) {}

    T *allocate(size_t n) {
        const size_t bytes = n * sizeof(T);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (bytes >= kHugePage) {
            // aligned to 2 MB: the kernel maps only whole aligned huge pages
            const size_t span = round_up(bytes) + kHugePage;
            void *raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (raw == MAP_FAILED) throw std::bad_alloc();
            const auto start = reinterpret_cast<uintptr_t>(raw);
            const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
            if (aligned > start) munmap(raw, aligned - start);
            const uintptr_t end = start + span, used_end = aligned + round_up(bytes);
            if (end > used_end) munmap(reinterpret_cast<void *>(used_end), end - used_end);
            madvise(reinterpret_cast<void *>(aligned), round_up(bytes), MADV_HUGEPAGE);  // a hint: failing is harmless
            return reinterpret_cast<T *>(aligned);
        }
#endif
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T *p, size_t n) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (n * sizeof(T) >= kHugePage) {
            munmap(p, round_up(n * sizeof(T)));
            return;
        }
#endif
        std::allocator<T>().deallocate(p, n);
    }

private:
    static size_t round_up(size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }
};

template <typename T, typename U>
bool operator==(const BulkAllocator<T> &, const BulkAllocator<U> &) {
    return true;
}
template <typename T, typename U>
bool operator!=(const BulkAllocator<T> &, const BulkAllocator<U> &) {
    return false;
}

}  // namespace unlearn
