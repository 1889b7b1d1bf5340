#include "engine/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/test_plan.h"

namespace duban::engine {
namespace {

using duban::v1::Event;
using ::testing::HasSubstr;

// Applies decided events as the sequencer would (seq after the state's).
void ApplyAll(State& state, std::vector<Event> events) {
  uint64_t seq = state.seq();
  for (Event& e : events) {
    e.set_seq(++seq);
    ASSERT_TRUE(state.Apply(e).ok()) << e.DebugString();
  }
}

State Imported(const duban::v1::PlanDocument& doc = testing::TestPlan()) {
  State s;
  auto d = DecideImport(s, doc, {});
  EXPECT_TRUE(d.ok()) << d.status();
  ApplyAll(s, d->events);
  return s;
}

std::vector<std::string> Kinds(const ImportDecision& d) {
  std::vector<std::string> out;
  for (const auto& c : d.changes) out.push_back(c.kind());
  return out;
}

duban::v1::AssignResponsibilityRequest Assign(int task, const std::string& agency,
                                              duban::v1::Role role,
                                              const std::string& reason = "调整分工") {
  return testing::AssignRequest(task, agency, role, reason);
}

duban::v1::RevokeResponsibilityRequest Revoke(int task, std::string agency) {
  duban::v1::RevokeResponsibilityRequest r;
  r.set_plan_id("test-plan");
  r.set_task_number(task);
  r.set_agency_id(std::move(agency));
  r.set_reason("职责调整");
  return r;
}

TEST(DecideImportTest, FirstImportDefinesEverything) {
  State s;
  auto d = DecideImport(s, testing::TestPlan(), {});
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_FALSE(d->events.empty());
  EXPECT_TRUE(d->events.front().has_plan_defined());
  EXPECT_TRUE(d->events.back().has_plan_imported());
  ApplyAll(s, d->events);
  const PlanState* plan = s.FindPlan("test-plan");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->Summary().task_count(), 3);
  EXPECT_EQ(plan->Summary().indicator_count(), 2);
  EXPECT_EQ(plan->Summary().agency_count(), 4);
  const auto* t1 = plan->FindTask(1);
  ASSERT_NE(t1, nullptr);
  ASSERT_EQ(t1->responsibilities_size(), 4);
  EXPECT_EQ(t1->responsibilities(0).agency_id(), "drc");
  EXPECT_EQ(t1->responsibilities(2).via_group_id(), "cities");
  EXPECT_EQ(t1->responsibilities(3).role(), duban::v1::SUPPORT);
  EXPECT_EQ(t1->convener_agency_id(), "drc");
  EXPECT_EQ(plan->FindTask(2)->convener_agency_id(), "hrss");
  EXPECT_EQ(plan->Summary().document_sha256(), DocumentSha256(testing::TestPlan()));
}

TEST(DecideImportTest, UnchangedReimportWritesNothing) {
  State s = Imported();
  auto d = DecideImport(s, testing::TestPlan(), {});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->events.empty());
  EXPECT_TRUE(d->changes.empty());
}

TEST(DecideImportTest, ChangedVersionWritesOnlyItsDifferences) {
  State s = Imported();
  duban::v1::PlanDocument next = testing::TestPlan();
  next.mutable_tasks(1)->set_text("任务二（修订）。");
  next.mutable_tasks(0)->mutable_responsibilities(1)->set_role(duban::v1::SHARED);
  next.mutable_tasks()->RemoveLast();  // task 3 dropped
  next.mutable_indicators(1)->set_target_value(11);
  auto d = DecideImport(s, next, {});
  ASSERT_TRUE(d.ok()) << d.status();
  // Tasks in document order: task 1's role change, task 2's text, then removals.
  EXPECT_THAT(Kinds(*d), ::testing::ElementsAre("responsibility.assigned", "task.defined",
                                                "task.removed", "indicator.defined"));
  ApplyAll(s, d->events);
  const PlanState* plan = s.FindPlan("test-plan");
  EXPECT_EQ(plan->FindTask(2)->text(), "任务二（修订）。");
  EXPECT_EQ(plan->FindTask(1)->responsibilities(1).role(), duban::v1::SHARED);
  EXPECT_EQ(plan->FindTask(3), nullptr);
  EXPECT_EQ(plan->indicators.at(2).target_value(), 11);
  // And importing it again changes nothing.
  auto again = DecideImport(s, next, {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->events.empty());
}

TEST(DecideImportTest, HandMadeChangesSurviveAnUnchangedReimport) {
  State s = Imported();
  auto revoked = DecideRevoke(s, Revoke(1, "gov-b"));
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  ApplyAll(s, *revoked);
  auto d = DecideImport(s, testing::TestPlan(), {});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->events.empty());
  EXPECT_EQ(s.FindPlan("test-plan")->FindTask(1)->responsibilities_size(), 3);
}

