// Renderings of duban.v1 messages for dubanctl (see format.h).
#include "clients/dubanctl/format.h"

#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "clients/dubanctl/table.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace duban::clients {
namespace {

constexpr int kTaskListWidth = 100;    // display columns of `tasks list`
constexpr int kTextWidth = 78;         // wrapped task text, after its indent
constexpr int kMatrixLabelWidth = 20;  // agency short names in `matrix`
constexpr int kReportTextWidth = 70;   // wrapped summaries and measures
constexpr int kHistoryWidth = 120;  // display columns of `progress --history`
constexpr char kNone[] = "-";
constexpr char kAgencyPrefix[] = "agency:";

// Debian's Abseil has its own string_view, which StrCat takes.
absl::string_view View(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// Lines "key   value", keys padded to the widest, each line starting with
// `indent`; pairs with an empty value are left out. A value's further lines
// (its own newlines, or its wrapping at `wrap_width` columns when > 0) are
// aligned under its first.
using Fields = std::vector<std::pair<std::string, std::string>>;
std::string FormatFields(const Fields& fields, int wrap_width = 0,
                         std::string_view indent = "") {
  int key_width = 0;
  for (const auto& [key, value] : fields) {
    if (!value.empty()) key_width = std::max(key_width, DisplayWidth(key));
  }
  const std::string continuation =
      absl::StrCat(View(indent), std::string(key_width + 2, ' '));
  std::string out;
  for (const auto& [key, value] : fields) {
    if (value.empty()) continue;
    const std::vector<std::string> lines =
        wrap_width > 0 ? WrapToWidth(value, wrap_width)
                       : std::vector<std::string>(absl::StrSplit(value, '\n'));
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i == 0) {
        absl::StrAppend(&out, View(indent), PadToWidth(key, key_width), "  ",
                        lines[i], "\n");
      } else {
        absl::StrAppend(&out, continuation, lines[i], "\n");
      }
    }
  }
  return out;
}

// Every line of `text` prefixed with `indent`.
std::string Indent(std::string_view text, std::string_view indent) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(View(text), '\n')) {
    if (!line.empty()) absl::StrAppend(&out, View(indent), line);
    out += "\n";
  }
  if (!out.empty()) out.pop_back();  // `text` ended in '\n': one, not two
  return out;
}

constexpr char kSeconds[] = "%Y-%m-%d %H:%M:%S UTC";
constexpr char kMinutes[] = "%Y-%m-%d %H:%M";  // in tables headed "(UTC)"

// "2024-03-01 12:00:00 UTC" (in `format`), or "" for 0.
std::string FormatMicros(int64_t micros, const char* format = kSeconds) {
  if (micros == 0) return "";
  return absl::FormatTime(format, absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

// "n thing" or "n things".
std::string Count(size_t n, std::string_view thing) {
  return absl::StrCat(n, " ", View(thing), n == 1 ? "" : "s");
}

// Short names, comma-separated.
std::string AgencyNames(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    const AgencyDirectory& agencies) {
  std::vector<std::string> names;
  for (const std::string& id : ids) names.push_back(agencies.ShortName(id));
  return absl::StrJoin(names, ", ");
}

// "〔31.2〕 (2020)", or "-" without a baseline.
std::string BaselineText(const v1::Indicator& indicator) {
  if (!indicator.has_baseline()) return kNone;
  const v1::Baseline& b = indicator.baseline();
  return absl::StrCat(b.text().empty() ? FormatNumber(b.value()) : b.text(),
                      " (", b.year(), ")");
}

std::string OrNone(const std::string& value) {
  return value.empty() ? std::string(kNone) : value;
}

std::string SectionLabel(const v1::Section& section) {
  return absl::StrCat(section.number(), " ", section.title());
}

std::string AgencyLabel(const AgencyDirectory& agencies,
                        const std::string& id) {
  const std::string name = agencies.ShortName(id);
  return name == id ? id : absl::StrCat(name, " (", id, ")");
}

std::string RoleNames(const google::protobuf::RepeatedField<int>& roles) {
  std::vector<const char*> names;
  for (int role : roles) names.push_back(RoleName(static_cast<v1::Role>(role)));
  return absl::StrJoin(names, ", ");
}

}  // namespace

const char* RoleLetter(v1::Role role) {
  switch (role) {
    case v1::LEAD:
      return "L";
    case v1::SHARED:
      return "S";
    case v1::SUPPORT:
      return "C";
    default:
      return "?";
  }
}

const char* RoleName(v1::Role role) {
  switch (role) {
    case v1::LEAD:
      return "lead";
    case v1::SHARED:
      return "shared";
    case v1::SUPPORT:
      return "support";
    default:
      return "unspecified";
  }
}

const char* RoleChinese(v1::Role role) {
  switch (role) {
    case v1::LEAD:
      return "牵头";
    case v1::SHARED:
      return "按职责分工负责";
    case v1::SUPPORT:
      return "配合";
    default:
      return "";
  }
}

std::string RoleLabel(v1::Role role) {
  std::string label = RoleName(role);
  if (*RoleChinese(role) != '\0') {
    absl::StrAppend(&label, " ", RoleChinese(role));
  }
  return label;
}

std::optional<v1::Role> ParseRole(std::string_view text) {
  const std::string lower =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(View(text)));
  for (v1::Role role : {v1::LEAD, v1::SHARED, v1::SUPPORT}) {
    if (lower == RoleName(role) || lower == RoleChinese(role)) return role;
  }
  if (lower == "牵头负责") return v1::LEAD;
  return std::nullopt;
}

const char* ProgressStatusName(v1::ProgressStatus status) {
  switch (status) {
    case v1::NOT_STARTED:
      return "not-started";
    case v1::ON_TRACK:
      return "on-track";
    case v1::AT_RISK:
      return "at-risk";
    case v1::BEHIND:
      return "behind";
    case v1::COMPLETED:
      return "completed";
    default:
      return "unspecified";
  }
}

const char* ProgressStatusChinese(v1::ProgressStatus status) {
  switch (status) {
    case v1::NOT_STARTED:
      return "未开始";
    case v1::ON_TRACK:
      return "按计划推进";
    case v1::AT_RISK:
      return "有风险";
    case v1::BEHIND:
      return "滞后";
    case v1::COMPLETED:
      return "已完成";
    default:
      return "";
  }
}

std::string ProgressStatusLabel(v1::ProgressStatus status) {
  std::string label = ProgressStatusName(status);
  if (*ProgressStatusChinese(status) != '\0') {
    absl::StrAppend(&label, " ", ProgressStatusChinese(status));
  }
  return label;
}

std::optional<v1::ProgressStatus> ParseProgressStatus(std::string_view text) {
  std::string word =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(View(text)));
  std::replace(word.begin(), word.end(), '_', '-');
  std::replace(word.begin(), word.end(), ' ', '-');
  for (v1::ProgressStatus status : {v1::NOT_STARTED, v1::ON_TRACK, v1::AT_RISK,
                                    v1::BEHIND, v1::COMPLETED}) {
    if (word == ProgressStatusName(status) ||
        word == ProgressStatusChinese(status)) {
      return status;
    }
  }
  return std::nullopt;
}

const char* ReportKindName(v1::ReportKind kind) {
  switch (kind) {
    case v1::TASK_REPORT:
      return "task report";
    case v1::CONTRIBUTION:
      return "contribution";
    default:
      return "unspecified";
  }
}

const char* JudgementName(v1::Judgement judgement) {
  switch (judgement) {
    case v1::JUDGEMENT_ON_TRACK:
      return "on track";
    case v1::JUDGEMENT_OFF_TRACK:
      return "OFF TRACK";
    case v1::JUDGEMENT_NO_DATA:
      return "no data";
    case v1::JUDGEMENT_NOT_JUDGED:
      return "not judged";
    default:
      return kNone;
  }
}

const char* TargetKindName(v1::TargetKind kind) {
  switch (kind) {
    case v1::CUMULATIVE:
      return "cumulative";
    case v1::LEVEL:
      return "level";
    case v1::FLOOR:
      return "floor";
    case v1::AROUND:
      return "around";
    case v1::CEILING:
      return "ceiling";
    case v1::INCREASING:
      return "increasing";
    default:
      return "unspecified";
  }
}

const char* AttributeName(v1::IndicatorAttribute attribute) {
  switch (attribute) {
    case v1::EXPECTED:
      return "预期性";
    case v1::BINDING:
      return "约束性";
    default:
      return "unspecified";
  }
}

