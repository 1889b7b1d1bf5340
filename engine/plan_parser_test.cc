// Tests for ParsePlanText and ApplyIndicatorAgencies.
//
// - The Qinghai plan (plans/qinghai-employment-2021/source.txt) against
//   tables written by reading the text: every task's responsibilities, the
//   chapters, the 15 indicators and their baselines, and the warnings.
// - Its indicator-agencies.textproto: every indicator linked, each link's
//   agencies named by the passage its source cites, quoted as written.
// - The parenthesis shapes of DOMAIN.md and malformed inputs, on small
//   synthetic texts; indicator links and their errors likewise.
// - The shipped plan.textproto is exactly what the parser reads today, with
//   the indicator links applied.
//
// The files are found through DUBAN_SOURCE_DIR (ctest sets it to the source
// root), or relative to this file when the test is run by hand.
#include "engine/plan_parser.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "storage/hash.h"

namespace duban::engine {
namespace {

using ::duban::v1::AgencyRegistry;
using ::duban::v1::AROUND;
using ::duban::v1::BINDING;
using ::duban::v1::CEILING;
using ::duban::v1::CUMULATIVE;
using ::duban::v1::EXPECTED;
using ::duban::v1::FLOOR;
using ::duban::v1::ImportWarning;
using ::duban::v1::INCREASING;
using ::duban::v1::Indicator;
using ::duban::v1::IndicatorAgencies;
using ::duban::v1::IndicatorAgencyLink;
using ::duban::v1::LEAD;
using ::duban::v1::LEVEL;
using ::duban::v1::PlanDocument;
using ::duban::v1::Role;
using ::duban::v1::SHARED;
using ::duban::v1::SUPPORT;
using ::duban::v1::Task;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPlanId[] = "qinghai-employment-2021";
constexpr char kCities[] = "各市州政府";
constexpr char kCitiesGroup[] = "qh-city-prefecture-govs";

std::string SourceDir() {
  if (const char* dir = std::getenv("DUBAN_SOURCE_DIR"); dir && *dir) {
    return dir;
  }
  std::string file = __FILE__;  // <root>/engine/plan_parser_test.cc
  for (int i = 0; i < 2; ++i) {
    const size_t slash = file.find_last_of('/');
    file = slash == std::string::npos ? "." : file.substr(0, slash);
  }
  return file;
}

std::string PlanFile(const std::string& name) {
  return SourceDir() + "/plans/qinghai-employment-2021/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

template <typename Message>
Message ParseTextProto(const std::string& text) {
  Message m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m));
  return m;
}

std::vector<std::string> Wheres(const std::vector<ImportWarning>& warnings) {
  std::vector<std::string> out;
  for (const ImportWarning& w : warnings) out.push_back(w.where());
  return out;
}

// The warnings whose `where` is `where`, as their messages.
std::vector<std::string> WarningsAt(const std::vector<ImportWarning>& warnings,
                                    const std::string& where) {
  std::vector<std::string> out;
  for (const ImportWarning& w : warnings) {
    if (w.where() == where) out.push_back(w.message());
  }
  return out;
}

// ------------------------------------------------------ the Qinghai plan

class QinghaiPlanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = new std::string(ReadFile(PlanFile("source.txt")));
    registry_ = new AgencyRegistry(ParseTextProto<AgencyRegistry>(
        ReadFile(PlanFile("agencies.textproto"))));
    absl::StatusOr<ParsedPlan> parsed =
        ParsePlanText(*source_, *registry_, kPlanId);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    parsed_ = new ParsedPlan(*std::move(parsed));
    links_ = new IndicatorAgencies(ParseTextProto<IndicatorAgencies>(
        ReadFile(PlanFile("indicator-agencies.textproto"))));
    ParsedPlan linked = *parsed_;
    const absl::Status applied = ApplyIndicatorAgencies(
        *links_, *registry_, &linked.document, &linked.warnings);
    ASSERT_TRUE(applied.ok()) << applied;
    linked_ = new ParsedPlan(std::move(linked));
  }
  static void TearDownTestSuite() {
    delete linked_;
    delete links_;
    delete parsed_;
    delete registry_;
    delete source_;
    linked_ = nullptr;
    links_ = nullptr;
    parsed_ = nullptr;
    registry_ = nullptr;
    source_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(parsed_, nullptr);
    ASSERT_NE(linked_, nullptr);
  }

  // The document as parsed from the text, and with the indicator links.
  static const PlanDocument& doc() { return parsed_->document; }
  static const PlanDocument& linked() { return linked_->document; }
  static const Task& task(int number) { return doc().tasks(number - 1); }

  // The id of the agency whose short name is `short_name`.
  static std::string IdOf(const std::string& short_name) {
    for (const auto& a : registry_->agencies()) {
      if (a.short_name() == short_name) return a.id();
    }
    ADD_FAILURE() << "no agency with short name " << short_name;
    return "";
  }
  static const duban::v1::AgencyGroup& Cities() {
    for (const auto& g : registry_->groups()) {
      if (g.id() == kCitiesGroup) return g;
    }
    ADD_FAILURE() << "no group " << kCitiesGroup;
    return registry_->groups(0);
  }

  static std::string* source_;
  static AgencyRegistry* registry_;
  static ParsedPlan* parsed_;
  static IndicatorAgencies* links_;
  static ParsedPlan* linked_;
};

std::string* QinghaiPlanTest::source_ = nullptr;
AgencyRegistry* QinghaiPlanTest::registry_ = nullptr;
ParsedPlan* QinghaiPlanTest::parsed_ = nullptr;
IndicatorAgencies* QinghaiPlanTest::links_ = nullptr;
ParsedPlan* QinghaiPlanTest::linked_ = nullptr;

TEST_F(QinghaiPlanTest, Header) {
  EXPECT_EQ(doc().plan_id(), kPlanId);
  EXPECT_EQ(doc().title(), "青海省“十四五”就业促进规划");
  EXPECT_EQ(doc().document_number(), "青政办〔2021〕83号");
  EXPECT_EQ(doc().issuer(), "青海省人民政府办公厅");
  EXPECT_EQ(doc().start_year(), 2021);
  EXPECT_EQ(doc().end_year(), 2025);
  EXPECT_EQ(doc().source_sha256(), storage::ToHex(storage::Sha256(*source_)));
  EXPECT_EQ(doc().source_sha256().size(), 64u);
}

TEST_F(QinghaiPlanTest, SectionsAreTheChaptersInTheBody) {
  using P = std::pair<std::string, std::string>;
  std::vector<P> sections;
  for (const auto& s : doc().sections()) {
    sections.emplace_back(s.number(), s.title());
  }
  EXPECT_THAT(sections,
              ElementsAre(P("三", "促进经济增长推动就业扩容提质"),
                          P("四", "支持市场主体发展鼓励创业带动就业"),
                          P("五", "提升劳动者技能素质促进高质量就业"),
                          P("六", "健全就业公共服务体系提高就业创业服务能力"),
                          P("七", "统筹城乡就业加强重点群体就业保障"),
                          P("八", "保障劳动者权益稳步提升就业质量")));
}

TEST_F(QinghaiPlanTest, FortyFourTasksInOrder) {
  ASSERT_EQ(doc().tasks_size(), 44);
  for (int n = 1; n <= 44; ++n) {
    EXPECT_EQ(task(n).number(), n);
    EXPECT_EQ(task(n).plan_id(), kPlanId);
  }
}

TEST_F(QinghaiPlanTest, EveryTaskHasItsChapter) {
  // DOMAIN.md: 1–7 from 三, 8–17 from 四, 18–26 from 五, 27–32 from 六,
  // 33–40 from 七, 41–44 from 八.
  const std::vector<std::pair<int, std::string>> last_of = {
      {7, "三"}, {17, "四"}, {26, "五"}, {32, "六"}, {40, "七"}, {44, "八"}};
  ASSERT_EQ(doc().tasks_size(), 44);
  int n = 1;
  for (const auto& [last, chapter] : last_of) {
    for (; n <= last; ++n) {
      EXPECT_EQ(task(n).section().number(), chapter) << "task " << n;
    }
  }
  EXPECT_EQ(task(1).section().title(), "促进经济增长推动就业扩容提质");
  EXPECT_EQ(task(44).section().title(), "保障劳动者权益稳步提升就业质量");
}

