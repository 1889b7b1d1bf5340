#include "services/snapshots.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/snapshot.h"
#include "storage/status_macros.h"

namespace duban::services {

absl::StatusOr<LoadedState> LoadState(const storage::EventLog& log, uint64_t at_most) {
  const uint64_t head = log.head().seq;
  const uint64_t target = at_most == 0 || at_most > head ? head : at_most;
  LoadedState out;
  uint64_t look_at_or_before = target;
  while (look_at_or_before > 0) {
    ASSIGN_OR_RETURN(std::optional<storage::EventLog::Snapshot> stored,
                     log.LatestSnapshot(look_at_or_before));
    if (!stored.has_value()) break;
    look_at_or_before = stored->seq - 1;
    absl::StatusOr<engine::DecodedSnapshot> decoded = engine::DecodeSnapshot(stored->bytes);
    if (!decoded.ok()) {
      out.skipped.push_back(std::string(decoded.status().message()));
      continue;
    }
    ASSIGN_OR_RETURN(const std::string hash, log.EventHash(stored->seq));
    if (decoded->state.seq() != stored->seq || decoded->event_hash != hash) {
      out.skipped.push_back(absl::StrCat("snapshot at seq ", stored->seq,
                                         " was not made from this log (event hash differs)"));
      continue;
    }
    out.state = std::move(decoded->state);
    out.snapshot_seq = stored->seq;
    break;
  }
  absl::Status applied;
  RETURN_IF_ERROR(log.Read(out.state.seq() + 1, target, [&](const duban::v1::Event& e) {
    applied = out.state.Apply(e);
    ++out.replayed_events;
    return applied.ok();
  }));
  RETURN_IF_ERROR(applied);
  if (out.state.seq() != target) {
    return absl::DataLossError(
        absl::StrCat("replayed to seq ", out.state.seq(), " but seq ", target, " was due"));
  }
  return out;
}

Snapshotter::Snapshotter(storage::EventLog* log, Options options, uint64_t last_snapshot_seq)
    : log_(log), options_(options), last_seq_(last_snapshot_seq), written_seq_(last_snapshot_seq) {
  if (options_.every_events > 0) worker_ = std::thread([this] { Run(); });
}

Snapshotter::~Snapshotter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

uint64_t Snapshotter::last_snapshot_seq() const {
  absl::MutexLock lock(&mu_);
  return last_seq_;
}

void Snapshotter::Offer(std::shared_ptr<const engine::State> state) {
  if (options_.every_events == 0 || state == nullptr) return;
  absl::MutexLock lock(&mu_);
  if (state->seq() < last_seq_ + options_.every_events) return;
  last_seq_ = state->seq();
  pending_ = std::move(state);
}

void Snapshotter::Run() {
  while (true) {
    std::shared_ptr<const engine::State> next;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return pending_ != nullptr || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      next = std::move(pending_);
    }
    absl::Status written = Write(*next);
    if (!written.ok()) {
      // The log is still whole; the next restart replays a longer tail.
      spdlog::warn("snapshot at seq {} not written: {}", next->seq(),
                   std::string(written.message()));
    }
  }
}

absl::Status Snapshotter::WriteNow(const engine::State& state) {
  if (state.seq() == 0) return absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    if (written_seq_ == state.seq()) return absl::OkStatus();  // (without reading it back)
  }
  RETURN_IF_ERROR(Write(state));
  absl::MutexLock lock(&mu_);
  last_seq_ = std::max(last_seq_, state.seq());
  return absl::OkStatus();
}

absl::Status Snapshotter::Write(const engine::State& state) {
  absl::MutexLock lock(&write_mu_);
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(const std::string hash, log_->EventHash(state.seq()));
  const std::string bytes = engine::EncodeSnapshot(state, hash);
  RETURN_IF_ERROR(log_->PutSnapshot(state.seq(), bytes));
  {
    absl::MutexLock lock(&mu_);
    written_seq_ = state.seq();
  }
  RETURN_IF_ERROR(log_->PruneSnapshots(options_.keep));
  spdlog::info("snapshot at seq {}: {} bytes in {} ms", state.seq(), bytes.size(),
               absl::ToInt64Milliseconds(absl::Now() - start));
  return absl::OkStatus();
}

}  // namespace duban::services
