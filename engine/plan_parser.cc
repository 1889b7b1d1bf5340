// ParsePlanText: reads a plan's source text into a PlanDocument (see
// plan_parser.h for what it reads and what it promises).
//
// The text is read line by line (UTF-8). In order, the parser finds:
//   1. the header: the title from the "…关于印发<title>的通知" line, the
//      issuer (what precedes 关于印发, or the line before it), the document
//      number (a line of the form 青政办〔2021〕83号), and the period from the
//      five-year-plan ordinal in the title (“十四五” → the 14th plan →
//      2021–2025; the 1st plan was 1953–1957, the 3rd began in 1966 after
//      the 1963–1965 adjustment years, every later one follows at five-year
//      steps). The issue date, where the text has one, is cross-checked
//      against that period.
//   2. the appendix: everything after the last heading line ending in
//      重点任务分工方案 (the table of contents and the body's "附件:" line
//      name it too; the last one is the appendix's own heading).
//   3. the chapters: "三、…" headings before the appendix that are not table
//      of contents entries (those have dot leaders "…"), and within them the
//      "(三)…" sub-sections; every line gets a label such as 二(三).
//   4. the 专栏 boxes that hold a table (a 序号 header row): the one with a
//      属性 column is the indicator table, the one with 完成情况 the
//      previous period's results, used as baselines.
// Each task is assigned the chapter whose body contains the largest share of
// the task's character bigrams, subject to the chapters never going
// backwards along the task list (the appendix follows the chapters' order);
// the document's sections are the chapters that received tasks.
//
// Warnings (never silent repairs): a table row split over lines, a name cell
// that runs on into the next cells, a character no reader can see, a
// "达到N万人，其中:…" breakdown whose parts do not add up to N, a figure the
// text around the indicator table states that disagrees with the table, a
// task the chapter order forced away from its best-matching chapter.
#include "engine/plan_parser.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "engine/validate.h"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::engine {
namespace {

using ::duban::v1::Agency;
using ::duban::v1::AgencyGroup;
using ::duban::v1::AgencyRegistry;
using ::duban::v1::Baseline;
using ::duban::v1::ImportWarning;
using ::duban::v1::Indicator;
using ::duban::v1::IndicatorAttribute;
using ::duban::v1::PlanDocument;
using ::duban::v1::Responsibility;
using ::duban::v1::Role;
using ::duban::v1::Section;
using ::duban::v1::TargetKind;
using ::duban::v1::Task;

constexpr char kReason[] = "plan text";
constexpr char kAppendixHeading[] = "重点任务分工方案";

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

void Warn(std::vector<ImportWarning>* warnings, std::string where,
          std::string message) {
  ImportWarning& w = warnings->emplace_back();
  w.set_where(std::move(where));
  w.set_message(std::move(message));
}

// ------------------------------------------------------------------ UTF-8

// Decodes the code point at s[pos] and sets *len to its length in bytes.
// Malformed input (a bad or missing continuation byte, an overlong form, a
// surrogate, beyond U+10FFFF) decodes as U+FFFD, one byte at a time, and
// clears *valid when given.
char32_t DecodeAt(absl::string_view s, size_t pos, size_t* len,
                  bool* valid = nullptr) {
  uint32_t cp = 0;
  *len = DecodeUtf8(s, pos, &cp);
  if (*len == 0) {
    *len = 1;
    if (valid != nullptr) *valid = false;
    return 0xFFFD;
  }
  return cp;
}

// The byte offset of the first malformed UTF-8 sequence in `s`, if any.
std::optional<size_t> FirstInvalidUtf8(absl::string_view s) {
  for (size_t pos = 0, len = 0; pos < s.size(); pos += len) {
    bool valid = true;
    DecodeAt(s, pos, &len, &valid);
    if (!valid) return pos;
  }
  return std::nullopt;
}

std::u32string ToU32(absl::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t pos = 0, len = 0; pos < s.size(); pos += len) {
    out.push_back(DecodeAt(s, pos, &len));
  }
  return out;
}

