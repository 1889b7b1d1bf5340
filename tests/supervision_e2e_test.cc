// End to end for 督促检查 on a simulated clock with the Qinghai plan and its
// shipped rules: overdue reports climb the ladder, an acknowledgement pauses
// one, a late report clears another, lagging indicators escalate (the binding
// one at its own severity), a restart loses and repeats nothing, a webhook
// receiver that fails twice still gets every notice, and a watcher that
// reconnects sees each notice exactly once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "duban/v1/admin.grpc.pb.h"
#include "duban/v1/assignment.grpc.pb.h"
#include "duban/v1/audit.grpc.pb.h"
#include "duban/v1/reporting.grpc.pb.h"
#include "duban/v1/supervision.grpc.pb.h"
#include "storage/hash.h"
#include "tests/duband_process.h"

namespace duban::testing {
namespace {

namespace v1 = duban::v1;
using ::testing::HasSubstr;

constexpr char kPlan[] = "qinghai-employment-2021";
constexpr char kStart[] = "--simulated_clock=2022-01-01T00:00:00+08:00";
constexpr char kFastRetries[] = "--webhook_backoff_seconds=0.05";

int64_t CstMicros(int y, int m, int d) {
  return absl::ToUnixMicros(
      absl::FromCivil(absl::CivilDay(y, m, d), absl::FixedTimeZone(8 * 3600)));
}

class SupervisionE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    Start();
    v1::ListTasksRequest req;
    req.set_plan_id(kPlan);
    req.set_page_size(100);
    v1::ListTasksResponse resp;
    ASSERT_TRUE(assignment_->ListTasks(server_->Context().get(), req, &resp).ok());
    tasks_.assign(resp.tasks().begin(), resp.tasks().end());
    ASSERT_EQ(tasks_.size(), 44u);
  }

  void TearDown() override {
    if (receiver_ > 0) {
      kill(receiver_, SIGTERM);
      waitpid(receiver_, nullptr, 0);
    }
  }

  void Start() {
    server_ = DubandProcess::Start(data_, {kStart, kFastRetries});
    ASSERT_NE(server_, nullptr);
    auto channel = server_->Channel();
    assignment_ = v1::AssignmentService::NewStub(channel);
    reporting_ = v1::ReportingService::NewStub(channel);
    supervision_ = v1::SupervisionService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
  }

  std::string Issue(const std::string& principal) {
    const std::string token = storage::RandomHex(32);
    v1::IssueCredentialRequest req;
    req.set_request_id("issue-" + principal);
    req.set_principal(principal);
    req.set_token_sha256(storage::ToHex(storage::Sha256(token)));
    req.set_plan_id(kPlan);
    v1::Credential c;
    EXPECT_TRUE(admin_->IssueCredential(server_->Context().get(), req, &c).ok());
    return token;
  }

