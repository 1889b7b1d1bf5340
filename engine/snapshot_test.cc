#include "engine/snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/reporting.h"
#include "engine/rules.h"
#include "engine/test_plan.h"
#include "duban/v1/snapshot.pb.h"

namespace duban::engine {
namespace {

using duban::v1::Event;
using ::testing::HasSubstr;

using testing::Cst;

// A history that touches every part of the state: a plan, rules, credentials
// (one revoked), reports and revisions, indicator values, escalations that
// open, climb, are acknowledged, resolved and cleared, notices, a webhook
// added and removed, a simulated clock and a checkpoint.
std::vector<Event> History() {
  State s;
  std::vector<Event> out;
  auto commit = [&](std::vector<Event> events, absl::Time now) {
    for (Event& e : events) {
      e.set_seq(s.seq() + 1);
      e.set_recorded_at_micros(absl::ToUnixMicros(now));
      e.set_principal("admin");
      EXPECT_TRUE(s.Apply(e).ok()) << e.DebugString();
      out.push_back(e);
    }
  };
  auto must = [](auto decided) {
    EXPECT_TRUE(decided.ok()) << decided.status();
    return decided.ok() ? *decided : std::vector<Event>{};
  };
  duban::v1::PlanDocument doc = testing::TestPlan();
  doc.mutable_indicators(0)->add_responsible_agency_ids("hrss");
  doc.mutable_indicators(1)->add_responsible_agency_ids("drc");
  const absl::Time start = Cst(2022, 1, 5);
  auto imported = DecideImport(s, doc, {});
  EXPECT_TRUE(imported.ok());
  commit(imported->events, start);
  commit(must(DecidePutRules(s, testing::TestRules(), 0)), start);
  commit(must(DecideIssueCredential(s, "cred-1", "agency:hrss", "aa11", "hrss", "test-plan")), start);
  commit(must(DecideIssueCredential(s, "cred-2", "agency:drc", "bb22", "drc", "test-plan")), start);
  Event hook;
  hook.mutable_webhook_added()->mutable_webhook()->set_id("hook-1");
  hook.mutable_webhook_added()->mutable_webhook()->set_url("http://127.0.0.1:9/");
  hook.mutable_webhook_added()->mutable_webhook()->add_recipients("supervisors");
  commit({hook}, start);
  commit(must(DecideSubmitProgress(s, testing::ProgressRequest(1, 2021, "drc"))), start);
  commit(must(DecideSubmitProgress(s, testing::ProgressRequest(3, 2021, "hrss", duban::v1::AT_RISK))),
         start);
  commit(must(DecideSubmitIndicatorValue(s, testing::ValueRequest(2, 2021, 9.0, "drc"))), start);
  for (int day = 1; day <= 60; day += 7) {
    const absl::Time now = Cst(2022, 2, day > 28 ? 28 : day) + absl::Hours(24 * (day > 28 ? day - 28 : 0));
    Event clock;
    clock.mutable_clock_advanced()->set_now_micros(absl::ToUnixMicros(now));
    commit({clock}, now);
    commit(EvaluateAll(s, now, 0), now);
    if (day == 8) {
      // Acknowledge the first open escalation, resolve the second.
      std::vector<std::string> open;
      for (const auto& [id, e] : s.FindPlan("test-plan")->escalations) {
        if (e->state() == duban::v1::OPEN) open.push_back(id);
      }
      EXPECT_GE(open.size(), 2u);
      if (open.size() >= 2) {
        duban::v1::AcknowledgeRequest ack;
        ack.set_plan_id("test-plan");
        ack.set_escalation_id(open[0]);
        ack.set_measures("整改");
        ack.set_due_micros(absl::ToUnixMicros(now + absl::Hours(24 * 10)));
        commit(must(DecideAcknowledge(s, ack, now)), now);
        duban::v1::ResolveRequest resolve;
        resolve.set_plan_id("test-plan");
        resolve.set_escalation_id(open[1]);
        resolve.set_reason("已核实");
        commit(must(DecideResolve(s, resolve, now)), now);
      }
    }
    if (day == 43) {  // stays open to the end
      commit(must(DecideSubmitProgress(s, testing::ProgressRequest(1, 2022, "drc", duban::v1::AT_RISK))),
             now);
    }
    if (day == 22) {
      commit(must(DecideSubmitProgress(s, testing::ProgressRequest(2, 2021, "hrss"))), now);
      commit(must(DecideSubmitProgress(s, testing::ProgressRequest(3, 2021, "hrss"))), now);
      Event checkpoint;
      checkpoint.mutable_checkpoint_made()->set_log_id("duban-test");
      checkpoint.mutable_checkpoint_made()->set_tree_size(s.seq());
      checkpoint.mutable_checkpoint_made()->set_root_hash(std::string(32, 'r'));
      commit({checkpoint}, now);
      Event revoke;
      revoke.mutable_credential_revoked()->set_credential_id("cred-2");
      commit({revoke}, now);
      Event removed;
      removed.mutable_webhook_removed()->set_webhook_id("hook-1");
      commit({removed}, now);
    }
  }
  return out;
}

std::string HashAt(uint64_t seq) { return absl::StrCat("hash-of-", seq); }

TEST(SnapshotTest, TheHistoryCoversEscalationsAndNotices) {
  State s;
  for (const Event& e : History()) ASSERT_TRUE(s.Apply(e).ok());
  const PlanState* plan = s.FindPlan("test-plan");
  ASSERT_NE(plan, nullptr);
  EXPECT_GE(plan->escalations.size() + plan->closed_escalations.size(), 3u);
  EXPECT_FALSE(plan->closed_escalations.empty());
  EXPECT_FALSE(plan->open_escalations.empty());
  EXPECT_FALSE(plan->resolved_facts.empty());
  EXPECT_GT(s.latest_checkpoint_seq(), 0u);
  EXPECT_GT(s.simulated_now_micros(), 0);
}

// Snapshot after any prefix, decode, apply the rest: the same state as
// replaying everything (compared through the deterministic encoding, which
// writes every field).
TEST(SnapshotTest, EverySplitPointRebuildsTheSameState) {
  const std::vector<Event> events = History();
  State full;
  for (const Event& e : events) ASSERT_TRUE(full.Apply(e).ok());
  const std::string want = EncodeSnapshot(full, "end");
  for (size_t k = 0; k <= events.size(); ++k) {
    State prefix;
    for (size_t i = 0; i < k; ++i) ASSERT_TRUE(prefix.Apply(events[i]).ok());
    const std::string bytes = EncodeSnapshot(prefix, HashAt(k));
    auto decoded = DecodeSnapshot(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->event_hash, HashAt(k));
    ASSERT_EQ(decoded->state.seq(), k);
    EXPECT_EQ(EncodeSnapshot(decoded->state, HashAt(k)), bytes) << "round trip at " << k;
    for (size_t i = k; i < events.size(); ++i) {
      ASSERT_TRUE(decoded->state.Apply(events[i]).ok()) << "seq " << events[i].seq() << " after " << k;
    }
    ASSERT_EQ(EncodeSnapshot(decoded->state, "end"), want) << "snapshot after seq " << k;
  }
}

TEST(SnapshotTest, DecodedStateAnswersLikeTheOriginal) {
  State full;
  for (const Event& e : History()) ASSERT_TRUE(full.Apply(e).ok());
  auto decoded = DecodeSnapshot(EncodeSnapshot(full, "h"));
  ASSERT_TRUE(decoded.ok());
  const State& d = decoded->state;
  ASSERT_NE(d.FindCredentialByHash("aa11"), nullptr);
  EXPECT_EQ(d.FindCredentialByHash("aa11")->principal, "agency:hrss");
  EXPECT_EQ(d.FindCredentialByHash("bb22"), nullptr);  // revoked
  ASSERT_NE(d.FindCredential("cred-2"), nullptr);
  EXPECT_TRUE(d.FindCredential("cred-2")->revoked);
  EXPECT_TRUE(d.webhooks().at("hook-1").removed());
  const PlanState* a = full.FindPlan("test-plan");
  const PlanState* b = d.FindPlan("test-plan");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->Summary().SerializeAsString(), b->Summary().SerializeAsString());
  EXPECT_EQ(b->LatestReport(3, 2021, "hrss")->revision(), 2u);
  EXPECT_EQ(b->document->SerializeAsString(), a->document->SerializeAsString());
  EXPECT_EQ(d.PlansWithRules(), full.PlansWithRules());
  // The rules see the same facts: the same evaluation at a later time.
  const absl::Time later = Cst(2023, 3, 1);
  std::vector<Event> from_full = EvaluateAll(full, later, 0);
  std::vector<Event> from_decoded = EvaluateAll(d, later, 0);
  ASSERT_EQ(from_full.size(), from_decoded.size());
  ASSERT_FALSE(from_full.empty());
  for (size_t i = 0; i < from_full.size(); ++i) {
    EXPECT_EQ(from_full[i].SerializeAsString(), from_decoded[i].SerializeAsString());
  }
}

TEST(SnapshotTest, OtherFormatsAndGarbageAreRefused) {
  EXPECT_EQ(DecodeSnapshot("\xff\xff\xff").status().code(), absl::StatusCode::kDataLoss);
  duban::v1::StateSnapshot old;
  old.set_format(kSnapshotFormat + 1);
  old.set_seq(7);
  auto decoded = DecodeSnapshot(old.SerializeAsString());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("seq 7"));
}

}  // namespace
}  // namespace duban::engine
