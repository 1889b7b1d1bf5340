#include "services/assignment_service.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/plan_parser.h"
#include "engine/validate.h"
#include "services/auth.h"
#include "services/grpc_status.h"
#include "storage/status_macros.h"

namespace duban::services {

using duban::v1::Event;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

ServerUnaryReactor* Finish(CallbackServerContext* ctx, const absl::Status& status) {
  ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::StatusOr<Principal> Caller(CallbackServerContext* ctx, const engine::State& state,
                                 Permission permission) {
  ASSIGN_OR_RETURN(Principal who, Authenticate(ctx->client_metadata(), state));
  RETURN_IF_ERROR(Authorize(who, permission));
  return who;
}

// Authenticates and authorizes a read, then answers from the snapshot.
template <typename Fn>
ServerUnaryReactor* Read(Sequencer* seq, CallbackServerContext* ctx, Fn fn,
                         Permission permission = Permission::kReadPlan) {
  const std::shared_ptr<const engine::State> state = seq->snapshot();
  absl::Status status = Caller(ctx, *state, permission).status();
  return Finish(ctx, status.ok() ? fn(*state) : status);
}

// Authenticates and authorizes a write, checks its request id, and hands the
// command to the sequencer; the RPC is answered when the events are durable.
template <typename Request, typename Response>
ServerUnaryReactor* Write(Sequencer* seq, CallbackServerContext* ctx, const char* method,
                          const Request& req, Response* resp, Sequencer::Command cmd) {
  absl::StatusOr<Principal> who = Caller(ctx, *seq->snapshot(), Permission::kManagePlan);
  if (!who.ok()) return Finish(ctx, who.status());
  absl::Status valid_id = engine::CheckRequestId("request_id", req.request_id());
  if (!valid_id.ok()) return Finish(ctx, valid_id);
  ServerUnaryReactor* reactor = ctx->DefaultReactor();
  cmd.principal = who->name();
  cmd.method = method;
  cmd.request_id = req.request_id();
  cmd.request_bytes = req.SerializeAsString();
  cmd.done = [reactor, resp](absl::StatusOr<std::string> answer) {
    if (answer.ok() && !resp->ParseFromString(*answer)) {
      answer = absl::InternalError("stored answer does not parse");
    }
    reactor->Finish(ToGrpcStatus(answer.status()));
  };
  seq->Submit(std::move(cmd));
  return reactor;
}

// The task as it stands after a responsibility command.
Sequencer::Command TaskCommand(
    std::string plan_id, int32_t task_number,
    std::function<absl::StatusOr<Sequencer::Events>(const engine::State&)> decide) {
  Sequencer::Command cmd;
  cmd.decide = [decide = std::move(decide)](const engine::State& s, absl::Time) {
    return decide(s);
  };
  cmd.respond = [plan_id = std::move(plan_id), task_number](const engine::State& s,
                                                            const Sequencer::Events&) {
    const engine::PlanState* plan = s.FindPlan(plan_id);
    const duban::v1::Task* task = plan ? plan->FindTask(task_number) : nullptr;
    return task ? task->SerializeAsString() : std::string();
  };
  return cmd;
}

absl::StatusOr<engine::ParsedPlan> DocumentOf(const duban::v1::ImportPlanRequest& req) {
  RETURN_IF_ERROR(engine::CheckId("plan_id", req.plan_id()));
  switch (req.content_case()) {
    case duban::v1::ImportPlanRequest::kDocument: {
      engine::ParsedPlan parsed;
      parsed.document = req.document();
      if (parsed.document.plan_id().empty()) parsed.document.set_plan_id(req.plan_id());
      if (parsed.document.plan_id() != req.plan_id()) {
        return absl::InvalidArgumentError(absl::StrCat("document.plan_id: \"",
                                                       parsed.document.plan_id(),
                                                       "\" differs from plan_id \"",
                                                       req.plan_id(), "\""));
      }
      return parsed;
    }
    case duban::v1::ImportPlanRequest::kSource:
      RETURN_IF_ERROR(engine::CheckText("source.text", req.source().text(),
                                        {engine::kMaxSourceTextBytes, true, true}));
      if (req.source().registry().agencies_size() == 0) {
        return absl::InvalidArgumentError("source.registry: must list the plan's agencies");
      }
      return engine::ParsePlanText(req.source().text(), req.source().registry(), req.plan_id());
    default:
      return absl::InvalidArgumentError("content: give either document or source");
  }
}

void FillImportResponse(const engine::State& s, const std::string& plan_id,
                        const engine::ImportDecision& d, const Sequencer::Events& events,
                        duban::v1::ImportPlanResponse* out) {
  if (const engine::PlanState* plan = s.FindPlan(plan_id)) *out->mutable_plan() = plan->Summary();
  for (const auto& w : d.warnings) *out->add_warnings() = w;
  for (const auto& c : d.changes) *out->add_changes() = c;
  out->set_changed(!events.empty());
  if (!events.empty()) {
    out->set_first_seq(events.front().seq());
    out->set_last_seq(events.back().seq());
  }
}

}  // namespace

Sequencer::Command ImportPlanCommand(duban::v1::PlanDocument doc,
                                     std::vector<duban::v1::ImportWarning> warnings) {
  auto decision = std::make_shared<engine::ImportDecision>();
  const std::string plan_id = doc.plan_id();
  Sequencer::Command cmd;
  cmd.decide = [decision, doc = std::move(doc), warnings = std::move(warnings)](
                   const engine::State& s, absl::Time) -> absl::StatusOr<Sequencer::Events> {
    ASSIGN_OR_RETURN(*decision, engine::DecideImport(s, doc, warnings));
    return decision->events;
  };
  cmd.respond = [decision, plan_id](const engine::State& s, const Sequencer::Events& events) {
    duban::v1::ImportPlanResponse resp;
    FillImportResponse(s, plan_id, *decision, events, &resp);
    return resp.SerializeAsString();
  };
  return cmd;
}

ServerUnaryReactor* AssignmentServiceImpl::ImportPlan(CallbackServerContext* ctx,
                                                      const duban::v1::ImportPlanRequest* req,
                                                      duban::v1::ImportPlanResponse* resp) {
  // Authenticate before spending any work on the request.
  absl::Status allowed = Caller(ctx, *sequencer_->snapshot(), Permission::kManagePlan).status();
  if (!allowed.ok()) return Finish(ctx, allowed);
  absl::StatusOr<engine::ParsedPlan> parsed = DocumentOf(*req);
  if (!parsed.ok()) return Finish(ctx, parsed.status());
  if (req->dry_run()) {
    return Read(sequencer_, ctx, [&](const engine::State& s) -> absl::Status {
      ASSIGN_OR_RETURN(engine::ImportDecision d,
                       engine::DecideImport(s, parsed->document, parsed->warnings));
      FillImportResponse(s, req->plan_id(), d, {}, resp);
      resp->set_changed(!d.events.empty());
      return absl::OkStatus();
    }, Permission::kManagePlan);
  }
  return Write(sequencer_, ctx, "ImportPlan", *req, resp,
               ImportPlanCommand(std::move(parsed->document), std::move(parsed->warnings)));
}

ServerUnaryReactor* AssignmentServiceImpl::GetPlan(CallbackServerContext* ctx,
                                                   const duban::v1::GetPlanRequest* req,
                                                   duban::v1::Plan* resp) {
  return Read(sequencer_, ctx, [&](const engine::State& s) -> absl::Status {
    ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req->plan_id()));
    *resp = plan->Summary();
    return absl::OkStatus();
  });
}

