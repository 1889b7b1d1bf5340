// End to end: a real duband process, a real gRPC client and dubanctl.
#include <sys/stat.h>

#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "duban/v1/assignment.grpc.pb.h"
#include "health.grpc.pb.h"
#include "reflection.grpc.pb.h"
#include "tests/duband_process.h"

namespace duban::testing {
namespace {

using duban::v1::AssignmentService;
using ::testing::HasSubstr;

constexpr char kPlan[] = "qinghai-employment-2021";

duban::v1::PlanDocument ShippedPlan() {
  duban::v1::PlanDocument doc;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFileOrDie(std::string(DUBAN_PLANS_DIR) + "/qinghai-employment-2021/plan.textproto"), &doc));
  return doc;
}

class E2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    server_ = DubandProcess::Start(data_);
    ASSERT_NE(server_, nullptr);
    stub_ = AssignmentService::NewStub(server_->Channel());
  }

  void Restart() {
    ASSERT_EQ(server_->Stop(), 0) << server_->Log();
    server_ = DubandProcess::Start(data_);
    ASSERT_NE(server_, nullptr);
    stub_ = AssignmentService::NewStub(server_->Channel());
  }

  std::vector<duban::v1::Task> AllTasks(const std::string& agency = "",
                                        duban::v1::Role role = duban::v1::ROLE_UNSPECIFIED) {
    std::vector<duban::v1::Task> out;
    duban::v1::ListTasksRequest req;
    req.set_plan_id(kPlan);
    req.set_agency_id(agency);
    req.set_role(role);
    req.set_page_size(10);
    do {
      duban::v1::ListTasksResponse resp;
      grpc::Status s = stub_->ListTasks(server_->Context().get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      out.insert(out.end(), resp.tasks().begin(), resp.tasks().end());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  duban::v1::Plan Plan() {
    duban::v1::GetPlanRequest req;
    req.set_plan_id(kPlan);
    duban::v1::Plan plan;
    EXPECT_TRUE(stub_->GetPlan(server_->Context().get(), req, &plan).ok());
    return plan;
  }

  grpc::Status Assign(const std::string& request_id, int task, const std::string& agency,
                      duban::v1::Role role, const std::string& reason, duban::v1::Task* out) {
    duban::v1::AssignResponsibilityRequest req;
    req.set_request_id(request_id);
    req.set_plan_id(kPlan);
    req.set_task_number(task);
    req.set_agency_id(agency);
    req.set_role(role);
    req.set_reason(reason);
    return stub_->AssignResponsibility(server_->Context().get(), req, out);
  }

  grpc::Status Revoke(const std::string& request_id, int task, const std::string& agency,
                      const std::string& reason, duban::v1::Task* out) {
    duban::v1::RevokeResponsibilityRequest req;
    req.set_request_id(request_id);
    req.set_plan_id(kPlan);
    req.set_task_number(task);
    req.set_agency_id(agency);
    req.set_reason(reason);
    return stub_->RevokeResponsibility(server_->Context().get(), req, out);
  }

  static std::string EduId() {
    const duban::v1::PlanDocument doc = ShippedPlan();
    for (const auto& a : doc.agencies()) {
      if (a.short_name() == "省教育厅") return a.id();
    }
    return "";
  }

  CommandResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {DUBANCTL_PATH, "--server", server_->address(), "--data-dir",
                                     data_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  TempDir dir_;
  std::string data_;
  std::unique_ptr<DubandProcess> server_;
  std::unique_ptr<AssignmentService::Stub> stub_;
};

TEST_F(E2ETest, FirstStartCreatesAdminTokenAndImportsThePlan) {
  struct stat st;
  ASSERT_EQ(stat((data_ + "/admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  const std::string token = server_->admin_token();
  EXPECT_EQ(token.size(), 64u);
  // Only the hash is stored: the token itself appears nowhere in the log.
  const std::string grep = "grep -rqa " + token + " " + data_ + "/log";
  EXPECT_NE(std::system(grep.c_str()), 0);

  duban::v1::Plan plan = Plan();
  EXPECT_EQ(plan.plan_id(), kPlan);
  EXPECT_EQ(plan.task_count(), 44);
  EXPECT_EQ(plan.indicator_count(), 15);
  EXPECT_EQ(plan.document_number(), "青政办〔2021〕83号");
  EXPECT_EQ(plan.start_year(), 2021);
  EXPECT_EQ(plan.end_year(), 2025);

  auto tasks = AllTasks();
  ASSERT_EQ(tasks.size(), 44u);
  const auto doc = ShippedPlan();
  for (size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ(tasks[i].number(), static_cast<int>(i + 1));
    ASSERT_EQ(tasks[i].responsibilities_size(), doc.tasks(i).responsibilities_size());
    for (int k = 0; k < tasks[i].responsibilities_size(); ++k) {
      EXPECT_EQ(tasks[i].responsibilities(k).agency_id(), doc.tasks(i).responsibilities(k).agency_id());
      EXPECT_EQ(tasks[i].responsibilities(k).role(), doc.tasks(i).responsibilities(k).role());
    }
  }

  duban::v1::ListIndicatorsRequest ireq;
  ireq.set_plan_id(kPlan);
  duban::v1::ListIndicatorsResponse inds;
  ASSERT_TRUE(stub_->ListIndicators(server_->Context().get(), ireq, &inds).ok());
  ASSERT_EQ(inds.indicators_size(), 15);
  EXPECT_EQ(inds.indicators(0).name(), "城镇新增就业");
  EXPECT_EQ(inds.indicators(0).target_kind(), duban::v1::CUMULATIVE);
  EXPECT_EQ(inds.indicators(6).attribute(), duban::v1::BINDING);
}

TEST_F(E2ETest, EveryCallNeedsAValidToken) {
  duban::v1::GetPlanRequest req;
  req.set_plan_id(kPlan);
  duban::v1::Plan plan;
  grpc::ClientContext none;
  EXPECT_EQ(stub_->GetPlan(&none, req, &plan).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->GetPlan(server_->Context(std::string(64, 'a')).get(), req, &plan).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext basic;
  basic.AddMetadata("authorization", "Basic " + server_->admin_token());
  EXPECT_EQ(stub_->GetPlan(&basic, req, &plan).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(E2ETest, FilterByAgencyAndRole) {
  const auto doc = ShippedPlan();
  std::string edu;
  for (const auto& a : doc.agencies()) {
    if (a.short_name() == "省教育厅") edu = a.id();
  }
  ASSERT_FALSE(edu.empty());
  std::set<int> expected_all, expected_lead;
  for (const auto& t : doc.tasks()) {
    for (const auto& r : t.responsibilities()) {
      if (r.agency_id() != edu) continue;
      expected_all.insert(t.number());
      if (r.role() == duban::v1::LEAD) expected_lead.insert(t.number());
    }
  }
  std::set<int> got_all, got_lead;
  for (const auto& t : AllTasks(edu)) got_all.insert(t.number());
  for (const auto& t : AllTasks(edu, duban::v1::LEAD)) got_lead.insert(t.number());
  EXPECT_EQ(got_all, expected_all);
  EXPECT_EQ(got_lead, expected_lead);
  EXPECT_TRUE(got_lead.count(18)) << "省教育厅牵头负责 task 18";
  EXPECT_FALSE(got_lead.count(13)) << "task 13 is 按职责分工负责";

  duban::v1::ListTasksRequest req;
  req.set_plan_id(kPlan);
  req.set_agency_id("no-such-agency");
  duban::v1::ListTasksResponse resp;
  EXPECT_EQ(stub_->ListTasks(server_->Context().get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_agency_id("");
  req.set_page_size(100000);
  EXPECT_EQ(stub_->ListTasks(server_->Context().get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_size(0);
  req.set_page_token("garbage");
  EXPECT_EQ(stub_->ListTasks(server_->Context().get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(E2ETest, AssignRevokeRetryAndRestart) {
  duban::v1::Task task;
  // Task 20 is 省教育厅牵头负责 alone: add 省财政厅 as SUPPORT.
  const auto doc = ShippedPlan();
  std::string edu, finance;
  for (const auto& a : doc.agencies()) {
    if (a.short_name() == "省教育厅") edu = a.id();
    if (a.short_name() == "省财政厅") finance = a.id();
  }
  ASSERT_TRUE(Assign("req-1", 20, finance, duban::v1::SUPPORT, "配合落实实践教学经费", &task).ok());
  ASSERT_EQ(task.responsibilities_size(), 2);
  EXPECT_EQ(task.responsibilities(1).agency_id(), finance);
  EXPECT_EQ(task.responsibilities(1).reason(), "配合落实实践教学经费");
  const uint64_t after_assign = Plan().revision();

  // A retry with the same request id: the same answer, nothing written.
  duban::v1::Task again;
  ASSERT_TRUE(Assign("req-1", 20, finance, duban::v1::SUPPORT, "配合落实实践教学经费", &again).ok());
  EXPECT_EQ(again.SerializeAsString(), task.SerializeAsString());
  EXPECT_EQ(Plan().revision(), after_assign);
  // The same id for a different request is refused.
  EXPECT_EQ(Assign("req-1", 20, finance, duban::v1::SHARED, "x", &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  // The last responsible agency cannot be revoked; nothing is written.
  EXPECT_EQ(Revoke("req-2", 20, edu, "试图撤销", &task).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Plan().revision(), after_assign);
  ASSERT_TRUE(Revoke("req-3", 20, finance, "经费由教育厅统筹", &task).ok());
  EXPECT_EQ(task.responsibilities_size(), 1);
  ASSERT_TRUE(Assign("req-4", 20, finance, duban::v1::SHARED, "共同负责", &task).ok());

  auto before = AllTasks();
  const auto plan_before = Plan();
  Restart();
  auto after = AllTasks();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].SerializeAsString(), before[i].SerializeAsString()) << "task " << i + 1;
  }
  EXPECT_EQ(Plan().SerializeAsString(), plan_before.SerializeAsString());
  // After the restart the retry still gets the original answer.
  ASSERT_TRUE(Assign("req-4", 20, finance, duban::v1::SHARED, "共同负责", &again).ok());
  EXPECT_EQ(Plan().revision(), plan_before.revision());
}

TEST_F(E2ETest, KilledServerLosesNoAcknowledgedWrite) {
  const auto doc = ShippedPlan();
  duban::v1::Task task;
  const std::string agency = doc.agencies(0).id();
  int acknowledged = 0;
  for (int n = 1; n <= 44; ++n) {
    const auto& t = doc.tasks(n - 1);
    bool holds = false;
    for (const auto& r : t.responsibilities()) holds |= r.agency_id() == agency;
    if (holds) continue;
    ASSERT_TRUE(Assign("kill-" + std::to_string(n), n, agency, duban::v1::SUPPORT, "配合", &task).ok());
    ++acknowledged;
  }
  const auto before = AllTasks();
  server_->Kill();
  server_ = DubandProcess::Start(data_);
  ASSERT_NE(server_, nullptr);
  stub_ = AssignmentService::NewStub(server_->Channel());
  const auto after = AllTasks();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].SerializeAsString(), before[i].SerializeAsString());
  }
  EXPECT_GT(acknowledged, 10);
}

TEST_F(E2ETest, BadInputGetsTheRightCodeAndWritesNothing) {
  const uint64_t revision = Plan().revision();
  const auto doc = ShippedPlan();
  const std::string agency = doc.agencies(0).id();
  duban::v1::Task task;
  auto expect = [&](grpc::Status s, grpc::StatusCode code, const std::string& field) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(field));
  };
  expect(Assign("b1", 99, agency, duban::v1::SUPPORT, "r", &task), grpc::StatusCode::NOT_FOUND, "task 99");
  expect(Assign("b2", 5, "ghost", duban::v1::SUPPORT, "r", &task), grpc::StatusCode::NOT_FOUND, "ghost");
  expect(Assign("b3", 5, agency, duban::v1::ROLE_UNSPECIFIED, "r", &task),
         grpc::StatusCode::INVALID_ARGUMENT, "role");
  expect(Assign("b4", 5, agency, duban::v1::SUPPORT, "", &task), grpc::StatusCode::INVALID_ARGUMENT,
         "reason");
  expect(Assign("b5", 5, agency, duban::v1::SUPPORT, "bell\a", &task),
         grpc::StatusCode::INVALID_ARGUMENT, "reason: control character");
  expect(Assign("b6", 5, agency, duban::v1::SUPPORT, std::string(5000, 'x'), &task),
         grpc::StatusCode::INVALID_ARGUMENT, "reason: too long");
  expect(Assign("", 5, agency, duban::v1::SUPPORT, "r", &task), grpc::StatusCode::INVALID_ARGUMENT,
         "request_id");
  expect(Revoke("b7", 0, agency, "r", &task), grpc::StatusCode::INVALID_ARGUMENT, "task_number");

  duban::v1::GetTaskRequest get;
  get.set_plan_id("no-such-plan");
  get.set_number(1);
  expect(stub_->GetTask(server_->Context().get(), get, &task), grpc::StatusCode::NOT_FOUND,
         "no-such-plan");

  // An import whose document does not validate writes nothing.
  duban::v1::ImportPlanRequest imp;
  imp.set_request_id("bad-import");
  imp.set_plan_id(kPlan);
  *imp.mutable_document() = doc;
  imp.mutable_document()->mutable_tasks(3)->mutable_responsibilities(0)->set_agency_id("ghost");
  duban::v1::ImportPlanResponse iresp;
  expect(stub_->ImportPlan(server_->Context().get(), imp, &iresp), grpc::StatusCode::INVALID_ARGUMENT,
         "document.tasks[3].responsibilities[0].agency_id");
  // An unreadable source text fails naming the item, and the plan stays.
  imp.clear_document();
  imp.set_request_id("bad-source");
  std::string text = ReadFileOrDie(std::string(DUBAN_PLANS_DIR) + "/qinghai-employment-2021/source.txt");
  const std::string needle = "(省政府审改办牵头负责)";
  ASSERT_NE(text.find(needle), std::string::npos);
  text.replace(text.find(needle), needle.size(), "(省外星事务局牵头负责)");
  imp.mutable_source()->set_text(text);
  duban::v1::AgencyRegistry registry;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFileOrDie(std::string(DUBAN_PLANS_DIR) + "/qinghai-employment-2021/agencies.textproto"),
      &registry));
  *imp.mutable_source()->mutable_registry() = registry;
  expect(stub_->ImportPlan(server_->Context().get(), imp, &iresp), grpc::StatusCode::INVALID_ARGUMENT,
         "task 8");
  EXPECT_EQ(Plan().revision(), revision);
}

TEST_F(E2ETest, ReimportingTheSourceTextChangesNothing) {
  duban::v1::ImportPlanRequest imp;
  imp.set_request_id("reimport");
  imp.set_plan_id(kPlan);
  imp.mutable_source()->set_text(
      ReadFileOrDie(std::string(DUBAN_PLANS_DIR) + "/qinghai-employment-2021/source.txt"));
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFileOrDie(std::string(DUBAN_PLANS_DIR) + "/qinghai-employment-2021/agencies.textproto"),
      imp.mutable_source()->mutable_registry()));
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFileOrDie(std::string(DUBAN_PLANS_DIR) +
                    "/qinghai-employment-2021/indicator-agencies.textproto"),
      imp.mutable_source()->mutable_indicator_agencies()));
  const uint64_t revision = Plan().revision();
  duban::v1::ImportPlanResponse resp;
  grpc::Status s = stub_->ImportPlan(server_->Context().get(), imp, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(resp.changed());
  EXPECT_EQ(resp.changes_size(), 0);
  EXPECT_EQ(resp.first_seq(), 0u);
  EXPECT_GT(resp.warnings_size(), 0) << "the 42万 breakdown should be flagged";
  EXPECT_EQ(Plan().revision(), revision);
}

TEST_F(E2ETest, ChangedPlanVersionWritesOnlyItsDifferences) {
  duban::v1::PlanDocument doc = ShippedPlan();
  doc.mutable_tasks(7)->set_text(doc.tasks(7).text() + "（修订）");        // task 8
  doc.mutable_tasks(17)->mutable_responsibilities(1)->set_role(duban::v1::SHARED);  // task 18
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(doc, &text));
  const std::string path = dir_.path() + "/plan-v2.textproto";
  std::ofstream(path) << text;
  const uint64_t before = Plan().revision();

  CommandResult r = Ctl({"--json", "plan", "import", "--document", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json resp = nlohmann::json::parse(r.out);
  EXPECT_TRUE(resp.at("changed").get<bool>());
  std::vector<std::string> kinds;
  for (const auto& c : resp.at("changes")) kinds.push_back(c.at("kind").get<std::string>());
  EXPECT_THAT(kinds, ::testing::ElementsAre("task.defined", "responsibility.assigned"));
  // Two changes and the PlanImported event that closes the import.
  EXPECT_EQ(Plan().revision(), before + 3);

  duban::v1::GetTaskRequest get;
  get.set_plan_id(kPlan);
  get.set_number(18);
  duban::v1::Task task;
  ASSERT_TRUE(stub_->GetTask(server_->Context().get(), get, &task).ok());
  EXPECT_EQ(task.responsibilities(1).role(), duban::v1::SHARED);

  // The same version again: nothing written.
  r = Ctl({"plan", "import", "--document", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no changes"));
  EXPECT_EQ(Plan().revision(), before + 3);
}

TEST_F(E2ETest, HealthAndReflectionAreOn) {
  auto health = grpc::health::v1::Health::NewStub(server_->Channel());
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, {}, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(server_->Channel());
  grpc::ClientContext rctx;
  auto stream = reflection->ServerReflectionInfo(&rctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse rresp;
  ASSERT_TRUE(stream->Read(&rresp));
  std::set<std::string> names;
  for (const auto& s : rresp.list_services_response().service()) names.insert(s.name());
  EXPECT_TRUE(names.count("duban.v1.AssignmentService"));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(E2ETest, DubanctlListsFiltersAssignsAndRevokes) {
  CommandResult r = Ctl({"tasks", "list", "--agency", "省教育厅"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("18"));
  EXPECT_THAT(r.out, HasSubstr("省教育厅"));

  r = Ctl({"--json", "tasks", "list", "--agency", "省教育厅", "--role", "lead"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json json = nlohmann::json::parse(r.out);
  const nlohmann::json& list = json.is_array() ? json : json.at("tasks");
  std::set<int> json_leads;
  for (const auto& t : list) json_leads.insert(t.at("number").get<int>());
  std::set<int> api_leads;
  for (const auto& t : AllTasks(EduId(), duban::v1::LEAD)) api_leads.insert(t.number());
  EXPECT_EQ(json_leads, api_leads);
  EXPECT_TRUE(json_leads.count(18)) << r.out;

  r = Ctl({"assign", "20", "省财政厅", "support", "--reason", "配合落实经费"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("省财政厅"));
  duban::v1::GetTaskRequest get;
  get.set_plan_id(kPlan);
  get.set_number(20);
  duban::v1::Task task;
  ASSERT_TRUE(stub_->GetTask(server_->Context().get(), get, &task).ok());
  ASSERT_EQ(task.responsibilities_size(), 2);
  EXPECT_EQ(task.responsibilities(1).role(), duban::v1::SUPPORT);

  r = Ctl({"revoke", "20", "省财政厅", "--reason", "撤回"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(stub_->GetTask(server_->Context().get(), get, &task).ok());
  EXPECT_EQ(task.responsibilities_size(), 1);

  r = Ctl({"revoke", "20", "省教育厅", "--reason", "撤回"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION"));

  r = Ctl({"tasks", "show", "99"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));

  r = Ctl({"matrix"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("省人力资源社会保障厅"));

  r = RunCommand({DUBANCTL_PATH, "--server", server_->address(), "--token", "wrong", "agencies"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
}

}  // namespace
}  // namespace duban::testing
