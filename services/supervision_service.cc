#include "services/supervision_service.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/rules.h"
#include "engine/validate.h"
#include "services/grpc_status.h"
#include "services/rpc.h"
#include "storage/status_macros.h"

namespace duban::services {

namespace v1 = duban::v1;
using grpc::ByteBuffer;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;


namespace {

bool IsOpen(const v1::Escalation& e) {
  return e.state() == v1::OPEN || e.state() == v1::ACKNOWLEDGED;
}

// Supervisors, auditors and admin see every escalation; an agency the ones about it.
absl::Status MaySee(const Principal& who, const engine::State& state, const engine::PlanState& plan,
                    const v1::Escalation& e) {
  if (who.kind != Principal::Kind::kAgency) return absl::OkStatus();
  RETURN_IF_ERROR(CheckAgencyInPlan(who, state, plan.plan.plan_id()));
  for (const auto& id : engine::ResponsibleAgencies(plan, e)) {
    if (id == who.agency_id) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(who.name(), " is not responsible for escalation ", e.id()));
}

v1::Clock ClockAt(absl::Time t, bool simulated) {
  v1::Clock c;
  c.set_now_micros(absl::ToUnixMicros(t));
  c.set_simulated(simulated);
  c.set_now_cst(absl::FormatTime("%Y-%m-%dT%H:%M:%S+08:00", t, engine::ChinaStandardTime()));
  return c;
}

// The command of an Acknowledge or Resolve: `decide` (DecideAcknowledge or
// DecideResolve), answered with the escalation as it stands after the
// command's events, which are not yet in the log when the answer is made
// (PlanState::EscalationAfter). The escalation as decided against is kept for
// that answer (decide and respond run one after the other on the writer).
template <typename Request, typename Decide>
Sequencer::Command EscalationChange(const Request& req, const storage::EventLog* log,
                                    Decide decide) {
  auto before = std::make_shared<v1::Escalation>();
  Sequencer::Command cmd;
  cmd.decide = [req, before, decide](const engine::State& s, absl::Time now) {
    if (const engine::PlanState* plan = s.FindPlan(req.plan_id())) {
      auto it = plan->escalations.find(req.escalation_id());
      if (it != plan->escalations.end()) *before = *it->second;
    }
    return decide(s, req, now);
  };
  cmd.respond = [req, log, before](const engine::State& s, const Sequencer::Events& events) {
    const engine::PlanState* plan = s.FindPlan(req.plan_id());
    if (plan == nullptr) return before->SerializeAsString();
    return plan->EscalationAfter(req.escalation_id(), *before, events, LogLoader(log))
        .SerializeAsString();
  };
  return cmd;
}

v1::EvaluateResponse Counts(const Sequencer::Events& events) {
  v1::EvaluateResponse r;
  for (const auto& e : events) {
    if (r.first_seq() == 0) r.set_first_seq(e.seq());
    r.set_last_seq(e.seq());
    r.set_opened(r.opened() + e.has_escalation_opened());
    r.set_raised(r.raised() + e.has_escalation_raised());
    r.set_closed(r.closed() + e.has_escalation_cleared());
    r.set_notices(r.notices() + e.has_notice_issued());
  }
  return r;
}

// Who may watch whose notices: an agency its own; everyone else any.
absl::Status MayWatch(const Principal& who, const std::string& recipient) {
  if (recipient != "supervisor" && recipient != "provincial-government" &&
      !absl::StartsWith(recipient, "agency:")) {
    return absl::InvalidArgumentError(
        "recipient: \"supervisor\", \"provincial-government\" or \"agency:<id>\"");
  }
  if (absl::StartsWith(recipient, "agency:")) {
    RETURN_IF_ERROR(engine::CheckId("recipient", recipient.substr(7)));
  }
  if (who.kind == Principal::Kind::kAgency && recipient != who.name()) {
    return absl::PermissionDeniedError(
        absl::StrCat(who.name(), " may watch only its own notices (recipient ", who.name(), ")"));
  }
  return absl::OkStatus();
}

// Streams a recipient's notices after a cursor: first those already in the
// log, then live ones from the hub, each exactly once, in seq order. While
// the log is being read, live notices wait aside; afterwards those newer
// than the last one read follow. One write in flight; the rest queue.
class NoticeStream : public grpc::ServerWriteReactor<v1::Notice> {
 public:
  NoticeStream(NoticeHub* hub, storage::EventLog* log, std::string recipient, uint64_t after)
      : hub_(hub), recipient_(std::move(recipient)), queued_up_to_(after) {
    // Subscribe before reading the log, so nothing committed in between is missed.
    listener_ = hub_->Subscribe([this](const v1::Notice& n) {
      if (n.recipient() != recipient_) return;
      absl::MutexLock lock(&mu_);
      if (replaying_) {
        live_.push_back(n);
      } else {
        Enqueue(n);
      }
    });
    absl::Status read = log->Read(after + 1, 0, [this](const v1::Event& e) {
      if (e.has_notice_issued() && e.notice_issued().notice().recipient() == recipient_) {
        absl::MutexLock lock(&mu_);
        Enqueue(NoticeOf(e));
      }
      return true;
    });
    absl::MutexLock lock(&mu_);
    replaying_ = false;
    if (!read.ok()) {
      End(ToGrpcStatus(read));
      return;
    }
    for (const v1::Notice& n : live_) Enqueue(n);  // those newer than the log read
    live_.clear();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) return End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken"));
    if (cancelled_) return End(grpc::Status::CANCELLED);
    WriteNext();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) End(grpc::Status::CANCELLED);  // else OnWriteDone ends it
  }

