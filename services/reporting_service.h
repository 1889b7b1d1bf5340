// ReportingService over gRPC: agencies submit progress and indicator values
// for what is theirs; supervisors, auditors and admin read everything, an
// agency reads what concerns its own tasks and indicators.
#ifndef DUBAN_SERVICES_REPORTING_SERVICE_H_
#define DUBAN_SERVICES_REPORTING_SERVICE_H_

#include "duban/v1/reporting.grpc.pb.h"
#include "services/sequencer.h"
#include "services/unary_call.h"

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
  // `log`: where earlier report revisions are read back from.
  ReportingServiceImpl(Sequencer* sequencer, const storage::EventLog* log, double default_tolerance)
      : sequencer_(sequencer), log_(log), default_tolerance_(default_tolerance) {}

  DUBAN_RAW_UNARY_METHOD(SubmitProgress)
  DUBAN_RAW_UNARY_METHOD(SubmitIndicatorValue)
  DUBAN_RAW_UNARY_METHOD(GetTaskProgress)
  DUBAN_RAW_UNARY_METHOD(GetIndicatorSeries)
  DUBAN_RAW_UNARY_METHOD(ListMissingReports)

 private:
  Sequencer* const sequencer_;
  const storage::EventLog* const log_;
  const double default_tolerance_;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_REPORTING_SERVICE_H_
