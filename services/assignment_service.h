// AssignmentService over gRPC (callback API): the plan and its
// responsibility matrix. Reads answer from the published state snapshot;
// writes go through the Sequencer and are answered once durable.
#ifndef DUBAN_SERVICES_ASSIGNMENT_SERVICE_H_
#define DUBAN_SERVICES_ASSIGNMENT_SERVICE_H_

#include "duban/v1/assignment.grpc.pb.h"
#include "services/sequencer.h"

namespace duban::services {

class AssignmentServiceImpl final : public duban::v1::AssignmentService::CallbackService {
 public:
  explicit AssignmentServiceImpl(Sequencer* sequencer) : sequencer_(sequencer) {}

  grpc::ServerUnaryReactor* ImportPlan(grpc::CallbackServerContext* ctx,
                                       const duban::v1::ImportPlanRequest* req,
                                       duban::v1::ImportPlanResponse* resp) override;
  grpc::ServerUnaryReactor* GetPlan(grpc::CallbackServerContext* ctx,
                                    const duban::v1::GetPlanRequest* req,
                                    duban::v1::Plan* resp) override;
  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* ctx,
                                      const duban::v1::ListTasksRequest* req,
                                      duban::v1::ListTasksResponse* resp) override;
  grpc::ServerUnaryReactor* GetTask(grpc::CallbackServerContext* ctx,
                                    const duban::v1::GetTaskRequest* req,
                                    duban::v1::Task* resp) override;
  grpc::ServerUnaryReactor* ListAgencies(grpc::CallbackServerContext* ctx,
                                         const duban::v1::ListAgenciesRequest* req,
                                         duban::v1::ListAgenciesResponse* resp) override;
  grpc::ServerUnaryReactor* ListIndicators(grpc::CallbackServerContext* ctx,
                                           const duban::v1::ListIndicatorsRequest* req,
                                           duban::v1::ListIndicatorsResponse* resp) override;
  grpc::ServerUnaryReactor* AssignResponsibility(
      grpc::CallbackServerContext* ctx, const duban::v1::AssignResponsibilityRequest* req,
      duban::v1::Task* resp) override;
  grpc::ServerUnaryReactor* RevokeResponsibility(
      grpc::CallbackServerContext* ctx, const duban::v1::RevokeResponsibilityRequest* req,
      duban::v1::Task* resp) override;

 private:
  Sequencer* const sequencer_;
};

// The ImportPlan command shared by the RPC and the server's first start:
// decides the import of `doc` and answers with an ImportPlanResponse.
Sequencer::Command ImportPlanCommand(duban::v1::PlanDocument doc,
                                     std::vector<duban::v1::ImportWarning> warnings);

}  // namespace duban::services

#endif  // DUBAN_SERVICES_ASSIGNMENT_SERVICE_H_
