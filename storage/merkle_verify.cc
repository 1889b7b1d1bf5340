// Merkle hashing, MerkleRootBuilder and the RFC 9162 proof verifiers (see
// merkle_verify.h). The step numbers in the verifiers are those of RFC 9162
// §2.1.3.2 and §2.1.4.2.
#include "storage/merkle_verify.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/hash.h"
#include "storage/status_macros.h"
#include "storage/verify_internal.h"

namespace duban::storage {
namespace {

using internal::BitLength;
using internal::CheckSize;
using internal::CountTrailingZeros;
using internal::IsPowerOfTwo;
using internal::PopCount;
using internal::ShiftRight;

// Length of PATH(index, D[0:n]) (index < n): one hash per level below the
// point where the paths to `index` and to the last leaf part ("inner"), and
// one per left sibling above it ("border").
size_t InclusionProofLength(uint64_t index, uint64_t n) {
  const int inner = BitLength(index ^ (n - 1));
  const int border = PopCount(ShiftRight(index, inner));
  return static_cast<size_t>(inner) + static_cast<size_t>(border);
}

// Length of PROOF(m, D[0:n]) for 0 < m < n: the inclusion path of leaf m - 1
// without its levels inside the largest complete subtree ending at m, plus
// that subtree's root unless it is the whole old tree (m a power of two).
size_t ConsistencyProofLength(uint64_t m, uint64_t n) {
  const int shift = CountTrailingZeros(m);
  const int inner = BitLength((m - 1) ^ (n - 1));  // > shift since m < n
  const int border = PopCount(ShiftRight(m - 1, inner));
  return (IsPowerOfTwo(m) ? 0 : 1) + static_cast<size_t>(inner - shift) +
         static_cast<size_t>(border);
}

absl::Status CheckProofHashes(const std::vector<std::string>& proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    RETURN_IF_ERROR(CheckSize(proof[i], kHashSize, absl::StrCat("proof[", i, "]")));
  }
  return absl::OkStatus();
}

}  // namespace

std::string MerkleLeafHash(std::string_view data) {
  return Sha256({std::string_view("\x00", 1), data});
}

std::string MerkleNodeHash(std::string_view left, std::string_view right) {
  return Sha256({std::string_view("\x01", 1), left, right});
}

std::string MerkleEmptyRoot() { return Sha256(std::string_view()); }

// ---------------------------------------------------------------------------
// MerkleRootBuilder

void MerkleRootBuilder::AddLeaf(std::string_view data) {
  std::string hash = MerkleLeafHash(data);
  // Each trailing set bit of the old size is a complete subtree of the
  // same height as the one being carried: merge them, like binary addition.
  for (uint64_t carry = size_; (carry & 1) == 1; carry >>= 1) {
    hash = MerkleNodeHash(subtrees_.back(), hash);
    subtrees_.pop_back();
  }
  subtrees_.push_back(std::move(hash));
  ++size_;
}

std::string MerkleRootBuilder::Root() const {
  if (subtrees_.empty()) return MerkleEmptyRoot();
  std::string root = subtrees_.back();
  for (size_t i = subtrees_.size() - 1; i-- > 0;) {
    root = MerkleNodeHash(subtrees_[i], root);
  }
  return root;
}

std::string MerkleRoot(const std::vector<std::string>& leaves) {
  MerkleRootBuilder builder;
  for (const std::string& leaf : leaves) builder.AddLeaf(leaf);
  return builder.Root();
}

// ---------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

absl::Status VerifyInclusion(std::string_view leaf_data, uint64_t index, uint64_t n,
                             const std::vector<std::string>& proof, std::string_view root) {
  RETURN_IF_ERROR(CheckSize(root, kHashSize, "root hash"));
  RETURN_IF_ERROR(CheckProofHashes(proof));
  // 1. leaf_index must be below tree_size.
  if (index >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not below tree size ", n));
  }
  // The algorithm below fails on a path of the wrong length too; checking it
  // first says so plainly instead of as a root mismatch.
  const size_t want = InclusionProofLength(index, n);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion proof for leaf ", index,
                                                   " in a tree of size ", n, " has ",
                                                   proof.size(), " hashes, want ", want));
  }
  // 2.-3.
  uint64_t fn = index;
  uint64_t sn = n - 1;
  std::string r = MerkleLeafHash(leaf_data);
  // 4.
  for (const std::string& p : proof) {
    if (sn == 0) {  // a.
      return absl::InvalidArgumentError("inclusion proof is too long");
    }
    if ((fn & 1) == 1 || fn == sn) {  // b.
      r = MerkleNodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 5.
  if (sn != 0) return absl::InvalidArgumentError("inclusion proof is too short");
  if (r != root) {
    return absl::DataLossError(absl::StrCat("inclusion proof for leaf ", index,
                                            " in a tree of size ", n, " leads to root ",
                                            ToHex(r), ", not ", ToHex(root)));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t m, uint64_t n, std::string_view old_root,
                               std::string_view new_root,
                               const std::vector<std::string>& proof) {
  RETURN_IF_ERROR(CheckSize(old_root, kHashSize, "old root hash"));
  RETURN_IF_ERROR(CheckSize(new_root, kHashSize, "new root hash"));
  RETURN_IF_ERROR(CheckProofHashes(proof));
  if (m > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("old tree size ", m, " is larger than new tree size ", n));
  }
  // Outside the RFC's 0 < m < n there is nothing to prove: only the roots.
  if (m == n || m == 0) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("consistency proof from size ", m, " to ",
                                                     n, " has ", proof.size(),
                                                     " hashes, want 0"));
    }
    if (m == n && old_root != new_root) {
      return absl::DataLossError(absl::StrCat("two trees of size ", n,
                                              " have different roots: ", ToHex(old_root),
                                              " and ", ToHex(new_root)));
    }
    if (m == 0 && old_root != MerkleEmptyRoot()) {
      return absl::DataLossError(
          absl::StrCat("old root ", ToHex(old_root), " is not the empty tree's root"));
    }
    return absl::OkStatus();
  }
  const size_t want = ConsistencyProofLength(m, n);
  if (proof.size() != want) {  // also covers 1. (an empty path)
    return absl::InvalidArgumentError(absl::StrCat("consistency proof from size ", m, " to ", n,
                                                   " has ", proof.size(), " hashes, want ",
                                                   want));
  }
  // 2. When m is a power of two the old root is the first node of the path.
  std::vector<std::string_view> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(m)) path.push_back(old_root);
  for (const std::string& c : proof) path.push_back(c);
  // 3.-4.
  uint64_t fn = m - 1;
  uint64_t sn = n - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5.
  std::string fr(path[0]);
  std::string sr = fr;
  // 6.
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string_view c = path[i];
    if (sn == 0) {  // a.
      return absl::InvalidArgumentError("consistency proof is too long");
    }
    if ((fn & 1) == 1 || fn == sn) {  // b.
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 7.
  if (sn != 0) return absl::InvalidArgumentError("consistency proof is too short");
  if (fr != old_root) {
    return absl::DataLossError(absl::StrCat("consistency proof from size ", m, " to ", n,
                                            " does not reproduce the old root ",
                                            ToHex(old_root)));
  }
  if (sr != new_root) {
    return absl::DataLossError(absl::StrCat("consistency proof from size ", m, " to ", n,
                                            " does not reproduce the new root ",
                                            ToHex(new_root)));
  }
  return absl::OkStatus();
}

}  // namespace duban::storage