// Each task's parenthesis, read by hand from the appendix: the agencies in
// the order written, with their roles. 各市州政府 stands for its 8 members.
struct ExpectedTask {
  int number;
  std::vector<std::pair<std::string, Role>> agencies;
};

const std::vector<ExpectedTask>& ExpectedTasks() {
  static const auto* tasks = new std::vector<ExpectedTask>{
      {1,
       {{"省发展改革委", LEAD},
        {"省人力资源社会保障厅", LEAD},
        {kCities, SUPPORT}}},
      {2,
       {{"省财政厅", SHARED},
        {"省地方金融监管局", SHARED},
        {"人行西宁中心支行", SHARED},
        {"国家税务总局青海省税务局", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"省医保局", SHARED}}},
      {3,
       {{"省工业和信息化厅", SHARED},
        {"省发展改革委", SHARED},
        {"省科技厅", SHARED},
        {"省通信管理局", SHARED}}},
      {4,
       {{"省发展改革委", SHARED},
        {"省市场监管局", SHARED},
        {"省工业和信息化厅", SHARED},
        {"省商务厅", SHARED},
        {"省交通运输厅", SHARED},
        {"省人力资源社会保障厅", SHARED}}},
      {5,
       {{"省发展改革委", SHARED},
        {"省工业和信息化厅", SHARED},
        {"省商务厅", SHARED},
        {"省文化和旅游厅", SHARED}}},
      {6,
       {{"省农业农村厅", SHARED},
        {"省发展改革委", SHARED},
        {"省林草局", SHARED}}},
      {7,
       {{"省人力资源社会保障厅", SHARED},
        {"省文化和旅游厅", SHARED},
        {"省发展改革委", SHARED},
        {"省商务厅", SHARED},
        {"省市场监管局", SHARED},
        {kCities, SUPPORT}}},
      {8, {{"省政府审改办", LEAD}}},
      {9,
       {{"省政府审改办", LEAD},
        {"省市场监管局", LEAD},
        {"省司法厅", LEAD},
        {"省公安厅", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"人行西宁中心支行", SHARED},
        {"国家税务总局青海省税务局", SHARED}}},
      {10,
       {{"省发展改革委", SHARED},
        {"省司法厅", SHARED},
        {"省住房城乡建设厅", SHARED},
        {"省自然资源厅", SHARED},
        {"省市场监管局", SHARED},
        {"省政务服务监管局", SHARED},
        {"省政府审改办", SHARED},
        {kCities, SUPPORT}}},
      {11,
       {{"人行西宁中心支行", SHARED},
        {"省财政厅", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"省地方金融监管局", SHARED},
        {"青海银保监局", SHARED},
        {"西宁市政府", SHARED}}},
      {12,
       {{"省人力资源社会保障厅", SHARED},
        {"省财政厅", SHARED},
        {"人行西宁中心支行", SHARED},
        {"国家税务总局青海省税务局", SHARED}}},
      {13,
       {{"省教育厅", SHARED},
        {"省科技厅", SHARED},
        {"省人力资源社会保障厅", SHARED}}},
      {14, {{"省人力资源社会保障厅", SHARED}, {"省教育厅", SHARED}}},
      {15,
       {{"省发展改革委", SHARED},
        {"省科技厅", SHARED},
        {"省教育厅", SHARED},
        {"省工业和信息化厅", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"省农业农村厅", SHARED},
        {"省国资委", SHARED}}},
      {16,
       {{"省商务厅", SHARED},
        {"省科技厅", SHARED},
        {"省教育厅", SHARED},
        {"省工业和信息化厅", SHARED}}},
      {17,
       {{"省科技厅", SHARED},
        {"省教育厅", SHARED},
        {"省工业和信息化厅", SHARED},
        {"省财政厅", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"团省委", SHARED}}},
      {18, {{"省教育厅", LEAD}, {kCities, SUPPORT}}},
      {19, {{"省教育厅", SHARED}, {"省财政厅", SHARED}}},
      {20, {{"省教育厅", LEAD}}},
      {21,
       {{"省教育厅", LEAD},
        {"省发展改革委", SHARED},
        {"省财政厅", SHARED},
        {"省国资委", SHARED},
        {"西宁市政府", SHARED},
        {"海东市政府", SHARED},
        {"海西州政府", SHARED}}},
      {22, {{"省教育厅", LEAD}}},
      {23, {{"省人力资源社会保障厅", LEAD}, {"省财政厅", LEAD}}},
      {24,
       {{"省农业农村厅", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"省文化和旅游厅", SHARED},
        {"省乡村振兴局", SHARED},
        {"省妇联", SHARED},
        {"团省委", SHARED}}},
      {25, {{"省人力资源社会保障厅", LEAD}, {"省教育厅", LEAD}}},
      {26,
       {{"省人力资源社会保障厅", SHARED},
        {"省教育厅", SHARED},
        {"省工业和信息化厅", SHARED},
        {"省国资委", SHARED},
        {"省文化和旅游厅", SHARED},
        {"省总工会", SHARED},
        {"省残联", SHARED}}},
      {27,
       {{"省人力资源社会保障厅", SHARED},
        {"省市场监管局", SHARED},
        {"西宁市政府", SHARED}}},
      {28,
       {{"省委编办", SHARED},
        {"省委组织部", SHARED},
        {"省民政厅", SHARED},
        {"省发展改革委", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"省教育厅", SHARED},
        {"省科技厅", SHARED},
        {kCities, SUPPORT}}},
      {29, {{"省人力资源社会保障厅", LEAD}, {"省政府审改办", LEAD}}},
      {30, {{"省统计局", SHARED}, {"国家统计局青海调查总队", SHARED}}},
      {31,
       {{"省人力资源社会保障厅", SHARED},
        {"省司法厅", SHARED},
        {"省发展改革委", SHARED},
        {"省工业和信息化厅", SHARED},
        {"省国资委", SHARED},
        {"省公安厅", SHARED},
        {"省住房城乡建设厅", SHARED},
        {"省交通运输厅", SHARED},
        {"省商务厅", SHARED},
        {"省市场监管局", SHARED},
        {"省统计局", SHARED},
        {"省通信管理局", SHARED},
        {"国家税务总局青海省税务局", SHARED},
        {"省总工会", SHARED},
        {"国家统计局青海调查总队", SHARED}}},
      {32,
       {{"省人力资源社会保障厅", SHARED},
        {"省总工会", SHARED},
        {"省工商联", SHARED}}},
      {33,
       {{"省委组织部", SHARED},
        {"省人力资源社会保障厅", SHARED},
        {"省科技厅", SHARED},
        {"省教育厅", SHARED},
        {"团省委", SHARED}}},
      {34, {{"省民政厅", LEAD}, {"省教育厅", LEAD}, {"省财政厅", LEAD}}},
      {35, {{"省人力资源社会保障厅", LEAD}, {"省教育厅", LEAD}}},
      {36,
       {{"省人力资源社会保障厅", LEAD},
        {"省发展改革委", LEAD},
        {"省乡村振兴局", LEAD},
        {"省农业农村厅", LEAD},
        {"省商务厅", LEAD},
        {"省文化和旅游厅", LEAD}}},
      {37,
       {{"省人力资源社会保障厅", SHARED},
        {"省乡村振兴局", SHARED},
        {"省发展改革委", SHARED},
        {"省民政厅", SHARED},
        {"省农业农村厅", SHARED}}},
      {38, {{"省人力资源社会保障厅", LEAD}, {"省民政厅", LEAD}}},
      {39,
       {{"省退役军人厅", LEAD}, {"省委组织部", SHARED}, {"省民政厅", SHARED}}},
      {40,
       {{"省人力资源社会保障厅", SHARED},
        {"省教育厅", SHARED},
        {"省科技厅", SHARED},
        {"省委宣传部", SHARED},
        {"省农业农村厅", SHARED},
        {"省乡村振兴局", SHARED},
        {"省退役军人厅", SHARED},
        {"省总工会", SHARED},
        {"团省委", SHARED},
        {"省妇联", SHARED},
        {"省残联", SHARED}}},
      {41,
       {{"省人力资源社会保障厅", SHARED},
        {"省总工会", SHARED},
        {"省工商联", SHARED}}},
      {42,
       {{"省人力资源社会保障厅", LEAD},
        {"省应急厅", LEAD},
        {"省卫生健康委", LEAD}}},
      {43, {{"省人力资源社会保障厅", LEAD}}},
      {44, {{"省人力资源社会保障厅", LEAD}}},
  };
  return *tasks;
}

