// Human-readable renderings of duban.v1 messages for dubanctl, and the
// vocabulary they share (roles, progress statuses, judgements, principals,
// the escalation ladder, times in China Standard Time). Pure functions of
// their arguments: no I/O.
//
//   AgencyDirectory agencies(list_agencies_response);
//   std::cout << FormatTask(task, agencies);
#ifndef DUBAN_CLIENTS_DUBANCTL_FORMAT_H_
#define DUBAN_CLIENTS_DUBANCTL_FORMAT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "duban/v1/admin.pb.h"
#include "duban/v1/assignment.pb.h"
#include "duban/v1/plan.pb.h"
#include "duban/v1/reporting.pb.h"
#include "duban/v1/supervision.pb.h"
#include "google/protobuf/message.h"

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

// ---------------------------------------------------------------------------
// Supervision (督促检查): the ladder's vocabulary, times in China Standard
// Time, rulesets, escalations and notices.

// The rungs of the ladder. REMINDER / URGING / SUPERVISION / CIRCULATION are
//   chinese "提醒" / "催办" / "督办" / "通报"
//   name    "reminder" / "urging" / "supervision" / "circulation"
//   label   "提醒 reminder", "催办 urging", ...
// (unspecified: "" / "unspecified" / "unspecified").
const char* LevelChinese(v1::Level level);
const char* LevelName(v1::Level level);
std::string LevelLabel(v1::Level level);

// The level `text` names: the name or enum name in any case ("urging",
// "URGING") or the Chinese word (催办).
std::optional<v1::Level> ParseLevel(std::string_view text);

// "notice" / "warning" / "serious" / "critical" ("unspecified").
const char* SeverityName(v1::Severity severity);
// A name or enum name in any case.
std::optional<v1::Severity> ParseSeverity(std::string_view text);

// The escalation states. OPEN / ACKNOWLEDGED / RESOLVED / CLEARED are
//   name    "open" / "acknowledged" / "resolved" / "cleared"
//   chinese "待签收" / "已签收" / "已办结" / "已销号"
//   label   "open 待签收", ...
const char* EscalationStateName(v1::EscalationState state);
const char* EscalationStateChinese(v1::EscalationState state);
std::string EscalationStateLabel(v1::EscalationState state);
// A name or enum name in any case, or the Chinese word.
std::optional<v1::EscalationState> ParseEscalationState(std::string_view text);
// Whether the escalation is still open (OPEN or ACKNOWLEDGED).
bool IsOpen(v1::EscalationState state);

// The rule kinds. REPORT_OVERDUE / CONTRIBUTIONS_MISSING /
// INDICATOR_OFF_TRACK / TASK_AT_RISK / MIDTERM_GATE are
//   name    "report-overdue" / "contributions-missing" /
//           "indicator-off-track" / "task-at-risk" / "midterm-gate"
//   chinese "年度报告逾期" / "配合单位未报送" / "指标偏离进度" /
//           "任务有风险或滞后" / "中期评估未达标"
const char* RuleKindName(v1::RuleKind kind);
const char* RuleKindChinese(v1::RuleKind kind);

// "responsible-agencies" / "supervisors" / "provincial-government".
const char* AudienceName(v1::Audience audience);

// The notice recipients that are not agencies.
inline constexpr char kSupervisorRecipient[] = "supervisor";
inline constexpr char kProvincialGovernmentRecipient[] =
    "provincial-government";

// The recipient `text` names without looking up agencies: "supervisor" or
// "provincial-government" (any case, surrounding whitespace ignored), or
// "agency:<id>" as written; nullopt for anything else (an agency's name, to
// be resolved to "agency:<id>"), and for "agency:" without an id.
std::optional<std::string> FixedRecipient(std::string_view text);

// China Standard Time, UTC+8 all year: plan dates and deadlines are in it.
absl::TimeZone ChinaStandardTime();

// Unix microseconds in CST: "2022-02-01 09:00:00 CST" / "2022-02-01 09:00"
// / "2022-02-01"; "" for 0.
std::string CstTime(int64_t micros);
std::string CstMinutes(int64_t micros);
std::string CstDate(int64_t micros);

// "YYYY-MM-DD" (CST) as Unix microseconds of 23:59:59 that day: the due date
// of an acknowledgement. INVALID_ARGUMENT for anything else, or a date that
// does not exist (2023-02-29).
absl::StatusOr<int64_t> EndOfCstDayMicros(std::string_view date);

