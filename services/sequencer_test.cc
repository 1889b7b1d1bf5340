#include "services/sequencer.h"

#include <atomic>
#include <optional>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engine/commands.h"
#include "engine/test_plan.h"
#include "services/assignment_service.h"
#include "storage/hash.h"
#include "storage/testing/temp_dir.h"

namespace duban::services {
namespace {

using ::testing::HasSubstr;

class SequencerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    Sequencer::Command import = ImportPlanCommand(engine::testing::TestPlan(), {});
    import.principal = "system";
    ASSERT_TRUE(seq_->Execute(std::move(import)).ok());
  }
  void TearDown() override {
    seq_.reset();
    log_.reset();
  }
  void Open() {
    seq_.reset();
    log_.reset();
    auto log = storage::EventLog::Open({.path = dir_.path() + "/log"});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    auto seq = Sequencer::Start(log_.get(), &clock_);
    ASSERT_TRUE(seq.ok()) << seq.status();
    seq_ = std::move(*seq);
  }

  // An AssignResponsibility command as the service builds it.
  static Sequencer::Command Assign(const std::string& request_id, int task, const std::string& agency,
                                   duban::v1::Role role, const std::string& reason = "测试") {
    duban::v1::AssignResponsibilityRequest req;
    req.set_request_id(request_id);
    req.set_plan_id("test-plan");
    req.set_task_number(task);
    req.set_agency_id(agency);
    req.set_role(role);
    req.set_reason(reason);
    Sequencer::Command cmd;
    cmd.method = "AssignResponsibility";
    cmd.principal = "admin";
    cmd.request_id = request_id;
    cmd.request_bytes = req.SerializeAsString();
    cmd.decide = [req](const engine::State& s, absl::Time) { return engine::DecideAssign(s, req); };
    cmd.respond = [task](const engine::State& s, const Sequencer::Events& events) {
      return absl::StrCat(s.FindPlan("test-plan")->FindTask(task)->responsibilities_size(), "@",
                          events.empty() ? 0 : events.back().seq());
    };
    return cmd;
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{absl::FromCivil(absl::CivilSecond(2022, 1, 1, 0, 0, 0), absl::UTCTimeZone())};
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<Sequencer> seq_;
};

TEST_F(SequencerTest, StampsEventsAndAnswersAfterTheWrite) {
  const uint64_t head = log_->head().seq;
  auto answer = seq_->Execute(Assign("r1", 3, "drc", duban::v1::SUPPORT));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(*answer, absl::StrCat("2@", head + 1));
  EXPECT_EQ(log_->head().seq, head + 1);
  EXPECT_EQ(seq_->snapshot()->seq(), head + 1);
  bool seen = false;
  ASSERT_TRUE(log_->Read(head + 1, 0, [&](const duban::v1::Event& e) {
    seen = true;
    EXPECT_EQ(e.principal(), "admin");
    EXPECT_EQ(e.request_id(), "r1");
    EXPECT_EQ(e.recorded_at_micros(), absl::ToUnixMicros(clock_.Now()));
    EXPECT_TRUE(e.has_responsibility_assigned());
    return true;
  }).ok());
  EXPECT_TRUE(seen);
}

TEST_F(SequencerTest, RetryReturnsTheOriginalAnswerAndWritesNothing) {
  auto first = seq_->Execute(Assign("same-id", 3, "drc", duban::v1::SUPPORT));
  ASSERT_TRUE(first.ok());
  const uint64_t head = log_->head().seq;
  auto retry = seq_->Execute(Assign("same-id", 3, "drc", duban::v1::SUPPORT));
  ASSERT_TRUE(retry.ok()) << retry.status();  // not ALREADY_EXISTS: it is the same request
  EXPECT_EQ(*retry, *first);
  EXPECT_EQ(log_->head().seq, head);
  auto other = seq_->Execute(Assign("same-id", 3, "gov-a", duban::v1::SUPPORT));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(other.status().message(), HasSubstr("request_id"));
  EXPECT_EQ(log_->head().seq, head);
}

TEST_F(SequencerTest, RejectedCommandWritesNothing) {
  const uint64_t head = log_->head().seq;
  auto bad = seq_->Execute(Assign("r2", 3, "hrss", duban::v1::SUPPORT));  // last lead
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log_->head().seq, head);
  // The same request id is free for a corrected request: nothing was recorded.
  EXPECT_TRUE(seq_->Execute(Assign("r2", 3, "drc", duban::v1::SUPPORT)).ok());
}