// (agency id, role, via group id) as a comparable triple.
using Resp = std::tuple<std::string, Role, std::string>;

TEST_F(QinghaiPlanTest, EveryTaskHasTheResponsibilitiesTheTextNames) {
  ASSERT_EQ(ExpectedTasks().size(), 44u);
  ASSERT_EQ(doc().tasks_size(), 44);
  for (const ExpectedTask& want : ExpectedTasks()) {
    std::vector<Resp> expected;
    for (const auto& [name, role] : want.agencies) {
      if (name == kCities) {
        for (const std::string& id : Cities().member_agency_ids()) {
          expected.emplace_back(id, role, kCitiesGroup);
        }
      } else {
        expected.emplace_back(IdOf(name), role, "");
      }
    }
    std::vector<Resp> got;
    for (const auto& r : task(want.number).responsibilities()) {
      got.emplace_back(r.agency_id(), r.role(), r.via_group_id());
      EXPECT_EQ(r.reason(), "plan text");
      EXPECT_EQ(r.assigned_seq(), 0u);
    }
    EXPECT_EQ(got, expected)
        << "task " << want.number << " " << task(want.number).assignment_text();
  }
}

TEST_F(QinghaiPlanTest, ConvenerIsTheFirstLeadElseTheFirstShared) {
  for (const ExpectedTask& want : ExpectedTasks()) {
    std::string convener;
    for (Role role : {LEAD, SHARED}) {
      for (const auto& [name, r] : want.agencies) {
        if (r == role && convener.empty()) convener = IdOf(name);
      }
    }
    EXPECT_EQ(task(want.number).convener_agency_id(), convener)
        << "task " << want.number;
  }
  EXPECT_EQ(task(1).convener_agency_id(), "qh-drc");
  EXPECT_EQ(task(2).convener_agency_id(), "qh-finance");
  EXPECT_EQ(task(11).convener_agency_id(), "pbc-xining");
  EXPECT_EQ(task(39).convener_agency_id(), "qh-veterans");
}

TEST_F(QinghaiPlanTest, OpenListsAreTheOnesEndingInDeng) {
  const std::set<int> open = {9, 21, 24};
  for (const Task& t : doc().tasks()) {
    if (open.count(t.number())) {
      EXPECT_THAT(t.open_list_roles(), ElementsAre(SHARED)) << t.number();
    } else {
      EXPECT_THAT(t.open_list_roles(), IsEmpty()) << t.number();
    }
  }
}

TEST_F(QinghaiPlanTest, GroupExpandsToTheEightGovernments) {
  const Task& t = task(1);
  ASSERT_EQ(t.responsibilities_size(), 10);
  std::vector<std::string> members;
  for (int i = 2; i < 10; ++i) {
    const auto& r = t.responsibilities(i);
    EXPECT_EQ(r.role(), SUPPORT);
    EXPECT_EQ(r.via_group_id(), kCitiesGroup);
    members.push_back(r.agency_id());
  }
  EXPECT_THAT(members, ElementsAre("gov-xining", "gov-haidong", "gov-haibei",
                                   "gov-huangnan", "gov-hainan", "gov-golog",
                                   "gov-yushu", "gov-haixi"));
  // Named one by one (task 21), the governments carry no group.
  for (const auto& r : task(21).responsibilities()) {
    EXPECT_EQ(r.via_group_id(), "");
  }
}

TEST_F(QinghaiPlanTest, TextAndParenthesisAreAsWritten) {
  EXPECT_EQ(task(1).assignment_text(),
            "(省发展改革委、省人力资源社会保障厅牵头负责，各市州政府配合)");
  EXPECT_EQ(
      task(11).assignment_text(),
      "(人行西宁中心支行、省财政厅、省人力资源社会保障厅、省地方金融监管局、"
      "青海银保监局，西宁市政府按职责分工负责)");
  EXPECT_EQ(task(8).text(),
            "深化放管服和商事制度改革，落实优化营商环境条例和行政审批“清单”"
            "公示制度，继续取消、下放和调整行政审批事项。");
  // Task 36 is indented with en spaces in the source.
  EXPECT_EQ(task(36).text().rfind("用好东西部协作和对口支援平台", 0), 0u);
  // Every task is exactly one line of the appendix: "<n>.<text><parenthesis>".
  const size_t appendix = source_->rfind("\n重点任务分工方案");
  ASSERT_NE(appendix, std::string::npos);
  for (const Task& t : doc().tasks()) {
    const std::string line =
        std::to_string(t.number()) + "." + t.text() + t.assignment_text();
    EXPECT_NE(source_->find(line, appendix), std::string::npos)
        << "task " << t.number();
    EXPECT_NE(t.text().back(), ')');
  }
}

TEST_F(QinghaiPlanTest, AgenciesAreTheOnesTheTasksName) {
  std::set<std::string> named;
  for (const Task& t : doc().tasks()) {
    for (const auto& r : t.responsibilities()) named.insert(r.agency_id());
  }
  std::vector<std::string> expected;  // registry order
  for (const auto& a : registry_->agencies()) {
    if (named.count(a.id())) expected.push_back(a.id());
  }
  std::vector<std::string> got;
  for (const auto& a : doc().agencies()) got.push_back(a.id());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.size(), 48u);  // 40 named + 3 named governments + 5 via group
  ASSERT_EQ(doc().groups_size(), 1);
  EXPECT_EQ(doc().groups(0).id(), kCitiesGroup);
  EXPECT_EQ(doc().groups(0).name(), kCities);
}

TEST_F(QinghaiPlanTest, RegistryIsWellFormed) {
  std::set<std::string> ids;
  for (const auto& a : registry_->agencies()) {
    EXPECT_TRUE(ids.insert(a.id()).second) << a.id();
    EXPECT_TRUE(a.id().size() >= 2 && a.id().size() <= 63 && a.id()[0] >= 'a' &&
                a.id()[0] <= 'z' &&
                std::all_of(a.id().begin(), a.id().end(),
                            [](char c) {
                              return (c >= 'a' && c <= 'z') ||
                                     (c >= '0' && c <= '9') || c == '-';
                            }))
        << a.id();
    EXPECT_FALSE(a.name().empty()) << a.id();
    EXPECT_FALSE(a.short_name().empty()) << a.id();
  }
  EXPECT_EQ(IdOf("省人力资源社会保障厅"), "qh-hrss");
  EXPECT_EQ(IdOf("省发展改革委"), "qh-drc");
  EXPECT_EQ(IdOf("人行西宁中心支行"), "pbc-xining");
  EXPECT_EQ(IdOf("西宁市政府"), "gov-xining");
  EXPECT_NE(IdOf("省统计局"), "");
  EXPECT_NE(IdOf("国家统计局青海调查总队"), "");
  std::vector<std::string> members;
  for (const std::string& id : Cities().member_agency_ids()) {
    for (const auto& a : registry_->agencies()) {
      if (a.id() == id) members.push_back(a.short_name());
    }
  }
  EXPECT_THAT(members, ElementsAre("西宁市政府", "海东市政府", "海北州政府",
                                   "黄南州政府", "海南州政府", "果洛州政府",
                                   "玉树州政府", "海西州政府"));
}

