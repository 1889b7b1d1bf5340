// MerkleTree and the RFC 9162 proof verifiers (see merkle.h). The step
// numbers in the verifiers are those of RFC 9162 §2.1.3.2 and §2.1.4.2.
#include "storage/merkle.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::storage {
namespace {

// Abseil 20220623 on Debian has its own string_view; hash.h takes std's.
std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }

bool IsPowerOfTwo(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

// Number of significant bits: 0 for 0, 1 for 1, 3 for 5.
int BitLength(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }

int CountTrailingZeros(uint64_t x) { return x == 0 ? 64 : __builtin_ctzll(x); }

int PopCount(uint64_t x) { return __builtin_popcountll(x); }

// The k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1).
uint64_t SplitPoint(uint64_t n) {
  return uint64_t{1} << (BitLength(n - 1) - 1);
}

// x >> s, defined for every s (an offline verifier gets sizes up to 2^64-1).
uint64_t ShiftRight(uint64_t x, int s) { return s >= 64 ? 0 : x >> s; }

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

absl::Status CheckHashSize(absl::string_view hash, absl::string_view what) {
  if (hash.size() != kHashSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", hash.size(), " bytes, not ", kHashSize));
  }
  return absl::OkStatus();
}

absl::Status CheckProofHashes(const std::vector<std::string>& proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    RETURN_IF_ERROR(CheckHashSize(proof[i], absl::StrCat("proof[", i, "]")));
  }
  return absl::OkStatus();
}

}  // namespace

std::string MerkleLeafHash(absl::string_view data) {
  return Sha256({std::string_view("\x00", 1), Std(data)});
}

std::string MerkleNodeHash(absl::string_view left, absl::string_view right) {
  return Sha256({std::string_view("\x01", 1), Std(left), Std(right)});
}

std::string MerkleEmptyRoot() { return Sha256(std::string_view()); }

// ---------------------------------------------------------------------------
// MerkleTree

MerkleTree::MerkleTree(LeafDataFn leaf_data, SizeFn size, int cache_min_height)
    : leaf_data_(std::move(leaf_data)),
      size_(std::move(size)),
      cache_min_height_(std::clamp(cache_min_height, 0, kNoCache)) {}

absl::Status MerkleTree::CheckSize(uint64_t n) const {
  const uint64_t available = size_();
  if (n > available) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", n, " exceeds the ",
                                              available, " leaves available"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MerkleTree::Hash(uint64_t begin,
                                             uint64_t count) const {
  if (count == 0) return MerkleEmptyRoot();
  if (count == 1) {
    ASSIGN_OR_RETURN(std::string data, leaf_data_(begin));
    return MerkleLeafHash(data);
  }
  // The RFC's recursion from leaf 0 only ever produces power-of-two ranges
  // that are aligned; the check keeps the cache key honest regardless.
  const int height = CountTrailingZeros(count);
  const bool cacheable =
      IsPowerOfTwo(count) && height >= cache_min_height_ && begin % count == 0;
  const NodeKey key{height, cacheable ? begin >> height : 0};
  if (cacheable) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return std::string(it->second.data(), kHashSize);
  }
  const uint64_t k = SplitPoint(count);
  ASSIGN_OR_RETURN(std::string left, Hash(begin, k));
  ASSIGN_OR_RETURN(std::string right, Hash(begin + k, count - k));
  std::string hash = MerkleNodeHash(left, right);
  if (cacheable) {
    std::array<char, 32> value;
    std::copy(hash.begin(), hash.end(), value.begin());
    std::lock_guard<std::mutex> lock(mu_);
    cache_.emplace(key, value);  // a concurrent caller may have won: same hash
  }
  return hash;
}

absl::Status MerkleTree::Path(uint64_t m, uint64_t begin, uint64_t count,
                              std::vector<std::string>* out) const {
  if (count <= 1) return absl::OkStatus();  // PATH(0, {d(0)}) = {}
  const uint64_t k = SplitPoint(count);
  if (m < k) {
    RETURN_IF_ERROR(Path(m, begin, k, out));
    ASSIGN_OR_RETURN(std::string sibling, Hash(begin + k, count - k));
    out->push_back(std::move(sibling));
  } else {
    RETURN_IF_ERROR(Path(m - k, begin + k, count - k, out));
    ASSIGN_OR_RETURN(std::string sibling, Hash(begin, k));
    out->push_back(std::move(sibling));
  }
  return absl::OkStatus();
}

