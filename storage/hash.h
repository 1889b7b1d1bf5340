// SHA-256 (OpenSSL) for the event chain, request fingerprints, document
// versions and credential hashes, plus hex encoding and secure random tokens.
// Part of duban::verify.
#ifndef DUBAN_STORAGE_HASH_H_
#define DUBAN_STORAGE_HASH_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace duban::storage {

inline constexpr size_t kHashSize = 32;

// The 32-byte SHA-256 digest of the concatenation of `parts`.
std::string Sha256(std::initializer_list<std::string_view> parts);
inline std::string Sha256(std::string_view data) { return Sha256({data}); }

// Lower-case hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

// The bytes `hex` spells (either case); nullopt for an odd length or a
// character that is not a hex digit.
std::optional<std::string> FromHex(std::string_view hex);

// `n` bytes from the operating system's CSPRNG, hex-encoded (2n chars).
std::string RandomHex(size_t n);

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_HASH_H_
