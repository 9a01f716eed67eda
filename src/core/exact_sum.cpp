#include "exact_sum.hpp"

#include <algorithm>
#include <cmath>

#include "bytes.hpp"
#include "error.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
constexpr int64_t kDigitMask = 0xffffffff;
constexpr int64_t kHalf = int64_t{1} << 31;
// Positions a temporary (a product of two sums, in the solver) may reach; a
// stored sum stays within [kMinDigit, kMaxDigit).
constexpr int kLimbLimit = 160;

int clz128(unsigned __int128 v) {
    const auto hi = static_cast<uint64_t>(v >> 64);
    return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll(static_cast<uint64_t>(v));
}

void decompose_checked(double x, int64_t *m, int *e) {
    if (!std::isfinite(x)) throw Error(ErrorKind::DataException, "a value is not a finite number");
    decompose(x, m, e);
}
}  // namespace

void ExactSum::ensure(int lo, int hi) {
    if (lo < -kLimbLimit || hi > kLimbLimit) throw Error(ErrorKind::Internal, "exact sum out of range");
    if (d_.empty()) {
        lo_ = lo;
        d_.assign(static_cast<size_t>(hi - lo), 0);
        return;
    }
    if (lo < lo_) {
        d_.insert(d_.begin(), static_cast<size_t>(lo_ - lo), 0);
        lo_ = lo;
    }
    if (hi > lo_ + static_cast<int>(d_.size())) d_.resize(static_cast<size_t>(hi - lo_), 0);
}

void ExactSum::after_add() {
    if (++pending_ >= kMaxPending) normalise();
}

void ExactSum::add_scaled(__int128 v, int exp) {
    if (v == 0) return;
    const int k = exp >> 5;  // floor(exp / 32): arithmetic shift
    const int s = exp & 31;
    // |v| < 2^96 and s < 32: the shifted value fits in 128 bits
    const auto u = static_cast<unsigned __int128>(v) << s;
    const auto t = static_cast<__int128>(u);
    ensure(k, k + 4);
    int64_t *p = &d_[static_cast<size_t>(k - lo_)];
    p[0] += static_cast<int64_t>(static_cast<uint64_t>(u) & kDigitMask);
    p[1] += static_cast<int64_t>(static_cast<uint64_t>(u >> 32) & kDigitMask);
    p[2] += static_cast<int64_t>(static_cast<uint64_t>(u >> 64) & kDigitMask);
    p[3] += static_cast<int64_t>(t >> 96);  // signed, |.| < 2^31
    after_add();
}

void ExactSum::add(double x, int sign) {
    int64_t m;
    int e;
    decompose_checked(x, &m, &e);
    add_scaled(static_cast<__int128>(sign) * m, e);
}

void ExactSum::add_product(double x, double y, int sign) {
    int64_t mx, my;
    int ex, ey;
    decompose_checked(x, &mx, &ex);
    decompose_checked(y, &my, &ey);
    __int128 prod = static_cast<__int128>(mx) * my;  // |.| < 2^106: exact
    if (sign < 0) prod = -prod;
    // two adds of < 2^96 each: the low 64 bits (unsigned) and the rest (signed)
    add_scaled(static_cast<__int128>(static_cast<uint64_t>(prod)), ex + ey);
    add_scaled(prod >> 64, ex + ey + 64);
}

void ExactSum::add(const ExactSum &o, int sign) {
    if (o.d_.empty()) return;
    if (o.pending_ + 1 >= kMaxPending) {
        ExactSum c = o;
        c.normalise();
        add(c, sign);
        return;
    }
    if (pending_ + o.pending_ + 1 >= kMaxPending) normalise();
    ensure(o.lo_, o.lo_ + static_cast<int>(o.d_.size()));
    int64_t *p = &d_[static_cast<size_t>(o.lo_ - lo_)];
    for (size_t i = 0; i < o.d_.size(); ++i) p[i] += sign * o.d_[i];
    pending_ += o.pending_ + 1;
    if (pending_ >= kMaxPending) normalise();
}

void ExactSum::add_product(const ExactSum &a, const ExactSum &b, int sign) {
    ExactSum x = a, y = b;
    x.normalise();
    y.normalise();
    for (size_t i = 0; i < x.d_.size(); ++i)
        for (size_t j = 0; j < y.d_.size(); ++j)
            add_scaled(static_cast<__int128>(sign) * x.d_[i] * y.d_[j],
                       kDigitBits * (x.lo_ + static_cast<int>(i) + y.lo_ + static_cast<int>(j)));
}

void ExactSum::add_product(const ExactSum &a, int64_t n, int sign) {
    ExactSum x = a;
    x.normalise();
    for (size_t i = 0; i < x.d_.size(); ++i)
        add_scaled(static_cast<__int128>(sign) * x.d_[i] * n, kDigitBits * (x.lo_ + static_cast<int>(i)));
}

