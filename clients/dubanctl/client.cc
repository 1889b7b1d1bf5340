// The service clients, MakeChannel and ResolveAgency (see client.h).
#include "clients/dubanctl/client.h"

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
