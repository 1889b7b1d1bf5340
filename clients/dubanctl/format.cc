// Renderings of duban.v1 messages for dubanctl (see format.h).
#include "clients/dubanctl/format.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "clients/dubanctl/table.h"

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
