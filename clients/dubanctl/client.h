// Clients of duban's services behind absl::StatusOr: AssignmentClient,
// ReportingClient, AdminClient, SupervisionClient and AuditClient, all built
// on one StubClient template that owns the per-call metadata and deadline.
//
//   ChannelOptions options;
//   options.address = "127.0.0.1:50051";
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
//       MakeChannel(options);
//   CallSettings settings(token, std::chrono::seconds(30));
//   AssignmentClient assignment(*channel, settings);
//   ReportingClient reporting(*channel, settings);  // same connection
//   absl::StatusOr<duban::v1::Plan> plan = assignment.GetPlan(request);
//   if (!plan.ok()) return plan.status();  // same code and message as gRPC's
//
// Every call carries `authorization: Bearer <token>` (none when the token is
// empty, e.g. when a TLS client certificate identifies the caller) and a
// deadline of now + timeout (streams of notices carry no deadline: they
// last until the server ends them or the caller cancels). A client is safe
// for concurrent use from several threads.
//
//   SupervisionClient supervision(*channel, settings);
//   WatchCanceller canceller;  // canceller.Cancel() from another thread
//   absl::Status status = supervision.WatchResuming(
//       "supervisor", /*after_seq=*/0,
//       [](const duban::v1::Notice& notice) { ... }, ResumeOptions(),
//       &canceller);
#ifndef DUBAN_CLIENTS_DUBANCTL_CLIENT_H_
#define DUBAN_CLIENTS_DUBANCTL_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "duban/v1/admin.grpc.pb.h"
#include "duban/v1/admin.pb.h"
#include "duban/v1/assignment.grpc.pb.h"
#include "duban/v1/assignment.pb.h"
#include "duban/v1/audit.grpc.pb.h"
#include "duban/v1/audit.pb.h"
#include "duban/v1/plan.pb.h"
#include "duban/v1/reporting.grpc.pb.h"
#include "duban/v1/reporting.pb.h"
#include "duban/v1/supervision.grpc.pb.h"
#include "duban/v1/supervision.pb.h"
#include "grpcpp/grpcpp.h"

namespace duban::clients {

// The absl::Status with the same canonical code and message as `status`.
absl::Status FromGrpcStatus(const grpc::Status& status);

// How to reach the server. Without `tls` the channel is plaintext.
struct ChannelOptions {
  std::string address;  // "host:port"
  bool tls = false;
  // PEM contents (not paths). An empty root set means gRPC's default roots;
  // a key and a chain together present a client certificate (mutual TLS).
  std::string root_certificates;
  std::string private_key;
  std::string certificate_chain;
  // When non-empty, the name checked against the server's certificate
  // instead of the host in `address`.
  std::string server_name;
};

// A channel (connecting lazily) as `options` say. INVALID_ARGUMENT when the
// options contradict themselves: TLS settings without `tls`, or a key
// without a chain (or the reverse).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ChannelOptions& options);

// What every call of a client carries.
class CallSettings {
 public:
  // An empty `token` sends no authorization header.
  CallSettings(const std::string& token, std::chrono::milliseconds timeout);

  // Adds the authorization header and sets the deadline.
  void Apply(grpc::ClientContext* context) const;
  // Adds the authorization header only (for long-lived streams).
  void ApplyMetadata(grpc::ClientContext* context) const;

 private:
  std::string authorization_;  // "Bearer <token>", or "" for none
  std::chrono::milliseconds timeout_;
};

// A generated `Service`'s stub behind absl::StatusOr, each call prepared by
// CallSettings. The service clients below derive from it and add one line per
// method.
template <typename Service>
class StubClient {
 public:
  using Stub = typename Service::StubInterface;

