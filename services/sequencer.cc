#include "services/sequencer.h"

#include <algorithm>
#include <future>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/snapshots.h"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::services {

using duban::v1::Event;

namespace {

std::string Fingerprint(const Sequencer::Command& c) {
  return storage::Sha256({c.method, std::string(1, '\0'), c.request_bytes});
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sequencer>> Sequencer::Start(
    storage::EventLog* log, Clock* clock, std::function<void(const absl::Status&)> on_failure,
    Hooks hooks) {
  // The newest usable snapshot and the log's tail.
  ASSIGN_OR_RETURN(LoadedState loaded, LoadState(*log, 0));
  std::unique_ptr<Sequencer> s(new Sequencer(log, clock, std::move(loaded.state)));
  s->loaded_from_snapshot_ = loaded.snapshot_seq;
  s->replayed_at_start_ = loaded.replayed_events;
  s->skipped_snapshots_ = std::move(loaded.skipped);
  s->on_failure_ = std::move(on_failure);
  s->hooks_ = std::move(hooks);
  for (int i = 0; i < kLanes; ++i) {
    s->lanes_[i].thread = std::thread([p = s.get(), i] { p->RunAnswers(i); });
  }
  s->writer_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

Sequencer::Sequencer(storage::EventLog* log, Clock* clock, engine::State state)
    : log_(log), clock_(clock),
      snapshot_(std::make_shared<const engine::State>(std::move(state))) {}

Sequencer::~Sequencer() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  for (Lane& lane : lanes_) {
    absl::MutexLock lock(&lane.mu);
    lane.stopping = true;
  }
  for (Lane& lane : lanes_) {
    if (lane.thread.joinable()) lane.thread.join();  // after the last answer
  }
}

void Sequencer::Submit(Command command) {
  if (!command.request_id.empty()) command.fingerprint = Fingerprint(command);
  absl::Status refused;
  {
    absl::MutexLock lock(&queue_mu_);
    if (!stopping_ && failed_.ok()) {
      queue_.push_back(std::move(command));
      return;
    }
    refused = !failed_.ok() ? failed_ : absl::UnavailableError("the server is shutting down");
  }
  command.done(refused);
}

absl::StatusOr<std::string> Sequencer::Execute(Command command) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<std::string>>>();
  auto future = promise->get_future();
  command.done = [promise](absl::StatusOr<std::string> r) { promise->set_value(std::move(r)); };
  Submit(std::move(command));
  return future.get();
}

std::shared_ptr<const engine::State> Sequencer::snapshot() const {
  absl::MutexLock lock(&snapshot_mu_);
  return snapshot_;
}

size_t Sequencer::GroupSizeBucket(uint64_t commands) {
  size_t bucket = 0;
  while (commands > 1 && bucket + 1 < kGroupSizeBuckets) {
    commands >>= 1;
    ++bucket;
  }
  return bucket;
}

Sequencer::Stats Sequencer::stats() const {
  absl::MutexLock lock(&snapshot_mu_);
  return stats_;
}

size_t Sequencer::queued() const {
  absl::MutexLock lock(&queue_mu_);
  return queue_.size();
}

void Sequencer::Run() {
  std::deque<Command> deferred;
  while (true) {
    std::deque<Command> group;
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this] { return !queue_.empty() || stopping_; };
      if (deferred.empty()) queue_mu_.Await(absl::Condition(&ready));
      if (queue_.empty() && deferred.empty() && stopping_) return;
      group = std::move(deferred);
      deferred.clear();
      while (!queue_.empty() && group.size() < kMaxGroup) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    ProcessGroup(group, deferred);
  }
}

