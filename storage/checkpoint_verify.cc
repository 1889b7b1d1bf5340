// Checkpoint bodies and Ed25519 verification with OpenSSL 3's EVP interface
// (see checkpoint_verify.h).
#include "storage/checkpoint_verify.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "storage/hash.h"
#include "storage/status_macros.h"
#include "storage/verify_internal.h"

namespace duban::storage {
namespace {

using internal::Bio;
using internal::Bytes;
using internal::CheckSize;
using internal::MdCtx;
using internal::OpenSslError;
using internal::Pkey;

constexpr char kBodyHeader[] = "duban checkpoint v1";
constexpr size_t kKeyIdBytes = 8;

absl::StatusOr<Pkey> PublicPkey(std::string_view public_key) {
  RETURN_IF_ERROR(CheckSize(public_key, kEd25519PublicKeySize, "Ed25519 public key"));
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(public_key),
                                        public_key.size()));
  if (!pkey) return absl::InvalidArgumentError(OpenSslError("loading the Ed25519 public key"));
  return pkey;
}

}  // namespace

// ---------------------------------------------------------------------------
// Checkpoint bodies

absl::StatusOr<std::string> CheckpointBody(const Checkpoint& c) {
  if (c.log_id.empty()) return absl::InvalidArgumentError("checkpoint log id is empty");
  if (c.log_id.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError("checkpoint log id contains a newline");
  }
  RETURN_IF_ERROR(CheckSize(c.root_hash, kHashSize, "checkpoint root hash"));
  return absl::StrCat(kBodyHeader, "\n", c.log_id, "\n", c.tree_size, "\n",
                      absl::Base64Escape(c.root_hash), "\n", c.time_micros, "\n");
}

absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view body) {
  const std::vector<absl::string_view> lines = absl::StrSplit(internal::View(body), '\n');
  // Five lines, each ending in '\n', leave an empty piece after the last.
  if (lines.size() != 6 || !lines[5].empty()) {
    return absl::InvalidArgumentError("checkpoint body is not five newline-terminated lines");
  }
  if (lines[0] != kBodyHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint body does not start with \"", kBodyHeader, "\""));
  }
  Checkpoint c;
  c.log_id = std::string(lines[1]);
  if (!absl::SimpleAtoi(lines[2], &c.tree_size)) {
    return absl::InvalidArgumentError("checkpoint tree size is not a number");
  }
  if (!absl::Base64Unescape(lines[3], &c.root_hash)) {
    return absl::InvalidArgumentError("checkpoint root hash is not base64");
  }
  if (!absl::SimpleAtoi(lines[4], &c.time_micros)) {
    return absl::InvalidArgumentError("checkpoint time is not a number");
  }
  // Rejects every alternative spelling ("+7", "007", unpadded base64, ...),
  // so one checkpoint has exactly one body.
  ASSIGN_OR_RETURN(const std::string canonical, CheckpointBody(c));
  if (canonical != body) return absl::InvalidArgumentError("checkpoint body is not canonical");
  return c;
}

// ---------------------------------------------------------------------------
// Public keys and verification

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(std::string_view pem) {
  Bio bio = internal::MemBio(pem);
  if (!bio) return absl::InternalError(OpenSslError("BIO_new_mem_buf"));
  Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, &internal::NoPassphrase, nullptr));
  if (!pkey) {
    return absl::InvalidArgumentError(
        OpenSslError("not a PEM public key (want \"-----BEGIN PUBLIC KEY-----\")"));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEM public key is ", EVP_PKEY_get0_type_name(pkey.get()), ", not ED25519"));
  }
  std::string raw(kEd25519PublicKeySize, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                  &len) != 1 ||
      len != kEd25519PublicKeySize) {
    return absl::InternalError(OpenSslError("reading the Ed25519 public key"));
  }
  return raw;
}

absl::StatusOr<std::string> Ed25519PublicKeyToPem(std::string_view public_key) {
  ASSIGN_OR_RETURN(Pkey pkey, PublicPkey(public_key));
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) {
    return absl::InternalError(OpenSslError("writing the public key PEM"));
  }
  return internal::BioContents(bio.get());
}

std::string Ed25519KeyId(std::string_view public_key) {
  return ToHex(Sha256(public_key).substr(0, kKeyIdBytes));
}

absl::Status Ed25519Verify(std::string_view message, std::string_view signature,
                           std::string_view public_key) {
  RETURN_IF_ERROR(CheckSize(signature, kEd25519SignatureSize, "Ed25519 signature"));
  ASSIGN_OR_RETURN(Pkey pkey, PublicPkey(public_key));
  MdCtx ctx(EVP_MD_CTX_new());
  // Ed25519 is "pure": no digest is named, the message is passed whole.
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return absl::InternalError(OpenSslError("Ed25519 verification setup"));
  }
  const int rc = EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                                  message.size());
  if (rc != 1) {
    ERR_clear_error();  // a bad signature queues an error; it is not one here
    return absl::FailedPreconditionError(
        absl::StrCat("signature does not match public key ", Ed25519KeyId(public_key)));
  }
  return absl::OkStatus();
}

absl::Status VerifyCheckpoint(const Checkpoint& checkpoint, std::string_view signature,
                              std::string_view public_key) {
  ASSIGN_OR_RETURN(std::string body, CheckpointBody(checkpoint));
  absl::Status status = Ed25519Verify(body, signature, public_key);
  if (absl::IsFailedPrecondition(status)) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint of ", checkpoint.log_id,
                                                      " at tree size ", checkpoint.tree_size,
                                                      ": ", status.message()));
  }
  return status;
}

}  // namespace duban::storage