std::string AgencyPrincipal(std::string_view agency_id) {
  return absl::StrCat(kAgencyPrefix, View(agency_id));
}

std::string FormatNumber(double value) {
  std::string text = absl::StrFormat("%.6f", value);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

AgencyDirectory::AgencyDirectory(v1::ListAgenciesResponse response)
    : response_(std::move(response)) {
  for (int i = 0; i < response_.agencies_size(); ++i) {
    agency_index_.emplace(response_.agencies(i).id(), i);
  }
  for (int i = 0; i < response_.groups_size(); ++i) {
    group_index_.emplace(response_.groups(i).id(), i);
  }
}

const v1::Agency* AgencyDirectory::FindAgency(std::string_view id) const {
  auto it = agency_index_.find(id);
  return it == agency_index_.end() ? nullptr : &response_.agencies(it->second);
}

const v1::AgencyGroup* AgencyDirectory::FindGroup(std::string_view id) const {
  auto it = group_index_.find(id);
  return it == group_index_.end() ? nullptr : &response_.groups(it->second);
}

std::string AgencyDirectory::ShortName(std::string_view id) const {
  const v1::Agency* agency = FindAgency(id);
  if (agency == nullptr) return std::string(id);
  if (!agency->short_name().empty()) return agency->short_name();
  return agency->name().empty() ? std::string(id) : agency->name();
}

std::string AgencyDirectory::GroupName(std::string_view id) const {
  const v1::AgencyGroup* group = FindGroup(id);
  return group == nullptr || group->name().empty() ? std::string(id)
                                                   : group->name();
}

const v1::Responsibility* FindResponsibility(const v1::Task& task,
                                             std::string_view agency_id) {
  for (const v1::Responsibility& r : task.responsibilities()) {
    if (r.agency_id() == agency_id) return &r;
  }
  return nullptr;
}

std::string RolesSummary(const v1::Task& task,
                         const AgencyDirectory& agencies) {
  std::vector<std::string> parts;
  for (v1::Role role : {v1::LEAD, v1::SHARED, v1::SUPPORT}) {
    std::vector<std::string> names;
    std::set<std::string> groups_seen;
    for (const v1::Responsibility& r : task.responsibilities()) {
      if (r.role() != role) continue;
      if (r.via_group_id().empty()) {
        names.push_back(agencies.ShortName(r.agency_id()));
      } else if (groups_seen.insert(r.via_group_id()).second) {
        names.push_back(agencies.GroupName(r.via_group_id()));
      }
    }
    if (!names.empty()) {
      parts.push_back(
          absl::StrCat(RoleLetter(role), ":", absl::StrJoin(names, ",")));
    }
  }
  return absl::StrJoin(parts, " ");
}

std::string FormatPlan(const v1::Plan& plan) {
  std::string out = FormatFields({
      {"plan", plan.plan_id()},
      {"title", plan.title()},
      {"document", plan.document_number()},
      {"issuer", plan.issuer()},
      {"period", plan.start_year() == 0
                     ? ""
                     : absl::StrCat(plan.start_year(), "-", plan.end_year())},
      {"tasks", absl::StrCat(plan.task_count())},
      {"indicators", absl::StrCat(plan.indicator_count())},
      {"agencies", absl::StrCat(plan.agency_count())},
      {"source sha256", plan.source_sha256()},
      {"document sha256", plan.document_sha256()},
      {"revision", absl::StrCat(plan.revision())},
  });
  if (plan.sections_size() > 0) {
    absl::StrAppend(&out, "sections\n");
    for (const v1::Section& section : plan.sections()) {
      absl::StrAppend(&out, "  ", SectionLabel(section), "\n");
    }
  }
  return out;
}

std::string FormatImport(const v1::ImportPlanResponse& response, bool dry_run) {
  std::string out;
  if (!response.changed()) {
    out = "no changes\n";
  } else {
    absl::StrAppend(
        &out,
        dry_run ? "would change (dry run, nothing written): " : "changed: ",
        response.changes_size(), " change(s)\n");
  }
  if (response.changes_size() > 0) {
    Table changes({{"kind"}, {"description"}});
    for (const v1::PlanChange& change : response.changes()) {
      changes.AddRow({change.kind(), change.description()});
    }
    absl::StrAppend(&out, "\n", changes.Render(), "\n");
  }
  for (const v1::ImportWarning& warning : response.warnings()) {
    absl::StrAppend(&out, "warning: ", warning.where(), ": ", warning.message(),
                    "\n");
  }
  if (response.first_seq() != 0) {
    absl::StrAppend(&out, "seq ", response.first_seq(), "-",
                    response.last_seq(), "\n");
  } else {
    absl::StrAppend(&out, "seq: nothing written\n");
  }
  if (response.has_plan()) {
    absl::StrAppend(&out, "\n", FormatPlan(response.plan()));
  }
  return out;
}

std::string FormatTaskList(const std::vector<v1::Task>& tasks,
                           const AgencyDirectory& agencies,
                           std::string_view agency_id) {
  const bool with_role = !agency_id.empty();
  std::vector<Column> columns = {
      {"№", Align::kRight}, {"sec"}, {"convener", Align::kLeft, 20}};
  if (with_role) columns.push_back({"role"});
  columns.push_back({"roles", Align::kLeft, 30, /*shrink=*/true});
  columns.push_back({"task", Align::kLeft, 0, /*shrink=*/true});
  Table table(std::move(columns));
  table.SetMaxTotalWidth(kTaskListWidth);
  for (const v1::Task& task : tasks) {
    std::vector<std::string> row = {
        absl::StrCat(task.number()), task.section().number(),
        agencies.ShortName(task.convener_agency_id())};
    if (with_role) {
      const v1::Responsibility* r = FindResponsibility(task, agency_id);
      row.emplace_back(r == nullptr ? kNone : RoleName(r->role()));
    }
    row.push_back(RolesSummary(task, agencies));
    row.push_back(task.text());
    table.AddRow(std::move(row));
  }
  return absl::StrCat(table.Render(), tasks.size(), " task(s)\n");
}

std::string FormatTask(const v1::Task& task, const AgencyDirectory& agencies) {
  std::string out = absl::StrCat("task ", task.number());
  if (task.has_section()) {
    absl::StrAppend(&out, "  section ", SectionLabel(task.section()));
  }
  out += "\n\n";
  for (const std::string& line : WrapToWidth(task.text(), kTextWidth)) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  out += "\n";
  absl::StrAppend(
      &out,
      FormatFields({
          {"as written", OrNone(task.assignment_text())},
          {"convener", task.convener_agency_id().empty()
                           ? std::string(kNone)
                           : AgencyLabel(agencies, task.convener_agency_id())},
          {"open lists", task.open_list_roles_size() == 0
                             ? std::string(kNone)
                             : absl::StrCat(RoleNames(task.open_list_roles()),
                                            " (等: the list is open)")},
          {"revision", absl::StrCat(task.revision())},
      }),
      "\n");

  Table table({{"role"},
               {"agency"},
               {"full name", Align::kLeft, 30},
               {"via group"},
               {"reason", Align::kLeft, 30},
               {"seq", Align::kRight}});
  for (const v1::Responsibility& r : task.responsibilities()) {
    const v1::Agency* agency = agencies.FindAgency(r.agency_id());
    table.AddRow(
        {RoleLabel(r.role()), agencies.ShortName(r.agency_id()),
         agency == nullptr ? std::string(kNone) : OrNone(agency->name()),
         r.via_group_id().empty() ? std::string(kNone)
                                  : agencies.GroupName(r.via_group_id()),
         OrNone(r.reason()), absl::StrCat(r.assigned_seq())});
  }
  absl::StrAppend(&out, table.Render());
  return out;
}

std::string FormatAgencies(const AgencyDirectory& agencies) {
  const v1::ListAgenciesResponse& response = agencies.response();
  Table table(
      {{"id"}, {"short name"}, {"full name", Align::kLeft, 40}, {"groups"}});
  for (const v1::Agency& agency : response.agencies()) {
    std::vector<std::string> groups;
    for (const std::string& id : agency.group_ids()) {
      groups.push_back(agencies.GroupName(id));
    }
    table.AddRow({agency.id(), OrNone(agency.short_name()),
                  OrNone(agency.name()), OrNone(absl::StrJoin(groups, ", "))});
  }
  std::string out =
      absl::StrCat(table.Render(), response.agencies_size(), " agencies\n");
  if (response.groups_size() == 0) return out;

  Table groups({{"group"},
                {"name"},
                {"members", Align::kRight},
                {"member agencies", Align::kLeft, 0, /*shrink=*/true}});
  groups.SetMaxTotalWidth(kTaskListWidth);
  for (const v1::AgencyGroup& group : response.groups()) {
    std::vector<std::string> members;
    for (const std::string& id : group.member_agency_ids()) {
      members.push_back(agencies.ShortName(id));
    }
    groups.AddRow({group.id(), group.name(),
                   absl::StrCat(group.member_agency_ids_size()),
                   absl::StrJoin(members, ",")});
  }
  absl::StrAppend(&out, "\n", groups.Render());
  return out;
}

std::string FormatIndicators(const v1::ListIndicatorsResponse& response) {
  Table table({{"№", Align::kRight},
               {"name", Align::kLeft, 36},
               {"unit"},
               {"target"},
               {"kind"},
               {"attribute"},
               {"baseline"}});
  for (const v1::Indicator& indicator : response.indicators()) {
    table.AddRow({absl::StrCat(indicator.number()), indicator.name(),
                  OrNone(indicator.unit()), OrNone(indicator.target_text()),
                  std::string(TargetKindName(indicator.target_kind())),
                  std::string(AttributeName(indicator.attribute())),
                  BaselineText(indicator)});
  }
  return absl::StrCat(table.Render(), response.indicators_size(),
                      " indicator(s)\n");
}

std::vector<MatrixRow> BuildMatrix(const std::vector<v1::Task>& tasks,
                                   std::string_view agency_id,
                                   std::optional<v1::Role> role) {
  std::map<std::string, MatrixRow, std::less<>> by_agency;
  for (const v1::Task& task : tasks) {
    for (const v1::Responsibility& r : task.responsibilities()) {
      if (!agency_id.empty() && r.agency_id() != agency_id) continue;
      if (role.has_value() && r.role() != *role) continue;
      MatrixRow& row = by_agency[r.agency_id()];
      row.agency_id = r.agency_id();
      row.roles[task.number()] = r.role();
    }
  }
  std::vector<MatrixRow> rows;
  for (auto& [id, row] : by_agency) rows.push_back(std::move(row));
  std::stable_sort(
      rows.begin(), rows.end(), [](const MatrixRow& a, const MatrixRow& b) {
        return a.roles.size() > b.roles.size();  // ties keep id order
      });
  return rows;
}

std::string FormatMatrix(const std::vector<v1::Task>& tasks,
                         const std::vector<MatrixRow>& rows,
                         const AgencyDirectory& agencies) {
  std::vector<const v1::Task*> columns;
  for (const v1::Task& task : tasks) columns.push_back(&task);
  std::sort(columns.begin(), columns.end(),
            [](const v1::Task* a, const v1::Task* b) {
              return a->number() < b->number();
            });

  int label_width = DisplayWidth("agency");
  for (const MatrixRow& row : rows) {
    label_width =
        std::max(label_width, DisplayWidth(agencies.ShortName(row.agency_id)));
  }
  label_width = std::min(label_width, kMatrixLabelWidth);

  // A line: the label, then one cell per task (an extra space where the
  // section changes), then the count.
  const auto line = [&](std::string_view label, auto&& cell,
                        std::string_view count) {
    std::string out =
        PadToWidth(TruncateToWidth(label, label_width), label_width);
    out += ' ';
    for (size_t i = 0; i < columns.size(); ++i) {
      const bool new_section = i > 0 && columns[i]->section().number() !=
                                            columns[i - 1]->section().number();
      absl::StrAppend(&out, new_section ? "  " : " ", cell(*columns[i]));
    }
    absl::StrAppend(&out, "  ", PadToWidth(count, 3, Align::kRight), "\n");
    return out;
  };

  // Task numbers written vertically: one header line per digit.
  int digits = 2;
  for (const v1::Task* task : columns) {
    digits =
        std::max(digits, static_cast<int>(absl::StrCat(task->number()).size()));
  }
  std::string out;
  for (int d = 0; d < digits; ++d) {
    const bool last = d == digits - 1;
    out += line(
        last ? "agency" : "",
        [&](const v1::Task& task) {
          const std::string n = absl::StrCat(task.number());
          const int pad = digits - static_cast<int>(n.size());
          return d < pad ? std::string(" ") : std::string(1, n[d - pad]);
        },
        last ? "n" : "");
  }
  for (const MatrixRow& row : rows) {
    out += line(
        agencies.ShortName(row.agency_id),
        [&](const v1::Task& task) {
          auto it = row.roles.find(task.number());
          if (it == row.roles.end()) return std::string("·");
          return it->second == v1::SUPPORT
                     ? std::string("c")
                     : std::string(RoleLetter(it->second));
        },
        absl::StrCat(row.roles.size()));
  }
  absl::StrAppend(&out, "\nL ", RoleLabel(v1::LEAD), "   S ",
                  RoleLabel(v1::SHARED), "   c ", RoleLabel(v1::SUPPORT),
                  "   · none\n", rows.size(),
                  rows.size() == 1 ? " agency" : " agencies", " x ",
                  columns.size(), " tasks\n");
  return out;
}

std::string PrincipalLabel(std::string_view principal,
                           const AgencyDirectory& agencies) {
  const std::string text(principal);
  absl::string_view id(text);
  if (!absl::ConsumePrefix(&id, kAgencyPrefix)) return text;
  const std::string_view agency_id(id.data(), id.size());
  if (agencies.FindAgency(agency_id) == nullptr) return text;
  return absl::StrCat(text, " (", agencies.ShortName(agency_id), ")");
}

namespace {

// "60%", or "" when unset.
std::string PercentText(const v1::ProgressReport& report) {
  if (!report.has_percent_complete()) return "";
  return absl::StrCat(FormatNumber(report.percent_complete()), "%");
}

// "省教育厅 (qh-edu), lead 牵头"
std::string AgencyWithRole(const v1::ProgressReport& report,
                           const AgencyDirectory& agencies) {
  std::string label = AgencyLabel(agencies, report.agency_id());
  if (report.role() != v1::ROLE_UNSPECIFIED) {
    absl::StrAppend(&label, ", ", RoleLabel(report.role()));
  }
  return label;
}

// A current report in `progress`: a header line, then its texts.
//   task report  省教育厅 (qh-edu), lead 牵头  on-track 按计划推进  60%
//     summary   …
//     revision  2 (seq 431, 2024-03-01 12:00:00 UTC, by agency:qh-edu)
std::string ReportBlock(const v1::ProgressReport& report,
                        const AgencyDirectory& agencies) {
  std::vector<std::string> header = {ReportKindName(report.kind()),
                                     AgencyWithRole(report, agencies),
                                     ProgressStatusLabel(report.status())};
  if (report.has_percent_complete()) header.push_back(PercentText(report));
  std::string recorded = absl::StrCat("seq ", report.seq());
  if (report.recorded_at_micros() != 0) {
    absl::StrAppend(&recorded, ", ", FormatMicros(report.recorded_at_micros()));
  }
  if (!report.principal().empty()) {
    absl::StrAppend(&recorded, ", by ", report.principal());
  }
  return absl::StrCat(
      "  ", absl::StrJoin(header, "  "), "\n",
      FormatFields(
          {{"summary", report.summary()},
           {"measures", report.measures()},
           {"evidence", absl::StrJoin(report.evidence_refs(), "\n")},
           {"revision", absl::StrCat(report.revision(), " (", recorded, ")")}},
          kReportTextWidth, "    "));
}

}  // namespace

std::string FormatProgressReport(const v1::ProgressReport& report,
                                 const AgencyDirectory& agencies) {
  return FormatFields(
      {{"task", absl::StrCat(report.task_number())},
       {"year", absl::StrCat(report.year())},
       {"agency", AgencyLabel(agencies, report.agency_id())},
       {"role",
        report.role() == v1::ROLE_UNSPECIFIED ? "" : RoleLabel(report.role())},
       {"kind", ReportKindName(report.kind())},
       {"status", ProgressStatusLabel(report.status())},
       {"percent", PercentText(report)},
       {"summary", report.summary()},
       {"measures", report.measures()},
       {"evidence", absl::StrJoin(report.evidence_refs(), "\n")},
       {"revision", absl::StrCat(report.revision())},
       {"seq", absl::StrCat(report.seq())},
       {"recorded", FormatMicros(report.recorded_at_micros())},
       {"by", report.principal()}},
      kReportTextWidth);
}

std::string FormatIndicatorValue(const v1::IndicatorValue& value,
                                 const AgencyDirectory& agencies) {
  return FormatFields(
      {{"indicator", absl::StrCat(value.indicator_number())},
       {"year", absl::StrCat(value.year())},
       {"value", FormatNumber(value.value())},
       {"source", value.source_note()},
       {"agency", value.agency_id().empty()
                      ? ""
                      : AgencyLabel(agencies, value.agency_id())},
       {"revision", absl::StrCat(value.revision())},
       {"seq", absl::StrCat(value.seq())},
       {"recorded", FormatMicros(value.recorded_at_micros())},
       {"by", value.principal()}},
      kReportTextWidth);
}

std::string FormatTaskProgress(const v1::TaskProgress& progress,
                               const AgencyDirectory& agencies, bool history) {
  const v1::Task& task = progress.task();
  std::string out = absl::StrCat("task ", task.number());
  if (task.has_section()) {
    absl::StrAppend(&out, "  section ", SectionLabel(task.section()));
  }
  absl::StrAppend(&out, "\n");
  if (!task.text().empty()) {
    absl::StrAppend(&out, "  ", TruncateToWidth(task.text(), kTextWidth), "\n");
  }
  absl::StrAppend(&out, "  ", OrNone(RolesSummary(task, agencies)), "\n");
  if (progress.years_size() == 0) {
    absl::StrAppend(&out, "\nno years\n");
  }

  for (const v1::YearProgress& year : progress.years()) {
    absl::StrAppend(&out, "\n", year.year(), "\n");
    if (year.task_reports_size() == 0) {
      absl::StrAppend(&out, "  task report: none\n");
    }
    for (const v1::ProgressReport& report : year.task_reports()) {
      absl::StrAppend(&out, ReportBlock(report, agencies));
    }
    if (year.contributions_size() == 0) {
      absl::StrAppend(&out, "  contributions: none\n");
    }
    for (const v1::ProgressReport& report : year.contributions()) {
      absl::StrAppend(&out, ReportBlock(report, agencies));
    }
    if (!history) continue;

    absl::StrAppend(
        &out, "  history: ", Count(year.history_size(), "submission"), "\n");
    if (year.history_size() == 0) continue;
    // "by" only when someone reported for an agency (admin on its behalf).
    const bool by = std::any_of(year.history().begin(), year.history().end(),
                                [](const v1::ProgressReport& report) {
                                  return report.principal() !=
                                         AgencyPrincipal(report.agency_id());
                                });
    std::vector<Column> columns = {{"rev", Align::kRight},
                                   {"agency", Align::kLeft, kMatrixLabelWidth},
                                   {"kind"},
                                   {"status"},
                                   {"%", Align::kRight},
                                   {"seq", Align::kRight},
                                   {"recorded (UTC)"}};
    if (by) columns.push_back({"by", Align::kLeft, 20});
    columns.push_back({"summary", Align::kLeft, 0, /*shrink=*/true});
    Table table(std::move(columns));
    table.SetMaxTotalWidth(kHistoryWidth - 4);
    for (const v1::ProgressReport& report : year.history()) {
      std::vector<std::string> row = {
          absl::StrCat(report.revision()),
          agencies.ShortName(report.agency_id()),
          ReportKindName(report.kind()),
          ProgressStatusName(report.status()),
          OrNone(PercentText(report)),
          absl::StrCat(report.seq()),
          OrNone(FormatMicros(report.recorded_at_micros(), kMinutes))};
      if (by) row.push_back(OrNone(report.principal()));
      row.push_back(report.summary());
      table.AddRow(std::move(row));
    }
    absl::StrAppend(&out, Indent(table.Render(), "    "));
  }
  return out;
}

std::string FormatIndicatorSeries(const v1::IndicatorSeries& series,
                                  const AgencyDirectory& agencies) {
  const v1::Indicator& indicator = series.indicator();
  const bool cumulative = indicator.target_kind() == v1::CUMULATIVE;
  std::string target = indicator.target_text();
  if (target.empty() && indicator.target_kind() != v1::INCREASING) {
    target = FormatNumber(indicator.target_value());
  }
  std::string out = FormatFields({
      {"indicator", absl::StrCat(indicator.number(), " ", indicator.name())},
      {"unit", OrNone(indicator.unit())},
      {"target", OrNone(target)},
      {"kind", TargetKindName(indicator.target_kind())},
      {"attribute", AttributeName(indicator.attribute())},
      {"baseline", BaselineText(indicator)},
      {"answered by",
       OrNone(AgencyNames(indicator.responsible_agency_ids(), agencies))},
      {"link source", indicator.responsibility_source()},
      {"tolerance", absl::StrCat(FormatNumber(series.tolerance() * 100), "%")},
  });

  std::vector<Column> columns = {{"year", Align::kRight},
                                 {"value", Align::kRight}};
  if (cumulative) columns.push_back({"cumulative", Align::kRight});
  columns.push_back({"expected", Align::kRight});
  columns.push_back({"judgement"});
  columns.push_back({"note"});
  Table table(std::move(columns));
  std::map<v1::Judgement, int> counts;
  for (const v1::SeriesPoint& point : series.points()) {
    std::vector<std::string> row = {
        absl::StrCat(point.year()),
        point.has_value() ? FormatNumber(point.value()) : kNone};
    if (cumulative) {
      row.push_back(point.has_value() ? FormatNumber(point.cumulative())
                                      : kNone);
    }
    row.push_back(point.has_expected() ? FormatNumber(point.expected())
                                       : kNone);
    row.push_back(JudgementName(point.judgement()));
    row.push_back(point.note());
    table.AddRow(std::move(row));
    ++counts[point.judgement()];
  }
  absl::StrAppend(&out, "\n", table.Render());

  std::vector<std::string> tally;
  for (v1::Judgement judgement :
       {v1::JUDGEMENT_ON_TRACK, v1::JUDGEMENT_OFF_TRACK, v1::JUDGEMENT_NO_DATA,
        v1::JUDGEMENT_NOT_JUDGED, v1::JUDGEMENT_UNSPECIFIED}) {
    if (counts[judgement] > 0) {
      tally.push_back(
          absl::StrCat(counts[judgement], " ", JudgementName(judgement)));
    }
  }
  absl::StrAppend(&out, Count(series.points_size(), "year"),
                  tally.empty() ? "" : ": ", absl::StrJoin(tally, ", "), "\n");
  return out;
}

std::string FormatMissingReports(const v1::MissingReports& missing,
                                 const AgencyDirectory& agencies) {
  std::string out = absl::StrCat("missing for ", missing.year(), "\n");
  const auto section = [&out](std::string_view title, int count,
                              const Table& table) {
    absl::StrAppend(&out, "\n", View(title), ": ",
                    count == 0 ? "none missing" : absl::StrCat(count), "\n");
    if (count > 0) absl::StrAppend(&out, table.Render());
  };

  Table reports({{"task", Align::kRight}, {"who should submit it"}});
  for (const v1::MissingTaskReport& report : missing.task_reports()) {
    reports.AddRow({absl::StrCat(report.task_number()),
                    OrNone(AgencyNames(report.agency_ids(), agencies))});
  }
  section("task reports", missing.task_reports_size(), reports);

  Table contributions({{"task", Align::kRight}, {"agency"}, {"role"}});
  for (const v1::MissingContribution& c : missing.contributions()) {
    contributions.AddRow({absl::StrCat(c.task_number()),
                          agencies.ShortName(c.agency_id()),
                          RoleLabel(c.role())});
  }
  section("contributions", missing.contributions_size(), contributions);

  Table values({{"№", Align::kRight},
                {"indicator", Align::kLeft, 36},
                {"who should report it"}});
  for (const v1::MissingIndicatorValue& value : missing.indicator_values()) {
    values.AddRow({absl::StrCat(value.indicator_number()),
                   OrNone(value.indicator_name()),
                   OrNone(AgencyNames(value.agency_ids(), agencies))});
  }
  section("indicator values", missing.indicator_values_size(), values);

  const int total = missing.task_reports_size() + missing.contributions_size() +
                    missing.indicator_values_size();
  absl::StrAppend(
      &out, "\n", total,
      " missing: ", Count(missing.task_reports_size(), "task report"), ", ",
      Count(missing.contributions_size(), "contribution"), ", ",
      Count(missing.indicator_values_size(), "indicator value"), "\n");
  return out;
}

std::string FormatCredential(const v1::Credential& credential,
                             const AgencyDirectory& agencies) {
  return FormatFields({
      {"credential", credential.credential_id()},
      {"principal", PrincipalLabel(credential.principal(), agencies)},
      {"label", credential.label()},
      {"state", credential.revoked() ? "revoked" : "active"},
      {"issued seq", absl::StrCat(credential.issued_seq())},
      {"revoked seq", credential.revoked_seq() == 0
                          ? ""
                          : absl::StrCat(credential.revoked_seq())},
  });
}

std::string FormatCredentials(const v1::ListCredentialsResponse& response,
                              const AgencyDirectory& agencies) {
  Table table({{"credential"},
               {"principal"},
               {"label", Align::kLeft, 30},
               {"state"},
               {"issued", Align::kRight},
               {"revoked", Align::kRight}});
  int revoked = 0;
  for (const v1::Credential& credential : response.credentials()) {
    if (credential.revoked()) ++revoked;
    table.AddRow({credential.credential_id(),
                  PrincipalLabel(credential.principal(), agencies),
                  OrNone(credential.label()),
                  credential.revoked() ? "revoked" : "active",
                  absl::StrCat(credential.issued_seq()),
                  credential.revoked_seq() == 0
                      ? std::string(kNone)
                      : absl::StrCat(credential.revoked_seq())});
  }
  return absl::StrCat(table.Render(),
                      Count(response.credentials_size(), "credential"), ", ",
                      revoked, " revoked\n");
}

std::string FormatIssuedToken(const v1::Credential& credential,
                              const std::string& token,
                              const AgencyDirectory& agencies) {
  return absl::StrCat(
      FormatFields({
          {"credential", credential.credential_id()},
          {"principal", PrincipalLabel(credential.principal(), agencies)},
          {"label", credential.label()},
          {"token", token},
      }),
      "\nThis token is not stored anywhere (the server keeps only its "
      "SHA-256) and cannot be shown again:\nsave it now, e.g. in a file of "
      "mode 0600 to use with --token-file.\n");
}

}  // namespace duban::clients

