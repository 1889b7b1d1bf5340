#include "engine/state.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/util/delimited_message_util.h"

#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/reporting.h"
#include "engine/test_plan.h"

namespace duban::engine {
namespace {

using duban::v1::Event;

std::vector<Event> ImportEvents() {
  State empty;
  auto d = DecideImport(empty, testing::TestPlan(), {});
  EXPECT_TRUE(d.ok());
  uint64_t seq = 0;
  for (Event& e : d->events) e.set_seq(++seq);
  return d->events;
}

TEST(StateTest, ReplayIsDeterministic) {
  State a, b;
  for (const Event& e : ImportEvents()) {
    ASSERT_TRUE(a.Apply(e).ok());
    ASSERT_TRUE(b.Apply(e).ok());
  }
  const PlanState* pa = a.FindPlan("test-plan");
  const PlanState* pb = b.FindPlan("test-plan");
  ASSERT_NE(pa, nullptr);
  ASSERT_EQ(pa->tasks.size(), pb->tasks.size());
  for (const auto& [n, t] : pa->tasks) {
    EXPECT_EQ(t.SerializeAsString(), pb->tasks.at(n).SerializeAsString());
  }
  EXPECT_EQ(a.seq(), b.seq());
}

TEST(StateTest, RejectsGapsAndMisfitsWithoutChanging) {
  State s;
  auto events = ImportEvents();
  Event skipped = events[1];
  EXPECT_EQ(s.Apply(skipped).code(), absl::StatusCode::kFailedPrecondition);
  for (const Event& e : events) ASSERT_TRUE(s.Apply(e).ok());
  Event bad;
  bad.set_seq(s.seq() + 1);
  bad.set_plan_id("test-plan");
  bad.mutable_responsibility_revoked()->set_task_number(3);
  bad.mutable_responsibility_revoked()->set_agency_id("gov-a");  // holds no role on 3
  const uint64_t before = s.seq();
  EXPECT_EQ(s.Apply(bad).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.seq(), before);
  EXPECT_EQ(s.FindPlan("test-plan")->FindTask(3)->responsibilities_size(), 1);
  Event empty_payload;
  empty_payload.set_seq(s.seq() + 1);
  EXPECT_EQ(s.Apply(empty_payload).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StateTest, CopiesAreSnapshots) {
  State s;
  for (const Event& e : ImportEvents()) ASSERT_TRUE(s.Apply(e).ok());
  const State snapshot = s;
  Event e;
  e.set_seq(s.seq() + 1);
  e.set_plan_id("test-plan");
  auto* p = e.mutable_responsibility_assigned();
  p->set_task_number(3);
  p->set_agency_id("drc");
  p->set_role(duban::v1::SUPPORT);
  ASSERT_TRUE(s.Apply(e).ok());
  EXPECT_EQ(s.FindPlan("test-plan")->FindTask(3)->responsibilities_size(), 2);
  EXPECT_EQ(snapshot.FindPlan("test-plan")->FindTask(3)->responsibilities_size(), 1);
  EXPECT_EQ(snapshot.seq() + 1, s.seq());
}

TEST(StateTest, CredentialsIssueAndRevoke) {
  State s;
  Event issue;
  issue.set_seq(1);
  auto* c = issue.mutable_credential_issued();
  c->set_credential_id("admin-1");
  c->set_principal("admin");
  c->set_token_sha256("abc");
  ASSERT_TRUE(s.Apply(issue).ok());
  ASSERT_NE(s.FindCredentialByHash("abc"), nullptr);
  EXPECT_EQ(s.FindCredentialByHash("abc")->principal, "admin");
  EXPECT_TRUE(s.HasCredentialFor("admin"));
  EXPECT_EQ(s.FindCredentialByHash("abd"), nullptr);
  Event revoke;
  revoke.set_seq(2);
  revoke.mutable_credential_revoked()->set_credential_id("admin-1");
  ASSERT_TRUE(s.Apply(revoke).ok());
  EXPECT_EQ(s.FindCredentialByHash("abc"), nullptr);
  EXPECT_FALSE(s.HasCredentialFor("admin"));
}

TEST(RoleTest, ConvenerIsFirstLeadElseFirstShared) {
  duban::v1::Task t;
  auto add = [&](std::string id, duban::v1::Role role) {
    auto* r = t.add_responsibilities();
    r->set_agency_id(std::move(id));
    r->set_role(role);
  };
  add("a", duban::v1::SUPPORT);
  EXPECT_FALSE(HasResponsibleAgency(t));
  add("b", duban::v1::SHARED);
  add("c", duban::v1::LEAD);
  EXPECT_EQ(ConvenerOf(t), "c");
  EXPECT_STREQ(RoleName(duban::v1::SHARED), "SHARED");
}

// Events written by this version, kept as bytes: every later version must
// replay them to the same state. Regenerate only when deliberately starting
// a new golden file (never rewrite an old one):
//   DUBAN_WRITE_GOLDEN=1 build/engine/state_test --gtest_filter='*Golden*'
std::vector<Event> GoldenEvents() {
  std::vector<Event> events = ImportEvents();
  State s;
  for (const Event& e : events) EXPECT_TRUE(s.Apply(e).ok());
  const duban::v1::AssignResponsibilityRequest assign =
      testing::AssignRequest(3, "drc", duban::v1::SUPPORT, "配合");
  duban::v1::RevokeResponsibilityRequest revoke;
  revoke.set_plan_id("test-plan");
  revoke.set_task_number(2);
  revoke.set_agency_id("drc");
  revoke.set_reason("调整");
  for (auto decided : {DecideAssign(s, assign), DecideRevoke(s, revoke),
                       DecideIssueCredential(s, "admin-1", "admin", "ab12", "first start")}) {
    EXPECT_TRUE(decided.ok()) << decided.status();
    for (Event& e : *decided) {
      e.set_seq(s.seq() + 1);
      e.set_principal("admin");
      e.set_request_id(absl::StrCat("golden-", e.seq()));
      e.set_recorded_at_micros(1640966400000000 + e.seq());  // 2022-01-01T00:00:00+08:00
      EXPECT_TRUE(s.Apply(e).ok());
      events.push_back(e);
    }
  }
  return events;
}

// Replays engine/testdata/<name> into `s`; with DUBAN_WRITE_GOLDEN set and
// the file missing, first writes `events` there.
void ReplayGolden(const std::string& name, const std::vector<Event>& events, State* s) {
  const char* src = std::getenv("DUBAN_SOURCE_DIR");
  const std::string path =
      std::string(src ? src : DUBAN_SOURCE_DIR_FALLBACK) + "/engine/testdata/" + name;
  if (std::getenv("DUBAN_WRITE_GOLDEN") != nullptr && !std::ifstream(path).good()) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const Event& e : events) {
      ASSERT_TRUE(google::protobuf::util::SerializeDelimitedToOstream(e, &out));
    }
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing golden file " << path;
  google::protobuf::io::IstreamInputStream stream(&in);
  Event e;
  bool clean_eof = false;
  while (google::protobuf::util::ParseDelimitedFromZeroCopyStream(&e, &stream, &clean_eof)) {
    ASSERT_TRUE(s->Apply(e).ok()) << e.DebugString();
  }
  ASSERT_TRUE(clean_eof);
}

TEST(GoldenEventsTest, Version1EventsReplayToTheSameState) {
  State s;
  ReplayGolden("events-v1.bin", GoldenEvents(), &s);
  const PlanState* plan = s.FindPlan("test-plan");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->Summary().task_count(), 3);
  EXPECT_EQ(plan->Summary().indicator_count(), 2);
  EXPECT_EQ(plan->Summary().agency_count(), 4);
  EXPECT_EQ(plan->Summary().document_sha256(), DocumentSha256(testing::TestPlan()));
  const auto* t1 = plan->FindTask(1);
  ASSERT_EQ(t1->responsibilities_size(), 4);
  EXPECT_EQ(t1->responsibilities(3).via_group_id(), "cities");
  EXPECT_EQ(t1->convener_agency_id(), "drc");
  const auto* t2 = plan->FindTask(2);
  ASSERT_EQ(t2->responsibilities_size(), 1);
  EXPECT_EQ(t2->responsibilities(0).agency_id(), "hrss");
  const auto* t3 = plan->FindTask(3);
  ASSERT_EQ(t3->responsibilities_size(), 2);
  EXPECT_EQ(t3->responsibilities(1).role(), duban::v1::SUPPORT);
  EXPECT_EQ(t3->responsibilities(1).reason(), "配合");
  EXPECT_EQ(plan->indicators.at(2).attribute(), duban::v1::BINDING);
  ASSERT_NE(s.FindCredentialByHash("ab12"), nullptr);
  EXPECT_EQ(s.FindCredentialByHash("ab12")->principal, "admin");
  // The same commands decided today give the same state (determinism).
  State today;
  for (const Event& g : GoldenEvents()) ASSERT_TRUE(today.Apply(g).ok());
  EXPECT_EQ(today.seq(), s.seq());
  for (const auto& [n, t] : plan->tasks) {
    EXPECT_EQ(t.SerializeAsString(), today.FindPlan("test-plan")->tasks.at(n).SerializeAsString());
  }
}

// Version 2 adds reports, indicator values, indicator agencies, plan-bound
// agency credentials and a revocation.
std::vector<Event> GoldenEventsV2() {
  duban::v1::PlanDocument doc = testing::TestPlan();
  doc.mutable_indicators(0)->add_responsible_agency_ids("hrss");
  doc.mutable_indicators(0)->set_responsibility_source("任务31");
  State s;
  std::vector<Event> events;
  auto commit = [&](absl::StatusOr<std::vector<Event>> decided, const std::string& principal) {
    EXPECT_TRUE(decided.ok()) << decided.status();
    for (Event& e : *decided) {
      e.set_seq(s.seq() + 1);
      e.set_principal(principal);
      e.set_request_id(absl::StrCat("golden2-", e.seq()));
      e.set_recorded_at_micros(1643644800000000 + e.seq());  // 2022-02-01T00:00:00+08:00
      EXPECT_TRUE(s.Apply(e).ok());
      events.push_back(e);
    }
  };
  auto import = DecideImport(s, doc, {});
  EXPECT_TRUE(import.ok());
  commit(import->events, "system");
  commit(DecideIssueCredential(s, "cred-1", "agency:hrss", "cd34", "hrss system", "test-plan"),
         "admin");
  duban::v1::SubmitProgressRequest progress;
  progress.set_plan_id("test-plan");
  progress.set_task_number(3);
  progress.set_year(2021);
  progress.set_agency_id("hrss");
  progress.set_status(duban::v1::AT_RISK);
  progress.set_summary("进度滞后");
  progress.add_evidence_refs("ref-1");
  progress.set_percent_complete(40);
  commit(DecideSubmitProgress(s, progress), "agency:hrss");
  progress.set_status(duban::v1::ON_TRACK);
  commit(DecideSubmitProgress(s, progress), "agency:hrss");
  duban::v1::SubmitIndicatorValueRequest value;
  value.set_plan_id("test-plan");
  value.set_indicator_number(1);
  value.set_year(2021);
  value.set_value(6.2);
  value.set_agency_id("hrss");
  value.set_source_note("快报");
  commit(DecideSubmitIndicatorValue(s, value), "agency:hrss");
  Event revoke;
  revoke.mutable_credential_revoked()->set_credential_id("cred-1");
  revoke.mutable_credential_revoked()->set_reason("replaced");
  commit(std::vector<Event>{revoke}, "admin");
  return events;
}

TEST(GoldenEventsTest, Version2EventsReplayToTheSameState) {
  State s;
  ReplayGolden("events-v2.bin", GoldenEventsV2(), &s);
  const PlanState* plan = s.FindPlan("test-plan");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->indicators.at(1).responsible_agency_ids(0), "hrss");
  EXPECT_EQ(plan->indicators.at(1).responsibility_source(), "任务31");
  const auto* report = plan->LatestReport(3, 2021, "hrss");
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(report->revision(), 2u);
  EXPECT_EQ(report->status(), duban::v1::ON_TRACK);
  EXPECT_EQ(report->kind(), duban::v1::TASK_REPORT);
  EXPECT_EQ(report->principal(), "agency:hrss");
  EXPECT_EQ(report->percent_complete(), 40);
  EXPECT_EQ(report->evidence_refs(0), "ref-1");
  const std::vector<uint64_t> revisions = plan->progress.at({3, 2021, "hrss"}).seqs();
  ASSERT_EQ(revisions.size(), 2u);
  EXPECT_LT(revisions[0], revisions[1]);
  EXPECT_EQ(revisions[1], report->seq());
  const auto* value = plan->LatestValue(1, 2021);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->value(), 6.2);
  EXPECT_EQ(value->source_note(), "快报");
  const Credential* c = s.FindCredential("cred-1");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->plan_id, "test-plan");
  EXPECT_TRUE(c->revoked);
  EXPECT_EQ(s.FindCredentialByHash("cd34"), nullptr);
  State today;
  for (const Event& e : GoldenEventsV2()) ASSERT_TRUE(today.Apply(e).ok());
  EXPECT_EQ(today.seq(), s.seq());
}

}  // namespace
}  // namespace duban::engine
