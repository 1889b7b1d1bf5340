#include "storage/hash.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace duban::storage {

namespace {

// SHA-256 as OpenSSL 3 provides it, fetched once: EVP_sha256() in
// EVP_DigestInit_ex looks the algorithm up in the provider store on every
// call, which cost more than hashing a short event (the chain hash of every
// event, a request's fingerprint and a caller's token hash run per call).
const EVP_MD* Sha256Algorithm() {
  static const EVP_MD* const kMd = [] {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) std::abort();  // OpenSSL without SHA-256 cannot run this program
    return md;
  }();
  return kMd;
}

}  // namespace

std::string Sha256(std::initializer_list<std::string_view> parts) {
  // One context per thread, re-initialised for each digest.
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), Sha256Algorithm(), nullptr) != 1) std::abort();
  for (std::string_view p : parts) {
    if (EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) std::abort();
  }
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) std::abort();
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

std::string RandomHex(size_t n) {
  std::string buf(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()),
                 static_cast<int>(n)) != 1) {
    std::abort();  // no entropy: refusing to mint a guessable credential
  }
  return ToHex(buf);
}

}  // namespace duban::storage
