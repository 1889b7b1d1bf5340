// The Merkle tree over the event log (RFC 6962 / RFC 9162 §2.1): tree hashes,
// inclusion (audit) proofs and consistency proofs. The hashing and the
// verification functions an offline verifier runs with no tree at all are in
// merkle_verify.h (the duban::verify library), included here.
//
// duban's leaf i holds the 32-byte stored hash of event seq i+1, so tree size
// n covers seqs 1..n.
//
//   MerkleTree tree(
//       [&log](uint64_t i) { return log->EventHash(i + 1); },
//       [&log] { return log->head().seq; });
//   ASSIGN_OR_RETURN(std::string root, tree.Root(n));
//   ASSIGN_OR_RETURN(auto proof, tree.InclusionProof(seq - 1, n));
//   // ... and on the auditor's machine, trusting only `root`:
//   RETURN_IF_ERROR(VerifyInclusion(event_hash, seq - 1, n, proof, root));
#ifndef DUBAN_STORAGE_MERKLE_H_
#define DUBAN_STORAGE_MERKLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/merkle_verify.h"

namespace duban::storage {

// A Merkle tree over leaves 0..size()-1 of an append-only sequence, computed
// on demand from the leaf data (nothing but the cache below is stored).
//
// Roots and proofs follow RFC 9162's recursive definitions (MTH, PATH,
// SUBPROOF) exactly. A complete subtree whose leaves are all present never
// changes as the log grows, so the hashes of complete, power-of-two-aligned
// subtrees of height >= cache_min_height are kept, keyed (height, index).
// Once a pass over n leaves has filled the cache, Root(n) reads only the
// n mod 2^cache_min_height leaves past the last complete block, and a proof
// at most one block more around the leaf or old size it is about; growing
// the log to n' costs one pass over the new leaves.
//
// Memory: with the default height 8, n/256 + n/512 + ... = n/128 cached
// hashes for a tree of n leaves, each an unordered_map node of roughly 80
// bytes (32-byte hash, 16-byte key, node and bucket overhead): ~0.6 bytes per
// leaf, i.e. about 6 MB for 10 million events. Each unit lower doubles that,
// each unit higher halves it (and doubles the leaf reads per request).
//
// The cache trusts the leaf data it read once: a tree that must notice later
// tampering with the stored leaves (VerifyLog) should be a fresh instance or
// one built with kNoCache.
//
// Thread safety: every method may be called concurrently; a mutex guards the
// cache, and it is not held while leaves are read or hashed. `leaf_data` and
// `size` must themselves be safe to call concurrently.
class MerkleTree {
 public:
  // The data of leaf `index` (not its hash), for index < size().
  using LeafDataFn = std::function<absl::StatusOr<std::string>(uint64_t index)>;
  // The number of leaves available now; never decreases.
  using SizeFn = std::function<uint64_t()>;

  static constexpr int kDefaultCacheMinHeight = 8;
  static constexpr int kNoCache =
      64;  // no subtree of < 2^64 leaves is that tall

  MerkleTree(LeafDataFn leaf_data, SizeFn size,
             int cache_min_height = kDefaultCacheMinHeight);

  MerkleTree(const MerkleTree&) = delete;
  MerkleTree& operator=(const MerkleTree&) = delete;

  // MTH(D[0:n]), 32 bytes; MerkleEmptyRoot() for n = 0.
  // OUT_OF_RANGE if n > size(); errors of leaf_data are returned as they are.
  absl::StatusOr<std::string> Root(uint64_t n) const;

  // PATH(index, D[0:n]) (RFC 9162 §2.1.3.1), leaf-side sibling first.
  // INVALID_ARGUMENT if index >= n; OUT_OF_RANGE if n > size().
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index,
                                                          uint64_t n) const;

  // PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) (RFC 9162 §2.1.4.1); empty
  // when m = 0 or m = n, where there is nothing to prove.
  // INVALID_ARGUMENT if m > n; OUT_OF_RANGE if n > size().
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t m,
                                                            uint64_t n) const;

  // Number of subtree hashes held in the cache (for tests and metrics).
  size_t cached_nodes() const;

 private:
  // MTH of the `count` leaves starting at `begin`.
  absl::StatusOr<std::string> Hash(uint64_t begin, uint64_t count) const;
  // PATH(m, D[begin:begin+count]), appended to *out.
  absl::Status Path(uint64_t m, uint64_t begin, uint64_t count,
                    std::vector<std::string>* out) const;
  // SUBPROOF(m, D[begin:begin+count], whole), appended to *out.
  absl::Status Subproof(uint64_t m, uint64_t begin, uint64_t count, bool whole,
                        std::vector<std::string>* out) const;
  absl::Status CheckSize(uint64_t n) const;

  const LeafDataFn leaf_data_;
  const SizeFn size_;
  const int cache_min_height_;

  // (height, index): the subtree over leaves [index << height,
  // (index + 1) << height).
  using NodeKey = std::pair<int, uint64_t>;
  struct NodeKeyHash {
    size_t operator()(const NodeKey& key) const {
      return std::hash<uint64_t>()(key.second * 0x9e3779b97f4a7c15ULL +
                                   static_cast<uint64_t>(key.first));
    }
  };

  mutable std::mutex mu_;
  mutable std::unordered_map<NodeKey, std::array<char, 32>, NodeKeyHash> cache_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_MERKLE_H_
