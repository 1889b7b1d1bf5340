// ReportingService over gRPC: agencies submit progress and indicator values
// for what is theirs; supervisors, auditors and admin read everything, an
// agency reads what concerns its own tasks and indicators.
#ifndef DUBAN_SERVICES_REPORTING_SERVICE_H_
#define DUBAN_SERVICES_REPORTING_SERVICE_H_

#include "duban/v1/reporting.grpc.pb.h"
#include "services/sequencer.h"

namespace duban::services {

using RawReportingService = duban::v1::ReportingService::WithRawCallbackMethod_SubmitProgress<
    duban::v1::ReportingService::WithRawCallbackMethod_SubmitIndicatorValue<
        duban::v1::ReportingService::WithRawCallbackMethod_GetTaskProgress<
            duban::v1::ReportingService::WithRawCallbackMethod_GetIndicatorSeries<
                duban::v1::ReportingService::WithRawCallbackMethod_ListMissingReports<
                    duban::v1::ReportingService::Service>>>>>;

class ReportingServiceImpl final : public RawReportingService {
 public:
  // `default_tolerance`: the relative tolerance GetIndicatorSeries judges
  // with when the request gives none.
  ReportingServiceImpl(Sequencer* sequencer, double default_tolerance)
      : sequencer_(sequencer), default_tolerance_(default_tolerance) {}

#define DUBAN_RAW_METHOD(name)                                                                 \
  grpc::ServerUnaryReactor* name(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in, \
                                 grpc::ByteBuffer* out) override;
  DUBAN_RAW_METHOD(SubmitProgress)
  DUBAN_RAW_METHOD(SubmitIndicatorValue)
  DUBAN_RAW_METHOD(GetTaskProgress)
  DUBAN_RAW_METHOD(GetIndicatorSeries)
  DUBAN_RAW_METHOD(ListMissingReports)
#undef DUBAN_RAW_METHOD

 private:
  Sequencer* const sequencer_;
  const double default_tolerance_;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_REPORTING_SERVICE_H_
