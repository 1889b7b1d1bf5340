// Tests of display widths and the table printer.
#include "clients/dubanctl/table.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace duban::clients {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;

// The lines of a rendered table, without the final empty one.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  EXPECT_TRUE(!lines.empty() && lines.back().empty()) << "no final newline";
  lines.pop_back();
  return lines;
}

std::vector<int> Widths(const std::vector<std::string>& lines) {
  std::vector<int> widths;
  for (const auto& line : lines) widths.push_back(DisplayWidth(line));
  return widths;
}

TEST(DisplayWidthTest, Ascii) {
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("qh-hrss"), 7);
  EXPECT_EQ(DisplayWidth("L:a,b S:c"), 9);
}

TEST(DisplayWidthTest, Cjk) {
  EXPECT_EQ(DisplayWidth("牵头"), 4);
  EXPECT_EQ(DisplayWidth("省人力资源社会保障厅"), 20);
  EXPECT_EQ(DisplayWidth("按职责分工负责"), 14);
  EXPECT_EQ(DisplayWidth("𠀀"), 2);  // CJK Extension B, four UTF-8 bytes
}

TEST(DisplayWidthTest, Mixed) {
  EXPECT_EQ(DisplayWidth("L:省教育厅"), 2 + 8);
  EXPECT_EQ(DisplayWidth("2025年42万人"), 4 + 2 + 2 + 2 + 2);
  EXPECT_EQ(DisplayWidth("控制在5.5%左右"), 6 + 4 + 4);
}

TEST(DisplayWidthTest, FullWidthPunctuation) {
  EXPECT_EQ(DisplayWidth("，"), 2);    // U+FF0C
  EXPECT_EQ(DisplayWidth("、"), 2);    // U+3001
  EXPECT_EQ(DisplayWidth("〔〕"), 4);  // U+3014, U+3015
  EXPECT_EQ(DisplayWidth("（）：；"), 8);
  EXPECT_EQ(DisplayWidth("青政办〔2021〕83号"), 6 + 2 + 4 + 2 + 2 + 2);
}

TEST(DisplayWidthTest, NarrowAndZeroWidth) {
  EXPECT_EQ(DisplayWidth("…"), 1);  // ambiguous: narrow
  EXPECT_EQ(DisplayWidth("·"), 1);
  EXPECT_EQ(DisplayWidth("e\u0301"), 1);  // combining acute accent
  EXPECT_EQ(DisplayWidth("a\tb"), 2);     // control characters take nothing
  EXPECT_EQ(DisplayWidth("\xff"
                         "a"),
            2);                            // an invalid byte counts one
  EXPECT_EQ(DisplayWidth("\xe7\x9c"), 2);  // so does each byte of a cut one
}

TEST(TruncateToWidthTest, KeepsWhatFits) {
  EXPECT_EQ(TruncateToWidth("abc", 3), "abc");
  EXPECT_EQ(TruncateToWidth("省教育厅", 8), "省教育厅");
  EXPECT_EQ(TruncateToWidth("", 5), "");
}

TEST(TruncateToWidthTest, CutsWithEllipsis) {
  EXPECT_EQ(TruncateToWidth("abcdef", 4), "abc…");
  EXPECT_EQ(TruncateToWidth("省人力资源社会保障厅", 9), "省人力资…");
  // A wide character that would straddle the limit is left out entirely.
  EXPECT_EQ(TruncateToWidth("省人力资源社会保障厅", 8), "省人力…");
  EXPECT_EQ(DisplayWidth(TruncateToWidth("省人力资源社会保障厅", 8)), 7);
  EXPECT_EQ(TruncateToWidth("ab省教", 4), "ab…");
  EXPECT_EQ(TruncateToWidth("abc", 1), "…");
  EXPECT_EQ(TruncateToWidth("abc", 0), "");
}

