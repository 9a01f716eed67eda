// The audit's state hash against FIPS 180-4's published examples and
// streaming in uneven pieces (the states are hashed one shard at a time).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sha256.hpp"

namespace unlearn {
namespace {

std::string sha(const std::string &s) {
    Sha256 h;
    h.update(s.data(), s.size());
    return h.hex();
}

TEST(Sha256, PublishedExamples) {
    EXPECT_EQ(sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecesHashAsTheWhole) {
    std::string text;
    for (int i = 0; i < 1000; ++i) text += static_cast<char>(i * 31 + 7);
    for (size_t piece : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 129u}) {
        Sha256 h;
        for (size_t at = 0; at < text.size(); at += piece) h.update(text.data() + at, std::min(piece, text.size() - at));
        EXPECT_EQ(h.hex(), sha(text)) << "pieces of " << piece;
    }
}

}  // namespace
}  // namespace unlearn