TEST_F(QinghaiPlanTest, FifteenIndicators) {
  struct Want {
    const char* name;
    const char* unit;
    duban::v1::TargetKind kind;
    double value;
    const char* text;
    duban::v1::IndicatorAttribute attribute;
  };
  const Want want[] = {
      {"城镇新增就业", "万人", CUMULATIVE, 30, "〔30〕", EXPECTED},
      {"农牧区劳动力转移就业", "万人次", CUMULATIVE, 500, "〔500〕", EXPECTED},
      {"脱贫人口和监测帮扶对象务工规模", "万人次", CUMULATIVE, 100, "〔100〕",
       EXPECTED},
      {"城镇调查失业率", "%", CEILING, 5.5, "控制在5.5%左右", EXPECTED},
      {"城镇就业占比", "%", AROUND, 65, "65左右", EXPECTED},
      {"全员劳动生产率", "万元/人", AROUND, 11.5, "11.5左右", EXPECTED},
      {"劳动年龄人口平均受教育年限", "年", FLOOR, 10.5, ">10.5", BINDING},
      {"新增劳动力受过高等教育比例", "%", INCREASING, 0, "稳步提高", EXPECTED},
      {"开展补贴性职业技能培训", "万人次", CUMULATIVE, 50, "〔50〕", EXPECTED},
      {"技能劳动者总量", "万人", LEVEL, 42, "42", EXPECTED},
      {"高技能人才总量", "万人", LEVEL, 11, "11", EXPECTED},
      {"劳动报酬占比", "%", INCREASING, 0, "稳步提高", EXPECTED},
      {"基本养老保险参保率", "%", LEVEL, 95, "95", EXPECTED},
      {"劳动保障监察举报投诉案件结案率", "%", FLOOR, 96, ">96", EXPECTED},
      {"劳动人事争议仲裁结案率", "%", FLOOR, 95, ">95", EXPECTED},
  };
  ASSERT_EQ(doc().indicators_size(), 15);
  for (int i = 0; i < 15; ++i) {
    const Indicator& ind = doc().indicators(i);
    SCOPED_TRACE("indicator " + std::to_string(i + 1));
    EXPECT_EQ(ind.plan_id(), kPlanId);
    EXPECT_EQ(ind.number(), i + 1);
    EXPECT_EQ(ind.name(), want[i].name);
    EXPECT_EQ(ind.unit(), want[i].unit);
    EXPECT_EQ(ind.target_kind(), want[i].kind);
    EXPECT_DOUBLE_EQ(ind.target_value(), want[i].value);
    EXPECT_EQ(ind.target_text(), want[i].text);
    EXPECT_EQ(ind.attribute(), want[i].attribute);
  }
}

TEST_F(QinghaiPlanTest, BaselinesComeFromTheResultsTableByExactName) {
  struct Want {
    duban::v1::TargetKind kind;
    double value;
    const char* text;
  };
  // 专栏1 rows whose 指标 equals a 专栏2 name; 城镇登记失业率 (专栏1) is not
  // 城镇调查失业率 (专栏2), and 职业技能培训 is not 开展补贴性职业技能培训.
  const std::map<int, Want> want = {
      {1, {CUMULATIVE, 31.2, "〔31.2〕"}},
      {2, {CUMULATIVE, 566, "〔566〕"}},
      {7, {LEVEL, 9.7, "9.7"}},
      {10, {LEVEL, 36.38, "36.38"}},
      {11, {LEVEL, 9.17, "9.17"}},
      {15, {FLOOR, 95, ">95"}},
  };
  for (const Indicator& ind : doc().indicators()) {
    auto it = want.find(ind.number());
    if (it == want.end()) {
      EXPECT_FALSE(ind.has_baseline()) << ind.name();
      continue;
    }
    ASSERT_TRUE(ind.has_baseline()) << ind.name();
    EXPECT_EQ(ind.baseline().year(), 2020);
    EXPECT_EQ(ind.baseline().kind(), it->second.kind) << ind.name();
    EXPECT_DOUBLE_EQ(ind.baseline().value(), it->second.value) << ind.name();
    EXPECT_EQ(ind.baseline().text(), it->second.text) << ind.name();
  }
}

TEST_F(QinghaiPlanTest, Warnings) {
  const auto& w = parsed_->warnings;
  EXPECT_THAT(Wheres(w), ElementsAre("专栏1 row 8", "专栏2 row 10",
                                     "专栏2 row 5", "二(三)", "二(三)"));
  const auto row5 = WarningsAt(w, "专栏2 row 5");
  ASSERT_EQ(row5.size(), 1u);
  EXPECT_THAT(row5[0], HasSubstr("城镇就业占比%65左右预期性"));
  EXPECT_THAT(row5[0], HasSubstr("repaired to \"城镇就业占比\""));
  const auto row10 = WarningsAt(w, "专栏2 row 10");
  ASSERT_EQ(row10.size(), 1u);
  EXPECT_THAT(row10[0], HasSubstr("lines 236–237"));
  const auto row8 = WarningsAt(w, "专栏1 row 8");
  ASSERT_EQ(row8.size(), 1u);
  EXPECT_THAT(row8[0], HasSubstr("企业劳动合同签订率"));
  const auto text = WarningsAt(w, "二(三)");
  ASSERT_EQ(text.size(), 2u);
  EXPECT_THAT(text[0], HasSubstr("unreadable character <U+E010> on line 215"));
  // The 42万 breakdown: 185 + 12.5 + 8.5 + 2 + 0.5 = 208.5.
  EXPECT_THAT(text[1], HasSubstr("技能劳动者总量达到42万人"));
  EXPECT_THAT(text[1], HasSubstr("初级工185 + 中级工12.5 + 高级工8.5 + 技师2 + "
                                 "高级技师0.5"));
  EXPECT_THAT(text[1], HasSubstr("add up to 208.5万人, not 42万人"));
  EXPECT_THAT(text[1], HasSubstr("read as a decimal point the parts add up to "
                                 "42万人"));
}

// ------------------------------------------- which agencies answer for what

// The reviewed links of indicator-agencies.textproto, by short name.
TEST_F(QinghaiPlanTest, IndicatorAgenciesAreTheReviewedLinks) {
  const std::vector<std::vector<std::string>> want = {
      {"省人力资源社会保障厅"},
      {"省人力资源社会保障厅", "省发展改革委", "省乡村振兴局", "省农业农村厅",
       "省商务厅", "省文化和旅游厅"},
      {"省人力资源社会保障厅", "省乡村振兴局"},
      {"省统计局", "国家统计局青海调查总队"},
      {"省统计局", "国家统计局青海调查总队"},
      {"省发展改革委", "省人力资源社会保障厅"},
      {"省教育厅"},
      {"省教育厅"},
      {"省人力资源社会保障厅", "省财政厅"},
      {"省人力资源社会保障厅", "省教育厅"},
      {"省人力资源社会保障厅", "省教育厅"},
      {"省人力资源社会保障厅"},
      {"省人力资源社会保障厅"},
      {"省人力资源社会保障厅"},
      {"省人力资源社会保障厅"},
  };
  ASSERT_EQ(linked().indicators_size(), 15);
  for (int i = 0; i < 15; ++i) {
    const Indicator& ind = linked().indicators(i);
    std::vector<std::string> ids;
    for (const std::string& name : want[i]) ids.push_back(IdOf(name));
    EXPECT_THAT(ind.responsible_agency_ids(), ::testing::ElementsAreArray(ids))
        << "indicator " << ind.number() << " " << ind.name();
    EXPECT_FALSE(ind.responsibility_source().empty()) << ind.name();
  }
}

TEST_F(QinghaiPlanTest, EveryIndicatorIsLinkedOnce) {
  ASSERT_EQ(links_->links_size(), 15);
  for (int i = 0; i < 15; ++i) {
    const IndicatorAgencyLink& link = links_->links(i);
    EXPECT_EQ(link.indicator_number(), i + 1);
    EXPECT_EQ(link.indicator_name(), doc().indicators(i).name());
    EXPECT_EQ(linked().indicators(i).responsibility_source(), link.source());
  }
  // No indicator without agencies: the warnings are the parser's own.
  EXPECT_EQ(Wheres(linked_->warnings), Wheres(parsed_->warnings));
  // Only the indicators changed; every linked agency is one the tasks name.
  PlanDocument unlinked = linked();
  for (Indicator& ind : *unlinked.mutable_indicators()) {
    ind.clear_responsible_agency_ids();
    ind.clear_responsibility_source();
  }
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(unlinked, doc()));
}

// The two links issue 3 names.
TEST_F(QinghaiPlanTest, IssueLinks) {
  EXPECT_EQ(linked().indicators(0).name(), "城镇新增就业");
  EXPECT_THAT(linked().indicators(0).responsible_agency_ids(),
              ElementsAre("qh-hrss"));
  EXPECT_EQ(linked().indicators(3).name(), "城镇调查失业率");
  EXPECT_THAT(linked().indicators(3).responsible_agency_ids(),
              ElementsAre(IdOf("省统计局"), IdOf("国家统计局青海调查总队")));
  EXPECT_THAT(linked().indicators(3).responsibility_source(),
              HasSubstr("稳步推进省级调查失业率月度统计"));
}