// "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DD HH:MM" (CST; a date alone
// is its midnight) as Unix microseconds. INVALID_ARGUMENT otherwise.
absl::StatusOr<int64_t> ParseCstTime(std::string_view text);

// A positive duration written as numbers with units w (weeks), d (days), h,
// m (minutes) and s: "30d", "12h", "90m", "1w", "1d12h". INVALID_ARGUMENT
// for anything else, zero included.
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);
// A duration in those units, whole seconds: "1w2d", "12h", "1d1h30m", "0s".
std::string DurationText(absl::Duration duration);

// Parses protobuf text format into `message`. INVALID_ARGUMENT with every
// error as "<source>:<line>:<column>: <message>".
absl::Status ParseTextProto(std::string_view text, std::string_view source,
                            google::protobuf::Message* message);

// `message` in protobuf text format, Chinese kept readable (not escaped).
std::string TextProto(const google::protobuf::Message& message);

// A ruleset as a file `rules put` reads: comment lines naming the message,
// the plan, version, hash and seq, then the ruleset in text format.
std::string FormatRulesetFile(const v1::RulesetVersion& version);

// What a ruleset holds, for people: version, hash and seq, then each
// policy's ladder, a rung a line ("督办 supervision  after 14d  to agencies,
// supervisors"), then a table of the rules (id, kind, severity, policy,
// settings such as the deadline or tolerance, on/off).
std::string FormatRulesetSummary(const v1::RulesetVersion& version);

// An evaluation's outcome: "opened 2, raised 1, closed 0, notices 5
// (seq 812-820)" or "nothing changed".
std::string FormatEvaluate(const v1::EvaluateResponse& response);

// Indicator names by number, for subjects (may be empty).
using IndicatorNames = std::map<int, std::string>;

// "task 18", "indicator 7 劳动年龄人口平均受教育年限" (the name when known),
// "plan" when neither.
std::string SubjectText(const v1::Subject& subject,
                        const IndicatorNames& indicators);

// A table of escalations in the order they opened (by the seq in their
// "esc-<seq>" id): id, level, severity, state, subject, agency, year,
// count, opened (CST date), summary, within 140 columns (the summary cut to
// fit); then the count by state.
std::string FormatEscalations(std::vector<v1::Escalation> escalations,
                              const AgencyDirectory& agencies,
                              const IndicatorNames& indicators);

// One escalation in full, then its timeline as a table (seq, time (CST),
// what, by, cause: the seq of the event behind the step, "clock" for the
// engine's own steps without one, "-" for an act such as 签收; detail).
std::string FormatEscalation(const v1::Escalation& escalation,
                             const AgencyDirectory& agencies,
                             const IndicatorNames& indicators);

// The open escalations by level and how many of them are acknowledged:
// "7 open: 提醒 reminder 2, 催办 urging 2, 督办 supervision 2,
// 通报 circulation 1 (1 acknowledged); closed: 2 cleared, 1 resolved".
std::string FormatLevelSummary(const std::vector<v1::Escalation>& escalations);

// What changed between two listings of the same escalations, one line
// each: "new" (with its rule kind), "climbed" (提醒 → 催办), "repeated" (its
// count rose), "acknowledged" (with the measures), "resumed" (acknowledged
// no more: its due date passed), "cleared" or "resolved" (with the
// resolution); in `after`'s order. Unchanged escalations give no line.
std::vector<std::string> DescribeEscalationChanges(
    const std::map<std::string, v1::Escalation>& before,
    const std::vector<v1::Escalation>& after, const AgencyDirectory& agencies,
    const IndicatorNames& indicators);

// One notice on one line: time (CST), level, severity, title, escalation id
// and seq, e.g. "2022-02-15 09:00 CST  督办 supervision  warning
// 【督办】任务18 2021年度进展报告逾期  esc-812  seq 830".
std::string FormatNotice(const v1::Notice& notice);

// Webhooks: one in full; a table (id, url, recipients, state) with the count.
std::string FormatWebhook(const v1::Webhook& webhook);
std::string FormatWebhooks(const v1::ListWebhooksResponse& response);

// "2022-02-01 09:00:00 CST (simulated clock)" / "(system clock)".
std::string FormatClock(const v1::Clock& clock);

// The whole contents of a local file; the errno as a status naming the path.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_FORMAT_H_
