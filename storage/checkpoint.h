// Signed checkpoints of the log: (log id, tree size, Merkle root, time)
// signed with an Ed25519 key (OpenSSL), so that an auditor holding only the
// public key can tell a root the server really committed to from a forged
// one, and, with consistency proofs between checkpoints, that the log was
// only ever appended to.
//
// The signed bytes are a C2SP signed-note style body, one field per line:
//
//   duban checkpoint v1
//   <log_id>
//   <tree_size in decimal>
//   <root_hash in standard base64, padded>
//   <time_micros in decimal>
//
// each line ending in '\n'. log_id may not be empty or hold a newline, so the
// encoding is unambiguous and ParseCheckpointBody accepts only the canonical
// form.
//
//   ASSIGN_OR_RETURN(Ed25519KeyPair key, Ed25519KeyPair::Generate());
//   ASSIGN_OR_RETURN(std::string pem, key.PrivateKeyPem());  // store 0600
//   Checkpoint cp{"duban", n, root, now_micros};
//   ASSIGN_OR_RETURN(std::string sig, SignCheckpoint(cp, key));
//   // offline, with the public key only:
//   RETURN_IF_ERROR(VerifyCheckpoint(cp, sig, key.public_key()));
#ifndef DUBAN_STORAGE_CHECKPOINT_H_
#define DUBAN_STORAGE_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace duban::storage {

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

struct Checkpoint {
  std::string log_id;       // which log (or plan): non-empty, no '\n'
  uint64_t tree_size = 0;   // number of leaves (events) covered
  std::string root_hash;    // 32-byte MTH of the first tree_size leaves
  int64_t time_micros = 0;  // when it was made, microseconds since the epoch

  bool operator==(const Checkpoint& other) const {
    return log_id == other.log_id && tree_size == other.tree_size &&
           root_hash == other.root_hash && time_micros == other.time_micros;
  }
  bool operator!=(const Checkpoint& other) const { return !(*this == other); }
};

// The canonical bytes that are signed (format above). INVALID_ARGUMENT if
// log_id is empty or holds '\n', or root_hash is not 32 bytes.
absl::StatusOr<std::string> CheckpointBody(const Checkpoint& checkpoint);

// The inverse of CheckpointBody. INVALID_ARGUMENT unless `body` is exactly
// the canonical encoding of some checkpoint.
absl::StatusOr<Checkpoint> ParseCheckpointBody(absl::string_view body);

// An Ed25519 key pair. The private half is held as its 32-byte seed, wiped
// when the object is destroyed; PEM is PKCS#8 ("BEGIN PRIVATE KEY"),
// unencrypted: the caller writes it to a file with mode 0600. Copyable;
// safe for concurrent use (all methods are const).
class Ed25519KeyPair {
 public:
  // A fresh key from the operating system's CSPRNG.
  static absl::StatusOr<Ed25519KeyPair> Generate();

  // The key with this 32-byte RFC 8032 private key (seed).
  // INVALID_ARGUMENT if `seed` is not 32 bytes.
  static absl::StatusOr<Ed25519KeyPair> FromSeed(absl::string_view seed);

  // Loads an unencrypted PKCS#8 PEM private key. INVALID_ARGUMENT if it does
  // not parse, is encrypted, or is not an Ed25519 key.
  static absl::StatusOr<Ed25519KeyPair> FromPrivateKeyPem(
      absl::string_view pem);

  Ed25519KeyPair(const Ed25519KeyPair& other) = default;
  Ed25519KeyPair& operator=(const Ed25519KeyPair& other) = default;
  ~Ed25519KeyPair();

  // PKCS#8 PEM of the private key (secret: store with mode 0600).
  absl::StatusOr<std::string> PrivateKeyPem() const;

  // SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") of the public key.
  absl::StatusOr<std::string> PublicKeyPem() const;

  // The raw 32-byte public key.
  const std::string& public_key() const { return public_key_; }

  // Ed25519KeyId(public_key()).
  std::string KeyId() const;

  // The 64-byte Ed25519 signature of `message`.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

 private:
  Ed25519KeyPair(std::string seed, std::string public_key)
      : seed_(std::move(seed)), public_key_(std::move(public_key)) {}

  std::string seed_;
  std::string public_key_;
};

// The raw 32-byte key in a SubjectPublicKeyInfo PEM. INVALID_ARGUMENT if it
// does not parse or is not an Ed25519 key.
absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem);

// SubjectPublicKeyInfo PEM of a raw 32-byte public key.
absl::StatusOr<std::string> Ed25519PublicKeyToPem(absl::string_view public_key);

// A short name for a public key: hex of the first 8 bytes of SHA-256(raw
// public key), 16 characters.
std::string Ed25519KeyId(absl::string_view public_key);

// OK if `signature` is a valid Ed25519 signature of `message` by the raw
// 32-byte `public_key`; FAILED_PRECONDITION ("signature does not match")
// otherwise; INVALID_ARGUMENT if the key or signature has the wrong size.
absl::Status Ed25519Verify(absl::string_view message,
                           absl::string_view signature,
                           absl::string_view public_key);

// The 64-byte signature of CheckpointBody(checkpoint).
absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                           const Ed25519KeyPair& key);

// OK if `signature` is `public_key`'s signature of CheckpointBody(checkpoint);
// FAILED_PRECONDITION naming the checkpoint and key id if it does not match;
// INVALID_ARGUMENT for a malformed checkpoint, key or signature.
absl::Status VerifyCheckpoint(const Checkpoint& checkpoint,
                              absl::string_view signature,
                              absl::string_view public_key);

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_CHECKPOINT_H_