TEST_F(SequencerTest, ConcurrentCommandsShareOneSync) {
  const auto before = seq_->stats();
  // Hold the writer inside the first command until all others are queued.
  absl::Notification release;
  Sequencer::Command blocker = Assign("blocker", 3, "drc", duban::v1::SUPPORT);
  auto inner = blocker.decide;
  absl::Notification entered;
  blocker.decide = [&entered, &release, inner](const engine::State& s, absl::Time t) {
    entered.Notify();
    release.WaitForNotification();
    return inner(s, t);
  };
  std::atomic<int> ok{0};
  absl::Notification blocker_done;
  blocker.done = [&](absl::StatusOr<std::string> r) {
    if (r.ok()) ++ok;
    blocker_done.Notify();
  };
  seq_->Submit(std::move(blocker));
  entered.WaitForNotification();  // the writer is now held inside the blocker
  constexpr int kWriters = 40;
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      // Two agencies' roles on task 1 flip back and forth: most commands change something.
      auto r = seq_->Execute(Assign(absl::StrCat("w", i), 1, i % 2 ? "gov-a" : "gov-b",
                                    i % 4 < 2 ? duban::v1::SHARED : duban::v1::SUPPORT,
                                    absl::StrCat("第", i, "次")));
      if (r.ok() || r.status().code() == absl::StatusCode::kAlreadyExists) ++answered;
    });
  }
  // Wait until every writer is queued behind the held one, then let it go.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seq_->queued() < kWriters && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(seq_->queued(), static_cast<size_t>(kWriters));
  release.Notify();
  for (auto& t : threads) t.join();
  blocker_done.WaitForNotification();
  EXPECT_EQ(answered.load(), kWriters);
  const auto after = seq_->stats();
  const uint64_t commands = after.commands - before.commands;
  const uint64_t batches = after.batches - before.batches;
  EXPECT_GE(commands, 2u);
  EXPECT_LT(batches, commands) << "every command paid its own fsync";
  EXPECT_LE(batches, 2u) << "the held command's batch, then one for all queued behind it";
  EXPECT_TRUE(log_->Verify().ok());
}

TEST(SequencerStats, GroupSizeBuckets) {
  EXPECT_EQ(Sequencer::GroupSizeBucket(1), 0u);
  EXPECT_EQ(Sequencer::GroupSizeBucket(2), 1u);
  EXPECT_EQ(Sequencer::GroupSizeBucket(3), 1u);
  EXPECT_EQ(Sequencer::GroupSizeBucket(4), 2u);
  EXPECT_EQ(Sequencer::GroupSizeBucket(7), 2u);
  EXPECT_EQ(Sequencer::GroupSizeBucket(20), 4u);
  EXPECT_EQ(Sequencer::GroupSizeBucket(511), 8u);
  EXPECT_EQ(Sequencer::GroupSizeBucket(512), 9u);
}

// A command that always writes one event: a supervisor credential of its own.
Sequencer::Command IssueSupervisor(int i) {
  Sequencer::Command cmd;
  cmd.method = "IssueCredential";
  cmd.principal = "admin";
  cmd.request_id = absl::StrCat("issue-", i);
  cmd.request_bytes = cmd.request_id;
  const std::string hash = storage::ToHex(storage::Sha256(absl::StrCat("token ", i)));
  cmd.decide = [i, hash](const engine::State& s, absl::Time) {
    return engine::DecideIssueCredential(s, absl::StrCat("cred-", i), "supervisor", hash,
                                         "stats test");
  };
  cmd.respond = [](const engine::State&, const Sequencer::Events&) { return std::string(); };
  return cmd;
}

