// Display-width arithmetic and the table printer (see table.h).
#include "clients/dubanctl/table.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace duban::clients {
namespace {

struct Range {
  char32_t first;
  char32_t last;
};

// Code points of East Asian Width W or F (Unicode 14), merged into blocks;
// unassigned code points inside a block are counted wide too, as terminals do.
constexpr Range kWide[] = {
    {0x1100, 0x115F},  // Hangul Jamo initial consonants
    {0x231A, 0x231B},  // watch, hourglass
    {0x2329, 0x232A},  // angle brackets
    {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},
    {0x23F3, 0x23F3},
    {0x25FD, 0x25FE},
    {0x2614, 0x2615},
    {0x2648, 0x2653},
    {0x267F, 0x267F},
    {0x2693, 0x2693},
    {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},
    {0x26BD, 0x26BE},
    {0x26C4, 0x26C5},
    {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},
    {0x26EA, 0x26EA},
    {0x26F2, 0x26F3},
    {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},
    {0x26FD, 0x26FD},
    {0x2705, 0x2705},
    {0x270A, 0x270B},
    {0x2728, 0x2728},
    {0x274C, 0x274C},
    {0x274E, 0x274E},
    {0x2753, 0x2755},
    {0x2757, 0x2757},
    {0x2795, 0x2797},
    {0x27B0, 0x27B0},
    {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},
    {0x2B50, 0x2B50},
    {0x2B55, 0x2B55},
    {0x2E80, 0x303E},    // CJK radicals, Kangxi, CJK symbols and punctuation
                         // 、〔〕
    {0x3041, 0x33FF},    // kana, Bopomofo, Hangul compatibility, enclosed CJK
    {0x3400, 0x4DBF},    // CJK Extension A
    {0x4E00, 0x9FFF},    // CJK Unified Ideographs
    {0xA000, 0xA4CF},    // Yi
    {0xA960, 0xA97F},    // Hangul Jamo Extended-A
    {0xAC00, 0xD7A3},    // Hangul syllables
    {0xF900, 0xFAFF},    // CJK compatibility ideographs
    {0xFE10, 0xFE19},    // vertical forms
    {0xFE30, 0xFE6F},    // CJK compatibility forms, small form variants
    {0xFF00, 0xFF60},    // fullwidth forms ，（）：
    {0xFFE0, 0xFFE6},    // fullwidth signs ￥
    {0x16FE0, 0x18CFF},  // Tangut, Khitan
    {0x1AFF0, 0x1B2FF},  // kana supplement and extensions, Nushu
    {0x1F004, 0x1F004},
    {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E},
    {0x1F191, 0x1F19A},
    {0x1F200, 0x1F2FF},  // enclosed ideographic supplement
    {0x1F300, 0x1F64F},  // pictographs, emoticons (approximately)
    {0x1F680, 0x1F6FF},  // transport and map symbols (approximately)
    {0x1F7E0, 0x1F7EB},
    {0x1F90C, 0x1F9FF},  // supplemental symbols and pictographs
    {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD},  // CJK Extensions B-F, compatibility supplement
    {0x30000, 0x3FFFD},  // CJK Extension G
};

// Code points that take no column: combining marks, zero-width format
// characters, variation selectors.
constexpr Range kZero[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD},   {0x0610, 0x061A},
    {0x064B, 0x065F}, {0x200B, 0x200F}, {0x202A, 0x202E},   {0x2060, 0x2064},
    {0x20D0, 0x20FF}, {0x302A, 0x302D}, {0x3099, 0x309A},   {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

template <size_t N>
constexpr bool SortedAndDisjoint(const Range (&ranges)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (ranges[i].first > ranges[i].last) return false;
    if (i > 0 && ranges[i - 1].last >= ranges[i].first) return false;
  }
  return true;
}
static_assert(SortedAndDisjoint(kWide),
              "kWide must be sorted for binary search");
static_assert(SortedAndDisjoint(kZero),
              "kZero must be sorted for binary search");

template <size_t N>
bool InRanges(const Range (&ranges)[N], char32_t cp) {
  auto it =
      std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                       [](char32_t c, const Range& r) { return c < r.first; });
  return it != std::begin(ranges) && cp <= std::prev(it)->last;
}

// Decodes the code point at s[*pos] and advances *pos past it. An invalid or
// truncated sequence yields U+FFFD and advances one byte.
char32_t NextCodePoint(std::string_view s, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(*pos);
  int len = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++*pos;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    ++*pos;
    return 0xFFFD;
  }
  if (*pos + len > s.size()) {
    ++*pos;
    return 0xFFFD;
  }
  for (int i = 1; i < len; ++i) {
    const unsigned char b = byte(*pos + i);
    if ((b & 0xC0) != 0x80) {
      ++*pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*pos;
    return 0xFFFD;
  }
  *pos += len;
  return cp;
}