std::string ToUtf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size() * 3);
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// ASCII and Unicode white space, including the en space (U+2002) that
// indents task 36 and the ideographic space (U+3000).
bool IsSpace(char32_t c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

absl::string_view Trim(absl::string_view s) {
  size_t begin = 0;
  while (begin < s.size()) {
    size_t len;
    if (!IsSpace(DecodeAt(s, begin, &len))) break;
    begin += len;
  }
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin &&
           (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
      --start;
    }
    size_t len;
    const char32_t c = DecodeAt(s, start, &len);
    if (start + len != end || !IsSpace(c)) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

// `s` in quotes, cut to its first `n` characters ("…" marks the cut).
std::string QuoteHead(absl::string_view s, size_t n = 40) {
  const std::u32string u = ToU32(s);
  if (u.size() <= n) return absl::StrCat("\"", s, "\"");
  return absl::StrCat("\"", ToUtf8(std::u32string_view(u).substr(0, n)), "…\"");
}

// `s` in quotes, cut to its last `n` characters.
std::string QuoteTail(absl::string_view s, size_t n = 40) {
  const std::u32string u = ToU32(s);
  if (u.size() <= n) return absl::StrCat("\"", s, "\"");
  return absl::StrCat(
      "\"…", ToUtf8(std::u32string_view(u).substr(u.size() - n)), "\"");
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

// Shortest decimal form of a figure read from the text (185, 12.5).
std::string Figure(double v) { return absl::StrCat(v); }

bool AllAsciiDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// An unsigned decimal written with ASCII digits: "42", "10.5".
std::optional<double> ParseDecimal(absl::string_view s) {
  const size_t dot = s.find('.');
  if (dot == absl::string_view::npos) {
    if (!AllAsciiDigits(s)) return std::nullopt;
  } else if (!AllAsciiDigits(s.substr(0, dot)) ||
             !AllAsciiDigits(s.substr(dot + 1))) {
    return std::nullopt;
  }
  double v;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool IsDecimalChar(char32_t c) { return (c >= '0' && c <= '9') || c == '.'; }

// The decimal that starts at u[start], if any: its value and end.
std::optional<std::pair<double, size_t>> DecimalStartingAt(
    std::u32string_view u, size_t start) {
  size_t end = start;
  while (end < u.size() && IsDecimalChar(u[end])) ++end;
  if (end == start) return std::nullopt;
  auto v = ParseDecimal(ToUtf8(u.substr(start, end - start)));
  if (!v) return std::nullopt;
  return std::make_pair(*v, end);
}

// Chinese numerals 一 … 九十九 as they number chapters and five-year plans.
int ChineseDigit(char32_t c) {
  static constexpr std::u32string_view kDigits = U"一二三四五六七八九";
  const size_t i = kDigits.find(c);
  return i == std::u32string_view::npos ? -1 : static_cast<int>(i) + 1;
}

bool IsChineseNumeral(char32_t c) { return c == U'十' || ChineseDigit(c) > 0; }

std::optional<int> ParseChineseNumber(std::u32string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  const size_t ten = s.find(U'十');
  if (ten == std::u32string_view::npos) {
    if (s.size() != 1 || ChineseDigit(s[0]) < 0) return std::nullopt;
    return ChineseDigit(s[0]);
  }
  int tens = 1;
  if (ten == 1) {
    tens = ChineseDigit(s[0]);
  } else if (ten != 0) {
    return std::nullopt;
  }
  int ones = 0;
  if (ten + 1 < s.size()) {
    if (ten + 2 != s.size()) return std::nullopt;
    ones = ChineseDigit(s[ten + 1]);
  }
  if (tens < 0 || ones < 0) return std::nullopt;
  return tens * 10 + ones;
}

// ------------------------------------------------------------ the registry

bool IsValidId(absl::string_view id) { return CheckId("id", id).ok(); }

// Name → agency or group, over a registry it has checked for consistency.
class RegistryIndex {
 public:
  struct Ref {
    const Agency* agency = nullptr;
    const AgencyGroup* group = nullptr;
  };

  static absl::StatusOr<RegistryIndex> Build(const AgencyRegistry& registry) {
    RegistryIndex index;
    absl::flat_hash_map<std::string, std::string> owner;  // name → id
    auto add_name = [&](absl::string_view name, const std::string& id,
                        Ref ref) -> absl::Status {
      if (name.empty()) return absl::OkStatus();
      if (Trim(name) != name) {
        return Invalid("registry", absl::StrCat(id, ": name ", Quote(name),
                                                " has surrounding spaces"));
      }
      auto [it, inserted] = owner.emplace(std::string(name), id);
      if (!inserted && it->second != id) {
        return Invalid("registry",
                       absl::StrCat("name ", Quote(name), " is used by both ",
                                    it->second, " and ", id));
      }
      index.by_name_[std::string(name)] = ref;
      return absl::OkStatus();
    };
    for (const Agency& a : registry.agencies()) {
      if (!IsValidId(a.id())) {
        return Invalid("registry",
                       absl::StrCat("agency id ", Quote(a.id()),
                                    " is not ^[a-z][a-z0-9-]{1,62}$"));
      }
      if (a.name().empty()) {
        return Invalid("registry", absl::StrCat(a.id(), " has no name"));
      }
      if (!index.agencies_.emplace(a.id(), &a).second) {
        return Invalid("registry",
                       absl::StrCat("agency id ", a.id(), " appears twice"));
      }
      RETURN_IF_ERROR(add_name(a.name(), a.id(), Ref{&a, nullptr}));
      RETURN_IF_ERROR(add_name(a.short_name(), a.id(), Ref{&a, nullptr}));
      for (const std::string& alias : a.aliases()) {
        RETURN_IF_ERROR(add_name(alias, a.id(), Ref{&a, nullptr}));
      }
    }
    auto& groups = index.groups_;
    for (const AgencyGroup& g : registry.groups()) {
      if (!IsValidId(g.id()) || index.agencies_.contains(g.id())) {
        return Invalid("registry", absl::StrCat("group id ", Quote(g.id()),
                                                " is invalid or taken"));
      }
      if (g.name().empty()) {
        return Invalid("registry", absl::StrCat(g.id(), " has no name"));
      }
      if (!groups.emplace(g.id(), &g).second) {
        return Invalid("registry",
                       absl::StrCat("group id ", g.id(), " appears twice"));
      }
      RETURN_IF_ERROR(add_name(g.name(), g.id(), Ref{nullptr, &g}));
      if (g.member_agency_ids().empty()) {
        return Invalid("registry",
                       absl::StrCat("group ", g.id(), " has no members"));
      }
      for (int m = 0; m < g.member_agency_ids_size(); ++m) {
        const std::string& member = g.member_agency_ids(m);
        if (std::find(g.member_agency_ids().begin(),
                      g.member_agency_ids().begin() + m,
                      member) != g.member_agency_ids().begin() + m) {
          return Invalid("registry", absl::StrCat("group ", g.id(), " lists ",
                                                  member, " twice"));
        }
        auto it = index.agencies_.find(member);
        if (it == index.agencies_.end()) {
          return Invalid("registry",
                         absl::StrCat("group ", g.id(),
                                      " lists unknown agency ", Quote(member)));
        }
        const auto& ids = it->second->group_ids();
        if (std::find(ids.begin(), ids.end(), g.id()) == ids.end()) {
          return Invalid("registry",
                         absl::StrCat(member, " is a member of ", g.id(),
                                      " but does not list it in group_ids"));
        }
      }
    }
    for (const Agency& a : registry.agencies()) {
      for (const std::string& gid : a.group_ids()) {
        auto it = groups.find(gid);
        const auto* members =
            it == groups.end() ? nullptr : &it->second->member_agency_ids();
        if (members == nullptr || std::find(members->begin(), members->end(),
                                            a.id()) == members->end()) {
          return Invalid("registry",
                         absl::StrCat(a.id(), " lists group ", Quote(gid),
                                      " which does not list it as a member"));
        }
      }
    }
    return index;
  }

  const Ref* Find(absl::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
  }

  const Agency* AgencyById(absl::string_view id) const {
    auto it = agencies_.find(id);
    return it == agencies_.end() ? nullptr : it->second;
  }

  // A name, else an agency or group id.
  std::optional<Ref> FindNameOrId(absl::string_view name_or_id) const {
    if (const Ref* ref = Find(name_or_id)) return *ref;
    if (const Agency* a = AgencyById(name_or_id)) return Ref{a, nullptr};
    auto it = groups_.find(name_or_id);
    if (it != groups_.end()) return Ref{nullptr, it->second};
    return std::nullopt;
  }

 private:
  absl::flat_hash_map<std::string, Ref> by_name_;
  absl::flat_hash_map<std::string, const Agency*> agencies_;
  absl::flat_hash_map<std::string, const AgencyGroup*> groups_;
};

// The name to show for an agency in messages: the one the text uses.
absl::string_view DisplayName(const Agency& a) {
  return a.short_name().empty() ? a.name() : a.short_name();
}

// ------------------------------------------------------------- the header

struct Header {
  std::string title;
  std::string document_number;
  std::string issuer;
  int start_year = 0;
  int end_year = 0;
};

// A whole line like 青政办〔2021〕83号.
bool IsDocumentNumber(absl::string_view s) {
  const size_t open = s.find("〔");
  if (open == absl::string_view::npos || open == 0) return false;
  const absl::string_view prefix = s.substr(0, open);
  if (prefix.find_first_of(" \t:") != absl::string_view::npos ||
      absl::StrContains(prefix, "：")) {
    return false;
  }
  absl::string_view rest = s.substr(open + absl::string_view("〔").size());
  if (rest.size() < 4 || !AllAsciiDigits(rest.substr(0, 4))) return false;
  rest.remove_prefix(4);
  if (!absl::ConsumePrefix(&rest, "〕") || !absl::ConsumeSuffix(&rest, "号")) {
    return false;
  }
  return AllAsciiDigits(rest);
}

// First and last year of the n-th national five-year plan.
std::pair<int, int> FiveYearPlanPeriod(int n) {
  const int start = n <= 2 ? 1953 + 5 * (n - 1) : 1966 + 5 * (n - 3);
  return {start, start + 4};
}

// The period from the title: the ordinal in “十四五”, else a written range
// such as 2021—2025.
std::optional<std::pair<int, int>> PeriodFromTitle(absl::string_view title) {
  const std::u32string u = ToU32(title);
  for (size_t open = u.find(U'“'); open != std::u32string::npos;
       open = u.find(U'“', open + 1)) {
    const size_t close = u.find(U'”', open + 1);
    if (close == std::u32string::npos) break;
    std::u32string_view inside =
        std::u32string_view(u).substr(open + 1, close - open - 1);
    if (inside.size() >= 2 && inside.back() == U'五') {
      if (auto n = ParseChineseNumber(inside.substr(0, inside.size() - 1))) {
        return FiveYearPlanPeriod(*n);
      }
    }
  }
  for (size_t i = 0; i + 9 <= u.size(); ++i) {
    auto first = DecimalStartingAt(u, i);
    if (!first || first->second != i + 4) continue;
    const char32_t dash = u[i + 4];
    if (dash != U'—' && dash != U'–' && dash != U'-' && dash != U'至') continue;
    auto second = DecimalStartingAt(u, i + 5);
    if (second && second->second == i + 9 && first->first < second->first) {
      return std::make_pair(static_cast<int>(first->first),
                            static_cast<int>(second->first));
    }
  }
  return std::nullopt;
}

// The year of the first whole line like 2021年11月17日, if any.
std::optional<int> IssueYear(const std::vector<absl::string_view>& lines) {
  for (absl::string_view line : lines) {
    absl::string_view t = Trim(line);
    if (t.size() < 4 || !AllAsciiDigits(t.substr(0, 4))) continue;
    absl::string_view rest = t.substr(4);
    if (!absl::ConsumePrefix(&rest, "年") ||
        !absl::ConsumeSuffix(&rest, "日")) {
      continue;
    }
    std::vector<absl::string_view> md = absl::StrSplit(rest, "月");
    if (md.size() == 2 && AllAsciiDigits(md[0]) && AllAsciiDigits(md[1])) {
      int year;
      if (absl::SimpleAtoi(t.substr(0, 4), &year)) return year;
    }
  }
  return std::nullopt;
}

absl::StatusOr<Header> ReadHeader(const std::vector<absl::string_view>& lines,
                                  std::vector<ImportWarning>* warnings) {
  Header h;
  for (size_t i = 0; i < lines.size() && h.title.empty(); ++i) {
    absl::string_view t = Trim(lines[i]);
    const size_t at = t.find("关于印发");
    if (at == absl::string_view::npos || !absl::EndsWith(t, "的通知")) continue;
    absl::string_view title =
        t.substr(at + absl::string_view("关于印发").size());
    absl::ConsumeSuffix(&title, "的通知");
    if (absl::ConsumePrefix(&title, "《")) absl::ConsumeSuffix(&title, "》");
    h.title = std::string(Trim(title));
    absl::string_view issuer = Trim(t.substr(0, at));
    for (size_t j = i; issuer.empty() && j > 0; --j) {
      issuer = Trim(lines[j - 1]);
    }
    h.issuer = std::string(issuer);
  }
  if (h.title.empty()) {
    return Invalid("header",
                   "no title line of the form \"…关于印发<title>的通知\"");
  }
  if (h.issuer.empty()) {
    return Invalid("header", absl::StrCat("no issuer before the title line ",
                                          Quote(h.title)));
  }
  for (absl::string_view line : lines) {
    if (IsDocumentNumber(Trim(line))) {
      h.document_number = std::string(Trim(line));
      break;
    }
  }
  if (h.document_number.empty()) {
    // The portal's metadata line: "发文字号 :青政办〔2021〕83号".
    for (absl::string_view line : lines) {
      const size_t at = line.find("发文字号");
      if (at == absl::string_view::npos) continue;
      absl::string_view rest =
          Trim(line.substr(at + absl::string_view("发文字号").size()));
      if (!absl::ConsumePrefix(&rest, ":")) absl::ConsumePrefix(&rest, "：");
      rest = Trim(rest);
      const size_t end = rest.find("号");
      if (end != absl::string_view::npos &&
          IsDocumentNumber(
              rest.substr(0, end + absl::string_view("号").size()))) {
        h.document_number =
            std::string(rest.substr(0, end + absl::string_view("号").size()));
        break;
      }
    }
  }
  if (h.document_number.empty()) {
    return Invalid("header", "no document number such as 青政办〔2021〕83号");
  }
  auto period = PeriodFromTitle(h.title);
  if (!period) {
    return Invalid("header", absl::StrCat("cannot tell the plan's period from "
                                          "the title ",
                                          Quote(h.title)));
  }
  std::tie(h.start_year, h.end_year) = *period;
  if (auto year = IssueYear(lines);
      year && (*year < h.start_year - 1 || *year > h.end_year)) {
    Warn(warnings, "header",
         absl::StrCat("issued in ", *year, ", outside the period ",
                      h.start_year, "–", h.end_year, " read from the title"));
  }
  return h;
}

// ------------------------------------------------------------ the outline

struct Chapter {
  std::string number;  // 三
  std::string title;   // 促进经济增长推动就业扩容提质
  size_t heading = 0;  // line index of the heading
  size_t end = 0;      // one past its last body line
};

struct Outline {
  size_t appendix = 0;  // line index of the appendix heading
  std::vector<Chapter> chapters;
  std::vector<std::string> labels;  // per line: "二(三)", "三", or ""
};

// "三、促进经济增长推动就业扩容提质" (not a table of contents entry).
bool ReadChapterHeading(absl::string_view line, std::string* number,
                        std::string* title) {
  if (absl::StrContains(line, "…") || absl::StrContains(line, "。")) {
    return false;
  }
  const std::u32string u = ToU32(line);
  size_t n = 0;
  while (n < u.size() && IsChineseNumeral(u[n])) ++n;
  if (n == 0 || n + 1 >= u.size() || u[n] != U'、') return false;
  if (!ParseChineseNumber(std::u32string_view(u).substr(0, n))) return false;
  *number = ToUtf8(std::u32string_view(u).substr(0, n));
  *title = ToUtf8(std::u32string_view(u).substr(n + 1));
  return true;
}

// "(三)主要目标。" → "三".
std::optional<std::string> SubsectionNumber(absl::string_view line) {
  const std::u32string u = ToU32(line);
  if (u.empty() || (u[0] != U'(' && u[0] != U'（')) return std::nullopt;
  size_t n = 1;
  while (n < u.size() && IsChineseNumeral(u[n])) ++n;
  if (n == 1 || n >= u.size() || (u[n] != U')' && u[n] != U'）')) {
    return std::nullopt;
  }
  return ToUtf8(std::u32string_view(u).substr(1, n - 1));
}

absl::StatusOr<Outline> ReadOutline(
    const std::vector<absl::string_view>& lines) {
  Outline o;
  bool found = false;
  for (size_t i = lines.size(); i > 0; --i) {
    absl::string_view t = Trim(lines[i - 1]);
    if (absl::EndsWith(t, kAppendixHeading) && !absl::StrContains(t, "…")) {
      o.appendix = i - 1;
      found = true;
      break;
    }
  }
  if (!found) {
    return Invalid("appendix",
                   absl::StrCat("no appendix heading ", kAppendixHeading,
                                " (the key-task division table) in the text"));
  }
  o.labels.assign(lines.size(), "");
  std::string subsection;
  int last_number = 0;
  for (size_t i = 0; i < o.appendix; ++i) {
    absl::string_view t = Trim(lines[i]);
    std::string number, title;
    if (ReadChapterHeading(t, &number, &title)) {
      const int value = *ParseChineseNumber(ToU32(number));
      if (value <= last_number) {
        return Invalid("chapters", absl::StrCat("heading ", Quote(t),
                                                " comes after chapter ",
                                                o.chapters.back().number));
      }
      last_number = value;
      if (!o.chapters.empty()) o.chapters.back().end = i;
      o.chapters.push_back(Chapter{number, title, i, o.appendix});
      subsection.clear();
    } else if (!o.chapters.empty()) {
      if (absl::StartsWith(t, "附件") && o.chapters.back().end == o.appendix) {
        o.chapters.back().end = i;  // the body's pointer to the appendix
      }
      if (auto sub = SubsectionNumber(t)) subsection = *sub;
    }
    if (!o.chapters.empty() && i < o.chapters.back().end) {
      o.labels[i] = subsection.empty() ? o.chapters.back().number
                                       : absl::StrCat(o.chapters.back().number,
                                                      "(", subsection, ")");
    }
  }
  if (o.chapters.empty()) {
    return Invalid("chapters",
                   "no chapter headings (三、…) before the appendix");
  }
  return o;
}

std::string WhereLine(const Outline& o, size_t line) {
  return o.labels[line].empty() ? absl::StrCat("line ", line + 1)
                                : o.labels[line];
}

// -------------------------------------------------------------- the tasks

struct TaskItem {
  int number = 0;
  std::string body;  // after "12.", continuation lines joined
};

// "12." / "12．" / "12、" at the front of a line: the number and the rest.
std::optional<std::pair<int, absl::string_view>> ItemNumber(
    absl::string_view t) {
  size_t n = 0;
  while (n < t.size() && n < 4 && t[n] >= '0' && t[n] <= '9') ++n;
  if (n == 0) return std::nullopt;
  absl::string_view rest = t.substr(n);
  if (!absl::ConsumePrefix(&rest, ".") && !absl::ConsumePrefix(&rest, "．") &&
      !absl::ConsumePrefix(&rest, "、")) {
    return std::nullopt;
  }
  int number;
  if (!absl::SimpleAtoi(t.substr(0, n), &number)) return std::nullopt;
  return std::make_pair(number, Trim(rest));
}

absl::StatusOr<std::vector<TaskItem>> ReadTaskItems(
    const std::vector<absl::string_view>& lines, size_t appendix) {
  std::vector<TaskItem> items;
  for (size_t i = appendix + 1; i < lines.size(); ++i) {
    absl::string_view t = Trim(lines[i]);
    if (t.empty()) continue;
    auto numbered = ItemNumber(t);
    if (!numbered) {
      if (items.empty()) {
        return Invalid("appendix",
                       absl::StrCat("text before task 1: ", QuoteHead(t)));
      }
      items.back().body += std::string(t);  // a wrapped line
      continue;
    }
    const auto [number, body] = *numbered;
    const int expected = items.empty() ? 1 : items.back().number + 1;
    if (number != expected) {
      const bool seen = std::any_of(
          items.begin(), items.end(),
          [n = number](const TaskItem& item) { return item.number == n; });
      if (seen) {
        return Invalid(absl::StrCat("task ", number),
                       absl::StrCat("number ", number,
                                    " is used twice; the "
                                    "second item reads ",
                                    QuoteHead(t)));
      }
      return Invalid(absl::StrCat("task ", number),
                     absl::StrCat("expected task ", expected, " here, found ",
                                  number, ": ", QuoteHead(t)));
    }
    items.push_back(TaskItem{number, std::string(body)});
  }
  if (items.empty()) {
    return Invalid("appendix", absl::StrCat("no numbered tasks after the "
                                            "heading ",
                                            kAppendixHeading));
  }
  return items;
}

// Splits an item into its text and its trailing parenthesis (with the
// brackets, as written). Full-width brackets count as well as ASCII ones.
absl::Status SplitAssignment(int number, absl::string_view body,
                             absl::string_view* text,
                             absl::string_view* assignment) {
  const std::string where = absl::StrCat("task ", number);
  const std::u32string u = ToU32(body);
  if (u.empty() || (u.back() != U')' && u.back() != U'）')) {
    return Invalid(where, absl::StrCat("no assignment parenthesis at the end "
                                       "of ",
                                       QuoteTail(body)));
  }
  int depth = 0;
  size_t open = std::u32string::npos;
  for (size_t i = u.size(); i > 0; --i) {
    const char32_t c = u[i - 1];
    if (c == U')' || c == U'）') ++depth;
    if (c == U'(' || c == U'（') --depth;
    if (depth == 0) {
      open = i - 1;
      break;
    }
  }
  if (open == std::u32string::npos) {
    return Invalid(where, absl::StrCat("unbalanced parenthesis at the end of ",
                                       QuoteTail(body)));
  }
  const size_t open_byte =
      ToUtf8(std::u32string_view(u).substr(0, open)).size();
  *text = Trim(body.substr(0, open_byte));
  *assignment = body.substr(open_byte);
  if (text->empty()) {
    return Invalid(where, absl::StrCat("no task text before ", *assignment));
  }
  return absl::OkStatus();
}

struct RoleVerb {
  absl::string_view verb;
  Role role;
};
// Longest first: 牵头负责 before 牵头.
constexpr RoleVerb kRoleVerbs[] = {
    {"按职责分工负责", duban::v1::SHARED},
    {"牵头负责", duban::v1::LEAD},
    {"牵头", duban::v1::LEAD},
    {"配合", duban::v1::SUPPORT},
};

// Reads "(A、B牵头，C、D，E等按职责分工负责，各市州政府配合)" into `task`:
// clauses split on "，"; each clause is a "、"-list of names, optionally
// ending in 等, then a role verb; a clause without a verb takes the role of
// the next clause that has one.
absl::Status ReadAssignment(const RegistryIndex& index, int number,
                            absl::string_view assignment, Task* task) {
  auto fail = [&](absl::string_view what) {
    return Invalid(absl::StrCat("task ", number),
                   absl::StrCat(what, " in ", assignment));
  };
  const std::u32string u = ToU32(assignment);
  const std::string inner =
      ToUtf8(std::u32string_view(u).substr(1, u.size() - 2));
  const std::vector<absl::string_view> clauses = absl::StrSplit(inner, "，");
  std::vector<absl::string_view> waiting;  // lists that have no verb yet
  bool waiting_open = false;
  absl::flat_hash_map<std::string, std::string> named;  // agency id → as named
  auto add = [&](const Agency& agency, Role role, const AgencyGroup* via,
                 absl::string_view as_named) -> absl::Status {
    const std::string how =
        via == nullptr
            ? Quote(as_named)
            : absl::StrCat(Quote(as_named), " (", DisplayName(agency), ")");
    auto [it, inserted] = named.emplace(agency.id(), how);
    if (!inserted) {
      return fail(absl::StrCat("agency ", DisplayName(agency),
                               " is named twice, as ", it->second, " and as ",
                               how));
    }
    Responsibility* r = task->add_responsibilities();
    r->set_agency_id(agency.id());
    r->set_role(role);
    if (via != nullptr) r->set_via_group_id(via->id());
    r->set_reason(kReason);
    return absl::OkStatus();
  };
  for (size_t k = 0; k < clauses.size(); ++k) {
    absl::string_view clause = Trim(clauses[k]);
    if (clause.empty()) return fail("empty clause");
    std::optional<RoleVerb> verb;
    for (const RoleVerb& v : kRoleVerbs) {
      if (absl::ConsumeSuffix(&clause, v.verb)) {
        verb = v;
        break;
      }
    }
    absl::string_view list = Trim(clause);
    const bool open = absl::ConsumeSuffix(&list, "等");
    list = Trim(list);
    if (!verb) {
      if (k + 1 == clauses.size()) {
        return fail(
            absl::StrCat("no role verb (牵头负责, 牵头, 按职责分工负责 "
                         "or 配合) after ",
                         Quote(Trim(clauses[k]))));
      }
      if (list.empty()) return fail("empty clause");
      waiting.push_back(list);
      waiting_open = waiting_open || open;
      continue;
    }
    if (!list.empty()) waiting.push_back(list);
    if (waiting.empty()) {
      return fail(absl::StrCat("no agency before ", verb->verb));
    }
    for (absl::string_view names : waiting) {
      for (absl::string_view raw : absl::StrSplit(names, "、")) {
        absl::string_view name = Trim(raw);
        if (name.empty()) return fail("empty agency name");
        const RegistryIndex::Ref* ref = index.Find(name);
        if (ref == nullptr) {
          return fail(absl::StrCat("unknown agency ", Quote(name)));
        }
        if (ref->agency != nullptr) {
          RETURN_IF_ERROR(add(*ref->agency, verb->role, nullptr, name));
          continue;
        }
        for (const std::string& member : ref->group->member_agency_ids()) {
          RETURN_IF_ERROR(
              add(*index.AgencyById(member), verb->role, ref->group, name));
        }
      }
    }
    if (open || waiting_open) {
      const auto& roles = task->open_list_roles();
      if (std::find(roles.begin(), roles.end(), verb->role) == roles.end()) {
        task->add_open_list_roles(verb->role);
      }
    }
    waiting.clear();
    waiting_open = false;
  }
  for (Role role : {duban::v1::LEAD, duban::v1::SHARED}) {
    for (const Responsibility& r : task->responsibilities()) {
      if (r.role() == role) {
        task->set_convener_agency_id(r.agency_id());
        return absl::OkStatus();
      }
    }
  }
  return fail("no agency leads or shares the task");
}

// -------------------------------------------------- chapters for the tasks

// Character bigrams over Han characters and ASCII letters and digits.
std::unordered_set<uint64_t> Bigrams(absl::string_view text) {
  std::u32string chars;
  for (char32_t c : ToU32(text)) {
    const bool han =
        (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                       (c >= 'A' && c <= 'Z');
    if (han || alnum) chars.push_back(c);
  }
  std::unordered_set<uint64_t> grams;
  for (size_t i = 0; i + 1 < chars.size(); ++i) {
    grams.insert((static_cast<uint64_t>(chars[i]) << 32) | chars[i + 1]);
  }
  return grams;
}

// score[t][c]: the share of task t's bigrams found in chapter c's body.
// Returns, for each task, the chapter that maximises the total score with
// chapters never decreasing along the task list.
std::vector<size_t> AssignChapters(
    const std::vector<std::vector<double>>& score) {
  const size_t tasks = score.size();
  if (tasks == 0) return {};
  const size_t chapters = score[0].size();
  std::vector<std::vector<double>> best(tasks, std::vector<double>(chapters));
  std::vector<std::vector<size_t>> from(tasks, std::vector<size_t>(chapters));
  for (size_t c = 0; c < chapters; ++c) best[0][c] = score[0][c];
  for (size_t t = 1; t < tasks; ++t) {
    size_t arg = 0;  // argmax of best[t-1][0..c]
    for (size_t c = 0; c < chapters; ++c) {
      if (best[t - 1][c] > best[t - 1][arg]) arg = c;
      best[t][c] = best[t - 1][arg] + score[t][c];
      from[t][c] = arg;
    }
  }
  std::vector<size_t> chosen(tasks);
  chosen[tasks - 1] = static_cast<size_t>(
      std::max_element(best[tasks - 1].begin(), best[tasks - 1].end()) -
      best[tasks - 1].begin());
  for (size_t t = tasks - 1; t > 0; --t) chosen[t - 1] = from[t][chosen[t]];
  return chosen;
}

void AssignSections(const std::vector<absl::string_view>& lines,
                    const Outline& outline, PlanDocument* doc,
                    std::vector<ImportWarning>* warnings) {
  std::vector<std::unordered_set<uint64_t>> chapter_grams;
  for (const Chapter& ch : outline.chapters) {
    std::string body;
    for (size_t i = ch.heading + 1; i < ch.end; ++i) {
      absl::StrAppend(&body, lines[i], "\n");
    }
    chapter_grams.push_back(Bigrams(body));
  }
  std::vector<std::vector<double>> score;
  for (const Task& task : doc->tasks()) {
    const auto grams = Bigrams(task.text());
    std::vector<double>& row = score.emplace_back();
    for (const auto& chapter : chapter_grams) {
      size_t shared = 0;
      for (uint64_t g : grams) shared += chapter.count(g);
      row.push_back(grams.empty() ? 0.0
                                  : static_cast<double>(shared) / grams.size());
    }
  }
  const std::vector<size_t> chosen = AssignChapters(score);
  std::vector<bool> used(outline.chapters.size(), false);
  for (int t = 0; t < doc->tasks_size(); ++t) {
    const Chapter& ch = outline.chapters[chosen[t]];
    Section* section = doc->mutable_tasks(t)->mutable_section();
    section->set_number(ch.number);
    section->set_title(ch.title);
    used[chosen[t]] = true;
    const auto& row = score[t];
    const size_t argmax = static_cast<size_t>(
        std::max_element(row.begin(), row.end()) - row.begin());
    if (row[argmax] > row[chosen[t]]) {
      Warn(warnings, absl::StrCat("task ", doc->tasks(t).number()),
           absl::StrCat(
               "its text matches chapter ", outline.chapters[argmax].number,
               " best (", static_cast<int>(std::lround(row[argmax] * 100)),
               "% of its bigrams) but it is placed in chapter ", ch.number,
               " (", static_cast<int>(std::lround(row[chosen[t]] * 100)),
               "%) to keep the appendix in chapter order"));
    }
  }
  for (size_t c = 0; c < outline.chapters.size(); ++c) {
    if (!used[c]) continue;
    Section* section = doc->add_sections();
    section->set_number(outline.chapters[c].number);
    section->set_title(outline.chapters[c].title);
  }
}

// --------------------------------------------------------------- the tables

struct TableRow {
  int number = 0;
  std::vector<std::string> cells;  // the row number first
};

struct Table {
  std::string label;  // 专栏2
  std::vector<std::string> header;
  std::vector<TableRow> rows;
  size_t heading = 0;  // line of "专栏2…"
  size_t end = 0;      // one past the table's last line (its note included)

  std::string Where(int row) const { return absl::StrCat(label, " row ", row); }

  // Index of the header column `name`, or -1.
  int Column(absl::string_view name) const {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  }
};

std::vector<std::string> Cells(absl::string_view line) {
  std::vector<std::string> cells;
  for (absl::string_view cell : absl::StrSplit(line, '\t')) {
    cell = Trim(cell);
    if (!cell.empty()) cells.emplace_back(cell);
  }
  return cells;
}

// "专栏2“十四五”时期就业主要指标" → "专栏2".
std::optional<std::string> BoxLabel(absl::string_view t) {
  absl::string_view rest = t;
  if (!absl::ConsumePrefix(&rest, "专栏")) return std::nullopt;
  size_t n = 0;
  while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
  if (n == 0) return std::nullopt;
  return absl::StrCat("专栏", rest.substr(0, n));
}

// Reads the rows of a table whose header is at lines[header]. A row is read
// as its cells across lines: the table as published splits some rows (a row
// number alone on its line, a name cell on lines of its own); each such
// repair is a warning.
absl::StatusOr<Table> ReadTable(const std::vector<absl::string_view>& lines,
                                size_t heading, size_t header, size_t limit,
                                std::string label,
                                std::vector<ImportWarning>* warnings) {
  Table table;
  table.label = std::move(label);
  table.heading = heading;
  table.header = Cells(lines[header]);
  const size_t columns = table.header.size();
  TableRow row;
  size_t row_first = 0, row_last = 0, row_lines = 0;  // non-blank lines
  bool number_alone = false;
  size_t i = header + 1;
  for (; i < limit; ++i) {
    absl::string_view t = Trim(lines[i]);
    if (absl::StartsWith(t, "注")) {
      ++i;  // the note belongs to the table
      break;
    }
    if (t.empty()) continue;
    std::vector<std::string> cells = Cells(t);
    const int expected = static_cast<int>(table.rows.size()) + 1;
    if (row.cells.empty()) {
      if (!AllAsciiDigits(cells[0])) break;  // past the table
      if (!absl::SimpleAtoi(cells[0], &row.number) || row.number != expected) {
        return Invalid(table.Where(expected),
                       absl::StrCat("expected row number ", expected,
                                    ", found ", QuoteHead(t)));
      }
      row_first = i;
      row_lines = 0;
      number_alone = cells.size() == 1;
    }
    row.cells.insert(row.cells.end(), cells.begin(), cells.end());
    row_last = i;
    ++row_lines;
    if (row.cells.size() > columns) {
      return Invalid(
          table.Where(row.number),
          absl::StrCat("expected ", columns, " cells, found ", row.cells.size(),
                       ": ", Quote(absl::StrJoin(row.cells, " | "))));
    }
    if (row.cells.size() == columns) {
      if (row_lines > 1) {
        Warn(warnings, table.Where(row.number),
             absl::StrCat(
                 "row split over lines ", row_first + 1, "–", row_last + 1,
                 number_alone ? " (its number alone on the first)" : "",
                 "; joined and read as ",
                 Quote(absl::StrJoin(row.cells, " | "))));
      }
      table.rows.push_back(std::move(row));
      row = TableRow();
    }
  }
  if (!row.cells.empty()) {
    return Invalid(
        table.Where(row.number),
        absl::StrCat("incomplete row (", row.cells.size(), " of ", columns,
                     " cells): ", Quote(absl::StrJoin(row.cells, " | "))));
  }
  if (table.rows.empty()) {
    return Invalid(table.label, "table has no rows");
  }
  table.end = i;
  return table;
}

absl::StatusOr<std::vector<Table>> ReadTables(
    const std::vector<absl::string_view>& lines, size_t limit,
    std::vector<ImportWarning>* warnings) {
  std::vector<Table> tables;
  for (size_t i = 0; i < limit; ++i) {
    auto label = BoxLabel(Trim(lines[i]));
    if (!label) continue;
    size_t h = i + 1;
    while (h < limit && Trim(lines[h]).empty()) ++h;
    if (h == limit || !absl::StartsWith(Trim(lines[h]), "序号")) continue;
    ASSIGN_OR_RETURN(Table table,
                     ReadTable(lines, i, h, limit, *label, warnings));
    i = table.end - 1;
    tables.push_back(std::move(table));
  }
  return tables;
}

// A name cell that runs on into the row's later cells, as 专栏2 row 5's
// "城镇就业占比%65左右预期性" does, is cut back to the name.
std::string NameCell(const Table& table, const TableRow& row, int name_col,
                     std::vector<ImportWarning>* warnings) {
  const std::string& cell = row.cells[name_col];
  absl::string_view name = cell;
  std::vector<absl::string_view> repeated;
  for (size_t c = row.cells.size(); c > static_cast<size_t>(name_col) + 1;
       --c) {
    absl::string_view later = row.cells[c - 1];
    if (name.size() > later.size() && absl::ConsumeSuffix(&name, later)) {
      repeated.push_back(table.header[c - 1]);
    }
  }
  if (repeated.empty()) return cell;
  std::reverse(repeated.begin(), repeated.end());
  Warn(warnings, table.Where(row.number),
       absl::StrCat("the ", table.header[name_col], " cell ", Quote(cell),
                    " repeats the ", absl::StrJoin(repeated, ", "),
                    " cells after the name; repaired to ", Quote(name)));
  return std::string(name);
}

struct Target {
  TargetKind kind;
  double value;
};

// 〔30〕, 42, >10.5, 65左右, 控制在5.5%左右, 稳步提高 (and <3.5 in results).
std::optional<Target> ReadTarget(absl::string_view s) {
  s = Trim(s);
  for (absl::string_view word :
       {"稳步提高", "逐步提高", "持续提高", "不断提高", "稳步提升"}) {
    if (s == word) return Target{duban::v1::INCREASING, 0};
  }
  TargetKind kind = duban::v1::LEVEL;
  if (absl::ConsumePrefix(&s, "〔")) {
    if (!absl::ConsumeSuffix(&s, "〕")) return std::nullopt;
    kind = duban::v1::CUMULATIVE;
  } else if (absl::ConsumePrefix(&s, "控制在")) {
    if (!absl::ConsumeSuffix(&s, "左右") && !absl::ConsumeSuffix(&s, "以内") &&
        !absl::ConsumeSuffix(&s, "以下")) {
      return std::nullopt;
    }
    kind = duban::v1::CEILING;
  } else if (absl::ConsumePrefix(&s, ">") || absl::ConsumePrefix(&s, "＞") ||
             absl::ConsumePrefix(&s, "≥")) {
    kind = duban::v1::FLOOR;
  } else if (absl::ConsumePrefix(&s, "<") || absl::ConsumePrefix(&s, "＜") ||
             absl::ConsumePrefix(&s, "≤")) {
    kind = duban::v1::CEILING;
  } else if (absl::ConsumeSuffix(&s, "左右")) {
    kind = duban::v1::AROUND;
  } else if (absl::ConsumeSuffix(&s, "以上")) {
    kind = duban::v1::FLOOR;
  } else if (absl::ConsumeSuffix(&s, "以内") ||
             absl::ConsumeSuffix(&s, "以下")) {
    kind = duban::v1::CEILING;
  }
  absl::ConsumeSuffix(&s, "%");
  auto value = ParseDecimal(Trim(s));
  if (!value) return std::nullopt;
  return Target{kind, *value};
}

std::optional<IndicatorAttribute> ReadAttribute(absl::string_view s) {
  if (s == "预期性") return duban::v1::EXPECTED;
  if (s == "约束性") return duban::v1::BINDING;
  return std::nullopt;
}

// The columns a table must have to be read as `kind`, or an error naming the
// first one missing.
absl::StatusOr<std::vector<int>> RequireColumns(
    const Table& table, std::initializer_list<absl::string_view> names) {
  std::vector<int> cols;
  for (absl::string_view name : names) {
    const int c = table.Column(name);
    if (c < 0) {
      return Invalid(
          table.label,
          absl::StrCat("header ", Quote(absl::StrJoin(table.header, " | ")),
                       " has no ", name, " column"));
    }
    cols.push_back(c);
  }
  return cols;
}

absl::StatusOr<std::vector<Indicator>> ReadIndicators(
    const Table& table, absl::string_view plan_id,
    std::vector<ImportWarning>* warnings) {
  ASSIGN_OR_RETURN(std::vector<int> col,
                   RequireColumns(table, {"指标", "单位", "规划目标", "属性"}));
  std::vector<Indicator> out;
  for (const TableRow& row : table.rows) {
    const std::string where = table.Where(row.number);
    const std::string all = Quote(absl::StrJoin(row.cells, " | "));
    Indicator ind;
    ind.set_plan_id(std::string(plan_id));
    ind.set_number(row.number);
    ind.set_name(NameCell(table, row, col[0], warnings));
    ind.set_unit(row.cells[col[1]]);
    const std::string& target_text = row.cells[col[2]];
    auto target = ReadTarget(target_text);
    if (!target) {
      return Invalid(where, absl::StrCat("cannot read the target ",
                                         Quote(target_text), " in ", all));
    }
    ind.set_target_kind(target->kind);
    ind.set_target_value(target->value);
    ind.set_target_text(target_text);
    auto attribute = ReadAttribute(row.cells[col[3]]);
    if (!attribute) {
      return Invalid(where,
                     absl::StrCat("attribute ", Quote(row.cells[col[3]]),
                                  " is neither 预期性 nor 约束性 in ", all));
    }
    ind.set_attribute(*attribute);
    out.push_back(std::move(ind));
  }
  return out;
}

struct BaselineRow {
  std::string unit;
  Baseline baseline;
};

absl::StatusOr<absl::flat_hash_map<std::string, BaselineRow>> ReadBaselines(
    const Table& table, int year, std::vector<ImportWarning>* warnings) {
  ASSIGN_OR_RETURN(std::vector<int> col,
                   RequireColumns(table, {"指标", "单位", "完成情况"}));
  absl::flat_hash_map<std::string, BaselineRow> out;
  for (const TableRow& row : table.rows) {
    const std::string& text = row.cells[col[2]];
    auto value = ReadTarget(text);
    if (!value || value->kind == duban::v1::INCREASING) {
      return Invalid(
          table.Where(row.number),
          absl::StrCat("cannot read the result ", Quote(text), " in ",
                       Quote(absl::StrJoin(row.cells, " | "))));
    }
    BaselineRow b;
    b.unit = row.cells[col[1]];
    b.baseline.set_year(year);
    b.baseline.set_value(value->value);
    b.baseline.set_kind(value->kind);
    b.baseline.set_text(text);
    out[NameCell(table, row, col[0], warnings)] = std::move(b);
  }
  return out;
}

// ------------------------------------------------------------ cross-checks

bool IsClauseBreak(char32_t c) {
  return c == U'，' || c == U'。' || c == U'；' || c == U'、' || c == U',' ||
         c == U';' || c == U':' || c == U'：' || c == U'(' || c == U'（' ||
         c == U'“' || c == U'”';
}

// A character no reader can see: private use (a glyph the publishing system
// could not map), U+FFFD, or a control character.
bool IsUnreadable(char32_t c) {
  return (c >= 0xE000 && c <= 0xF8FF) || c == 0xFFFD || (c < 0x20 && c != '\t');
}

// `u` with unreadable characters shown as <U+E010>.
std::string Visible(std::u32string_view u) {
  std::string out;
  for (size_t i = 0; i < u.size(); ++i) {
    if (IsUnreadable(u[i])) {
      char code[16];
      std::snprintf(code, sizeof code, "<U+%04X>", static_cast<unsigned>(u[i]));
      out += code;
    } else {
      out += ToUtf8(u.substr(i, 1));
    }
  }
  return out;
}

// A figure in running text that ends just before u[end]. An unreadable
// character between its digits is read past, as a reader sees it ("18<U+E010>5"
// reads 185); `as_point` is the value had it been a decimal point.
struct TextFigure {
  double value = 0;
  size_t start = 0;
  std::optional<double> as_point;
};

std::optional<TextFigure> FigureEndingAt(std::u32string_view u, size_t end) {
  if (end == 0 || !IsDecimalChar(u[end - 1])) return std::nullopt;
  size_t start = end;
  while (start > 0 &&
         (IsDecimalChar(u[start - 1]) || IsUnreadable(u[start - 1]))) {
    --start;
  }
  while (IsUnreadable(u[start])) ++start;
  std::u32string seen, pointed;
  bool garbled = false;
  for (char32_t c : u.substr(start, end - start)) {
    if (IsUnreadable(c)) {
      garbled = true;
      pointed.push_back(U'.');
    } else {
      seen.push_back(c);
      pointed.push_back(c);
    }
  }
  auto value = ParseDecimal(ToUtf8(seen));
  if (!value) return std::nullopt;
  TextFigure f{*value, start, std::nullopt};
  if (garbled) f.as_point = ParseDecimal(ToUtf8(pointed));
  return f;
}

bool SameFigure(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b));
}

// Every unreadable character in the text, with its context.
void CheckUnreadable(const std::vector<absl::string_view>& lines,
                     const Outline& outline,
                     std::vector<ImportWarning>* warnings) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::u32string u = ToU32(lines[i]);
    for (size_t at = 0; at < u.size(); ++at) {
      if (!IsUnreadable(u[at])) continue;
      const size_t from = at < 12 ? 0 : at - 12;
      const size_t to = std::min(u.size(), at + 13);
      Warn(warnings, WhereLine(outline, i),
           absl::StrCat("unreadable character ",
                        Visible(std::u32string_view(u).substr(at, 1)),
                        " on line ", i + 1, ": \"", from > 0 ? "…" : "",
                        Visible(std::u32string_view(u).substr(from, to - from)),
                        to < u.size() ? "…" : "", "\""));
    }
  }
}

// "…总量达到42万人，其中:初级工185万人、中级工12.5万人…": the parts after
// 其中 must add up to the total before it.
void CheckBreakdowns(const std::vector<absl::string_view>& lines,
                     const Outline& outline,
                     std::vector<ImportWarning>* warnings) {
  for (size_t i = 0; i < outline.appendix; ++i) {
    const std::u32string u = ToU32(lines[i]);
    const std::u32string_view v = u;
    for (size_t at = v.find(U"，其中"); at != std::u32string_view::npos;
         at = v.find(U"，其中", at + 1)) {
      // Backwards: <subject>达到<total><unit>，
      size_t unit_start = at;
      while (unit_start > 0 && at - unit_start < 4 &&
             !IsDecimalChar(v[unit_start - 1]) &&
             !IsClauseBreak(v[unit_start - 1])) {
        --unit_start;
      }
      const std::u32string_view unit = v.substr(unit_start, at - unit_start);
      auto total = FigureEndingAt(v, unit_start);
      if (unit.empty() || !total || total->start < 2 ||
          v.substr(total->start - 2, 2) != U"达到") {
        continue;
      }
      size_t subject = total->start - 2;
      while (subject > 0 && !IsClauseBreak(v[subject - 1])) --subject;
      // Forwards: [:]<name><figure><unit>、…  up to the end of the clause.
      size_t p = at + 3;
      if (p < v.size() && (v[p] == U':' || v[p] == U'：')) ++p;
      size_t end = p;
      while (end < v.size() && v[end] != U'，' && v[end] != U'。' &&
             v[end] != U'；') {
        ++end;
      }
      double sum = 0, sum_as_point = 0;
      std::vector<std::string> parts, garbled;
      bool readable = end > p;
      for (size_t s = p; readable && s < end;) {
        size_t e = v.find(U'、', s);
        if (e == std::u32string_view::npos || e > end) e = end;
        const std::u32string_view part = v.substr(s, e - s);
        const size_t figure_end = part.size() - unit.size();
        auto figure =
            part.size() > unit.size() && part.substr(figure_end) == unit
                ? FigureEndingAt(part, figure_end)
                : std::nullopt;
        if (!figure || figure->start == 0) {
          readable = false;
          break;
        }
        sum += figure->value;
        sum_as_point += figure->as_point.value_or(figure->value);
        parts.push_back(absl::StrCat(ToUtf8(part.substr(0, figure->start)),
                                     Figure(figure->value)));
        if (figure->as_point) {
          garbled.push_back(absl::StrCat(Quote(Visible(part)), " (read as ",
                                         Figure(figure->value), ")"));
        }
        s = e + 1;
      }
      if (!readable || parts.size() < 2 || SameFigure(sum, total->value)) {
        continue;
      }
      const std::string unit8 = ToUtf8(unit);
      std::string message =
          absl::StrCat(Quote(Visible(v.substr(subject, at - subject))),
                       ", but the parts listed after 其中 (",
                       absl::StrJoin(parts, " + "), ") add up to ", Figure(sum),
                       unit8, ", not ", Figure(total->value), unit8);
      if (!garbled.empty()) {
        absl::StrAppend(
            &message, "; ", absl::StrJoin(garbled, ", "),
            garbled.size() == 1 ? " has" : " have",
            " an unreadable character between digits: read as a "
            "decimal point the parts add up to ",
            Figure(sum_as_point), unit8,
            SameFigure(sum_as_point, total->value) ? ", the stated total" : "");
      }
      Warn(warnings, WhereLine(outline, i), std::move(message));
    }
  }
}

// Where the text around the indicator table states a figure for an
// indicator ("城镇新增就业30万人", "城镇调查失业率控制在5.5%左右"), it must
// agree with the table's target.
void CheckStatedTargets(const std::vector<absl::string_view>& lines,
                        const Outline& outline, const Table& table,
                        const std::vector<Table>& all_tables,
                        const std::vector<Indicator>& indicators,
                        std::vector<ImportWarning>* warnings) {
  const std::string& label = outline.labels[table.heading];
  if (label.empty()) return;
  auto in_a_table = [&](size_t line) {
    return std::any_of(
        all_tables.begin(), all_tables.end(),
        [line](const Table& t) { return line >= t.heading && line < t.end; });
  };
  for (const Indicator& ind : indicators) {
    if (ind.target_kind() == duban::v1::INCREASING) continue;
    const std::u32string name = ToU32(ind.name());
    for (size_t i = 0; i < outline.appendix; ++i) {
      if (outline.labels[i] != label || in_a_table(i)) continue;
      const std::u32string u = ToU32(lines[i]);
      for (size_t at = u.find(name); at != std::u32string::npos;
           at = u.find(name, at + 1)) {
        size_t p = at + name.size();
        const size_t limit = std::min(u.size(), p + 6);
        while (p < limit && !IsDecimalChar(u[p]) && !IsClauseBreak(u[p]) &&
               !IsSpace(u[p])) {
          ++p;
        }
        auto stated = DecimalStartingAt(u, p);
        if (!stated || stated->first == ind.target_value()) continue;
        size_t end = stated->second;
        while (end < u.size() && !IsClauseBreak(u[end])) ++end;
        Warn(warnings, absl::StrCat(table.label, " row ", ind.number()),
             absl::StrCat(
                 ind.name(), ": the table's target ", Quote(ind.target_text()),
                 " disagrees with ", label, ", which states ",
                 Quote(ToUtf8(std::u32string_view(u).substr(at, end - at)))));
      }
    }
  }
}

// The agency as the document lists it: member only of the groups the document
// has (a group no task uses is not in the document, so neither is membership).
Agency InDocumentGroups(const Agency& a, const PlanDocument& doc) {
  Agency out = a;
  out.clear_group_ids();
  for (const std::string& g : a.group_ids()) {
    for (const AgencyGroup& dg : doc.groups()) {
      if (dg.id() == g) out.add_group_ids(g);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<ParsedPlan> ParsePlanText(std::string_view source,
                                         const AgencyRegistry& registry,
                                         std::string_view plan_id_view) {
  // Debian's Abseil has its own string_view type; everything below uses it.
  const absl::string_view text(source.data(), source.size());
  const absl::string_view plan_id(plan_id_view.data(), plan_id_view.size());
  if (!IsValidId(plan_id)) {
    return Invalid("plan_id", absl::StrCat(Quote(plan_id),
                                           " is not ^[a-z][a-z0-9-]{1,62}$"));
  }
  if (auto bad = FirstInvalidUtf8(text)) {
    return Invalid(
        "source",
        absl::StrCat("not valid UTF-8 at byte ", *bad, " (line ",
                     std::count(text.begin(), text.begin() + *bad, '\n') + 1,
                     ")"));
  }
  if (Trim(text).empty()) return Invalid("source", "the text is empty");
  ASSIGN_OR_RETURN(RegistryIndex index, RegistryIndex::Build(registry));

  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (absl::string_view& line : lines) absl::ConsumeSuffix(&line, "\r");

  ParsedPlan parsed;
  std::vector<ImportWarning>* warnings = &parsed.warnings;
  PlanDocument& doc = parsed.document;
  ASSIGN_OR_RETURN(Header header, ReadHeader(lines, warnings));
  ASSIGN_OR_RETURN(Outline outline, ReadOutline(lines));
  doc.set_plan_id(std::string(plan_id));
  doc.set_title(header.title);
  doc.set_document_number(header.document_number);
  doc.set_issuer(header.issuer);
  doc.set_start_year(header.start_year);
  doc.set_end_year(header.end_year);
  doc.set_source_sha256(storage::ToHex(storage::Sha256(source)));

  // The tables precede the appendix, so their warnings come first.
  ASSIGN_OR_RETURN(std::vector<Table> tables,
                   ReadTables(lines, outline.appendix, warnings));
  const Table* indicator_table = nullptr;
  const Table* result_table = nullptr;
  for (const Table& table : tables) {
    const Table** slot = table.Column("属性") >= 0       ? &indicator_table
                         : table.Column("完成情况") >= 0 ? &result_table
                                                         : nullptr;
    if (slot == nullptr) {
      return Invalid(table.label,
                     absl::StrCat("unknown table shape: header ",
                                  Quote(absl::StrJoin(table.header, " | ")),
                                  " has neither 属性 nor 完成情况"));
    }
    if (*slot != nullptr) {
      return Invalid(table.label,
                     absl::StrCat("a second table like ", (*slot)->label));
    }
    *slot = &table;
  }
  std::vector<Indicator> indicators;
  if (indicator_table != nullptr) {
    ASSIGN_OR_RETURN(indicators,
                     ReadIndicators(*indicator_table, plan_id, warnings));
  }
  absl::flat_hash_map<std::string, BaselineRow> baselines;
  if (result_table != nullptr) {
    // The previous period's results are the baselines: its last year.
    ASSIGN_OR_RETURN(baselines, ReadBaselines(*result_table,
                                              header.start_year - 1, warnings));
  }
  for (Indicator& ind : indicators) {
    auto it = baselines.find(ind.name());
    if (it == baselines.end()) continue;
    if (it->second.unit != ind.unit()) {
      Warn(warnings, indicator_table->Where(ind.number()),
           absl::StrCat(ind.name(), " is in ", result_table->label, " in ",
                        it->second.unit, ", not ", ind.unit(),
                        "; no baseline taken"));
      continue;
    }
    *ind.mutable_baseline() = it->second.baseline;
  }

  ASSIGN_OR_RETURN(std::vector<TaskItem> items,
                   ReadTaskItems(lines, outline.appendix));
  for (const TaskItem& item : items) {
    absl::string_view task_text, assignment;
    RETURN_IF_ERROR(
        SplitAssignment(item.number, item.body, &task_text, &assignment));
    Task* task = doc.add_tasks();
    task->set_plan_id(std::string(plan_id));
    task->set_number(item.number);
    task->set_text(std::string(task_text));
    task->set_assignment_text(std::string(assignment));
    RETURN_IF_ERROR(ReadAssignment(index, item.number, assignment, task));
  }
  AssignSections(lines, outline, &doc, warnings);

  CheckUnreadable(lines, outline, warnings);
  CheckBreakdowns(lines, outline, warnings);
  if (indicator_table != nullptr) {
    CheckStatedTargets(lines, outline, *indicator_table, tables, indicators,
                       warnings);
  }
  for (Indicator& ind : indicators) *doc.add_indicators() = std::move(ind);

  // The agencies and groups the tasks name, in the registry's order.
  std::unordered_set<std::string> agencies_used, groups_used;
  for (const Task& task : doc.tasks()) {
    for (const Responsibility& r : task.responsibilities()) {
      agencies_used.insert(r.agency_id());
      if (!r.via_group_id().empty()) groups_used.insert(r.via_group_id());
    }
  }
  for (const AgencyGroup& g : registry.groups()) {
    if (groups_used.count(g.id())) *doc.add_groups() = g;
  }
  for (const Agency& a : registry.agencies()) {
    if (agencies_used.count(a.id())) *doc.add_agencies() = InDocumentGroups(a, doc);
  }
  return parsed;
}

// The links' names go through the same RegistryIndex as the parentheses'
// (FindNameOrId: a name first, then an id).
absl::Status ApplyIndicatorAgencies(const duban::v1::IndicatorAgencies& links,
                                    const AgencyRegistry& registry,
                                    PlanDocument* doc,
                                    std::vector<ImportWarning>* warnings) {
  ASSIGN_OR_RETURN(RegistryIndex index, RegistryIndex::Build(registry));
  absl::flat_hash_map<int32_t, int> by_number;  // indicator number → index
  for (int i = 0; i < doc->indicators_size(); ++i) {
    by_number.emplace(doc->indicators(i).number(), i);
  }
  // Everything is checked before `doc` changes.
  struct Answer {
    std::vector<std::string> agency_ids;
    std::string source;
    int link = 0;  // 1-based position in `links`
  };
  std::vector<Answer> answers(doc->indicators_size());
  std::unordered_set<std::string> named;  // every agency id the links name
  for (int k = 0; k < links.links_size(); ++k) {
    const duban::v1::IndicatorAgencyLink& link = links.links(k);
    const std::string where = absl::StrCat("indicator-agencies link ", k + 1);
    auto it = by_number.find(link.indicator_number());
    if (it == by_number.end()) {
      return Invalid(where, absl::StrCat("the document has no indicator ",
                                         link.indicator_number(), " (",
                                         Quote(link.indicator_name()), ")"));
    }
    const Indicator& ind = doc->indicators(it->second);
    if (link.indicator_name() != ind.name()) {
      return Invalid(where, absl::StrCat("indicator ", ind.number(), " is ",
                                         Quote(ind.name()), ", not ",
                                         Quote(link.indicator_name())));
    }
    Answer& answer = answers[it->second];
    if (answer.link != 0) {
      return Invalid(where, absl::StrCat("indicator ", ind.number(), " ",
                                         Quote(ind.name()),
                                         " already has link ", answer.link));
    }
    answer.link = k + 1;
    if (link.agencies().empty()) {
      return Invalid(where, absl::StrCat("no agencies for indicator ",
                                         ind.number(), " ", Quote(ind.name())));
    }
    RETURN_IF_ERROR(CheckText(absl::StrCat(where, ": source"), link.source(),
                              {kMaxReasonBytes}));
    answer.source = link.source();
    for (const std::string& raw : link.agencies()) {
      const absl::string_view name = Trim(raw);
      if (name.empty()) return Invalid(where, "empty agency name");
      const std::optional<RegistryIndex::Ref> ref = index.FindNameOrId(name);
      if (!ref) return Invalid(where, absl::StrCat("unknown agency ", Quote(name)));
      if (ref->group != nullptr) {
        return Invalid(
            where, absl::StrCat(Quote(name), " is a group (", ref->group->id(),
                                "); name the agencies that answer for ",
                                Quote(ind.name()), " one by one"));
      }
      const std::string& id = ref->agency->id();
      if (std::find(answer.agency_ids.begin(), answer.agency_ids.end(), id) !=
          answer.agency_ids.end()) {
        return Invalid(where, absl::StrCat("agency ", DisplayName(*ref->agency),
                                           " is named twice"));
      }
      answer.agency_ids.push_back(id);
      named.insert(id);
    }
  }

  for (int i = 0; i < doc->indicators_size(); ++i) {
    Indicator* ind = doc->mutable_indicators(i);
    Answer& answer = answers[i];
    ind->clear_responsible_agency_ids();
    for (std::string& id : answer.agency_ids) {
      ind->add_responsible_agency_ids(std::move(id));
    }
    ind->set_responsibility_source(std::move(answer.source));
    if (answer.link == 0) {
      Warn(warnings, absl::StrCat("indicator ", ind->number()),
           absl::StrCat(ind->name(),
                        " has no indicator-agencies link: no agency answers "
                        "for it"));
    }
  }

  // The document's agencies and the ones the links add, in registry order;
  // any the registry does not know stay, after them.
  std::unordered_set<std::string> listed;
  for (const Agency& a : doc->agencies()) listed.insert(a.id());
  bool adds = false;
  for (const std::string& id : named) adds = adds || !listed.count(id);
  if (!adds) return absl::OkStatus();
  absl::flat_hash_map<std::string, Agency> kept;
  std::vector<Agency> unknown;
  for (Agency& a : *doc->mutable_agencies()) {
    if (index.AgencyById(a.id()) != nullptr && !kept.contains(a.id())) {
      kept.emplace(a.id(), std::move(a));
    } else {
      unknown.push_back(std::move(a));
    }
  }
  doc->clear_agencies();
  for (const Agency& a : registry.agencies()) {
    auto it = kept.find(a.id());
    if (it != kept.end()) {
      *doc->add_agencies() = std::move(it->second);
    } else if (named.count(a.id())) {
      *doc->add_agencies() = InDocumentGroups(a, *doc);
    }
  }
  for (Agency& a : unknown) *doc->add_agencies() = std::move(a);
  return absl::OkStatus();
}

}  // namespace duban::engine
