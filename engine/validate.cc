#include "engine/validate.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace duban::engine {

namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

}  // namespace

size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t len;
  uint32_t min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b(k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

bool IsValidUtf8(absl::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

absl::Status CheckText(absl::string_view field, absl::string_view value, TextRule rule) {
  if (value.size() > rule.max_bytes) {
    return Invalid(field, absl::StrCat("too long (", value.size(), " bytes, at most ",
                                       rule.max_bytes, ")"));
  }
  uint32_t cp;
  for (size_t i = 0; i < value.size();) {
    size_t n = DecodeUtf8(value, i, &cp);
    if (n == 0) return Invalid(field, absl::StrCat("not valid UTF-8 at byte ", i));
    const bool allowed_space = rule.multiline && (cp == '\n' || cp == '\t');
    if ((cp < 0x20 && !allowed_space) || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      return Invalid(field, absl::StrCat("control character U+", absl::Hex(cp, absl::kZeroPad4),
                                         " at byte ", i));
    }
    i += n;
  }
  if (rule.required && absl::StripAsciiWhitespace(value).empty()) {
    return Invalid(field, "must not be empty");
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "must not be empty");
  if (value.size() > kMaxIdBytes) {
    return Invalid(field, absl::StrCat("too long (at most ", kMaxIdBytes, " characters)"));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) {
      return Invalid(field, absl::StrCat("\"", CheckText("", value, {kMaxIdBytes}).ok() ? value : absl::string_view(),
                                         "\" is not an id (lowercase letters, digits, '-', '_', '.')"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRequestId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "must not be empty: every write needs a request id");
  if (value.size() > kMaxRequestIdBytes) {
    return Invalid(field, absl::StrCat("too long (at most ", kMaxRequestIdBytes, " characters)"));
  }
  for (char c : value) {
    if (c < 0x21 || c > 0x7E) return Invalid(field, "only printable ASCII is allowed");
  }
  return absl::OkStatus();
}

}  // namespace duban::engine
