#include "services/reporting_service.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/reporting.h"
#include "engine/validate.h"
#include "services/rpc.h"
#include "storage/status_macros.h"

namespace duban::services {

using duban::v1::GetIndicatorSeriesRequest;
using duban::v1::GetTaskProgressRequest;
using duban::v1::IndicatorSeries;
using duban::v1::IndicatorValue;
using duban::v1::ListMissingReportsRequest;
using duban::v1::MissingReports;
using duban::v1::ProgressReport;
using duban::v1::SubmitIndicatorValueRequest;
using duban::v1::SubmitProgressRequest;
using duban::v1::TaskProgress;
using grpc::ByteBuffer;
using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

namespace {

// The agency a write is for: an agency's credential reports for itself (the
// request may repeat its id); admin must name the agency it reports for.
absl::StatusOr<std::string> ReportingAgency(const Principal& who, const engine::State& state,
                                            const std::string& plan_id,
                                            const std::string& requested) {
  if (!requested.empty()) RETURN_IF_ERROR(engine::CheckId("agency_id", requested));
  if (who.kind == Principal::Kind::kAgency) {
    RETURN_IF_ERROR(engine::CheckId("plan_id", plan_id));
    RETURN_IF_ERROR(CheckAgencyInPlan(who, state, plan_id));
    if (!requested.empty() && requested != who.agency_id) {
      return absl::PermissionDeniedError(absl::StrCat(
          who.name(), " may report only for itself, not for \"", requested, "\""));
    }
    return who.agency_id;
  }
  if (requested.empty()) {
    return absl::InvalidArgumentError(
        "agency_id: required when reporting on an agency's behalf with the admin credential");
  }
  return requested;
}

// Reads of one task's or indicator's reports: everything for supervisors,
// auditors and admin; an agency only what it holds a role in / answers for,
// in its own plan.
absl::Status MayReadTask(const Principal& who, const engine::State& state,
                         const duban::v1::Task& task) {
  if (who.kind != Principal::Kind::kAgency) return absl::OkStatus();
  RETURN_IF_ERROR(CheckAgencyInPlan(who, state, task.plan_id()));
  if (engine::FindResponsibility(task, who.agency_id) != nullptr) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(who.name(), " holds no role on task ",
                                                  task.number(), ": it reads only its own tasks"));
}

absl::Status MayReadIndicator(const Principal& who, const engine::State& state,
                              const duban::v1::Indicator& ind) {
  if (who.kind != Principal::Kind::kAgency) return absl::OkStatus();
  RETURN_IF_ERROR(CheckAgencyInPlan(who, state, ind.plan_id()));
  if (engine::AnswersFor(ind, who.agency_id)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      who.name(), " does not answer for indicator ", ind.number(), ": it reads only its own"));
}

// The request with the agency filled in, submitted as its own command; the
// answer is the record the event added (latest revision).
template <typename Request, typename Call, typename Decide, typename Answer>
void SubmitReport(Sequencer* seq, Call* call, const char* method, Decide decide, Answer answer) {
  const std::shared_ptr<const engine::State> state = seq->snapshot();
  std::optional<Principal> who = Authorized(*state, call, Permission::kReport);
  if (!who) return;
  absl::StatusOr<std::string> agency =
      ReportingAgency(*who, *state, call->request().plan_id(), call->request().agency_id());
  if (!agency.ok()) return call->Finish(agency.status());
  Request req = call->request();
  req.set_agency_id(*agency);
  // The normalised request is what a retry is compared with.
  Submit(seq, call, method, *who, req,
         MakeCommand([req, decide](const engine::State& s) { return decide(s, req); },
                     [req, answer](const engine::State& s, const Sequencer::Events&) {
                       return answer(*s.FindPlan(req.plan_id()), req);
                     }));
}

}  // namespace

