#include "services/audit_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <set>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/snapshot.h"
#include "engine/rules.h"
#include "engine/state.h"
#include "services/event_batch.h"
#include "services/grpc_status.h"
#include "services/rpc.h"
#include "services/snapshots.h"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::services {

namespace v1 = duban::v1;
using grpc::ByteBuffer;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

namespace {

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status WriteWhole(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", path));
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
                  ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// The agencies an event names (for ReadEvents' agency filter).
bool NamesAgency(const v1::Event& e, const std::string& agency) {
  switch (e.payload_case()) {
    case v1::Event::kResponsibilityAssigned: return e.responsibility_assigned().agency_id() == agency;
    case v1::Event::kResponsibilityRevoked: return e.responsibility_revoked().agency_id() == agency;
    case v1::Event::kProgressReported: return e.progress_reported().report().agency_id() == agency;
    case v1::Event::kIndicatorValueReported:
      return e.indicator_value_reported().value().agency_id() == agency;
    case v1::Event::kAgencyDefined: return e.agency_defined().agency().id() == agency;
    case v1::Event::kEscalationOpened:
      return e.escalation_opened().escalation().subject().agency_id() == agency;
    case v1::Event::kNoticeIssued: return e.notice_issued().notice().recipient() == "agency:" + agency;
    case v1::Event::kCredentialIssued: return e.credential_issued().principal() == "agency:" + agency;
    default: return e.principal() == "agency:" + agency;
  }
}

int32_t TaskOf(const v1::Event& e) {
  switch (e.payload_case()) {
    case v1::Event::kTaskDefined: return e.task_defined().task().number();
    case v1::Event::kTaskRemoved: return e.task_removed().task_number();
    case v1::Event::kResponsibilityAssigned: return e.responsibility_assigned().task_number();
    case v1::Event::kResponsibilityRevoked: return e.responsibility_revoked().task_number();
    case v1::Event::kProgressReported: return e.progress_reported().report().task_number();
    case v1::Event::kEscalationOpened: return e.escalation_opened().escalation().subject().task_number();
    default: return 0;
  }
}

bool Matches(const v1::Event& e, const v1::ReadEventsRequest& r) {
  if (r.from_micros() != 0 && e.recorded_at_micros() < r.from_micros()) return false;
  if (r.to_micros() != 0 && e.recorded_at_micros() >= r.to_micros()) return false;
  if (!r.plan_id().empty() && e.plan_id() != r.plan_id()) return false;
  if (r.task_number() != 0 && TaskOf(e) != r.task_number()) return false;
  if (!r.agency_id().empty() && !NamesAgency(e, r.agency_id())) return false;
  if (r.event_types_size() > 0) {
    const auto* field = e.GetDescriptor()->FindFieldByNumber(e.payload_case());
    const std::string type = field ? field->name() : "";
    if (std::find(r.event_types().begin(), r.event_types().end(), type) == r.event_types().end()) {
      return false;
    }
  }
  return true;
}

// Whether a request needs the events parsed: any content filter (plan,
// task, agency, event types) or a time bound.
bool NeedsParsing(const v1::ReadEventsRequest& r) {
  return r.from_micros() != 0 || r.to_micros() != 0 || !r.plan_id().empty() ||
         r.task_number() != 0 || !r.agency_id().empty() || r.event_types_size() > 0;
}

// Streams a seq range of the log, one write in flight. `fill` reads on from
// *next (at most `last`), appends messages to `out` and moves *next past what
// it read; it returns once it has something to write or the range is done,
// so a history of millions of events is never held at once. Message is
// v1::AuditEvent (ReadEvents: one event per message) or grpc::ByteBuffer
// (ReadEventBatches: an EventBatch per message).
template <typename Message>
class LogStream : public grpc::ServerWriteReactor<Message> {
 public:
  using Fill =
      std::function<absl::Status(uint64_t* next, uint64_t last, std::deque<Message>* out)>;

  // Streams from_seq..to_seq (0: the head now) of `log`.
  LogStream(storage::EventLog* log, uint64_t from_seq, uint64_t to_seq, Fill fill)
      : fill_(std::move(fill)) {
    const uint64_t head = log->head().seq;
    next_ = std::max<uint64_t>(1, from_seq);
    last_ = to_seq != 0 ? std::min(to_seq, head) : head;
    absl::MutexLock lock(&mu_);
    Pump();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || cancelled_) return End(ok ? grpc::Status::CANCELLED
                                         : grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken"));
    Pump();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) End(grpc::Status::CANCELLED);
  }

  void OnDone() override { delete this; }

 private:
  void End(const grpc::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    this->Finish(s);
  }

  // Writes the next buffered message, filling the buffer when empty.
  void Pump() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || cancelled_) return;
    while (buffer_.empty() && next_ <= last_) {
      absl::Status read = fill_(&next_, last_, &buffer_);
      if (!read.ok()) return End(ToGrpcStatus(read));
    }
    if (buffer_.empty()) return End(grpc::Status::OK);
    current_ = std::move(buffer_.front());
    buffer_.pop_front();
    writing_ = true;
    this->StartWrite(&current_);
  }

  const Fill fill_;
  absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t last_ = 0;
  std::deque<Message> buffer_ ABSL_GUARDED_BY(mu_);
  Message current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// ReadEvents: up to kChunk matching events read ahead, one per message.
