// The service clients, MakeChannel and ResolveAgency (see client.h).
#include "clients/dubanctl/client.h"

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace duban::clients {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ChannelOptions& options) {
  if (options.private_key.empty() != options.certificate_chain.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs both its private key and its chain");
  }
  if (!options.tls) {
    if (!options.root_certificates.empty() || !options.private_key.empty() ||
        !options.server_name.empty()) {
      return absl::InvalidArgumentError(
          "root certificates, a client certificate or a server name need "
          "TLS");
    }
    return grpc::CreateChannel(options.address,
                               grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.root_certificates;
  ssl.pem_private_key = options.private_key;
  ssl.pem_cert_chain = options.certificate_chain;
  grpc::ChannelArguments arguments;
  if (!options.server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.server_name);
  }
  return grpc::CreateCustomChannel(options.address, grpc::SslCredentials(ssl),
                                   arguments);
}

CallSettings::CallSettings(const std::string& token,
                           std::chrono::milliseconds timeout)
    : authorization_(token.empty() ? "" : absl::StrCat("Bearer ", token)),
      timeout_(timeout) {}

void CallSettings::Apply(grpc::ClientContext* context) const {
  if (!authorization_.empty()) {
    context->AddMetadata("authorization", authorization_);
  }
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
}

void CallSettings::ApplyMetadata(grpc::ClientContext* context) const {
  if (!authorization_.empty()) {
    context->AddMetadata("authorization", authorization_);
  }
}

absl::StatusOr<v1::ImportPlanResponse> AssignmentClient::ImportPlan(
    const v1::ImportPlanRequest& request) const {
  return Call(&Stub::ImportPlan, request);
}

absl::StatusOr<v1::Plan> AssignmentClient::GetPlan(
    const v1::GetPlanRequest& request) const {
  return Call(&Stub::GetPlan, request);
}

absl::StatusOr<v1::ListTasksResponse> AssignmentClient::ListTasks(
    const v1::ListTasksRequest& request) const {
  return Call(&Stub::ListTasks, request);
}

absl::StatusOr<v1::Task> AssignmentClient::GetTask(
    const v1::GetTaskRequest& request) const {
  return Call(&Stub::GetTask, request);
}

absl::StatusOr<v1::ListAgenciesResponse> AssignmentClient::ListAgencies(
    const v1::ListAgenciesRequest& request) const {
  return Call(&Stub::ListAgencies, request);
}

absl::StatusOr<v1::ListIndicatorsResponse> AssignmentClient::ListIndicators(
    const v1::ListIndicatorsRequest& request) const {
  return Call(&Stub::ListIndicators, request);
}

absl::StatusOr<v1::Task> AssignmentClient::AssignResponsibility(
    const v1::AssignResponsibilityRequest& request) const {
  return Call(&Stub::AssignResponsibility, request);
}

absl::StatusOr<v1::Task> AssignmentClient::RevokeResponsibility(
    const v1::RevokeResponsibilityRequest& request) const {
  return Call(&Stub::RevokeResponsibility, request);
}

absl::StatusOr<std::vector<v1::Task>> AssignmentClient::ListAllTasks(
    v1::ListTasksRequest request) const {
  std::vector<v1::Task> tasks;
  while (true) {
    absl::StatusOr<v1::ListTasksResponse> page = ListTasks(request);
    if (!page.ok()) return page.status();
    for (v1::Task& task : *page->mutable_tasks()) {
      tasks.push_back(std::move(task));
    }
    if (page->next_page_token().empty()) return tasks;
    if (page->next_page_token() == request.page_token()) {
      return absl::InternalError(
          absl::StrCat("ListTasks returned its request's page token \"",
                       request.page_token(), "\" as the next one"));
    }
    request.set_page_token(page->next_page_token());
  }
}

absl::StatusOr<v1::ProgressReport> ReportingClient::SubmitProgress(
    const v1::SubmitProgressRequest& request) const {
  return Call(&Stub::SubmitProgress, request);
}

absl::StatusOr<v1::IndicatorValue> ReportingClient::SubmitIndicatorValue(
    const v1::SubmitIndicatorValueRequest& request) const {
  return Call(&Stub::SubmitIndicatorValue, request);
}

absl::StatusOr<v1::TaskProgress> ReportingClient::GetTaskProgress(
    const v1::GetTaskProgressRequest& request) const {
  return Call(&Stub::GetTaskProgress, request);
}

absl::StatusOr<v1::IndicatorSeries> ReportingClient::GetIndicatorSeries(
    const v1::GetIndicatorSeriesRequest& request) const {
  return Call(&Stub::GetIndicatorSeries, request);
}

absl::StatusOr<v1::MissingReports> ReportingClient::ListMissingReports(
    const v1::ListMissingReportsRequest& request) const {
  return Call(&Stub::ListMissingReports, request);
}

absl::StatusOr<v1::Credential> AdminClient::IssueCredential(
    const v1::IssueCredentialRequest& request) const {
  return Call(&Stub::IssueCredential, request);
}

absl::StatusOr<v1::Credential> AdminClient::RevokeCredential(
    const v1::RevokeCredentialRequest& request) const {
  return Call(&Stub::RevokeCredential, request);
}

absl::StatusOr<v1::ListCredentialsResponse> AdminClient::ListCredentials(
    const v1::ListCredentialsRequest& request) const {
  return Call(&Stub::ListCredentials, request);
}

absl::StatusOr<v1::RulesetVersion> SupervisionClient::GetRules(
    const v1::GetRulesRequest& request) const {
  return Call(&Stub::GetRules, request);
}

absl::StatusOr<v1::RulesetVersion> SupervisionClient::PutRules(
    const v1::PutRulesRequest& request) const {
  return Call(&Stub::PutRules, request);
}

absl::StatusOr<v1::EvaluateResponse> SupervisionClient::Evaluate(
    const v1::EvaluateRequest& request) const {
  return Call(&Stub::Evaluate, request);
}

absl::StatusOr<v1::ListEscalationsResponse> SupervisionClient::ListEscalations(
    const v1::ListEscalationsRequest& request) const {
  return Call(&Stub::ListEscalations, request);
}

absl::StatusOr<v1::Escalation> SupervisionClient::GetEscalation(
    const v1::GetEscalationRequest& request) const {
  return Call(&Stub::GetEscalation, request);
}

absl::StatusOr<v1::Escalation> SupervisionClient::Acknowledge(
    const v1::AcknowledgeRequest& request) const {
  return Call(&Stub::Acknowledge, request);
}

absl::StatusOr<v1::Escalation> SupervisionClient::Resolve(
    const v1::ResolveRequest& request) const {
  return Call(&Stub::Resolve, request);
}

absl::StatusOr<v1::Webhook> SupervisionClient::AddWebhook(
    const v1::AddWebhookRequest& request) const {
  return Call(&Stub::AddWebhook, request);
}

absl::StatusOr<v1::Webhook> SupervisionClient::RemoveWebhook(
    const v1::RemoveWebhookRequest& request) const {
  return Call(&Stub::RemoveWebhook, request);
}

absl::StatusOr<v1::ListWebhooksResponse> SupervisionClient::ListWebhooks(
    const v1::ListWebhooksRequest& request) const {
  return Call(&Stub::ListWebhooks, request);
}

absl::StatusOr<v1::Clock> SupervisionClient::GetClock(
    const v1::GetClockRequest& request) const {
  return Call(&Stub::GetClock, request);
}

absl::StatusOr<v1::Clock> SupervisionClient::AdvanceClock(
    const v1::AdvanceClockRequest& request) const {
  return Call(&Stub::AdvanceClock, request);
}

void WatchCanceller::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  cancelled_cv_.notify_all();
}