TEST_F(SequencerTest, StatsCountGroupsCommandsEventsAndGroupSizes) {
  const Sequencer::Stats before = seq_->stats();
  // One command alone: a group of 1.
  ASSERT_TRUE(seq_->Execute(IssueSupervisor(0)).ok());
  // Then hold the writer inside a command while 20 more queue behind it.
  absl::Notification entered, release;
  Sequencer::Command blocker = IssueSupervisor(1);
  auto inner = blocker.decide;
  blocker.decide = [&entered, &release, inner](const engine::State& s, absl::Time t) {
    entered.Notify();
    release.WaitForNotification();
    return inner(s, t);
  };
  absl::Notification blocker_done;
  blocker.done = [&](absl::StatusOr<std::string> r) {
    EXPECT_TRUE(r.ok()) << r.status();
    blocker_done.Notify();
  };
  seq_->Submit(std::move(blocker));
  entered.WaitForNotification();
  constexpr int kQueued = 20;
  std::atomic<int> ok{0};
  absl::Notification all_done;
  for (int i = 0; i < kQueued; ++i) {
    Sequencer::Command cmd = IssueSupervisor(2 + i);
    cmd.done = [&](absl::StatusOr<std::string> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      if (++ok == kQueued) all_done.Notify();
    };
    seq_->Submit(std::move(cmd));
  }
  EXPECT_EQ(seq_->queued(), static_cast<size_t>(kQueued));
  release.Notify();
  blocker_done.WaitForNotification();
  all_done.WaitForNotification();

  const Sequencer::Stats after = seq_->stats();
  EXPECT_EQ(after.batches - before.batches, 3u);  // 1 alone, the blocker alone, 20 together
  EXPECT_EQ(after.commands - before.commands, 22u);
  EXPECT_EQ(after.events - before.events, 22u);
  EXPECT_EQ(after.group_sizes[0] - before.group_sizes[0], 2u);
  EXPECT_EQ(after.group_sizes[Sequencer::GroupSizeBucket(kQueued)] -
                before.group_sizes[Sequencer::GroupSizeBucket(kQueued)],
            1u);
  EXPECT_EQ(after.max_group, static_cast<uint64_t>(kQueued));
  uint64_t groups_in_histogram = 0;
  for (uint64_t n : after.group_sizes) groups_in_histogram += n;
  EXPECT_EQ(groups_in_histogram, after.batches);
  // A rejected command writes nothing and counts nowhere.
  Sequencer::Command rejected = IssueSupervisor(99);
  rejected.decide = [](const engine::State&, absl::Time) -> absl::StatusOr<Sequencer::Events> {
    return absl::InvalidArgumentError("no");
  };
  EXPECT_FALSE(seq_->Execute(std::move(rejected)).ok());
  EXPECT_EQ(seq_->stats().batches, after.batches);
  EXPECT_EQ(seq_->stats().commands, after.commands);
}

TEST_F(SequencerTest, ReopenRestoresTheSameState) {
  ASSERT_TRUE(seq_->Execute(Assign("a", 3, "drc", duban::v1::SUPPORT)).ok());
  ASSERT_TRUE(seq_->Execute(Assign("b", 2, "gov-b", duban::v1::SUPPORT)).ok());
  auto before = seq_->snapshot();
  const auto head = log_->head();
  Open();
  auto after = seq_->snapshot();
  EXPECT_EQ(after->seq(), before->seq());
  EXPECT_EQ(log_->head().hash, head.hash);
  const auto* p1 = before->FindPlan("test-plan");
  const auto* p2 = after->FindPlan("test-plan");
  ASSERT_NE(p2, nullptr);
  for (const auto& [n, t] : p1->tasks) {
    EXPECT_EQ(t.SerializeAsString(), p2->tasks.at(n).SerializeAsString()) << "task " << n;
  }
  // A retry after the restart still gets the original answer.
  const uint64_t seq = log_->head().seq;
  EXPECT_TRUE(seq_->Execute(Assign("a", 3, "drc", duban::v1::SUPPORT)).ok());
  EXPECT_EQ(log_->head().seq, seq);
}

