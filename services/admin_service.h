// AdminService over gRPC: bearer credentials for admin, supervisors,
// auditors and agencies (only admin manages them; the server never sees a
// token: the client sends its SHA-256), the server's group-commit counters
// (admin, supervisors), and Ping: no credential, no state, no work — the
// baseline the load tool measures other calls against.
#ifndef DUBAN_SERVICES_ADMIN_SERVICE_H_
#define DUBAN_SERVICES_ADMIN_SERVICE_H_

#include "duban/v1/admin.grpc.pb.h"
#include "services/sequencer.h"
#include "services/unary_call.h"

namespace duban::services {

using RawAdminService = duban::v1::AdminService::WithRawCallbackMethod_IssueCredential<
    duban::v1::AdminService::WithRawCallbackMethod_RevokeCredential<
        duban::v1::AdminService::WithRawCallbackMethod_ListCredentials<
            duban::v1::AdminService::WithRawCallbackMethod_Ping<
                duban::v1::AdminService::WithRawCallbackMethod_GetServerStats<
                    duban::v1::AdminService::Service>>>>>;

class AdminServiceImpl final : public RawAdminService {
 public:
  explicit AdminServiceImpl(Sequencer* sequencer) : sequencer_(sequencer) {}

  DUBAN_RAW_UNARY_METHOD(IssueCredential)
  DUBAN_RAW_UNARY_METHOD(RevokeCredential)
  DUBAN_RAW_UNARY_METHOD(ListCredentials)
  DUBAN_RAW_UNARY_METHOD(Ping)
  DUBAN_RAW_UNARY_METHOD(GetServerStats)

 private:
  Sequencer* const sequencer_;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_ADMIN_SERVICE_H_