  void OnDone() override {
    hub_->Unsubscribe(listener_);
    delete this;
  }

 private:
  // Finishes the RPC, once.
  void End(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  void Enqueue(const v1::Notice& n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (n.seq() <= queued_up_to_) return;  // already queued or before the cursor
    queued_up_to_ = n.seq();
    queue_.push_back(n);
    WriteNext();
  }

  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || cancelled_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  NoticeHub* const hub_;
  const std::string recipient_;
  int listener_ = 0;
  absl::Mutex mu_;
  bool replaying_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<v1::Notice> live_ ABSL_GUARDED_BY(mu_);  // arrived while replaying
  std::deque<v1::Notice> queue_ ABSL_GUARDED_BY(mu_);
  v1::Notice current_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_up_to_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

ServerUnaryReactor* SupervisionServiceImpl::GetRules(CallbackServerContext* ctx, const ByteBuffer* in,
                                                     ByteBuffer* out) {
  return Serve<v1::GetRulesRequest, v1::RulesetVersion>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kReadPlan,
         [call](const engine::State& s, const Principal&) -> absl::Status {
           ASSIGN_OR_RETURN(const engine::PlanState* plan,
                            engine::RequirePlan(s, call->request().plan_id()));
           *call->response() = *plan->rules;
           call->response()->mutable_ruleset()->set_plan_id(plan->plan.plan_id());
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* SupervisionServiceImpl::PutRules(CallbackServerContext* ctx, const ByteBuffer* in,
                                                     ByteBuffer* out) {
  return Serve<v1::PutRulesRequest, v1::RulesetVersion>(ctx, in, out, [this](auto* call) {
    const v1::PutRulesRequest req = call->request();
    Write(sequencer_, call, "PutRules", Permission::kSupervise,
          MakeCommand(
              [req](const engine::State& s) {
                return engine::DecidePutRules(s, req.ruleset(), req.expected_version());
              },
              [req](const engine::State& s, const Sequencer::Events&) {
                const engine::PlanState* plan = s.FindPlan(req.ruleset().plan_id());
                return plan ? *plan->rules : v1::RulesetVersion();
              }));
  });
}

ServerUnaryReactor* SupervisionServiceImpl::Evaluate(CallbackServerContext* ctx, const ByteBuffer* in,
                                                     ByteBuffer* out) {
  return Serve<v1::EvaluateRequest, v1::EvaluateResponse>(ctx, in, out, [this](auto* call) {
    const v1::EvaluateRequest req = call->request();
    if (!req.plan_id().empty()) {
      absl::Status exists = engine::RequirePlan(*sequencer_->snapshot(), req.plan_id()).status();
      if (!exists.ok()) return call->Finish(exists);
    }
    Sequencer::Command cmd;
    cmd.derive = false;
    cmd.decide = [req](const engine::State& s, absl::Time now) -> absl::StatusOr<Sequencer::Events> {
      return req.plan_id().empty() ? engine::EvaluateAll(s, now, 0)
                                   : engine::Evaluate(s, req.plan_id(), now, 0);
    };
    cmd.respond = [](const engine::State&, const Sequencer::Events& events) {
      return Counts(events).SerializeAsString();
    };
    Write(sequencer_, call, "Evaluate", Permission::kSupervise, std::move(cmd));
  });
}

ServerUnaryReactor* SupervisionServiceImpl::ListEscalations(CallbackServerContext* ctx,
                                                            const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::ListEscalationsRequest, v1::ListEscalationsResponse>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kReadPlan,
         [this, call](const engine::State& s, const Principal& who) -> absl::Status {
           const v1::ListEscalationsRequest& r = call->request();
           ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, r.plan_id()));
           if (!v1::EscalationState_IsValid(r.state()) || !v1::Level_IsValid(r.level())) {
             return absl::InvalidArgumentError("state/level: unknown value");
           }
           const bool open_wanted = r.open_only() || r.state() == v1::OPEN ||
                                    r.state() == v1::ACKNOWLEDGED;
           const engine::EventLoader load = LogLoader(log_);
           // In the order they opened (esc-2 before esc-10). Closed ones are
           // read back from the log, unless the filters rule them out first.
           for (const std::string& id : plan->EscalationIds()) {
             v1::Escalation closed;
             const v1::Escalation* ep = nullptr;
             if (auto open = plan->escalations.find(id); open != plan->escalations.end()) {
               ep = &*open->second;
             } else {
               auto c = plan->closed_escalations.find(id);
               if (open_wanted || c == plan->closed_escalations.end() ||
                   (r.task_number() != 0 && c->second.task_number != r.task_number()) ||
                   (r.indicator_number() != 0 && c->second.indicator_number != r.indicator_number()) ||
                   (r.year() != 0 && c->second.year != r.year())) {
                 continue;
               }
               ASSIGN_OR_RETURN(closed, plan->FindEscalation(id, load));
               ep = &closed;
             }
             const v1::Escalation& e = *ep;
             const auto& sub = e.subject();
             if ((r.state() != v1::ESCALATION_STATE_UNSPECIFIED && e.state() != r.state()) ||
                 (r.open_only() && !IsOpen(e)) ||
                 (r.level() != v1::LEVEL_UNSPECIFIED && e.level() != r.level()) ||
                 (r.task_number() != 0 && sub.task_number() != r.task_number()) ||
                 (r.indicator_number() != 0 && sub.indicator_number() != r.indicator_number()) ||
                 (r.year() != 0 && sub.year() != r.year()) || !MaySee(who, s, *plan, e).ok()) {
               continue;
             }
             if (!r.agency_id().empty()) {
               const auto agencies = engine::ResponsibleAgencies(*plan, e);
               if (std::find(agencies.begin(), agencies.end(), r.agency_id()) == agencies.end()) {
                 continue;
               }
             }
             v1::Escalation* added = call->response()->add_escalations();
             *added = e;
             added->clear_timeline();  // GetEscalation has it
           }
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* SupervisionServiceImpl::GetEscalation(CallbackServerContext* ctx,
                                                          const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::GetEscalationRequest, v1::Escalation>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kReadPlan,
         [this, call](const engine::State& s, const Principal& who) -> absl::Status {
           const auto& r = call->request();
           ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, r.plan_id()));
           ASSIGN_OR_RETURN(v1::Escalation e,
                            engine::RequireEscalation(*plan, r.escalation_id(), LogLoader(log_),
                                                      /*with_timeline=*/true));
           RETURN_IF_ERROR(MaySee(who, s, *plan, e));
           *call->response() = std::move(e);
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* SupervisionServiceImpl::Acknowledge(CallbackServerContext* ctx,
                                                        const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::AcknowledgeRequest, v1::Escalation>(ctx, in, out, [this](auto* call) {
    const auto state = sequencer_->snapshot();
    std::optional<Principal> who = Authorized(*state, call, Permission::kAcknowledge);
    if (!who) return;
    const v1::AcknowledgeRequest req = call->request();
    // Only an agency the escalation is about acknowledges it (or admin).
    absl::Status may = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(*state, req.plan_id()));
      ASSIGN_OR_RETURN(const v1::Escalation e,
                       engine::RequireEscalation(*plan, req.escalation_id(), LogLoader(log_)));
      return MaySee(*who, *state, *plan, e);
    }();
    if (!may.ok()) return call->Finish(may);
    Submit(sequencer_, call, "Acknowledge", *who, req,
           EscalationChange(req, log_, engine::DecideAcknowledge));
  });
}

ServerUnaryReactor* SupervisionServiceImpl::Resolve(CallbackServerContext* ctx, const ByteBuffer* in,
                                                    ByteBuffer* out) {
  return Serve<v1::ResolveRequest, v1::Escalation>(ctx, in, out, [this](auto* call) {
    const v1::ResolveRequest req = call->request();
    Write(sequencer_, call, "Resolve", Permission::kSupervise,
          EscalationChange(req, log_, engine::DecideResolve));
  });
}

grpc::ServerWriteReactor<v1::Notice>* SupervisionServiceImpl::WatchNotices(
    CallbackServerContext* ctx, const v1::WatchNoticesRequest* req) {
  const auto state = sequencer_->snapshot();
  absl::StatusOr<Principal> who =
      Authenticate(ctx->client_metadata(), ctx->auth_context().get(), *state);
  absl::Status status = who.ok() ? MayWatch(*who, req->recipient()) : who.status();
  if (!status.ok()) {
    class Refused : public grpc::ServerWriteReactor<v1::Notice> {
     public:
      explicit Refused(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
      void OnDone() override { delete this; }
    };
    return new Refused(status);
  }
  return new NoticeStream(hub_, log_, req->recipient(), req->after_seq());
}

ServerUnaryReactor* SupervisionServiceImpl::AddWebhook(CallbackServerContext* ctx, const ByteBuffer* in,
                                                       ByteBuffer* out) {
  return Serve<v1::AddWebhookRequest, v1::Webhook>(ctx, in, out, [this](auto* call) {
    const v1::AddWebhookRequest req = call->request();
    Write(sequencer_, call, "AddWebhook", Permission::kManagePlan,
          MakeCommand(
              [req](const engine::State& s) -> absl::StatusOr<Sequencer::Events> {
                RETURN_IF_ERROR(engine::CheckText("url", req.url(), {2000}));
                if (!absl::StartsWith(req.url(), "http://") &&
                    !absl::StartsWith(req.url(), "https://")) {
                  return absl::InvalidArgumentError("url: must start with http:// or https://");
                }
                if (req.recipients_size() == 0 || req.recipients_size() > 100) {
                  return absl::InvalidArgumentError("recipients: from 1 to 100");
                }
                v1::Event e;
                v1::Webhook* w = e.mutable_webhook_added()->mutable_webhook();
                w->set_id(absl::StrCat("hook-", s.webhooks().size() + 1));
                w->set_url(req.url());
                for (int i = 0; i < req.recipients_size(); ++i) {
                  RETURN_IF_ERROR(MayWatch(Principal::Parse("admin").value(), req.recipients(i)));
                  w->add_recipients(req.recipients(i));
                }
                return Sequencer::Events{e};
              },
              [](const engine::State& s, const Sequencer::Events& events) {
                auto it = s.webhooks().find(events.at(0).webhook_added().webhook().id());
                return it == s.webhooks().end() ? v1::Webhook() : it->second;
              }));
  });
}

ServerUnaryReactor* SupervisionServiceImpl::RemoveWebhook(CallbackServerContext* ctx,
                                                          const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::RemoveWebhookRequest, v1::Webhook>(ctx, in, out, [this](auto* call) {
    const v1::RemoveWebhookRequest req = call->request();
    Write(sequencer_, call, "RemoveWebhook", Permission::kManagePlan,
          MakeCommand(
              [req](const engine::State& s) -> absl::StatusOr<Sequencer::Events> {
                RETURN_IF_ERROR(engine::CheckId("webhook_id", req.webhook_id()));
                auto it = s.webhooks().find(req.webhook_id());
                if (it == s.webhooks().end() || it->second.removed()) {
                  return absl::NotFoundError(
                      absl::StrCat("webhook \"", req.webhook_id(), "\" not found"));
                }
                v1::Event e;
                e.mutable_webhook_removed()->set_webhook_id(req.webhook_id());
                return Sequencer::Events{e};
              },
              [req](const engine::State& s, const Sequencer::Events&) {
                return s.webhooks().at(req.webhook_id());
              }));
  });
}

ServerUnaryReactor* SupervisionServiceImpl::ListWebhooks(CallbackServerContext* ctx,
                                                         const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::ListWebhooksRequest, v1::ListWebhooksResponse>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kManagePlan,
         [call](const engine::State& s, const Principal&) -> absl::Status {
           for (const auto& [_, w] : s.webhooks()) *call->response()->add_webhooks() = w;
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* SupervisionServiceImpl::GetClock(CallbackServerContext* ctx, const ByteBuffer* in,
                                                     ByteBuffer* out) {
  return Serve<v1::GetClockRequest, v1::Clock>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kReadPlan,
         [this, call](const engine::State&, const Principal&) -> absl::Status {
           *call->response() = ClockAt(clock_->Now(), simulated_);
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* SupervisionServiceImpl::AdvanceClock(CallbackServerContext* ctx,
                                                         const ByteBuffer* in, ByteBuffer* out) {
  return Serve<v1::AdvanceClockRequest, v1::Clock>(ctx, in, out, [this](auto* call) {
    if (!simulated_) {
      return call->Finish(absl::FailedPreconditionError(
          "the server runs on the system clock: start it with --simulated_clock to move time"));
    }
    const v1::AdvanceClockRequest req = call->request();
    Sequencer::Command cmd;
    cmd.decide = [req](const engine::State&, absl::Time now) -> absl::StatusOr<Sequencer::Events> {
      const int64_t now_us = absl::ToUnixMicros(now);
      if ((req.by_seconds() != 0) == (req.to_micros() != 0)) {
        return absl::InvalidArgumentError("by_seconds/to_micros: give exactly one");
      }
      if (req.by_seconds() < 0 || req.by_seconds() > 20LL * 366 * 86400) {
        return absl::InvalidArgumentError("by_seconds: from 1 second to 20 years");
      }
      const int64_t to = req.by_seconds() != 0 ? now_us + req.by_seconds() * 1000000 : req.to_micros();
      if (to < now_us) {
        return absl::InvalidArgumentError("to_micros: the clock does not go backwards");
      }
      v1::Event e;
      e.mutable_clock_advanced()->set_now_micros(to);
      return Sequencer::Events{e};
    };
    cmd.respond = [](const engine::State& s, const Sequencer::Events&) {
      return ClockAt(absl::FromUnixMicros(s.simulated_now_micros()), true).SerializeAsString();
    };
    Write(sequencer_, call, "AdvanceClock", Permission::kManagePlan, std::move(cmd));
  });
}

}  // namespace duban::services