  // Uses `stub`, e.g. a mock or one on an in-process channel.
  StubClient(std::unique_ptr<Stub> stub, CallSettings settings)
      : stub_(std::move(stub)), settings_(std::move(settings)) {}
  StubClient(std::unique_ptr<Stub> stub, const std::string& token,
             std::chrono::milliseconds timeout)
      : StubClient(std::move(stub), CallSettings(token, timeout)) {}
  // Uses `channel`, which several clients may share.
  StubClient(const std::shared_ptr<grpc::ChannelInterface>& channel,
             CallSettings settings)
      : StubClient(Service::NewStub(channel), std::move(settings)) {}
  // Connects (lazily) to `address` ("host:port") over a plaintext channel.
  StubClient(const std::string& address, const std::string& token,
             std::chrono::milliseconds timeout)
      : StubClient(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()),
            CallSettings(token, timeout)) {}

 protected:
  Stub& stub() const { return *stub_; }
  const CallSettings& settings() const { return settings_; }

  template <typename Request, typename Response>
  using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&,
                                        Response*);

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(Method<Request, Response> method,
                                const Request& request) const {
    grpc::ClientContext context;
    settings_.Apply(&context);
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

 private:
  std::unique_ptr<Stub> stub_;
  CallSettings settings_;
};

// duban.v1.AssignmentService: the plan and its responsibility matrix.
class AssignmentClient : public StubClient<v1::AssignmentService> {
 public:
  using StubClient::StubClient;

  absl::StatusOr<v1::ImportPlanResponse> ImportPlan(
      const v1::ImportPlanRequest& request) const;
  absl::StatusOr<v1::Plan> GetPlan(const v1::GetPlanRequest& request) const;
  absl::StatusOr<v1::ListTasksResponse> ListTasks(
      const v1::ListTasksRequest& request) const;
  absl::StatusOr<v1::Task> GetTask(const v1::GetTaskRequest& request) const;
  absl::StatusOr<v1::ListAgenciesResponse> ListAgencies(
      const v1::ListAgenciesRequest& request) const;
  absl::StatusOr<v1::ListIndicatorsResponse> ListIndicators(
      const v1::ListIndicatorsRequest& request) const;
  absl::StatusOr<v1::Task> AssignResponsibility(
      const v1::AssignResponsibilityRequest& request) const;
  absl::StatusOr<v1::Task> RevokeResponsibility(
      const v1::RevokeResponsibilityRequest& request) const;

  // Every task matching `request`, following next_page_token from
  // request.page_token through the last page (each page has its own deadline).
  absl::StatusOr<std::vector<v1::Task>> ListAllTasks(
      v1::ListTasksRequest request) const;
};

// duban.v1.ReportingService: progress reports and indicator values.
class ReportingClient : public StubClient<v1::ReportingService> {
 public:
  using StubClient::StubClient;

  absl::StatusOr<v1::ProgressReport> SubmitProgress(
      const v1::SubmitProgressRequest& request) const;
  absl::StatusOr<v1::IndicatorValue> SubmitIndicatorValue(
      const v1::SubmitIndicatorValueRequest& request) const;
  absl::StatusOr<v1::TaskProgress> GetTaskProgress(
      const v1::GetTaskProgressRequest& request) const;
  absl::StatusOr<v1::IndicatorSeries> GetIndicatorSeries(
      const v1::GetIndicatorSeriesRequest& request) const;
  absl::StatusOr<v1::MissingReports> ListMissingReports(
      const v1::ListMissingReportsRequest& request) const;
};

// duban.v1.AdminService: credentials (admin only).
class AdminClient : public StubClient<v1::AdminService> {
 public:
  using StubClient::StubClient;

  absl::StatusOr<v1::Credential> IssueCredential(
      const v1::IssueCredentialRequest& request) const;
  absl::StatusOr<v1::Credential> RevokeCredential(
      const v1::RevokeCredentialRequest& request) const;
  absl::StatusOr<v1::ListCredentialsResponse> ListCredentials(
      const v1::ListCredentialsRequest& request) const;
};

// Stops a SupervisionClient::Watch or WatchResuming from another thread:
// Cancel() ends the stream in progress (and any backoff wait) and every
// later one. Safe for concurrent use; one canceller serves one watch at a
// time.
class WatchCanceller {
 public:
  void Cancel();
  bool cancelled() const;
  // Waits up to `timeout`; true when cancelled (before or meanwhile).
  bool WaitFor(std::chrono::milliseconds timeout);

