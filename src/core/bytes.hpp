// Little-endian byte writer and a bounds-checked reader for the blobs we
// store. The reader treats its input as untrusted: every length is checked
// before it is used, and a short or inconsistent blob is CorruptState.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "error.hpp"

namespace unlearn {

uint64_t hash64(const void *data, size_t len);  // FNV-1a folded through a finaliser

// Writes go through a cursor into a buffer grown ahead of them: a put is a
// bounds test and a copy. Growing the vector by each value instead (resize,
// a call that zero-fills the bytes it adds) cost more than the bytes moved,
// and a forest's state is megabytes of one-byte varints written at every
// change.
class ByteWriter {
public:
    template <typename T>
    void put(T v) {
        static_assert(std::is_trivially_copyable<T>::value, "plain values only");
        std::memcpy(grab(sizeof(T)), &v, sizeof(T));
    }
    // LEB128: lineage entries are mostly small numbers and short keys.
    void put_varint(uint64_t v) {
        if (v < 0x80) {
            *grab(1) = static_cast<uint8_t>(v);
            return;
        }
        uint8_t b[10];
        const size_t n = write_varint(b, v);
        std::memcpy(grab(n), b, n);
    }
    // into a buffer the caller sized with varint_size; returns the bytes written
    static size_t write_varint(uint8_t *out, uint64_t v) {
        size_t n = 0;
        while (v >= 0x80) {
            out[n++] = static_cast<uint8_t>(v | 0x80);
            v >>= 7;
        }
        out[n++] = static_cast<uint8_t>(v);
        return n;
    }
    static size_t varint_size(uint64_t v) {
        size_t n = 1;
        while (v >= 0x80) {
            v >>= 7;
            ++n;
        }
        return n;
    }
    // Room for `more` bytes past those written, in one allocation.
    void reserve(size_t more) { buf_.reserve(used_ + more); }
    // n zero bytes, for a header sealed over them once the rest is written.
    void skip(size_t n) { std::memset(grab(n), 0, n); }
    // The bytes written, exactly, to read (write no more through the writer
    // after changing their size; skip makes room).
    std::vector<uint8_t> &bytes() {
        buf_.resize(used_);
        return buf_;
    }
    // The bytes written, moved out; the writer starts again empty.
    std::vector<uint8_t> take() {
        buf_.resize(used_);
        used_ = 0;
        return std::move(buf_);
    }

private:
    uint8_t *grab(size_t n) {
        if (used_ + n > buf_.size()) grow(n);
        uint8_t *at = buf_.data() + used_;
        used_ += n;
        return at;
    }
    // Ahead of the cursor by as much as was written, at most kAhead: the
    // room is zero-filled when made, and a reserve is often an upper bound,
    // so room far past the bytes would fault in memory never written (the
    // vector reallocates by doubling when its capacity is passed).
    static constexpr size_t kAhead = size_t{1} << 20;
    void grow(size_t n) { buf_.resize(used_ + n + std::min(buf_.size() + 64, kAhead)); }

    std::vector<uint8_t> buf_;  // the bytes written (used_ of them), then room
    size_t used_ = 0;
};

class ByteReader {
public:
    ByteReader(const uint8_t *data, size_t len) : p_(data), end_(data + len) {}
    template <typename T>
    T get() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, p_, sizeof(T));
        p_ += sizeof(T);
        return v;
    }
    // Only the form put_varint writes: no trailing zero byte after the
    // first (an overlong 0x80 0x00 for 0) and no bits past the 64th, so a
    // value has one stored form and a blob that decodes re-encodes alike.
    uint64_t get_varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            auto b = get<uint8_t>();
            if (shift == 63 && b > 1) fail("varint too long");
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                if (b == 0 && shift > 0) fail("varint not in its shortest form");
                return v;
            }
        }
        fail("varint too long");
    }
    std::string get_string(size_t max_len) {
        auto n = get_varint();
        if (n > max_len) fail("string longer than allowed");
        need(n);
        std::string s(reinterpret_cast<const char *>(p_), n);
        p_ += n;
        return s;
    }
    size_t remaining() const { return static_cast<size_t>(end_ - p_); }
    const uint8_t *position() const { return p_; }
    void need(size_t n) const {
        if (n > remaining()) fail("truncated");
    }
    [[noreturn]] static void fail(const std::string &what) {
        throw Error(ErrorKind::CorruptState, "corrupt pg_unlearn blob: " + what,
                    "The stored state was modified outside pg_unlearn; retrain the model.");
    }

private:
    const uint8_t *p_;
    const uint8_t *end_;
};

// Frame: magic(4) format(2) kind(2) payload_len(4) checksum(8) payload.
// Format 1 is every blob's first layout; a blob whose payload layout changed
// says so with a later format (summation-form states with exact sums: 2).
constexpr uint16_t kFirstFormat = 1;
constexpr uint16_t kLastFormat = 2;
// Set in the stored format field of a blob whose checksum is word_sum64;
// blobs written before 0.7.0's stop 28 hold hash64 and do not have it. The
// format a reader sees is without it.
constexpr uint16_t kWordSumFlag = 0x8000;
// A frame's checksum, eight bytes a step in four lanes (xxHash64's round):
// a forest's state is megabytes, and hash64 takes a step a byte (19 ms for
// 16 MB, at every change). Any one byte changed changes it: each step is a
// bijection of its lane given the others, and so is the lanes' merge.
uint64_t word_sum64(const void *data, size_t len);
std::vector<uint8_t> frame(const char magic[4], uint16_t kind, const std::vector<uint8_t> &payload,
                           uint16_t format = kFirstFormat);
// The same frame built in place, for a payload written straight into the blob
// (a million-key lineage is not copied twice): the caller appends the payload
// after kFrameHeader bytes, then seals the header over it.
constexpr size_t kFrameHeader = 4 + 2 + 2 + 4 + 8;
void seal_frame(std::vector<uint8_t> &blob, const char magic[4], uint16_t kind, uint16_t format = kFirstFormat);
// Returns a reader over the payload after checking magic, format, length and
// checksum. Without *format only format 1 is accepted; with it, any known
// format, which the caller must then check.
ByteReader unframe(const uint8_t *data, size_t len, const char magic[4], uint16_t *kind,
                   uint16_t *format = nullptr);

}  // namespace unlearn
