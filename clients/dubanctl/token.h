// Bearer tokens as dubanctl makes them: the client draws the token and sends
// the server only its hash, so the token itself never crosses the wire.
//
//   absl::StatusOr<std::string> token = NewBearerToken();  // 64 hex chars
//   request.set_token_sha256(Sha256Hex(*token));
#ifndef DUBAN_CLIENTS_DUBANCTL_TOKEN_H_
#define DUBAN_CLIENTS_DUBANCTL_TOKEN_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace duban::clients {

// `bytes` bytes from OpenSSL's CSPRNG (RAND_bytes) as 2 * `bytes` lowercase
// hex digits. INTERNAL when the generator fails (it is not seeded).
absl::StatusOr<std::string> RandomHex(int bytes);

// A new bearer token: 32 random bytes as 64 lowercase hex digits.
absl::StatusOr<std::string> NewBearerToken();

// The SHA-256 of `text`'s bytes as 64 lowercase hex digits: what the server
// compares with the SHA-256 of the bearer token string it receives.
std::string Sha256Hex(std::string_view text);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_TOKEN_H_
