// Ed25519 key pairs and checkpoint signing with OpenSSL 3's EVP interface
// (see checkpoint.h); the verifying half is checkpoint_verify.cc.
#include "storage/checkpoint.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "storage/status_macros.h"
#include "storage/verify_internal.h"

namespace duban::storage {
namespace {

constexpr size_t kSeedSize = 32;

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::string out(kEd25519PublicKeySize, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(out.data()), &len) !=
          1 ||
      len != kEd25519PublicKeySize) {
    return absl::InternalError(internal::OpenSslError("reading the Ed25519 public key"));
  }
  return out;
}

absl::StatusOr<std::string> RawSeed(EVP_PKEY* pkey) {
  std::string out(kSeedSize, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_private_key(pkey, reinterpret_cast<unsigned char*>(out.data()), &len) !=
          1 ||
      len != kSeedSize) {
    OPENSSL_cleanse(out.data(), out.size());
    return absl::InternalError(internal::OpenSslError("reading the Ed25519 private key"));
  }
  return out;
}

absl::StatusOr<internal::Pkey> PrivatePkey(std::string_view seed) {
  internal::Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                   internal::Bytes(seed), seed.size()));
  if (!pkey) {
    return absl::InvalidArgumentError(internal::OpenSslError("loading the Ed25519 private key"));
  }
  return pkey;
}

}  // namespace

absl::StatusOr<Ed25519KeyPair> Ed25519KeyPair::Generate() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError(internal::OpenSslError("generating an Ed25519 key"));
  }
  internal::Pkey pkey(raw);
  ASSIGN_OR_RETURN(std::string seed, RawSeed(pkey.get()));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519KeyPair(std::move(seed), std::move(public_key));
}

absl::StatusOr<Ed25519KeyPair> Ed25519KeyPair::FromSeed(std::string_view seed) {
  RETURN_IF_ERROR(internal::CheckSize(seed, kSeedSize, "Ed25519 private key"));
  ASSIGN_OR_RETURN(internal::Pkey pkey, PrivatePkey(seed));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519KeyPair(std::string(seed), std::move(public_key));
}

absl::StatusOr<Ed25519KeyPair> Ed25519KeyPair::FromPrivateKeyPem(std::string_view pem) {
  internal::Bio bio = internal::MemBio(pem);
  if (!bio) return absl::InternalError(internal::OpenSslError("BIO_new_mem_buf"));
  internal::Pkey pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &internal::NoPassphrase, nullptr));
  if (!pkey) {
    return absl::InvalidArgumentError(internal::OpenSslError("not an unencrypted PEM private key"));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEM private key is ", EVP_PKEY_get0_type_name(pkey.get()), ", not ED25519"));
  }
  ASSIGN_OR_RETURN(std::string seed, RawSeed(pkey.get()));
  ASSIGN_OR_RETURN(std::string public_key, RawPublicKey(pkey.get()));
  return Ed25519KeyPair(std::move(seed), std::move(public_key));
}

Ed25519KeyPair::~Ed25519KeyPair() { OPENSSL_cleanse(seed_.data(), seed_.size()); }

absl::StatusOr<std::string> Ed25519KeyPair::PrivateKeyPem() const {
  ASSIGN_OR_RETURN(internal::Pkey pkey, PrivatePkey(seed_));
  // The secure-memory BIO wipes the key's PEM when it is freed.
  internal::Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return absl::InternalError(internal::OpenSslError("writing the private key PEM"));
  }
  return internal::BioContents(bio.get());
}

absl::StatusOr<std::string> Ed25519KeyPair::PublicKeyPem() const {
  return Ed25519PublicKeyToPem(public_key_);
}

std::string Ed25519KeyPair::KeyId() const { return Ed25519KeyId(public_key_); }

absl::StatusOr<std::string> Ed25519KeyPair::Sign(std::string_view message) const {
  ASSIGN_OR_RETURN(internal::Pkey pkey, PrivatePkey(seed_));
  internal::MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(kEd25519SignatureSize, '\0');
  size_t len = signature.size();
  // Ed25519 hashes internally: no digest is named (RFC 8032 "pure" mode).
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     internal::Bytes(message), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    return absl::InternalError(internal::OpenSslError("Ed25519 signing"));
  }
  return signature;
}

absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint,
                                           const Ed25519KeyPair& key) {
  ASSIGN_OR_RETURN(std::string body, CheckpointBody(checkpoint));
  return key.Sign(body);
}

}  // namespace duban::storage
