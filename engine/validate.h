// Input checks shared by every command: each failure is INVALID_ARGUMENT
// whose message starts with the field's path, e.g.
//   "reason: must not be empty", "document.tasks[3].text: not valid UTF-8".
#ifndef DUBAN_ENGINE_VALIDATE_H_
#define DUBAN_ENGINE_VALIDATE_H_

#include <cstddef>
#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace duban::engine {

// Limits on what one request may carry.
inline constexpr size_t kMaxIdBytes = 64;
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxReasonBytes = 2000;
inline constexpr size_t kMaxTaskTextBytes = 16 * 1024;
inline constexpr size_t kMaxSourceTextBytes = 2 * 1024 * 1024;
inline constexpr int kMaxTasks = 1000;
inline constexpr int kMaxIndicators = 500;
inline constexpr int kMaxAgencies = 1000;
inline constexpr int kMaxGroups = 100;
inline constexpr int kMaxSections = 100;
inline constexpr int kMaxAliases = 20;

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(absl::string_view s);

// Decodes the code point starting at s[i] into *cp and returns its length in
// bytes, or 0 if the bytes there are not well-formed UTF-8.
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp);

struct TextRule {
  size_t max_bytes;
  bool required = true;
  bool multiline = false;  // allow '\n' and '\t'
};

// UTF-8, no control characters (C0, DEL, C1), within max_bytes; non-empty
// after trimming if required.
absl::Status CheckText(absl::string_view field, absl::string_view value, TextRule rule);

// An identifier: 1–64 chars of [a-z0-9], '-', '_', '.', starting with a
// letter or digit.
absl::Status CheckId(absl::string_view field, absl::string_view value);

// A client-chosen request id: 1–128 printable ASCII characters.
absl::Status CheckRequestId(absl::string_view field, absl::string_view value);

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_VALIDATE_H_