bool WatchCanceller::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

bool WatchCanceller::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cancelled_cv_.wait_for(lock, timeout, [this] { return cancelled_; });
}

bool WatchCanceller::Attach(grpc::ClientContext* context) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_) return false;
  context_ = context;
  return true;
}

bool WatchCanceller::Detach() {
  std::lock_guard<std::mutex> lock(mutex_);
  context_ = nullptr;
  return cancelled_;
}

namespace {

absl::Status WatchCancelled() {
  return absl::CancelledError("the watch was cancelled");
}

}  // namespace

absl::Status SupervisionClient::Watch(const std::string& recipient,
                                      uint64_t after_seq,
                                      const NoticeHandler& on_notice,
                                      WatchCanceller* canceller) const {
  v1::WatchNoticesRequest request;
  request.set_recipient(recipient);
  request.set_after_seq(after_seq);
  grpc::ClientContext context;
  settings().ApplyMetadata(&context);
  if (canceller != nullptr && !canceller->Attach(&context)) {
    return WatchCancelled();
  }
  // Unregisters the context before it goes, whatever on_notice does.
  struct Detach {
    WatchCanceller* canceller;
    bool done = false;
    bool operator()() {
      done = true;
      return canceller != nullptr && canceller->Detach();
    }
    ~Detach() {
      if (!done && canceller != nullptr) canceller->Detach();
    }
  } detach{canceller};

  std::unique_ptr<grpc::ClientReaderInterface<v1::Notice>> reader =
      stub().WatchNotices(&context, request);
  v1::Notice notice;
  while (reader->Read(&notice)) on_notice(notice);
  const grpc::Status status = reader->Finish();
  if (detach()) return WatchCancelled();
  return FromGrpcStatus(status);
}

