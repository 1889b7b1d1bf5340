// The verification side of duban's tamper evidence, for auditors who trust
// nothing the server says: RFC 6962/9162 Merkle hashing over the event log,
// RFC 9162 inclusion and consistency proof verification, the signed
// checkpoint body, and Ed25519 signature checks (OpenSSL EVP).
//
// An independent reimplementation of what storage/merkle.h and
// storage/checkpoint.h define (the clients may not link storage): only the
// verifying half, and small enough to read in one sitting.
//
//   leaf  = SHA-256(0x00 || data)        duban's leaf data for event seq s is
//   node  = SHA-256(0x01 || left || right)   that event's chain hash
//   empty = SHA-256("")                  SHA-256(prev_hash || event bytes),
//                                        at leaf index s - 1
//
//   ASSIGN_OR_RETURN(std::string key, Ed25519PublicKeyFromPem(pem));
//   ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpointBody(body));
//   RETURN_IF_ERROR(Ed25519Verify(body, signature, key));
//   RETURN_IF_ERROR(VerifyInclusion(event_hash, seq - 1, cp.tree_size,
//                                   proof, cp.root_hash));
#ifndef DUBAN_CLIENTS_DUBANCTL_AUDIT_VERIFY_H_
#define DUBAN_CLIENTS_DUBANCTL_AUDIT_VERIFY_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace duban::clients {

inline constexpr size_t kHashSize = 32;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// The 32-byte SHA-256 of the concatenation of `parts`.
std::string Sha256(std::initializer_list<std::string_view> parts);

// Lower-case hex of `bytes`.
std::string HexEncode(std::string_view bytes);
// The bytes `hex` spells (either case); nullopt for an odd length or a
// character that is not a hex digit.
std::optional<std::string> HexDecode(std::string_view hex);

// SHA-256(0x00 || data), SHA-256(0x01 || left || right), SHA-256("").
std::string MerkleLeafHash(std::string_view data);
std::string MerkleNodeHash(std::string_view left, std::string_view right);
std::string MerkleEmptyRoot();

// The root MTH(D[0:n]) of a log read once, front to back, in O(log n)
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

// RFC 9162 §2.1.3.2: OK when `proof` shows that the leaf with data
// `leaf_data` is leaf `index` of the tree of size n with root `root`.
// INVALID_ARGUMENT for malformed input (index >= n, a hash that is not 32
// bytes, a proof of the wrong length for (index, n)); DATA_LOSS when the
// proof does not lead to `root`.
absl::Status VerifyInclusion(std::string_view leaf_data, uint64_t index,
                             uint64_t n, const std::vector<std::string>& proof,
                             std::string_view root);

// RFC 9162 §2.1.4.2: OK when `proof` shows that the tree of size n with root
// `new_root` extends the tree of size m with root `old_root`. m = n needs an
// empty proof and equal roots; m = 0 an empty proof and the empty root.
// INVALID_ARGUMENT for malformed input (m > n, a hash that is not 32 bytes,
// a proof of the wrong length); DATA_LOSS naming the root not reproduced.
absl::Status VerifyConsistency(uint64_t m, uint64_t n,
                               std::string_view old_root,
                               std::string_view new_root,
                               const std::vector<std::string>& proof);

// What a checkpoint commits to.
struct Checkpoint {
  std::string log_id;       // non-empty, no '\n'
  uint64_t tree_size = 0;   // leaves (events) covered
  std::string root_hash;    // 32 bytes
  int64_t time_micros = 0;  // when it was made (Unix microseconds)

  bool operator==(const Checkpoint& other) const {
    return log_id == other.log_id && tree_size == other.tree_size &&
           root_hash == other.root_hash && time_micros == other.time_micros;
  }
  bool operator!=(const Checkpoint& other) const { return !(*this == other); }
};

// The signed text, five lines each ending in '\n':
//   "duban checkpoint v1\n<log_id>\n<tree_size>\n<base64
//   root>\n<time_micros>\n"
// (decimal numbers, standard padded base64). INVALID_ARGUMENT when log_id is
// empty or holds '\n', or the root is not 32 bytes.
absl::StatusOr<std::string> CheckpointBody(const Checkpoint& checkpoint);

// The inverse of CheckpointBody; INVALID_ARGUMENT for anything but the
// canonical body of some checkpoint ("+7", "007", unpadded base64, …).
absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view body);

// The raw 32-byte Ed25519 key in a SubjectPublicKeyInfo PEM ("BEGIN PUBLIC
// KEY"). INVALID_ARGUMENT when it does not parse or is another kind of key.
absl::StatusOr<std::string> Ed25519PublicKeyFromPem(std::string_view pem);

// A key's short name, as the server gives it: hex of the first 8 bytes of
// SHA-256(raw public key).
std::string Ed25519KeyId(std::string_view public_key);

// OK when `signature` is the raw 32-byte `public_key`'s Ed25519 signature of
// `message`; FAILED_PRECONDITION "signature does not match public key <id>"
// when not; INVALID_ARGUMENT for a key or signature of the wrong size.
absl::Status Ed25519Verify(std::string_view message, std::string_view signature,
                           std::string_view public_key);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_AUDIT_VERIFY_H_