ServerUnaryReactor* ReportingServiceImpl::SubmitProgress(CallbackServerContext* ctx,
                                                         const ByteBuffer* in, ByteBuffer* out) {
  return Serve<SubmitProgressRequest, ProgressReport>(ctx, in, out, [this](auto* call) {
    SubmitReport<SubmitProgressRequest>(
        sequencer_, call, "SubmitProgress", engine::DecideSubmitProgress,
        [](const engine::PlanState& plan, const SubmitProgressRequest& req) {
          return *plan.LatestReport(req.task_number(), req.year(), req.agency_id());
        });
  });
}

ServerUnaryReactor* ReportingServiceImpl::SubmitIndicatorValue(CallbackServerContext* ctx,
                                                               const ByteBuffer* in,
                                                               ByteBuffer* out) {
  return Serve<SubmitIndicatorValueRequest, IndicatorValue>(ctx, in, out, [this](auto* call) {
    SubmitReport<SubmitIndicatorValueRequest>(
        sequencer_, call, "SubmitIndicatorValue", engine::DecideSubmitIndicatorValue,
        [](const engine::PlanState& plan, const SubmitIndicatorValueRequest& req) {
          return *plan.LatestValue(req.indicator_number(), req.year());
        });
  });
}

ServerUnaryReactor* ReportingServiceImpl::GetTaskProgress(CallbackServerContext* ctx,
                                                          const ByteBuffer* in, ByteBuffer* out) {
  return Serve<GetTaskProgressRequest, TaskProgress>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kReadPlan,
         [this, call](const engine::State& s, const Principal& who) -> absl::Status {
           const GetTaskProgressRequest& req = call->request();
           ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
           ASSIGN_OR_RETURN(const duban::v1::Task* task,
                            engine::RequireTask(*plan, req.task_number()));
           RETURN_IF_ERROR(MayReadTask(who, s, *task));
           if (req.year() != 0) RETURN_IF_ERROR(engine::CheckPlanYear(*plan, req.year()));
           ASSIGN_OR_RETURN(*call->response(),
                            engine::BuildTaskProgress(*plan, *task, req.year(), LogLoader(log_)));
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* ReportingServiceImpl::GetIndicatorSeries(CallbackServerContext* ctx,
                                                             const ByteBuffer* in,
                                                             ByteBuffer* out) {
  return Serve<GetIndicatorSeriesRequest, IndicatorSeries>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kReadPlan,
         [this, call](const engine::State& s, const Principal& who) -> absl::Status {
           const GetIndicatorSeriesRequest& req = call->request();
           ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
           ASSIGN_OR_RETURN(const duban::v1::Indicator* ind,
                            engine::RequireIndicator(*plan, req.indicator_number()));
           RETURN_IF_ERROR(MayReadIndicator(who, s, *ind));
           const double tol = req.has_tolerance() ? req.tolerance() : default_tolerance_;
           if (!std::isfinite(tol) || tol < 0 || tol > 1) {
             return absl::InvalidArgumentError("tolerance: must be from 0 to 1 (0.05 = 5%)");
           }
           *call->response() = engine::BuildIndicatorSeries(*plan, *ind, tol);
           return absl::OkStatus();
         });
  });
}

ServerUnaryReactor* ReportingServiceImpl::ListMissingReports(CallbackServerContext* ctx,
                                                             const ByteBuffer* in,
                                                             ByteBuffer* out) {
  return Serve<ListMissingReportsRequest, MissingReports>(ctx, in, out, [this](auto* call) {
    Read(sequencer_, call, Permission::kReadPlan,
         [call](const engine::State& s, const Principal& who) -> absl::Status {
           const ListMissingReportsRequest& req = call->request();
           ASSIGN_OR_RETURN(const engine::PlanState* plan, engine::RequirePlan(s, req.plan_id()));
           RETURN_IF_ERROR(engine::CheckPlanYear(*plan, req.year()));
           RETURN_IF_ERROR(CheckAgencyInPlan(who, s, req.plan_id()));
           // An agency sees what it owes; everyone else sees everything.
           *call->response() = engine::BuildMissingReports(
               *plan, req.year(), who.kind == Principal::Kind::kAgency ? who.agency_id : "");
           return absl::OkStatus();
         });
  });
}

}  // namespace duban::services
