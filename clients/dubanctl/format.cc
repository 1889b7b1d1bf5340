// Renderings of duban.v1 messages for dubanctl (see format.h).
#include "clients/dubanctl/format.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/dubanctl/table.h"

namespace duban::clients {
namespace {

constexpr int kTaskListWidth = 100;    // display columns of `tasks list`
constexpr int kTextWidth = 78;         // wrapped task text, after its indent
constexpr int kMatrixLabelWidth = 20;  // agency short names in `matrix`
constexpr char kNone[] = "-";

// Lines "key   value", keys padded to the widest; pairs with an empty value
// are left out.
using Fields = std::vector<std::pair<std::string, std::string>>;
std::string FormatFields(const Fields& fields) {
  int key_width = 0;
  for (const auto& [key, value] : fields) {
    if (!value.empty()) key_width = std::max(key_width, DisplayWidth(key));
  }
  std::string out;
  for (const auto& [key, value] : fields) {
    if (value.empty()) continue;
    absl::StrAppend(&out, PadToWidth(key, key_width), "  ", value, "\n");
  }
  return out;
}

std::string OrNone(const std::string& value) {
  return value.empty() ? std::string(kNone) : value;
}

std::string SectionLabel(const v1::Section& section) {
  return absl::StrCat(section.number(), " ", section.title());
}

std::string AgencyLabel(const AgencyDirectory& agencies,
                        const std::string& id) {
  return absl::StrCat(agencies.ShortName(id), " (", id, ")");
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
  const std::string lower = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
  for (v1::Role role : {v1::LEAD, v1::SHARED, v1::SUPPORT}) {
    if (lower == RoleName(role) || lower == RoleChinese(role)) return role;
  }
  if (lower == "牵头负责") return v1::LEAD;
  return std::nullopt;
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
    std::string baseline(kNone);
    if (indicator.has_baseline()) {
      const v1::Baseline& b = indicator.baseline();
      baseline =
          absl::StrCat(b.text().empty() ? absl::StrCat(b.value()) : b.text(),
                       " (", b.year(), ")");
    }
    table.AddRow({absl::StrCat(indicator.number()), indicator.name(),
                  OrNone(indicator.unit()), OrNone(indicator.target_text()),
                  std::string(TargetKindName(indicator.target_kind())),
                  std::string(AttributeName(indicator.attribute())), baseline});
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

}  // namespace duban::clients
