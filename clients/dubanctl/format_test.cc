// Tests of dubanctl's renderings, on a plan shaped like the Qinghai one.
#include "clients/dubanctl/format.h"
#include "clients/dubanctl/test_agencies.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "clients/dubanctl/table.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace duban::clients {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Le;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::vector<int> Widths(const std::vector<std::string>& lines) {
  std::vector<int> widths;
  for (const auto& line : lines) widths.push_back(DisplayWidth(line));
  return widths;
}

AgencyDirectory Directory() { return AgencyDirectory(test_fixtures::TestAgencies()); }

void AddRole(v1::Task* task, const std::string& agency, v1::Role role,
             const std::string& group = "") {
  v1::Responsibility* r = task->add_responsibilities();
  r->set_agency_id(agency);
  r->set_role(role);
  r->set_via_group_id(group);
  r->set_reason("plan text");
}

// 44 tasks in the plan's sections. Every task: qh-hrss leads; odd tasks: qh-drc
// leads too; tasks 1-10: qh-edu shares; every fifth: the cities support.
std::vector<v1::Task> Tasks() {
  const struct {
    const char* number;
    int last_task;
  } kSections[] = {{"三", 7},  {"四", 17}, {"五", 26},
                   {"六", 32}, {"七", 40}, {"八", 44}};
  std::vector<v1::Task> tasks;
  int section = 0;
  for (int n = 1; n <= 44; ++n) {
    if (n > kSections[section].last_task) ++section;
    v1::Task& task = tasks.emplace_back();
    task.set_plan_id("qinghai-employment-2021");
    task.set_number(n);
    task.mutable_section()->set_number(kSections[section].number);
    task.mutable_section()->set_title("促进经济增长推动就业扩容提质");
    task.set_text(
        "坚持经济发展就业导向，健全有利于更充分更高质量就业的促进机制，扩大就业"
        "容量，"
        "提升就业质量，促进充分就业。实施就业优先政策，推动财政、货币、投资、消"
        "费、"
        "产业、区域等政策与就业政策协调联动。");
    AddRole(&task, "qh-hrss", v1::LEAD);
    if (n % 2 == 1) AddRole(&task, "qh-drc", v1::LEAD);
    if (n <= 10) AddRole(&task, "qh-edu", v1::SHARED);
    if (n % 5 == 0) {
      AddRole(&task, "xining", v1::SUPPORT, "cities");
      AddRole(&task, "haidong", v1::SUPPORT, "cities");
    }
    task.set_convener_agency_id("qh-hrss");
    task.set_assignment_text("(省人力资源社会保障厅牵头负责，各市州政府配合)");
  }
  return tasks;
}

TEST(RoleTest, ParsesNamesAndChinese) {
  EXPECT_EQ(ParseRole("lead"), v1::LEAD);
  EXPECT_EQ(ParseRole("LEAD"), v1::LEAD);
  EXPECT_EQ(ParseRole("Shared"), v1::SHARED);
  EXPECT_EQ(ParseRole(" support "), v1::SUPPORT);
  EXPECT_EQ(ParseRole("牵头"), v1::LEAD);
  EXPECT_EQ(ParseRole("牵头负责"), v1::LEAD);
  EXPECT_EQ(ParseRole("按职责分工负责"), v1::SHARED);
  EXPECT_EQ(ParseRole("配合"), v1::SUPPORT);
  EXPECT_EQ(ParseRole("boss"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
  EXPECT_EQ(ParseRole("unspecified"), std::nullopt);
}

TEST(RoleTest, Vocabulary) {
  EXPECT_STREQ(RoleLetter(v1::SUPPORT), "C");
  EXPECT_EQ(RoleLabel(v1::SHARED), "shared 按职责分工负责");
  EXPECT_EQ(RoleLabel(v1::ROLE_UNSPECIFIED), "unspecified");
}

TEST(AgencyDirectoryTest, Names) {
  const AgencyDirectory agencies = Directory();
  EXPECT_EQ(agencies.ShortName("qh-edu"), "省教育厅");
  EXPECT_EQ(agencies.ShortName("qh-unknown"), "qh-unknown");
  EXPECT_EQ(agencies.GroupName("cities"), "各市州政府");
  EXPECT_EQ(agencies.FindAgency("nope"), nullptr);
}

TEST(RolesSummaryTest, ShowsGroupsOnce) {
  EXPECT_EQ(RolesSummary(Tasks()[9], Directory()),
            "L:省人力资源社会保障厅 S:省教育厅 C:各市州政府");
  EXPECT_EQ(RolesSummary(Tasks()[0], Directory()),
            "L:省人力资源社会保障厅,省发展改革委 S:省教育厅");
}

TEST(FormatTaskListTest, FitsHundredColumns) {
  const std::vector<v1::Task> tasks = Tasks();
  for (const char* agency : {"", "qh-edu"}) {
    std::vector<std::string> lines =
        Lines(FormatTaskList(tasks, Directory(), agency));
    ASSERT_EQ(lines.size(), 2 + 44 + 1u);
    EXPECT_EQ(lines.back(), "44 task(s)");
    lines.pop_back();
    EXPECT_THAT(Widths(lines), Each(Le(100))) << agency;
    EXPECT_THAT(Widths(lines), Each(DisplayWidth(lines[0]))) << agency;
  }
  const std::string with_role = FormatTaskList(tasks, Directory(), "qh-edu");
  EXPECT_THAT(Lines(with_role)[0], HasSubstr("role"));
  EXPECT_THAT(Lines(with_role)[2], HasSubstr(" shared "));  // task 1
  EXPECT_THAT(Lines(with_role)[12], HasSubstr(" -  "));     // task 11
}

TEST(FormatTaskTest, ShowsEverything) {
  v1::Task task = Tasks()[4];
  task.add_open_list_roles(v1::SHARED);
  task.set_revision(57);
  const std::string text = FormatTask(task, Directory());
  const std::vector<std::string> lines = Lines(text);
  EXPECT_EQ(lines[0], "task 5  section 三 促进经济增长推动就业扩容提质");
  EXPECT_THAT(lines[2], testing::StartsWith("  坚持经济发展就业导向"));
  EXPECT_THAT(Widths(lines), Each(Le(100)));
  EXPECT_THAT(
      text,
      HasSubstr(
          "as written  (省人力资源社会保障厅牵头负责，各市州政府配合)\n"));
  EXPECT_THAT(text, HasSubstr("convener    省人力资源社会保障厅 (qh-hrss)\n"));
  EXPECT_THAT(text, HasSubstr("open lists  shared (等: the list is open)\n"));
  EXPECT_THAT(text, HasSubstr("revision    57\n"));
  const std::string& xining = lines[lines.size() - 2];
  EXPECT_THAT(xining, testing::StartsWith("support 配合  "));
  EXPECT_THAT(xining, testing::ContainsRegex(
                          "西宁市 +西宁市人民政府 +各市州政府 +plan text +0$"));
  EXPECT_THAT(Widths({lines.end() - 7, lines.end()}),
              Each(DisplayWidth(lines.back())));
}

TEST(BuildMatrixTest, OrdersByTasksHeldThenId) {
  const std::vector<MatrixRow> rows = BuildMatrix(Tasks(), "", std::nullopt);
  std::vector<std::string> ids;
  for (const MatrixRow& row : rows) ids.push_back(row.agency_id);
  // 44, 22, 10, then the cities (8 each) by id.
  EXPECT_THAT(ids,
              ElementsAre("qh-hrss", "qh-drc", "qh-edu", "haidong", "xining"));
  EXPECT_EQ(rows[0].roles.size(), 44u);
}

TEST(BuildMatrixTest, FiltersRowsByRoleAndAgency) {
  std::vector<MatrixRow> rows = BuildMatrix(Tasks(), "", v1::SUPPORT);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].agency_id, "haidong");
  EXPECT_EQ(rows[0].roles.size(), 8u);

  rows = BuildMatrix(Tasks(), "qh-edu", std::nullopt);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].roles.size(), 10u);
  EXPECT_TRUE(BuildMatrix(Tasks(), "qh-edu", v1::LEAD).empty());
}

