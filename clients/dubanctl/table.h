// Plain-text tables for terminals: columns aligned by display width, so
// that Chinese text (two columns per character) lines up with ASCII.
//
//   Table t({{"№", Align::kRight}, {"agency"}, {"task", Align::kLeft, 40}});
//   t.AddRow({"1", "省发展改革委", "坚持经济发展就业导向…"});
//   std::cout << t.Render();
//
// Widths follow Unicode's East Asian Width: Wide and Fullwidth code points
// count 2, combining marks and zero-width characters 0, everything else 1
// (Ambiguous ones such as "…" and "·" count 1, as in non-CJK locales).
// Text is UTF-8; an invalid byte counts as one column.
#ifndef DUBAN_CLIENTS_DUBANCTL_TABLE_H_
#define DUBAN_CLIENTS_DUBANCTL_TABLE_H_

#include <string>
#include <string_view>
#include <vector>

namespace duban::clients {

// Columns a code point occupies on a terminal: 0, 1 or 2.
int CodePointWidth(char32_t cp);

// Columns `utf8` occupies on a terminal.
int DisplayWidth(std::string_view utf8);

// `utf8` cut to at most `max_width` columns, ending in "…" when cut.
// Never splits a code point. max_width <= 0 gives "".
std::string TruncateToWidth(std::string_view utf8, int max_width);

enum class Align { kLeft, kRight };

// `utf8` padded with spaces to `width` columns (unchanged if already wider).
std::string PadToWidth(std::string_view utf8, int width,
                       Align align = Align::kLeft);

// `utf8` broken into lines of at most `width` columns. Existing newlines
// are kept; ASCII words are not split when a space allows a break; CJK text
// breaks between any two characters. Empty input gives no lines.
std::vector<std::string> WrapToWidth(std::string_view utf8, int width);

struct Column {
  std::string header;
  Align align = Align::kLeft;
  int max_width = 0;    // > 0: wider cells are truncated with "…"
  bool shrink = false;  // may be narrowed to honour Table's max total width
};

// A table rendered as a header line, a separator line of '-' and one line
// per row; columns are separated by two spaces and every line is padded to
// the same display width. Not safe for concurrent mutation.
class Table {
 public:
  explicit Table(std::vector<Column> columns);

  // When > 0, `shrink` columns are narrowed (right to left, down to the
  // width of their header or 4, whichever is larger) until every line fits
  // in `width` columns, if it can.
  void SetMaxTotalWidth(int width) { max_total_width_ = width; }

  // Adds a row; missing cells are empty and extra cells are dropped.
  // Control characters (newlines, tabs) in cells become spaces.
  void AddRow(std::vector<std::string> cells);

  size_t row_count() const { return rows_.size(); }

  // The rendered table; every line ends in '\n'.
  std::string Render() const;

 private:
  std::vector<int> ColumnWidths() const;

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
  int max_total_width_ = 0;
};

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_TABLE_H_
