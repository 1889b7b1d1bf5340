// MerkleTree (see merkle.h): roots and proofs by RFC 9162's recursive
// definitions; the hashing and verifiers are in merkle_verify.cc.
#include "storage/merkle.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "storage/hash.h"
#include "storage/status_macros.h"
#include "storage/verify_internal.h"

namespace duban::storage {
namespace {

using internal::BitLength;
using internal::CountTrailingZeros;
using internal::IsPowerOfTwo;

// The k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1).
uint64_t SplitPoint(uint64_t n) {
  return uint64_t{1} << (BitLength(n - 1) - 1);
}

}  // namespace

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

}  // namespace duban::storage