TEST(FormatMatrixTest, FitsA120ColumnTerminal) {
  const std::vector<v1::Task> tasks = Tasks();
  const std::string text =
      FormatMatrix(tasks, BuildMatrix(tasks, "", std::nullopt), Directory());
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 2 + 5 + 3u);
  const std::vector<std::string> grid(lines.begin(), lines.begin() + 7);
  EXPECT_THAT(Widths(grid), Each(DisplayWidth(grid[0])));
  EXPECT_THAT(Widths(lines), Each(Le(120)));
  // Task numbers written vertically, an extra space between sections
  // (after tasks 7, 17, 26, 32 and 40).
  EXPECT_EQ(grid[0],
            "                                         1 1 1 1 1 1 1 1  1 1 2 2 "
            "2 2 2 2 2  2 2 2 3 3 3  3 3 3 3 3 3 3 4  4 4 4 4     ");
  EXPECT_EQ(grid[1],
            "agency                1 2 3 4 5 6 7  8 9 0 1 2 3 4 5 6 7  8 9 0 1 "
            "2 3 4 5 6  7 8 9 0 1 2  3 4 5 6 7 8 9 0  1 2 3 4    n");
  EXPECT_EQ(grid[2],
            "省人力资源社会保障厅  L L L L L L L  L L L L L L L L L L  L L L L "
            "L L L L L  L L L L L L  L L L L L L L L  L L L L   44");
  EXPECT_EQ(grid[4],
            "省教育厅              S S S S S S S  S S S · · · · · · ·  · · · · "
            "· · · · ·  · · · · · ·  · · · · · · · ·  · · · ·   10");
  EXPECT_EQ(grid[5],
            "海东市                · · · · c · ·  · · c · · · · c · ·  · · c · "
            "· · · c ·  · · · c · ·  · · c · · · · c  · · · ·    8");
  EXPECT_EQ(lines[7], "");
  EXPECT_EQ(lines[8],
            "L lead 牵头   S shared 按职责分工负责   c support 配合   · none");
  EXPECT_EQ(lines[9], "5 agencies x 44 tasks");
}

TEST(FormatImportTest, ReportsOutcome) {
  v1::ImportPlanResponse response;
  response.add_warnings()->set_where("二(三)");
  response.mutable_warnings(0)->set_message("breakdown adds up to 62, not 42");
  std::string text = FormatImport(response, /*dry_run=*/false);
  EXPECT_THAT(text, testing::StartsWith("no changes\n"));
  EXPECT_THAT(text,
              HasSubstr("warning: 二(三): breakdown adds up to 62, not 42\n"));
  EXPECT_THAT(text, HasSubstr("seq: nothing written\n"));

  response.set_changed(true);
  response.set_first_seq(1);
  response.set_last_seq(45);
  v1::PlanChange* change = response.add_changes();
  change->set_kind("task.defined");
  change->set_description("task 1 defined");
  response.mutable_plan()->set_title("青海省“十四五”就业促进规划");
  text = FormatImport(response, /*dry_run=*/false);
  EXPECT_THAT(text, testing::StartsWith("changed: 1 change(s)\n"));
  EXPECT_THAT(text, HasSubstr("task.defined  task 1 defined"));
  EXPECT_THAT(text, HasSubstr("seq 1-45\n"));
  EXPECT_THAT(text, HasSubstr("\ntitle       青海省“十四五”就业促进规划\n"));
  EXPECT_THAT(text, testing::Not(HasSubstr("period")));  // no years: no period
  EXPECT_THAT(FormatImport(response, /*dry_run=*/true),
              testing::StartsWith("would change (dry run, nothing written)"));
}

TEST(FormatIndicatorsTest, Rows) {
  v1::ListIndicatorsResponse response;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        indicators {
          number: 1
          name: "城镇新增就业"
          unit: "万人"
          target_kind: CUMULATIVE
          target_value: 30
          target_text: "〔30〕"
          attribute: EXPECTED
          baseline { year: 2020 value: 31.2 kind: CUMULATIVE text: "〔31.2〕" }
        }
        indicators {
          number: 2
          name: "城镇调查失业率"
          unit: "%"
          target_kind: CEILING
          target_text: "控制在5.5%左右"
          attribute: BINDING
        }
      )pb",
      &response));
  const std::vector<std::string> lines = Lines(FormatIndicators(response));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[2],
            "1  城镇新增就业    万人  〔30〕          cumulative  预期性     "
            "〔31.2〕 (2020)");
  EXPECT_EQ(lines[3],
            "2  城镇调查失业率  %     控制在5.5%左右  ceiling     约束性     - "
            "             ");
  EXPECT_EQ(lines[4], "2 indicator(s)");
}

TEST(ProgressStatusTest, ParsesNamesEnumNamesAndChinese) {
  EXPECT_EQ(ParseProgressStatus("on-track"), v1::ON_TRACK);
  EXPECT_EQ(ParseProgressStatus("ON_TRACK"), v1::ON_TRACK);
  EXPECT_EQ(ParseProgressStatus(" On Track "), v1::ON_TRACK);
  EXPECT_EQ(ParseProgressStatus("not_started"), v1::NOT_STARTED);
  EXPECT_EQ(ParseProgressStatus("Not-Started"), v1::NOT_STARTED);
  EXPECT_EQ(ParseProgressStatus("AT_RISK"), v1::AT_RISK);
  EXPECT_EQ(ParseProgressStatus("behind"), v1::BEHIND);
  EXPECT_EQ(ParseProgressStatus("COMPLETED"), v1::COMPLETED);
  EXPECT_EQ(ParseProgressStatus("未开始"), v1::NOT_STARTED);
  EXPECT_EQ(ParseProgressStatus("按计划推进"), v1::ON_TRACK);
  EXPECT_EQ(ParseProgressStatus("有风险"), v1::AT_RISK);
  EXPECT_EQ(ParseProgressStatus("滞后"), v1::BEHIND);
  EXPECT_EQ(ParseProgressStatus("已完成"), v1::COMPLETED);
  EXPECT_EQ(ParseProgressStatus("done"), std::nullopt);
  EXPECT_EQ(ParseProgressStatus("ontrack"), std::nullopt);
  EXPECT_EQ(ParseProgressStatus("unspecified"), std::nullopt);
  EXPECT_EQ(ParseProgressStatus(""), std::nullopt);
}

TEST(ProgressStatusTest, NamesRoundTrip) {
  for (v1::ProgressStatus status : {v1::NOT_STARTED, v1::ON_TRACK, v1::AT_RISK,
                                    v1::BEHIND, v1::COMPLETED}) {
    EXPECT_EQ(ParseProgressStatus(ProgressStatusName(status)), status);
    EXPECT_EQ(ParseProgressStatus(ProgressStatusChinese(status)), status);
  }
  EXPECT_EQ(ProgressStatusLabel(v1::AT_RISK), "at-risk 有风险");
  EXPECT_EQ(ProgressStatusLabel(v1::PROGRESS_STATUS_UNSPECIFIED),
            "unspecified");
}

