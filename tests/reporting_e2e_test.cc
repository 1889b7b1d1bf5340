// End to end for status reporting: credentials issued through AdminService,
// agencies reporting through ReportingService, over plaintext and mutual TLS.
#include <cstdlib>
#include <optional>
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "duban/v1/admin.grpc.pb.h"
#include "duban/v1/assignment.grpc.pb.h"
#include "duban/v1/reporting.grpc.pb.h"
#include "storage/hash.h"
#include "tests/duband_process.h"

namespace duban::testing {
namespace {

using ::testing::HasSubstr;
namespace v1 = duban::v1;

constexpr char kPlan[] = "qinghai-employment-2021";

class ReportingE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    server_ = DubandProcess::Start(data_);
    ASSERT_NE(server_, nullptr);
    Connect(server_->Channel());
    hrss_ = Issue("agency:qh-hrss");
    edu_ = Issue("agency:qh-edu");
    stats_ = Issue("agency:qh-stats");
    supervisor_ = Issue("supervisor");
  }

  void Connect(std::shared_ptr<grpc::Channel> channel) {
    admin_ = v1::AdminService::NewStub(channel);
    reporting_ = v1::ReportingService::NewStub(channel);
    assignment_ = v1::AssignmentService::NewStub(channel);
  }

  struct Token {
    std::string token;
    std::string credential_id;
  };