ServerUnaryReactor* AssignmentServiceImpl::ListTasks(CallbackServerContext* ctx,
                                                     const duban::v1::ListTasksRequest* req,
                                                     duban::v1::ListTasksResponse* resp) {
  return Read(sequencer_, ctx, [&](const engine::State& s) -> absl::Status {
    ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req->plan_id()));
    if (!req->agency_id().empty()) {
      RETURN_IF_ERROR(engine::RequireAgency(*plan, req->agency_id()).status());
    }
    if (!duban::v1::Role_IsValid(req->role())) {
      return absl::InvalidArgumentError(absl::StrCat("role: unknown role ", req->role()));
    }
    if (req->page_size() < 0 || req->page_size() > kMaxPageSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("page_size: must be from 0 to ", kMaxPageSize, " (0 means ",
                       kDefaultPageSize, ")"));
    }
    int32_t after = 0;
    if (!req->page_token().empty() && (!absl::SimpleAtoi(req->page_token(), &after) || after < 0)) {
      return absl::InvalidArgumentError("page_token: not a token from a previous ListTasks");
    }
    const int page_size = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
    int total = 0;
    for (const auto& [number, task] : plan->tasks) {
      const bool match = std::any_of(
          task.responsibilities().begin(), task.responsibilities().end(), [&](const auto& r) {
            return (req->agency_id().empty() || r.agency_id() == req->agency_id()) &&
                   (req->role() == duban::v1::ROLE_UNSPECIFIED || r.role() == req->role());
          });
      if (!match) continue;
      ++total;
      if (number <= after) continue;
      if (resp->tasks_size() < page_size) {
        *resp->add_tasks() = task;
      } else if (resp->next_page_token().empty()) {
        resp->set_next_page_token(absl::StrCat(resp->tasks(resp->tasks_size() - 1).number()));
      }
    }
    resp->set_total_size(total);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* AssignmentServiceImpl::GetTask(CallbackServerContext* ctx,
                                                   const duban::v1::GetTaskRequest* req,
                                                   duban::v1::Task* resp) {
  return Read(sequencer_, ctx, [&](const engine::State& s) -> absl::Status {
    ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req->plan_id()));
    ASSIGN_OR_RETURN(const duban::v1::Task* task, engine::RequireTask(*plan, req->number()));
    *resp = *task;
    return absl::OkStatus();
  });
}