 private:
  friend class SupervisionClient;
  // Registers the stream's context; false (nothing registered) when
  // already cancelled.
  bool Attach(grpc::ClientContext* context);
  // Unregisters it; true when cancelled.
  bool Detach();

  mutable std::mutex mutex_;
  std::condition_variable cancelled_cv_;
  grpc::ClientContext* context_ = nullptr;  // guarded by mutex_
  bool cancelled_ = false;                  // guarded by mutex_
};

// How WatchResuming reconnects after a dropped stream.
struct ResumeOptions {
  // The first wait before reconnecting, doubled after each failed attempt
  // up to `max_backoff`; back to `initial_backoff` once a stream delivered
  // a notice or stayed up for `max_backoff`. Each wait is jittered by up to
  // a fifth either way.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // Give up after this many reconnects in a row without a notice (0: never).
  int max_attempts = 0;
  // Called before each wait: why the stream ended, how long until the next
  // attempt, and the seq it resumes after.
  std::function<void(const absl::Status& why, std::chrono::milliseconds wait,
                     uint64_t after_seq)>
      on_retry;
};

// Called for each notice, on the watching thread.
using NoticeHandler = std::function<void(const v1::Notice&)>;

// duban.v1.SupervisionService: rules, escalations, notices, webhooks and the
// server's clock.
class SupervisionClient : public StubClient<v1::SupervisionService> {
 public:
  using StubClient::StubClient;

  absl::StatusOr<v1::RulesetVersion> GetRules(
      const v1::GetRulesRequest& request) const;
  absl::StatusOr<v1::RulesetVersion> PutRules(
      const v1::PutRulesRequest& request) const;
  absl::StatusOr<v1::EvaluateResponse> Evaluate(
      const v1::EvaluateRequest& request) const;
  absl::StatusOr<v1::ListEscalationsResponse> ListEscalations(
      const v1::ListEscalationsRequest& request) const;
  absl::StatusOr<v1::Escalation> GetEscalation(
      const v1::GetEscalationRequest& request) const;
  absl::StatusOr<v1::Escalation> Acknowledge(
      const v1::AcknowledgeRequest& request) const;
  absl::StatusOr<v1::Escalation> Resolve(
      const v1::ResolveRequest& request) const;
  absl::StatusOr<v1::Webhook> AddWebhook(
      const v1::AddWebhookRequest& request) const;
  absl::StatusOr<v1::Webhook> RemoveWebhook(
      const v1::RemoveWebhookRequest& request) const;
  absl::StatusOr<v1::ListWebhooksResponse> ListWebhooks(
      const v1::ListWebhooksRequest& request) const;
  absl::StatusOr<v1::Clock> GetClock(const v1::GetClockRequest& request) const;
  absl::StatusOr<v1::Clock> AdvanceClock(
      const v1::AdvanceClockRequest& request) const;

  // WatchNotices for `recipient` after `after_seq`: calls `on_notice` for
  // each notice as it arrives, until the stream ends. OK when the server
  // ended it, CANCELLED when `canceller` (may be null) stopped it, else the
  // stream's error. The stream has no deadline.
  absl::Status Watch(const std::string& recipient, uint64_t after_seq,
                     const NoticeHandler& on_notice,
                     WatchCanceller* canceller = nullptr) const;

  // Watch, reconnecting after every end of the stream (with backoff, see
  // ResumeOptions) and resuming after the last seq seen, so that each notice
  // is handled once: none lost, none repeated (a notice at or below the last
  // seq seen is dropped). Returns CANCELLED when `canceller` stopped it; an
  // error that a retry cannot mend (INVALID_ARGUMENT, NOT_FOUND,
  // PERMISSION_DENIED, UNAUTHENTICATED, FAILED_PRECONDITION, UNIMPLEMENTED,
  // OUT_OF_RANGE, ALREADY_EXISTS) at once; or the last error after
  // `options.max_attempts` reconnects in a row without a notice.
  absl::Status WatchResuming(const std::string& recipient, uint64_t after_seq,
                             const NoticeHandler& on_notice,
                             const ResumeOptions& options,
                             WatchCanceller* canceller = nullptr) const;
};

