// Helpers that the verify library (merkle_verify, checkpoint_verify) and the
// rest of storage (MerkleTree, Ed25519KeyPair) share. Not an API: include it
// only from storage/*.cc.
#ifndef DUBAN_STORAGE_VERIFY_INTERNAL_H_
#define DUBAN_STORAGE_VERIFY_INTERNAL_H_

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace duban::storage::internal {

// Debian's Abseil has its own string_view, distinct from std's.
inline absl::string_view View(std::string_view s) { return {s.data(), s.size()}; }

// --- Bits of tree sizes and indexes ----------------------------------------

inline bool IsPowerOfTwo(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
// Number of significant bits: 0 for 0, 1 for 1, 3 for 5.
inline int BitLength(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }
inline int CountTrailingZeros(uint64_t x) { return x == 0 ? 64 : __builtin_ctzll(x); }
inline int PopCount(uint64_t x) { return __builtin_popcountll(x); }
// x >> s, defined for every s (an offline verifier gets sizes up to 2^64-1).
inline uint64_t ShiftRight(uint64_t x, int s) { return s >= 64 ? 0 : x >> s; }

// INVALID_ARGUMENT "<what> is N bytes, not <want>" unless bytes has `want`.
inline absl::Status CheckSize(std::string_view bytes, size_t want, std::string_view what) {
  if (bytes.size() == want) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(View(what), " is ", bytes.size(), " bytes, not ", want));
}

// --- OpenSSL ------------------------------------------------------------------

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using Bio = std::unique_ptr<BIO, BioDeleter>;

inline const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// `what` failed, with OpenSSL's first queued reason; empties the queue so a
// later call does not report a stale error.
inline std::string OpenSslError(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(what);
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return absl::StrCat(View(what), ": ", buf);
}

// A PEM password callback that refuses to prompt: an encrypted PEM simply
// fails to load.
inline int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

// A memory BIO over `data` (not copied).
inline Bio MemBio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The whole contents of a memory BIO.
inline std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

}  // namespace duban::storage::internal

#endif  // DUBAN_STORAGE_VERIFY_INTERNAL_H_