LogStream<v1::AuditEvent>::Fill AuditEventFill(storage::EventLog* log, v1::ReadEventsRequest req) {
  constexpr size_t kChunk = 512;
  return [log, req = std::move(req)](uint64_t* next, uint64_t last,
                                     std::deque<v1::AuditEvent>* out) {
    return log->ReadHashed(*next, last, [&](const v1::Event& e, std::string_view stored,
                                            std::string_view hash) {
      *next = e.seq() + 1;
      if (Matches(e, req)) {
        v1::AuditEvent& a = out->emplace_back();
        *a.mutable_event() = e;
        a.set_stored(stored.data(), stored.size());
        a.set_hash(hash.data(), hash.size());
      }
      return out->size() < kChunk;
    });
  };
}

// ReadEventBatches: one EventBatch per fill, encoded straight from the
// stored bytes (services/event_batch.h); parsed only to filter.
LogStream<grpc::ByteBuffer>::Fill EventBatchFill(storage::EventLog* log,
                                                 v1::ReadEventsRequest req) {
  constexpr size_t kBatchEvents = 4096;
  constexpr size_t kBatchBytes = 256 * 1024;
  return [log, req = std::move(req)](uint64_t* next, uint64_t last,
                                     std::deque<grpc::ByteBuffer>* out) {
    EventBatchBuilder batch(kBatchEvents, kBatchBytes);
    absl::Status read;
    if (!NeedsParsing(req)) {
      read = log->ScanStored(*next, last, [&](uint64_t seq, std::string_view stored,
                                              std::string_view hash) {
        *next = seq + 1;
        batch.AddStored(stored, hash);
        return !batch.full();
      });
    } else {
      v1::AuditEvent a;
      read = log->ReadHashed(*next, last, [&](const v1::Event& e, std::string_view stored,
                                              std::string_view hash) {
        *next = e.seq() + 1;
        if (Matches(e, req)) {
          *a.mutable_event() = e;
          a.set_stored(stored.data(), stored.size());
          a.set_hash(hash.data(), hash.size());
          batch.AddEvent(a);
        }
        return !batch.full();
      });
    }
    if (!read.ok()) return read;
    if (batch.events() > 0) out->push_back(batch.Take());
    return absl::OkStatus();
  };
}

// Why a ReadEvents/ReadEventBatches call is refused, or OK.
absl::Status CheckReadEvents(grpc::CallbackServerContext* ctx, const engine::State& state,
                             const v1::ReadEventsRequest& req) {
  absl::StatusOr<Principal> who =
      Authenticate(ctx->client_metadata(), ctx->auth_context().get(), state);
  absl::Status status = who.ok() ? Authorize(*who, Permission::kAudit) : who.status();
  if (status.ok() && req.to_seq() != 0 && req.to_seq() < req.from_seq()) {
    status = absl::InvalidArgumentError("to_seq: before from_seq");
  }
  return status;
}

