// Checkpoint encoding and Ed25519 signing with OpenSSL 3's EVP interface (see
// checkpoint.h). Everything OpenSSL-specific stays in this file.
#include "storage/checkpoint.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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

namespace duban::storage {
namespace {

constexpr char kBodyHeader[] = "duban checkpoint v1";
constexpr size_t kSeedSize = 32;
constexpr size_t kKeyIdBytes = 8;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using Bio = std::unique_ptr<BIO, BioDeleter>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// `what` failed, with OpenSSL's first queued reason; empties the queue so a
// later call does not report a stale error.
std::string OpenSslError(absl::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(what);
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return absl::StrCat(what, ": ", buf);
}

absl::Status CheckSize(absl::string_view bytes, size_t want,
                       absl::string_view what) {
  if (bytes.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", bytes.size(), " bytes, not ", want));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::string out(kEd25519PublicKeySize, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(
          pkey, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kEd25519PublicKeySize) {
    return absl::InternalError(OpenSslError("reading the Ed25519 public key"));
  }
  return out;
}

absl::StatusOr<std::string> RawSeed(EVP_PKEY* pkey) {
  std::string out(kSeedSize, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_private_key(
          pkey, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kSeedSize) {
    OPENSSL_cleanse(out.data(), out.size());
    return absl::InternalError(OpenSslError("reading the Ed25519 private key"));
  }
  return out;
}

absl::StatusOr<Pkey> PrivatePkey(absl::string_view seed) {
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed),
                                         seed.size()));
  if (!pkey) {
    return absl::InvalidArgumentError(
        OpenSslError("loading the Ed25519 private key"));
  }
  return pkey;
}

absl::StatusOr<Pkey> PublicPkey(absl::string_view public_key) {
  RETURN_IF_ERROR(
      CheckSize(public_key, kEd25519PublicKeySize, "Ed25519 public key"));
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                        Bytes(public_key), public_key.size()));
  if (!pkey) {
    return absl::InvalidArgumentError(
        OpenSslError("loading the Ed25519 public key"));
  }
  return pkey;
}

// The whole contents of a memory BIO.
std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

// Refuses to prompt for a passphrase: an encrypted PEM simply fails to load.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

std::string EncodeBody(const Checkpoint& c) {
  return absl::StrCat(kBodyHeader, "\n", c.log_id, "\n", c.tree_size, "\n",
                      absl::Base64Escape(c.root_hash), "\n", c.time_micros,
                      "\n");
}

}  // namespace

// ---------------------------------------------------------------------------
// Checkpoint encoding

absl::StatusOr<std::string> CheckpointBody(const Checkpoint& checkpoint) {
  if (checkpoint.log_id.empty()) {
    return absl::InvalidArgumentError("checkpoint log id is empty");
  }
  if (checkpoint.log_id.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError("checkpoint log id contains a newline");
  }
  RETURN_IF_ERROR(
      CheckSize(checkpoint.root_hash, kHashSize, "checkpoint root hash"));
  return EncodeBody(checkpoint);
}

absl::StatusOr<Checkpoint> ParseCheckpointBody(absl::string_view body) {
  const std::vector<absl::string_view> lines = absl::StrSplit(body, '\n');
  // Five lines, each ending in '\n', leave an empty piece after the last.
  if (lines.size() != 6 || !lines[5].empty()) {
    return absl::InvalidArgumentError(
        "checkpoint body is not five newline-terminated lines");
  }
  if (lines[0] != kBodyHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint body does not start with \"", kBodyHeader, "\""));
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
  absl::StatusOr<std::string> canonical = CheckpointBody(c);
  if (!canonical.ok()) return canonical.status();
  if (*canonical != body) {
    return absl::InvalidArgumentError("checkpoint body is not canonical");
  }
  return c;
}

// ---------------------------------------------------------------------------
// Ed25519KeyPair

absl::StatusOr<Ed25519KeyPair> Ed25519KeyPair::Generate() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError(OpenSslError("generating an Ed25519 key"));
  }
  Pkey pkey(raw);
  ASSIGN_OR_RETURN(std::string seed, RawSeed(pkey.get()));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519KeyPair(std::move(seed), std::move(public_key));
}

absl::StatusOr<Ed25519KeyPair> Ed25519KeyPair::FromSeed(
    absl::string_view seed) {
  RETURN_IF_ERROR(CheckSize(seed, kSeedSize, "Ed25519 private key"));
  ASSIGN_OR_RETURN(Pkey pkey, PrivatePkey(seed));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519KeyPair(std::string(seed), std::move(public_key));
}

