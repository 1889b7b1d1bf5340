// Token generation and hashing with OpenSSL (see token.h).
#include "clients/dubanctl/token.h"

#include <cstdlib>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/rand.h"

namespace duban::clients {
namespace {

constexpr int kTokenBytes = 32;

std::string Hex(const unsigned char* data, size_t size) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(data), size));
}

}  // namespace

absl::StatusOr<std::string> RandomHex(int bytes) {
  if (bytes <= 0) return absl::InvalidArgumentError("RandomHex: bytes <= 0");
  std::vector<unsigned char> buffer(static_cast<size_t>(bytes));
  if (RAND_bytes(buffer.data(), bytes) != 1) {
    return absl::InternalError(
        absl::StrCat("no randomness: RAND_bytes failed (OpenSSL error ",
                     ERR_get_error(), ")"));
  }
  return Hex(buffer.data(), buffer.size());
}

absl::StatusOr<std::string> NewBearerToken() { return RandomHex(kTokenBytes); }

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // EVP_Digest fails only when out of memory or without SHA-256 (a broken
  // OpenSSL); both are bugs here, not conditions to report.
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    std::abort();
  }
  return Hex(digest, size);
}

}  // namespace duban::clients
