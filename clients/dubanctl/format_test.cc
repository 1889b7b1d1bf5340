// Tests of dubanctl's renderings, on a plan shaped like the Qinghai one.
#include "clients/dubanctl/format.h"
#include "clients/dubanctl/test_agencies.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

}  // namespace
}  // namespace duban::clients