// ---------------------------------------------------------------------------
// Supervision

namespace duban::clients {
namespace {

constexpr int kEscalationTableWidth = 120;  // rules, timelines, webhooks
constexpr int kEscalationListWidth = 140;   // `escalations`: ten columns
constexpr int kChangeSummaryWidth = 44;     // summaries in change lines
constexpr char kCstMinutes[] = "%Y-%m-%d %H:%M";

// The lowercase, trimmed form of `text` for vocabulary matching.
std::string Normalized(std::string_view text) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(View(text)));
}

std::string FormatCst(int64_t micros, const char* format) {
  if (micros == 0) return "";
  return absl::FormatTime(format, absl::FromUnixMicros(micros),
                          ChinaStandardTime());
}

// "2022-02-01" as a civil day, strictly (two-digit month and day, a day that
// exists).
std::optional<absl::CivilDay> ParseCivilDay(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  int fields[3];
  const absl::string_view parts[3] = {text.substr(0, 4), text.substr(5, 2),
                                      text.substr(8, 2)};
  for (int i = 0; i < 3; ++i) {
    if (!std::all_of(parts[i].begin(), parts[i].end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(parts[i], &fields[i])) {
      return std::nullopt;
    }
  }
  const absl::CivilDay day(fields[0], fields[1], fields[2]);
  if (day.year() != fields[0] || day.month() != fields[1] ||
      day.day() != fields[2]) {
    return std::nullopt;  // normalized: 2023-02-29 became 2023-03-01
  }
  return day;
}

// "HH:MM" with HH < 24 and MM < 60.
std::optional<std::pair<int, int>> ParseHourMinute(absl::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  int hour = 0;
  int minute = 0;
  const absl::string_view h = text.substr(0, 2);
  const absl::string_view m = text.substr(3, 2);
  if (!std::all_of(h.begin(), h.end(), absl::ascii_isdigit) ||
      !std::all_of(m.begin(), m.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(h, &hour) || !absl::SimpleAtoi(m, &minute) ||
      hour > 23 || minute > 59) {
    return std::nullopt;
  }
  return std::make_pair(hour, minute);
}

int64_t CstMicros(const absl::CivilSecond& second) {
  return absl::ToUnixMicros(absl::FromCivil(second, ChinaStandardTime()));
}

// Collects protobuf text-format errors as "source:line:column: message".
class TextFormatErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TextFormatErrors(std::string source) : source_(std::move(source)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!errors_.empty()) errors_ += "\n";
    absl::StrAppend(&errors_, source_, ":", line + 1, ":", column + 1, ": ",
                    message);
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string source_;
  std::string errors_;
};

// "01-31", or `fallback` when unset.
std::string MonthDayText(const v1::MonthDay& date, const char* fallback) {
  if (date.month() == 0) return fallback;
  return absl::StrFormat("%02d-%02d", date.month(), date.day());
}

// "agencies", "supervisors", "government": an audience in a ladder line.
const char* AudienceShortName(v1::Audience audience) {
  switch (audience) {
    case v1::RESPONSIBLE_AGENCIES:
      return "agencies";
    case v1::SUPERVISORS:
      return "supervisors";
    case v1::PROVINCIAL_GOVERNMENT:
      return "government";
    default:
      return "?";
  }
}

// The policy's ladder, one rung a line:
//   "    督办 supervision  after 14d  to agencies, supervisors"
std::string LadderText(const v1::EscalationPolicy& policy) {
  if (policy.rungs_size() == 0) return "    (no rungs)\n";
  std::string out;
  for (const v1::Rung& rung : policy.rungs()) {
    std::vector<const char*> audiences;
    for (int audience : rung.audiences()) {
      audiences.push_back(
          AudienceShortName(static_cast<v1::Audience>(audience)));
    }
    absl::StrAppend(
        &out, "    ", PadToWidth(LevelLabel(rung.level()), 16), "  after ",
        PadToWidth(absl::StrCat(rung.after_days()), 3, Align::kRight), "d  to ",
        OrNone(absl::StrJoin(audiences, ", ")), "\n");
  }
  return out;
}

// What a rule is configured with besides its kind, severity and policy.
std::string RuleDetail(const v1::Rule& rule) {
  std::vector<std::string> parts;
  switch (rule.kind()) {
    case v1::REPORT_OVERDUE:
      parts.push_back(absl::StrCat(
          "deadline ", MonthDayText(rule.deadline(), "01-31"), " of Y+1"));
      break;
    case v1::CONTRIBUTIONS_MISSING:
      parts.push_back(absl::StrCat(
          "deadline ", MonthDayText(rule.deadline(), "02-28"), " of Y+1"));
      break;
    case v1::INDICATOR_OFF_TRACK:
      if (rule.tolerance() != 0) {
        parts.push_back(absl::StrCat(
            "tolerance ", FormatNumber(rule.tolerance() * 100), "%"));
      }
      if (rule.binding_severity() != v1::SEVERITY_UNSPECIFIED ||
          !rule.binding_policy_id().empty()) {
        std::string binding = "约束性:";
        if (rule.binding_severity() != v1::SEVERITY_UNSPECIFIED) {
          absl::StrAppend(&binding, " ", SeverityName(rule.binding_severity()));
        }
        if (!rule.binding_policy_id().empty()) {
          absl::StrAppend(&binding, " policy ", rule.binding_policy_id());
        }
        parts.push_back(std::move(binding));
      }
      break;
    case v1::MIDTERM_GATE:
      if (rule.midterm_year() != 0) {
        parts.push_back(absl::StrCat("mid-term ", rule.midterm_year()));
      }
      if (rule.gate_date().month() != 0) {
        parts.push_back(
            absl::StrCat("gate ",
                         rule.midterm_year() != 0
                             ? absl::StrCat(rule.midterm_year() + 1, "-")
                             : std::string("Y+1 "),
                         MonthDayText(rule.gate_date(), "")));
      }
      if (rule.min_share_of_target() != 0) {
        parts.push_back(absl::StrCat(
            "min share ", FormatNumber(rule.min_share_of_target() * 100), "%"));
      }
      break;
    default:
      break;
  }
  return absl::StrJoin(parts, ", ");
}

std::string AgencyOfSubject(const v1::Subject& subject,
                            const AgencyDirectory& agencies) {
  return subject.agency_id().empty() ? std::string(kNone)
                                     : agencies.ShortName(subject.agency_id());
}

// "task 18 省教育厅 2021": what a change line names.
std::string SubjectLine(const v1::Subject& subject,
                        const AgencyDirectory& agencies,
                        const IndicatorNames& indicators) {
  std::string line = SubjectText(subject, indicators);
  if (!subject.agency_id().empty()) {
    absl::StrAppend(&line, " ", agencies.ShortName(subject.agency_id()));
  }
  if (subject.year() != 0) absl::StrAppend(&line, " ", subject.year());
  return line;
}

// A timeline entry's cause: the seq of the event behind it; for the
// engine's own steps (by "rules" or "system") without one, "clock"; for a
// person's or agency's act, "-".
std::string CauseText(const v1::TimelineEntry& entry) {
  if (entry.cause_seq() != 0) return absl::StrCat(entry.cause_seq());
  const bool engine =
      entry.by().empty() || entry.by() == "rules" || entry.by() == "system";
  return engine ? "clock" : kNone;
}

std::string LevelOrNone(v1::Level level) {
  return level == v1::LEVEL_UNSPECIFIED ? std::string(kNone)
                                        : LevelLabel(level);
}

}  // namespace