// Whether a watch ending with `status` may be resumed by reconnecting.
bool IsResumable(const absl::Status& status);

// Called for each event ReadEvents streams, on the calling thread; an error
// ends the stream (it is cancelled) and is what ReadEvents returns.
using AuditEventHandler = std::function<absl::Status(const v1::AuditEvent&)>;

// How ReadEventsResuming reconnects after a dropped stream.
struct ReadResumeOptions {
  // Give up after this many reconnects in a row without an event.
  int max_attempts = 5;
  // The first wait, doubled after each attempt without an event, up to
  // `max_backoff`.
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  // Called before each wait: why the stream ended, the wait, and the seq it
  // resumes from.
  std::function<void(const absl::Status& why, std::chrono::milliseconds wait,
                     uint64_t from_seq)>
      on_retry;
};

// duban.v1.AuditService: the log replayed, the state at a moment, the log
// verified, signed checkpoints and Merkle proofs. Unary calls carry the
// settings' deadline (GetStateAt and VerifyLog read much of the log: give the
// client a generous timeout); ReadEvents has none.
class AuditClient : public StubClient<v1::AuditService> {
 public:
  using StubClient::StubClient;

  // Streams the events `request` selects to `on_event`, in seq order, until
  // the server ends the stream. OK when it ended well; the handler's error
  // when the handler stopped it; else the stream's error. Reads with
  // ReadEventBatches (many events per message; each event's `event` is
  // parsed here from `stored` when the server sent the bytes only), falling
  // back to ReadEvents on a server without it (UNIMPLEMENTED).
  absl::Status ReadEvents(const v1::ReadEventsRequest& request,
                          const AuditEventHandler& on_event) const;
  // The two streams themselves. `delivered` (if given) tells whether any
  // event reached the handler.
  absl::Status ReadEventBatches(const v1::ReadEventsRequest& request,
                                const AuditEventHandler& on_event,
                                bool* delivered = nullptr) const;
  absl::Status ReadEventsOneByOne(const v1::ReadEventsRequest& request,
                                  const AuditEventHandler& on_event) const;

  // ReadEvents, reconnecting after a stream that fails with a resumable
  // error (IsResumable) from the seq after the last one handled, so that
  // each event is handled once. `request.to_seq` 0 reads, after a
  // reconnect, to the head at that time.
  absl::Status ReadEventsResuming(v1::ReadEventsRequest request,
                                  const AuditEventHandler& on_event,
                                  const ReadResumeOptions& options) const;

  absl::StatusOr<v1::StateAt> GetStateAt(
      const v1::GetStateAtRequest& request) const;
  absl::StatusOr<v1::VerifyLogResponse> VerifyLog(
      const v1::VerifyLogRequest& request) const;
  absl::StatusOr<v1::SignedCheckpoint> GetCheckpoint(
      const v1::GetCheckpointRequest& request) const;
  absl::StatusOr<v1::InclusionProof> GetInclusionProof(
      const v1::GetInclusionProofRequest& request) const;
  absl::StatusOr<v1::ConsistencyProof> GetConsistencyProof(
      const v1::GetConsistencyProofRequest& request) const;
  absl::StatusOr<v1::Explanation> ExplainEscalation(
      const v1::ExplainEscalationRequest& request) const;
};

// The id of the agency `ref` names in `agencies`: its id, full name,
// short_name or one of its aliases, matched exactly (surrounding whitespace
// ignored). Errors:
//   INVALID_ARGUMENT  `ref` names a group (the message lists its members),
//                     or several agencies;
//   NOT_FOUND         `unknown agency "ref"`, with near matches (by
//                     substring) when there are any.
absl::StatusOr<std::string> ResolveAgency(
    const v1::ListAgenciesResponse& agencies, std::string_view ref);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_CLIENT_H_