constexpr std::string_view kEllipsis = "…";  // one column
constexpr int kColumnGap = 2;
constexpr int kMinShrunkWidth = 4;

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp < 0xA0); }

}  // namespace

int CodePointWidth(char32_t cp) {
  if (cp == 0 || IsControl(cp) || InRanges(kZero, cp)) return 0;
  return InRanges(kWide, cp) ? 2 : 1;
}

int DisplayWidth(std::string_view utf8) {
  int width = 0;
  for (size_t pos = 0; pos < utf8.size();) {
    width += CodePointWidth(NextCodePoint(utf8, &pos));
  }
  return width;
}

std::string TruncateToWidth(std::string_view utf8, int max_width) {
  if (max_width <= 0) return "";
  if (DisplayWidth(utf8) <= max_width) return std::string(utf8);
  // Keep the longest prefix that leaves one column for the ellipsis.
  const int budget = max_width - 1;
  int width = 0;
  size_t end = 0;
  for (size_t pos = 0; pos < utf8.size();) {
    const int w = CodePointWidth(NextCodePoint(utf8, &pos));
    if (width + w > budget) break;
    width += w;
    end = pos;
  }
  std::string out(utf8.substr(0, end));
  out += kEllipsis;
  return out;
}

std::string PadToWidth(std::string_view utf8, int width, Align align) {
  const int pad = std::max(0, width - DisplayWidth(utf8));
  std::string out;
  out.reserve(utf8.size() + pad);
  if (align == Align::kRight) out.append(pad, ' ');
  out.append(utf8);
  if (align == Align::kLeft) out.append(pad, ' ');
  return out;
}

std::vector<std::string> WrapToWidth(std::string_view utf8, int width) {
  width = std::max(width, 2);  // room for one wide character
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < utf8.size()) {
    size_t newline = utf8.find('\n', start);
    if (newline == std::string_view::npos) newline = utf8.size();
    std::string_view paragraph = utf8.substr(start, newline - start);
    start = newline + 1;
    do {
      // Take code points while they fit; remember the last space seen.
      int line_width = 0;
      size_t pos = 0, end = 0, last_space = std::string_view::npos;
      while (pos < paragraph.size()) {
        size_t next = pos;
        const char32_t cp = NextCodePoint(paragraph, &next);
        const int w = CodePointWidth(cp);
        if (line_width + w > width) break;
        if (cp == ' ') last_space = pos;
        line_width += w;
        pos = end = next;
      }
      size_t take = end, resume = end;
      if (end < paragraph.size() && last_space != std::string_view::npos &&
          last_space > 0 && paragraph[end] != ' ') {
        // Mid-word: break at the last space if the word is ASCII.
        const unsigned char before =
            static_cast<unsigned char>(paragraph[end - 1]);
        const unsigned char after = static_cast<unsigned char>(paragraph[end]);
        if (before < 0x80 && after < 0x80) {
          take = last_space, resume = last_space;
        }
      }
      std::string_view line = paragraph.substr(0, take);
      while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
      lines.emplace_back(line);
      paragraph.remove_prefix(resume);
      while (!paragraph.empty() && paragraph.front() == ' ') {
        paragraph.remove_prefix(1);
      }
    } while (!paragraph.empty());
  }
  return lines;
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) {
    for (char& c : cell) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    }
  }
  rows_.push_back(std::move(cells));
}

std::vector<int> Table::ColumnWidths() const {
  std::vector<int> widths(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) {
    int w = DisplayWidth(columns_[i].header);
    for (const auto& row : rows_) w = std::max(w, DisplayWidth(row[i]));
    if (columns_[i].max_width > 0) w = std::min(w, columns_[i].max_width);
    widths[i] = w;
  }
  if (max_total_width_ <= 0 || columns_.empty()) return widths;
  int total = kColumnGap * static_cast<int>(columns_.size() - 1);
  for (int w : widths) total += w;
  for (size_t i = columns_.size(); i-- > 0 && total > max_total_width_;) {
    if (!columns_[i].shrink) continue;
    const int floor =
        std::max(kMinShrunkWidth, DisplayWidth(columns_[i].header));
    const int cut = std::min(total - max_total_width_, widths[i] - floor);
    if (cut <= 0) continue;
    widths[i] -= cut;
    total -= cut;
  }
  return widths;
}

std::string Table::Render() const {
  const std::vector<int> widths = ColumnWidths();
  std::string out;
  const auto append_line = [&](auto&& cell_text) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i > 0) out.append(kColumnGap, ' ');
      out += PadToWidth(TruncateToWidth(cell_text(i), widths[i]), widths[i],
                        columns_[i].align);
    }
    out += '\n';
  };
  append_line([&](size_t i) -> std::string_view { return columns_[i].header; });
  append_line([&](size_t i) { return std::string(widths[i], '-'); });
  for (const auto& row : rows_) {
    append_line([&](size_t i) -> std::string_view { return row[i]; });
  }
  return out;
}

}  // namespace duban::clients
