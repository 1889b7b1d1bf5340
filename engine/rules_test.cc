#include "engine/rules.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/commands.h"
#include "engine/reporting.h"
#include "engine/test_plan.h"

namespace duban::engine {
namespace {

using duban::v1::Event;
using ::testing::HasSubstr;


using testing::Cst;

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    duban::v1::PlanDocument doc = testing::TestPlan();
    doc.mutable_indicators(0)->add_responsible_agency_ids("hrss");
    doc.mutable_indicators(1)->add_responsible_agency_ids("drc");
    auto imported = DecideImport(state_, doc, {});
    ASSERT_TRUE(imported.ok());
    Commit(imported->events);
    rules_ = testing::TestRules();
    ASSERT_GT(rules_.rules_size(), 0);
    auto put = DecidePutRules(state_, rules_, 0);
    ASSERT_TRUE(put.ok()) << put.status();
    Commit(*put);
  }

  // Applies events as the sequencer would; returns the last seq.
  uint64_t Commit(std::vector<Event> events) {
    for (Event& e : events) {
      e.set_seq(state_.seq() + 1);
      EXPECT_TRUE(state_.Apply(e).ok()) << e.DebugString();
      log_.Record(e);
    }
    return state_.seq();
  }

  std::vector<Event> Tick(absl::Time now, uint64_t cause = 0) {
    auto events = Evaluate(state_, "test-plan", now, cause);
    Commit(events);
    return events;
  }

  uint64_t Report(int task, int year, const std::string& agency,
                  duban::v1::ProgressStatus status = duban::v1::ON_TRACK) {
    auto events = DecideSubmitProgress(state_, testing::ProgressRequest(task, year, agency, status));
    EXPECT_TRUE(events.ok()) << events.status();
    return Commit(*events);
  }

  uint64_t Value(int indicator, int year, double value, const std::string& agency) {
    auto events = DecideSubmitIndicatorValue(state_, testing::ValueRequest(indicator, year, value, agency));
    EXPECT_TRUE(events.ok()) << events.status();
    return Commit(*events);
  }

  const PlanState& plan() { return *state_.FindPlan("test-plan"); }

  const duban::v1::Escalation* Open(const std::string& rule, int task, int year) {
    for (const auto& [id, cow] : plan().escalations) {
      const duban::v1::Escalation& e = *cow;
      if (e.subject().rule_id() == rule && e.subject().task_number() == task &&
          e.subject().year() == year &&
          (e.state() == duban::v1::OPEN || e.state() == duban::v1::ACKNOWLEDGED)) {
        return &e;
      }
    }
    return nullptr;
  }

  static std::vector<std::string> Recipients(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e.has_notice_issued()) out.push_back(e.notice_issued().notice().recipient());
    }
    return out;
  }

  State state_;
  testing::TestLog log_;
  duban::v1::Ruleset rules_;
};

TEST_F(RulesTest, ValidationNamesTheRuleAndField) {
  auto bad = rules_;
  bad.mutable_rules(1)->set_policy_id("fast");
  EXPECT_THAT(std::string(ValidateRuleset(bad, plan()).message()),
              HasSubstr("rules[1] (off-track).policy_id: unknown policy \"fast\""));
  bad = rules_;
  bad.mutable_rules(0)->mutable_deadline()->set_day(30);
  bad.mutable_rules(0)->mutable_deadline()->set_month(2);
  EXPECT_THAT(std::string(ValidateRuleset(bad, plan()).message()),
              HasSubstr("rules[0] (overdue).deadline"));
  bad = rules_;
  bad.mutable_policies(0)->mutable_rungs(2)->set_after_days(5);
  EXPECT_THAT(std::string(ValidateRuleset(bad, plan()).message()),
              HasSubstr("policies[0] (standard).rungs[2]"));
  bad = rules_;
  bad.mutable_rules(2)->set_severity(duban::v1::SEVERITY_UNSPECIFIED);
  EXPECT_THAT(std::string(ValidateRuleset(bad, plan()).message()),
              HasSubstr("rules[2] (at-risk).severity"));
  // Versions: a stale expected version is refused; the same content writes nothing.
  EXPECT_EQ(DecidePutRules(state_, rules_, 0).status().code(), absl::StatusCode::kFailedPrecondition);
  auto same = DecidePutRules(state_, rules_, 1);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
}