TEST(PadToWidthTest, PadsByDisplayWidth) {
  EXPECT_EQ(PadToWidth("省", 5), "省   ");
  EXPECT_EQ(PadToWidth("12", 4, Align::kRight), "  12");
  EXPECT_EQ(PadToWidth("省教育厅", 3), "省教育厅");
}

TEST(WrapToWidthTest, BreaksCjkAnywhere) {
  EXPECT_THAT(WrapToWidth("一二三四五六七", 6),
              ElementsAre("一二三", "四五六", "七"));
  // An odd width leaves a column unused rather than splitting a character.
  EXPECT_THAT(WrapToWidth("一二三四", 5), ElementsAre("一二", "三四"));
}

TEST(WrapToWidthTest, KeepsAsciiWordsWhole) {
  EXPECT_THAT(WrapToWidth("the quick brown fox", 10),
              ElementsAre("the quick", "brown fox"));
  EXPECT_THAT(WrapToWidth("a\nb", 10), ElementsAre("a", "b"));
  EXPECT_THAT(WrapToWidth("", 10), ElementsAre());
}

TEST(WrapToWidthTest, EveryLineFits) {
  const std::string text =
      "坚持经济发展就业导向，健全有利于更充分更高质量就业的促进机制 (step 1 of "
      "3)，"
      "扩大就业容量，提升就业质量。";
  for (int width : {7, 10, 31, 80}) {
    for (const auto& line : WrapToWidth(text, width)) {
      EXPECT_LE(DisplayWidth(line), width) << line;
    }
  }
}

TEST(TableTest, AlignsCjkAndAscii) {
  Table table({{"№", Align::kRight}, {"agency"}, {"role"}, {"id"}});
  table.AddRow({"1", "省人力资源社会保障厅", "牵头", "qh-hrss"});
  table.AddRow({"12", "省教育厅", "按职责分工负责", "qh-edu"});
  table.AddRow({"44", "团省委", "配合", "qh-cyl"});
  const std::vector<std::string> lines = Lines(table.Render());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(Widths(lines), Each(DisplayWidth(lines[0])));
  EXPECT_EQ(lines[0], " №  agency                role            id     ");
  EXPECT_EQ(lines[1], "--  --------------------  --------------  -------");
  EXPECT_EQ(lines[2], " 1  省人力资源社会保障厅  牵头            qh-hrss");
  EXPECT_EQ(lines[3], "12  省教育厅              按职责分工负责  qh-edu ");
  EXPECT_EQ(lines[4], "44  团省委                配合            qh-cyl ");
}

TEST(TableTest, TruncatesToMaxWidth) {
  Table table({{"name", Align::kLeft, 9}, {"n", Align::kRight}});
  table.AddRow({"省人力资源社会保障厅", "1"});
  table.AddRow({"abcdefghijkl", "22"});
  table.AddRow({"省教育厅", "3"});
  const std::vector<std::string> lines = Lines(table.Render());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(Widths(lines), Each(9 + 2 + 2));
  EXPECT_EQ(lines[2], "省人力资…   1");
  EXPECT_EQ(lines[3], "abcdefgh…  22");
  EXPECT_EQ(lines[4], "省教育厅    3");
}

TEST(TableTest, ShrinksToMaxTotalWidth) {
  Table table({{"№", Align::kRight}, {"task", Align::kLeft, 0, true}});
  table.AddRow(
      {"1", "坚持经济发展就业导向，健全有利于更充分更高质量就业的促进机制"});
  table.SetMaxTotalWidth(20);
  const std::vector<std::string> lines = Lines(table.Render());
  EXPECT_THAT(Widths(lines), Each(20));
  EXPECT_EQ(lines[2], "1  坚持经济发展就业…");  // "№" is one column
}

TEST(TableTest, SanitizesAndFillsCells) {
  Table table({{"a"}, {"b"}});
  table.AddRow({"x\ny"});
  EXPECT_EQ(table.row_count(), 1u);
  EXPECT_THAT(Lines(table.Render()), ElementsAre("a    b", "---  -", "x y   "));
}

}  // namespace
}  // namespace duban::clients
