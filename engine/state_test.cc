#include "engine/state.h"

#include <gtest/gtest.h>

#include "engine/commands.h"
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

}  // namespace
}  // namespace duban::engine