absl::Status MerkleTree::Subproof(uint64_t m, uint64_t begin, uint64_t count,
                                  bool whole,
                                  std::vector<std::string>* out) const {
  if (m == count) {
    if (!whole) {
      ASSIGN_OR_RETURN(std::string hash, Hash(begin, count));
      out->push_back(std::move(hash));
    }
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(count);  // m < count, so count >= 2
  if (m <= k) {
    RETURN_IF_ERROR(Subproof(m, begin, k, whole, out));
    ASSIGN_OR_RETURN(std::string right, Hash(begin + k, count - k));
    out->push_back(std::move(right));
  } else {
    RETURN_IF_ERROR(Subproof(m - k, begin + k, count - k, false, out));
    ASSIGN_OR_RETURN(std::string left, Hash(begin, k));
    out->push_back(std::move(left));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MerkleTree::Root(uint64_t n) const {
  RETURN_IF_ERROR(CheckSize(n));
  return Hash(0, n);
}

absl::StatusOr<std::vector<std::string>> MerkleTree::InclusionProof(
    uint64_t index, uint64_t n) const {
  if (index >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not below tree size ", n));
  }
  RETURN_IF_ERROR(CheckSize(n));
  std::vector<std::string> proof;
  RETURN_IF_ERROR(Path(index, 0, n, &proof));
  return proof;
}

absl::StatusOr<std::vector<std::string>> MerkleTree::ConsistencyProof(
    uint64_t m, uint64_t n) const {
  if (m > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("old tree size ", m, " is larger than new tree size ", n));
  }
  RETURN_IF_ERROR(CheckSize(n));
  std::vector<std::string> proof;
  if (m == 0) return proof;  // the empty tree is a prefix of every tree
  RETURN_IF_ERROR(Subproof(m, 0, n, true, &proof));
  return proof;
}

size_t MerkleTree::cached_nodes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

// ---------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

absl::Status VerifyInclusion(absl::string_view leaf_data, uint64_t index,
                             uint64_t n, const std::vector<std::string>& proof,
                             absl::string_view root) {
  RETURN_IF_ERROR(CheckHashSize(root, "root hash"));
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
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof for leaf ", index, " in a tree of size ",
                     n, " has ", proof.size(), " hashes, want ", want));
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
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 5.
  if (sn != 0)
    return absl::InvalidArgumentError("inclusion proof is too short");
  if (r != root) {
    return absl::DataLossError(
        absl::StrCat("inclusion proof for leaf ", index, " in a tree of size ",
                     n, " does not lead to root ", ToHex(Std(root))));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t m, uint64_t n,
                               absl::string_view old_root,
                               absl::string_view new_root,
                               const std::vector<std::string>& proof) {
  RETURN_IF_ERROR(CheckHashSize(old_root, "old root hash"));
  RETURN_IF_ERROR(CheckHashSize(new_root, "new root hash"));
  RETURN_IF_ERROR(CheckProofHashes(proof));
  if (m > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("old tree size ", m, " is larger than new tree size ", n));
  }
  // Outside the RFC's 0 < m < n there is nothing to prove: only the roots.
  if (m == n || m == 0) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("consistency proof from size ", m, " to ", n, " has ",
                       proof.size(), " hashes, want 0"));
    }
    if (m == n && old_root != new_root) {
      return absl::DataLossError(
          absl::StrCat("two trees of size ", n, " have different roots: ",
                       ToHex(Std(old_root)), " and ", ToHex(Std(new_root))));
    }
    if (m == 0 && old_root != MerkleEmptyRoot()) {
      return absl::DataLossError(absl::StrCat("old root ", ToHex(Std(old_root)),
                                              " is not the empty tree's root"));
    }
    return absl::OkStatus();
  }
  const size_t want = ConsistencyProofLength(m, n);
  if (proof.size() != want) {  // also covers 1. (an empty path)
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof from size ", m, " to ", n, " has ",
                     proof.size(), " hashes, want ", want));
  }
  // 2.
  std::vector<absl::string_view> path;
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
  std::string fr(path[0].data(), path[0].size());
  std::string sr = fr;
  // 6.
  for (size_t i = 1; i < path.size(); ++i) {
    const absl::string_view c = path[i];
    if (sn == 0) {  // a.
      return absl::InvalidArgumentError("consistency proof is too long");
    }
    if ((fn & 1) == 1 || fn == sn) {  // b.
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 7.
  if (sn != 0) {
    return absl::InvalidArgumentError("consistency proof is too short");
  }
  if (fr != old_root) {
    return absl::DataLossError(absl::StrCat(
        "consistency proof from size ", m, " to ", n,
        " does not reproduce the old root ", ToHex(Std(old_root))));
  }
  if (sr != new_root) {
    return absl::DataLossError(absl::StrCat(
        "consistency proof from size ", m, " to ", n,
        " does not reproduce the new root ", ToHex(Std(new_root))));
  }
  return absl::OkStatus();
}

}  // namespace duban::storage