TEST_F(QinghaiPlanTest, LinkedAgenciesAreRegistryAgenciesByTheirTextNames) {
  std::set<std::string> registry_ids, doc_ids;
  for (const auto& a : registry_->agencies()) registry_ids.insert(a.id());
  for (const auto& a : linked().agencies()) doc_ids.insert(a.id());
  for (int i = 0; i < links_->links_size(); ++i) {
    const IndicatorAgencyLink& link = links_->links(i);
    const Indicator& ind = linked().indicators(i);
    ASSERT_EQ(ind.responsible_agency_ids_size(), link.agencies_size());
    for (int k = 0; k < link.agencies_size(); ++k) {
      const std::string& id = ind.responsible_agency_ids(k);
      EXPECT_TRUE(registry_ids.count(id)) << id;
      EXPECT_TRUE(doc_ids.count(id)) << id;
      // The file writes the names the text uses.
      EXPECT_EQ(IdOf(link.agencies(k)), id) << link.agencies(k);
    }
  }
}

// The last paragraph of the source text that starts with `start` (the
// first may be the table of contents').
std::string Paragraph(const std::string& text, const std::string& start) {
  std::string found;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, start)) found = std::string(line);
  }
  EXPECT_FALSE(found.empty()) << "no paragraph starts with " << start;
  return found;
}

// Every piece of `quote` between "…" cuts occurs in `text`.
void ExpectQuoted(absl::string_view quote, const std::string& text,
                  const std::string& what) {
  EXPECT_FALSE(quote.empty()) << what;
  for (absl::string_view piece : absl::StrSplit(quote, "…")) {
    if (piece.empty()) continue;
    EXPECT_THAT(text, HasSubstr(std::string(piece)))
        << what << " does not say \"" << piece << "\"";
  }
}

// Each source cites appendix tasks as "任务N: <their words> (<their
// parenthesis>)", quoted as written (… marks a cut), or, where only the
// general duty applies, "九(三) 加强督促检查: <its words>". Every agency of
// the link is named in the source and holds a LEAD or SHARED role in a
// cited task; with 九(三), is named in that paragraph of the text.
TEST_F(QinghaiPlanTest, EachSourceCitesAPassageThatNamesTheLinkedAgencies) {
  const std::string duty = Paragraph(*source_, "(三)加强督促检查");
  for (int i = 0; i < links_->links_size(); ++i) {
    const IndicatorAgencyLink& link = links_->links(i);
    const std::string& src = link.source();
    SCOPED_TRACE("link " + std::to_string(i + 1) + " " +
                 link.indicator_name() + ": " + src);
    for (const std::string& name : link.agencies()) {
      EXPECT_THAT(src, HasSubstr(name));
    }
    std::vector<int> cited;
    for (size_t at = src.find("任务"); at != std::string::npos;
         at = src.find("任务", at + 1)) {
      size_t p = at + std::string("任务").size();
      const size_t digits = p;
      while (p < src.size() && src[p] >= '0' && src[p] <= '9') ++p;
      if (p == digits || src.compare(p, 2, ": ") != 0) continue;
      const int n = std::stoi(src.substr(digits, p - digits));
      ASSERT_TRUE(n >= 1 && n <= doc().tasks_size()) << n;
      cited.push_back(n);
      const size_t open = src.find(" (", p);
      ASSERT_NE(open, std::string::npos);
      const size_t close = src.find(')', open);
      ASSERT_NE(close, std::string::npos);
      ExpectQuoted(absl::string_view(src).substr(p + 2, open - p - 2),
                   task(n).text(), "task " + std::to_string(n));
      ExpectQuoted(absl::string_view(src).substr(open + 2, close - open - 2),
                   task(n).assignment_text(),
                   "task " + std::to_string(n) + "'s parenthesis");
    }
    if (cited.empty()) {
      const std::string head = "九(三) 加强督促检查: ";
      ASSERT_TRUE(absl::StartsWith(src, head))
          << "cites neither a task nor 九(三)";
      const size_t end = src.find("; ");
      ExpectQuoted(absl::string_view(src).substr(
                       head.size(), end == std::string::npos
                                        ? std::string::npos
                                        : end - head.size()),
                   duty, "九(三)");
      for (const std::string& name : link.agencies()) {
        EXPECT_THAT(duty, HasSubstr(name));
      }
      continue;
    }
    for (const std::string& name : link.agencies()) {
      const std::string id = IdOf(name);
      bool answers = false;
      for (int n : cited) {
        for (const auto& r : task(n).responsibilities()) {
          answers = answers || (r.agency_id() == id &&
                                (r.role() == LEAD || r.role() == SHARED));
        }
      }
      EXPECT_TRUE(answers) << name << " neither leads nor shares a cited task";
    }
  }
}

TEST_F(QinghaiPlanTest, ShippedPlanIsWhatTheParserReads) {
  const PlanDocument shipped =
      ParseTextProto<PlanDocument>(ReadFile(PlanFile("plan.textproto")));
  google::protobuf::util::MessageDifferencer differencer;
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(shipped, linked()))
      << "plans/qinghai-employment-2021/plan.textproto is stale; regenerate "
         "it with duban-plan (--indicator_agencies too) and review the "
         "diff:\n"
      << differences;
}

// --------------------------------------------------- synthetic texts

constexpr char kTestRegistry[] = R"pb(
  agencies {
    id: "p-jia"
    name: "测试省甲厅全称"
    short_name: "省甲厅"
    aliases: "甲厅"
  }
  agencies { id: "p-yi" name: "测试省乙厅全称" short_name: "省乙厅" }
  agencies { id: "p-bing" name: "测试省丙厅全称" short_name: "省丙厅" }
  agencies { id: "p-ding" name: "测试省丁厅全称" short_name: "省丁厅" }
  agencies { id: "p-wu" name: "测试省戊厅全称" short_name: "省戊厅" }
  agencies {
    id: "gov-one"
    name: "一市人民政府"
    short_name: "一市政府"
    group_ids: "cities"
  }
  agencies {
    id: "gov-two"
    name: "二州人民政府"
    short_name: "二州政府"
    group_ids: "cities"
  }
  groups {
    id: "cities"
    name: "各市州政府"
    member_agency_ids: "gov-one"
    member_agency_ids: "gov-two"
  }
)pb";

AgencyRegistry TestRegistry() {
  return ParseTextProto<AgencyRegistry>(kTestRegistry);
}

// A small plan: header, chapters 二 (with `goals`), 三 and 四, and the
// appendix with `items`.
std::string TestPlan(const std::string& items, const std::string& goals = "") {
  return "测试省人民政府办公厅\n"
         "关于印发测试省“十四五”就业促进规划的通知\n"
         "测政办〔2021〕7号\n\n"
         "二、总体要求\n\n(三)主要目标。\n\n" +
         goals +
         "\n三、促进经济增长推动就业扩容提质\n\n"
         "(一)"
         "推动形成促进就业政策合力。加强就业政策与财税、金融、产业等经济政策"
         "的配套衔接，形成有利于促进就业的宏观政策体系。\n\n"
         "四、支持市场主体发展鼓励创业带动就业\n\n"
         "(一)"
         "优化环境鼓励支持自主创业。深化放管服改革，进一步降低市场准入门槛，"
         "深入推进证照分离改革全覆盖。\n\n"
         "附件\n\n重点任务分工方案\n\n" +
         items;
}

absl::StatusOr<ParsedPlan> Parse(const std::string& text) {
  return ParsePlanText(text, TestRegistry(), "test-plan");
}

std::vector<Resp> Responsibilities(const Task& t) {
  std::vector<Resp> out;
  for (const auto& r : t.responsibilities()) {
    out.emplace_back(r.agency_id(), r.role(), r.via_group_id());
  }
  return out;
}

// Parses a one-task plan whose task ends in `parenthesis`.
Task OneTask(const std::string& parenthesis) {
  absl::StatusOr<ParsedPlan> parsed = Parse(
      TestPlan("1.加强就业政策配套衔接，形成宏观政策体系。" + parenthesis));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok() || parsed->document.tasks_size() != 1) return Task();
  return parsed->document.tasks(0);
}