// A stream refused before it starts.
template <typename Message>
class Refused : public grpc::ServerWriteReactor<Message> {
 public:
  explicit Refused(const absl::Status& s) { this->Finish(ToGrpcStatus(s)); }
  void OnDone() override { delete this; }
};

// The seq a GetStateAt request means.
absl::StatusOr<uint64_t> TargetSeq(storage::EventLog* log, const v1::GetStateAtRequest& r) {
  const uint64_t head = log->head().seq;
  if (r.seq() != 0) {
    if (r.seq() > head) {
      return absl::OutOfRangeError(absl::StrCat("seq: ", r.seq(), " is past the head ", head));
    }
    return r.seq();
  }
  if (r.at_micros() == 0) return absl::InvalidArgumentError("seq or at_micros: give one");
  uint64_t found = 0;
  RETURN_IF_ERROR(log->Read(1, head, [&](const v1::Event& e) {
    if (e.recorded_at_micros() > r.at_micros()) return false;
    found = e.seq();
    return true;
  }));
  return found;
}

// Replays the log and compares every stored snapshot (of this build's
// format) with the state replayed to its seq: a snapshot is a cache that
// restarts and GetStateAt trust, so an altered one must be found.
absl::Status CheckSnapshots(const storage::EventLog& log, v1::VerifyLogResponse* r) {
  ASSIGN_OR_RETURN(const std::vector<uint64_t> seqs, log.SnapshotSeqs());
  if (seqs.empty()) return absl::OkStatus();
  engine::State replayed;
  absl::Status failed;
  size_t next = 0;
  RETURN_IF_ERROR(log.Read(1, seqs.back(), [&](const v1::Event& e) {
    failed = replayed.Apply(e);
    for (; failed.ok() && next < seqs.size() && seqs[next] <= e.seq(); ++next) {
      if (seqs[next] != e.seq()) continue;
      absl::StatusOr<std::optional<storage::EventLog::Snapshot>> stored = log.LatestSnapshot(e.seq());
      if (!stored.ok()) {
        failed = stored.status();
        break;
      }
      if (!stored->has_value() || (*stored)->seq != e.seq()) continue;  // pruned meanwhile
      absl::StatusOr<engine::DecodedSnapshot> decoded = engine::DecodeSnapshot((*stored)->bytes);
      if (absl::IsFailedPrecondition(decoded.status())) continue;  // another build's format
      absl::StatusOr<std::string> hash = log.EventHash(e.seq());
      if (!hash.ok()) {
        failed = hash.status();
        break;
      }
      r->set_snapshots(r->snapshots() + 1);
      if (!decoded.ok() || engine::EncodeSnapshot(replayed, *hash) != (*stored)->bytes) {
        r->set_first_bad_seq(e.seq());
        r->set_problem(absl::StrCat("the stored state snapshot at seq ", e.seq(),
                                    " differs from the state the log replays to"));
        return false;
      }
    }
    return failed.ok();
  }));
  return failed;
}

}  // namespace

LogAuthority::LogAuthority(storage::EventLog* log, storage::Ed25519KeyPair key)
    : log_(log), key_(std::move(key)) {
  tree_ = std::make_unique<storage::MerkleTree>(
      [log](uint64_t index) { return log->EventHash(index + 1); },
      [log] { return log->head().seq; });
}

absl::StatusOr<std::unique_ptr<LogAuthority>> LogAuthority::Open(const std::string& data_dir,
                                                                 storage::EventLog* log) {
  const std::string key_path = data_dir + "/checkpoint.key";
  absl::StatusOr<std::string> pem = ReadWhole(key_path);
  absl::StatusOr<storage::Ed25519KeyPair> key =
      pem.ok() ? storage::Ed25519KeyPair::FromPrivateKeyPem(*pem)
               : storage::Ed25519KeyPair::Generate();
  if (!key.ok()) return key.status();
  if (!pem.ok()) {
    ASSIGN_OR_RETURN(std::string private_pem, key->PrivateKeyPem());
    RETURN_IF_ERROR(WriteWhole(key_path, private_pem, 0600));
  }
  ASSIGN_OR_RETURN(std::string public_pem, key->PublicKeyPem());
  RETURN_IF_ERROR(WriteWhole(data_dir + "/checkpoint.pub", public_pem, 0644));
  return std::unique_ptr<LogAuthority>(new LogAuthority(log, *std::move(key)));
}