const char* LevelChinese(v1::Level level) {
  switch (level) {
    case v1::REMINDER:
      return "提醒";
    case v1::URGING:
      return "催办";
    case v1::SUPERVISION:
      return "督办";
    case v1::CIRCULATION:
      return "通报";
    default:
      return "";
  }
}

const char* LevelName(v1::Level level) {
  switch (level) {
    case v1::REMINDER:
      return "reminder";
    case v1::URGING:
      return "urging";
    case v1::SUPERVISION:
      return "supervision";
    case v1::CIRCULATION:
      return "circulation";
    default:
      return "unspecified";
  }
}

std::string LevelLabel(v1::Level level) {
  if (*LevelChinese(level) == '\0') return LevelName(level);
  return absl::StrCat(LevelChinese(level), " ", LevelName(level));
}

std::optional<v1::Level> ParseLevel(std::string_view text) {
  const std::string lower = Normalized(text);
  for (v1::Level level :
       {v1::REMINDER, v1::URGING, v1::SUPERVISION, v1::CIRCULATION}) {
    if (lower == LevelName(level) || lower == LevelChinese(level) ||
        lower == absl::AsciiStrToLower(v1::Level_Name(level))) {
      return level;
    }
  }
  return std::nullopt;
}

const char* SeverityName(v1::Severity severity) {
  switch (severity) {
    case v1::NOTICE:
      return "notice";
    case v1::WARNING:
      return "warning";
    case v1::SERIOUS:
      return "serious";
    case v1::CRITICAL:
      return "critical";
    default:
      return "unspecified";
  }
}