TEST(PlanParserShapeTest, LeadsWithAGroupCooperating) {
  const Task t = OneTask("(省甲厅、省乙厅牵头负责，各市州政府配合)");
  EXPECT_EQ(Responsibilities(t),
            (std::vector<Resp>{{"p-jia", LEAD, ""},
                               {"p-yi", LEAD, ""},
                               {"gov-one", SUPPORT, "cities"},
                               {"gov-two", SUPPORT, "cities"}}));
  EXPECT_EQ(t.convener_agency_id(), "p-jia");
  EXPECT_THAT(t.open_list_roles(), IsEmpty());
  EXPECT_EQ(t.assignment_text(), "(省甲厅、省乙厅牵头负责，各市州政府配合)");
  EXPECT_EQ(t.text(), "加强就业政策配套衔接，形成宏观政策体系。");
}

TEST(PlanParserShapeTest, AllShareWhenNoneLeads) {
  const Task t = OneTask("(省甲厅、省乙厅、省丙厅按职责分工负责)");
  EXPECT_EQ(Responsibilities(t), (std::vector<Resp>{{"p-jia", SHARED, ""},
                                                    {"p-yi", SHARED, ""},
                                                    {"p-bing", SHARED, ""}}));
  EXPECT_EQ(t.convener_agency_id(), "p-jia");  // the first listed
}

TEST(PlanParserShapeTest, LeadsThenAnOpenSharedList) {
  const Task t =
      OneTask("(省甲厅、省乙厅牵头，省丙厅、省丁厅等按职责分工负责)");
  EXPECT_EQ(Responsibilities(t), (std::vector<Resp>{{"p-jia", LEAD, ""},
                                                    {"p-yi", LEAD, ""},
                                                    {"p-bing", SHARED, ""},
                                                    {"p-ding", SHARED, ""}}));
  EXPECT_THAT(t.open_list_roles(), ElementsAre(SHARED));
  EXPECT_EQ(t.convener_agency_id(), "p-jia");
}

TEST(PlanParserShapeTest, CommaInsideOneRolesList) {
  const Task t = OneTask("(省甲厅、省乙厅、省丙厅，省丁厅按职责分工负责)");
  EXPECT_EQ(Responsibilities(t), (std::vector<Resp>{{"p-jia", SHARED, ""},
                                                    {"p-yi", SHARED, ""},
                                                    {"p-bing", SHARED, ""},
                                                    {"p-ding", SHARED, ""}}));
  EXPECT_THAT(t.open_list_roles(), IsEmpty());
}

TEST(PlanParserShapeTest, LeadThenCommaSplitOpenSharedList) {
  const Task t =
      OneTask("(省甲厅牵头，省乙厅、省丙厅，省丁厅、省戊厅等按职责分工负责)");
  EXPECT_EQ(Responsibilities(t), (std::vector<Resp>{{"p-jia", LEAD, ""},
                                                    {"p-yi", SHARED, ""},
                                                    {"p-bing", SHARED, ""},
                                                    {"p-ding", SHARED, ""},
                                                    {"p-wu", SHARED, ""}}));
  EXPECT_THAT(t.open_list_roles(), ElementsAre(SHARED));
}

TEST(PlanParserShapeTest, NamesResolveThroughFullNamesAndAliases) {
  const Task t = OneTask("(测试省乙厅全称牵头负责，甲厅配合)");
  EXPECT_EQ(Responsibilities(t),
            (std::vector<Resp>{{"p-yi", LEAD, ""}, {"p-jia", SUPPORT, ""}}));
}

TEST(PlanParserShapeTest, IndentedWrappedAndFullWidthItems) {
  absl::StatusOr<ParsedPlan> parsed = Parse(TestPlan(
      "1.加强就业政策配套衔接。(省甲厅牵头负责)\n\n"
      "\u2002\u20022.深化放管服改革，\n降低市场准入门槛。（省乙厅牵头负责）\n"
      "\u30003.深入推进证照分离改革全覆盖。(省丙厅牵头负责)\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const PlanDocument& doc = parsed->document;
  ASSERT_EQ(doc.tasks_size(), 3);
  EXPECT_EQ(doc.tasks(1).text(), "深化放管服改革，降低市场准入门槛。");
  EXPECT_EQ(doc.tasks(1).assignment_text(), "（省乙厅牵头负责）");
  EXPECT_EQ(doc.tasks(2).convener_agency_id(), "p-bing");
  EXPECT_EQ(doc.plan_id(), "test-plan");
  EXPECT_EQ(doc.title(), "测试省“十四五”就业促进规划");
  EXPECT_EQ(doc.document_number(), "测政办〔2021〕7号");
  EXPECT_EQ(doc.issuer(), "测试省人民政府办公厅");
  EXPECT_EQ(doc.start_year(), 2021);
  EXPECT_EQ(doc.end_year(), 2025);
  // Agencies: those named, in registry order; no group was used.
  ASSERT_EQ(doc.agencies_size(), 3);
  EXPECT_EQ(doc.agencies(0).id(), "p-jia");
  EXPECT_EQ(doc.agencies(2).id(), "p-bing");
  EXPECT_EQ(doc.groups_size(), 0);
}

TEST(PlanParserShapeTest, TasksGoToTheChapterTheyMatch) {
  absl::StatusOr<ParsedPlan> parsed = Parse(TestPlan(
      "1.加强就业政策与财税、金融、产业等经济政策的配套衔接。(省甲厅牵头负责)\n"
      "2.深化放管服改革，进一步降低市场准入门槛。(省乙厅牵头负责)\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const PlanDocument& doc = parsed->document;
  EXPECT_EQ(doc.tasks(0).section().number(), "三");
  EXPECT_EQ(doc.tasks(1).section().number(), "四");
  ASSERT_EQ(doc.sections_size(), 2);
  EXPECT_EQ(doc.sections(0).title(), "促进经济增长推动就业扩容提质");
  EXPECT_EQ(doc.sections(1).title(), "支持市场主体发展鼓励创业带动就业");
  EXPECT_THAT(parsed->warnings, IsEmpty());
}

TEST(PlanParserShapeTest, ChaptersNeverGoBackwards) {
  // Task 2 reads like chapter 三 but follows a task from 四.
  absl::StatusOr<ParsedPlan> parsed = Parse(TestPlan(
      "1.深化放管服改革，进一步降低市场准入门槛，深入推进证照分离改革全覆盖。"
      "(省甲厅牵头负责)\n"
      "2.加强就业政策配套衔接。(省乙厅牵头负责)\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const PlanDocument& doc = parsed->document;
  EXPECT_EQ(doc.tasks(0).section().number(), "四");
  EXPECT_EQ(doc.tasks(1).section().number(), "四");
  EXPECT_THAT(Wheres(parsed->warnings), ElementsAre("task 2"));
}

// --------------------------------------------------------- malformed input

void ExpectInvalid(const absl::StatusOr<ParsedPlan>& parsed,
                   const std::string& message_part) {
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
      << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(message_part));
}

TEST(PlanParserErrorTest, UnknownAgency) {
  absl::StatusOr<ParsedPlan> parsed =
      Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责)\n"
                     "2.深化放管服改革。(省外星局牵头负责)\n"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(),
            "task 2: unknown agency \"省外星局\" in (省外星局牵头负责)");
}

TEST(PlanParserErrorTest, NoVerbAtTheEnd) {
  ExpectInvalid(
      Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责，省乙厅、省丙厅)")),
      "task 1: no role verb");
  ExpectInvalid(
      Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责，省乙厅、省丙厅)")),
      "\"省乙厅、省丙厅\" in (省甲厅牵头负责，省乙厅、省丙厅)");
}

TEST(PlanParserErrorTest, MissingParenthesis) {
  ExpectInvalid(Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责)\n"
                               "2.深化放管服改革，降低市场准入门槛。\n")),
                "task 2: no assignment parenthesis at the end of "
                "\"深化放管服改革，降低市场准入门槛。\"");
}

TEST(PlanParserErrorTest, DuplicateNumber) {
  ExpectInvalid(Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责)\n"
                               "2.深化放管服改革。(省乙厅牵头负责)\n"
                               "2.降低市场准入门槛。(省丙厅牵头负责)\n")),
                "task 2: number 2 is used twice; the second item reads "
                "\"2.降低市场准入门槛。(省丙厅牵头负责)\"");
}

TEST(PlanParserErrorTest, SkippedNumber) {
  ExpectInvalid(Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责)\n"
                               "3.降低市场准入门槛。(省丙厅牵头负责)\n")),
                "task 3: expected task 2 here, found 3");
  ExpectInvalid(Parse(TestPlan("2.加强就业政策。(省甲厅牵头负责)\n")),
                "task 2: expected task 1 here, found 2");
}

