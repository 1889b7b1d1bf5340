// Human-readable renderings of duban.v1 messages for dubanctl, and the
// vocabulary they share (roles, progress statuses, judgements, principals).
// Pure functions of their arguments: no I/O.
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

#include "duban/v1/admin.pb.h"
#include "duban/v1/assignment.pb.h"
#include "duban/v1/plan.pb.h"
#include "duban/v1/reporting.pb.h"

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

// The progress-status vocabulary. NOT_STARTED / ON_TRACK / AT_RISK /
// BEHIND / COMPLETED are
//   name    "not-started" / "on-track" / "at-risk" / "behind" / "completed"
//   chinese "未开始" / "按计划推进" / "有风险" / "滞后" / "已完成"
//   label   "on-track 按计划推进", ...
const char* ProgressStatusName(v1::ProgressStatus status);
const char* ProgressStatusChinese(v1::ProgressStatus status);
std::string ProgressStatusLabel(v1::ProgressStatus status);

// The status `text` names: a name in any case with '-', '_' or ' ' between
// words ("on-track", "ON_TRACK", "On Track"), or the Chinese word.
std::optional<v1::ProgressStatus> ParseProgressStatus(std::string_view text);

// "task report" / "contribution".
const char* ReportKindName(v1::ReportKind kind);

// "on track" / "OFF TRACK" / "no data" / "not judged" ("-" if unspecified).
const char* JudgementName(v1::Judgement judgement);

const char* TargetKindName(v1::TargetKind kind);  // "cumulative", ...
const char* AttributeName(v1::IndicatorAttribute attribute);  // 预期性 / 约束性

// The principals that are not agencies, as the server names them.
inline constexpr const char* kRolePrincipals[] = {"admin", "supervisor",
                                                  "auditor"};
// "agency:<id>", the principal of an agency's credential.
std::string AgencyPrincipal(std::string_view agency_id);

// A number as people write it: at most 6 decimals, no trailing zeros
// (23.400000000000002 -> "23.4", 30 -> "30").
std::string FormatNumber(double value);

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

// The principal, with the agency's short name for "agency:<id>" when
// `agencies` knows it: "agency:qh-edu (省教育厅)".
std::string PrincipalLabel(std::string_view principal,
                           const AgencyDirectory& agencies);

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

// A stored progress report (SubmitProgress's answer): task, year, agency,
// role, kind, status, percent, summary, measures, evidence, revision, seq,
// time and principal.
std::string FormatProgressReport(const v1::ProgressReport& report,
                                 const AgencyDirectory& agencies);

// A stored indicator value (SubmitIndicatorValue's answer).
std::string FormatIndicatorValue(const v1::IndicatorValue& value,
                                 const AgencyDirectory& agencies);

// A task's progress: the task and its roles, then per year the task
// report(s) and contributions in full and, with `history`, a table of every
// submission of the year.
std::string FormatTaskProgress(const v1::TaskProgress& progress,
                               const AgencyDirectory& agencies, bool history);

// An indicator's header (name, unit, target, kind, attribute, baseline,
// responsible agencies and where that comes from, tolerance), then a table
// year | value | cumulative (CUMULATIVE only) | expected | judgement | note,
// then the count of each judgement.
std::string FormatIndicatorSeries(const v1::IndicatorSeries& series,
                                  const AgencyDirectory& agencies);

// The missing task reports, contributions and indicator values of a year,
// one section each with its count, agencies by short name; then the total.
std::string FormatMissingReports(const v1::MissingReports& missing,
                                 const AgencyDirectory& agencies);

// One credential's fields; a table of credentials with the count.
std::string FormatCredential(const v1::Credential& credential,
                             const AgencyDirectory& agencies);
std::string FormatCredentials(const v1::ListCredentialsResponse& response,
                              const AgencyDirectory& agencies);

// A newly issued credential with its token, and the warning that the token
// is stored nowhere and cannot be shown again.
std::string FormatIssuedToken(const v1::Credential& credential,
                              const std::string& token,
                              const AgencyDirectory& agencies);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_FORMAT_H_