std::optional<v1::Severity> ParseSeverity(std::string_view text) {
  const std::string lower = Normalized(text);
  for (v1::Severity severity :
       {v1::NOTICE, v1::WARNING, v1::SERIOUS, v1::CRITICAL}) {
    if (lower == SeverityName(severity)) return severity;
  }
  return std::nullopt;
}

const char* EscalationStateName(v1::EscalationState state) {
  switch (state) {
    case v1::OPEN:
      return "open";
    case v1::ACKNOWLEDGED:
      return "acknowledged";
    case v1::RESOLVED:
      return "resolved";
    case v1::CLEARED:
      return "cleared";
    default:
      return "unspecified";
  }
}

const char* EscalationStateChinese(v1::EscalationState state) {
  switch (state) {
    case v1::OPEN:
      return "待签收";
    case v1::ACKNOWLEDGED:
      return "已签收";
    case v1::RESOLVED:
      return "已办结";
    case v1::CLEARED:
      return "已销号";
    default:
      return "";
  }
}

std::string EscalationStateLabel(v1::EscalationState state) {
  if (*EscalationStateChinese(state) == '\0') return EscalationStateName(state);
  return absl::StrCat(EscalationStateName(state), " ",
                      EscalationStateChinese(state));
}

std::optional<v1::EscalationState> ParseEscalationState(std::string_view text) {
  const std::string lower = Normalized(text);
  for (v1::EscalationState state :
       {v1::OPEN, v1::ACKNOWLEDGED, v1::RESOLVED, v1::CLEARED}) {
    if (lower == EscalationStateName(state) ||
        lower == EscalationStateChinese(state)) {
      return state;
    }
  }
  return std::nullopt;
}