TEST(PlanParserErrorTest, EmptyText) {
  ExpectInvalid(Parse(""), "empty");
  ExpectInvalid(Parse(" \n\u3000\n"), "empty");
}

TEST(PlanParserErrorTest, InvalidUtf8) {
  ExpectInvalid(Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责)\n\xff")),
                "source: not valid UTF-8 at byte");
}

TEST(PlanParserErrorTest, MissingOrEmptyAppendix) {
  std::string text = TestPlan("");
  text.erase(text.find("重点任务分工方案"));
  ExpectInvalid(Parse(text), "appendix: no appendix heading 重点任务分工方案");
  ExpectInvalid(Parse(TestPlan("")), "appendix: no numbered tasks");
  ExpectInvalid(Parse(TestPlan("说明文字。\n1.加强就业政策。(省甲厅牵头负责)")),
                "appendix: text before task 1: \"说明文字。\"");
}

TEST(PlanParserErrorTest, SameAgencyTwice) {
  ExpectInvalid(Parse(TestPlan("1.加强就业政策。(省甲厅牵头，省甲厅配合)")),
                "task 1: agency 省甲厅 is named twice");
  ExpectInvalid(
      Parse(TestPlan("1.加强就业政策。(一市政府牵头，各市州政府配合)")),
      "task 1: agency 一市政府 is named twice, as \"一市政府\" and as "
      "\"各市州政府\" (一市政府)");
}

TEST(PlanParserErrorTest, OtherUnreadableParentheses) {
  ExpectInvalid(Parse(TestPlan("1.加强就业政策。(省甲厅配合)")),
                "task 1: no agency leads or shares the task");
  ExpectInvalid(
      Parse(TestPlan("1.加强就业政策。(省甲厅牵头负责，，省乙厅配合)")),
      "task 1: empty clause");
  ExpectInvalid(Parse(TestPlan("1.加强就业政策。(省甲厅、牵头负责)")),
                "task 1: empty agency name");
  ExpectInvalid(Parse(TestPlan("1.(省甲厅牵头负责)")),
                "task 1: no task text before (省甲厅牵头负责)");
}

TEST(PlanParserErrorTest, BadRegistryOrPlanId) {
  AgencyRegistry registry = TestRegistry();
  registry.add_agencies()->set_id("p-jia");
  absl::StatusOr<ParsedPlan> parsed = ParsePlanText(
      TestPlan("1.加强就业政策。(省甲厅牵头负责)"), registry, "test-plan");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("registry"));
  parsed = ParsePlanText(TestPlan("1.加强就业政策。(省甲厅牵头负责)"),
                         TestRegistry(), "Bad Id");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("plan_id"));
}

// ------------------------------------------------------------- indicators

constexpr char kGoals[] =
    "———“十四五”期间全省城镇新增就业35万人，城镇调查失业率控制在5.5%左右。"
    "技能劳动者总量达到42万人，其中:初级工20万人、中级工12万人。\n\n"
    "专栏1“十三五”主要指标完成情况\n\n"
    "序号\t指标\t单位\t规划目标\t完成情况\n"
    "1\t城镇新增就业\t万人\t〔30〕\t〔31.2〕\n"
    "2\t城镇登记失业率\t%\t<4.2\t<3.5\n"
    "3\t\n技能劳动者总量\n\n万人\t32.4\t36.38\n"
    "注:〔〕内为2016年以来累计数。\n\n"
    "专栏2“十四五”时期就业主要指标\n\n\n"
    "序号\t指标\t单位\t规划目标\t属性\n"
    "1\t城镇新增就业\t万人\t〔30〕\t预期性\n"
    "2\t城镇调查失业率\t%\t控制在5.5%左右\t预期性\n"
    "3\t城镇就业占比%65左右预期性\t%\t65左右\t预期性\n"
    "4\n平均受教育年限\t年\t>10.5\t约束性\n"
    "5\t技能劳动者总量\t万人\t42\t预期性\n"
    "6\t劳动报酬占比\t%\t稳步提高\t预期性\n"
    "注:〔〕内为5年累计数。\n";

constexpr char kOneTask[] = "1.加强就业政策配套衔接。(省甲厅牵头负责)";

TEST(PlanParserIndicatorTest, KindsRepairsBaselinesAndCrossChecks) {
  absl::StatusOr<ParsedPlan> parsed = Parse(TestPlan(kOneTask, kGoals));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const PlanDocument& doc = parsed->document;
  ASSERT_EQ(doc.indicators_size(), 6);
  using Row = std::tuple<std::string, duban::v1::TargetKind, double,
                         duban::v1::IndicatorAttribute>;
  std::vector<Row> got;
  for (const Indicator& ind : doc.indicators()) {
    got.emplace_back(ind.name(), ind.target_kind(), ind.target_value(),
                     ind.attribute());
  }
  EXPECT_EQ(got, (std::vector<Row>{
                     {"城镇新增就业", CUMULATIVE, 30, EXPECTED},
                     {"城镇调查失业率", CEILING, 5.5, EXPECTED},
                     {"城镇就业占比", AROUND, 65, EXPECTED},
                     {"平均受教育年限", FLOOR, 10.5, BINDING},
                     {"技能劳动者总量", LEVEL, 42, EXPECTED},
                     {"劳动报酬占比", INCREASING, 0, EXPECTED},
                 }));
  EXPECT_EQ(doc.indicators(0).baseline().text(), "〔31.2〕");
  EXPECT_EQ(doc.indicators(0).baseline().kind(), CUMULATIVE);
  EXPECT_EQ(doc.indicators(0).baseline().year(), 2020);
  EXPECT_FALSE(doc.indicators(1).has_baseline());  // 登记 is not 调查
  EXPECT_DOUBLE_EQ(doc.indicators(4).baseline().value(), 36.38);
  EXPECT_EQ(doc.indicators(4).baseline().kind(), LEVEL);

  EXPECT_THAT(Wheres(parsed->warnings),
              ElementsAre("专栏1 row 3", "专栏2 row 4", "专栏2 row 3", "二(三)",
                          "专栏2 row 1"));
  EXPECT_THAT(WarningsAt(parsed->warnings, "二(三)")[0],
              HasSubstr("(初级工20 + 中级工12) add up to 32万人, not 42万人"));
  EXPECT_THAT(WarningsAt(parsed->warnings, "专栏2 row 1")[0],
              HasSubstr("\"〔30〕\" disagrees with 二(三), which states "
                        "\"城镇新增就业35万人\""));
}

TEST(PlanParserIndicatorTest, UnreadableRows) {
  std::string goals = kGoals;
  goals.replace(goals.find("〔30〕\t预期性"), std::string("〔30〕").size(),
                "很多");
  ExpectInvalid(Parse(TestPlan(kOneTask, goals)),
                "专栏2 row 1: cannot read the target \"很多\"");

  goals = kGoals;
  goals.replace(goals.find("42\t预期性") + 3, std::string("预期性").size(),
                "参考性");
  ExpectInvalid(Parse(TestPlan(kOneTask, goals)),
                "专栏2 row 5: attribute \"参考性\" is neither");

  goals = kGoals;
  goals.replace(goals.find("5\t技能劳动者总量"), 1, "7");
  ExpectInvalid(
      Parse(TestPlan(kOneTask, goals)),
      "专栏2 row 5: expected row number 5, found \"7\t技能劳动者总量");

  goals = kGoals;
  goals.replace(goals.find("\t预期性\n6"), std::string("\t预期性").size(),
                "\t预期性\t多余");
  ExpectInvalid(Parse(TestPlan(kOneTask, goals)),
                "专栏2 row 5: expected 5 cells, found 6");

  goals = kGoals;
  goals.replace(goals.find("属性"), std::string("属性").size(), "备注");
  ExpectInvalid(Parse(TestPlan(kOneTask, goals)), "专栏2: unknown table shape");
}

// ------------------------------------------------------ indicator links

// The plan of kGoals: six indicators, only 省甲厅 named by a task.
PlanDocument GoalsPlan() {
  absl::StatusOr<ParsedPlan> parsed = Parse(TestPlan(kOneTask, kGoals));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->document : PlanDocument();
}

IndicatorAgencies Links(const std::string& text) {
  return ParseTextProto<IndicatorAgencies>(text);
}