absl::StatusOr<std::string> LogAuthority::LogId() const {
  ASSIGN_OR_RETURN(std::string first, log_->EventHash(1));
  return absl::StrCat("duban-", storage::ToHex(first).substr(0, 16));
}

Sequencer::Command LogAuthority::MakeCheckpointCommand() {
  Sequencer::Command cmd;
  cmd.method = "MakeCheckpoint";
  cmd.principal = "system";
  cmd.derive = false;
  cmd.decide = [this](const engine::State& s, absl::Time now) -> absl::StatusOr<Sequencer::Events> {
    const uint64_t size = s.seq();  // every applied event is durable
    if (size == 0 || s.latest_checkpoint().tree_size() + 1 == size ||
        s.latest_checkpoint().tree_size() == size) {
      return Sequencer::Events{};  // nothing new since the latest checkpoint
    }
    storage::Checkpoint cp;
    ASSIGN_OR_RETURN(cp.log_id, LogId());
    cp.tree_size = size;
    ASSIGN_OR_RETURN(cp.root_hash, tree_->Root(size));
    cp.time_micros = absl::ToUnixMicros(now);
    ASSIGN_OR_RETURN(std::string signature, storage::SignCheckpoint(cp, key_));
    v1::Event e;
    auto* m = e.mutable_checkpoint_made();
    m->set_log_id(cp.log_id);
    m->set_tree_size(cp.tree_size);
    m->set_root_hash(cp.root_hash);
    m->set_time_micros(cp.time_micros);
    m->set_signature(signature);
    m->set_key_id(key_.KeyId());
    return Sequencer::Events{e};
  };
  cmd.respond = [this](const engine::State& s, const Sequencer::Events&) {
    return Signed(s.latest_checkpoint(), s.latest_checkpoint_seq()).SerializeAsString();
  };
  return cmd;
}

v1::SignedCheckpoint LogAuthority::Signed(const v1::CheckpointMade& made, uint64_t seq) const {
  v1::SignedCheckpoint out;
  out.set_log_id(made.log_id());
  out.set_tree_size(made.tree_size());
  out.set_root_hash(made.root_hash());
  out.set_time_micros(made.time_micros());
  out.set_signature(made.signature());
  out.set_key_id(made.key_id());
  out.set_seq(seq);
  storage::Checkpoint cp{made.log_id(), made.tree_size(), made.root_hash(), made.time_micros()};
  if (auto body = storage::CheckpointBody(cp); body.ok()) out.set_body(*body);
  if (auto pem = key_.PublicKeyPem(); pem.ok()) out.set_public_key_pem(*pem);
  return out;
}

grpc::ServerWriteReactor<v1::AuditEvent>* AuditServiceImpl::ReadEvents(
    CallbackServerContext* ctx, const v1::ReadEventsRequest* req) {
  const absl::Status status = CheckReadEvents(ctx, *sequencer_->snapshot(), *req);
  if (!status.ok()) return new Refused<v1::AuditEvent>(status);
  return new LogStream<v1::AuditEvent>(authority_->log(), req->from_seq(), req->to_seq(),
                                       AuditEventFill(authority_->log(), *req));
}

grpc::ServerWriteReactor<ByteBuffer>* AuditServiceImpl::ReadEventBatches(CallbackServerContext* ctx,
                                                                         const ByteBuffer* in) {
  v1::ReadEventsRequest req;
  absl::Status status = ParseRequest(*in, &req);
  if (status.ok()) status = CheckReadEvents(ctx, *sequencer_->snapshot(), req);
  if (!status.ok()) return new Refused<ByteBuffer>(status);
  const uint64_t from = req.from_seq();
  const uint64_t to = req.to_seq();
  return new LogStream<ByteBuffer>(authority_->log(), from, to,
                                   EventBatchFill(authority_->log(), std::move(req)));
}