TEST(VocabularyTest, KindsJudgementsPrincipalsNumbers) {
  EXPECT_STREQ(ReportKindName(v1::TASK_REPORT), "task report");
  EXPECT_STREQ(ReportKindName(v1::CONTRIBUTION), "contribution");
  EXPECT_STREQ(JudgementName(v1::JUDGEMENT_ON_TRACK), "on track");
  EXPECT_STREQ(JudgementName(v1::JUDGEMENT_OFF_TRACK), "OFF TRACK");
  EXPECT_STREQ(JudgementName(v1::JUDGEMENT_NO_DATA), "no data");
  EXPECT_STREQ(JudgementName(v1::JUDGEMENT_NOT_JUDGED), "not judged");
  EXPECT_EQ(AgencyPrincipal("qh-edu"), "agency:qh-edu");
  EXPECT_EQ(PrincipalLabel("agency:qh-edu", Directory()),
            "agency:qh-edu (省教育厅)");
  EXPECT_EQ(PrincipalLabel("agency:qh-nope", Directory()), "agency:qh-nope");
  EXPECT_EQ(PrincipalLabel("supervisor", Directory()), "supervisor");
  EXPECT_EQ(FormatNumber(30), "30");
  EXPECT_EQ(FormatNumber(12.3 + 11.1), "23.4");
  EXPECT_EQ(FormatNumber(5.5), "5.5");
  EXPECT_EQ(FormatNumber(-0.0000001), "0");
  EXPECT_EQ(FormatNumber(-2.25), "-2.25");
}

v1::ProgressReport Report(const std::string& agency, v1::Role role,
                          v1::ReportKind kind, v1::ProgressStatus status,
                          uint32_t revision, uint64_t seq) {
  v1::ProgressReport report;
  report.set_plan_id("qinghai-employment-2021");
  report.set_task_number(12);
  report.set_year(2023);
  report.set_agency_id(agency);
  report.set_role(role);
  report.set_kind(kind);
  report.set_status(status);
  report.set_summary(absl::StrCat("revision ", revision, " of ", agency));
  report.set_revision(revision);
  report.set_seq(seq);
  report.set_recorded_at_micros(1700000000000000);  // 2023-11-14 22:13:20 UTC
  report.set_principal(absl::StrCat("agency:", agency));
  return report;
}

TEST(FormatProgressReportTest, ShowsTheStoredReport) {
  v1::ProgressReport report =
      Report("qh-edu", v1::LEAD, v1::TASK_REPORT, v1::ON_TRACK, 2, 431);
  report.set_measures("出台高校毕业生就业创业十条措施");
  report.add_evidence_refs("青教〔2023〕12号");
  report.add_evidence_refs("https://example.org/report.pdf");
  report.set_percent_complete(60);
  const std::string text = FormatProgressReport(report, Directory());
  EXPECT_THAT(text, HasSubstr("task      12\n"));
  EXPECT_THAT(text, HasSubstr("year      2023\n"));
  EXPECT_THAT(text, HasSubstr("agency    省教育厅 (qh-edu)\n"));
  EXPECT_THAT(text, HasSubstr("role      lead 牵头\n"));
  EXPECT_THAT(text, HasSubstr("kind      task report\n"));
  EXPECT_THAT(text, HasSubstr("status    on-track 按计划推进\n"));
  EXPECT_THAT(text, HasSubstr("percent   60%\n"));
  EXPECT_THAT(text, HasSubstr("evidence  青教〔2023〕12号\n"
                              "          https://example.org/report.pdf\n"));
  EXPECT_THAT(text, HasSubstr("revision  2\n"));
  EXPECT_THAT(text, HasSubstr("seq       431\n"));
  EXPECT_THAT(text, HasSubstr("recorded  2023-11-14 22:13:20 UTC\n"));
  EXPECT_THAT(text, HasSubstr("by        agency:qh-edu\n"));

  report.clear_percent_complete();
  report.set_kind(v1::CONTRIBUTION);
  const std::string contribution = FormatProgressReport(report, Directory());
  EXPECT_THAT(contribution, HasSubstr("kind      contribution\n"));
  EXPECT_THAT(contribution, testing::Not(HasSubstr("percent")));
}

TEST(FormatProgressReportTest, WrapsLongSummaries) {
  v1::ProgressReport report =
      Report("qh-edu", v1::LEAD, v1::TASK_REPORT, v1::BEHIND, 1, 7);
  report.set_summary(Tasks()[0].text());  // 100+ characters of Chinese
  const std::vector<std::string> lines =
      Lines(FormatProgressReport(report, Directory()));
  EXPECT_THAT(Widths(lines), Each(Le(80)));
  const auto summary = std::find_if(lines.begin(), lines.end(), [](auto& l) {
    return absl::StartsWith(l, "summary");
  });
  ASSERT_NE(summary, lines.end());
  EXPECT_THAT(*(summary + 1), testing::StartsWith("          "));  // aligned
}

TEST(FormatIndicatorValueTest, Fields) {
  v1::IndicatorValue value;
  value.set_indicator_number(1);
  value.set_year(2022);
  value.set_value(6.15);
  value.set_source_note("2022年统计公报");
  value.set_agency_id("qh-hrss");
  value.set_revision(1);
  value.set_seq(90);
  value.set_principal("admin");
  const std::string text = FormatIndicatorValue(value, Directory());
  EXPECT_THAT(text, HasSubstr("indicator  1\n"));
  EXPECT_THAT(text, HasSubstr("value      6.15\n"));
  EXPECT_THAT(text, HasSubstr("source     2022年统计公报\n"));
  EXPECT_THAT(text, HasSubstr("agency     省人力资源社会保障厅 (qh-hrss)\n"));
  EXPECT_THAT(text, HasSubstr("by         admin\n"));
  EXPECT_THAT(text, testing::Not(HasSubstr("recorded")));  // no time: no line
}

v1::TaskProgress Progress() {
  v1::TaskProgress progress;
  *progress.mutable_task() = Tasks()[9];  // task 10
  v1::YearProgress* y2022 = progress.add_years();
  y2022->set_year(2022);
  v1::YearProgress* y2023 = progress.add_years();
  y2023->set_year(2023);
  const v1::ProgressReport first =
      Report("qh-hrss", v1::LEAD, v1::TASK_REPORT, v1::AT_RISK, 1, 400);
  v1::ProgressReport second =
      Report("qh-hrss", v1::LEAD, v1::TASK_REPORT, v1::ON_TRACK, 2, 431);
  second.set_percent_complete(75);
  const v1::ProgressReport edu =
      Report("qh-edu", v1::SHARED, v1::CONTRIBUTION, v1::COMPLETED, 1, 420);
  *y2023->add_task_reports() = second;
  *y2023->add_contributions() = edu;
  *y2023->add_history() = first;
  *y2023->add_history() = edu;
  *y2023->add_history() = second;
  return progress;
}