bool IsOpen(v1::EscalationState state) {
  return state == v1::OPEN || state == v1::ACKNOWLEDGED;
}

const char* RuleKindName(v1::RuleKind kind) {
  switch (kind) {
    case v1::REPORT_OVERDUE:
      return "report-overdue";
    case v1::CONTRIBUTIONS_MISSING:
      return "contributions-missing";
    case v1::INDICATOR_OFF_TRACK:
      return "indicator-off-track";
    case v1::TASK_AT_RISK:
      return "task-at-risk";
    case v1::MIDTERM_GATE:
      return "midterm-gate";
    default:
      return "unspecified";
  }
}

const char* RuleKindChinese(v1::RuleKind kind) {
  switch (kind) {
    case v1::REPORT_OVERDUE:
      return "年度报告逾期";
    case v1::CONTRIBUTIONS_MISSING:
      return "配合单位未报送";
    case v1::INDICATOR_OFF_TRACK:
      return "指标偏离进度";
    case v1::TASK_AT_RISK:
      return "任务有风险或滞后";
    case v1::MIDTERM_GATE:
      return "中期评估未达标";
    default:
      return "";
  }
}

const char* AudienceName(v1::Audience audience) {
  switch (audience) {
    case v1::RESPONSIBLE_AGENCIES:
      return "responsible-agencies";
    case v1::SUPERVISORS:
      return "supervisors";
    case v1::PROVINCIAL_GOVERNMENT:
      return "provincial-government";
    default:
      return "unspecified";
  }
}

std::optional<std::string> FixedRecipient(std::string_view text) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(View(text));
  const std::string lower = absl::AsciiStrToLower(trimmed);
  for (const char* fixed :
       {kSupervisorRecipient, kProvincialGovernmentRecipient}) {
    if (lower == fixed) return std::string(fixed);
  }
  if (absl::StartsWith(trimmed, kAgencyPrefix) &&
      trimmed.size() > sizeof(kAgencyPrefix) - 1) {
    return std::string(trimmed);
  }
  return std::nullopt;
}

absl::TimeZone ChinaStandardTime() { return absl::FixedTimeZone(8 * 60 * 60); }

std::string CstTime(int64_t micros) {
  return FormatCst(micros, "%Y-%m-%d %H:%M:%S CST");
}

std::string CstMinutes(int64_t micros) {
  return FormatCst(micros, kCstMinutes);
}

std::string CstDate(int64_t micros) { return FormatCst(micros, "%Y-%m-%d"); }

absl::StatusOr<int64_t> EndOfCstDayMicros(std::string_view date) {
  const absl::string_view text = absl::StripAsciiWhitespace(View(date));
  const std::optional<absl::CivilDay> day = ParseCivilDay(text);
  if (!day.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a date: write YYYY-MM-DD, e.g. 2022-03-31"));
  }
  return CstMicros(absl::CivilSecond(*day) + (24 * 60 * 60 - 1));
}

absl::StatusOr<int64_t> ParseCstTime(std::string_view text) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(View(text));
  const auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", trimmed,
                     "\" is not a time: write YYYY-MM-DD or YYYY-MM-DDTHH:MM "
                     "(China Standard Time), e.g. 2022-02-01T09:00"));
  };
  const std::optional<absl::CivilDay> day =
      ParseCivilDay(trimmed.substr(0, 10));
  if (!day.has_value()) return invalid();
  if (trimmed.size() == 10) return CstMicros(absl::CivilSecond(*day));
  if (trimmed.size() != 16 || (trimmed[10] != 'T' && trimmed[10] != ' ')) {
    return invalid();
  }
  const std::optional<std::pair<int, int>> hm =
      ParseHourMinute(trimmed.substr(11));
  if (!hm.has_value()) return invalid();
  return CstMicros(absl::CivilSecond(day->year(), day->month(), day->day(),
                                     hm->first, hm->second, 0));
}

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(View(text));
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", trimmed, "\" is not a duration", why,
        ": write numbers with units, e.g. 30d, 12h, 90m, 1w or 1d12h "
        "(w weeks, d days, h hours, m minutes, s seconds)"));
  };
  if (trimmed.empty()) return invalid("");
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < trimmed.size()) {
    const size_t start = i;
    while (i < trimmed.size() && absl::ascii_isdigit(trimmed[i])) ++i;
    int64_t n = 0;
    if (i == start || i - start > 9 ||
        !absl::SimpleAtoi(trimmed.substr(start, i - start), &n) ||
        i == trimmed.size()) {
      return invalid("");
    }
    switch (trimmed[i]) {
      case 'w':
        total += absl::Hours(24 * 7) * n;
        break;
      case 'd':
        total += absl::Hours(24) * n;
        break;
      case 'h':
        total += absl::Hours(n);
        break;
      case 'm':
        total += absl::Minutes(n);
        break;
      case 's':
        total += absl::Seconds(n);
        break;
      default:
        return invalid("");
    }
    ++i;
  }
  if (total <= absl::ZeroDuration()) return invalid(" (it must be positive)");
  return total;
}