TEST(DecideImportTest, InvalidDocumentNamesTheField) {
  State s;
  auto doc = testing::TestPlan();
  doc.mutable_tasks(1)->mutable_responsibilities(0)->set_agency_id("nobody");
  auto d = DecideImport(s, doc, {});
  ASSERT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("document.tasks[1].responsibilities[0].agency_id"));

  doc = testing::TestPlan();
  doc.mutable_tasks(2)->set_number(1);
  EXPECT_THAT(DecideImport(s, doc, {}).status().message(), HasSubstr("duplicate"));

  doc = testing::TestPlan();
  doc.mutable_tasks(2)->mutable_responsibilities(0)->set_role(duban::v1::SUPPORT);
  EXPECT_THAT(DecideImport(s, doc, {}).status().message(), HasSubstr("no LEAD or SHARED"));

  doc = testing::TestPlan();
  doc.set_plan_id("Bad Id");
  EXPECT_THAT(DecideImport(s, doc, {}).status().message(), HasSubstr("document.plan_id"));

  doc = testing::TestPlan();
  doc.mutable_tasks(0)->set_text(std::string("bad\x01text"));
  EXPECT_THAT(DecideImport(s, doc, {}).status().message(), HasSubstr("document.tasks[0].text"));

  doc = testing::TestPlan();
  doc.mutable_indicators(0)->set_target_value(std::numeric_limits<double>::infinity());
  EXPECT_THAT(DecideImport(s, doc, {}).status().message(),
              HasSubstr("document.indicators[0].target_value"));
}

TEST(DecideImportTest, EveryTextAndReferenceIsChecked) {
  State s;
  auto message = [&](const duban::v1::PlanDocument& doc) {
    return std::string(DecideImport(s, doc, {}).status().message());
  };
  auto doc = testing::TestPlan();
  doc.mutable_indicators(0)->mutable_baseline()->set_text("x\ay");
  EXPECT_THAT(message(doc), HasSubstr("document.indicators[0].baseline.text: control character"));

  doc = testing::TestPlan();
  doc.mutable_tasks(1)->mutable_section()->set_number("\x01");
  EXPECT_THAT(message(doc), HasSubstr("document.tasks[1].section.number"));

  doc = testing::TestPlan();
  doc.mutable_tasks(0)->mutable_responsibilities(0)->set_reason("\x1b[31m");
  EXPECT_THAT(message(doc), HasSubstr("document.tasks[0].responsibilities[0].reason"));

  doc = testing::TestPlan();
  doc.mutable_agencies(0)->add_group_ids("cities");  // hrss is not a member
  EXPECT_THAT(message(doc), HasSubstr("document.agencies[0].group_ids[0]: group \"cities\" does not list"));

  doc = testing::TestPlan();
  doc.mutable_agencies(3)->clear_group_ids();  // gov-b listed by the group but denies it
  EXPECT_THAT(message(doc), HasSubstr("document.groups"));

  doc = testing::TestPlan();
  doc.mutable_tasks(0)->mutable_responsibilities(0)->set_via_group_id("cities");  // drc
  EXPECT_THAT(message(doc), HasSubstr("via_group_id: \"cities\" is not a group of \"drc\""));

  doc = testing::TestPlan();
  doc.mutable_indicators(1)->mutable_baseline()->set_year(3000);
  EXPECT_THAT(message(doc), HasSubstr("document.indicators[1].baseline.year"));

  doc = testing::TestPlan();
  for (int i = 0; i < 21; ++i) doc.mutable_agencies(1)->add_aliases("别名" + std::to_string(i));
  EXPECT_THAT(message(doc), HasSubstr("document.agencies[1].aliases: at most 20"));
}

TEST(DecideImportTest, GroupsLeftOutOfANewVersionAreRemoved) {
  State s = Imported();
  auto next = testing::TestPlan();
  next.clear_groups();
  for (auto& a : *next.mutable_agencies()) a.clear_group_ids();
  for (auto& r : *next.mutable_tasks(0)->mutable_responsibilities()) r.clear_via_group_id();
  auto d = DecideImport(s, next, {});
  ASSERT_TRUE(d.ok()) << d.status();
  ApplyAll(s, d->events);
  EXPECT_TRUE(s.FindPlan("test-plan")->groups.empty());
  EXPECT_THAT(Kinds(*d), ::testing::Contains("group.removed"));
}

