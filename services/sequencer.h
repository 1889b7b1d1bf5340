// The single writer: every command goes through one thread that decides it
// against the current state, appends its events to the log (one synced
// WriteBatch for all commands waiting: group commit), applies them, publishes
// the new state, and only then answers.
//
// Thread safety: Submit, Execute and snapshot may be called from any thread.
// `done` callbacks run on the writer thread and must not block.
//
//   Sequencer::Command cmd;
//   cmd.method = "AssignResponsibility";
//   cmd.decide = [req](const engine::State& s, absl::Time) { return DecideAssign(s, req); };
//   cmd.respond = [](const engine::State& s, const std::vector<Event>&) { return ...; };
//   cmd.done = [reactor, resp](absl::StatusOr<std::string> r) { ... reactor->Finish(...); };
//   sequencer->Submit(std::move(cmd));
#ifndef DUBAN_SERVICES_SEQUENCER_H_
#define DUBAN_SERVICES_SEQUENCER_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "duban/v1/event.pb.h"
#include "engine/state.h"
#include "services/clock.h"
#include "storage/event_log.h"

namespace duban::services {

class Sequencer {
 public:
  using Events = std::vector<duban::v1::Event>;
  struct Command {
    std::string method;       // names the RPC; part of the request fingerprint
    std::string principal;    // who asks; stamped on every event
    std::string request_id;   // empty for internal commands (no idempotency)
    std::string request_bytes;  // the serialized request, for the fingerprint
    // SHA-256 of method and request_bytes; Submit sets it on the caller's
    // thread (not the writer's) when there is a request_id.
    std::string fingerprint;
    // Decides against the state as of all earlier commands; events carry
    // payload and plan_id only.
    std::function<absl::StatusOr<Events>(const engine::State&, absl::Time now)> decide;
    // Builds the serialized answer from the state after the events.
    std::function<std::string(const engine::State&, const Events&)> respond;
    // Called exactly once, after the events are durable (or on rejection).
    std::function<void(absl::StatusOr<std::string>)> done;
    // Whether Hooks::derive runs after this command's events (not for a
    // command that is itself an evaluation).
    bool derive = true;
  };

  // What the server adds around every command: derived events (the rules),
  // outbox entries (webhook deliveries), and what to do once a batch is
  // durable (wake watchers, hand deliveries over). All run on the writer.
  struct Hooks {
    // Events derived after a command's own events, decided against the state
    // with them applied; their causation_seq says what caused them.
    std::function<Events(const engine::State& state, absl::Time now, const Events& cause)> derive;
    // Outbox entries for events about to be written (their seqs set).
    std::function<std::vector<storage::EventLog::OutboxEntry>(const engine::State& state,
                                                               const Events& events)>
        outbox;
    // After a batch is durable and its state published. Must not block.
    std::function<void(const engine::State& state, const Events& events,
                       const std::vector<storage::EventLog::OutboxEntry>& outbox)>
        committed;
  };

  // Group-commit counters since Start. A group is one synced WriteBatch.
  static constexpr size_t kMaxGroup = 512;  // commands taken per round at most
  // Histogram buckets of commands per group: [1], [2,3], [4,7], ... [256,511], [512].
  static constexpr size_t kGroupSizeBuckets = 10;
  static size_t GroupSizeBucket(uint64_t commands);  // commands >= 1
  struct Stats {
    uint64_t commands = 0;  // commands that wrote events
    uint64_t batches = 0;   // synced WriteBatches (fsyncs)
    uint64_t events = 0;    // events written (commands' own and derived)
    uint64_t max_group = 0;  // the most commands one batch held
    std::array<uint64_t, kGroupSizeBuckets> group_sizes{};  // batches by commands held
  };

  // Loads the state (the newest usable snapshot in `log` and the events after
  // it; see snapshots.h) and starts the writer thread.
  // `log` and `clock` must outlive the sequencer. If a write to the log ever
  // fails, every later command is answered UNAVAILABLE (the log cannot know
  // whether the failed batch reached the disk: a restart finds out) and
  // `on_failure` is called once, on the writer thread.
  static absl::StatusOr<std::unique_ptr<Sequencer>> Start(
      storage::EventLog* log, Clock* clock,
      std::function<void(const absl::Status&)> on_failure = nullptr, Hooks hooks = {});

  // Finishes every command already submitted, then stops the writer.
  ~Sequencer();

  void Submit(Command command);
  // Submits and waits for the answer (for start-up work and tests).
  absl::StatusOr<std::string> Execute(Command command);

  // The latest published state; never waits for the writer.
  std::shared_ptr<const engine::State> snapshot() const;

  Stats stats() const;
  // Commands waiting for the writer.
  size_t queued() const;

  // How the start-up state was built: the snapshot's seq (0: none), the
  // events replayed after it, and snapshots passed over (with why).
  uint64_t loaded_from_snapshot() const { return loaded_from_snapshot_; }
  uint64_t replayed_at_start() const { return replayed_at_start_; }
  const std::vector<std::string>& skipped_snapshots() const { return skipped_snapshots_; }

 private:
  Sequencer(storage::EventLog* log, Clock* clock, engine::State state);
  void Run();
  void ProcessGroup(std::deque<Command>& group, std::deque<Command>& deferred);
  // Answers a command whose request id was seen before, if it was.
  bool AnswerRepeat(Command& cmd, const std::string& fingerprint);
  void RememberNoop(const Command& cmd, const std::string& fingerprint,
                    const std::string& response);

  // Requests that changed nothing are not written (an unchanged re-import
  // writes nothing), so their ids are remembered here, in memory only:
  // a retry gets the same answer, a different request with the id is refused.
  struct NoopRecord {
    std::string fingerprint;
    std::string response;
  };
  static constexpr size_t kMaxNoopRecords = 100000;
  std::map<std::pair<std::string, std::string>, NoopRecord> noop_records_;  // writer only
  std::deque<std::pair<std::string, std::string>> noop_order_;             // writer only
  std::function<void(const absl::Status&)> on_failure_;
  Hooks hooks_;
  uint64_t loaded_from_snapshot_ = 0;
  uint64_t replayed_at_start_ = 0;
  std::vector<std::string> skipped_snapshots_;

  storage::EventLog* const log_;
  Clock* const clock_;

  mutable absl::Mutex queue_mu_;
  std::deque<Command> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(queue_mu_);  // set once a log write failed

  mutable absl::Mutex snapshot_mu_;  // held only to copy or swap the pointer
  std::shared_ptr<const engine::State> snapshot_ ABSL_GUARDED_BY(snapshot_mu_);
  Stats stats_ ABSL_GUARDED_BY(snapshot_mu_);

  std::thread writer_;

  // Answers of durable commands are handed to their own threads, so sending
  // the replies (gRPC work, socket writes: ~12 us each) does not hold up the
  // writer's next group. A group's answers are split between two lanes (each
  // in order), so the last of a group of 30 waits for 15 replies, not 30:
  // +8% SubmitProgress calls/s at 64 in flight in alternating runs.
  using Answer = std::pair<std::function<void(absl::StatusOr<std::string>)>, std::string>;
  void HandOver(std::vector<Answer> answers);
  void RunAnswers(int lane);
  static constexpr int kLanes = 2;
  struct Lane {
    absl::Mutex mu;
    std::deque<Answer> answers ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::thread thread;
  };
  std::array<Lane, kLanes> lanes_;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_SEQUENCER_H_
