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
#include "services/rpc.h"
#include "services/grpc_status.h"
#include "storage/status_macros.h"

namespace duban::services {

using duban::v1::Event;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

// The task as it stands after a responsibility command.
Sequencer::Command TaskCommand(
    std::string plan_id, int32_t task_number,
    std::function<absl::StatusOr<Sequencer::Events>(const engine::State&)> decide) {
  return MakeCommand(std::move(decide), [plan_id = std::move(plan_id), task_number](
                                            const engine::State& s, const Sequencer::Events&) {
    const engine::PlanState* plan = s.FindPlan(plan_id);
    const duban::v1::Task* task = plan ? plan->FindTask(task_number) : nullptr;
    return task ? *task : duban::v1::Task();
  });
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
      {
        ASSIGN_OR_RETURN(engine::ParsedPlan parsed,
                         engine::ParsePlanText(req.source().text(), req.source().registry(),
                                               req.plan_id()));
        if (req.source().has_indicator_agencies()) {
          RETURN_IF_ERROR(engine::ApplyIndicatorAgencies(req.source().indicator_agencies(),
                                                         req.source().registry(),
                                                         &parsed.document, &parsed.warnings));
        }
        return parsed;
      }
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

using duban::v1::AssignResponsibilityRequest;
using duban::v1::GetPlanRequest;
using duban::v1::GetTaskRequest;
using duban::v1::ImportPlanRequest;
using duban::v1::ImportPlanResponse;
using duban::v1::ListAgenciesRequest;
using duban::v1::ListAgenciesResponse;
using duban::v1::ListIndicatorsRequest;
using duban::v1::ListIndicatorsResponse;
using duban::v1::ListTasksRequest;
using duban::v1::ListTasksResponse;
using duban::v1::RevokeResponsibilityRequest;
using grpc::ByteBuffer;

ServerUnaryReactor* AssignmentServiceImpl::ImportPlan(CallbackServerContext* ctx,
                                                      const ByteBuffer* in, ByteBuffer* out) {
  return Serve<ImportPlanRequest, ImportPlanResponse>(ctx, in, out, [this](auto* call) {
    // Authenticate before spending any work on the request.
    std::optional<Principal> who =
        Authorized(*sequencer_->snapshot(), call, Permission::kManagePlan);
    if (!who) return;
    absl::StatusOr<engine::ParsedPlan> parsed = DocumentOf(call->request());
    if (!parsed.ok()) return call->Finish(parsed.status());
    if (call->request().dry_run()) {
      return Read(sequencer_, call, Permission::kManagePlan,
                  [&](const engine::State& s, const Principal&) -> absl::Status {
                    ASSIGN_OR_RETURN(engine::ImportDecision d,
                                     engine::DecideImport(s, parsed->document, parsed->warnings));
                    FillImportResponse(s, call->request().plan_id(), d, {}, call->response());
                    call->response()->set_changed(!d.events.empty());
                    return absl::OkStatus();
                  });
    }
    Submit(sequencer_, call, "ImportPlan", *who, call->request(),
           ImportPlanCommand(std::move(parsed->document), std::move(parsed->warnings)));
  });
}

ServerUnaryReactor* AssignmentServiceImpl::GetPlan(CallbackServerContext* ctx, const ByteBuffer* in,
                                                   ByteBuffer* out) {
  return Serve<GetPlanRequest, duban::v1::Plan>(ctx, in, out, [this](auto* call) {
    const GetPlanRequest& req = call->request();
    duban::v1::Plan* resp = call->response();
    Read(sequencer_, call, Permission::kReadPlan,
         [&](const engine::State& s, const Principal&) -> absl::Status {
      ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
      *resp = plan->Summary();
      return absl::OkStatus();
    });
  });
}

namespace {

absl::Status ListTasksFrom(const engine::State& s, const ListTasksRequest& req,
                           ListTasksResponse* resp) {
  ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
  if (!req.agency_id().empty()) {
    RETURN_IF_ERROR(engine::RequireAgency(*plan, req.agency_id()).status());
  }
  if (!duban::v1::Role_IsValid(req.role())) {
    return absl::InvalidArgumentError(absl::StrCat("role: unknown role ", req.role()));
  }
  if (req.page_size() < 0 || req.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: must be from 0 to ", kMaxPageSize,
                                                   " (0 means ", kDefaultPageSize, ")"));
  }
  int32_t after = 0;
  if (!req.page_token().empty() && (!absl::SimpleAtoi(req.page_token(), &after) || after < 0)) {
    return absl::InvalidArgumentError("page_token: not a token from a previous ListTasks");
  }
  const int page_size = req.page_size() == 0 ? kDefaultPageSize : req.page_size();
  int total = 0;
  for (const auto& [number, task] : plan->tasks) {
    const bool match = std::any_of(
        task.responsibilities().begin(), task.responsibilities().end(), [&](const auto& r) {
          return (req.agency_id().empty() || r.agency_id() == req.agency_id()) &&
                 (req.role() == duban::v1::ROLE_UNSPECIFIED || r.role() == req.role());
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
}

}  // namespace

ServerUnaryReactor* AssignmentServiceImpl::ListTasks(CallbackServerContext* ctx,
                                                     const ByteBuffer* in, ByteBuffer* out) {
  return Serve<ListTasksRequest, ListTasksResponse>(
      ctx, in, out, [this](auto* call) {
        Read(sequencer_, call, Permission::kReadPlan, [call](const engine::State& s, const Principal&) {
          return ListTasksFrom(s, call->request(), call->response());
        });
      });
}

ServerUnaryReactor* AssignmentServiceImpl::GetTask(CallbackServerContext* ctx, const ByteBuffer* in,
                                                   ByteBuffer* out) {
  return Serve<GetTaskRequest, duban::v1::Task>(ctx, in, out, [this](auto* call) {
    const GetTaskRequest& req = call->request();
    duban::v1::Task* resp = call->response();
    Read(sequencer_, call, Permission::kReadPlan,
         [&](const engine::State& s, const Principal&) -> absl::Status {
      ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
      ASSIGN_OR_RETURN(const duban::v1::Task* task, engine::RequireTask(*plan, req.number(), "number"));
      *resp = *task;
      return absl::OkStatus();
    });
  });
}

ServerUnaryReactor* AssignmentServiceImpl::ListAgencies(CallbackServerContext* ctx,
                                                        const ByteBuffer* in, ByteBuffer* out) {
  return Serve<ListAgenciesRequest, ListAgenciesResponse>(ctx, in, out, [this](auto* call) {
    const ListAgenciesRequest& req = call->request();
    ListAgenciesResponse* resp = call->response();
    Read(sequencer_, call, Permission::kReadPlan,
         [&](const engine::State& s, const Principal&) -> absl::Status {
      ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
      for (const std::string& id : *plan->agency_order) *resp->add_agencies() = plan->agencies.at(id);
      for (const auto& [_, g] : plan->groups) *resp->add_groups() = g;
      return absl::OkStatus();
    });
  });
}

ServerUnaryReactor* AssignmentServiceImpl::ListIndicators(CallbackServerContext* ctx,
                                                          const ByteBuffer* in, ByteBuffer* out) {
  return Serve<ListIndicatorsRequest, ListIndicatorsResponse>(ctx, in, out, [this](auto* call) {
    const ListIndicatorsRequest& req = call->request();
    ListIndicatorsResponse* resp = call->response();
    Read(sequencer_, call, Permission::kReadPlan,
         [&](const engine::State& s, const Principal&) -> absl::Status {
      ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
      for (const auto& [_, ind] : plan->indicators) *resp->add_indicators() = ind;
      return absl::OkStatus();
    });
  });
}

ServerUnaryReactor* AssignmentServiceImpl::AssignResponsibility(CallbackServerContext* ctx,
                                                                const ByteBuffer* in,
                                                                ByteBuffer* out) {
  return Serve<AssignResponsibilityRequest, duban::v1::Task>(ctx, in, out, [this](auto* call) {
    const auto& r = call->request();
    Write(sequencer_, call, "AssignResponsibility", Permission::kManagePlan,
          TaskCommand(r.plan_id(), r.task_number(),
                      [r](const engine::State& s) { return engine::DecideAssign(s, r); }));
  });
}

ServerUnaryReactor* AssignmentServiceImpl::RevokeResponsibility(CallbackServerContext* ctx,
                                                                const ByteBuffer* in,
                                                                ByteBuffer* out) {
  return Serve<RevokeResponsibilityRequest, duban::v1::Task>(ctx, in, out, [this](auto* call) {
    const auto& r = call->request();
    Write(sequencer_, call, "RevokeResponsibility", Permission::kManagePlan,
          TaskCommand(r.plan_id(), r.task_number(),
                      [r](const engine::State& s) { return engine::DecideRevoke(s, r); }));
  });
}

}  // namespace duban::services