TEST_F(SequencerTest, RequestsThatChangeNothingKeepTheirIdButWriteNothing) {
  // Importing the same document again changes nothing.
  auto import = [](std::string text) {
    duban::v1::PlanDocument doc = engine::testing::TestPlan();
    doc.mutable_tasks(0)->set_text(std::move(text));
    Sequencer::Command cmd = ImportPlanCommand(doc, {});
    cmd.method = "ImportPlan";
    cmd.principal = "admin";
    cmd.request_id = "imp-1";
    cmd.request_bytes = doc.SerializeAsString();
    return cmd;
  };
  const std::string same = engine::testing::TestPlan().tasks(0).text();
  const uint64_t head = log_->head().seq;
  auto first = seq_->Execute(import(same));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(log_->head().seq, head);
  auto retry = seq_->Execute(import(same));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(*retry, *first);
  auto changed = seq_->Execute(import("改过的任务一。"));
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(log_->head().seq, head);
}

// A log whose appends fail once told to: the disk is gone.
class BreakableLog : public storage::EventLog {
 public:
  explicit BreakableLog(storage::EventLog* inner) : inner_(inner) {}
  Head head() const override { return inner_->head(); }
  absl::Status Append(std::vector<CommandWrite>* writes) override {
    if (broken) return absl::InternalError("disk on fire");
    return inner_->Append(writes);
  }
  absl::StatusOr<std::optional<duban::v1::RequestRecord>> LookupRequest(
      const std::string& principal, const std::string& request_id) const override {
    return inner_->LookupRequest(principal, request_id);
  }
  absl::Status ScanStored(uint64_t from, uint64_t to, const RawEventFn& fn) const override {
    return inner_->ScanStored(from, to, fn);
  }
  absl::StatusOr<std::string> StoredEvent(uint64_t seq) const override {
    return inner_->StoredEvent(seq);
  }
  absl::StatusOr<std::string> EventHash(uint64_t seq) const override {
    return inner_->EventHash(seq);
  }
  absl::Status Verify() const override { return inner_->Verify(); }
  absl::Status ScanOutbox(const std::function<bool(const std::string&, const std::string&)>& fn)
      const override {
    return inner_->ScanOutbox(fn);
  }
  absl::Status DeleteOutbox(const std::string& key) override { return inner_->DeleteOutbox(key); }
  absl::Status PutSnapshot(uint64_t seq, const std::string& bytes) override {
    return inner_->PutSnapshot(seq, bytes);
  }
  absl::StatusOr<std::optional<Snapshot>> LatestSnapshot(uint64_t at_most) const override {
    return inner_->LatestSnapshot(at_most);
  }
  absl::StatusOr<std::vector<uint64_t>> SnapshotSeqs() const override {
    return inner_->SnapshotSeqs();
  }
  absl::Status PruneSnapshots(size_t keep) override { return inner_->PruneSnapshots(keep); }
  std::atomic<bool> broken{false};

 private:
  storage::EventLog* inner_;
};

