// The verifying half of signed checkpoints (storage/checkpoint.h signs
// them): the checkpoint and its canonical body, Ed25519 public keys and
// signature verification (OpenSSL), for the server and for auditors who hold
// only the public key (dubanctl audit verify-offline). Part of duban::verify
// (OpenSSL and Abseil only).
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
//   ASSIGN_OR_RETURN(std::string key, Ed25519PublicKeyFromPem(pem));
//   ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpointBody(body));
//   RETURN_IF_ERROR(Ed25519Verify(body, signature, key));
#ifndef DUBAN_STORAGE_CHECKPOINT_VERIFY_H_
#define DUBAN_STORAGE_CHECKPOINT_VERIFY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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
// the canonical encoding of some checkpoint ("+7", "007", unpadded base64,
// … are refused).
absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view body);

// The raw 32-byte key in a SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
// INVALID_ARGUMENT if it does not parse or is not an Ed25519 key.
absl::StatusOr<std::string> Ed25519PublicKeyFromPem(std::string_view pem);

// SubjectPublicKeyInfo PEM of a raw 32-byte public key.
absl::StatusOr<std::string> Ed25519PublicKeyToPem(std::string_view public_key);

// A short name for a public key: hex of the first 8 bytes of SHA-256(raw
// public key), 16 characters.
std::string Ed25519KeyId(std::string_view public_key);

// OK if `signature` is a valid Ed25519 signature of `message` by the raw
// 32-byte `public_key`; FAILED_PRECONDITION "signature does not match public
// key <id>" otherwise; INVALID_ARGUMENT if the key or signature has the
// wrong size.
absl::Status Ed25519Verify(std::string_view message, std::string_view signature,
                           std::string_view public_key);

// OK if `signature` is `public_key`'s signature of CheckpointBody(checkpoint);
// FAILED_PRECONDITION naming the checkpoint and key id if it does not match;
// INVALID_ARGUMENT for a malformed checkpoint, key or signature.
absl::Status VerifyCheckpoint(const Checkpoint& checkpoint, std::string_view signature,
                              std::string_view public_key);

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_CHECKPOINT_VERIFY_H_
