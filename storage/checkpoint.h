// Signed checkpoints of the log: (log id, tree size, Merkle root, time)
// signed with an Ed25519 key (OpenSSL), so that an auditor holding only the
// public key can tell a root the server really committed to from a forged
// one, and, with consistency proofs between checkpoints, that the log was
// only ever appended to.
//
// This is the signing half: the key pair and SignCheckpoint. The checkpoint,
// its body and every verification are in checkpoint_verify.h (the
// duban::verify library), included here.
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
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/checkpoint_verify.h"

namespace duban::storage {

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
  static absl::StatusOr<Ed25519KeyPair> FromSeed(std::string_view seed);

  // Loads an unencrypted PKCS#8 PEM private key. INVALID_ARGUMENT if it does
  // not parse, is encrypted, or is not an Ed25519 key.
  static absl::StatusOr<Ed25519KeyPair> FromPrivateKeyPem(
      std::string_view pem);

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
  absl::StatusOr<std::string> Sign(std::string_view message) const;

 private:
  Ed25519KeyPair(std::string seed, std::string public_key)
      : seed_(std::move(seed)), public_key_(std::move(public_key)) {}

  std::string seed_;
  std::string public_key_;
};

// The 64-byte signature of CheckpointBody(checkpoint).
absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                           const Ed25519KeyPair& key);

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_CHECKPOINT_H_