TEST(FormatTaskProgressTest, YearsReportsAndContributions) {
  const std::string text = FormatTaskProgress(Progress(), Directory(), false);
  const std::vector<std::string> lines = Lines(text);
  EXPECT_EQ(lines[0], "task 10  section 四 促进经济增长推动就业扩容提质");
  EXPECT_THAT(text,
              HasSubstr("  L:省人力资源社会保障厅 S:省教育厅 C:各市州政府\n"));
  EXPECT_THAT(text, HasSubstr("\n2022\n  task report: none\n"
                              "  contributions: none\n\n2023\n"));
  EXPECT_THAT(text,
              HasSubstr("  task report  省人力资源社会保障厅 (qh-hrss), lead "
                        "牵头  on-track 按计划推进  75%\n"
                        "    summary   revision 2 of qh-hrss\n"
                        "    revision  2 (seq 431, 2023-11-14 22:13:20 UTC, "
                        "by agency:qh-hrss)\n"));
  EXPECT_THAT(text, HasSubstr("  contribution  省教育厅 (qh-edu), shared "
                              "按职责分工负责  completed 已完成\n"));
  EXPECT_THAT(text, testing::Not(HasSubstr("history")));
}

TEST(FormatTaskProgressTest, HistoryListsEverySubmission) {
  const std::string text = FormatTaskProgress(Progress(), Directory(), true);
  EXPECT_THAT(text, HasSubstr("  history: 0 submissions\n"));  // 2022
  EXPECT_THAT(text, HasSubstr("  history: 3 submissions\n"));
  const std::vector<std::string> lines = Lines(text);
  const auto header = std::find_if(lines.begin(), lines.end(), [](auto& l) {
    return absl::StartsWith(l, "    rev  agency");
  });
  ASSERT_NE(header, lines.end());
  ASSERT_GE(lines.end() - header, 5);
  EXPECT_THAT(*header,
              testing::ContainsRegex(
                  "^    rev  agency +kind +status +% +seq +recorded "
                  "\\(UTC\\) +summary"));  // no "by": all by themselves
  EXPECT_THAT(*(header + 2), testing::ContainsRegex(
                                 "^      1  省人力资源社会保障厅  task report "
                                 "+at-risk +- +400  2023-11-14 22:13  "
                                 "revision 1 of qh-hrss"));
  EXPECT_THAT(*(header + 3), testing::ContainsRegex(
                                 "^      1  省教育厅 +contribution +"
                                 "completed +- +420 .* revision 1 of qh-edu"));
  EXPECT_THAT(*(header + 4), testing::ContainsRegex(
                                 "^      2  .* on-track +75% +431 +"
                                 "2023-11-14 22:13  revision 2 of qh-hrss"));
  EXPECT_THAT(Widths(lines), Each(Le(120)));

  // Submitted by admin for an agency: a "by" column.
  v1::TaskProgress progress = Progress();
  progress.mutable_years(1)->mutable_history(1)->set_principal("admin");
  const std::string by = FormatTaskProgress(progress, Directory(), true);
  EXPECT_THAT(by, testing::ContainsRegex("recorded \\(UTC\\) +by +summary"));
  EXPECT_THAT(by, testing::ContainsRegex("22:13  admin +revision 1 of qh-edu"));
  EXPECT_THAT(Widths(lines), Each(Le(120)));
}

v1::IndicatorSeries Series(v1::TargetKind kind) {
  v1::IndicatorSeries series;
  series.set_tolerance(0.05);
  v1::Indicator* indicator = series.mutable_indicator();
  indicator->set_number(1);
  indicator->set_name("城镇新增就业");
  indicator->set_unit("万人");
  indicator->set_target_kind(kind);
  indicator->set_target_value(30);
  indicator->set_target_text("〔30〕");
  indicator->set_attribute(v1::EXPECTED);
  indicator->mutable_baseline()->set_year(2020);
  indicator->mutable_baseline()->set_value(31.2);
  indicator->mutable_baseline()->set_text("〔31.2〕");
  indicator->add_responsible_agency_ids("qh-hrss");
  indicator->add_responsible_agency_ids("qh-drc");
  indicator->set_responsibility_source("专栏2 注; 三(一)");
  const struct {
    int year;
    double value;  // < 0: none
    double cumulative;
    double expected;
    v1::Judgement judgement;
    const char* note;
  } kPoints[] = {
      {2021, 6.5, 6.5, 6, v1::JUDGEMENT_ON_TRACK, "6.5 >= 6 - 5%"},
      {2022, 5.1, 11.6, 12, v1::JUDGEMENT_ON_TRACK, "11.6 >= 12 - 5%"},
      {2023, 4.1, 15.7, 18, v1::JUDGEMENT_OFF_TRACK, "15.7 < 18 - 5%"},
      {2024, -1, 0, 24, v1::JUDGEMENT_NO_DATA, ""},
      {2025, -1, 0, 30, v1::JUDGEMENT_NO_DATA, ""},
  };
  for (const auto& p : kPoints) {
    v1::SeriesPoint* point = series.add_points();
    point->set_year(p.year);
    if (p.value >= 0) {
      point->set_has_value(true);
      point->set_value(p.value);
      point->set_cumulative(p.cumulative);
      point->set_revision(1);
    }
    point->set_has_expected(true);
    point->set_expected(p.expected);
    point->set_judgement(p.judgement);
    point->set_note(p.note);
  }
  return series;
}

TEST(FormatIndicatorSeriesTest, CumulativeHasARunningTotalColumn) {
  const std::string text =
      FormatIndicatorSeries(Series(v1::CUMULATIVE), Directory());
  EXPECT_THAT(text, HasSubstr("indicator    1 城镇新增就业\n"));
  EXPECT_THAT(text, HasSubstr("unit         万人\n"));
  EXPECT_THAT(text, HasSubstr("target       〔30〕\n"));
  EXPECT_THAT(text, HasSubstr("kind         cumulative\n"));
  EXPECT_THAT(text, HasSubstr("attribute    预期性\n"));
  EXPECT_THAT(text, HasSubstr("baseline     〔31.2〕 (2020)\n"));
  EXPECT_THAT(text,
              HasSubstr("answered by  省人力资源社会保障厅, 省发展改革委\n"));
  EXPECT_THAT(text, HasSubstr("link source  专栏2 注; 三(一)\n"));
  EXPECT_THAT(text, HasSubstr("tolerance    5%\n"));

  const std::vector<std::string> lines = Lines(text);
  const auto header = std::find_if(lines.begin(), lines.end(), [](auto& l) {
    return absl::StartsWith(l, "year");
  });
  ASSERT_NE(header, lines.end());
  ASSERT_EQ(lines.end() - header, 2 + 5 + 1);
  EXPECT_THAT(*header,
              testing::ContainsRegex(
                  "^year +value +cumulative +expected +judgement +note"));
  EXPECT_EQ(*(header + 2),
            "2021    6.5         6.5         6  on track   "
            "6.5 >= 6 - 5%  ");
  EXPECT_EQ(*(header + 4),
            "2023    4.1        15.7        18  OFF TRACK  "
            "15.7 < 18 - 5% ");
  EXPECT_EQ(*(header + 5),
            "2024      -           -        24  no data    "
            "               ");
  EXPECT_EQ(lines.back(), "5 years: 2 on track, 1 OFF TRACK, 2 no data");
}

TEST(FormatIndicatorSeriesTest, OtherKindsHaveNoCumulativeColumn) {
  v1::IndicatorSeries series = Series(v1::FLOOR);
  series.mutable_indicator()->clear_baseline();
  series.mutable_indicator()->clear_responsible_agency_ids();
  series.mutable_points(3)->set_judgement(v1::JUDGEMENT_NOT_JUDGED);
  series.mutable_points(3)->set_has_value(true);
  series.mutable_points(3)->set_value(7);
  series.mutable_points(3)->set_has_expected(false);
  const std::string text = FormatIndicatorSeries(series, Directory());
  EXPECT_THAT(text, testing::Not(HasSubstr("cumulative")));
  EXPECT_THAT(text, HasSubstr("kind         floor\n"));
  EXPECT_THAT(text, HasSubstr("baseline     -\n"));
  EXPECT_THAT(text, HasSubstr("answered by  -\n"));
  EXPECT_THAT(text,
              testing::ContainsRegex("\nyear +value +expected +judgement"));
  EXPECT_THAT(text, HasSubstr("\n2024      7         -  not judged"));
  EXPECT_THAT(text, HasSubstr("5 years: 2 on track, 1 OFF TRACK, 1 no data, "
                              "1 not judged\n"));
}

