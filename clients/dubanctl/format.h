// Human-readable renderings of duban.v1 messages for dubanctl, and the role
// vocabulary they share. Pure functions of their arguments: no I/O.
//
//   AgencyDirectory agencies(list_agencies_response);
//   std::cout << FormatTask(task, agencies);
#ifndef DUBAN_CLIENTS_DUBANCTL_FORMAT_H_
#define DUBAN_CLIENTS_DUBANCTL_FORMAT_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duban/v1/assignment.pb.h"
#include "duban/v1/plan.pb.h"

namespace duban::clients {

// The role vocabulary (static strings). LEAD / SHARED / SUPPORT are
//   letter  "L" / "S" / "C"  (SUPPORT is "c" in the matrix, to recede)
//   name    "lead" / "shared" / "support"
//   chinese "牵头" / "按职责分工负责" / "配合"
//   label   "lead 牵头" / "shared 按职责分工负责" / "support 配合"
const char* RoleLetter(v1::Role role);
const char* RoleName(v1::Role role);
const char* RoleChinese(v1::Role role);
std::string RoleLabel(v1::Role role);

// The role `text` names: a name or enum name in any case ("lead", "LEAD"),
// or the Chinese phrase (牵头, 牵头负责, 按职责分工负责, 配合).
std::optional<v1::Role> ParseRole(std::string_view text);

const char* TargetKindName(v1::TargetKind kind);  // "cumulative", ...
const char* AttributeName(v1::IndicatorAttribute attribute);  // 预期性 / 约束性

// Agencies and groups by id, for display.
class AgencyDirectory {
 public:
  explicit AgencyDirectory(v1::ListAgenciesResponse response);

  const v1::ListAgenciesResponse& response() const { return response_; }
  // nullptr when unknown.
  const v1::Agency* FindAgency(std::string_view id) const;
  const v1::AgencyGroup* FindGroup(std::string_view id) const;
  // The agency's short name, else its full name, else `id` itself.
  std::string ShortName(std::string_view id) const;
  // The group's name, else `id` itself.
  std::string GroupName(std::string_view id) const;

 private:
  v1::ListAgenciesResponse response_;
  std::map<std::string, int, std::less<>> agency_index_;
  std::map<std::string, int, std::less<>> group_index_;
};

// The agency's responsibility on `task`, or nullptr.
const v1::Responsibility* FindResponsibility(const v1::Task& task,
                                             std::string_view agency_id);

// "L:省人力资源社会保障厅,省教育厅 S:省财政厅 C:各市州政府": agencies by
// short name in the task's order, agencies that came from a group shown once
// as the group's name.
std::string RolesSummary(const v1::Task& task, const AgencyDirectory& agencies);

// The plan's summary: title, document number, issuer, period, counts,
// sections, hashes and revision.
std::string FormatPlan(const v1::Plan& plan);

// An import's outcome: changed / no changes, the changes, warnings
// ("warning: <where>: <message>"), the seq range and the plan summary.
std::string FormatImport(const v1::ImportPlanResponse& response, bool dry_run);

// A table of tasks fitting in about 100 columns. With a non-empty
// `agency_id`, a column shows that agency's role in each task.
std::string FormatTaskList(const std::vector<v1::Task>& tasks,
                           const AgencyDirectory& agencies,
                           std::string_view agency_id);

// One task in full: number, section, wrapped text, the assignment as
// written, convener, open lists, revision and its responsibilities.
std::string FormatTask(const v1::Task& task, const AgencyDirectory& agencies);

// The agencies, then the groups with their member counts.
std::string FormatAgencies(const AgencyDirectory& agencies);

std::string FormatIndicators(const v1::ListIndicatorsResponse& response);

// One agency's row of the responsibility matrix.
struct MatrixRow {
  std::string agency_id;
  std::map<int, v1::Role> roles;  // task number -> role
};

// The matrix rows of `tasks`: one per agency holding a role (of `role`, when
// given; only `agency_id`'s, when non-empty), ordered by the number of tasks
// held (descending), then agency id.
std::vector<MatrixRow> BuildMatrix(const std::vector<v1::Task>& tasks,
                                   std::string_view agency_id,
                                   std::optional<v1::Role> role);

// The matrix as text: agency rows (short names) × task columns with cells
// L / S / c / "·", the task numbers written vertically, a gap between
// sections, each row's count, a legend and the row count.
std::string FormatMatrix(const std::vector<v1::Task>& tasks,
                         const std::vector<MatrixRow>& rows,
                         const AgencyDirectory& agencies);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_FORMAT_H_
