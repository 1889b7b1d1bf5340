#include "services/admin_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/validate.h"
#include "services/clock.h"
#include "services/rpc.h"
#include "storage/status_macros.h"

namespace duban::services {

using duban::v1::Credential;
using duban::v1::GetServerStatsRequest;
using duban::v1::PingRequest;
using duban::v1::PingResponse;
using duban::v1::ServerStats;
using duban::v1::IssueCredentialRequest;
using duban::v1::ListCredentialsRequest;
using duban::v1::ListCredentialsResponse;
using duban::v1::RevokeCredentialRequest;
using grpc::ByteBuffer;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

namespace {

Credential ToProto(const engine::Credential& c) {
  Credential out;
  out.set_credential_id(c.credential_id);
  out.set_principal(c.principal);
  out.set_label(c.label);
  out.set_revoked(c.revoked);
  out.set_issued_seq(c.issued_seq);
  out.set_revoked_seq(c.revoked_seq);
  out.set_plan_id(c.plan_id);
  return out;
}

bool IsHexSha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<Sequencer::Events> DecideIssue(const engine::State& s,
                                              const IssueCredentialRequest& req) {
  ASSIGN_OR_RETURN(Principal p, Principal::Parse(req.principal()));
  if (p.kind == Principal::Kind::kSystem) {
    return absl::InvalidArgumentError("principal: \"system\" is not issued credentials");
  }
  if (p.kind == Principal::Kind::kAgency) {
    if (req.plan_id().empty()) {
      return absl::InvalidArgumentError("plan_id: required for an agency principal");
    }
    ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
    RETURN_IF_ERROR(engine::RequireAgency(*plan, p.agency_id).status());
  }
  if (!IsHexSha256(req.token_sha256())) {
    return absl::InvalidArgumentError(
        "token_sha256: must be the token's SHA-256 as 64 lowercase hex characters");
  }
  if (s.FindCredentialByHash(req.token_sha256()) != nullptr) {
    return absl::AlreadyExistsError("token_sha256: a credential with this token exists");
  }
  const std::string id = absl::StrCat("cred-", req.token_sha256().substr(0, 16));
  return engine::DecideIssueCredential(s, id, p.name(), req.token_sha256(), req.label(),
                                       p.kind == Principal::Kind::kAgency ? req.plan_id() : "");
}

absl::StatusOr<Sequencer::Events> DecideRevoke(const engine::State& s,
                                               const RevokeCredentialRequest& req) {
  RETURN_IF_ERROR(engine::CheckId("credential_id", req.credential_id()));
  RETURN_IF_ERROR(engine::CheckText("reason", req.reason(), {engine::kMaxReasonBytes, true, true}));
  const engine::Credential* c = s.FindCredential(req.credential_id());
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("credential \"", req.credential_id(), "\" not found"));
  }
  if (c->revoked) {
    return absl::FailedPreconditionError(
        absl::StrCat("credential ", c->credential_id, " is already revoked"));
  }
  if (c->principal == "admin") {
    int active_admins = 0;
    for (const auto& [_, other] : s.credentials()) {
      active_admins += other.principal == "admin" && !other.revoked;
    }
    if (active_admins <= 1) {
      return absl::FailedPreconditionError(
          "the last active admin credential cannot be revoked: issue another first");
    }
  }
  duban::v1::Event e;
  e.mutable_credential_revoked()->set_credential_id(c->credential_id);
  e.mutable_credential_revoked()->set_reason(req.reason());
  return Sequencer::Events{std::move(e)};
}

// The credential as it stands after the command.
Credential Answer(const engine::State& s, const std::string& credential_id) {
  const engine::Credential* c = s.FindCredential(credential_id);
  return c ? ToProto(*c) : Credential();
}

}  // namespace

ServerUnaryReactor* AdminServiceImpl::IssueCredential(CallbackServerContext* ctx,
                                                      const ByteBuffer* in, ByteBuffer* out) {
  return Serve<IssueCredentialRequest, Credential>(ctx, in, out, [this](auto* call) {
    const IssueCredentialRequest req = call->request();
    Write(sequencer_, call, "IssueCredential", Permission::kManageCredentials,
          MakeCommand([req](const engine::State& s) { return DecideIssue(s, req); },
                      [](const engine::State& s, const Sequencer::Events& events) {
                        return Answer(s, events.at(0).credential_issued().credential_id());
                      }));
  });
}

ServerUnaryReactor* AdminServiceImpl::RevokeCredential(CallbackServerContext* ctx,
                                                       const ByteBuffer* in, ByteBuffer* out) {
  return Serve<RevokeCredentialRequest, Credential>(ctx, in, out, [this](auto* call) {
    const RevokeCredentialRequest req = call->request();
    Write(sequencer_, call, "RevokeCredential", Permission::kManageCredentials,
          MakeCommand([req](const engine::State& s) { return DecideRevoke(s, req); },
                      [req](const engine::State& s, const Sequencer::Events&) {
                        return Answer(s, req.credential_id());
                      }));
  });
}

ServerUnaryReactor* AdminServiceImpl::ListCredentials(CallbackServerContext* ctx,
                                                      const ByteBuffer* in, ByteBuffer* out) {
  return Serve<ListCredentialsRequest, ListCredentialsResponse>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kManageCredentials,
         [call](const engine::State& s, const Principal&) -> absl::Status {
           for (const auto& [_, c] : s.credentials()) *call->response()->add_credentials() = ToProto(c);
           return absl::OkStatus();
         });
  });
}

// No credential and no state: only the request path every unary method
// shares (parse, reactor, serialize).
ServerUnaryReactor* AdminServiceImpl::Ping(CallbackServerContext* ctx, const ByteBuffer* in,
                                           ByteBuffer* out) {
  return Serve<PingRequest, PingResponse>(ctx, in, out,
                                          [](auto* call) { call->Finish(absl::OkStatus()); });
}

ServerUnaryReactor* AdminServiceImpl::GetServerStats(CallbackServerContext* ctx,
                                                     const ByteBuffer* in, ByteBuffer* out) {
  return Serve<GetServerStatsRequest, ServerStats>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kServerStats,
         [this, call](const engine::State& s, const Principal&) -> absl::Status {
           const Sequencer::Stats stats = sequencer_->stats();
           ServerStats* out = call->response();
           duban::v1::GroupCommitStats* g = out->mutable_group_commit();
           g->set_groups(stats.batches);
           g->set_commands(stats.commands);
           g->set_events(stats.events);
           g->set_max_commands_in_group(stats.max_group);
           for (uint64_t n : stats.group_sizes) g->add_commands_per_group(n);
           out->set_head_seq(s.seq());
           out->set_queued_commands(sequencer_->queued());
           out->set_process_cpu_micros(static_cast<uint64_t>(ProcessCpuMicros()));
           return absl::OkStatus();
         });
  });
}

}  // namespace duban::services
