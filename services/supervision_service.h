// SupervisionService over gRPC: rules, escalations, notices (streamed and
// webhooks) and the clock.
#ifndef DUBAN_SERVICES_SUPERVISION_SERVICE_H_
#define DUBAN_SERVICES_SUPERVISION_SERVICE_H_

#include "duban/v1/supervision.grpc.pb.h"
#include "services/clock.h"
#include "services/notice_hub.h"
#include "services/sequencer.h"
#include "services/unary_call.h"
#include "storage/event_log.h"

namespace duban::services {

using RawSupervisionService = duban::v1::SupervisionService::WithRawCallbackMethod_GetRules<
    duban::v1::SupervisionService::WithRawCallbackMethod_PutRules<
        duban::v1::SupervisionService::WithRawCallbackMethod_Evaluate<
            duban::v1::SupervisionService::WithRawCallbackMethod_ListEscalations<
                duban::v1::SupervisionService::WithRawCallbackMethod_GetEscalation<
                    duban::v1::SupervisionService::WithRawCallbackMethod_Acknowledge<
                        duban::v1::SupervisionService::WithRawCallbackMethod_Resolve<
                            duban::v1::SupervisionService::WithCallbackMethod_WatchNotices<
                                duban::v1::SupervisionService::WithRawCallbackMethod_AddWebhook<
                                    duban::v1::SupervisionService::WithRawCallbackMethod_RemoveWebhook<
                                        duban::v1::SupervisionService::WithRawCallbackMethod_ListWebhooks<
                                            duban::v1::SupervisionService::WithRawCallbackMethod_GetClock<
                                                duban::v1::SupervisionService::
                                                    WithRawCallbackMethod_AdvanceClock<
                                                        duban::v1::SupervisionService::
                                                            Service>>>>>>>>>>>>>;

class SupervisionServiceImpl final : public RawSupervisionService {
 public:
  // `simulated`: whether `clock` moves only through AdvanceClock.
  SupervisionServiceImpl(Sequencer* sequencer, storage::EventLog* log, NoticeHub* hub,
                         Clock* clock, bool simulated)
      : sequencer_(sequencer), log_(log), hub_(hub), clock_(clock), simulated_(simulated) {}

  DUBAN_RAW_UNARY_METHOD(GetRules)
  DUBAN_RAW_UNARY_METHOD(PutRules)
  DUBAN_RAW_UNARY_METHOD(Evaluate)
  DUBAN_RAW_UNARY_METHOD(ListEscalations)
  DUBAN_RAW_UNARY_METHOD(GetEscalation)
  DUBAN_RAW_UNARY_METHOD(Acknowledge)
  DUBAN_RAW_UNARY_METHOD(Resolve)
  DUBAN_RAW_UNARY_METHOD(AddWebhook)
  DUBAN_RAW_UNARY_METHOD(RemoveWebhook)
  DUBAN_RAW_UNARY_METHOD(ListWebhooks)
  DUBAN_RAW_UNARY_METHOD(GetClock)
  DUBAN_RAW_UNARY_METHOD(AdvanceClock)

  grpc::ServerWriteReactor<duban::v1::Notice>* WatchNotices(
      grpc::CallbackServerContext* ctx, const duban::v1::WatchNoticesRequest* req) override;

 private:
  Sequencer* const sequencer_;
  storage::EventLog* const log_;
  NoticeHub* const hub_;
  Clock* const clock_;
  const bool simulated_;
};


}  // namespace duban::services

#endif  // DUBAN_SERVICES_SUPERVISION_SERVICE_H_