void ExactSum::normalise() {
    pending_ = 0;
    // propagate carries: every limb into [0, 2^32), the rest moves up
    int64_t carry = 0;
    for (auto &v : d_) {
        const int64_t t = v + carry;  // |v| < 2^62, |carry| < 2^31: no overflow
        v = t & kDigitMask;
        carry = t >> 32;  // floor division: arithmetic shift
    }
    while (carry != 0 && carry != -1) {
        d_.push_back(carry & kDigitMask);
        carry >>= 32;
    }
    d_.push_back(carry);  // the signed top digit: 0 or -1
    // shortest form: fold the top digit into the one below while that keeps
    // the top within [-2^31, 2^31)
    while (d_.size() >= 2) {
        const int64_t top = d_.back(), below = d_[d_.size() - 2];
        if (top == 0 && below < kHalf) {
            d_.pop_back();
        } else if (top == -1 && below >= kHalf) {
            d_.pop_back();
            d_.back() = below - (int64_t{1} << 32);
        } else {
            break;
        }
    }
    if (d_.size() == 1 && d_[0] == 0) d_.clear();
    size_t zeros = 0;
    while (zeros < d_.size() && d_[zeros] == 0) ++zeros;
    d_.erase(d_.begin(), d_.begin() + static_cast<std::ptrdiff_t>(zeros));
    lo_ = d_.empty() ? 0 : lo_ + static_cast<int>(zeros);
    if (lo_ + static_cast<int>(d_.size()) > kLimbLimit) throw Error(ErrorKind::Internal, "exact sum out of range");
}

bool ExactSum::is_zero() const {
    ExactSum c = *this;
    c.normalise();
    return c.d_.empty();
}

bool ExactSum::operator==(const ExactSum &o) const {
    ExactSum a = *this, b = o;
    a.normalise();
    b.normalise();
    return a.lo_ == b.lo_ && a.d_ == b.d_;
}

double ExactSum::value() const {
    ExactSum c = *this;
    c.normalise();
    if (c.d_.empty()) return 0.0;
    const bool negative = c.d_.back() < 0;
    if (negative) {
        for (auto &v : c.d_) v = -v;
        c.normalise();
    }
    // the top 96 bits (3 digits) and whether anything below them is nonzero
    const size_t n = c.d_.size();
    const size_t taken = std::min<size_t>(3, n);
    unsigned __int128 acc = 0;
    for (size_t i = 0; i < taken; ++i) acc = (acc << 32) | static_cast<uint64_t>(c.d_[n - 1 - i]);
    bool sticky = false;
    for (size_t i = 0; i + taken < n; ++i) sticky = sticky || c.d_[i] != 0;
    int exp = kDigitBits * (c.lo_ + static_cast<int>(n - taken));
    const int lz = clz128(acc);
    acc <<= lz;
    exp -= lz;  // value = acc * 2^exp, bit 127 of acc set
    const auto top = static_cast<uint64_t>(acc >> 64);
    sticky = sticky || static_cast<uint64_t>(acc) != 0;
    uint64_t mant = top >> 11;  // 53 bits
    const uint64_t rest = top & 0x7ff;
    if (rest > 0x400 || (rest == 0x400 && (sticky || (mant & 1)))) ++mant;  // nearest, ties to even
    // mant may have become 2^53: still exact as a double
    const double v = std::ldexp(static_cast<double>(mant), exp + 64 + 11);
    return negative ? -v : v;
}

void ExactSum::encode(ByteWriter &w) const {
    ExactSum c = *this;
    c.normalise();
    w.put_varint((static_cast<uint64_t>(static_cast<int64_t>(c.lo_)) << 1) ^
                 static_cast<uint64_t>(static_cast<int64_t>(c.lo_) >> 63));
    w.put_varint(c.d_.size());
    for (size_t i = 0; i + 1 < c.d_.size(); ++i) w.put<uint32_t>(static_cast<uint32_t>(c.d_[i]));
    if (!c.d_.empty()) w.put<int32_t>(static_cast<int32_t>(c.d_.back()));
}

ExactSum ExactSum::decode(ByteReader &r) {
    const uint64_t z = r.get_varint();
    if (z > 2 * static_cast<uint64_t>(-kMinDigit)) ByteReader::fail("exact sum out of range");
    const int lo = static_cast<int>(static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1));
    const uint64_t n = r.get_varint();
    if (lo < kMinDigit || n > static_cast<uint64_t>(kMaxDigit - lo)) ByteReader::fail("exact sum out of range");
    if (n == 0 && lo != 0) ByteReader::fail("exact sum not in canonical form");
    r.need(n * sizeof(uint32_t));
    ExactSum s;
    s.lo_ = lo;
    s.d_.resize(n);
    for (uint64_t i = 0; i + 1 < n; ++i) s.d_[i] = r.get<uint32_t>();
    if (n) s.d_[n - 1] = r.get<int32_t>();
    // canonical: a nonzero lowest digit, and a top digit that could not be
    // folded into the one below it
    if (n && s.d_[0] == 0) ByteReader::fail("exact sum not in canonical form");
    if (n >= 2) {
        const int64_t top = s.d_[n - 1], below = s.d_[n - 2];
        if ((top == 0 && below < kHalf) || (top == -1 && below >= kHalf))
            ByteReader::fail("exact sum not in canonical form");
    }
    return s;
}

}  // namespace unlearn