TEST(FormatMissingReportsTest, ThreeSectionsWithCounts) {
  v1::MissingReports missing;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        year: 2023
        task_reports {
          task_number: 3
          agency_ids: [ "qh-hrss", "qh-drc" ]
        }
        task_reports { task_number: 12 agency_ids: "qh-edu" }
        contributions { task_number: 5 agency_id: "xining" role: SUPPORT }
        indicator_values {
          indicator_number: 2
          indicator_name: "城镇调查失业率"
          agency_ids: [ "qh-drc", "qh-unknown" ]
        }
      )pb",
      &missing));
  const std::string text = FormatMissingReports(missing, Directory());
  EXPECT_THAT(text, testing::StartsWith("missing for 2023\n"));
  EXPECT_THAT(text, testing::ContainsRegex("\ntask reports: 2\n"
                                           "task  who should submit it +\n"));
  EXPECT_THAT(text, HasSubstr("   3  省人力资源社会保障厅, 省发展改革委\n"));
  EXPECT_THAT(text, HasSubstr("  12  省教育厅"));
  EXPECT_THAT(text, HasSubstr("\ncontributions: 1\n"));
  EXPECT_THAT(text, testing::ContainsRegex("\n   5  西宁市 +support 配合\n"));
  EXPECT_THAT(text, HasSubstr("\nindicator values: 1\n"));
  EXPECT_THAT(text, testing::ContainsRegex(
                        "\n2  城镇调查失业率 +省发展改革委, qh-unknown\n"));
  EXPECT_THAT(text,
              testing::EndsWith("\n4 missing: 2 task reports, 1 contribution, "
                                "1 indicator value\n"));

  v1::MissingReports none;
  none.set_year(2021);
  EXPECT_EQ(FormatMissingReports(none, Directory()),
            "missing for 2021\n\n"
            "task reports: none missing\n\n"
            "contributions: none missing\n\n"
            "indicator values: none missing\n\n"
            "0 missing: 0 task reports, 0 contributions, 0 indicator values\n");
}

TEST(FormatCredentialsTest, IssuedTokenIsShownWithTheWarning) {
  v1::Credential credential;
  credential.set_credential_id("cred-7");
  credential.set_principal("agency:qh-edu");
  credential.set_label("edu reporting system");
  credential.set_issued_seq(512);
  const std::string token(64, 'a');
  const std::string text = FormatIssuedToken(credential, token, Directory());
  EXPECT_THAT(text, HasSubstr("credential  cred-7\n"));
  EXPECT_THAT(text, HasSubstr("principal   agency:qh-edu (省教育厅)\n"));
  EXPECT_THAT(text, HasSubstr("token       " + token + "\n"));
  EXPECT_THAT(text, HasSubstr("not stored anywhere"));
  EXPECT_THAT(text, HasSubstr("cannot be shown again"));

  v1::ListCredentialsResponse list;
  *list.add_credentials() = credential;
  credential.set_credential_id("cred-8");
  credential.set_principal("supervisor");
  credential.clear_label();
  credential.set_revoked(true);
  credential.set_revoked_seq(600);
  *list.add_credentials() = credential;
  const std::vector<std::string> lines =
      Lines(FormatCredentials(list, Directory()));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[2], testing::ContainsRegex(
                            "^cred-7 +agency:qh-edu \\(省教育厅\\) +edu "
                            "reporting system +active +512 +-$"));
  EXPECT_THAT(lines[3], testing::ContainsRegex(
                            "^cred-8 +supervisor +- +revoked +512 +600$"));
  EXPECT_EQ(lines[4], "2 credentials, 1 revoked");
  EXPECT_THAT(FormatCredential(credential, Directory()),
              HasSubstr("state        revoked\nissued seq   512\n"
                        "revoked seq  600\n"));
}

// ---------------------------------------------------------------------------
// Supervision

// Unix microseconds of a UTC time.
int64_t Utc(int year, int month, int day, int hour, int minute, int second) {
  return absl::ToUnixMicros(
      absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                      absl::UTCTimeZone()));
}

TEST(LadderVocabularyTest, LevelsInChineseAndEnglish) {
  EXPECT_EQ(LevelLabel(v1::REMINDER), "提醒 reminder");
  EXPECT_EQ(LevelLabel(v1::URGING), "催办 urging");
  EXPECT_EQ(LevelLabel(v1::SUPERVISION), "督办 supervision");
  EXPECT_EQ(LevelLabel(v1::CIRCULATION), "通报 circulation");
  EXPECT_EQ(LevelLabel(v1::LEVEL_UNSPECIFIED), "unspecified");
  EXPECT_STREQ(LevelChinese(v1::CIRCULATION), "通报");
  EXPECT_EQ(ParseLevel("督办"), v1::SUPERVISION);
  EXPECT_EQ(ParseLevel(" Urging "), v1::URGING);
  EXPECT_EQ(ParseLevel("CIRCULATION"), v1::CIRCULATION);
  EXPECT_EQ(ParseLevel("提醒"), v1::REMINDER);
  EXPECT_EQ(ParseLevel("约谈"), std::nullopt);
  EXPECT_EQ(ParseLevel("unspecified"), std::nullopt);
  EXPECT_EQ(ParseLevel(""), std::nullopt);
}

TEST(LadderVocabularyTest, SeveritiesStatesKindsAudiences) {
  EXPECT_STREQ(SeverityName(v1::CRITICAL), "critical");
  EXPECT_STREQ(SeverityName(v1::NOTICE), "notice");
  EXPECT_EQ(ParseSeverity("SERIOUS"), v1::SERIOUS);
  EXPECT_EQ(ParseSeverity("warning"), v1::WARNING);
  EXPECT_EQ(ParseSeverity("bad"), std::nullopt);

  EXPECT_EQ(EscalationStateLabel(v1::ACKNOWLEDGED), "acknowledged 已签收");
  EXPECT_EQ(EscalationStateLabel(v1::CLEARED), "cleared 已销号");
  EXPECT_EQ(ParseEscalationState("已办结"), v1::RESOLVED);
  EXPECT_EQ(ParseEscalationState("OPEN"), v1::OPEN);
  EXPECT_EQ(ParseEscalationState("closed"), std::nullopt);
  EXPECT_TRUE(IsOpen(v1::ACKNOWLEDGED));
  EXPECT_FALSE(IsOpen(v1::CLEARED));

  EXPECT_STREQ(RuleKindName(v1::REPORT_OVERDUE), "report-overdue");
  EXPECT_STREQ(RuleKindName(v1::MIDTERM_GATE), "midterm-gate");
  EXPECT_STREQ(RuleKindChinese(v1::INDICATOR_OFF_TRACK), "指标偏离进度");
  EXPECT_STREQ(AudienceName(v1::PROVINCIAL_GOVERNMENT),
               "provincial-government");
}

