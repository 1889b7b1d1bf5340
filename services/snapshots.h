// State snapshots on the service side: loading the state from the newest
// usable snapshot plus the log's tail, and a background writer that keeps a
// snapshot every N events so a restart (and GetStateAt) replays at most about
// N events, whatever the log's length.
//
//   ASSIGN_OR_RETURN(LoadedState loaded, LoadState(*log, /*at_most=*/0));
//   Snapshotter snapshotter(log, {.every_events = 100000, .keep = 8});
//   snapshotter.Offer(published_state);  // after each commit; cheap
#ifndef DUBAN_SERVICES_SNAPSHOTS_H_
#define DUBAN_SERVICES_SNAPSHOTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/state.h"
#include "storage/event_log.h"

namespace duban::services {

struct LoadedState {
  engine::State state;
  uint64_t snapshot_seq = 0;     // the snapshot it started from (0: replayed from seq 1)
  uint64_t replayed_events = 0;  // events applied after the snapshot
  std::vector<std::string> skipped;  // snapshots passed over, and why
};

// The state after event `at_most` (0: the head): the newest snapshot at or
// before it whose format this build reads and whose recorded event hash is
// the log's, then the events after it. A snapshot that does not qualify is
// skipped (noted in `skipped`) for an older one, down to a full replay.
absl::StatusOr<LoadedState> LoadState(const storage::EventLog& log, uint64_t at_most);

// Writes snapshots on its own thread, so the sequencer never waits for one.
class Snapshotter {
 public:
  struct Options {
    uint64_t every_events = 100000;  // 0: never (only WriteNow)
    size_t keep = 8;                 // older ones are deleted
  };

  Snapshotter(storage::EventLog* log, Options options, uint64_t last_snapshot_seq);
  ~Snapshotter();  // finishes the snapshot in progress; drops a pending one

  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  // Called with each newly published state: when it is `every_events` past
  // the last snapshot, it becomes the next one to write (replacing one not
  // yet started). Never blocks on the write.
  void Offer(std::shared_ptr<const engine::State> state);

  // Writes a snapshot of `state` now, on the caller's thread (shutdown,
  // tests); nothing when one at its seq exists.
  absl::Status WriteNow(const engine::State& state);

  uint64_t last_snapshot_seq() const;

 private:
  void Run();
  absl::Status Write(const engine::State& state);

  storage::EventLog* const log_;
  const Options options_;
  mutable absl::Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_);     // written or being written
  uint64_t written_seq_ ABSL_GUARDED_BY(mu_);  // the newest stored (loaded at start or written)
  std::shared_ptr<const engine::State> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex write_mu_;  // one write at a time (worker or WriteNow)
  std::thread worker_;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_SNAPSHOTS_H_