bool IsResumable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return false;
    default:
      return true;
  }
}

absl::Status SupervisionClient::WatchResuming(const std::string& recipient,
                                              uint64_t after_seq,
                                              const NoticeHandler& on_notice,
                                              const ResumeOptions& options,
                                              WatchCanceller* canceller) const {
  using std::chrono::milliseconds;
  uint64_t last_seq = after_seq;
  milliseconds backoff = options.initial_backoff;
  int attempts = 0;  // reconnects in a row without a notice
  std::mt19937 random{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  while (true) {
    bool delivered = false;
    const auto started = std::chrono::steady_clock::now();
    absl::Status status = Watch(
        recipient, last_seq,
        [&](const v1::Notice& notice) {
          if (notice.seq() <= last_seq) return;  // handled already
          last_seq = notice.seq();
          delivered = true;
          on_notice(notice);
        },
        canceller);
    if (canceller != nullptr && canceller->cancelled()) return WatchCancelled();
    if (!IsResumable(status)) return status;
    if (status.ok())
      status = absl::UnavailableError("the server ended the stream");
    if (delivered ||
        std::chrono::steady_clock::now() - started >= options.max_backoff) {
      backoff = options.initial_backoff;
      attempts = 0;
    }
    if (options.max_attempts > 0 && attempts >= options.max_attempts) {
      return status;
    }
    ++attempts;
    const milliseconds wait(static_cast<int64_t>(
        static_cast<double>(backoff.count()) * jitter(random)));
    if (options.on_retry) options.on_retry(status, wait, last_seq);
    if (canceller != nullptr) {
      if (canceller->WaitFor(wait)) return WatchCancelled();
    } else {
      std::this_thread::sleep_for(wait);
    }
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

absl::Status AuditClient::ReadEvents(const v1::ReadEventsRequest& request,
                                     const AuditEventHandler& on_event) const {
  bool delivered = false;
  absl::Status status = ReadEventBatches(request, on_event, &delivered);
  if (absl::IsUnimplemented(status) && !delivered) {
    return ReadEventsOneByOne(request, on_event);  // a server from before ReadEventBatches
  }
  return status;
}

absl::Status AuditClient::ReadEventBatches(const v1::ReadEventsRequest& request,
                                           const AuditEventHandler& on_event,
                                           bool* delivered) const {
  grpc::ClientContext context;
  settings().ApplyMetadata(&context);  // no deadline: as long as it takes
  std::unique_ptr<grpc::ClientReaderInterface<v1::EventBatch>> reader =
      stub().ReadEventBatches(&context, request);
  v1::EventBatch batch;  // reused: its AuditEvents are recycled
  absl::Status handled = absl::OkStatus();
  while (handled.ok() && reader->Read(&batch)) {
    for (v1::AuditEvent& event : *batch.mutable_events()) {
      if (!event.has_event() && !event.mutable_event()->ParseFromString(event.stored())) {
        handled = absl::DataLossError("ReadEventBatches: an event's stored bytes do not parse");
      }
      if (handled.ok()) handled = on_event(event);
      if (!handled.ok()) break;
      if (delivered != nullptr) *delivered = true;
    }
  }
  if (!handled.ok()) {
    context.TryCancel();
    while (reader->Read(&batch)) {
    }  // drain what is in flight
  }
  const grpc::Status status = reader->Finish();
  if (!handled.ok()) return handled;
  return FromGrpcStatus(status);
}

absl::Status AuditClient::ReadEventsOneByOne(const v1::ReadEventsRequest& request,
                                             const AuditEventHandler& on_event) const {
  grpc::ClientContext context;
  settings().ApplyMetadata(&context);  // no deadline: as long as it takes
  std::unique_ptr<grpc::ClientReaderInterface<v1::AuditEvent>> reader =
      stub().ReadEvents(&context, request);
  v1::AuditEvent event;
  absl::Status handled = absl::OkStatus();
  while (reader->Read(&event)) {
    handled = on_event(event);
    if (!handled.ok()) {
      context.TryCancel();
      while (reader->Read(&event)) {
      }  // drain what is in flight
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (!handled.ok()) return handled;
  return FromGrpcStatus(status);
}

absl::Status AuditClient::ReadEventsResuming(
    v1::ReadEventsRequest request, const AuditEventHandler& on_event,
    const ReadResumeOptions& options) const {
  uint64_t last_seq = 0;
  absl::Status handled = absl::OkStatus();
  std::chrono::milliseconds backoff = options.initial_backoff;
  int attempts = 0;
  while (true) {
    bool delivered = false;
    const absl::Status status =
        ReadEvents(request, [&](const v1::AuditEvent& event) {
          if (event.event().seq() <= last_seq) {
            return absl::OkStatus();  // handled before the reconnect
          }
          handled = on_event(event);
          if (handled.ok()) {
            last_seq = event.event().seq();
            delivered = true;
          }
          return handled;
        });
    if (!handled.ok()) return handled;
    if (status.ok() || !IsResumable(status)) return status;
    if (request.to_seq() != 0 && last_seq >= request.to_seq()) {
      return absl::OkStatus();  // everything asked for arrived
    }
    if (delivered) {
      attempts = 0;
      backoff = options.initial_backoff;
    }
    if (attempts >= options.max_attempts) return status;
    ++attempts;
    if (last_seq != 0) request.set_from_seq(last_seq + 1);
    if (options.on_retry) {
      options.on_retry(status, backoff,
                       std::max<uint64_t>(request.from_seq(), 1));
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

absl::StatusOr<v1::StateAt> AuditClient::GetStateAt(
    const v1::GetStateAtRequest& request) const {
  return Call(&Stub::GetStateAt, request);
}

absl::StatusOr<v1::Explanation> AuditClient::ExplainEscalation(
    const v1::ExplainEscalationRequest& request) const {
  return Call(&Stub::ExplainEscalation, request);
}

absl::StatusOr<v1::VerifyLogResponse> AuditClient::VerifyLog(
    const v1::VerifyLogRequest& request) const {
  return Call(&Stub::VerifyLog, request);
}

absl::StatusOr<v1::SignedCheckpoint> AuditClient::GetCheckpoint(
    const v1::GetCheckpointRequest& request) const {
  return Call(&Stub::GetCheckpoint, request);
}

absl::StatusOr<v1::InclusionProof> AuditClient::GetInclusionProof(
    const v1::GetInclusionProofRequest& request) const {
  return Call(&Stub::GetInclusionProof, request);
}

absl::StatusOr<v1::ConsistencyProof> AuditClient::GetConsistencyProof(
    const v1::GetConsistencyProofRequest& request) const {
  return Call(&Stub::GetConsistencyProof, request);
}

namespace {

constexpr size_t kMaxHints = 8;

bool AgencyNamed(const v1::Agency& agency, const std::string& ref) {
  if (agency.id() == ref || agency.name() == ref ||
      agency.short_name() == ref) {
    return true;
  }
  for (const std::string& alias : agency.aliases()) {
    if (alias == ref) return true;
  }
  return false;
}

// "省教育厅 (qh-edu)"
std::string AgencyLabel(const v1::Agency& agency) {
  return absl::StrCat(
      agency.short_name().empty() ? agency.name() : agency.short_name(), " (",
      agency.id(), ")");
}

// Whether `ref` and `name` contain one another, ignoring ASCII case.
bool NearMatch(const std::string& name, const std::string& ref) {
  if (name.empty()) return false;
  const std::string n = absl::AsciiStrToLower(name);
  const std::string r = absl::AsciiStrToLower(ref);
  return absl::StrContains(n, r) || absl::StrContains(r, n);
}

bool AgencyNearMatch(const v1::Agency& agency, const std::string& ref) {
  if (NearMatch(agency.id(), ref) || NearMatch(agency.name(), ref) ||
      NearMatch(agency.short_name(), ref)) {
    return true;
  }
  for (const std::string& alias : agency.aliases()) {
    if (NearMatch(alias, ref)) return true;
  }
  return false;
}

absl::Status GroupError(const v1::ListAgenciesResponse& agencies,
                        const v1::AgencyGroup& group) {
  std::vector<std::string> members;
  for (const std::string& id : group.member_agency_ids()) {
    std::string label = id;
    for (const v1::Agency& agency : agencies.agencies()) {
      if (agency.id() == id) label = AgencyLabel(agency);
    }
    members.push_back(std::move(label));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", group.name(), "\" (", group.id(),
                   ") is a group, not an agency; name one of its ",
                   group.member_agency_ids_size(),
                   " members: ", absl::StrJoin(members, ", ")));
}

}  // namespace

absl::StatusOr<std::string> ResolveAgency(
    const v1::ListAgenciesResponse& agencies, std::string_view name) {
  // (Debian's Abseil has its own string_view, hence the conversion.)
  const std::string ref(
      absl::StripAsciiWhitespace(absl::string_view(name.data(), name.size())));
  if (ref.empty()) return absl::InvalidArgumentError("empty agency name");

  std::vector<const v1::Agency*> matches;
  for (const v1::Agency& agency : agencies.agencies()) {
    if (AgencyNamed(agency, ref)) matches.push_back(&agency);
  }
  if (matches.size() == 1) return matches.front()->id();
  if (matches.size() > 1) {
    std::vector<std::string> labels;
    for (const v1::Agency* agency : matches) {
      labels.push_back(AgencyLabel(*agency));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("agency \"", ref, "\" is ambiguous: it names ",
                     absl::StrJoin(labels, ", "), "; use the id"));
  }
  for (const v1::AgencyGroup& group : agencies.groups()) {
    if (group.id() == ref || group.name() == ref) {
      return GroupError(agencies, group);
    }
  }

  std::vector<std::string> hints;
  size_t more = 0;
  const auto hint = [&](std::string label) {
    if (hints.size() < kMaxHints) {
      hints.push_back(std::move(label));
    } else {
      ++more;
    }
  };
  for (const v1::Agency& agency : agencies.agencies()) {
    if (AgencyNearMatch(agency, ref)) hint(AgencyLabel(agency));
  }
  for (const v1::AgencyGroup& group : agencies.groups()) {
    if (NearMatch(group.id(), ref) || NearMatch(group.name(), ref)) {
      hint(absl::StrCat(group.name(), " (group ", group.id(), ")"));
    }
  }
  std::string message = absl::StrCat("unknown agency \"", ref, "\"");
  if (!hints.empty()) {
    absl::StrAppend(&message, "; did you mean: ", absl::StrJoin(hints, ", "));
    if (more > 0) absl::StrAppend(&message, " (and ", more, " more)");
    message += "?";
  }
  return absl::NotFoundError(message);
}

}  // namespace duban::clients