TEST(DecideAssignTest, AddsAndChangesRoles) {
  State s = Imported();
  auto e = DecideAssign(s, Assign(3, "drc", duban::v1::SUPPORT));
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].responsibility_assigned().previous_role(), duban::v1::ROLE_UNSPECIFIED);
  ApplyAll(s, *e);
  const auto* t3 = s.FindPlan("test-plan")->FindTask(3);
  ASSERT_EQ(t3->responsibilities_size(), 2);
  EXPECT_EQ(t3->responsibilities(1).reason(), "调整分工");
  EXPECT_EQ(t3->responsibilities(1).assigned_seq(), s.seq());

  auto change = DecideAssign(s, Assign(3, "drc", duban::v1::LEAD));
  ASSERT_TRUE(change.ok());
  EXPECT_EQ((*change)[0].responsibility_assigned().previous_role(), duban::v1::SUPPORT);
}

TEST(DecideAssignTest, RejectsBadInput) {
  State s = Imported();
  auto code = [&](duban::v1::AssignResponsibilityRequest r) {
    return DecideAssign(s, r).status().code();
  };
  auto r = Assign(1, "hrss", duban::v1::LEAD);
  EXPECT_EQ(code(r), absl::StatusCode::kAlreadyExists);
  r = Assign(1, "drc", duban::v1::SHARED);
  r.set_plan_id("no-such-plan");
  EXPECT_EQ(code(r), absl::StatusCode::kNotFound);
  EXPECT_EQ(code(Assign(99, "drc", duban::v1::SHARED)), absl::StatusCode::kNotFound);
  EXPECT_EQ(code(Assign(0, "drc", duban::v1::SHARED)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Assign(1, "ghost", duban::v1::SHARED)), absl::StatusCode::kNotFound);
  EXPECT_EQ(code(Assign(1, "", duban::v1::SHARED)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Assign(3, "drc", duban::v1::ROLE_UNSPECIFIED)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Assign(3, "drc", static_cast<duban::v1::Role>(42))),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(DecideAssign(s, Assign(3, "drc", duban::v1::LEAD, "")).status().message(),
              HasSubstr("reason"));
  EXPECT_THAT(DecideAssign(s, Assign(3, "drc", duban::v1::LEAD, "\xff\xfe")).status().message(),
              HasSubstr("reason: not valid UTF-8"));
  EXPECT_THAT(
      DecideAssign(s, Assign(3, "drc", duban::v1::LEAD, std::string(3000, 'x'))).status().message(),
      HasSubstr("reason: too long"));
  // Demoting the only lead would leave task 3 with nobody responsible.
  EXPECT_EQ(code(Assign(3, "hrss", duban::v1::SUPPORT)), absl::StatusCode::kFailedPrecondition);
}

TEST(DecideRevokeTest, NeverLeavesATaskWithoutAResponsibleAgency) {
  State s = Imported();
  EXPECT_EQ(DecideRevoke(s, Revoke(3, "hrss")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecideRevoke(s, Revoke(3, "drc")).status().code(), absl::StatusCode::kNotFound);
  auto ok = DecideRevoke(s, Revoke(2, "drc"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].responsibility_revoked().previous_role(), duban::v1::SHARED);
  ApplyAll(s, *ok);
  EXPECT_EQ(DecideRevoke(s, Revoke(2, "hrss")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Revoking a lead is fine while another lead remains; the convener moves on.
  auto lead = DecideRevoke(s, Revoke(1, "drc"));
  ASSERT_TRUE(lead.ok());
  ApplyAll(s, *lead);
  EXPECT_EQ(s.FindPlan("test-plan")->FindTask(1)->convener_agency_id(), "hrss");
}

TEST(DocumentShaTest, ChangesWithContent) {
  auto a = testing::TestPlan();
  auto b = a;
  EXPECT_EQ(DocumentSha256(a), DocumentSha256(b));
  b.mutable_tasks(0)->set_text("另一个");
  EXPECT_NE(DocumentSha256(a), DocumentSha256(b));
  EXPECT_EQ(DocumentSha256(a).size(), 64u);
}

}  // namespace
}  // namespace duban::engine
