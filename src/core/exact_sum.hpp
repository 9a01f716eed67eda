// An exact sum of products of doubles: a fixed-point superaccumulator over the
// whole range a product of two doubles can take (2^-2148 .. 2^2048, with room
// for 2^43 of them), in the spirit of Neal's "fast exact summation".
//
// Forgetting subtracts a row's terms from sums that were built by adding them.
// Any rounding in those sums makes the state depend on the order of the adds
// and subtracts, so a model that learned and forgot an outlier of 1e12 keeps
// the outlier's rounding errors, which a retrain on the remaining rows does
// not have. Here nothing is ever rounded: the sum is an integer multiple of
// 2^-2176 held in 32-bit digits, and the state is a function of the multiset
// of rows alone. The solver rounds once, when it needs a double.
//
// Digits are int64 limbs holding 32 bits each plus headroom, so an add only
// touches four limbs and carries are propagated lazily (every 2^29 adds).
// Only the span of digits a sum has touched is kept: a sum of values of one
// magnitude takes ~6 limbs (48 bytes) plus the 32-byte header, whatever the
// magnitude; the worst case (values from 1e-300 to 1e100 in one sum) is ~80
// limbs. Stored, it is its canonical digits (4 bytes each) and two varints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace unlearn {

class ByteWriter;
class ByteReader;

class ExactSum {
public:
    static constexpr int kDigitBits = 32;
    // lowest digit position: 2^-2176 <= 2^-2148, the last bit of a product of
    // two subnormals
    static constexpr int kMinDigit = -68;
    // one past the highest digit a stored sum may have: 2^2176 > 2^43 rows of
    // products below 2^2048
    static constexpr int kMaxDigit = 68;

    // this += sign * x, exactly; x finite
    void add(double x, int sign = 1);
    // this += sign * x * y, exactly; x, y finite
    void add_product(double x, double y, int sign = 1);
    // this += v * 2^exp, exactly; |v| < 2^96
    void add_scaled(__int128 v, int exp);
    // this += sign * o
    void add(const ExactSum &o, int sign = 1);
    // this += sign * a * b (a big-number product: for the solver, not the hot path)
    void add_product(const ExactSum &a, const ExactSum &b, int sign = 1);
    // this += sign * n * a
    void add_product(const ExactSum &a, int64_t n, int sign = 1);

    bool is_zero() const;
    // the sum rounded once to the nearest double (ties to even); +-inf beyond
    // the double range
    double value() const;

    // Canonical form: every digit in [0, 2^32) except the top one, which is
    // signed, in [-2^31, 2^31); the fewest digits that allows (the top is 0
    // or -1 only to give the sign of a digit below it); the lowest digit
    // nonzero; zero has no digits. Equal values have equal canonical forms.
    void normalise();
    bool operator==(const ExactSum &o) const;
    bool operator!=(const ExactSum &o) const { return !(*this == o); }

    // Stored form: zigzag varint of the lowest digit's position, varint digit
    // count, the digits as uint32 (the top one as int32).
    void encode(ByteWriter &w) const;
    // Refuses (CorruptState) anything but a canonical form within range.
    static ExactSum decode(ByteReader &r);
    // heap bytes (for memory estimates)
    size_t digits() const { return d_.size(); }

private:
    void ensure(int lo, int hi);  // the limbs cover digit positions [lo, hi)
    void after_add();

    static constexpr uint32_t kMaxPending = uint32_t{1} << 29;
    int lo_ = 0;               // position of d_[0]: d_[i] weighs 2^(32 (lo_ + i))
    uint32_t pending_ = 0;     // adds since the last normalise
    std::vector<int64_t> d_;  // limbs
};

// A double as an exact integer mantissa and exponent: x = m * 2^e.
inline void decompose(double x, int64_t *m, int *e) {
    uint64_t bits;
    __builtin_memcpy(&bits, &x, sizeof bits);
    const int be = static_cast<int>((bits >> 52) & 0x7ff);
    int64_t frac = static_cast<int64_t>(bits & ((uint64_t{1} << 52) - 1));
    if (be == 0) {
        *e = -1074;  // subnormal (or zero)
    } else {
        frac |= int64_t{1} << 52;
        *e = be - 1075;
    }
    *m = (bits >> 63) ? -frac : frac;
}

}  // namespace unlearn
