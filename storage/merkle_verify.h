// The verifying half of the Merkle tree over the event log (RFC 6962 / RFC
// 9162 §2.1), for the server (storage/merkle.h builds on it) and for
// auditors who trust nothing the server says (dubanctl audit verify-offline):
// hashing, roots from leaves read once, and inclusion and consistency proof
// verification. Part of duban::verify (OpenSSL and Abseil only).
//
// Hashing is RFC 6962's with SHA-256: a leaf is H(0x00 || data), an interior
// node H(0x01 || left || right), the empty tree H(""). duban's leaf i holds
// the 32-byte stored hash of event seq i+1 (SHA-256(prev_hash || stored
// bytes)), so tree size n covers seqs 1..n.
//
//   MerkleRootBuilder builder;
//   for (const std::string& h : event_hashes) builder.AddLeaf(h);
//   RETURN_IF_ERROR(VerifyInclusion(event_hash, seq - 1, n, proof, root));
//   RETURN_IF_ERROR(VerifyConsistency(m, n, old_root, new_root, proof));
#ifndef DUBAN_STORAGE_MERKLE_VERIFY_H_
#define DUBAN_STORAGE_MERKLE_VERIFY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace duban::storage {

// SHA-256(0x00 || data): the hash of a leaf.
std::string MerkleLeafHash(std::string_view data);

// SHA-256(0x01 || left || right): the hash of an interior node.
std::string MerkleNodeHash(std::string_view left, std::string_view right);

// SHA-256(""): the root of the empty tree.
std::string MerkleEmptyRoot();

// The root MTH(D[0:n]) of leaves read once, front to back, in O(log n)
// memory: the roots of the complete subtrees the leaves so far make up (one
// per set bit of n, largest first) are kept, and the root is their fold from
// the right, which is RFC 9162's split at the largest power of two below n.
class MerkleRootBuilder {
 public:
  // Appends a leaf with this data (hashed here with MerkleLeafHash).
  void AddLeaf(std::string_view data);
  // The number of leaves added.
  uint64_t size() const { return size_; }
  // MTH of the leaves added; MerkleEmptyRoot() when none.
  std::string Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<std::string> subtrees_;  // complete subtree roots, largest first
};

// MTH of `leaves` (leaf data), by MerkleRootBuilder.
std::string MerkleRoot(const std::vector<std::string>& leaves);

// RFC 9162 §2.1.3.2: checks that `proof` proves leaf `index` with data
// `leaf_data` (hashed here with MerkleLeafHash) is in the tree of size n with
// root `root`. OK if so; INVALID_ARGUMENT for malformed input (index >= n, a
// hash that is not 32 bytes, a proof of the wrong length for (index, n));
// DATA_LOSS if the proof does not lead to `root`.
absl::Status VerifyInclusion(std::string_view leaf_data, uint64_t index, uint64_t n,
                             const std::vector<std::string>& proof, std::string_view root);

// RFC 9162 §2.1.4.2: checks that the tree of size n with root `new_root`
// extends the tree of size m with root `old_root`. m = n needs an empty proof
// and equal roots; m = 0 needs an empty proof and old_root = MerkleEmptyRoot().
// OK if consistent; INVALID_ARGUMENT for malformed input (m > n, a hash that
// is not 32 bytes, a proof of the wrong length for (m, n)); DATA_LOSS naming
// the root that the proof does not reproduce.
absl::Status VerifyConsistency(uint64_t m, uint64_t n, std::string_view old_root,
                               std::string_view new_root,
                               const std::vector<std::string>& proof);

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_MERKLE_VERIFY_H_