// Decides every command of the group in order against a working state, then
// writes all their events in one synced batch and answers them all.
void Sequencer::ProcessGroup(std::deque<Command>& group, std::deque<Command>& deferred) {
  const absl::Time group_now = clock_->Now();
  const std::shared_ptr<const engine::State> before = snapshot();
  engine::State working = *before;
  std::vector<storage::EventLog::CommandWrite> writes;
  std::vector<std::pair<Command*, std::string>> answered;  // after the write
  std::set<std::pair<std::string, std::string>> keys_in_group;

  for (Command& cmd : group) {
    const std::string& fingerprint = cmd.fingerprint;
    if (!cmd.request_id.empty()) {
      if (keys_in_group.count({cmd.principal, cmd.request_id})) {
        deferred.push_back(std::move(cmd));  // a concurrent retry: answer it next round
        continue;
      }
      if (AnswerRepeat(cmd, fingerprint)) continue;
    }
    // A simulated clock may have moved earlier in this group: never decide
    // before the latest time the state has seen.
    const absl::Time now =
        std::max(group_now, absl::FromUnixMicros(working.simulated_now_micros()));
    absl::StatusOr<Events> events = cmd.decide(working, now);
    if (!events.ok()) {
      cmd.done(events.status());
      continue;
    }
    if (events->empty()) {  // nothing to write; answer with the group
      std::string response = cmd.respond(working, *events);
      if (!cmd.request_id.empty()) {
        RememberNoop(cmd, fingerprint, response);
        keys_in_group.insert({cmd.principal, cmd.request_id});
      }
      answered.emplace_back(&cmd, std::move(response));
      continue;
    }
    // Apply to the working state directly (copying it per command would cost
    // a clone of the plan each time). Decided events always fit; if one does
    // not, that is a bug: rebuild the working state without this command.
    absl::Status applied;
    uint64_t seq = working.seq();
    auto stamp_and_apply = [&](Events& batch, const std::string& principal,
                               const std::string& request_id) {
      for (Event& e : batch) {
        e.set_seq(++seq);
        e.set_recorded_at_micros(absl::ToUnixMicros(now));
        e.set_principal(principal);
        e.set_request_id(request_id);
        applied = working.Apply(e);
        if (!applied.ok()) return;
      }
    };
    stamp_and_apply(*events, cmd.principal, cmd.request_id);
    if (applied.ok() && cmd.derive && hooks_.derive) {
      Events derived = hooks_.derive(working, now, *events);
      stamp_and_apply(derived, "system", "");
      events->insert(events->end(), std::make_move_iterator(derived.begin()),
                     std::make_move_iterator(derived.end()));
    }
    if (!applied.ok()) {
      working = *before;
      for (const auto& w : writes) {
        for (const Event& e : w.events) working.Apply(e).IgnoreError();  // applied before
      }
      cmd.done(absl::InternalError(absl::StrCat("decided events do not apply: ", applied.message())));
      continue;
    }
    std::string response = cmd.respond(working, *events);
    storage::EventLog::CommandWrite w;
    if (hooks_.outbox) w.outbox = hooks_.outbox(working, *events);
    w.events = std::move(*events);
    if (!cmd.request_id.empty()) {
      duban::v1::RequestRecord rec;
      rec.set_method(cmd.method);
      rec.set_fingerprint(fingerprint);
      rec.set_response(response);
      w.request = std::move(rec);
      w.principal = cmd.principal;
      w.request_id = cmd.request_id;
      keys_in_group.insert({cmd.principal, cmd.request_id});
    }
    writes.push_back(std::move(w));
    answered.emplace_back(&cmd, std::move(response));
  }

  if (!writes.empty()) {
    absl::Status written = log_->Append(&writes);
    if (written.ok() && log_->head().seq != working.seq()) {
      written = absl::InternalError("log head and state disagree after append");
    }
    if (!written.ok()) {
      // Whether the batch reached the disk is unknown: answer every command
      // of the group and every later one UNAVAILABLE, keep the state as it
      // was, and let a restart find out what the log holds.
      const absl::Status failure = absl::UnavailableError(absl::StrCat(
          "the event log failed (", written.message(), "); restart the server"));
      {
        absl::MutexLock lock(&queue_mu_);
        failed_ = failure;
        for (Command& queued : queue_) deferred.push_back(std::move(queued));
        queue_.clear();
      }
      if (on_failure_) on_failure_(failure);
      for (auto& [cmd, _] : answered) cmd->done(failure);
      for (Command& later : deferred) later.done(failure);
      deferred.clear();
      return;
    }
    std::shared_ptr<const engine::State> published =
        std::make_shared<const engine::State>(std::move(working));
    {
      absl::MutexLock lock(&snapshot_mu_);
      snapshot_ = published;
      stats_.batches += 1;
      stats_.commands += writes.size();
      for (const auto& w : writes) stats_.events += w.events.size();
      stats_.max_group = std::max<uint64_t>(stats_.max_group, writes.size());
      stats_.group_sizes[GroupSizeBucket(writes.size())] += 1;
    }
    if (hooks_.committed) {
      Events all;
      std::vector<storage::EventLog::OutboxEntry> outbox;
      for (auto& w : writes) {  // written: the batch's events are not needed again
        all.insert(all.end(), std::make_move_iterator(w.events.begin()),
                   std::make_move_iterator(w.events.end()));
        outbox.insert(outbox.end(), std::make_move_iterator(w.outbox.begin()),
                      std::make_move_iterator(w.outbox.end()));
      }
      hooks_.committed(*published, all, outbox);
    }
  }
  std::vector<Answer> answers;
  answers.reserve(answered.size());
  for (auto& [cmd, response] : answered) answers.emplace_back(std::move(cmd->done), std::move(response));
  HandOver(std::move(answers));
}

