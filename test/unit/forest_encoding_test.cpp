// Encoding 3 of a forest (cells as steps of their grid ordinal) read as
// hostile bytes: a threshold or candidate written by hand at every ordinal
// that matters (the ends of the ordinal range, around zero, the top binade,
// subnormals) for every cell width, and values stored whole (off the grid
// or on it). What decodes must be a finite grid point, and re-encode to
// the very bytes it came from (one stored form per forest); the rest is
// CorruptState. Damaged real forests decode or are refused, and what
// decodes survives use.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bytes.hpp"
#include "forest.hpp"
#include "testing.hpp"

using namespace unlearn;
using unlearn::testing::bytes_of;

namespace {

using Bytes = std::vector<uint8_t>;

// A cell written as encoding 3 writes it: a step of ordinals (even), or 1
// and the double.
struct Cell {
    bool whole;
    uint64_t step;  // ordinal step when not whole
    double value;   // when whole
};

void put(ByteWriter &w, const Cell &c) {
    if (c.whole) {
        w.put_varint(1);
        w.put<double>(c.value);
    } else {
        w.put_varint(c.step << 1);
    }
}

// One tree of classes 2 and one feature: a split at `threshold` with two
// leaves; with `candidates`, the split keeps statistics of those cells.
Bytes one_split(int bits, const Cell &threshold, const std::vector<Cell> *candidates = nullptr, double max_features = 0) {
    ByteWriter w;
    w.put<uint16_t>(3);
    w.put<int32_t>(1);    // n_estimators
    w.put<int32_t>(0);    // max_depth
    w.put<int32_t>(1);    // min_samples_leaf
    w.put<double>(max_features);
    w.put<int32_t>(10);   // k
    w.put<int32_t>(2);    // random_depth
    w.put<uint64_t>(7);   // seed
    w.put<uint8_t>(static_cast<uint8_t>(bits));
    w.put<uint32_t>(1);   // trees
    w.put<uint8_t>(0);    // split
    w.put_varint(200);
    w.put_varint(100);
    w.put_varint(100);
    w.put_varint(0);      // feature
    put(w, threshold);
    w.put<uint8_t>(candidates ? 1 : 0);
    if (candidates) {
        w.put_varint(1);  // slots
        w.put_varint(0);  // feature
        w.put_varint(candidates->size());
        for (const Cell &c : *candidates) {
            put(w, c);
            w.put_varint(1);  // rows in the cell
            w.put_varint(0);  // left steps per class
            w.put_varint(1);
        }
    }
    for (int leaf = 0; leaf < 2; ++leaf) {
        w.put<uint8_t>(3);  // pure
        w.put_varint(100);
        w.put_varint(leaf ? 0 : 100);
        w.put_varint(leaf ? 100 : 0);
    }
    return w.bytes();
}

enum class Read { Refused, Canonical, Other };

// Decodes; a forest that decodes must hold finite grid points (never -0.0)
// as thresholds, and encode to the bytes read.
Read read(const Bytes &b, int bits, std::string *why) {
    try {
        ByteReader r(b.data(), b.size());
        const Forest f = Forest::decode(r, 1, 2);
        if (r.remaining()) return Read::Other;
        for (const auto &nd : f.tree_nodes(0)) {
            if (!nd.split) continue;
            if (!std::isfinite(nd.threshold) || forest_cell(nd.threshold, bits) != nd.threshold ||
                (nd.threshold == 0 && std::signbit(nd.threshold))) {
                *why = "threshold " + std::to_string(nd.threshold) + (std::signbit(nd.threshold) ? " (a negative sign)" : "");
                return Read::Other;
            }
        }
        if (bytes_of(f) != b) {
            *why = "re-encodes to other bytes";
            return Read::Other;
        }
        return Read::Canonical;
    } catch (const Error &e) {
        if (e.kind() != ErrorKind::CorruptState) {
            *why = e.what();
            return Read::Other;
        }
        return Read::Refused;
    }
}

// Every cell width below 52: thresholds at the ordinals that border the
// range, zero, the top binade, subnormals, and random ones.
TEST(ForestEncoding, ThresholdOrdinalsDecodeToCanonicalGridPointsOrAreRefused) {
    std::mt19937_64 rng(5);
    for (int bits = 1; bits < kMaxCellBits; ++bits) {
        const int shift = kMaxCellBits - bits;
        const uint64_t top = (uint64_t{1} << (64 - shift)) - 1;  // the largest ordinal
        const uint64_t zero = uint64_t{1} << (63 - shift);       // 0.0's
        std::vector<uint64_t> ordinals{1, 2, 3, uint64_t{1} << bits, (uint64_t{1} << bits) + 1, zero - 2, zero - 1, zero,
                                       zero + 1, zero + 2, top, top - 1, top - (uint64_t{1} << bits),
                                       top - (uint64_t{1} << bits) - 1, top + 1, top + 2, uint64_t{1} << 62,
                                       (uint64_t{1} << 63) - 1};
        for (int i = 0; i < 40; ++i) ordinals.push_back(1 + rng() % top);
        int decoded = 0;
        for (const uint64_t o : ordinals) {
            std::string why;
            const Read got = read(one_split(bits, {false, o, 0}), bits, &why);
            EXPECT_NE(got, Read::Other) << "bits " << bits << " ordinal " << o << " (zero at " << zero << "): " << why;
            decoded += got == Read::Canonical;
        }
        EXPECT_GT(decoded, 0) << bits;
        // the ordinal 0: a step of 0 is refused
        std::string why;
        EXPECT_EQ(read(one_split(bits, {false, 0, 0}), bits, &why), Read::Refused) << bits;
    }
}

// Values stored whole: only what the encoder stores whole (a value off the
// grid: DBL_MAX, the top cell) reads back; a grid point stored whole
// decodes to a forest whose stored form is another.
TEST(ForestEncoding, WholeValuesAreOnlyThoseOffTheGrid) {
    const double max = std::numeric_limits<double>::max();
    const std::vector<double> values{max, -max, 1.0, 0.0, -0.0, 3.0, -5.0, std::numeric_limits<double>::denorm_min(),
                                     std::numeric_limits<double>::min(), 1e300, std::nan(""),
                                     std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    for (int bits : {1, 6, 23, 51}) {
        for (const double v : values) {
            std::string why;
            const Read got = read(one_split(bits, {true, 0, v}), bits, &why);
            EXPECT_NE(got, Read::Other) << "bits " << bits << " whole " << v << ": " << why;
        }
    }
}

// Candidates: steps that would run past the top ordinal are refused (no
// wrap around), a whole value before steps is refused or canonical.
TEST(ForestEncoding, CandidateStepsNeverWrap) {
    for (int bits : {1, 2, 6, 30, 51}) {
        const int shift = kMaxCellBits - bits;
        const uint64_t top = (uint64_t{1} << (64 - shift)) - 1;
        const uint64_t one = uint64_t{1} << (63 - shift);  // zero's ordinal; 1.0 is above it
        const std::vector<std::vector<Cell>> lists{
            {{false, one, 0}, {false, top - one, 0}},
            {{false, one, 0}, {false, top - one + 1, 0}},
            {{false, one, 0}, {false, uint64_t{1} << 62, 0}},
            {{false, one + 5, 0}, {true, 0, std::numeric_limits<double>::max()}},
            {{true, 0, std::numeric_limits<double>::max()}, {false, one + 5, 0}},
            {{true, 0, 1.0}, {false, one + 5, 0}},
            {{false, one + 5, 0}, {true, 0, -0.0}},
            {{false, one - 1, 0}, {false, 1, 0}},
        };
        for (size_t l = 0; l < lists.size(); ++l) {
            std::string why;
            const Read got = read(one_split(bits, {false, one, 0}, &lists[l]), bits, &why);
            EXPECT_NE(got, Read::Other) << "bits " << bits << " list " << l << ": " << why;
        }
    }
}

// Options out of any range the options parser allows: refused, or a forest
// (max_features above the features is every feature), never a double cast
// to an int it does not fit (undefined behaviour).
TEST(ForestEncoding, HugeMaxFeaturesIsNoOverflow) {
    for (const double mf : {1e300, 3e9, 2147483648.0, 1.5}) {
        std::string why;
        const Read got = read(one_split(6, {false, uint64_t{1} << 17, 0}, nullptr, mf), 6, &why);
        EXPECT_NE(got, Read::Other) << mf << ": " << why;
    }
}

// Real forests on data with extremes, every cell width, damaged at random:
// decode refuses with CorruptState or gives a forest that predicts,
// updates and encodes (ASan/UBSan: no overrun, no UB).
TEST(ForestEncoding, DamagedForestsAreRefusedOrUsable) {
    std::mt19937_64 rng(9);
    for (int bits = 1; bits <= kMaxCellBits; bits += (bits < 8 ? 1 : 11)) {
        for (int classes : {0, 2}) {
            const int n = 300;
            RowMatrix x(n, 2);
            Vector y(n);
            const double extremes[] = {0.0, -0.0, std::numeric_limits<double>::denorm_min(), 1e300, -1e300,
                                       std::numeric_limits<double>::max(), -std::numeric_limits<double>::max()};
            std::normal_distribution<double> n01;
            for (int i = 0; i < n; ++i) {
                x(i, 0) = i % 9 == 0 ? extremes[i % 7] : n01(rng);
                x(i, 1) = std::round(n01(rng) * 4);
                y(i) = classes ? static_cast<double>((x(i, 0) > 0) ^ (i % 11 == 0)) : x(i, 1) * 3 + n01(rng);
            }
            ForestOptions o;
            o.n_estimators = 2;
            o.cell_bits = bits;
            o.max_features = 1.0;
            Forest f(o, 2, classes);
            f.fit(x, y);
            const Bytes good = bytes_of(f);
            {
                ByteReader r(good.data(), good.size());
                EXPECT_EQ(Forest::decode(r, 2, classes).difference(f), "") << bits;
            }
            for (int trial = 0; trial < 60; ++trial) {
                Bytes bad = good;
                const int edits = 1 + static_cast<int>(rng() % 3);
                for (int e = 0; e < edits; ++e) {
                    const size_t at = 40 + rng() % (bad.size() - 40);  // past the options, mostly
                    switch (rng() % 3) {
                    case 0: bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
                    case 1: bad[at] = static_cast<uint8_t>(rng()); break;
                    default: bad[at] = static_cast<uint8_t>(bad[at] + 2); break;  // a step one ordinal further
                    }
                }
                try {
                    ByteReader r(bad.data(), bad.size());
                    Forest g = Forest::decode(r, 2, classes);
                    const double row[2] = {0.5, -1.0};
                    if (classes) (void)g.predict_proba(row);
                    else (void)g.predict_value(row);
                    (void)g.importances();
                    const Bytes again = bytes_of(g);
                    ByteReader r2(again.data(), again.size());
                    EXPECT_EQ(Forest::decode(r2, 2, classes).difference(g), "");
                    try {
                        ForestRows rows{x.topRows(n - 1), y.head(n - 1)};
                        g.update(x.bottomRows(1), y.tail(1), -1, [&](const ForestRowFilter &) -> const ForestRows & { return rows; });
                    } catch (const Error &e) {
                        EXPECT_EQ(e.kind(), ErrorKind::CorruptState) << e.what();
                    }
                } catch (const Error &e) {
                    EXPECT_EQ(e.kind(), ErrorKind::CorruptState) << e.what();
                }
            }
        }
    }
}

}  // namespace