  // A token made here; the server learns only its hash.
  Token Issue(const std::string& principal) {
    Token t{storage::RandomHex(32), ""};
    v1::IssueCredentialRequest req;
    req.set_request_id("issue-" + principal);
    req.set_principal(principal);
    req.set_token_sha256(storage::ToHex(storage::Sha256(t.token)));
    req.set_plan_id(kPlan);
    req.set_label("e2e");
    v1::Credential c;
    grpc::Status s = admin_->IssueCredential(server_->Context().get(), req, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(c.principal(), principal);
    t.credential_id = c.credential_id();
    return t;
  }

  grpc::Status Progress(const Token& who, const std::string& request_id, int task, int year,
                        v1::ProgressStatus status, v1::ProgressReport* out,
                        std::optional<uint32_t> expected = std::nullopt) {
    v1::SubmitProgressRequest req;
    req.set_request_id(request_id);
    req.set_plan_id(kPlan);
    req.set_task_number(task);
    req.set_year(year);
    req.set_status(status);
    req.set_summary("年度进展：按计划推进");
    req.set_measures("召开专题会议，细化任务分工");
    req.add_evidence_refs("青人社〔2022〕1号");
    if (expected) req.set_expected_revision(*expected);
    return reporting_->SubmitProgress(server_->Context(who.token).get(), req, out);
  }

  grpc::Status Value(const Token& who, const std::string& request_id, int indicator, int year,
                     double value) {
    v1::SubmitIndicatorValueRequest req;
    req.set_request_id(request_id);
    req.set_plan_id(kPlan);
    req.set_indicator_number(indicator);
    req.set_year(year);
    req.set_value(value);
    req.set_source_note("统计快报");
    v1::IndicatorValue out;
    return reporting_->SubmitIndicatorValue(server_->Context(who.token).get(), req, &out);
  }

  v1::IndicatorSeries Series(const Token& who, int indicator) {
    v1::GetIndicatorSeriesRequest req;
    req.set_plan_id(kPlan);
    req.set_indicator_number(indicator);
    v1::IndicatorSeries out;
    grpc::Status s = reporting_->GetIndicatorSeries(server_->Context(who.token).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  uint64_t Head() {
    v1::GetPlanRequest req;
    req.set_plan_id(kPlan);
    v1::Plan plan;
    EXPECT_TRUE(assignment_->GetPlan(server_->Context().get(), req, &plan).ok());
    return plan.revision();
  }

  v1::TaskProgress TaskProgress(const Token& who, int task, int year) {
    v1::GetTaskProgressRequest req;
    req.set_plan_id(kPlan);
    req.set_task_number(task);
    req.set_year(year);
    v1::TaskProgress out;
    grpc::Status s = reporting_->GetTaskProgress(server_->Context(who.token).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  TempDir dir_;
  std::string data_;
  std::unique_ptr<DubandProcess> server_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::ReportingService::Stub> reporting_;
  std::unique_ptr<v1::AssignmentService::Stub> assignment_;
  Token hrss_, edu_, stats_, supervisor_;
};

TEST_F(ReportingE2ETest, AgenciesReportOnlyOnTheirOwnTasks) {
  v1::ProgressReport report;
  // Task 18: 省教育厅牵头负责, 各市州政府配合.
  grpc::Status s = Progress(edu_, "edu-18-2021", 18, 2021, v1::ON_TRACK, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.agency_id(), "qh-edu");
  EXPECT_EQ(report.kind(), v1::TASK_REPORT);
  EXPECT_EQ(report.revision(), 1u);
  EXPECT_EQ(report.principal(), "agency:qh-edu");  // from the credential

  // Task 8 (省政府审改办牵头负责): not 省教育厅's.
  const uint64_t head = Head();
  s = Progress(edu_, "edu-8-2021", 8, 2021, v1::ON_TRACK, &report);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  // Nor may it pretend to be another agency.
  v1::SubmitProgressRequest req;
  req.set_request_id("edu-as-hrss");
  req.set_plan_id(kPlan);
  req.set_task_number(1);
  req.set_year(2021);
  req.set_status(v1::ON_TRACK);
  req.set_summary("x");
  req.set_agency_id("qh-hrss");
  EXPECT_EQ(reporting_->SubmitProgress(server_->Context(edu_.token).get(), req, &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A supervisor reads but does not report.
  EXPECT_EQ(Progress(supervisor_, "sup", 18, 2021, v1::ON_TRACK, &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // An indicator it does not answer for (城镇新增就业 is 省人力资源社会保障厅's).
  EXPECT_EQ(Value(edu_, "edu-ind-1", 1, 2021, 6).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Head(), head);

  // A contribution: task 14 is 省人力资源社会保障厅、省教育厅按职责分工负责 (hrss convenes).
  ASSERT_TRUE(Progress(edu_, "edu-14-2021", 14, 2021, v1::AT_RISK, &report).ok());
  EXPECT_EQ(report.kind(), v1::CONTRIBUTION);
  EXPECT_EQ(report.role(), v1::SHARED);

  // Reads: an agency reads its own tasks only; a supervisor reads all.
  EXPECT_EQ(TaskProgress(supervisor_, 14, 2021).years(0).contributions_size(), 1);
  v1::GetTaskProgressRequest get;
  get.set_plan_id(kPlan);
  get.set_task_number(8);
  v1::TaskProgress progress;
  EXPECT_EQ(reporting_->GetTaskProgress(server_->Context(edu_.token).get(), get, &progress)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ReportingE2ETest, AgencyTokensAreBoundToTheirPlan) {
  // A second plan (another province's copy) on the same server.
  v1::PlanDocument doc;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      ReadFileOrDie(std::string(DUBAN_PLANS_DIR) + "/qinghai-employment-2021/plan.textproto"), &doc));
  doc.set_plan_id("other-employment-2021");
  v1::ImportPlanRequest imp;
  imp.set_request_id("import-other");
  imp.set_plan_id(doc.plan_id());
  *imp.mutable_document() = doc;
  v1::ImportPlanResponse imported;
  ASSERT_TRUE(assignment_->ImportPlan(server_->Context().get(), imp, &imported).ok());
  v1::SubmitProgressRequest req;
  req.set_request_id("edu-other");
  req.set_plan_id("other-employment-2021");
  req.set_task_number(18);
  req.set_year(2021);
  req.set_status(v1::ON_TRACK);
  req.set_summary("不是本计划的凭证");
  v1::ProgressReport report;
  grpc::Status s = reporting_->SubmitProgress(server_->Context(edu_.token).get(), req, &report);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr(kPlan));
}

TEST_F(ReportingE2ETest, RetriesAndRevisions) {
  v1::ProgressReport first, retry, stale;
  ASSERT_TRUE(Progress(hrss_, "hrss-43-2022", 43, 2022, v1::BEHIND, &first, 0).ok());
  const uint64_t head = Head();
  ASSERT_TRUE(Progress(hrss_, "hrss-43-2022", 43, 2022, v1::BEHIND, &retry, 0).ok());
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(Head(), head) << "the retry wrote an event";

  // The same retry, now naming its own agency explicitly: still the same request.
  v1::SubmitProgressRequest same;
  same.set_request_id("hrss-43-2022");
  same.set_plan_id(kPlan);
  same.set_task_number(43);
  same.set_year(2022);
  same.set_status(v1::BEHIND);
  same.set_summary("年度进展：按计划推进");
  same.set_measures("召开专题会议，细化任务分工");
  same.add_evidence_refs("青人社〔2022〕1号");
  same.set_expected_revision(0);
  same.set_agency_id("qh-hrss");
  ASSERT_TRUE(reporting_->SubmitProgress(server_->Context(hrss_.token).get(), same, &retry).ok());
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(Head(), head);
  // An absurdly long agency id is refused as such, not echoed back.
  same.set_request_id("long-id");
  same.set_agency_id(std::string(100000, 'a'));
  grpc::Status long_id = reporting_->SubmitProgress(server_->Context(hrss_.token).get(), same, &retry);
  EXPECT_EQ(long_id.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(long_id.error_message(), HasSubstr("agency_id"));

  v1::ProgressReport second;
  ASSERT_TRUE(Progress(hrss_, "hrss-43-2022-b", 43, 2022, v1::ON_TRACK, &second, 1).ok());
  EXPECT_EQ(second.revision(), 2u);
  // (The revision also clears the task-at-risk escalation the BEHIND report opened.)
  const uint64_t before_stale = Head();
  grpc::Status s = Progress(hrss_, "hrss-43-2022-c", 43, 2022, v1::COMPLETED, &stale, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("expected_revision"));
  EXPECT_EQ(Head(), before_stale);

  auto progress = TaskProgress(supervisor_, 43, 2022);
  ASSERT_EQ(progress.years(0).history_size(), 2);
  EXPECT_EQ(progress.years(0).history(0).status(), v1::BEHIND);
  ASSERT_EQ(progress.years(0).task_reports_size(), 1);
  EXPECT_EQ(progress.years(0).task_reports(0).status(), v1::ON_TRACK);
}

TEST_F(ReportingE2ETest, SeriesAreJudgedByTargetKind) {
  // 城镇新增就业 〔30〕 (indicator 1, 省人力资源社会保障厅): 6.2 + 6.1 + 4.9 = 17.2
  // after 2023 against 18 pro rata: within 5% (17.1).
  ASSERT_TRUE(Value(hrss_, "v1-2021", 1, 2021, 6.2).ok());
  ASSERT_TRUE(Value(hrss_, "v1-2022", 1, 2022, 6.1).ok());
  ASSERT_TRUE(Value(hrss_, "v1-2023", 1, 2023, 4.9).ok());
  auto jobs = Series(supervisor_, 1);
  ASSERT_EQ(jobs.points_size(), 5);
  EXPECT_DOUBLE_EQ(jobs.points(2).cumulative(), 17.2);
  EXPECT_DOUBLE_EQ(jobs.points(2).expected(), 18);
  EXPECT_DOUBLE_EQ(jobs.points(0).expected(), 6);
  EXPECT_EQ(jobs.points(0).judgement(), v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(jobs.points(1).judgement(), v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(jobs.points(2).judgement(), v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(jobs.points(3).judgement(), v1::JUDGEMENT_NO_DATA);
  // The same series with a 1% tolerance: 17.2 < 17.82 is off track.
  v1::GetIndicatorSeriesRequest strict;
  strict.set_plan_id(kPlan);
  strict.set_indicator_number(1);
  strict.set_tolerance(0.01);
  v1::IndicatorSeries strict_series;
  ASSERT_TRUE(reporting_->GetIndicatorSeries(server_->Context(hrss_.token).get(), strict,
                                             &strict_series).ok());
  EXPECT_EQ(strict_series.points(2).judgement(), v1::JUDGEMENT_OFF_TRACK);

  // FLOOR: 劳动年龄人口平均受教育年限 >10.5 (7, 省教育厅, 约束性).
  ASSERT_TRUE(Value(edu_, "v7-2021", 7, 2021, 10.6).ok());
  ASSERT_TRUE(Value(edu_, "v7-2022", 7, 2022, 10.4).ok());
  auto floor = Series(edu_, 7);
  EXPECT_EQ(floor.indicator().attribute(), v1::BINDING);
  EXPECT_EQ(floor.points(0).judgement(), v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(floor.points(1).judgement(), v1::JUDGEMENT_OFF_TRACK);
  // AROUND: 城镇就业占比 65左右 (5, 省统计局).
  ASSERT_TRUE(Value(stats_, "v5-2021", 5, 2021, 63.0).ok());
  ASSERT_TRUE(Value(stats_, "v5-2022", 5, 2022, 58.0).ok());
  auto around = Series(stats_, 5);
  EXPECT_EQ(around.points(0).judgement(), v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(around.points(1).judgement(), v1::JUDGEMENT_OFF_TRACK);
  // INCREASING: 新增劳动力受过高等教育比例 稳步提高 (8, 省教育厅).
  ASSERT_TRUE(Value(edu_, "v8-2021", 8, 2021, 40.1).ok());
  ASSERT_TRUE(Value(edu_, "v8-2022", 8, 2022, 41.3).ok());
  ASSERT_TRUE(Value(edu_, "v8-2023", 8, 2023, 41.0).ok());
  auto increasing = Series(edu_, 8);
  EXPECT_EQ(increasing.points(1).judgement(), v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(increasing.points(2).judgement(), v1::JUDGEMENT_OFF_TRACK);
  // A percentage over 100 is refused, naming the field.
  grpc::Status s = Value(stats_, "v5-bad", 5, 2023, 130);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("value"));
  // An agency reads only the series it answers for.
  v1::GetIndicatorSeriesRequest other;
  other.set_plan_id(kPlan);
  other.set_indicator_number(1);
  v1::IndicatorSeries out;
  EXPECT_EQ(reporting_->GetIndicatorSeries(server_->Context(edu_.token).get(), other, &out)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ReportingE2ETest, MissingReportsAreListed) {
  v1::ProgressReport report;
  ASSERT_TRUE(Progress(edu_, "m-18", 18, 2021, v1::ON_TRACK, &report).ok());
  ASSERT_TRUE(Value(hrss_, "m-v1", 1, 2021, 6).ok());
  v1::ListMissingReportsRequest req;
  req.set_plan_id(kPlan);
  req.set_year(2021);
  v1::MissingReports all;
  ASSERT_TRUE(reporting_->ListMissingReports(server_->Context(supervisor_.token).get(), req, &all).ok());
  std::set<int> tasks;
  for (const auto& t : all.task_reports()) tasks.insert(t.task_number());
  EXPECT_EQ(tasks.size(), 43u);
  EXPECT_FALSE(tasks.count(18));
  std::set<std::pair<int, std::string>> contributions;
  for (const auto& c : all.contributions()) contributions.insert({c.task_number(), c.agency_id()});
  EXPECT_TRUE(contributions.count({18, "gov-xining"}));  // 各市州政府配合
  EXPECT_EQ(all.indicator_values_size(), 14);

  v1::MissingReports edu;
  ASSERT_TRUE(reporting_->ListMissingReports(server_->Context(edu_.token).get(), req, &edu).ok());
  for (const auto& t : edu.task_reports()) {
    EXPECT_THAT(t.agency_ids(), ::testing::Contains("qh-edu")) << "task " << t.task_number();
  }
  for (const auto& c : edu.contributions()) EXPECT_EQ(c.agency_id(), "qh-edu");
  EXPECT_GT(edu.task_reports_size() + edu.contributions_size(), 5);

  req.set_year(2031);
  EXPECT_EQ(reporting_->ListMissingReports(server_->Context().get(), req, &all).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReportingE2ETest, ARevokedTokenIsRefusedAtOnce) {
  v1::ProgressReport report;
  ASSERT_TRUE(Progress(stats_, "s-30", 30, 2021, v1::ON_TRACK, &report).ok());
  v1::RevokeCredentialRequest revoke;
  revoke.set_request_id("revoke-stats");
  revoke.set_credential_id(stats_.credential_id);
  revoke.set_reason("system replaced");
  v1::Credential c;
  ASSERT_TRUE(admin_->RevokeCredential(server_->Context().get(), revoke, &c).ok());
  EXPECT_TRUE(c.revoked());
  grpc::Status s = Progress(stats_, "s-30-b", 30, 2022, v1::ON_TRACK, &report);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Agencies may not manage credentials; the last admin cannot be revoked.
  v1::ListCredentialsRequest list;
  v1::ListCredentialsResponse creds;
  EXPECT_EQ(admin_->ListCredentials(server_->Context(hrss_.token).get(), list, &creds).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(admin_->ListCredentials(server_->Context().get(), list, &creds).ok());
  std::string admin_id;
  for (const auto& cred : creds.credentials()) {
    if (cred.principal() == "admin") admin_id = cred.credential_id();
  }
  revoke.set_request_id("revoke-admin");
  revoke.set_credential_id(admin_id);
  EXPECT_EQ(admin_->RevokeCredential(server_->Context().get(), revoke, &c).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Restart: still refused, the others still work.
  ASSERT_EQ(server_->Stop(), 0);
  server_ = DubandProcess::Start(data_);
  ASSERT_NE(server_, nullptr);
  Connect(server_->Channel());
  EXPECT_EQ(Progress(stats_, "s-30-c", 30, 2022, v1::ON_TRACK, &report).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Progress(hrss_, "h-1", 1, 2022, v1::ON_TRACK, &report).ok());
}

// The same through dubanctl: an admin issues a token, the agency uses it.
TEST_F(ReportingE2ETest, DubanctlIssuesTokensAndReports) {
  const std::vector<std::string> base = {DUBANCTL_PATH, "--server", server_->address()};
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  };
  CommandResult r = run({"--data-dir", data_, "--json", "admin", "token", "issue", "--agency",
                         "省教育厅", "--label", "教育厅业务系统"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto issued = nlohmann::json::parse(r.out);
  const std::string token = issued.at("token").get<std::string>();
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(issued.at("principal").get<std::string>(), "agency:qh-edu");
  // The token is in no file of the data folder: only its hash is kept.
  EXPECT_NE(std::system(("grep -rqa " + token + " " + data_).c_str()), 0);
  const std::string token_file = dir_.path() + "/edu.token";
  std::ofstream(token_file) << token << "\n";

  r = run({"--token-file", token_file, "report", "18", "--year", "2022", "--status", "at-risk",
           "--summary", "部分院校专业调整滞后", "--evidence", "青教职〔2022〕3号"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("task report"));
  r = run({"--token-file", token_file, "report", "8", "--year", "2022", "--status", "on-track",
           "--summary", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));

  r = run({"--token-file", token_file, "indicator", "set", "7", "--year", "2022", "--value",
           "10.4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"--token-file", token_file, "--json", "series", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto series = nlohmann::json::parse(r.out);
  bool judged = false;
  for (const auto& p : series.at("points")) {
    if (p.at("year").get<int>() == 2022) {
      EXPECT_EQ(p.at("judgement").get<std::string>(), "JUDGEMENT_OFF_TRACK");
      judged = true;
    }
  }
  EXPECT_TRUE(judged) << r.out;

  r = run({"--token-file", token_file, "missing", "--year", "2022"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("省教育厅"));
  r = run({"--token-file", token_file, "progress", "18"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("部分院校专业调整滞后"));

  // Revoked: refused at once.
  r = run({"--data-dir", data_, "admin", "token", "revoke",
           issued.at("credential_id").get<std::string>(), "--reason", "系统更换"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"--token-file", token_file, "progress", "18"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
}

// Mutual TLS with a CA made here: a client certificate whose common name is
// agency:qh-stats reports as that agency without a token.
TEST(ReportingTlsTest, ClientCertificatesMapToPrincipals) {
  TempDir dir;
  const std::string d = dir.path();
  const std::string script = R"(
    set -e
    cd ")" + d + R"("
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=duban test CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=agency:qh-stats" 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
    for who in admin agency:ghost; do
      name=$(echo $who | tr : -)
      openssl req -newkey rsa:2048 -nodes -keyout $name.key -out $name.csr -subj "/CN=$who" 2>/dev/null
      openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $name.pem -days 2 2>/dev/null
    done
  )";
  ASSERT_EQ(std::system(("bash -c '" + script + "'").c_str()), 0) << "openssl failed";
  auto server = DubandProcess::Start(
      d + "/data", {"--tls_cert=" + d + "/server.pem", "--tls_key=" + d + "/server.key",
                    "--tls_client_ca=" + d + "/ca.pem"});
  ASSERT_NE(server, nullptr);
  auto channel_as = [&](const std::string& cert) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrDie(d + "/ca.pem");
    if (!cert.empty()) {
      ssl.pem_private_key = ReadFileOrDie(d + "/" + cert + ".key");
      ssl.pem_cert_chain = ReadFileOrDie(d + "/" + cert + ".pem");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(server->address(), grpc::SslCredentials(ssl), args);
  };
  auto channel_with = [&](bool client_cert) { return channel_as(client_cert ? "client" : ""); };
  auto with_cert = v1::ReportingService::NewStub(channel_with(true));
  v1::SubmitProgressRequest req;
  req.set_request_id("tls-30");
  req.set_plan_id(kPlan);
  req.set_task_number(30);  // 省统计局、国家统计局青海调查总队按职责分工负责
  req.set_year(2021);
  req.set_status(v1::ON_TRACK);
  req.set_summary("经由双向TLS提交");
  v1::ProgressReport report;
  grpc::ClientContext no_token;
  grpc::Status s = with_cert->SubmitProgress(&no_token, req, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.principal(), "agency:qh-stats");
  EXPECT_EQ(report.agency_id(), "qh-stats");
  // Without a certificate and without a token: refused; with the admin token over TLS: fine.
  auto without = v1::AssignmentService::NewStub(channel_with(false));
  v1::GetPlanRequest get;
  get.set_plan_id(kPlan);
  v1::Plan plan;
  grpc::ClientContext bare;
  EXPECT_EQ(without->GetPlan(&bare, get, &plan).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(without->GetPlan(server->Context().get(), get, &plan).ok());
  // Certificates cannot make an admin, nor an agency no plan lists.
  for (const char* cert : {"admin", "agency-ghost"}) {
    auto stub = v1::AssignmentService::NewStub(channel_as(cert));
    grpc::ClientContext ctx;
    grpc::Status refused = stub->GetPlan(&ctx, get, &plan);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED) << cert;
  }
  // Plaintext is not served on a TLS port.
  auto plain = v1::AssignmentService::NewStub(server->Channel());
  auto ctx = server->Context();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  EXPECT_FALSE(plain->GetPlan(ctx.get(), get, &plan).ok());
}

}  // namespace
}  // namespace duban::testing