TEST_F(RulesTest, OverdueReportsClimbTheLadderPauseAndClear) {
  Report(1, 2021, "drc");  // task 1 reported; tasks 2 (hrss convenes) and 3 (hrss leads) not
  EXPECT_TRUE(Tick(Cst(2022, 1, 31)).empty()) << "the deadline day itself is still in time";
  auto opened = Tick(Cst(2022, 2, 1));
  ASSERT_NE(Open("overdue", 2, 2021), nullptr);
  ASSERT_NE(Open("overdue", 3, 2021), nullptr);
  EXPECT_EQ(Open("overdue", 1, 2021), nullptr);
  EXPECT_EQ(Open("overdue", 3, 2021)->level(), duban::v1::REMINDER);
  EXPECT_THAT(Recipients(opened), ::testing::ElementsAre("agency:hrss", "agency:hrss"));
  EXPECT_TRUE(Tick(Cst(2022, 2, 5)).empty()) << "a tick that changes nothing writes nothing";

  auto urging = Tick(Cst(2022, 2, 8));
  EXPECT_EQ(Open("overdue", 3, 2021)->level(), duban::v1::URGING);
  // Acknowledge task 3's: climbing pauses until its due date.
  duban::v1::AcknowledgeRequest ack;
  ack.set_plan_id("test-plan");
  ack.set_escalation_id(Open("overdue", 3, 2021)->id());
  ack.set_measures("月底前补报");
  ack.set_due_micros(absl::ToUnixMicros(Cst(2022, 3, 10)));
  auto acked = DecideAcknowledge(state_, ack, Cst(2022, 2, 9));
  ASSERT_TRUE(acked.ok()) << acked.status();
  Commit(*acked);
  auto supervision = Tick(Cst(2022, 2, 16));
  EXPECT_EQ(Open("overdue", 2, 2021)->level(), duban::v1::SUPERVISION);
  EXPECT_EQ(Open("overdue", 3, 2021)->level(), duban::v1::URGING) << "paused by the acknowledgement";
  EXPECT_THAT(Recipients(supervision), ::testing::ElementsAre("agency:hrss", "supervisor"));
  // After the due date the climb resumes with its spacing: 督办 7 days after
  // the due date (not every skipped rung at once), 通报 16 days after that.
  Tick(Cst(2022, 3, 11));  // (task 2's escalation reaches 通报 meanwhile)
  EXPECT_EQ(Open("overdue", 3, 2021)->level(), duban::v1::URGING);
  Tick(Cst(2022, 3, 17));
  EXPECT_EQ(Open("overdue", 3, 2021)->level(), duban::v1::SUPERVISION);
  Tick(Cst(2022, 4, 2));
  EXPECT_EQ(Open("overdue", 3, 2021)->level(), duban::v1::CIRCULATION);
  // It cannot be acknowledged again while a due date is ahead.
  ack.set_due_micros(absl::ToUnixMicros(Cst(2022, 6, 1)));
  Commit(*DecideAcknowledge(state_, ack, Cst(2022, 4, 3)));
  ack.set_due_micros(absl::ToUnixMicros(Cst(2022, 9, 1)));
  EXPECT_EQ(DecideAcknowledge(state_, ack, Cst(2022, 4, 4)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A late report clears task 2's by itself, recording the report.
  const uint64_t late = Report(2, 2021, "hrss");
  auto cleared = Evaluate(state_, "test-plan", Cst(2022, 4, 5), late);
  Commit(cleared);
  EXPECT_EQ(Open("overdue", 2, 2021), nullptr);
  // The state keeps of a closed escalation only its timeline's seqs and
  // subject; the rest is read back from its events.
  std::string closed_id;
  for (const auto& [id, c] : plan().closed_escalations) {
    if (c.task_number == 2 && c.year == 2021) closed_id = id;
  }
  ASSERT_FALSE(closed_id.empty());
  EXPECT_EQ(plan().escalations.count(closed_id), 0u);
  auto closed = plan().WithTimeline(closed_id, log_.Loader());
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->state(), duban::v1::CLEARED);
  EXPECT_EQ(closed->cleared_by_seq(), late);
  EXPECT_EQ(closed->ruleset_version(), 1u);
  EXPECT_EQ(closed->level(), duban::v1::CIRCULATION);  // folded from its climbs (通报 by now)
  EXPECT_EQ(closed->subject().task_number(), 2);
  EXPECT_GE(closed->timeline_size(), 5);  // opened, 催办, 督办, 通报, cleared
  auto without = plan().FindEscalation(closed_id, log_.Loader());
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->timeline_size(), 0);
  EXPECT_EQ(without->state(), duban::v1::CLEARED);
  // A closed escalation takes no more acknowledgements or resolutions.
  duban::v1::ResolveRequest resolve;
  resolve.set_plan_id("test-plan");
  resolve.set_escalation_id(closed_id);
  resolve.set_reason("已办结");
  EXPECT_EQ(DecideResolve(state_, resolve, Cst(2022, 4, 6)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  resolve.set_escalation_id("esc-999");
  EXPECT_EQ(DecideResolve(state_, resolve, Cst(2022, 4, 6)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(plan().FindEscalation("esc-999", log_.Loader()).status().code(),
            absl::StatusCode::kNotFound);
}

// A write's answer is made before its group is written: an escalation an
// earlier command of the group acknowledged, then resolved, is answered from
// the escalation as decided with the command's events folded in.
TEST_F(RulesTest, AnEscalationAfterACommandWhoseGroupIsNotWrittenYet) {
  Tick(Cst(2022, 2, 1));
  const std::string id = Open("overdue", 3, 2021)->id();
  auto unwritten = [&](absl::StatusOr<std::vector<Event>> decided) {  // applied, not logged
    EXPECT_TRUE(decided.ok()) << decided.status();
    for (Event& e : *decided) {
      e.set_seq(state_.seq() + 1);
      EXPECT_TRUE(state_.Apply(e).ok());
    }
    return *decided;
  };
  duban::v1::AcknowledgeRequest ack;
  ack.set_plan_id("test-plan");
  ack.set_escalation_id(id);
  ack.set_measures("已部署整改");
  ack.set_due_micros(absl::ToUnixMicros(Cst(2022, 3, 1)));
  const std::vector<Event> acked = unwritten(DecideAcknowledge(state_, ack, Cst(2022, 2, 2)));
  const duban::v1::Escalation before = *plan().escalations.at(id);
  duban::v1::ResolveRequest resolve;
  resolve.set_plan_id("test-plan");
  resolve.set_escalation_id(id);
  resolve.set_reason("已办结");
  const std::vector<Event> resolved = unwritten(DecideResolve(state_, resolve, Cst(2022, 2, 3)));
  ASSERT_EQ(plan().escalations.count(id), 0u);  // closed: the state keeps its seqs only

  const duban::v1::Escalation answer = plan().EscalationAfter(id, before, resolved, log_.Loader());
  EXPECT_EQ(answer.id(), id);
  EXPECT_EQ(answer.state(), duban::v1::RESOLVED);
  EXPECT_EQ(answer.measures(), "已部署整改");
  EXPECT_EQ(answer.resolution(), "已办结");
  EXPECT_EQ(answer.timeline_size(), 0) << "the acknowledgement is not in the log yet";
  // A missing event of a closed escalation is data loss, not "no such escalation".
  EXPECT_EQ(plan().FindEscalation(id, log_.Loader()).status().code(), absl::StatusCode::kDataLoss);

  // Once the group is written, the same answer with its timeline.
  for (const auto* events : {&acked, &resolved}) {
    for (const Event& e : *events) log_.Record(e);
  }
  const duban::v1::Escalation written = plan().EscalationAfter(id, before, resolved, log_.Loader());
  ASSERT_EQ(written.timeline_size(), 3);  // opened, acknowledged, resolved
  duban::v1::Escalation without = written;
  without.clear_timeline();
  EXPECT_EQ(without.SerializeAsString(), answer.SerializeAsString());
  EXPECT_EQ(without.SerializeAsString(), plan().FindEscalation(id, log_.Loader())->SerializeAsString());
}

// After a command the rules look only at what it touched: a report on task 3
// settles task 3's escalation, and the climbs that time alone has made due
// for tasks 1 and 2 wait for the tick.
TEST_F(RulesTest, ACommandReevaluatesOnlyWhatItTouched) {
  Tick(Cst(2022, 2, 1));  // overdue 2021 reports: tasks 1, 2, 3 open at 提醒
  ASSERT_NE(Open("overdue", 1, 2021), nullptr);
  ASSERT_NE(Open("overdue", 2, 2021), nullptr);
  ASSERT_NE(Open("overdue", 3, 2021), nullptr);
  const absl::Time later = Cst(2022, 2, 10);  // 催办 is due for all three
  auto report = DecideSubmitProgress(state_, testing::ProgressRequest(3, 2021, "hrss"));
  ASSERT_TRUE(report.ok());
  for (Event& e : *report) {
    e.set_seq(state_.seq() + 1);
    ASSERT_TRUE(state_.Apply(e).ok());
  }
  const std::vector<Event> derived = DeriveAfter(state_, later, *report);
  ASSERT_EQ(derived.size(), 1u);
  EXPECT_TRUE(derived[0].has_escalation_cleared());
  EXPECT_EQ(derived[0].escalation_cleared().escalation_id(), Open("overdue", 3, 2021)->id());
  EXPECT_EQ(derived[0].causation_seq(), report->back().seq());
  // The whole plan at the same time: the two climbs as well.
  int raised = 0;
  for (const Event& e : Evaluate(state_, "test-plan", later, 0)) raised += e.has_escalation_raised();
  EXPECT_EQ(raised, 2);
  // A change to the plan itself (here: its ruleset) re-evaluates all of it.
  duban::v1::Ruleset changed = rules_;
  changed.mutable_rules(2)->set_disabled(true);
  auto put = DecidePutRules(state_, changed, 1);
  ASSERT_TRUE(put.ok());
  for (Event& e : *put) {
    e.set_seq(state_.seq() + 1);
    ASSERT_TRUE(state_.Apply(e).ok());
  }
  raised = 0;
  for (const Event& e : DeriveAfter(state_, later, *put)) raised += e.has_escalation_raised();
  EXPECT_EQ(raised, 2);
}

TEST_F(RulesTest, AReportReevaluatesOnlyItsYearAResponsibilityChangeEveryYear) {
  Tick(Cst(2022, 2, 1));  // overdue 2021 reports open at 提醒
  const std::string task3_2021 = Open("overdue", 3, 2021)->id();
  const absl::Time later = Cst(2022, 2, 10);  // 催办 is due
  auto apply = [&](absl::StatusOr<std::vector<Event>> decided) {
    EXPECT_TRUE(decided.ok()) << decided.status();
    for (Event& e : *decided) {
      e.set_seq(state_.seq() + 1);
      EXPECT_TRUE(state_.Apply(e).ok());
    }
    return *decided;
  };
  // Task 3's 2022 report (its deadline is a year away): the 2021 escalation
  // of the same task is another year's business and waits for the tick.
  auto report = apply(DecideSubmitProgress(state_, testing::ProgressRequest(3, 2022, "hrss")));
  EXPECT_TRUE(DeriveAfter(state_, later, report).empty());
  // A change of task 3's responsibilities concerns every year of it: the
  // 2021 escalation climbs, task 2's does not.
  auto assigned = apply(DecideAssign(state_, testing::AssignRequest(3, "drc", duban::v1::SUPPORT)));
  std::vector<std::string> climbed;
  for (const Event& e : DeriveAfter(state_, later, assigned)) {
    if (e.has_escalation_raised()) climbed.push_back(e.escalation_raised().escalation_id());
  }
  EXPECT_THAT(climbed, ::testing::ElementsAre(task3_2021));
}

TEST_F(RulesTest, BindingIndicatorsEscalateFasterAndResolvedStaysClosed) {
  // Indicator 2 (>10.5, 约束性) below its floor.
  const uint64_t v = Value(2, 2021, 10.2, "drc");
  auto events = Evaluate(state_, "test-plan", Cst(2022, 1, 10), v);
  Commit(events);
  const duban::v1::Escalation* esc = nullptr;
  for (const auto& [id, e] : plan().escalations) esc = &*e;
  ASSERT_NE(esc, nullptr);
  EXPECT_EQ(esc->severity(), duban::v1::CRITICAL);
  EXPECT_EQ(esc->policy_id(), "binding");
  EXPECT_THAT(Recipients(events), ::testing::ElementsAre("agency:drc", "supervisor"));
  Tick(Cst(2022, 1, 13));
  EXPECT_EQ(plan().escalations.begin()->second->level(), duban::v1::URGING);
  // A revised value still below the floor is a repeat.
  Value(2, 2021, 10.3, "drc");
  Tick(Cst(2022, 1, 14));
  EXPECT_EQ(plan().escalations.begin()->second->count(), 2);
  // A supervisor resolves it: it stays closed while nothing changes.
  duban::v1::ResolveRequest resolve;
  resolve.set_plan_id("test-plan");
  resolve.set_escalation_id(plan().escalations.begin()->first);
  resolve.set_reason("统计口径调整，已说明");
  auto resolved = DecideResolve(state_, resolve, Cst(2022, 1, 15));
  ASSERT_TRUE(resolved.ok());
  Commit(*resolved);
  EXPECT_TRUE(plan().escalations.empty());
  ASSERT_EQ(plan().closed_escalations.size(), 1u);
  EXPECT_EQ(plan().FindEscalation(resolve.escalation_id(), log_.Loader())->state(),
            duban::v1::RESOLVED);
  EXPECT_TRUE(Tick(Cst(2022, 1, 20)).empty());
  // The resolution re-evaluates its subject (the indicator), though the state
  // no longer keeps the escalation: nothing reopens while nothing changes.
  EXPECT_TRUE(DeriveAfter(state_, Cst(2022, 1, 20), *resolved).empty());
  // A new value that is still off track opens a new one.
  Value(2, 2021, 10.1, "drc");
  Tick(Cst(2022, 1, 21));
  EXPECT_EQ(plan().escalations.size(), 1u);
  EXPECT_EQ(plan().EscalationIds().size(), 2u);
}

TEST_F(RulesTest, AtRiskReportsAndDeterminism) {
  const uint64_t r = Report(3, 2021, "hrss", duban::v1::BEHIND);
  auto a = Evaluate(state_, "test-plan", Cst(2021, 12, 1), r);
  auto b = Evaluate(state_, "test-plan", Cst(2021, 12, 1), r);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString());
  Commit(a);
  ASSERT_NE(Open("at-risk", 3, 2021), nullptr);
  EXPECT_THAT(Open("at-risk", 3, 2021)->summary(), HasSubstr("滞后"));
  const uint64_t fixed = Report(3, 2021, "hrss", duban::v1::ON_TRACK);
  Commit(Evaluate(state_, "test-plan", Cst(2021, 12, 2), fixed));
  EXPECT_EQ(Open("at-risk", 3, 2021), nullptr);
}

TEST(ShippedRulesTest, TheQinghaiRulesetValidates) {
  const char* src = std::getenv("DUBAN_SOURCE_DIR");
  const std::string dir = std::string(src ? src : ".") + "/plans/qinghai-employment-2021/";
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  duban::v1::PlanDocument doc;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(read(dir + "plan.textproto"), &doc));
  duban::v1::Ruleset rules;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(read(dir + "rules.textproto"), &rules));
  State state;
  auto imported = DecideImport(state, doc, {});
  ASSERT_TRUE(imported.ok());
  uint64_t seq = 0;
  for (Event e : imported->events) {
    e.set_seq(++seq);
    ASSERT_TRUE(state.Apply(e).ok());
  }
  EXPECT_TRUE(ValidateRuleset(rules, *state.FindPlan(doc.plan_id())).ok());
  EXPECT_EQ(rules.rules_size(), 5);
}

}  // namespace
}  // namespace duban::engine