std::string DurationText(absl::Duration duration) {
  int64_t seconds = absl::ToInt64Seconds(duration);
  std::string out;
  if (seconds < 0) {
    out = "-";
    seconds = -seconds;
  }
  if (seconds == 0) return "0s";
  const struct {
    int64_t seconds;
    const char* unit;
  } kUnits[] = {
      {7 * 24 * 3600, "w"}, {24 * 3600, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& unit : kUnits) {
    if (seconds >= unit.seconds) {
      absl::StrAppend(&out, seconds / unit.seconds, unit.unit);
      seconds %= unit.seconds;
    }
  }
  return out;
}

absl::Status ParseTextProto(std::string_view text, std::string_view source,
                            google::protobuf::Message* message) {
  TextFormatErrors errors{std::string(source)};
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), message)) {
    return absl::InvalidArgumentError(
        errors.errors().empty()
            ? absl::StrCat(View(source), ": not a ", message->GetTypeName())
            : errors.errors());
  }
  return absl::OkStatus();
}

std::string TextProto(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  std::string text;
  printer.PrintToString(message, &text);
  return text;
}

std::string FormatRulesetFile(const v1::RulesetVersion& version) {
  return absl::StrCat(
      "# proto-file: duban/v1/supervision.proto\n"
      "# proto-message: duban.v1.Ruleset\n"
      "#\n# plan ",
      version.ruleset().plan_id(), ", version ", version.version(), ", sha256 ",
      OrNone(version.content_sha256()), ", seq ", version.seq(),
      "\n# Replace it with: dubanctl rules put FILE --expect-version ",
      version.version(), "\n\n", TextProto(version.ruleset()));
}

std::string FormatRulesetSummary(const v1::RulesetVersion& version) {
  if (version.version() == 0) {
    return absl::StrCat(
        "no ruleset",
        version.ruleset().plan_id().empty()
            ? std::string()
            : absl::StrCat(" for plan ", version.ruleset().plan_id()),
        " yet (version 0)\n");
  }
  const v1::Ruleset& ruleset = version.ruleset();
  std::string out = FormatFields({
      {"plan", ruleset.plan_id()},
      {"version", absl::StrCat(version.version())},
      {"sha256", version.content_sha256()},
      {"seq", version.seq() == 0 ? "" : absl::StrCat(version.seq())},
  });
  absl::StrAppend(&out, "\n", ruleset.policies_size(),
                  ruleset.policies_size() == 1 ? " policy" : " policies", "\n");
  for (const v1::EscalationPolicy& policy : ruleset.policies()) {
    absl::StrAppend(&out, "  ", policy.id(), "\n", LadderText(policy));
  }
  Table rules({{"rule"},
               {"kind"},
               {"severity"},
               {"policy"},
               {"settings", Align::kLeft, 0, /*shrink=*/true},
               {"state"}});
  rules.SetMaxTotalWidth(kEscalationTableWidth);
  int disabled = 0;
  for (const v1::Rule& rule : ruleset.rules()) {
    if (rule.disabled()) ++disabled;
    rules.AddRow({rule.id(), RuleKindName(rule.kind()),
                  SeverityName(rule.severity()), OrNone(rule.policy_id()),
                  OrNone(RuleDetail(rule)), rule.disabled() ? "off" : "on"});
  }
  absl::StrAppend(
      &out, "\n", Count(ruleset.rules_size(), "rule"),
      disabled > 0 ? absl::StrCat(" (", disabled, " disabled)") : std::string(),
      "\n", rules.Render());
  return out;
}

std::string FormatEvaluate(const v1::EvaluateResponse& response) {
  if (response.first_seq() == 0 && response.opened() == 0 &&
      response.raised() == 0 && response.closed() == 0 &&
      response.notices() == 0) {
    return "nothing changed\n";
  }
  std::string out = absl::StrCat(
      "opened ", response.opened(), ", raised ", response.raised(), ", closed ",
      response.closed(), ", notices ", response.notices());
  if (response.first_seq() != 0) {
    absl::StrAppend(&out, " (seq ", response.first_seq(), "-",
                    response.last_seq(), ")");
  }
  return out + "\n";
}

std::string SubjectText(const v1::Subject& subject,
                        const IndicatorNames& indicators) {
  if (subject.task_number() != 0) {
    return absl::StrCat("task ", subject.task_number());
  }
  if (subject.indicator_number() != 0) {
    std::string text = absl::StrCat("indicator ", subject.indicator_number());
    auto it = indicators.find(subject.indicator_number());
    if (it != indicators.end() && !it->second.empty()) {
      absl::StrAppend(&text, " ", it->second);
    }
    return text;
  }
  return "plan";
}

std::string FormatEscalations(std::vector<v1::Escalation> escalations,
                              const AgencyDirectory& agencies,
                              const IndicatorNames& indicators) {
  if (escalations.empty()) return "no escalations\n";
  // "esc-<seq>": by the seq that opened them, esc-9 before esc-10.
  std::stable_sort(escalations.begin(), escalations.end(),
                   [](const v1::Escalation& a, const v1::Escalation& b) {
                     return std::make_pair(a.id().size(), a.id()) <
                            std::make_pair(b.id().size(), b.id());
                   });
  Table table({{"id"},
               {"level"},
               {"severity"},
               {"state"},
               {"subject", Align::kLeft, 28, /*shrink=*/true},
               {"agency", Align::kLeft, 20},
               {"year", Align::kRight},
               {"n", Align::kRight},
               {"opened"},
               {"summary", Align::kLeft, 0, /*shrink=*/true}});
  table.SetMaxTotalWidth(kEscalationListWidth);
  std::map<v1::EscalationState, int> counts;
  for (const v1::Escalation& e : escalations) {
    ++counts[e.state()];
    table.AddRow({e.id(), LevelOrNone(e.level()), SeverityName(e.severity()),
                  EscalationStateName(e.state()),
                  SubjectText(e.subject(), indicators),
                  AgencyOfSubject(e.subject(), agencies),
                  e.subject().year() == 0 ? std::string(kNone)
                                          : absl::StrCat(e.subject().year()),
                  absl::StrCat(e.count()),
                  OrNone(CstDate(e.opened_at_micros())), e.summary()});
  }
  std::vector<std::string> tally;
  for (v1::EscalationState state :
       {v1::OPEN, v1::ACKNOWLEDGED, v1::CLEARED, v1::RESOLVED,
        v1::ESCALATION_STATE_UNSPECIFIED}) {
    if (counts[state] > 0) {
      tally.push_back(
          absl::StrCat(counts[state], " ", EscalationStateName(state)));
    }
  }
  return absl::StrCat(table.Render(), Count(escalations.size(), "escalation"),
                      ": ", absl::StrJoin(tally, ", "),
                      " (opened: CST dates)\n");
}