  // A report by the admin on the agency's behalf; returns its seq.
  uint64_t Report(int task, const std::string& agency, const std::string& request_id) {
    v1::SubmitProgressRequest req;
    req.set_request_id(request_id);
    req.set_plan_id(kPlan);
    req.set_task_number(task);
    req.set_year(2021);
    req.set_agency_id(agency);
    req.set_status(v1::ON_TRACK);
    req.set_summary("2021年度任务按计划推进");
    v1::ProgressReport out;
    grpc::Status s = reporting_->SubmitProgress(server_->Context().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.seq();
  }

  void Value(int indicator, int year, double value, const std::string& agency) {
    v1::SubmitIndicatorValueRequest req;
    req.set_request_id(absl::StrCat("v", indicator, "-", year));
    req.set_plan_id(kPlan);
    req.set_indicator_number(indicator);
    req.set_year(year);
    req.set_value(value);
    req.set_agency_id(agency);
    v1::IndicatorValue out;
    grpc::Status s = reporting_->SubmitIndicatorValue(server_->Context().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void AdvanceTo(int y, int m, int d) {
    v1::AdvanceClockRequest req;
    req.set_request_id(absl::StrCat("clock-", y, m, d));
    req.set_to_micros(CstMicros(y, m, d));
    v1::Clock out;
    grpc::Status s = supervision_->AdvanceClock(server_->Context().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.now_micros(), CstMicros(y, m, d));
  }

  v1::Escalation Find(const std::string& rule, int task, int indicator, int year) {
    v1::ListEscalationsRequest req;
    req.set_plan_id(kPlan);
    v1::ListEscalationsResponse resp;
    EXPECT_TRUE(supervision_->ListEscalations(server_->Context().get(), req, &resp).ok());
    for (const auto& e : resp.escalations()) {
      if (e.subject().rule_id() == rule && e.subject().task_number() == task &&
          e.subject().indicator_number() == indicator && e.subject().year() == year) {
        return e;
      }
    }
    return v1::Escalation();
  }

  // Every notice for `recipient` after `after`, reading until `quiet` passes without one.
  std::vector<v1::Notice> Watch(const std::string& recipient, uint64_t after, size_t at_most = 100000,
                                std::chrono::milliseconds quiet = std::chrono::milliseconds(700)) {
    std::vector<v1::Notice> out;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + server_->admin_token());
    v1::WatchNoticesRequest req;
    req.set_recipient(recipient);
    req.set_after_seq(after);
    auto reader = supervision_->WatchNotices(&ctx, req);
    std::atomic<bool> done{false};
    std::thread canceller([&] {
      size_t seen = 0;
      auto last_change = std::chrono::steady_clock::now();
      while (!done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (out.size() != seen) {
          seen = out.size();
          last_change = std::chrono::steady_clock::now();
        }
        if (std::chrono::steady_clock::now() - last_change > quiet) break;
      }
      ctx.TryCancel();
    });
    v1::Notice n;
    while (reader->Read(&n)) {
      out.push_back(n);
      if (out.size() >= at_most) break;
    }
    done = true;
    ctx.TryCancel();
    canceller.join();
    reader->Finish().IgnoreError();
    return out;
  }

  TempDir dir_;
  std::string data_;
  std::unique_ptr<DubandProcess> server_;
  std::unique_ptr<v1::AssignmentService::Stub> assignment_;
  std::unique_ptr<v1::ReportingService::Stub> reporting_;
  std::unique_ptr<v1::SupervisionService::Stub> supervision_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::vector<v1::Task> tasks_;
  pid_t receiver_ = -1;
};

TEST_F(SupervisionE2ETest, TheAnnualCycle) {
  // A webhook receiver for the supervisors that fails each notice's first two attempts.
  const std::string received = dir_.path() + "/received.jsonl";
  const std::string port_file = dir_.path() + "/receiver.port";
  receiver_ = fork();
  if (receiver_ == 0) {
    execl("/usr/bin/python3", "python3", DUBAN_TESTS_DIR "/webhook_receiver.py", "--fail", "2",
          "--out", received.c_str(), "--port-file", port_file.c_str(), nullptr);
    _exit(127);
  }
  int port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::ifstream(port_file) >> port;
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(port, 0) << "the receiver did not start";
  v1::AddWebhookRequest hook;
  hook.set_request_id("hook");
  hook.set_url(absl::StrCat("http://127.0.0.1:", port, "/duban"));
  hook.add_recipients("supervisor");
  v1::Webhook added;
  ASSERT_TRUE(supervision_->AddWebhook(server_->Context().get(), hook, &added).ok());

  // 2021's reports arrive on time, except tasks 20 (省教育厅) and 43 (省人力资源社会保障厅);
  // every cooperating agency contributes.
  for (const auto& t : tasks_) {
    for (const auto& r : t.responsibilities()) {
      if (t.number() == 20 || t.number() == 43) continue;
      Report(t.number(), r.agency_id(), absl::StrCat("r", t.number(), "-", r.agency_id()));
    }
  }
  // 城镇新增就业: 4.5 + 4.5 = 9万 after 2022 against 12 pro rata.
  Value(1, 2021, 4.5, "qh-hrss");
  Value(1, 2022, 4.5, "qh-hrss");
  // 劳动年龄人口平均受教育年限 (约束性) below 10.5.
  Value(7, 2021, 10.3, "qh-edu");
  const v1::Escalation jobs = Find("indicator-off-track", 0, 1, 2022);
  EXPECT_EQ(jobs.state(), v1::OPEN) << "城镇新增就业 at 9 of 12 did not escalate";
  EXPECT_THAT(jobs.summary(), HasSubstr("城镇新增就业"));
  const v1::Escalation education = Find("indicator-off-track", 0, 7, 2021);
  EXPECT_EQ(education.state(), v1::OPEN);
  EXPECT_EQ(education.severity(), v1::CRITICAL);
  EXPECT_EQ(education.policy_id(), "binding");
  EXPECT_EQ(jobs.severity(), v1::WARNING);
  EXPECT_EQ(Find("annual-report-overdue", 20, 0, 2021).id(), "") << "not before the deadline";

  // A supervisor's watcher follows live from here on (it began before the
  // reminders below, so it reads history and live notices at once).
  std::vector<uint64_t> live_seqs;
  std::atomic<bool> live_done{false};
  std::thread live([&] {
    while (!live_done) {
      const uint64_t after = live_seqs.empty() ? 0 : live_seqs.back();
      for (const auto& n : Watch("supervisor", after, 100000, std::chrono::milliseconds(300))) {
        live_seqs.push_back(n.seq());
      }
    }
  });

  // The deadline passes: reminders.
  AdvanceTo(2022, 2, 1);
  v1::Escalation t20 = Find("annual-report-overdue", 20, 0, 2021);
  v1::Escalation t43 = Find("annual-report-overdue", 43, 0, 2021);
  ASSERT_EQ(t20.state(), v1::OPEN);
  ASSERT_EQ(t43.state(), v1::OPEN);
  EXPECT_EQ(t20.level(), v1::REMINDER);
  EXPECT_EQ(t20.subject().agency_id(), "qh-edu");
  EXPECT_EQ(t20.ruleset_version(), 1u);
  auto edu_notices = Watch("agency:qh-edu", 0);
  bool reminded = false;
  for (const auto& n : edu_notices) reminded |= n.escalation_id() == t20.id() && n.level() == v1::REMINDER;
  EXPECT_TRUE(reminded);

  // +7 days: 催办.
  AdvanceTo(2022, 2, 8);
  EXPECT_EQ(Find("annual-report-overdue", 20, 0, 2021).level(), v1::URGING);
  EXPECT_EQ(Find("annual-report-overdue", 43, 0, 2021).level(), v1::URGING);
  // 省教育厅 acknowledges (签收) with measures due 15 March: its climb pauses.
  const std::string edu_token = Issue("agency:qh-edu");
  v1::AcknowledgeRequest ack;
  ack.set_request_id("ack-20");
  ack.set_plan_id(kPlan);
  ack.set_escalation_id(t20.id());
  ack.set_measures("已督促职业院校补报材料，3月15日前报送");
  ack.set_due_micros(CstMicros(2022, 3, 15));
  v1::Escalation acked;
  grpc::Status s = supervision_->Acknowledge(server_->Context(edu_token).get(), ack, &acked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(acked.state(), v1::ACKNOWLEDGED);
  // 省人力资源社会保障厅 may not acknowledge 省教育厅's.
  const std::string hrss_token = Issue("agency:qh-hrss");
  ack.set_request_id("ack-20-hrss");
  EXPECT_EQ(supervision_->Acknowledge(server_->Context(hrss_token).get(), ack, &acked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // +14 days: 督办 for task 43 (supervisors told); task 20 stays at 催办.
  AdvanceTo(2022, 2, 15);
  EXPECT_EQ(Find("annual-report-overdue", 43, 0, 2021).level(), v1::SUPERVISION);
  EXPECT_EQ(Find("annual-report-overdue", 20, 0, 2021).level(), v1::URGING);

  // A watcher that disconnects after 3 notices and resumes sees each exactly once.
  auto first = Watch("supervisor", 0, 3);
  ASSERT_EQ(first.size(), 3u);
  auto rest = Watch("supervisor", first.back().seq());
  std::vector<uint64_t> resumed;
  for (const auto& n : first) resumed.push_back(n.seq());
  for (const auto& n : rest) resumed.push_back(n.seq());
  std::vector<uint64_t> whole;
  for (const auto& n : Watch("supervisor", 0)) whole.push_back(n.seq());
  EXPECT_EQ(resumed, whole);
  EXPECT_TRUE(std::is_sorted(whole.begin(), whole.end()));

  // The live watcher saw exactly what the log holds, while it was being written.
  live_done = true;
  live.join();
  EXPECT_EQ(live_seqs, whole);

  // Restart in the middle: nothing lost, no notice repeated, the clock where it was.
  const auto before_restart = whole;
  ASSERT_EQ(server_->Stop(), 0);
  Start();
  v1::Clock clock;
  ASSERT_TRUE(supervision_->GetClock(server_->Context().get(), {}, &clock).ok());
  EXPECT_EQ(clock.now_micros(), CstMicros(2022, 2, 15));
  EXPECT_TRUE(clock.simulated());
  std::vector<uint64_t> after_restart;
  for (const auto& n : Watch("supervisor", 0)) after_restart.push_back(n.seq());
  EXPECT_EQ(after_restart, before_restart);
  EXPECT_EQ(Find("annual-report-overdue", 43, 0, 2021).level(), v1::SUPERVISION);

  // Task 43's late report closes its escalation by itself.
  const uint64_t late = Report(43, "qh-hrss", "late-43");
  const v1::Escalation closed = Find("annual-report-overdue", 43, 0, 2021);
  EXPECT_EQ(closed.state(), v1::CLEARED);
  EXPECT_EQ(closed.cleared_by_seq(), late);
  v1::GetEscalationRequest get;
  get.set_plan_id(kPlan);
  get.set_escalation_id(closed.id());
  v1::Escalation full;
  ASSERT_TRUE(supervision_->GetEscalation(server_->Context().get(), get, &full).ok());
  std::vector<std::string> whats;
  for (const auto& t : full.timeline()) whats.push_back(t.what());
  EXPECT_THAT(whats, ::testing::ElementsAre("opened", "raised to 催办", "raised to 督办", "cleared"));
  // The server keeps no more of a closed escalation than its events' seqs
  // and subject: it is read back from the log, the same after a restart
  // (from the snapshot written at shutdown), and left out of open_only lists.
  v1::ListEscalationsRequest open_only;
  open_only.set_plan_id(kPlan);
  open_only.set_open_only(true);
  v1::ListEscalationsResponse open_list;
  ASSERT_TRUE(supervision_->ListEscalations(server_->Context().get(), open_only, &open_list).ok());
  EXPECT_FALSE(open_list.escalations().empty());
  for (const auto& e : open_list.escalations()) EXPECT_NE(e.id(), closed.id());
  ASSERT_EQ(server_->Stop(), 0);
  Start();
  const v1::Escalation reread = Find("annual-report-overdue", 43, 0, 2021);
  EXPECT_EQ(reread.SerializeAsString(), closed.SerializeAsString());

  // After the due date (15 March) task 20 climbs again, keeping the ladder's
  // spacing: 督办 a week later, not every skipped rung at once.
  AdvanceTo(2022, 3, 16);
  EXPECT_EQ(Find("annual-report-overdue", 20, 0, 2021).level(), v1::URGING);
  AdvanceTo(2022, 3, 23);
  EXPECT_EQ(Find("annual-report-overdue", 20, 0, 2021).level(), v1::SUPERVISION);

  // The webhook receiver got every supervisor notice, once each, after failing twice.
  std::set<std::string> expected;
  for (const auto& n : Watch("supervisor", 0)) expected.insert(n.id());
  ASSERT_FALSE(expected.empty());
  std::map<std::string, int> got;
  for (int i = 0; i < 300 && got.size() < expected.size(); ++i) {
    got.clear();
    std::ifstream in(received);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      EXPECT_EQ(j.at("_attempts").get<int>(), 3);
      EXPECT_EQ(j.at("_idempotency_key").get<std::string>(), j.at("id").get<std::string>());
      ++got[j.at("id").get<std::string>()];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::set<std::string> delivered;
  for (const auto& [id, count] : got) {
    delivered.insert(id);
    EXPECT_EQ(count, 1) << id;
  }
  EXPECT_EQ(delivered, expected);
}

// Five years of the demo, then the audit's re-derivation check: every
// escalation and notice in the log is what the rules give again.
TEST_F(SupervisionE2ETest, FiveYearsOfTheDemoRederiveIdentically) {
  CommandResult r = RunCommand({DUBANCTL_PATH, "--server", server_->address(), "--data-dir", data_,
                                "demo", "--speed", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto audit = v1::AuditService::NewStub(server_->Channel());
  v1::CheckDerivationsResponse checked;
  grpc::Status s = audit->CheckDerivations(server_->Context().get(), {}, &checked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(checked.ok()) << (checked.differences_size() ? checked.differences(0).problem() : "");
  EXPECT_GT(checked.derived_events(), 100u);
  // A restart replays to the same place and the check still holds.
  ASSERT_EQ(server_->Stop(), 0);
  Start();
  audit = v1::AuditService::NewStub(server_->Channel());
  ASSERT_TRUE(audit->CheckDerivations(server_->Context().get(), {}, &checked).ok());
  EXPECT_TRUE(checked.ok());
}

TEST_F(SupervisionE2ETest, RulesAreDataWithVersions) {
  v1::GetRulesRequest get;
  get.set_plan_id(kPlan);
  v1::RulesetVersion current;
  ASSERT_TRUE(supervision_->GetRules(server_->Context().get(), get, &current).ok());
  EXPECT_EQ(current.version(), 1u);
  EXPECT_EQ(current.ruleset().rules_size(), 5);
  EXPECT_EQ(current.content_sha256().size(), 64u);
  v1::PutRulesRequest put;
  put.set_request_id("put-bad");
  *put.mutable_ruleset() = current.ruleset();
  put.mutable_ruleset()->mutable_rules(2)->set_policy_id("nope");
  put.set_expected_version(1);
  v1::RulesetVersion out;
  grpc::Status s = supervision_->PutRules(server_->Context().get(), put, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("rules[2] (indicator-off-track).policy_id"));
  put.set_request_id("put-stale");
  *put.mutable_ruleset() = current.ruleset();
  put.mutable_ruleset()->mutable_rules(0)->mutable_deadline()->set_day(15);
  put.set_expected_version(0);
  EXPECT_EQ(supervision_->PutRules(server_->Context().get(), put, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  put.set_request_id("put-ok");
  put.set_expected_version(1);
  ASSERT_TRUE(supervision_->PutRules(server_->Context().get(), put, &out).ok());
  EXPECT_EQ(out.version(), 2u);
  // Supervisors tune the rules; agencies may not.
  const std::string supervisor = Issue("supervisor");
  const std::string agency = Issue("agency:qh-edu");
  put.set_request_id("put-by-supervisor");
  put.mutable_ruleset()->mutable_rules(0)->mutable_deadline()->set_day(20);
  put.set_expected_version(2);
  ASSERT_TRUE(supervision_->PutRules(server_->Context(supervisor).get(), put, &out).ok());
  EXPECT_EQ(out.version(), 3u);
  put.set_request_id("put-by-agency");
  put.set_expected_version(3);
  EXPECT_EQ(supervision_->PutRules(server_->Context(agency).get(), put, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The clock does not go backwards.
  v1::AdvanceClockRequest adv;
  adv.set_request_id("adv");
  adv.set_to_micros(CstMicros(2021, 1, 1));
  v1::Clock clock;
  EXPECT_EQ(supervision_->AdvanceClock(server_->Context().get(), adv, &clock).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT) << "backwards";
}

}  // namespace
}  // namespace duban::testing