ServerUnaryReactor* AuditServiceImpl::GetStateAt(CallbackServerContext* ctx, const ByteBuffer* in,
                                                 ByteBuffer* out) {
  return Serve<v1::GetStateAtRequest, v1::StateAt>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kAudit,
         [this, call](const engine::State&, const Principal&) -> absl::Status {
           const v1::GetStateAtRequest& r = call->request();
           RETURN_IF_ERROR(engine::CheckId("plan_id", r.plan_id()));
           ASSIGN_OR_RETURN(uint64_t target, TargetSeq(authority_->log(), r));
           if (target == 0) {
             return absl::NotFoundError("at_micros: no event was recorded at or before that time");
           }
           ASSIGN_OR_RETURN(LoadedState loaded, LoadState(*authority_->log(), target));
           const engine::State& then = loaded.state;
           ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(then, r.plan_id()));
           v1::StateAt* s = call->response();
           s->set_seq(then.seq());
           s->set_from_snapshot_seq(loaded.snapshot_seq);
           s->set_replayed_events(loaded.replayed_events);
           *s->mutable_plan() = plan->Summary();
           for (const auto& [_, t] : plan->tasks) *s->add_tasks() = t;
           for (const auto& id : *plan->agency_order) *s->add_agencies() = plan->agencies.at(id);
           for (const auto& [_, i] : plan->indicators) *s->add_indicators() = i;
           std::vector<v1::ProgressReport> reports;
           for (const auto& [_, history] : plan->progress) {
             ASSIGN_OR_RETURN(std::vector<v1::ProgressReport> revisions,
                              engine::Revisions(history, LogLoader(authority_->log())));
             reports.insert(reports.end(), std::make_move_iterator(revisions.begin()),
                            std::make_move_iterator(revisions.end()));
           }
           std::sort(reports.begin(), reports.end(),
                     [](const auto& a, const auto& b) { return a.seq() < b.seq(); });
           for (auto& rep : reports) *s->add_reports() = std::move(rep);
           for (const auto& [_, history] : plan->indicator_values) {
             for (const auto& v : history) *s->add_indicator_values() = v;
           }
           const engine::EventLoader load = LogLoader(authority_->log());
           for (const std::string& id : plan->EscalationIds()) {
             ASSIGN_OR_RETURN(*s->add_escalations(), plan->WithTimeline(id, load));
           }
           *s->mutable_rules() = *plan->rules;
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* AuditServiceImpl::VerifyLog(CallbackServerContext* ctx, const ByteBuffer* in,
                                                ByteBuffer* out) {
  return Serve<v1::VerifyLogRequest, v1::VerifyLogResponse>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kAudit,
         [this, call](const engine::State&, const Principal&) -> absl::Status {
           v1::VerifyLogResponse* r = call->response();
           storage::EventLog* log = authority_->log();
           r->set_events(log->head().seq);
           // Bytes and chain first.
           absl::Status chain = log->Verify();
           if (!chain.ok()) {
             std::smatch m;
             const std::string message(chain.message());
             uint64_t seq = 0;
             if (std::regex_search(message, m, std::regex("seq (\\d+)"))) {
               absl::SimpleAtoi(m[1].str(), &seq);
             }
             r->set_ok(false);
             r->set_first_bad_seq(seq);
             r->set_problem(message);
             return absl::OkStatus();
           }
           // Then the tree: recompute, without any cache, the root of every
           // checkpoint kept in the log.
           storage::MerkleTree fresh([log](uint64_t i) { return log->EventHash(i + 1); },
                                     [log] { return log->head().seq; },
                                     storage::MerkleTree::kNoCache);
           absl::Status read = log->Read(1, 0, [&](const v1::Event& e) {
             if (!e.has_checkpoint_made()) return true;
             r->set_checkpoints(r->checkpoints() + 1);
             const auto& c = e.checkpoint_made();
             absl::StatusOr<std::string> root = fresh.Root(c.tree_size());
             storage::Checkpoint cp{c.log_id(), c.tree_size(), c.root_hash(), c.time_micros()};
             // A log imported from another server keeps that server's
             // signatures: only those made with this server's key are checked
             // here (`dubanctl audit verify-offline` checks any, given the key).
             absl::Status signature =
                 c.key_id() == authority_->key().KeyId()
                     ? storage::VerifyCheckpoint(cp, c.signature(), authority_->key().public_key())
                     : absl::OkStatus();
             if (!root.ok() || *root != c.root_hash() || !signature.ok()) {
               r->set_first_bad_seq(e.seq());
               r->set_problem(absl::StrCat(
                   "checkpoint at seq ", e.seq(), " (tree size ", c.tree_size(), "): ",
                   !signature.ok() ? signature.message() : "the tree's root differs"));
               return false;
             }
             return true;
           });
           RETURN_IF_ERROR(read);
           if (r->first_bad_seq() == 0) RETURN_IF_ERROR(CheckSnapshots(*log, r));
           r->set_ok(r->first_bad_seq() == 0);
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* AuditServiceImpl::GetCheckpoint(CallbackServerContext* ctx, const ByteBuffer* in,
                                                    ByteBuffer* out) {
  return Serve<v1::GetCheckpointRequest, v1::SignedCheckpoint>(ctx, in, out, [this](auto* call) {
    if (call->request().make_new()) {
      return Write(sequencer_, call, "MakeCheckpoint", Permission::kAudit,
                   authority_->MakeCheckpointCommand());
    }
    Read(sequencer_, call, Permission::kAudit,
         [this, call](const engine::State& s, const Principal&) -> absl::Status {
           if (s.latest_checkpoint_seq() == 0) {
             return absl::NotFoundError("no checkpoint yet: ask for one with make_new");
           }
           *call->response() = authority_->Signed(s.latest_checkpoint(), s.latest_checkpoint_seq());
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* AuditServiceImpl::GetInclusionProof(CallbackServerContext* ctx,
                                                        const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::GetInclusionProofRequest, v1::InclusionProof>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kAudit,
         [this, call](const engine::State& s, const Principal&) -> absl::Status {
           const auto& r = call->request();
           const uint64_t size = r.tree_size() != 0 ? r.tree_size() : s.seq();
           if (r.seq() == 0 || r.seq() > size) {
             return absl::InvalidArgumentError(
                 absl::StrCat("seq: must be from 1 to the tree size ", size));
           }
           if (size > s.seq()) {
             return absl::OutOfRangeError(absl::StrCat("tree_size: the log has ", s.seq(), " events"));
           }
           ASSIGN_OR_RETURN(auto proof, authority_->tree().InclusionProof(r.seq() - 1, size));
           ASSIGN_OR_RETURN(std::string root, authority_->tree().Root(size));
           ASSIGN_OR_RETURN(std::string leaf, authority_->log()->EventHash(r.seq()));
           v1::InclusionProof* p = call->response();
           p->set_seq(r.seq());
           p->set_leaf_index(r.seq() - 1);
           p->set_tree_size(size);
           p->set_leaf_data(leaf);
           for (auto& h : proof) p->add_hashes(std::move(h));
           p->set_root_hash(root);
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* AuditServiceImpl::GetConsistencyProof(CallbackServerContext* ctx,
                                                          const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::GetConsistencyProofRequest, v1::ConsistencyProof>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kAudit,
         [this, call](const engine::State& s, const Principal&) -> absl::Status {
           const auto& r = call->request();
           const uint64_t n = r.new_size() != 0 ? r.new_size() : s.seq();
           if (r.old_size() == 0 || r.old_size() > n) {
             return absl::InvalidArgumentError(
                 absl::StrCat("old_size: must be from 1 to the new size ", n));
           }
           if (n > s.seq()) {
             return absl::OutOfRangeError(absl::StrCat("new_size: the log has ", s.seq(), " events"));
           }
           ASSIGN_OR_RETURN(auto proof, authority_->tree().ConsistencyProof(r.old_size(), n));
           v1::ConsistencyProof* p = call->response();
           p->set_old_size(r.old_size());
           p->set_new_size(n);
           ASSIGN_OR_RETURN(std::string old_root, authority_->tree().Root(r.old_size()));
           ASSIGN_OR_RETURN(std::string new_root, authority_->tree().Root(n));
           p->set_old_root(old_root);
           p->set_new_root(new_root);
           for (auto& h : proof) p->add_hashes(std::move(h));
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* AuditServiceImpl::CheckDerivations(CallbackServerContext* ctx,
                                                       const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::CheckDerivationsRequest, v1::CheckDerivationsResponse>(
      ctx, in, out, [this](auto* call) {
        Read(sequencer_, call, Permission::kAudit,
             [this, call](const engine::State& s, const Principal&) -> absl::Status {
               storage::EventLog* log = authority_->log();
               uint64_t events = 0, derived = 0;
               absl::Status read;
               const auto differences = engine::CheckDerivations(
                   [&](const std::function<bool(const v1::Event&)>& fn) {
                     read = log->Read(1, s.seq(), [&](const v1::Event& e) {
                       ++events;
                       derived += engine::IsDerived(e);
                       return fn(e);
                     });
                     return read.ok();
                   });
               RETURN_IF_ERROR(read);
               v1::CheckDerivationsResponse* r = call->response();
               r->set_events(events);
               r->set_derived_events(derived);
               for (const auto& d : differences) {
                 auto* x = r->add_differences();
                 x->set_seq(d.seq);
                 x->set_problem(d.problem);
               }
               r->set_ok(differences.empty());
               return absl::OkStatus();
             });
      });
}

ServerUnaryReactor* AuditServiceImpl::ExplainEscalation(CallbackServerContext* ctx,
                                                        const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::ExplainEscalationRequest, v1::Explanation>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kAudit,
         [this, call](const engine::State& s, const Principal&) -> absl::Status {
           const auto& r = call->request();
           ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, r.plan_id()));
           v1::Explanation* x = call->response();
           ASSIGN_OR_RETURN(*x->mutable_escalation(),
                            engine::RequireEscalation(*plan, r.escalation_id(),
                                                      LogLoader(authority_->log()),
                                                      /*with_timeline=*/true));
           const v1::Escalation* esc = &x->escalation();
           x->set_ruleset_version(esc->ruleset_version());
           x->set_evaluated_at_micros(esc->opened_at_micros());
           std::set<uint64_t> facts(esc->fact_seqs().begin(), esc->fact_seqs().end());
           std::set<uint64_t> causes;
           for (const auto& t : x->escalation().timeline()) {
             if (t.cause_seq() != 0) causes.insert(t.cause_seq());
           }
           storage::EventLog* log = authority_->log();
           auto audit_event = [log](const v1::Event& e) -> absl::StatusOr<v1::AuditEvent> {
             v1::AuditEvent a;
             *a.mutable_event() = e;
             ASSIGN_OR_RETURN(std::string hash, log->EventHash(e.seq()));
             a.set_hash(hash);
             return a;
           };
           absl::Status status;
           RETURN_IF_ERROR(log->Read(1, s.seq(), [&](const v1::Event& e) {
             if (e.plan_id() == r.plan_id() && e.has_ruleset_put() &&
                 e.ruleset_put().version() == esc->ruleset_version()) {
               x->set_ruleset_seq(e.seq());
               for (const auto& rule : e.ruleset_put().ruleset().rules()) {
                 if (rule.id() == esc->subject().rule_id()) *x->mutable_rule() = rule;
               }
             }
             for (auto* wanted : {&facts, &causes}) {
               if (!wanted->count(e.seq())) continue;
               absl::StatusOr<v1::AuditEvent> a = audit_event(e);
               if (!a.ok()) {
                 status = a.status();
                 return false;
               }
               *(wanted == &facts ? x->add_facts() : x->add_causes()) = *std::move(a);
             }
             return true;
           }));
           return status;
         });
  });
}

}  // namespace duban::services
