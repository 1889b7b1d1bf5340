// Tests for storage/merkle.h and merkle_verify.h (the one implementation of
// the verifiers, which dubanctl runs too): RFC 6962 hashing, roots and proofs against the
// Certificate Transparency reference vectors (the 8-leaf tree of
// transparency-dev/merkle testonly/constants.go and proof/verify_test.go,
// which carry over google/certificate-transparency's merkle tree tests),
// every proof of every tree up to 64 leaves, forged and corrupted proofs,
// a forked log, and the cache against no cache at 100000 leaves.
#include "storage/merkle.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/hash.h"
#include "storage/testing/merkle_vectors.h"

namespace duban::storage {
namespace {

std::string H(absl::string_view hex) { return absl::HexStringToBytes(hex); }
std::string Hex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

using testing::kRfcNodes;
using testing::kRfcRoots;
using testing::RfcLeaves;

struct InclusionVector {
  uint64_t leaf;  // 1-based, as in verify_test.go
  uint64_t size;
  std::vector<const char*> proof;
};

// proof/verify_test.go inclusionProofs (without the invalid {0, 0}).
const std::vector<InclusionVector> kInclusionVectors = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {3,
     3,
     {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {2,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct ConsistencyVector {
  uint64_t m;
  uint64_t n;
  std::vector<const char*> proof;
};

// proof/verify_test.go consistencyProofs.
const std::vector<ConsistencyVector> kConsistencyVectors = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<std::string> Decode(const std::vector<const char*>& hexes) {
  std::vector<std::string> out;
  for (const char* h : hexes) out.push_back(H(h));
  return out;
}

// 0x0abacaba... from verify_test.go: a well-formed hash of nothing.
const std::string kSomeHash =
    H("abacaba000000000000000000000000000000000000000000060061e00123456");

// --- Helpers ----------------------------------------------------------------

// A tree over an in-memory vector; `available` can be lowered to simulate a
// log that has not grown yet.
struct VectorTree {
  explicit VectorTree(std::vector<std::string> data,
                      int cache_min_height = MerkleTree::kDefaultCacheMinHeight)
      : leaves(std::move(data)),
        available(leaves.size()),
        tree(
            [this](uint64_t i) -> absl::StatusOr<std::string> {
              ++fetches;
              if (i >= leaves.size()) return absl::NotFoundError("no leaf");
              return leaves[i];
            },
            [this] { return available.load(); }, cache_min_height) {}

  std::vector<std::string> leaves;
  std::atomic<uint64_t> available;
  std::atomic<uint64_t> fetches{0};
  MerkleTree tree;
};

// MTH straight from RFC 9162 §2.1.1, sharing nothing with MerkleTree.
std::string ReferenceRoot(const std::vector<std::string>& leaves, size_t begin,
                          size_t end) {
  const size_t n = end - begin;
  if (n == 0) return Sha256("");
  if (n == 1) return Sha256({std::string(1, '\0'), leaves[begin]});
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return Sha256({std::string(1, '\1'), ReferenceRoot(leaves, begin, begin + k),
                 ReferenceRoot(leaves, begin + k, end)});
}

// The 8 RFC leaves followed by distinct 32-byte leaves (as duban's event
// hashes are), up to n.
std::vector<std::string> TestLeaves(size_t n) {
  std::vector<std::string> leaves = RfcLeaves();
  for (size_t i = leaves.size(); i < n; ++i) {
    leaves.push_back(Sha256(absl::StrCat("leaf ", i)));
  }
  leaves.resize(n);
  return leaves;
}

std::vector<std::string> Append(std::vector<std::string> proof,
                                const std::string& hash) {
  proof.push_back(hash);
  return proof;
}

std::vector<std::string> Prepend(const std::vector<std::string>& proof,
                                 const std::string& hash) {
  std::vector<std::string> out{hash};
  out.insert(out.end(), proof.begin(), proof.end());
  return out;
}

// verify_test.go corruptInclusionProof: every probe must fail.
void ExpectInclusionProbesFail(const std::string& leaf, uint64_t index,
                               uint64_t n,
                               const std::vector<std::string>& proof,
                               const std::string& root) {
  SCOPED_TRACE(absl::StrCat("inclusion of leaf ", index, " in size ", n));
  auto fails = [&](uint64_t i, uint64_t size, const std::string& l,
                   const std::vector<std::string>& p, const std::string& r,
                   const char* what) {
    EXPECT_FALSE(VerifyInclusion(l, i, size, p, r).ok()) << what;
  };
  fails(index - 1, n, leaf, proof, root, "index - 1");
  fails(index + 1, n, leaf, proof, root, "index + 1");
  fails(index ^ 2, n, leaf, proof, root, "index ^ 2");
  fails(index, n * 2, leaf, proof, root, "size * 2");
  fails(index, n / 2, leaf, proof, root, "size / 2");
  fails(index, n, "WrongLeaf", proof, root, "wrong leaf");
  fails(index, n, leaf, proof, Sha256(""), "empty root");
  fails(index, n, leaf, proof, kSomeHash, "random root");
  fails(index, n, leaf, Append(proof, ""), root, "trailing garbage");
  fails(index, n, leaf, Append(proof, root), root, "trailing root");
  fails(index, n, leaf, Prepend(proof, ""), root, "preceding garbage");
  fails(index, n, leaf, Prepend(proof, root), root, "preceding root");
  for (size_t i = 0; i < proof.size(); ++i) {
    std::vector<std::string> wrong = proof;
    wrong[i][0] ^= 8;
    fails(index, n, leaf, wrong, root, "flipped bit");
    wrong = proof;
    wrong[i][kHashSize - 1] ^= 1;
    fails(index, n, leaf, wrong, root, "flipped last bit");
  }
  if (!proof.empty()) {
    fails(index, n, leaf, {proof.begin(), proof.end() - 1}, root, "removed");
  }
  if (proof.size() > 1) {
    std::vector<std::string> wrong = proof;
    wrong.insert(wrong.begin() + 1, kSomeHash);
    fails(index, n, leaf, wrong, root, "inserted");
  }
}

// verify_test.go corruptConsistencyProof (for 0 < m < n): every probe fails.
void ExpectConsistencyProbesFail(uint64_t m, uint64_t n,
                                 const std::string& old_root,
                                 const std::string& new_root,
                                 const std::vector<std::string>& proof) {
  SCOPED_TRACE(absl::StrCat("consistency ", m, " -> ", n));
  auto fails = [&](uint64_t m2, uint64_t n2, const std::string& r1,
                   const std::string& r2, const std::vector<std::string>& p,
                   const char* what) {
    EXPECT_FALSE(VerifyConsistency(m2, n2, r1, r2, p).ok()) << what;
  };
  fails(m - 1, n, old_root, new_root, proof, "m - 1");
  fails(m + 1, n, old_root, new_root, proof, "m + 1");
  fails(m ^ 2, n, old_root, new_root, proof, "m ^ 2");
  fails(m, n * 2, old_root, new_root, proof, "n * 2");
  fails(m, n / 2, old_root, new_root, proof, "n / 2");
  fails(m, n, "WrongRoot", new_root, proof, "wrong old root");
  fails(m, n, old_root, "WrongRoot", proof, "wrong new root");
  fails(m, n, kSomeHash, new_root, proof, "other old root");
  fails(m, n, old_root, kSomeHash, proof, "other new root");
  fails(m, n, new_root, old_root, proof, "swapped roots");
  fails(m, n, old_root, new_root, {}, "empty proof");
  fails(m, n, old_root, new_root, Append(proof, ""), "trailing garbage");
  fails(m, n, old_root, new_root, Append(proof, old_root), "trailing old root");
  fails(m, n, old_root, new_root, Append(proof, new_root), "trailing new root");
  fails(m, n, old_root, new_root, Prepend(proof, ""), "preceding garbage");
  fails(m, n, old_root, new_root, Prepend(proof, old_root), "preceding root1");
  fails(m, n, old_root, new_root, Prepend(proof, new_root), "preceding root2");
  fails(m, n, old_root, new_root, Prepend(proof, proof[0]), "preceding [0]");
  fails(m, n, old_root, new_root, {proof.begin(), proof.end() - 1},
        "truncated");
  for (size_t i = 0; i < proof.size(); ++i) {
    std::vector<std::string> wrong = proof;
    wrong[i][0] ^= 16;
    fails(m, n, old_root, new_root, wrong, "flipped bit");
    wrong = proof;
    wrong[i][kHashSize - 1] ^= 1;
    fails(m, n, old_root, new_root, wrong, "flipped last bit");
  }
}

// --- Hashing and reference vectors ----------------------------------------

TEST(MerkleHashTest, LeafAndNodeHashesMatchReferenceNodes) {
  const std::vector<std::string> leaves = RfcLeaves();
  std::vector<std::string> level;
  for (const std::string& leaf : leaves) level.push_back(MerkleLeafHash(leaf));
  for (size_t height = 0; height < kRfcNodes.size(); ++height) {
    ASSERT_EQ(level.size(), kRfcNodes[height].size());
    for (size_t i = 0; i < level.size(); ++i) {
      EXPECT_EQ(Hex(level[i]), kRfcNodes[height][i]) << height << "/" << i;
    }
    std::vector<std::string> up;
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      up.push_back(MerkleNodeHash(level[i], level[i + 1]));
    }
    level = up;
  }
  EXPECT_EQ(Hex(MerkleEmptyRoot()), kRfcRoots[0]);
  EXPECT_EQ(MerkleLeafHash("").size(), kHashSize);
}

TEST(MerkleTreeTest, RootsMatchReferenceVectors) {
  VectorTree t(RfcLeaves());
  for (uint64_t n = 0; n <= 8; ++n) {
    auto root = t.tree.Root(n);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(Hex(*root), kRfcRoots[n]) << "size " << n;
  }
}

// MerkleRootBuilder (the offline verifier's root of an export read once).
TEST(MerkleRootBuilderTest, MatchesReferenceVectorsAndTheRfcUpTo300) {
  const std::vector<std::string> rfc = RfcLeaves();
  MerkleRootBuilder builder;
  EXPECT_EQ(Hex(builder.Root()), kRfcRoots[0]);
  for (size_t n = 1; n <= rfc.size(); ++n) {
    builder.AddLeaf(rfc[n - 1]);
    EXPECT_EQ(builder.size(), n);
    EXPECT_EQ(Hex(builder.Root()), kRfcRoots[n]) << "size " << n;
    EXPECT_EQ(Hex(MerkleRoot({rfc.begin(), rfc.begin() + n})), kRfcRoots[n]);
  }
  const std::vector<std::string> leaves = TestLeaves(300);
  MerkleRootBuilder longer;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    longer.AddLeaf(leaves[n - 1]);
    ASSERT_EQ(Hex(longer.Root()), Hex(ReferenceRoot(leaves, 0, n))) << "size " << n;
  }
}

TEST(MerkleTreeTest, InclusionProofsMatchReferenceVectors) {
  VectorTree t(RfcLeaves());
  for (const InclusionVector& v : kInclusionVectors) {
    SCOPED_TRACE(absl::StrCat("leaf ", v.leaf, " size ", v.size));
    const uint64_t index = v.leaf - 1;
    const std::vector<std::string> want = Decode(v.proof);
    auto proof = t.tree.InclusionProof(index, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, want);
    const std::string root = H(kRfcRoots[v.size]);
    EXPECT_TRUE(
        VerifyInclusion(t.leaves[index], index, v.size, want, root).ok());
    ExpectInclusionProbesFail(t.leaves[index], index, v.size, want, root);
  }
}

TEST(MerkleTreeTest, ConsistencyProofsMatchReferenceVectors) {
  VectorTree t(RfcLeaves());
  for (const ConsistencyVector& v : kConsistencyVectors) {
    SCOPED_TRACE(absl::StrCat(v.m, " -> ", v.n));
    const std::vector<std::string> want = Decode(v.proof);
    auto proof = t.tree.ConsistencyProof(v.m, v.n);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, want);
    const std::string old_root = H(kRfcRoots[v.m]);
    const std::string new_root = H(kRfcRoots[v.n]);
    absl::Status status = VerifyConsistency(v.m, v.n, old_root, new_root, want);
    EXPECT_TRUE(status.ok()) << status;
    if (v.m < v.n) {
      ExpectConsistencyProbesFail(v.m, v.n, old_root, new_root, want);
    }
  }
}

// --- Every proof of every small tree ----------------------------------------

TEST(MerkleTreeTest, EveryInclusionProofUpTo64Verifies) {
  VectorTree t(TestLeaves(64), /*cache_min_height=*/1);
  for (uint64_t n = 0; n <= 64; ++n) {
    const std::string root = ReferenceRoot(t.leaves, 0, n);
    auto tree_root = t.tree.Root(n);
    ASSERT_TRUE(tree_root.ok()) << tree_root.status();
    ASSERT_EQ(Hex(*tree_root), Hex(root)) << "size " << n;
    for (uint64_t i = 0; i < n; ++i) {
      SCOPED_TRACE(absl::StrCat("leaf ", i, " size ", n));
      auto proof = t.tree.InclusionProof(i, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      absl::Status ok = VerifyInclusion(t.leaves[i], i, n, *proof, root);
      ASSERT_TRUE(ok.ok()) << ok;
      ExpectInclusionProbesFail(t.leaves[i], i, n, *proof, root);
      // Another leaf's data at this index, or this leaf at another index.
      EXPECT_FALSE(
          VerifyInclusion(t.leaves[(i + 1) % 64], i, n, *proof, root).ok());
      for (uint64_t j = 0; j < n; ++j) {
        if (j != i) {
          EXPECT_FALSE(VerifyInclusion(t.leaves[i], j, n, *proof, root).ok());
        }
      }
    }
  }
}

TEST(MerkleTreeTest, EveryConsistencyProofUpTo64Verifies) {
  VectorTree t(TestLeaves(64), /*cache_min_height=*/2);
  std::vector<std::string> roots;
  for (uint64_t n = 0; n <= 64; ++n) {
    roots.push_back(ReferenceRoot(t.leaves, 0, n));
  }
  for (uint64_t n = 0; n <= 64; ++n) {
    for (uint64_t m = 0; m <= n; ++m) {
      SCOPED_TRACE(absl::StrCat(m, " -> ", n));
      auto proof = t.tree.ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      absl::Status ok = VerifyConsistency(m, n, roots[m], roots[n], *proof);
      ASSERT_TRUE(ok.ok()) << ok;
      if (m == 0 || m == n) {
        EXPECT_TRUE(proof->empty());
        continue;
      }
      ExpectConsistencyProbesFail(m, n, roots[m], roots[n], *proof);
      // The proof is for (m, n) only.
      for (uint64_t m2 = 1; m2 < n; ++m2) {
        if (m2 != m) {
          EXPECT_FALSE(
              VerifyConsistency(m2, n, roots[m2], roots[n], *proof).ok());
        }
      }
    }
  }
}

// --- Verifier edge cases
// ------------------------------------------------------

TEST(MerkleVerifyTest, InclusionRejectsMalformedInput) {
  const std::string leaf = "data";
  const std::string hash = MerkleLeafHash(leaf);
  EXPECT_TRUE(VerifyInclusion(leaf, 0, 1, {}, hash).ok());
  EXPECT_EQ(VerifyInclusion(leaf, 0, 1, {}, "").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(leaf, 0, 0, {}, Sha256("")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(leaf, 2, 1, {}, hash).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(leaf, 0, 2, {"short"}, hash).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(leaf, 0, 2, {}, hash).code(),
            absl::StatusCode::kInvalidArgument);  // wrong length
  EXPECT_EQ(VerifyInclusion("other", 0, 1, {}, hash).code(),
            absl::StatusCode::kDataLoss);
  absl::Status status = VerifyInclusion(leaf, 0, 2, {kSomeHash}, hash);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("leads to root"),
            absl::string_view::npos)
      << status;
}

TEST(MerkleVerifyTest, HugeSizesFailCleanly) {
  constexpr uint64_t kMax = ~uint64_t{0};
  const std::string leaf = "data";
  const std::string hash = MerkleLeafHash(leaf);
  EXPECT_EQ(VerifyInclusion(leaf, 0, kMax, {}, hash).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(leaf, kMax - 1, kMax, {}, hash).code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<std::string> long_proof(64, kSomeHash);
  EXPECT_EQ(VerifyInclusion(leaf, 0, kMax, long_proof, hash).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(VerifyConsistency(1, kMax, hash, hash, {kSomeHash}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, kMax, hash, hash, long_proof).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(VerifyConsistency(kMax - 1, kMax, hash, hash, {kSomeHash}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MerkleVerifyTest, ConsistencyEdgeCases) {
  const std::string empty = Sha256("");
  const std::vector<std::string> leaves = RfcLeaves();
  const std::string r1 = H(kRfcRoots[1]);
  const std::string r2 = H(kRfcRoots[2]);
  const std::string r5 = H(kRfcRoots[5]);
  // Nothing to prove: equal sizes with equal roots, or the empty tree.
  EXPECT_TRUE(VerifyConsistency(0, 0, empty, empty, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 5, empty, r5, {}).ok());
  EXPECT_TRUE(VerifyConsistency(5, 5, r5, r5, {}).ok());
  // Equal sizes with different roots: a fork.
  EXPECT_EQ(VerifyConsistency(1, 1, r1, r2, {}).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(VerifyConsistency(0, 5, r1, r5, {}).code(),
            absl::StatusCode::kDataLoss);
  // Trivial cases with a non-empty proof.
  EXPECT_EQ(VerifyConsistency(0, 5, empty, r5, {empty}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(5, 5, r5, r5, {empty}).code(),
            absl::StatusCode::kInvalidArgument);
  // Time travel, an empty proof, bad hash sizes.
  EXPECT_EQ(VerifyConsistency(2, 1, r2, r1, {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 2, r1, r2, {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 2, "r1", r2, {empty}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 2, r1, r2, {"x"}).code(),
            absl::StatusCode::kInvalidArgument);
  // The real proof 1 -> 2 is leaf 1's hash.
  EXPECT_TRUE(
      VerifyConsistency(1, 2, r1, r2, {MerkleLeafHash(leaves[1])}).ok());
  absl::Status status = VerifyConsistency(1, 2, r1, r2, {kSomeHash});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("new root"), absl::string_view::npos)
      << status;
}

// --- A forked log
// -------------------------------------------------------------

TEST(MerkleTreeTest, ProofFromForkedLogFailsConsistency) {
  constexpr uint64_t kN = 24;
  VectorTree real(TestLeaves(kN));
  std::vector<std::string> real_roots;
  for (uint64_t n = 0; n <= kN; ++n) real_roots.push_back(*real.tree.Root(n));
  for (uint64_t fork_at = 0; fork_at < kN; ++fork_at) {
    // Same leaves except one rewritten at `fork_at`.
    std::vector<std::string> forked_leaves = real.leaves;
    forked_leaves[fork_at] = Sha256(absl::StrCat("forged ", fork_at));
    VectorTree forked(forked_leaves);
    for (uint64_t m = 1; m < kN; ++m) {
      SCOPED_TRACE(absl::StrCat("fork at ", fork_at, ", ", m, " -> ", kN));
      auto proof = forked.tree.ConsistencyProof(m, kN);
      ASSERT_TRUE(proof.ok()) << proof.status();
      auto forked_old = *forked.tree.Root(m);
      auto forked_new = *forked.tree.Root(kN);
      // The fork is consistent with itself...
      EXPECT_TRUE(
          VerifyConsistency(m, kN, forked_old, forked_new, *proof).ok());
      if (fork_at >= m) {
        // Same first m leaves, so the same old root, but a different later
        // leaf: the fork's proof does not carry the real old root to the
        // real new root.
        EXPECT_EQ(forked_old, real_roots[m]);
        absl::Status status =
            VerifyConsistency(m, kN, real_roots[m], real_roots[kN], *proof);
        EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
        // Nor does the real proof carry it to the fork's new root.
        auto real_proof = real.tree.ConsistencyProof(m, kN);
        ASSERT_TRUE(real_proof.ok());
        EXPECT_FALSE(
            VerifyConsistency(m, kN, real_roots[m], forked_new, *real_proof)
                .ok());
      } else {
        // History rewritten below m: an auditor holding the real checkpoint
        // of size m cannot be shown the fork's new root as its extension.
        EXPECT_NE(forked_old, real_roots[m]);
        absl::Status status =
            VerifyConsistency(m, kN, real_roots[m], forked_new, *proof);
        EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
        // (The fork's proof may still equal the real one when the rewritten
        // leaf hides inside the old tree: proofs are about roots, not data.)
      }
    }
    // The rewritten leaf's inclusion proof in the fork fails against the
    // real root.
    auto proof = forked.tree.InclusionProof(fork_at, kN);
    ASSERT_TRUE(proof.ok());
    EXPECT_FALSE(VerifyInclusion(forked_leaves[fork_at], fork_at, kN, *proof,
                                 real_roots[kN])
                     .ok());
  }
}

// --- Errors
// -------------------------------------------------------------------

TEST(MerkleTreeTest, RejectsBadArguments) {
  VectorTree t(RfcLeaves());
  EXPECT_EQ(t.tree.InclusionProof(5, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.tree.InclusionProof(0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.tree.InclusionProof(0, 9).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(t.tree.ConsistencyProof(6, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.tree.ConsistencyProof(3, 9).status().code(),
            absl::StatusCode::kOutOfRange);
  absl::Status status = t.tree.Root(9).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), "tree size 9 exceeds the 8 leaves available");
  // The log has not grown that far yet; then it has.
  t.available = 5;
  EXPECT_EQ(t.tree.Root(6).status().code(), absl::StatusCode::kOutOfRange);
  t.available = 8;
  EXPECT_EQ(Hex(*t.tree.Root(6)), kRfcRoots[6]);
}

TEST(MerkleTreeTest, LeafReadErrorsAreReturned) {
  MerkleTree tree(
      [](uint64_t i) -> absl::StatusOr<std::string> {
        if (i == 3) return absl::DataLossError("event 4 is unreadable");
        return std::string("x");
      },
      [] { return uint64_t{8}; }, /*cache_min_height=*/1);
  EXPECT_EQ(tree.Root(8).status().message(), "event 4 is unreadable");
  // Only [0, 2) completed; nothing above the failed leaf was cached.
  EXPECT_EQ(tree.cached_nodes(), 1u);
  EXPECT_EQ(tree.InclusionProof(0, 8).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(tree.ConsistencyProof(2, 8).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(tree.Root(3).ok());
  EXPECT_TRUE(tree.InclusionProof(2, 3).ok());
}

// --- The cache
// ------------------------------------------------------------------

TEST(MerkleTreeTest, CacheGivesSameAnswersAsNoCacheAt100000) {
  constexpr uint64_t kN = 100000;
  std::vector<std::string> leaves;
  leaves.reserve(kN);
  for (uint64_t i = 0; i < kN; ++i) {
    leaves.push_back(Sha256(absl::StrCat("event ", i + 1)));
  }
  VectorTree cached(leaves);
  VectorTree plain(leaves, MerkleTree::kNoCache);

  // One full pass fills the cache with every complete aligned subtree of
  // height >= 8: floor(n / 2^h) of them at each height h.
  ASSERT_TRUE(cached.tree.Root(kN).ok());
  uint64_t want_nodes = 0;
  for (int h = MerkleTree::kDefaultCacheMinHeight; (uint64_t{1} << h) <= kN;
       ++h) {
    want_nodes += kN >> h;
  }
  EXPECT_EQ(cached.tree.cached_nodes(), want_nodes);
  // Afterwards a root reads only the leaves past the last complete 256.
  cached.fetches = 0;
  ASSERT_TRUE(cached.tree.Root(kN).ok());
  EXPECT_EQ(cached.fetches.load(), kN % 256);
  // ...and a proof at most one more block of 256 around its leaf or old size.
  cached.fetches = 0;
  ASSERT_TRUE(cached.tree.InclusionProof(12345, kN).ok());
  EXPECT_LE(cached.fetches.load(), kN % 256 + 256);
  cached.fetches = 0;
  ASSERT_TRUE(cached.tree.ConsistencyProof(54321, kN).ok());
  EXPECT_LE(cached.fetches.load(), kN % 256 + 256);

  for (uint64_t n : {uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{257},
                     uint64_t{65536}, uint64_t{65537}, uint64_t{99999}, kN}) {
    auto a = cached.tree.Root(n);
    auto b = plain.tree.Root(n);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(Hex(*a), Hex(*b)) << "size " << n;
  }
  const std::string root = *plain.tree.Root(kN);
  for (uint64_t i : {uint64_t{0}, uint64_t{255}, uint64_t{256}, uint64_t{65535},
                     uint64_t{65536}, uint64_t{99999}}) {
    auto a = cached.tree.InclusionProof(i, kN);
    auto b = plain.tree.InclusionProof(i, kN);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << "leaf " << i;
    EXPECT_TRUE(VerifyInclusion(leaves[i], i, kN, *a, root).ok());
  }
  for (auto [m, n] : std::vector<std::pair<uint64_t, uint64_t>>{
           {1, kN}, {256, kN}, {65536, kN}, {77777, 99999}, {99999, kN}}) {
    auto a = cached.tree.ConsistencyProof(m, n);
    auto b = plain.tree.ConsistencyProof(m, n);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << m << " -> " << n;
    EXPECT_TRUE(
        VerifyConsistency(m, n, *plain.tree.Root(m), *plain.tree.Root(n), *a)
            .ok());
  }
}

TEST(MerkleTreeTest, GrowingLogKeepsAgreeingWithReference) {
  constexpr uint64_t kN = 3000;
  VectorTree t(TestLeaves(kN), /*cache_min_height=*/4);
  std::string previous_root = MerkleEmptyRoot();
  uint64_t previous = 0;
  for (uint64_t n = 1; n <= kN; n += 1 + n / 7) {
    t.available = n;
    auto root = t.tree.Root(n);
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(Hex(*root), Hex(ReferenceRoot(t.leaves, 0, n))) << n;
    auto proof = t.tree.ConsistencyProof(previous, n);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(
        VerifyConsistency(previous, n, previous_root, *root, *proof).ok());
    previous = n;
    previous_root = *root;
  }
}

TEST(MerkleTreeTest, ConcurrentCallersAgree) {
  constexpr uint64_t kN = 5000;
  VectorTree t(TestLeaves(kN));
  VectorTree plain(TestLeaves(kN), MerkleTree::kNoCache);
  const std::string root = *plain.tree.Root(kN);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t i = static_cast<uint64_t>(w); i < kN; i += 97) {
        auto proof = t.tree.InclusionProof(i, kN);
        if (!proof.ok() ||
            !VerifyInclusion(t.leaves[i], i, kN, *proof, root).ok()) {
          ++failures;
        }
        auto r = t.tree.Root(i + 1);
        auto c = t.tree.ConsistencyProof(i + 1, kN);
        if (!r.ok() || !c.ok() ||
            !VerifyConsistency(i + 1, kN, *r, root, *c).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace duban::storage