std::vector<std::string> AgencyIds(const PlanDocument& doc) {
  std::vector<std::string> out;
  for (const auto& a : doc.agencies()) out.push_back(a.id());
  return out;
}

TEST(IndicatorAgenciesTest, SetsAgenciesInLinkOrderAndAddsThemToTheDocument) {
  PlanDocument doc = GoalsPlan();
  ASSERT_EQ(doc.indicators_size(), 6);
  ASSERT_EQ(AgencyIds(doc), std::vector<std::string>{"p-jia"});
  std::vector<ImportWarning> warnings;
  const absl::Status status = ApplyIndicatorAgencies(
      Links(R"pb(
        links {
          indicator_number: 1
          indicator_name: "城镇新增就业"
          agencies: "省丁厅"
          agencies: "甲厅"
          source: "任务1: 加强就业政策配套衔接 (省甲厅牵头负责)"
        }
        links {
          indicator_number: 4
          indicator_name: "平均受教育年限"
          agencies: "测试省乙厅全称"
          agencies: "gov-two"
          source: "二(三)"
        }
        links {
          indicator_number: 2
          indicator_name: "城镇调查失业率"
          agencies: " 省乙厅 "
          source: "任务1"
        }
      )pb"),
      TestRegistry(), &doc, &warnings);
  ASSERT_TRUE(status.ok()) << status;
  // Short names, aliases, full names and ids; in the link's order.
  EXPECT_THAT(doc.indicators(0).responsible_agency_ids(),
              ElementsAre("p-ding", "p-jia"));
  EXPECT_EQ(doc.indicators(0).responsibility_source(),
            "任务1: 加强就业政策配套衔接 (省甲厅牵头负责)");
  EXPECT_THAT(doc.indicators(1).responsible_agency_ids(), ElementsAre("p-yi"));
  EXPECT_THAT(doc.indicators(3).responsible_agency_ids(),
              ElementsAre("p-yi", "gov-two"));
  EXPECT_EQ(doc.indicators(3).responsibility_source(), "二(三)");
  for (int i : {2, 4, 5}) {
    EXPECT_THAT(doc.indicators(i).responsible_agency_ids(), IsEmpty());
    EXPECT_EQ(doc.indicators(i).responsibility_source(), "");
  }
  // The agencies the links add, in registry order.
  EXPECT_EQ(AgencyIds(doc),
            (std::vector<std::string>{"p-jia", "p-yi", "p-ding", "gov-two"}));
  EXPECT_EQ(doc.agencies(3).short_name(), "二州政府");
  // Indicators without a link are warnings.
  EXPECT_THAT(Wheres(warnings),
              ElementsAre("indicator 3", "indicator 5", "indicator 6"));
  EXPECT_THAT(WarningsAt(warnings, "indicator 3")[0],
              HasSubstr("城镇就业占比 has no indicator-agencies link"));
}

TEST(IndicatorAgenciesTest, LinksReplaceWhatTheDocumentHad) {
  PlanDocument doc = GoalsPlan();
  std::vector<ImportWarning> warnings;
  ASSERT_TRUE(ApplyIndicatorAgencies(Links(R"pb(
                                       links {
                                         indicator_number: 1
                                         indicator_name: "城镇新增就业"
                                         agencies: "省乙厅"
                                         source: "first"
                                       }
                                     )pb"),
                                     TestRegistry(), &doc, &warnings)
                  .ok());
  warnings.clear();
  ASSERT_TRUE(ApplyIndicatorAgencies(Links(R"pb(
                                       links {
                                         indicator_number: 2
                                         indicator_name: "城镇调查失业率"
                                         agencies: "省甲厅"
                                         source: "second"
                                       }
                                     )pb"),
                                     TestRegistry(), &doc, &warnings)
                  .ok());
  EXPECT_THAT(doc.indicators(0).responsible_agency_ids(), IsEmpty());
  EXPECT_EQ(doc.indicators(0).responsibility_source(), "");
  EXPECT_THAT(doc.indicators(1).responsible_agency_ids(), ElementsAre("p-jia"));
  EXPECT_THAT(Wheres(warnings), ElementsAre("indicator 1", "indicator 3",
                                            "indicator 4", "indicator 5",
                                            "indicator 6"));
  // An agency once added stays: the document may name it elsewhere.
  EXPECT_EQ(AgencyIds(doc), (std::vector<std::string>{"p-jia", "p-yi"}));
}

// Applies one link (indicator 1 城镇新增就业 unless `link` says otherwise)
// to the kGoals plan and expects INVALID_ARGUMENT `message`, with the
// document and the warnings untouched.
void ExpectLinkError(const std::string& links, const std::string& message) {
  const PlanDocument before = GoalsPlan();
  PlanDocument doc = before;
  std::vector<ImportWarning> warnings;
  const absl::Status status =
      ApplyIndicatorAgencies(Links(links), TestRegistry(), &doc, &warnings);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(), message);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(doc, before));
  EXPECT_THAT(warnings, IsEmpty());
}

constexpr char kGoodLink[] = R"pb(
  links {
    indicator_number: 1
    indicator_name: "城镇新增就业"
    agencies: "省甲厅"
    source: "任务1"
  }
)pb";

TEST(IndicatorAgenciesTest, UnknownAgency) {
  ExpectLinkError(std::string(kGoodLink) + R"pb(
                    links {
                      indicator_number: 2
                      indicator_name: "城镇调查失业率"
                      agencies: "省甲厅"
                      agencies: "省外星局"
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 2: unknown agency \"省外星局\"");
}

TEST(IndicatorAgenciesTest, GroupsAreNotAllowed) {
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 1
                      indicator_name: "城镇新增就业"
                      agencies: "各市州政府"
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 1: \"各市州政府\" is a group "
                  "(cities); name the agencies that answer for \"城镇新增就业\" "
                  "one by one");
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 1
                      indicator_name: "城镇新增就业"
                      agencies: "cities"
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 1: \"cities\" is a group (cities); "
                  "name the agencies that answer for \"城镇新增就业\" one by "
                  "one");
}

TEST(IndicatorAgenciesTest, NumberAndNameMustBeTheDocumentsIndicator) {
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 2
                      indicator_name: "城镇新增就业"
                      agencies: "省甲厅"
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 1: indicator 2 is \"城镇调查失业率\", "
                  "not \"城镇新增就业\"");
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 9
                      indicator_name: "城镇新增就业"
                      agencies: "省甲厅"
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 1: the document has no indicator 9 "
                  "(\"城镇新增就业\")");
}

TEST(IndicatorAgenciesTest, OneLinkPerIndicator) {
  ExpectLinkError(std::string(kGoodLink) + R"pb(
                    links {
                      indicator_number: 2
                      indicator_name: "城镇调查失业率"
                      agencies: "省乙厅"
                      source: "任务1"
                    }
                  )pb" + kGoodLink,
                  "indicator-agencies link 3: indicator 1 \"城镇新增就业\" "
                  "already has link 1");
}

TEST(IndicatorAgenciesTest, AgenciesAndSourceAreRequired) {
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 1
                      indicator_name: "城镇新增就业"
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 1: no agencies for indicator 1 "
                  "\"城镇新增就业\"");
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 1
                      indicator_name: "城镇新增就业"
                      agencies: "省甲厅"
                      agencies: " "
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 1: empty agency name");
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 1
                      indicator_name: "城镇新增就业"
                      agencies: "省甲厅"
                      agencies: "测试省甲厅全称"
                      source: "任务1"
                    }
                  )pb",
                  "indicator-agencies link 1: agency 省甲厅 is named twice");
  ExpectLinkError(R"pb(
                    links {
                      indicator_number: 1
                      indicator_name: "城镇新增就业"
                      agencies: "省甲厅"
                      source: " "
                    }
                  )pb",
                  "indicator-agencies link 1: source: must not be empty");
}

TEST(IndicatorAgenciesTest, BadRegistry) {
  AgencyRegistry registry = TestRegistry();
  registry.add_agencies()->set_id("p-jia");
  PlanDocument doc = GoalsPlan();
  std::vector<ImportWarning> warnings;
  const absl::Status status =
      ApplyIndicatorAgencies(Links(kGoodLink), registry, &doc, &warnings);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("registry"));
}

}  // namespace
}  // namespace duban::engine