ServerUnaryReactor* AssignmentServiceImpl::ListAgencies(CallbackServerContext* ctx,
                                                        const duban::v1::ListAgenciesRequest* req,
                                                        duban::v1::ListAgenciesResponse* resp) {
  return Read(sequencer_, ctx, [&](const engine::State& s) -> absl::Status {
    ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req->plan_id()));
    for (const std::string& id : plan->agency_order) *resp->add_agencies() = plan->agencies.at(id);
    for (const auto& [_, g] : plan->groups) *resp->add_groups() = g;
    return absl::OkStatus();
  });
}

ServerUnaryReactor* AssignmentServiceImpl::ListIndicators(
    CallbackServerContext* ctx, const duban::v1::ListIndicatorsRequest* req,
    duban::v1::ListIndicatorsResponse* resp) {
  return Read(sequencer_, ctx, [&](const engine::State& s) -> absl::Status {
    ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req->plan_id()));
    for (const auto& [_, ind] : plan->indicators) *resp->add_indicators() = ind;
    return absl::OkStatus();
  });
}

ServerUnaryReactor* AssignmentServiceImpl::AssignResponsibility(
    CallbackServerContext* ctx, const duban::v1::AssignResponsibilityRequest* req,
    duban::v1::Task* resp) {
  return Write(sequencer_, ctx, "AssignResponsibility", *req, resp,
               TaskCommand(req->plan_id(), req->task_number(),
                           [r = *req](const engine::State& s) { return engine::DecideAssign(s, r); }));
}

ServerUnaryReactor* AssignmentServiceImpl::RevokeResponsibility(
    CallbackServerContext* ctx, const duban::v1::RevokeResponsibilityRequest* req,
    duban::v1::Task* resp) {
  return Write(sequencer_, ctx, "RevokeResponsibility", *req, resp,
               TaskCommand(req->plan_id(), req->task_number(),
                           [r = *req](const engine::State& s) { return engine::DecideRevoke(s, r); }));
}

}  // namespace duban::services