TEST_F(SequencerTest, AFailedWriteRefusesEverythingAfter) {
  seq_.reset();
  BreakableLog breakable(log_.get());
  absl::Status reported;
  auto started = Sequencer::Start(&breakable, &clock_,
                                  [&](const absl::Status& why) { reported = why; });
  ASSERT_TRUE(started.ok());
  seq_ = std::move(*started);
  ASSERT_TRUE(seq_->Execute(Assign("ok", 3, "drc", duban::v1::SUPPORT)).ok());
  const uint64_t head = log_->head().seq;
  const uint64_t state_seq = seq_->snapshot()->seq();
  breakable.broken = true;
  auto failed = seq_->Execute(Assign("f1", 2, "gov-a", duban::v1::SUPPORT));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("disk on fire"));
  EXPECT_EQ(reported.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(seq_->snapshot()->seq(), state_seq);  // the state did not move
  breakable.broken = false;  // even if the disk comes back: restart first
  EXPECT_EQ(seq_->Execute(Assign("f2", 2, "gov-b", duban::v1::SUPPORT)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(log_->head().seq, head);
  seq_.reset();
}

TEST_F(SequencerTest, ACommandWhoseEventsDoNotApplyLeavesNoTrace) {
  // Hold the writer so that the three commands below form one group.
  absl::Notification entered, release;
  Sequencer::Command blocker = Assign("hold", 3, "gov-a", duban::v1::SUPPORT);
  auto inner = blocker.decide;
  blocker.decide = [&, inner](const engine::State& s, absl::Time t) {
    entered.Notify();
    release.WaitForNotification();
    return inner(s, t);
  };
  std::vector<absl::StatusOr<std::string>> answers(4, absl::UnknownError("unanswered"));
  absl::Notification answered[4];
  auto on_done = [&](int i) {
    return [&, i](absl::StatusOr<std::string> r) {
      answers[i] = std::move(r);
      answered[i].Notify();
    };
  };
  blocker.done = on_done(0);
  seq_->Submit(std::move(blocker));
  entered.WaitForNotification();
  Sequencer::Command first = Assign("g1", 2, "gov-a", duban::v1::SUPPORT);
  first.done = on_done(1);
  // A buggy command: it decides an event that does not fit the state.
  Sequencer::Command broken = Assign("g2", 2, "gov-b", duban::v1::SUPPORT);
  broken.decide = [](const engine::State&, absl::Time) -> absl::StatusOr<Sequencer::Events> {
    duban::v1::Event e;
    e.set_plan_id("test-plan");
    e.mutable_responsibility_revoked()->set_task_number(3);
    e.mutable_responsibility_revoked()->set_agency_id("drc");  // holds no role on task 3
    return Sequencer::Events{e};
  };
  broken.done = on_done(2);
  Sequencer::Command third = Assign("g3", 3, "drc", duban::v1::SUPPORT);
  third.done = on_done(3);
  seq_->Submit(std::move(first));
  seq_->Submit(std::move(broken));
  seq_->Submit(std::move(third));
  release.Notify();
  for (auto& a : answered) a.WaitForNotification();
  EXPECT_TRUE(answers[0].ok());
  EXPECT_TRUE(answers[1].ok()) << answers[1].status();
  EXPECT_EQ(answers[2].status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(answers[3].ok()) << answers[3].status();
  auto state = seq_->snapshot();
  const auto* task2 = state->FindPlan("test-plan")->FindTask(2);
  const auto* task3 = state->FindPlan("test-plan")->FindTask(3);
  EXPECT_NE(engine::FindResponsibility(*task2, "gov-a"), nullptr);
  EXPECT_EQ(engine::FindResponsibility(*task2, "gov-b"), nullptr);
  EXPECT_NE(engine::FindResponsibility(*task3, "drc"), nullptr);
  EXPECT_NE(engine::FindResponsibility(*task3, "gov-a"), nullptr);
  EXPECT_EQ(state->seq(), log_->head().seq);
  EXPECT_TRUE(log_->Verify().ok());
  // The same state comes back from the log.
  const std::string task3_bytes = task3->SerializeAsString();
  Open();
  EXPECT_EQ(seq_->snapshot()->FindPlan("test-plan")->FindTask(3)->SerializeAsString(), task3_bytes);
}

TEST_F(SequencerTest, ReadersKeepTheirSnapshot) {
  auto old = seq_->snapshot();
  ASSERT_TRUE(seq_->Execute(Assign("c", 3, "drc", duban::v1::SUPPORT)).ok());
  EXPECT_EQ(old->FindPlan("test-plan")->FindTask(3)->responsibilities_size(), 1);
  EXPECT_EQ(seq_->snapshot()->FindPlan("test-plan")->FindTask(3)->responsibilities_size(), 2);
}

}  // namespace
}  // namespace duban::services
