// What every service handler does around its own logic: authenticate and
// authorize the caller, answer reads from the published state snapshot, and
// hand writes to the sequencer (answered once durable).
//
//   return Serve<GetPlanRequest, Plan>(ctx, in, out, [this](auto* call) {
//     Read(sequencer_, call, Permission::kReadPlan,
//          [&](const engine::State& s, const Principal& who) -> absl::Status { ... });
//   });
#ifndef DUBAN_SERVICES_RPC_H_
#define DUBAN_SERVICES_RPC_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/state.h"
#include "engine/validate.h"
#include "services/auth.h"
#include "services/sequencer.h"
#include "services/unary_call.h"

namespace duban::services {

// Reads one event back from the log by seq (earlier report revisions,
// timelines and closed escalations, which the state does not keep): a point
// lookup each.
inline engine::EventLoader LogLoader(const storage::EventLog* log) {
  return [log](uint64_t seq) -> absl::StatusOr<duban::v1::Event> { return log->ReadEvent(seq); };
}

// An agency principal acts only within its own plan (a token is bound to the
// plan it was issued for) and only if that plan lists it.
inline absl::Status CheckAgencyInPlan(const Principal& who, const engine::State& state,
                               const std::string& plan_id) {
  if (who.kind != Principal::Kind::kAgency) return absl::OkStatus();
  if (!who.plan_id.empty() && who.plan_id != plan_id) {
    return absl::PermissionDeniedError(absl::StrCat(
        who.name(), "'s credential is for plan \"", who.plan_id, "\", not this one"));
  }
  const engine::PlanState* plan = state.FindPlan(plan_id);
  if (plan != nullptr && plan->FindAgency(who.agency_id) == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat(who.name(), " is not an agency of plan \"", plan_id, "\""));
  }
  return absl::OkStatus();
}

// The authenticated, authorized caller, or the call finished with the error.
template <typename Call>
std::optional<Principal> Authorized(const engine::State& state, Call* call,
                                    Permission permission) {
  grpc::CallbackServerContext* ctx = call->context();
  absl::StatusOr<Principal> who =
      Authenticate(ctx->client_metadata(), ctx->auth_context().get(), state);
  absl::Status status = who.ok() ? Authorize(*who, permission) : who.status();
  if (!status.ok()) {
    call->Finish(status);
    return std::nullopt;
  }
  return *std::move(who);
}

// Answers from the current snapshot: fn(state, principal) -> absl::Status,
// filling call->response().
template <typename Call, typename Fn>
void Read(Sequencer* seq, Call* call, Permission permission, Fn fn) {
  const std::shared_ptr<const engine::State> state = seq->snapshot();
  std::optional<Principal> who = Authorized(*state, call, permission);
  if (!who) return;
  call->Finish(fn(*state, *who));
}

// Checks the request id and submits `cmd` on behalf of `who`; the answer the
// command builds becomes the response once its events are durable. A retry is
// recognised by `fingerprinted` (the request as the command will use it).
template <typename Call>
void Submit(Sequencer* seq, Call* call, const char* method, const Principal& who,
            const google::protobuf::Message& fingerprinted, Sequencer::Command cmd) {
  const auto& req = call->request();
  absl::Status valid_id = engine::CheckRequestId("request_id", req.request_id());
  if (!valid_id.ok()) return call->Finish(valid_id);
  cmd.principal = who.name();
  cmd.method = method;
  cmd.request_id = req.request_id();
  cmd.request_bytes = fingerprinted.SerializeAsString();
  cmd.done = [call](absl::StatusOr<std::string> answer) {
    if (answer.ok()) return call->FinishWithBytes(*answer);  // the response's own bytes
    call->Finish(answer.status());
  };
  seq->Submit(std::move(cmd));
}

// Authenticates, authorizes and submits: for writes whose command does not
// depend on who calls.
template <typename Call>
void Write(Sequencer* seq, Call* call, const char* method, Permission permission,
           Sequencer::Command cmd) {
  std::optional<Principal> who = Authorized(*seq->snapshot(), call, permission);
  if (who) Submit(seq, call, method, *who, call->request(), std::move(cmd));
}

// A command whose events come from `decide` and whose answer is `answer`'s
// serialization, both run on the writer with the state at that point.
template <typename Decide, typename Answer>
Sequencer::Command MakeCommand(Decide decide, Answer answer) {
  Sequencer::Command cmd;
  cmd.decide = [decide = std::move(decide)](const engine::State& s, absl::Time) {
    return decide(s);
  };
  cmd.respond = [answer = std::move(answer)](const engine::State& s,
                                             const Sequencer::Events& events) {
    return answer(s, events).SerializeAsString();
  };
  return cmd;
}

}  // namespace duban::services

#endif  // DUBAN_SERVICES_RPC_H_
