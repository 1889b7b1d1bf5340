// AssignmentService over gRPC (callback API): the plan and its
// responsibility matrix. Reads answer from the published state snapshot;
// writes go through the Sequencer and are answered once durable.
#ifndef DUBAN_SERVICES_ASSIGNMENT_SERVICE_H_
#define DUBAN_SERVICES_ASSIGNMENT_SERVICE_H_

#include "duban/v1/assignment.grpc.pb.h"
#include "services/sequencer.h"
#include "services/unary_call.h"

namespace duban::services {

// The generated service with every method taking raw bytes (see unary_call.h).
using RawAssignmentService = duban::v1::AssignmentService::WithRawCallbackMethod_ImportPlan<
    duban::v1::AssignmentService::WithRawCallbackMethod_GetPlan<
        duban::v1::AssignmentService::WithRawCallbackMethod_ListTasks<
            duban::v1::AssignmentService::WithRawCallbackMethod_GetTask<
                duban::v1::AssignmentService::WithRawCallbackMethod_ListAgencies<
                    duban::v1::AssignmentService::WithRawCallbackMethod_ListIndicators<
                        duban::v1::AssignmentService::WithRawCallbackMethod_AssignResponsibility<
                            duban::v1::AssignmentService::WithRawCallbackMethod_RevokeResponsibility<
                                duban::v1::AssignmentService::Service>>>>>>>>;

class AssignmentServiceImpl final : public RawAssignmentService {
 public:
  explicit AssignmentServiceImpl(Sequencer* sequencer) : sequencer_(sequencer) {}

  DUBAN_RAW_UNARY_METHOD(ImportPlan)
  DUBAN_RAW_UNARY_METHOD(GetPlan)
  DUBAN_RAW_UNARY_METHOD(ListTasks)
  DUBAN_RAW_UNARY_METHOD(GetTask)
  DUBAN_RAW_UNARY_METHOD(ListAgencies)
  DUBAN_RAW_UNARY_METHOD(ListIndicators)
  DUBAN_RAW_UNARY_METHOD(AssignResponsibility)
  DUBAN_RAW_UNARY_METHOD(RevokeResponsibility)

 private:
  Sequencer* const sequencer_;
};

// The ImportPlan command shared by the RPC and the server's first start:
// decides the import of `doc` and answers with an ImportPlanResponse.
Sequencer::Command ImportPlanCommand(duban::v1::PlanDocument doc,
                                     std::vector<duban::v1::ImportWarning> warnings);

}  // namespace duban::services

#endif  // DUBAN_SERVICES_ASSIGNMENT_SERVICE_H_