TEST(RecipientTest, FixedRecipients) {
  EXPECT_EQ(FixedRecipient("supervisor"), "supervisor");
  EXPECT_EQ(FixedRecipient(" Provincial-Government "), "provincial-government");
  EXPECT_EQ(FixedRecipient("agency:qh-edu"), "agency:qh-edu");
  EXPECT_EQ(FixedRecipient("agency:"), std::nullopt);
  EXPECT_EQ(FixedRecipient("省教育厅"), std::nullopt);  // a name to resolve
  EXPECT_EQ(FixedRecipient(""), std::nullopt);
}

TEST(DurationTest, ParsesUnitsAndSums) {
  EXPECT_EQ(*ParseDuration("30d"), absl::Hours(30 * 24));
  EXPECT_EQ(*ParseDuration("12h"), absl::Hours(12));
  EXPECT_EQ(*ParseDuration("90m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("1w"), absl::Hours(7 * 24));
  EXPECT_EQ(*ParseDuration("1d12h"), absl::Hours(36));
  EXPECT_EQ(*ParseDuration(" 45s "), absl::Seconds(45));
  for (const char* bad : {"", "0d", "3x", "d", "12", "-1d", "1.5d", "1d 2h",
                          "30D", "9999999999d"}) {
    absl::StatusOr<absl::Duration> d = ParseDuration(bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(std::string(ParseDuration("3x").status().message()),
              HasSubstr("\"3x\" is not a duration"));
  EXPECT_THAT(std::string(ParseDuration("0d").status().message()),
              HasSubstr("positive"));
}

TEST(DurationTest, Text) {
  EXPECT_EQ(DurationText(absl::Hours(36)), "1d12h");
  EXPECT_EQ(DurationText(absl::Hours(9 * 24)), "1w2d");
  EXPECT_EQ(DurationText(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(DurationText(absl::ZeroDuration()), "0s");
  EXPECT_EQ(DurationText(-absl::Seconds(61)), "-1m1s");
  for (const char* text : {"30d", "12h", "90m", "1w", "1d12h"}) {
    EXPECT_EQ(*ParseDuration(DurationText(*ParseDuration(text))),
              *ParseDuration(text))
        << text;
  }
}

TEST(CstTest, DueDatesEndTheDayInChinaStandardTime) {
  // 23:59:59 CST is 15:59:59 UTC the same day.
  EXPECT_EQ(*EndOfCstDayMicros("2022-03-15"), Utc(2022, 3, 15, 15, 59, 59));
  EXPECT_EQ(*EndOfCstDayMicros("2024-02-29"), Utc(2024, 2, 29, 15, 59, 59));
  for (const char* bad : {"2023-02-29", "2022-3-15", "2022/03/15", "20220315",
                          "", "2022-03-15T10:00", "2022-13-01"}) {
    EXPECT_EQ(EndOfCstDayMicros(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(CstTest, TimesToMicros) {
  EXPECT_EQ(*ParseCstTime("2022-02-01"), Utc(2022, 1, 31, 16, 0, 0));
  EXPECT_EQ(*ParseCstTime("2022-02-01T09:30"), Utc(2022, 2, 1, 1, 30, 0));
  EXPECT_EQ(*ParseCstTime("2022-02-01 09:30"), Utc(2022, 2, 1, 1, 30, 0));
  for (const char* bad : {"2022-02-01T24:00", "2022-02-01T9:30", "2022-02-30",
                          "2022-02-01T09:30:00", "2022-02-01X09:30", "soon"}) {
    EXPECT_EQ(ParseCstTime(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(CstTest, MicrosToText) {
  const int64_t t = Utc(2022, 2, 1, 1, 30, 5);
  EXPECT_EQ(CstTime(t), "2022-02-01 09:30:05 CST");
  EXPECT_EQ(CstMinutes(t), "2022-02-01 09:30");
  EXPECT_EQ(CstDate(Utc(2022, 1, 31, 16, 0, 0)), "2022-02-01");  // CST midnight
  EXPECT_EQ(CstTime(0), "");
  v1::Clock clock;
  clock.set_now_micros(t);
  clock.set_simulated(true);
  EXPECT_EQ(FormatClock(clock), "2022-02-01 09:30:05 CST (simulated clock)\n");
  clock.set_simulated(false);
  EXPECT_EQ(FormatClock(clock), "2022-02-01 09:30:05 CST (system clock)\n");
}

v1::Ruleset SampleRuleset() {
  v1::Ruleset ruleset;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        plan_id: "qinghai-employment-2021"
        policies {
          id: "standard"
          rungs {
            level: REMINDER
            after_days: 0
            audiences: RESPONSIBLE_AGENCIES
          }
          rungs { level: URGING after_days: 7 audiences: RESPONSIBLE_AGENCIES }
          rungs {
            level: SUPERVISION
            after_days: 14
            audiences: [ RESPONSIBLE_AGENCIES, SUPERVISORS ]
          }
          rungs {
            level: CIRCULATION
            after_days: 30
            audiences: [
              RESPONSIBLE_AGENCIES,
              SUPERVISORS,
              PROVINCIAL_GOVERNMENT
            ]
          }
        }
        rules {
          id: "annual-report-overdue"
          kind: REPORT_OVERDUE
          severity: WARNING
          policy_id: "standard"
          deadline { month: 1 day: 31 }
        }
        rules {
          id: "indicator-off-track"
          kind: INDICATOR_OFF_TRACK
          severity: WARNING
          policy_id: "standard"
          tolerance: 0.05
          binding_severity: CRITICAL
          binding_policy_id: "binding"
        }
        rules {
          id: "midterm-gate"
          kind: MIDTERM_GATE
          severity: SERIOUS
          policy_id: "standard"
          midterm_year: 2023
          gate_date { month: 1 day: 31 }
          min_share_of_target: 0.5
          disabled: true
        }
      )pb",
      &ruleset));
  return ruleset;
}

TEST(RulesetTextTest, RoundTrips) {
  const v1::Ruleset ruleset = SampleRuleset();
  v1::Ruleset parsed;
  ASSERT_TRUE(ParseTextProto(TextProto(ruleset), "x", &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), ruleset.SerializeAsString());

  // The file `rules get` writes is what `rules put` reads: comments, then
  // the ruleset.
  v1::RulesetVersion version;
  *version.mutable_ruleset() = ruleset;
  version.set_version(3);
  version.set_content_sha256("ab12");
  version.set_seq(512);
  const std::string file = FormatRulesetFile(version);
  EXPECT_THAT(file,
              testing::StartsWith("# proto-file: duban/v1/supervision.proto\n"
                                  "# proto-message: duban.v1.Ruleset\n"));
  EXPECT_THAT(file, HasSubstr("# plan qinghai-employment-2021, version 3, "
                              "sha256 ab12, seq 512\n"));
  EXPECT_THAT(file, HasSubstr("--expect-version 3\n"));
  parsed.Clear();
  ASSERT_TRUE(ParseTextProto(file, "rules.textproto", &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), ruleset.SerializeAsString());
}

TEST(RulesetTextTest, ErrorsNameFileLineAndColumn) {
  v1::Ruleset ruleset;
  const absl::Status status = ParseTextProto(
      "plan_id: \"p\"\nrules { idd: \"x\" }\n", "rules.textproto", &ruleset);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              testing::StartsWith("rules.textproto:2:"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("idd"));
}

TEST(RulesetTextTest, KeepsChineseReadable) {
  v1::Escalation escalation;
  escalation.set_summary("任务18 2021年度进展报告逾期");
  EXPECT_THAT(TextProto(escalation), HasSubstr("任务18 2021年度进展报告逾期"));
}

TEST(RulesetSummaryTest, LaddersAndRules) {
  v1::RulesetVersion version;
  *version.mutable_ruleset() = SampleRuleset();
  version.set_version(2);
  version.set_content_sha256("ab12");
  const std::string text = FormatRulesetSummary(version);
  EXPECT_THAT(text, HasSubstr("version  2\n"));
  EXPECT_THAT(text, HasSubstr("1 policy\n"
                              "  standard\n"
                              "    提醒 reminder     after   0d  to agencies\n"
                              "    催办 urging       after   7d  to agencies\n"
                              "    督办 supervision  after  14d  to agencies, "
                              "supervisors\n"
                              "    通报 circulation  after  30d  to agencies, "
                              "supervisors, government\n"));
  EXPECT_THAT(text, HasSubstr("3 rules (1 disabled)\n"));
  EXPECT_THAT(text, testing::ContainsRegex(
                        "\nannual-report-overdue +report-overdue +warning +"
                        "standard +deadline 01-31 of Y\\+1 +on"));
  EXPECT_THAT(text, HasSubstr("tolerance 5%, 约束性: critical policy binding"));
  EXPECT_THAT(text, testing::ContainsRegex(
                        "mid-term 2023, gate 2024-01-31, min share 50% +off"));
  EXPECT_THAT(Widths(Lines(text)), Each(Le(120)));

  v1::RulesetVersion none;
  none.mutable_ruleset()->set_plan_id("p");
  EXPECT_EQ(FormatRulesetSummary(none),
            "no ruleset for plan p yet (version 0)\n");
}

TEST(FormatEvaluateTest, CountsOrNothing) {
  EXPECT_EQ(FormatEvaluate(v1::EvaluateResponse()), "nothing changed\n");
  v1::EvaluateResponse response;
  response.set_first_seq(812);
  response.set_last_seq(820);
  response.set_opened(2);
  response.set_raised(1);
  response.set_notices(5);
  EXPECT_EQ(FormatEvaluate(response),
            "opened 2, raised 1, closed 0, notices 5 (seq 812-820)\n");
}

// Three escalations: a report overdue (督办, open), one acknowledged, an
// indicator's (cleared).
std::vector<v1::Escalation> Escalations() {
  std::vector<v1::Escalation> escalations(3);
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        id: "esc-812"
        subject {
          rule_id: "annual-report-overdue"
          plan_id: "qinghai-employment-2021"
          task_number: 18
          agency_id: "qh-edu"
          year: 2021
        }
        kind: REPORT_OVERDUE
        severity: WARNING
        policy_id: "standard"
        ruleset_version: 1
        level: SUPERVISION
        state: OPEN
        count: 1
        opened_at_micros: 1643644800000000  # 2022-02-01 00:00 CST
        level_at_micros: 1644886800000000   # 2022-02-15 09:00 CST
        summary: "任务18 2021年度进展报告逾期：省教育厅未在2022年1月31日前报送年度进展报告"
        fact_seqs: [ 40, 41 ]
        timeline {
          seq: 812
          at_micros: 1643644800000000
          what: "opened"
          by: "rules"
          detail: "no 2021 report from 省教育厅 by 2022-01-31"
        }
        timeline {
          seq: 830
          at_micros: 1644282000000000
          what: "raised to 催办"
          by: "rules"
        }
        timeline {
          seq: 845
          at_micros: 1644886800000000
          what: "raised to 督办"
          by: "rules"
          cause_seq: 844
          detail: "14 days open"
        }
        timeline {
          seq: 850
          at_micros: 1644890400000000
          what: "acknowledged (签收)"
          by: "agency:qh-edu"
          detail: "明确专人负责"
        }
      )pb",
      &escalations[0]));
  escalations[1] = escalations[0];
  escalations[1].set_id("esc-813");
  escalations[1].mutable_subject()->set_task_number(5);
  escalations[1].mutable_subject()->set_agency_id("qh-drc");
  escalations[1].set_level(v1::URGING);
  escalations[1].set_state(v1::ACKNOWLEDGED);
  escalations[1].set_measures("明确专人负责，3月15日前补报");
  escalations[1].set_ack_due_micros(
      1647359999000000);  // 2022-03-15 23:59:59 CST
  escalations[1].set_count(2);
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        id: "esc-700"
        subject {
          rule_id: "indicator-off-track"
          plan_id: "qinghai-employment-2021"
          indicator_number: 7
          year: 2021
        }
        kind: INDICATOR_OFF_TRACK
        severity: CRITICAL
        level: REMINDER
        state: CLEARED
        count: 1
        opened_at_micros: 1639533600000000
        summary: "劳动年龄人口平均受教育年限 10.2 ≤ 10.5"
        resolution: "2023 value 10.6"
        cleared_by_seq: 990
      )pb",
      &escalations[2]));
  return escalations;
}

IndicatorNames Names() { return {{7, "劳动年龄人口平均受教育年限"}}; }

TEST(FormatEscalationsTest, TableWithin140Columns) {
  std::vector<v1::Escalation> escalations = Escalations();
  std::swap(escalations[0], escalations[2]);  // shown in the order they opened
  const std::vector<std::string> lines =
      Lines(FormatEscalations(escalations, Directory(), Names()));
  ASSERT_EQ(lines.size(), 2 + 3 + 1u);
  EXPECT_THAT(lines[0], testing::ContainsRegex(
                            "^id +level +severity +state +subject +agency +"
                            "year +n +opened +summary"));
  EXPECT_THAT(lines[3], testing::ContainsRegex(
                            "^esc-812 +督办 supervision +warning +open +task "
                            "18 +省教育厅 +2021 +1 +2022-02-01 +任务18"));
  EXPECT_THAT(lines[4], testing::ContainsRegex(
                            "^esc-813 +催办 urging +warning +acknowledged +"
                            "task 5 +省发展改革委 +2021 +2 "));
  EXPECT_THAT(lines[2], testing::ContainsRegex(
                            "^esc-700 +提醒 reminder +critical +cleared +"
                            "indicator 7 劳动年龄\\S*… +- +2021 +1 +"
                            "2021-12-15 "));
  const std::vector<std::string> table(lines.begin(), lines.end() - 1);
  EXPECT_THAT(Widths(table), Each(DisplayWidth(table[0])));
  EXPECT_THAT(Widths(lines), Each(Le(140)));
  EXPECT_EQ(lines.back(),
            "3 escalations: 1 open, 1 acknowledged, 1 cleared (opened: CST "
            "dates)");
  EXPECT_EQ(FormatEscalations({}, Directory(), Names()), "no escalations\n");
}

TEST(FormatEscalationTest, FieldsAndTimeline) {
  const std::vector<v1::Escalation> escalations = Escalations();
  const std::string text =
      FormatEscalation(escalations[0], Directory(), Names());
  EXPECT_THAT(text, testing::StartsWith("escalation  esc-812\n"));
  EXPECT_THAT(text, HasSubstr("level       督办 supervision (since 2022-02-15 "
                              "09:00:00 CST)\n"));
  EXPECT_THAT(text, HasSubstr("state       open 待签收\n"));
  EXPECT_THAT(text, HasSubstr("rule        annual-report-overdue "
                              "(report-overdue 年度报告逾期)\n"));
  EXPECT_THAT(text, HasSubstr("policy      standard, ruleset version 1\n"));
  EXPECT_THAT(text, HasSubstr("subject     task 18\n"));
  EXPECT_THAT(text, HasSubstr("agency      省教育厅 (qh-edu)\n"));
  EXPECT_THAT(text, HasSubstr("opened      2022-02-01 00:00:00 CST\n"));
  EXPECT_THAT(text, HasSubstr("facts       seq 40, 41\n"));
  EXPECT_THAT(text, HasSubstr("\ntimeline: 4 entries\n"));
  const std::vector<std::string> lines = Lines(text);
  const std::vector<std::string> timeline(lines.end() - 6, lines.end());
  EXPECT_THAT(timeline[0],
              testing::ContainsRegex(
                  "^  seq +time \\(CST\\) +what +by +cause +detail"));
  EXPECT_THAT(timeline[2],
              testing::ContainsRegex("^  812  2022-02-01 00:00  opened +rules +"
                                     "clock  no 2021 report"));
  EXPECT_THAT(
      timeline[4],
      testing::ContainsRegex("^  845  2022-02-15 09:00  raised to 督办 +rules "
                             "+844  14 days open"));
  EXPECT_THAT(timeline[5],
              testing::ContainsRegex(
                  "^  850  2022-02-15 10:00  acknowledged \\(签收\\) +"
                  "agency:qh-edu +-  明确专人负责"));
  EXPECT_THAT(Widths(timeline), Each(DisplayWidth(timeline[0])));
  EXPECT_THAT(Widths(lines), Each(Le(120)));

  const std::string acknowledged =
      FormatEscalation(escalations[1], Directory(), Names());
  EXPECT_THAT(acknowledged, HasSubstr("state       acknowledged 已签收\n"));
  EXPECT_THAT(acknowledged,
              HasSubstr("measures    明确专人负责，3月15日前补报\n"));
  EXPECT_THAT(acknowledged, HasSubstr("due         2022-03-15 23:59:59 CST\n"));
  const std::string cleared =
      FormatEscalation(escalations[2], Directory(), Names());
  EXPECT_THAT(
      cleared,
      HasSubstr("subject     indicator 7 劳动年龄人口平均受教育年限\n"));
  EXPECT_THAT(cleared, HasSubstr("resolution  2023 value 10.6\n"));
  EXPECT_THAT(cleared, HasSubstr("cleared by  seq 990\n"));
  EXPECT_THAT(cleared, testing::EndsWith("timeline: 0 entries\n"));
}

TEST(LevelSummaryTest, OpenByLevelAndClosed) {
  std::vector<v1::Escalation> escalations = Escalations();
  EXPECT_EQ(FormatLevelSummary(escalations),
            "2 open: 催办 urging 1, 督办 supervision 1 (1 acknowledged); "
            "closed: 1 cleared");
  escalations[0].set_state(v1::RESOLVED);
  escalations[1].set_state(v1::CLEARED);
  EXPECT_EQ(FormatLevelSummary(escalations),
            "no open escalations; closed: 2 cleared, 1 resolved");
  EXPECT_EQ(FormatLevelSummary({}), "no open escalations");
}

TEST(EscalationChangesTest, NewClimbedAcknowledgedClosed) {
  const std::vector<v1::Escalation> after = Escalations();
  std::map<std::string, v1::Escalation> before;
  v1::Escalation earlier = after[0];
  earlier.set_level(v1::URGING);
  before[earlier.id()] = earlier;
  earlier = after[1];
  earlier.set_state(v1::OPEN);
  earlier.set_count(1);
  before[earlier.id()] = earlier;
  earlier = after[2];
  earlier.set_state(v1::OPEN);
  before[earlier.id()] = earlier;

  std::vector<std::string> lines =
      DescribeEscalationChanges(before, after, Directory(), Names());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], testing::ContainsRegex(
                            "^climbed +esc-812 +催办 → 督办 supervision +task "
                            "18 省教育厅 2021$"));
  EXPECT_THAT(lines[1], testing::ContainsRegex("^repeated +esc-813 +count 2 +"
                                               "task 5 省发展改革委 2021$"));
  EXPECT_THAT(lines[2], testing::ContainsRegex(
                            "^acknowledged esc-813 +催办 urging +task 5 "
                            "省发展改革委 2021  明确专人负责"));
  EXPECT_THAT(lines[3],
              testing::ContainsRegex(
                  "^cleared +esc-700 +提醒 reminder +indicator 7 "
                  "劳动年龄人口平均受教育年限 2021  2023 value 10.6$"));

  lines = DescribeEscalationChanges({}, {after[0]}, Directory(), Names());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], testing::ContainsRegex(
                            "^new +esc-812 +督办 supervision +task 18 省教育厅 "
                            "2021  年度报告逾期$"));

  // Acknowledged no more: its due date passed.
  before.clear();
  before[after[1].id()] = after[1];
  v1::Escalation resumed = after[1];
  resumed.set_state(v1::OPEN);
  resumed.set_level(v1::CIRCULATION);
  lines = DescribeEscalationChanges(before, {resumed}, Directory(), Names());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], testing::StartsWith("climbed      esc-813     催办 → "
                                            "通报 circulation"));
  EXPECT_THAT(lines[1],
              testing::ContainsRegex(
                  "^resumed +esc-813 +通报 circulation +task 5 "
                  "省发展改革委 2021  acknowledged until 2022-03-15$"));
  EXPECT_TRUE(DescribeEscalationChanges(before, {before.begin()->second},
                                        Directory(), Names())
                  .empty());  // unchanged
}