std::string FormatEscalation(const v1::Escalation& escalation,
                             const AgencyDirectory& agencies,
                             const IndicatorNames& indicators) {
  const v1::Escalation& e = escalation;
  const v1::Subject& subject = e.subject();
  std::string level = LevelOrNone(e.level());
  if (e.level_at_micros() != 0) {
    absl::StrAppend(&level, " (since ", CstTime(e.level_at_micros()), ")");
  }
  std::string rule = OrNone(subject.rule_id());
  absl::StrAppend(&rule, " (", RuleKindName(e.kind()));
  if (*RuleKindChinese(e.kind()) != '\0') {
    absl::StrAppend(&rule, " ", RuleKindChinese(e.kind()));
  }
  absl::StrAppend(&rule, ")");
  std::string policy = OrNone(e.policy_id());
  if (e.ruleset_version() != 0) {
    absl::StrAppend(&policy, ", ruleset version ", e.ruleset_version());
  }
  std::vector<std::string> facts;
  for (uint64_t seq : e.fact_seqs()) facts.push_back(absl::StrCat(seq));
  std::string out = FormatFields(
      {{"escalation", e.id()},
       {"level", level},
       {"state", EscalationStateLabel(e.state())},
       {"severity", SeverityName(e.severity())},
       {"rule", rule},
       {"policy", policy},
       {"plan", subject.plan_id()},
       {"subject", SubjectText(subject, indicators)},
       {"agency", subject.agency_id().empty()
                      ? ""
                      : AgencyLabel(agencies, subject.agency_id())},
       {"year", subject.year() == 0 ? "" : absl::StrCat(subject.year())},
       {"count", absl::StrCat(e.count())},
       {"opened", CstTime(e.opened_at_micros())},
       {"summary", e.summary()},
       {"facts",
        facts.empty() ? "" : absl::StrCat("seq ", absl::StrJoin(facts, ", "))},
       {"measures", e.measures()},
       {"due", CstTime(e.ack_due_micros())},
       {"resolution", e.resolution()},
       {"cleared by", e.cleared_by_seq() == 0
                          ? ""
                          : absl::StrCat("seq ", e.cleared_by_seq())}},
      kReportTextWidth);
  absl::StrAppend(&out, "\ntimeline: ", e.timeline_size(),
                  e.timeline_size() == 1 ? " entry" : " entries", "\n");
  if (e.timeline_size() == 0) return out;
  Table timeline({{"seq", Align::kRight},
                  {"time (CST)"},
                  {"what", Align::kLeft, 24},
                  {"by", Align::kLeft, 24},
                  {"cause", Align::kRight},
                  {"detail", Align::kLeft, 0, /*shrink=*/true}});
  timeline.SetMaxTotalWidth(kEscalationTableWidth - 2);
  for (const v1::TimelineEntry& entry : e.timeline()) {
    timeline.AddRow({absl::StrCat(entry.seq()),
                     OrNone(CstMinutes(entry.at_micros())),
                     OrNone(entry.what()), OrNone(entry.by()), CauseText(entry),
                     entry.detail()});
  }
  absl::StrAppend(&out, Indent(timeline.Render(), "  "));
  return out;
}

std::string FormatLevelSummary(const std::vector<v1::Escalation>& escalations) {
  std::map<v1::Level, int> by_level;
  int open = 0;
  int acknowledged = 0;
  int cleared = 0;
  int resolved = 0;
  for (const v1::Escalation& e : escalations) {
    if (IsOpen(e.state())) {
      ++open;
      ++by_level[e.level()];
      if (e.state() == v1::ACKNOWLEDGED) ++acknowledged;
    } else if (e.state() == v1::CLEARED) {
      ++cleared;
    } else if (e.state() == v1::RESOLVED) {
      ++resolved;
    }
  }
  std::string out;
  if (open == 0) {
    out = "no open escalations";
  } else {
    std::vector<std::string> levels;
    for (v1::Level level : {v1::REMINDER, v1::URGING, v1::SUPERVISION,
                            v1::CIRCULATION, v1::LEVEL_UNSPECIFIED}) {
      if (by_level[level] > 0) {
        levels.push_back(absl::StrCat(LevelLabel(level), " ", by_level[level]));
      }
    }
    out = absl::StrCat(open, " open: ", absl::StrJoin(levels, ", "));
    if (acknowledged > 0) {
      absl::StrAppend(&out, " (", acknowledged, " acknowledged)");
    }
  }
  if (cleared + resolved > 0) {
    std::vector<std::string> closed;
    if (cleared > 0) closed.push_back(absl::StrCat(cleared, " cleared"));
    if (resolved > 0) closed.push_back(absl::StrCat(resolved, " resolved"));
    absl::StrAppend(&out, "; closed: ", absl::StrJoin(closed, ", "));
  }
  return out;
}

std::vector<std::string> DescribeEscalationChanges(
    const std::map<std::string, v1::Escalation>& before,
    const std::vector<v1::Escalation>& after, const AgencyDirectory& agencies,
    const IndicatorNames& indicators) {
  std::vector<std::string> lines;
  const auto add = [&](const char* verb, const v1::Escalation& e,
                       const std::string& what, const std::string& note) {
    std::string line =
        absl::StrCat(PadToWidth(verb, 13), PadToWidth(e.id(), 10), "  ",
                     PadToWidth(what, 16), "  ",
                     SubjectLine(e.subject(), agencies, indicators));
    if (!note.empty()) {
      absl::StrAppend(&line, "  ", TruncateToWidth(note, kChangeSummaryWidth));
    }
    lines.push_back(std::move(line));
  };
  for (const v1::Escalation& e : after) {
    auto it = before.find(e.id());
    if (it == before.end()) {
      add("new", e, LevelOrNone(e.level()),
          *RuleKindChinese(e.kind()) == '\0' ? e.summary()
                                             : RuleKindChinese(e.kind()));
      if (!IsOpen(e.state())) {
        add(EscalationStateName(e.state()), e, LevelOrNone(e.level()),
            e.resolution());
      }
      continue;
    }
    const v1::Escalation& old = it->second;
    if (e.level() != old.level()) {
      add("climbed", e,
          absl::StrCat(LevelChinese(old.level()), " → ", LevelLabel(e.level())),
          "");
    }
    if (e.count() > old.count()) {
      add("repeated", e, absl::StrCat("count ", e.count()), "");
    }
    if (e.state() == v1::OPEN && old.state() == v1::ACKNOWLEDGED) {
      add("resumed", e, LevelOrNone(e.level()),
          old.ack_due_micros() == 0
              ? std::string()
              : absl::StrCat("acknowledged until ",
                             CstDate(old.ack_due_micros())));
    } else if (e.state() != old.state()) {
      add(EscalationStateName(e.state()), e, LevelOrNone(e.level()),
          e.state() == v1::ACKNOWLEDGED ? e.measures() : e.resolution());
    }
  }
  return lines;
}

std::string FormatNotice(const v1::Notice& notice) {
  std::string title = notice.title();
  if (title.empty()) title = TruncateToWidth(notice.text(), 60);
  return absl::StrCat(OrNone(CstMinutes(notice.at_micros())), " CST  ",
                      LevelOrNone(notice.level()), "  ",
                      SeverityName(notice.severity()), "  ", OrNone(title),
                      "  ", OrNone(notice.escalation_id()), "  seq ",
                      notice.seq());
}

std::string FormatWebhook(const v1::Webhook& webhook) {
  return FormatFields(
      {{"webhook", webhook.id()},
       {"url", webhook.url()},
       {"recipients", absl::StrJoin(webhook.recipients(), ", ")},
       {"state", webhook.removed() ? "removed" : "active"}});
}

std::string FormatWebhooks(const v1::ListWebhooksResponse& response) {
  Table table({{"webhook"},
               {"url", Align::kLeft, 50},
               {"recipients", Align::kLeft, 0, /*shrink=*/true},
               {"state"}});
  table.SetMaxTotalWidth(kEscalationTableWidth);
  int removed = 0;
  for (const v1::Webhook& webhook : response.webhooks()) {
    if (webhook.removed()) ++removed;
    table.AddRow({webhook.id(), webhook.url(),
                  OrNone(absl::StrJoin(webhook.recipients(), ", ")),
                  webhook.removed() ? "removed" : "active"});
  }
  return absl::StrCat(
      response.webhooks_size() == 0 ? std::string() : table.Render(),
      Count(response.webhooks_size(), "webhook"),
      removed > 0 ? absl::StrCat(", ", removed, " removed") : std::string(),
      "\n");
}

std::string FormatClock(const v1::Clock& clock) {
  return absl::StrCat(OrNone(CstTime(clock.now_micros())), " (",
                      clock.simulated() ? "simulated" : "system", " clock)\n");
}

// A whole local file; the errno as a status naming the path otherwise
// (e.g. "data/admin.token: Is a directory").
absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, path);
  std::string contents;
  char buffer[1 << 14];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    contents.append(buffer, n);
  }
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) return absl::ErrnoToStatus(error, path);
  return contents;
}

}  // namespace duban::clients
