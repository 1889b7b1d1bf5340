// Tests for storage/hash.h: SHA-256 against a published vector, multi-part
// hashing, hex both ways, and random hex tokens.
#include "storage/hash.h"

#include <string>

#include "gtest/gtest.h"

namespace duban::storage {
namespace {

TEST(HashTest, Sha256OfAbcMatchesFips180Vector) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("abc").size(), kHashSize);
}

TEST(HashTest, Sha256OfEmptyInput) {
  EXPECT_EQ(ToHex(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256({}), Sha256(""));
}

TEST(HashTest, MultiPartEqualsConcatenation) {
  EXPECT_EQ(Sha256({"a", "b", "c"}), Sha256("abc"));
  EXPECT_EQ(Sha256({"", "abc", ""}), Sha256("abc"));
  const std::string with_nul("x\0y", 3);
  EXPECT_EQ(Sha256({"x", std::string_view("\0y", 2)}), Sha256(with_nul));
  EXPECT_NE(Sha256({"ab", "c"}), Sha256("abd"));
}

TEST(HashTest, ToHexEncodesEveryByte) {
  EXPECT_EQ(ToHex(""), "");
  EXPECT_EQ(ToHex(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
}

TEST(HashTest, FromHexRoundTripsAndRejectsNonHex) {
  EXPECT_EQ(ToHex("\x01\xab\xff"), "01abff");
  EXPECT_EQ(FromHex("01ABff"), std::optional<std::string>("\x01\xab\xff"));
  EXPECT_EQ(FromHex(""), std::optional<std::string>(""));
  EXPECT_EQ(FromHex("abc"), std::nullopt);
  EXPECT_EQ(FromHex("zz"), std::nullopt);
}

TEST(HashTest, RandomHexHasTwoCharsPerByteAndDiffers) {
  const std::string a = RandomHex(32);
  const std::string b = RandomHex(32);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(b.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(RandomHex(0), "");
}

}  // namespace
}  // namespace duban::storage