TEST(FormatNoticeTest, OneLine) {
  v1::Notice notice;
  notice.set_id("notice-830");
  notice.set_seq(830);
  notice.set_recipient("supervisor");
  notice.set_escalation_id("esc-812");
  notice.set_level(v1::SUPERVISION);
  notice.set_severity(v1::WARNING);
  notice.set_title("【督办】任务18 2021年度进展报告逾期");
  notice.set_at_micros(Utc(2022, 2, 15, 1, 0, 0));
  EXPECT_EQ(FormatNotice(notice),
            "2022-02-15 09:00 CST  督办 supervision  warning  "
            "【督办】任务18 2021年度进展报告逾期  esc-812  seq 830");
  notice.clear_title();
  notice.set_text("text instead of the title");
  EXPECT_THAT(FormatNotice(notice), HasSubstr("  text instead of the title  "));
}

TEST(FormatWebhooksTest, OneAndTable) {
  v1::ListWebhooksResponse response;
  v1::Webhook* hook = response.add_webhooks();
  hook->set_id("wh-1");
  hook->set_url("https://oa.example/duban");
  hook->add_recipients("supervisor");
  hook->add_recipients("agency:qh-edu");
  EXPECT_EQ(FormatWebhook(*hook),
            "webhook     wh-1\n"
            "url         https://oa.example/duban\n"
            "recipients  supervisor, agency:qh-edu\n"
            "state       active\n");
  hook = response.add_webhooks();
  hook->set_id("wh-2");
  hook->set_url("http://127.0.0.1:8080/");
  hook->set_removed(true);
  const std::vector<std::string> lines = Lines(FormatWebhooks(response));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[2], testing::ContainsRegex(
                            "^wh-1 +https://oa.example/duban +supervisor, "
                            "agency:qh-edu +active *$"));
  EXPECT_THAT(lines[3], testing::ContainsRegex("^wh-2 .* - +removed *$"));
  EXPECT_EQ(lines[4], "2 webhooks, 1 removed");
  EXPECT_EQ(FormatWebhooks(v1::ListWebhooksResponse()), "0 webhooks\n");
}

}  // namespace
}  // namespace duban::clients