void Sequencer::HandOver(std::vector<Answer> answers) {
  // Split between the lanes, a share of the group each (in order within a lane).
  const size_t part = (answers.size() + kLanes - 1) / kLanes;
  for (int i = 0; i < kLanes; ++i) {
    const size_t from = std::min(answers.size(), i * part);
    const size_t to = std::min(answers.size(), from + part);
    if (from >= to) continue;
    Lane& lane = lanes_[i];
    absl::MutexLock lock(&lane.mu);
    for (size_t k = from; k < to; ++k) lane.answers.push_back(std::move(answers[k]));
  }
}

void Sequencer::RunAnswers(int i) {
  Lane& lane = lanes_[i];
  while (true) {
    std::deque<Answer> batch;
    {
      absl::MutexLock lock(&lane.mu);
      auto ready = [&lane]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lane.mu) {
        return !lane.answers.empty() || lane.stopping;
      };
      lane.mu.Await(absl::Condition(&ready));
      if (lane.answers.empty()) return;  // stopping, and every answer given
      batch.swap(lane.answers);
    }
    for (auto& [done, response] : batch) done(std::move(response));
  }
}

bool Sequencer::AnswerRepeat(Command& cmd, const std::string& fingerprint) {
  auto reply = [&](const std::string& stored_fingerprint, const std::string& method,
                   const std::string& response) {
    if (stored_fingerprint == fingerprint) {
      cmd.done(response);  // the original answer; nothing written
    } else {
      cmd.done(absl::AlreadyExistsError(absl::StrCat(
          "request_id: \"", cmd.request_id, "\" was already used for a different request (",
          method, ")")));
    }
  };
  auto noop = noop_records_.find({cmd.principal, cmd.request_id});
  if (noop != noop_records_.end()) {
    reply(noop->second.fingerprint, cmd.method, noop->second.response);
    return true;
  }
  auto record = log_->LookupRequest(cmd.principal, cmd.request_id);
  if (!record.ok()) {
    cmd.done(record.status());
    return true;
  }
  if (!record->has_value()) return false;
  reply((*record)->fingerprint(), (*record)->method(), (*record)->response());
  return true;
}

void Sequencer::RememberNoop(const Command& cmd, const std::string& fingerprint,
                             const std::string& response) {
  auto key = std::make_pair(cmd.principal, cmd.request_id);
  if (noop_records_.size() >= kMaxNoopRecords) {
    noop_records_.erase(noop_order_.front());
    noop_order_.pop_front();
  }
  noop_records_[key] = NoopRecord{fingerprint, response};
  noop_order_.push_back(std::move(key));
}

}  // namespace duban::services