absl::StatusOr<Ed25519KeyPair> Ed25519KeyPair::FromPrivateKeyPem(
    absl::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError(OpenSslError("BIO_new_mem_buf"));
  Pkey pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (!pkey) {
    return absl::InvalidArgumentError(
        OpenSslError("not an unencrypted PEM private key"));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM private key is ", EVP_PKEY_get0_type_name(pkey.get()),
                     ", not ED25519"));
  }
  ASSIGN_OR_RETURN(std::string seed, RawSeed(pkey.get()));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519KeyPair(std::move(seed), std::move(public_key));
}

Ed25519KeyPair::~Ed25519KeyPair() {
  OPENSSL_cleanse(seed_.data(), seed_.size());
}

absl::StatusOr<std::string> Ed25519KeyPair::PrivateKeyPem() const {
  ASSIGN_OR_RETURN(Pkey pkey, PrivatePkey(seed_));
  // The secure-memory BIO wipes the key's PEM when it is freed.
  Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr,
                                       0, nullptr, nullptr) != 1) {
    return absl::InternalError(OpenSslError("writing the private key PEM"));
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> Ed25519KeyPair::PublicKeyPem() const {
  return Ed25519PublicKeyToPem(public_key_);
}

std::string Ed25519KeyPair::KeyId() const { return Ed25519KeyId(public_key_); }

absl::StatusOr<std::string> Ed25519KeyPair::Sign(
    absl::string_view message) const {
  ASSIGN_OR_RETURN(Pkey pkey, PrivatePkey(seed_));
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(kEd25519SignatureSize, '\0');
  size_t len = signature.size();
  // Ed25519 hashes internally: no digest is named (RFC 8032 "pure" mode).
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) !=
          1 ||
      EVP_DigestSign(ctx.get(),
                     reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(message), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    return absl::InternalError(OpenSslError("Ed25519 signing"));
  }
  return signature;
}

// ---------------------------------------------------------------------------
// Public keys and verification

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError(OpenSslError("BIO_new_mem_buf"));
  Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (!pkey) {
    return absl::InvalidArgumentError(OpenSslError("not a PEM public key"));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM public key is ", EVP_PKEY_get0_type_name(pkey.get()),
                     ", not ED25519"));
  }
  return RawPublicKey(pkey.get());
}

absl::StatusOr<std::string> Ed25519PublicKeyToPem(
    absl::string_view public_key) {
  ASSIGN_OR_RETURN(Pkey pkey, PublicPkey(public_key));
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) {
    return absl::InternalError(OpenSslError("writing the public key PEM"));
  }
  return BioContents(bio.get());
}

std::string Ed25519KeyId(absl::string_view public_key) {
  const std::string digest =
      Sha256(std::string_view(public_key.data(), public_key.size()));
  return ToHex(std::string_view(digest.data(), kKeyIdBytes));
}

absl::Status Ed25519Verify(absl::string_view message,
                           absl::string_view signature,
                           absl::string_view public_key) {
  RETURN_IF_ERROR(
      CheckSize(signature, kEd25519SignatureSize, "Ed25519 signature"));
  ASSIGN_OR_RETURN(Pkey pkey, PublicPkey(public_key));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr,
                                   pkey.get()) != 1) {
    return absl::InternalError(OpenSslError("Ed25519 verification setup"));
  }
  const int rc = EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(),
                                  Bytes(message), message.size());
  if (rc != 1) {
    ERR_clear_error();  // a bad signature queues an error; it is not one here
    return absl::FailedPreconditionError(absl::StrCat(
        "signature does not match public key ", Ed25519KeyId(public_key)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                           const Ed25519KeyPair& key) {
  ASSIGN_OR_RETURN(std::string body, CheckpointBody(checkpoint));
  return key.Sign(body);
}

absl::Status VerifyCheckpoint(const Checkpoint& checkpoint,
                              absl::string_view signature,
                              absl::string_view public_key) {
  ASSIGN_OR_RETURN(std::string body, CheckpointBody(checkpoint));
  absl::Status status = Ed25519Verify(body, signature, public_key);
  if (absl::IsFailedPrecondition(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint of ", checkpoint.log_id, " at tree size ",
                     checkpoint.tree_size, ": ", status.message()));
  }
  return status;
}

}  // namespace duban::storage
