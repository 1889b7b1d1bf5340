// dubanctl: the command-line client of duban's AssignmentService,
// ReportingService, AdminService, SupervisionService and AuditService.
//
//   dubanctl --token-file ./data/admin.token tasks list --agency 省教育厅
//   dubanctl matrix --role lead
//   dubanctl assign 12 qh-edu support --reason "added at the 2023 review"
//   dubanctl --token-file edu.token report 12 --year 2023 --status on-track
//       --summary "..." --percent 60
//   dubanctl series 1 --tolerance 5%
//   dubanctl admin token issue --agency 省教育厅 --label "edu reporting system"
//   dubanctl escalations --open --level 督办
//   dubanctl --token-file edu.token ack esc-812 --measures "..." --due
//   2022-03-15 dubanctl --token-file supervisor.token watch --recipient
//   supervisor dubanctl clock advance --by 30d dubanctl demo      # against
//   duband --simulated_clock=...
//   dubanctl audit replay --task 18 --since 2022-01-01
//   dubanctl audit checkpoint --new --out cp.json
//   dubanctl audit verify-offline --checkpoint cp.json --public-key key.pem
//       --export log.jsonl
//   dubanctl audit import --data_dir restored log.jsonl   # offline
//
// Run `dubanctl --help` for the commands. Exit status: 0 on success, 1 when
// a call or a local file fails ("dubanctl: <CODE>: <message>" on stderr),
// 2 on a usage error.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/dubanctl/audit.h"
#include "clients/dubanctl/client.h"
#include "clients/dubanctl/demo.h"
#include "clients/dubanctl/format.h"
#include "clients/dubanctl/token.h"
#include "duban/v1/admin.pb.h"
#include "duban/v1/assignment.pb.h"
#include "duban/v1/audit.pb.h"
#include "duban/v1/plan.pb.h"
#include "duban/v1/reporting.pb.h"
#include "duban/v1/supervision.pb.h"
#include "google/protobuf/util/json_util.h"
#include "storage/event_log.h"
#include "storage/log_import.h"
#include "nlohmann/json.hpp"
#include "unistd.h"

namespace duban::clients {
namespace {

using Json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------
// Options

struct GlobalOptions {
  std::string server = "127.0.0.1:50051";
  std::string token;       // --token only; DUBAN_TOKEN is read by ResolveToken
  std::string token_file;  // --token-file only; likewise DUBAN_TOKEN_FILE
  bool token_given = false;
  bool token_file_given = false;
  std::string data_dir = "./data";
  std::string plan = "qinghai-employment-2021";
  bool plan_given = false;  // by --plan or DUBAN_PLAN
  bool json = false;
  std::string request_id;
  double timeout_seconds = 30;
  bool timeout_given = false;  // by --timeout
  // TLS: on when a root file or a client certificate is given.
  std::string tls_ca;    // root certificates (PEM file)
  std::string tls_cert;  // client certificate chain (PEM file): mutual TLS
  std::string tls_key;   // its private key (PEM file)
  std::string tls_server_name;

  bool tls() const { return !tls_ca.empty() || !tls_cert.empty(); }
};

struct ImportOptions {
  std::string document_file;
  std::string source_file;
  std::string registry_file;
  std::string indicator_agencies_file;  // optional, with --source
  bool dry_run = false;
};

struct TaskFilter {
  std::string agency;  // as the user wrote it; resolved with ResolveAgency
  std::string role;    // as the user wrote it; validated by RoleValidator
};

struct WriteOptions {
  int task = 0;
  std::string agency;
  std::string role;  // assign only
  std::string reason;
};

struct ReportOptions {
  int task = 0;
  int year = 0;
  std::string status;  // validated by StatusValidator
  std::string summary;
  std::string measures;
  std::vector<std::string> evidence;
  std::optional<double> percent;
  std::optional<uint32_t> expect_revision;
  std::string agency;  // on whose behalf (admin); "" for the caller itself
};

struct IndicatorValueOptions {
  int indicator = 0;
  int year = 0;
  double value = 0;
  std::string source_note;
  std::optional<uint32_t> expect_revision;
  std::string agency;
};

struct ProgressOptions {
  int task = 0;
  int year = 0;  // 0: every year
  bool history = false;
};

struct SeriesOptions {
  int indicator = 0;
  std::optional<double> tolerance;  // a fraction: 0.05 is 5%
};

struct TokenOptions {
  std::string agency;         // issue: an agency's credential, or
  std::string role;           // issue: supervisor, auditor or admin
  std::string label;          // issue
  std::string credential_id;  // revoke
  std::string reason;         // revoke
};

struct RulesOptions {
  std::string out_file;  // get
  bool summary = false;  // get
  std::string file;      // put
  uint32_t expect_version = 0;
};

struct EscalationFilter {
  std::string state;  // validated by StateValidator
  bool open = false;
  std::string level;  // validated by LevelValidator
  std::string agency;
  int task = 0;
  int indicator = 0;
  int year = 0;
};

struct AckOptions {
  std::string escalation_id;
  std::string measures;
  std::string due;  // YYYY-MM-DD, validated by DateValidator
};

struct ResolveOptions {
  std::string escalation_id;
  std::string reason;
};

struct WebhookOptions {
  std::string url;                      // add
  std::vector<std::string> recipients;  // add
  std::string webhook_id;               // remove
};

struct ClockOptions {
  std::string by;  // a duration, validated by DurationValidator
  std::string to;  // a CST time, validated by TimeValidator
};

struct WatchOptions {
  std::string recipient;
  uint64_t after_seq = 0;
  bool reconnect = false;
};

struct DemoCommandOptions {
  double speed = 1;
  std::string rules_file;
};

struct ReplayOptions {
  uint64_t from_seq = 0;
  uint64_t to_seq = 0;
  std::string since;  // a CST date or time, validated by ParseCstTime
  std::string until;
  bool plan_filter = false;
  int task = 0;
  std::string agency;
  std::vector<std::string> types;
};

struct StateAtOptions {
  uint64_t seq = 0;
  std::string at;  // a CST date or time
};

struct CheckpointOptions {
  bool make_new = false;
  std::string out_file;
};

struct ProofOptions {
  uint64_t seq = 0;       // inclusion
  uint64_t size = 0;      // inclusion: 0 the head
  uint64_t old_size = 0;  // consistency
  uint64_t new_size = 0;  // consistency: 0 the head
  std::string out_file;
};

// A validator accepting what `parse` accepts, else saying what it is not.
template <typename Parse>
CLI::Validator ParsedBy(Parse parse, const char* name, std::string usage) {
  return CLI::Validator(
      [parse, usage](std::string& text) -> std::string {
        if (parse(text).has_value()) return "";
        return "\"" + text + "\" is not " + usage;
      },
      "", name);
}

// Accepts what a StatusOr-returning `parse` accepts, with its message.
template <typename Parse>
CLI::Validator CheckedBy(Parse parse, const char* name) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        const auto parsed = parse(text);
        if (parsed.ok()) return "";
        return std::string(parsed.status().message());
      },
      "", name);
}

// Accepts what ParseRole accepts.
CLI::Validator RoleValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (ParseRole(text).has_value()) return "";
        return "\"" + text +
               "\" is not a role: use lead, shared or support "
               "(牵头, 按职责分工负责, 配合)";
      },
      "ROLE", "role");
}

// Accepts what ParseProgressStatus accepts.
CLI::Validator StatusValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (ParseProgressStatus(text).has_value()) return "";
        return "\"" + text +
               "\" is not a status: use not-started, on-track, at-risk, "
               "behind or completed (未开始, 按计划推进, 有风险, 滞后, 已完成)";
      },
      "STATUS", "progress status");
}

// Accepts a finite number.
CLI::Validator FiniteNumber() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end != text.c_str() && *end == '\0' && std::isfinite(value)) {
          return "";
        }
        return "\"" + text + "\" is not a finite number";
      },
      "", "finite number");
}

// Accepts a fraction in [0, 1], "0.05", or a percentage, "5%" (which it
// turns into "0.05").
CLI::Validator Fraction() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool percent = !text.empty() && text.back() == '%';
        const std::string number =
            percent ? text.substr(0, text.size() - 1) : text;
        char* end = nullptr;
        double value = std::strtod(number.c_str(), &end);
        if (percent) value /= 100;
        if (end == number.c_str() || *end != '\0' || !(value >= 0) ||
            value > 1) {
          return "\"" + text +
                 "\" is not a fraction from 0 to 1 or a percentage from 0% "
                 "to 100%";
        }
        if (percent) text = std::to_string(value);
        return "";
      },
      "", "fraction");
}

// The role of a validated, possibly empty role option.
std::optional<v1::Role> OptionalRole(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return ParseRole(text);
}

// ---------------------------------------------------------------------------
// Local files and credentials

absl::StatusOr<std::string> ReadFile(const std::string& path) { return ReadWholeFile(path); }

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// The contents of the file `path` that option `source` names.
absl::StatusOr<std::string> ReadOptionFile(const std::string& path,
                                           const char* source) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) {
    return absl::Status(
        contents.status().code(),
        absl::StrCat(source, ": ", contents.status().message()));
  }
  return contents;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          const char* source) {
  absl::StatusOr<std::string> contents = ReadOptionFile(path, source);
  if (!contents.ok()) return contents.status();
  std::string token(absl::StripAsciiWhitespace(*contents));
  if (token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(source, ": ", path, " holds no token"));
  }
  return token;
}

// The bearer token, from the first of: --token, --token-file, DUBAN_TOKEN,
// DUBAN_TOKEN_FILE, <data-dir>/admin.token. With a client certificate
// (mutual TLS) the certificate is the credential when none of the first four
// is set: then "" (no authorization header), and <data-dir>/admin.token is
// not used, so that a server's local admin token never silently replaces the
// certificate's principal.
absl::StatusOr<std::string> ResolveToken(const GlobalOptions& options) {
  const auto nonempty = [](std::string token,
                           const char* source) -> absl::StatusOr<std::string> {
    token = std::string(absl::StripAsciiWhitespace(token));
    if (token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(source, " is empty"));
    }
    return token;
  };
  if (options.token_given) return nonempty(options.token, "--token");
  if (options.token_file_given) {
    return ReadTokenFile(options.token_file, "--token-file");
  }
  if (const std::string env = GetEnv("DUBAN_TOKEN"); !env.empty()) {
    return nonempty(env, "DUBAN_TOKEN");
  }
  if (const std::string env = GetEnv("DUBAN_TOKEN_FILE"); !env.empty()) {
    return ReadTokenFile(env, "DUBAN_TOKEN_FILE");
  }
  if (!options.tls_cert.empty()) return std::string();
  const std::string admin_token = options.data_dir + "/admin.token";
  absl::StatusOr<std::string> token = ReadTokenFile(admin_token, "--data-dir");
  if (!absl::IsNotFound(token.status())) return token;
  return absl::UnauthenticatedError(absl::StrCat(
      "no token found: looked at --token, --token-file, DUBAN_TOKEN and "
      "DUBAN_TOKEN_FILE (none set) and ",
      admin_token,
      " (no such file); give one of them, --data-dir, or a client "
      "certificate (--tls-cert and --tls-key)"));
}

// The channel the options ask for, the PEM files read.
absl::StatusOr<ChannelOptions> ChannelOptionsOf(const GlobalOptions& options) {
  ChannelOptions channel;
  channel.address = options.server;
  channel.tls = options.tls();
  channel.server_name = options.tls_server_name;
  const auto read = [](const std::string& path, const char* source,
                       std::string* pem) {
    if (path.empty()) return absl::OkStatus();
    absl::StatusOr<std::string> contents = ReadOptionFile(path, source);
    if (!contents.ok()) return contents.status();
    *pem = *std::move(contents);
    return absl::OkStatus();
  };
  for (const absl::Status& status :
       {read(options.tls_ca, "--tls-ca", &channel.root_certificates),
        read(options.tls_cert, "--tls-cert", &channel.certificate_chain),
        read(options.tls_key, "--tls-key", &channel.private_key)}) {
    if (!status.ok()) return status;
  }
  return channel;
}

absl::Status ReadTextProto(const std::string& path,
                           google::protobuf::Message* message) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseTextProto(*text, path, message);
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, path);
  const bool written =
      std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  const int error = written ? 0 : errno;
  if (std::fclose(file) != 0 && written) {
    return absl::ErrnoToStatus(errno, path);
  }
  if (!written) return absl::ErrnoToStatus(error, path);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Output

absl::StatusOr<Json> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!status.ok()) return absl::InternalError(status.ToString());
  return Json::parse(text);
}

void PrintJson(const Json& json) {
  std::cout << json.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

absl::Status PrintMessage(const google::protobuf::Message& message) {
  absl::StatusOr<Json> json = ToJson(message);
  if (!json.ok()) return json.status();
  PrintJson(*json);
  return absl::OkStatus();
}

template <typename Messages>
absl::Status PrintMessages(const Messages& messages) {
  Json array = Json::array();
  for (const google::protobuf::Message& message : messages) {
    absl::StatusOr<Json> json = ToJson(message);
    if (!json.ok()) return json.status();
    array.push_back(*std::move(json));
  }
  PrintJson(array);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Commands

// `status` with `hint` appended when it leaves a write's outcome unknown
// (the server may have applied it), else `status` itself.
absl::Status WhenOutcomeUnknown(const absl::Status& status,
                                std::string_view hint) {
  if (status.code() != absl::StatusCode::kUnavailable &&
      status.code() != absl::StatusCode::kDeadlineExceeded) {
    return status;
  }
  return absl::Status(
      status.code(),
      absl::StrCat(status.message(), " (",
                   absl::string_view(hint.data(), hint.size()), ")"));
}

// A failed write whose outcome is unknown says how to retry it without
// applying it twice.
absl::Status WithRetryHint(const absl::Status& status,
                           const std::string& request_id) {
  return WhenOutcomeUnknown(
      status, absl::StrCat("retry safely with --request-id ", request_id));
}

// What every command needs: the options and a client per service, all on
// one channel.
struct Session {
  const GlobalOptions& options;
  AssignmentClient assignment;
  ReportingClient reporting;
  AdminClient admin;
  SupervisionClient supervision;
  AuditClient audit;
  std::shared_ptr<grpc::Channel> channel;  // the clients'
  std::string token;                       // the clients' bearer token

  // Indicator names by number, or none when they cannot be read: for
  // output that only decorates numbers with names.
  IndicatorNames IndicatorNamesOrNone() const {
    v1::ListIndicatorsRequest request;
    request.set_plan_id(options.plan);
    absl::StatusOr<v1::ListIndicatorsResponse> response =
        assignment.ListIndicators(request);
    IndicatorNames names;
    if (!response.ok()) return names;
    for (const v1::Indicator& indicator : response->indicators()) {
      names[indicator.number()] = indicator.name();
    }
    return names;
  }

  // The notice recipient `text` names: "supervisor",
  // "provincial-government", "agency:<id>", or an agency of the plan by
  // name (then "agency:<id>").
  absl::StatusOr<std::string> Recipient(const std::string& text) const {
    if (std::optional<std::string> fixed = FixedRecipient(text)) return *fixed;
    absl::StatusOr<AgencyDirectory> agencies = Agencies();
    if (!agencies.ok()) return agencies.status();
    absl::StatusOr<std::string> id = AgencyId(*agencies, text);
    if (!id.ok()) {
      return absl::Status(
          id.status().code(),
          absl::StrCat("recipient: ", id.status().message(),
                       " (a recipient is supervisor, provincial-government, "
                       "agency:<id> or an agency's name)"));
    }
    return AgencyPrincipal(*id);
  }

  absl::StatusOr<AgencyDirectory> Agencies() const {
    v1::ListAgenciesRequest request;
    request.set_plan_id(options.plan);
    absl::StatusOr<v1::ListAgenciesResponse> response =
        assignment.ListAgencies(request);
    if (!response.ok()) return response.status();
    return AgencyDirectory(*std::move(response));
  }

  // The agencies when `needed` (to resolve a name, or to print short names),
  // else an empty directory without a call.
  absl::StatusOr<AgencyDirectory> AgenciesIf(bool needed) const {
    if (!needed) return AgencyDirectory(v1::ListAgenciesResponse());
    return Agencies();
  }

  // The agencies if the plan has them, else an empty directory: for output
  // that only decorates ids with names.
  AgencyDirectory AgenciesOrNone() const {
    absl::StatusOr<AgencyDirectory> agencies = Agencies();
    if (!agencies.ok()) return AgencyDirectory(v1::ListAgenciesResponse());
    return *std::move(agencies);
  }

  // The id of the agency `ref` names, or "" for an empty `ref`.
  absl::StatusOr<std::string> AgencyId(const AgencyDirectory& agencies,
                                       const std::string& ref) const {
    if (ref.empty()) return std::string();
    return ResolveAgency(agencies.response(), ref);
  }

  absl::StatusOr<std::vector<v1::Task>> Tasks(
      const std::string& agency_id, std::optional<v1::Role> role) const {
    v1::ListTasksRequest request;
    request.set_plan_id(options.plan);
    request.set_agency_id(agency_id);
    if (role.has_value()) request.set_role(*role);
    request.set_page_size(500);
    return assignment.ListAllTasks(std::move(request));
  }

  // Prints a task that a command returned: as JSON or like `tasks show`.
  absl::Status PrintTask(const v1::Task& task,
                         const AgencyDirectory* agencies) const {
    if (options.json) return PrintMessage(task);
    std::optional<AgencyDirectory> loaded;
    if (agencies == nullptr) {
      absl::StatusOr<AgencyDirectory> directory = Agencies();
      if (!directory.ok()) return directory.status();
      agencies = &loaded.emplace(*std::move(directory));
    }
    std::cout << FormatTask(task, *agencies);
    return absl::OkStatus();
  }
};

absl::Status PlanImport(const Session& session, const ImportOptions& import) {
  v1::ImportPlanRequest request;
  request.set_request_id(session.options.request_id);
  request.set_plan_id(session.options.plan);
  request.set_dry_run(import.dry_run);
  if (!import.document_file.empty()) {
    v1::PlanDocument* document = request.mutable_document();
    absl::Status read = ReadTextProto(import.document_file, document);
    if (!read.ok()) return read;
    if (!document->plan_id().empty() &&
        document->plan_id() != request.plan_id()) {
      if (session.options.plan_given) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--plan ", request.plan_id(),
            " does not match the document's plan_id ", document->plan_id()));
      }
      request.set_plan_id(document->plan_id());
    }
  } else {
    v1::PlanSource* source = request.mutable_source();
    absl::StatusOr<std::string> text = ReadFile(import.source_file);
    if (!text.ok()) return text.status();
    source->set_text(*std::move(text));
    absl::Status read =
        ReadTextProto(import.registry_file, source->mutable_registry());
    if (!read.ok()) return read;
    if (!import.indicator_agencies_file.empty()) {
      read = ReadTextProto(import.indicator_agencies_file,
                           source->mutable_indicator_agencies());
      if (!read.ok()) return read;
    }
  }
  absl::StatusOr<v1::ImportPlanResponse> response =
      session.assignment.ImportPlan(request);
  if (!response.ok()) {
    return WithRetryHint(response.status(), request.request_id());
  }
  if (session.options.json) return PrintMessage(*response);
  std::cout << FormatImport(*response, import.dry_run);
  return absl::OkStatus();
}

absl::Status PlanShow(const Session& session) {
  v1::GetPlanRequest request;
  request.set_plan_id(session.options.plan);
  absl::StatusOr<v1::Plan> plan = session.assignment.GetPlan(request);
  if (!plan.ok()) return plan.status();
  if (session.options.json) return PrintMessage(*plan);
  std::cout << FormatPlan(*plan);
  return absl::OkStatus();
}

absl::Status TasksList(const Session& session, const TaskFilter& filter) {
  // Agencies are needed to resolve --agency and, for text, to name them.
  std::optional<AgencyDirectory> agencies;
  if (!filter.agency.empty() || !session.options.json) {
    absl::StatusOr<AgencyDirectory> directory = session.Agencies();
    if (!directory.ok()) return directory.status();
    agencies.emplace(*std::move(directory));
  }
  std::string agency_id;
  if (agencies.has_value()) {
    absl::StatusOr<std::string> id = session.AgencyId(*agencies, filter.agency);
    if (!id.ok()) return id.status();
    agency_id = *std::move(id);
  }
  absl::StatusOr<std::vector<v1::Task>> tasks =
      session.Tasks(agency_id, OptionalRole(filter.role));
  if (!tasks.ok()) return tasks.status();
  if (session.options.json) return PrintMessages(*tasks);
  std::cout << FormatTaskList(*tasks, *agencies, agency_id);
  return absl::OkStatus();
}

absl::Status TasksShow(const Session& session, int number) {
  v1::GetTaskRequest request;
  request.set_plan_id(session.options.plan);
  request.set_number(number);
  absl::StatusOr<v1::Task> task = session.assignment.GetTask(request);
  if (!task.ok()) return task.status();
  return session.PrintTask(*task, nullptr);
}

absl::Status Agencies(const Session& session) {
  absl::StatusOr<AgencyDirectory> agencies = session.Agencies();
  if (!agencies.ok()) return agencies.status();
  if (session.options.json) return PrintMessage(agencies->response());
  std::cout << FormatAgencies(*agencies);
  return absl::OkStatus();
}

absl::Status Indicators(const Session& session) {
  v1::ListIndicatorsRequest request;
  request.set_plan_id(session.options.plan);
  absl::StatusOr<v1::ListIndicatorsResponse> response =
      session.assignment.ListIndicators(request);
  if (!response.ok()) return response.status();
  if (session.options.json) return PrintMessages(response->indicators());
  std::cout << FormatIndicators(*response);
  return absl::OkStatus();
}

Json MatrixJson(const std::vector<MatrixRow>& rows,
                const AgencyDirectory& agencies) {
  Json array = Json::array();
  for (const MatrixRow& row : rows) {
    Json entry = {{"agency_id", row.agency_id},
                  {"short_name", agencies.ShortName(row.agency_id)},
                  {"task_count", row.roles.size()}};
    for (v1::Role role : {v1::LEAD, v1::SHARED, v1::SUPPORT}) {
      Json numbers = Json::array();
      for (const auto& [number, held] : row.roles) {
        if (held == role) numbers.push_back(number);
      }
      entry[std::string(RoleName(role))] = std::move(numbers);
    }
    array.push_back(std::move(entry));
  }
  return array;
}

absl::Status Matrix(const Session& session, const TaskFilter& filter) {
  absl::StatusOr<AgencyDirectory> agencies = session.Agencies();
  if (!agencies.ok()) return agencies.status();
  absl::StatusOr<std::string> agency_id =
      session.AgencyId(*agencies, filter.agency);
  if (!agency_id.ok()) return agency_id.status();
  // Every task is a column, whatever the filter: rows are filtered instead.
  absl::StatusOr<std::vector<v1::Task>> tasks = session.Tasks("", std::nullopt);
  if (!tasks.ok()) return tasks.status();
  const std::vector<MatrixRow> rows =
      BuildMatrix(*tasks, *agency_id, OptionalRole(filter.role));
  if (session.options.json) {
    PrintJson(MatrixJson(rows, *agencies));
  } else {
    std::cout << FormatMatrix(*tasks, rows, *agencies);
  }
  return absl::OkStatus();
}

// Runs a write that needs the agency resolved first.
template <typename Write>
absl::Status ChangeResponsibility(const Session& session,
                                  const WriteOptions& write, Write send) {
  absl::StatusOr<AgencyDirectory> agencies = session.Agencies();
  if (!agencies.ok()) return agencies.status();
  absl::StatusOr<std::string> agency_id =
      session.AgencyId(*agencies, write.agency);
  if (!agency_id.ok()) return agency_id.status();
  absl::StatusOr<v1::Task> task = send(*agency_id);
  if (!task.ok()) {
    return WithRetryHint(task.status(), session.options.request_id);
  }
  return session.PrintTask(*task, &*agencies);
}

absl::Status Assign(const Session& session, const WriteOptions& write) {
  return ChangeResponsibility(
      session, write, [&](const std::string& agency_id) {
        v1::AssignResponsibilityRequest request;
        request.set_request_id(session.options.request_id);
        request.set_plan_id(session.options.plan);
        request.set_task_number(write.task);
        request.set_agency_id(agency_id);
        request.set_role(*ParseRole(write.role));
        request.set_reason(write.reason);
        return session.assignment.AssignResponsibility(request);
      });
}

absl::Status Revoke(const Session& session, const WriteOptions& write) {
  return ChangeResponsibility(
      session, write, [&](const std::string& agency_id) {
        v1::RevokeResponsibilityRequest request;
        request.set_request_id(session.options.request_id);
        request.set_plan_id(session.options.plan);
        request.set_task_number(write.task);
        request.set_agency_id(agency_id);
        request.set_reason(write.reason);
        return session.assignment.RevokeResponsibility(request);
      });
}

// The agencies a report or value needs (to resolve --agency, or to print
// short names) and the id --agency names ("": the caller reports for itself).
struct ReportingAgency {
  AgencyDirectory agencies;
  std::string agency_id;
};

absl::StatusOr<ReportingAgency> ResolveReportingAgency(
    const Session& session, const std::string& agency) {
  absl::StatusOr<AgencyDirectory> agencies =
      session.AgenciesIf(!agency.empty() || !session.options.json);
  if (!agencies.ok()) return agencies.status();
  absl::StatusOr<std::string> agency_id = session.AgencyId(*agencies, agency);
  if (!agency_id.ok()) return agency_id.status();
  return ReportingAgency{*std::move(agencies), *std::move(agency_id)};
}

absl::Status Report(const Session& session, const ReportOptions& report) {
  absl::StatusOr<ReportingAgency> who =
      ResolveReportingAgency(session, report.agency);
  if (!who.ok()) return who.status();
  v1::SubmitProgressRequest request;
  request.set_request_id(session.options.request_id);
  request.set_plan_id(session.options.plan);
  request.set_task_number(report.task);
  request.set_year(report.year);
  request.set_status(*ParseProgressStatus(report.status));
  request.set_summary(report.summary);
  request.set_measures(report.measures);
  for (const std::string& ref : report.evidence) request.add_evidence_refs(ref);
  if (report.percent.has_value()) {
    request.set_percent_complete(*report.percent);
  }
  if (report.expect_revision.has_value()) {
    request.set_expected_revision(*report.expect_revision);
  }
  request.set_agency_id(who->agency_id);
  absl::StatusOr<v1::ProgressReport> stored =
      session.reporting.SubmitProgress(request);
  if (!stored.ok()) {
    return WithRetryHint(stored.status(), request.request_id());
  }
  if (session.options.json) return PrintMessage(*stored);
  std::cout << FormatProgressReport(*stored, who->agencies);
  return absl::OkStatus();
}

absl::Status IndicatorSet(const Session& session,
                          const IndicatorValueOptions& value) {
  absl::StatusOr<ReportingAgency> who =
      ResolveReportingAgency(session, value.agency);
  if (!who.ok()) return who.status();
  v1::SubmitIndicatorValueRequest request;
  request.set_request_id(session.options.request_id);
  request.set_plan_id(session.options.plan);
  request.set_indicator_number(value.indicator);
  request.set_year(value.year);
  request.set_value(value.value);
  request.set_source_note(value.source_note);
  if (value.expect_revision.has_value()) {
    request.set_expected_revision(*value.expect_revision);
  }
  request.set_agency_id(who->agency_id);
  absl::StatusOr<v1::IndicatorValue> stored =
      session.reporting.SubmitIndicatorValue(request);
  if (!stored.ok()) {
    return WithRetryHint(stored.status(), request.request_id());
  }
  if (session.options.json) return PrintMessage(*stored);
  std::cout << FormatIndicatorValue(*stored, who->agencies);
  return absl::OkStatus();
}

absl::Status Progress(const Session& session, const ProgressOptions& progress) {
  v1::GetTaskProgressRequest request;
  request.set_plan_id(session.options.plan);
  request.set_task_number(progress.task);
  request.set_year(progress.year);
  absl::StatusOr<v1::TaskProgress> response =
      session.reporting.GetTaskProgress(request);
  if (!response.ok()) return response.status();
  if (session.options.json) return PrintMessage(*response);
  absl::StatusOr<AgencyDirectory> agencies = session.Agencies();
  if (!agencies.ok()) return agencies.status();
  std::cout << FormatTaskProgress(*response, *agencies, progress.history);
  return absl::OkStatus();
}

absl::Status Series(const Session& session, const SeriesOptions& series) {
  v1::GetIndicatorSeriesRequest request;
  request.set_plan_id(session.options.plan);
  request.set_indicator_number(series.indicator);
  if (series.tolerance.has_value()) request.set_tolerance(*series.tolerance);
  absl::StatusOr<v1::IndicatorSeries> response =
      session.reporting.GetIndicatorSeries(request);
  if (!response.ok()) return response.status();
  if (session.options.json) return PrintMessage(*response);
  absl::StatusOr<AgencyDirectory> agencies = session.Agencies();
  if (!agencies.ok()) return agencies.status();
  std::cout << FormatIndicatorSeries(*response, *agencies);
  return absl::OkStatus();
}

absl::Status Missing(const Session& session, int year) {
  v1::ListMissingReportsRequest request;
  request.set_plan_id(session.options.plan);
  request.set_year(year);
  absl::StatusOr<v1::MissingReports> response =
      session.reporting.ListMissingReports(request);
  if (!response.ok()) return response.status();
  if (session.options.json) return PrintMessage(*response);
  absl::StatusOr<AgencyDirectory> agencies = session.Agencies();
  if (!agencies.ok()) return agencies.status();
  std::cout << FormatMissingReports(*response, *agencies);
  return absl::OkStatus();
}

// Makes a token, registers its hash and prints the token: the only time it
// is ever shown.
absl::Status TokenIssue(const Session& session, const TokenOptions& issue) {
  v1::IssueCredentialRequest request;
  request.set_request_id(session.options.request_id);
  request.set_label(issue.label);
  AgencyDirectory agencies{v1::ListAgenciesResponse()};
  if (!issue.agency.empty()) {
    absl::StatusOr<AgencyDirectory> directory = session.Agencies();
    if (!directory.ok()) return directory.status();
    agencies = *std::move(directory);
    absl::StatusOr<std::string> agency_id =
        session.AgencyId(agencies, issue.agency);
    if (!agency_id.ok()) return agency_id.status();
    request.set_principal(AgencyPrincipal(*agency_id));
    request.set_plan_id(session.options.plan);
  } else {
    request.set_principal(issue.role);
  }
  absl::StatusOr<std::string> token = NewBearerToken();
  if (!token.ok()) return token.status();
  request.set_token_sha256(Sha256Hex(*token));

  absl::StatusOr<v1::Credential> credential =
      session.admin.IssueCredential(request);
  if (!credential.ok()) {
    // A retry would send another token's hash under the same request id:
    // the unknown outcome is settled by looking, not by retrying.
    return WhenOutcomeUnknown(
        credential.status(),
        "the credential may have been registered: check `dubanctl admin "
        "token list`, revoke it if it is there, and issue a new one");
  }
  if (session.options.json) {
    PrintJson(Json{{"credential_id", credential->credential_id()},
                   {"principal", credential->principal()},
                   {"token", *token}});
  } else {
    std::cout << FormatIssuedToken(*credential, *token, agencies);
  }
  return absl::OkStatus();
}

absl::Status TokenRevoke(const Session& session, const TokenOptions& revoke) {
  v1::RevokeCredentialRequest request;
  request.set_request_id(session.options.request_id);
  request.set_credential_id(revoke.credential_id);
  request.set_reason(revoke.reason);
  absl::StatusOr<v1::Credential> credential =
      session.admin.RevokeCredential(request);
  if (!credential.ok()) {
    return WithRetryHint(credential.status(), request.request_id());
  }
  if (session.options.json) return PrintMessage(*credential);
  std::cout << FormatCredential(*credential, session.AgenciesOrNone());
  return absl::OkStatus();
}

absl::Status TokenList(const Session& session) {
  absl::StatusOr<v1::ListCredentialsResponse> response =
      session.admin.ListCredentials(v1::ListCredentialsRequest());
  if (!response.ok()) return response.status();
  if (session.options.json) return PrintMessages(response->credentials());
  std::cout << FormatCredentials(*response, session.AgenciesOrNone());
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Supervision (督促检查)

// `status`, with a hint when the server does not serve SupervisionService.
absl::Status SupervisionError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnimplemented) return status;
  return absl::UnimplementedError(
      absl::StrCat(status.message(),
                   " (does this server have the SupervisionService? it came "
                   "with the rules engine)"));
}

absl::Status RulesGet(const Session& session, const RulesOptions& rules) {
  v1::GetRulesRequest request;
  request.set_plan_id(session.options.plan);
  absl::StatusOr<v1::RulesetVersion> version =
      session.supervision.GetRules(request);
  if (!version.ok()) return SupervisionError(version.status());
  if (!rules.out_file.empty()) {
    if (version->version() == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "plan ", request.plan_id(), " has no ruleset yet: nothing to write"));
    }
    absl::Status written =
        WriteFile(rules.out_file, FormatRulesetFile(*version));
    if (!written.ok()) return written;
  }
  if (session.options.json) return PrintMessage(*version);
  if (!rules.out_file.empty()) {
    std::cout << "ruleset version " << version->version() << " of plan "
              << version->ruleset().plan_id() << " (sha256 "
              << version->content_sha256() << ") written to " << rules.out_file
              << "\n";
  } else if (rules.summary || version->version() == 0) {
    std::cout << FormatRulesetSummary(*version);
  } else {
    std::cout << FormatRulesetFile(*version);
  }
  return absl::OkStatus();
}

absl::Status RulesPut(const Session& session, const RulesOptions& rules) {
  v1::PutRulesRequest request;
  request.set_request_id(session.options.request_id);
  request.set_expected_version(rules.expect_version);
  v1::Ruleset* ruleset = request.mutable_ruleset();
  absl::Status read = ReadTextProto(rules.file, ruleset);
  if (!read.ok()) return read;
  if (ruleset->plan_id().empty()) {
    ruleset->set_plan_id(session.options.plan);
  } else if (ruleset->plan_id() != session.options.plan &&
             session.options.plan_given) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--plan ", session.options.plan,
        " does not match the ruleset's plan_id ", ruleset->plan_id()));
  }
  absl::StatusOr<v1::RulesetVersion> version =
      session.supervision.PutRules(request);
  if (!version.ok()) {
    return WithRetryHint(SupervisionError(version.status()),
                         request.request_id());
  }
  if (session.options.json) return PrintMessage(*version);
  std::cout << FormatRulesetSummary(*version);
  return absl::OkStatus();
}

absl::Status Evaluate(const Session& session) {
  v1::EvaluateRequest request;
  request.set_request_id(session.options.request_id);
  request.set_plan_id(session.options.plan);
  absl::StatusOr<v1::EvaluateResponse> response =
      session.supervision.Evaluate(request);
  if (!response.ok()) {
    return WithRetryHint(SupervisionError(response.status()),
                         request.request_id());
  }
  if (session.options.json) return PrintMessage(*response);
  std::cout << FormatEvaluate(*response);
  return absl::OkStatus();
}

absl::Status EscalationsList(const Session& session,
                             const EscalationFilter& filter) {
  absl::StatusOr<AgencyDirectory> agencies =
      session.AgenciesIf(!filter.agency.empty() || !session.options.json);
  if (!agencies.ok()) return agencies.status();
  absl::StatusOr<std::string> agency_id =
      session.AgencyId(*agencies, filter.agency);
  if (!agency_id.ok()) return agency_id.status();
  v1::ListEscalationsRequest request;
  request.set_plan_id(session.options.plan);
  if (!filter.state.empty()) {
    request.set_state(*ParseEscalationState(filter.state));
  }
  if (!filter.level.empty()) request.set_level(*ParseLevel(filter.level));
  request.set_agency_id(*agency_id);
  request.set_task_number(filter.task);
  request.set_indicator_number(filter.indicator);
  request.set_year(filter.year);
  request.set_open_only(filter.open);
  absl::StatusOr<v1::ListEscalationsResponse> response =
      session.supervision.ListEscalations(request);
  if (!response.ok()) return SupervisionError(response.status());
  if (session.options.json) return PrintMessages(response->escalations());
  const std::vector<v1::Escalation> escalations(response->escalations().begin(),
                                                response->escalations().end());
  std::cout << FormatEscalations(escalations, *agencies,
                                 session.IndicatorNamesOrNone());
  return absl::OkStatus();
}

// Prints an escalation a command returned: as JSON or like `escalations
// show`.
absl::Status PrintEscalation(const Session& session,
                             const v1::Escalation& escalation) {
  if (session.options.json) return PrintMessage(escalation);
  std::cout << FormatEscalation(escalation, session.AgenciesOrNone(),
                                session.IndicatorNamesOrNone());
  return absl::OkStatus();
}

absl::Status EscalationsShow(const Session& session, const std::string& id) {
  v1::GetEscalationRequest request;
  request.set_plan_id(session.options.plan);
  request.set_escalation_id(id);
  absl::StatusOr<v1::Escalation> escalation =
      session.supervision.GetEscalation(request);
  if (!escalation.ok()) return SupervisionError(escalation.status());
  return PrintEscalation(session, *escalation);
}

absl::Status Ack(const Session& session, const AckOptions& ack) {
  absl::StatusOr<int64_t> due = EndOfCstDayMicros(ack.due);
  if (!due.ok()) return due.status();
  v1::AcknowledgeRequest request;
  request.set_request_id(session.options.request_id);
  request.set_plan_id(session.options.plan);
  request.set_escalation_id(ack.escalation_id);
  request.set_measures(ack.measures);
  request.set_due_micros(*due);
  absl::StatusOr<v1::Escalation> escalation =
      session.supervision.Acknowledge(request);
  if (!escalation.ok()) {
    return WithRetryHint(SupervisionError(escalation.status()),
                         request.request_id());
  }
  return PrintEscalation(session, *escalation);
}

absl::Status Resolve(const Session& session, const ResolveOptions& resolve) {
  v1::ResolveRequest request;
  request.set_request_id(session.options.request_id);
  request.set_plan_id(session.options.plan);
  request.set_escalation_id(resolve.escalation_id);
  request.set_reason(resolve.reason);
  absl::StatusOr<v1::Escalation> escalation =
      session.supervision.Resolve(request);
  if (!escalation.ok()) {
    return WithRetryHint(SupervisionError(escalation.status()),
                         request.request_id());
  }
  return PrintEscalation(session, *escalation);
}

absl::Status WebhookAdd(const Session& session, const WebhookOptions& webhook) {
  v1::AddWebhookRequest request;
  request.set_request_id(session.options.request_id);
  request.set_url(webhook.url);
  for (const std::string& text : webhook.recipients) {
    absl::StatusOr<std::string> recipient = session.Recipient(text);
    if (!recipient.ok()) return recipient.status();
    request.add_recipients(*recipient);
  }
  absl::StatusOr<v1::Webhook> added = session.supervision.AddWebhook(request);
  if (!added.ok()) {
    return WithRetryHint(SupervisionError(added.status()),
                         request.request_id());
  }
  if (session.options.json) return PrintMessage(*added);
  std::cout << FormatWebhook(*added);
  return absl::OkStatus();
}

absl::Status WebhookRemove(const Session& session,
                           const WebhookOptions& webhook) {
  v1::RemoveWebhookRequest request;
  request.set_request_id(session.options.request_id);
  request.set_webhook_id(webhook.webhook_id);
  absl::StatusOr<v1::Webhook> removed =
      session.supervision.RemoveWebhook(request);
  if (!removed.ok()) {
    return WithRetryHint(SupervisionError(removed.status()),
                         request.request_id());
  }
  if (session.options.json) return PrintMessage(*removed);
  std::cout << FormatWebhook(*removed);
  return absl::OkStatus();
}

absl::Status WebhookList(const Session& session) {
  absl::StatusOr<v1::ListWebhooksResponse> response =
      session.supervision.ListWebhooks(v1::ListWebhooksRequest());
  if (!response.ok()) return SupervisionError(response.status());
  if (session.options.json) return PrintMessages(response->webhooks());
  std::cout << FormatWebhooks(*response);
  return absl::OkStatus();
}

absl::Status ClockShow(const Session& session) {
  absl::StatusOr<v1::Clock> clock =
      session.supervision.GetClock(v1::GetClockRequest());
  if (!clock.ok()) return SupervisionError(clock.status());
  if (session.options.json) return PrintMessage(*clock);
  std::cout << FormatClock(*clock);
  return absl::OkStatus();
}

absl::Status ClockAdvance(const Session& session, const ClockOptions& clock) {
  v1::AdvanceClockRequest request;
  request.set_request_id(session.options.request_id);
  if (!clock.by.empty()) {
    absl::StatusOr<absl::Duration> by = ParseDuration(clock.by);
    if (!by.ok()) return by.status();
    request.set_by_seconds(absl::ToInt64Seconds(*by));
  } else {
    absl::StatusOr<int64_t> to = ParseCstTime(clock.to);
    if (!to.ok()) return to.status();
    request.set_to_micros(*to);
  }
  absl::StatusOr<v1::Clock> now = session.supervision.AdvanceClock(request);
  if (!now.ok()) {
    return WithRetryHint(SupervisionError(now.status()), request.request_id());
  }
  if (session.options.json) return PrintMessage(*now);
  std::cout << "now " << FormatClock(*now);
  return absl::OkStatus();
}

// Prints notices as they arrive, one line (or, with --json, one JSON object)
// each, flushed at once.
absl::Status Watch(const Session& session, const WatchOptions& watch) {
  absl::StatusOr<std::string> recipient = session.Recipient(watch.recipient);
  if (!recipient.ok()) return recipient.status();
  absl::Status printed = absl::OkStatus();
  const NoticeHandler print = [&](const v1::Notice& notice) {
    if (session.options.json) {
      absl::StatusOr<Json> json = ToJson(notice);
      if (!json.ok()) {
        printed.Update(json.status());
        return;
      }
      std::cout << json->dump(-1, ' ', false, Json::error_handler_t::replace)
                << std::endl;
    } else {
      std::cout << FormatNotice(notice) << std::endl;
    }
  };
  absl::Status status;
  if (watch.reconnect) {
    ResumeOptions resume;
    resume.on_retry = [](const absl::Status& why,
                         std::chrono::milliseconds wait, uint64_t after_seq) {
      std::cerr << "dubanctl: watch: " << absl::StatusCodeToString(why.code())
                << ": " << why.message() << "; reconnecting in "
                << absl::StrFormat("%.1f", wait.count() / 1000.0)
                << " s after seq " << after_seq << std::endl;
    };
    status = session.supervision.WatchResuming(*recipient, watch.after_seq,
                                               print, resume);
  } else {
    status = session.supervision.Watch(*recipient, watch.after_seq, print);
    if (status.ok())
      std::cerr << "dubanctl: watch: the server ended the stream\n";
  }
  if (!printed.ok()) return printed;
  return SupervisionError(status);
}

absl::Status Demo(const Session& session, const DemoCommandOptions& demo) {
  if (session.options.json) {
    return absl::InvalidArgumentError("demo has no --json output");
  }
  DemoOptions options;
  options.plan_id = session.options.plan;
  options.speed = demo.speed;
  options.rules_file = demo.rules_file;
  options.timeout = std::chrono::milliseconds(
      static_cast<int64_t>(session.options.timeout_seconds * 1000));
  return SupervisionError(
      RunDemo(session.channel, session.token, options, std::cout));
}

// ---------------------------------------------------------------------------
// Audit

// `status`, with a hint when the server does not serve AuditService.
absl::Status AuditError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnimplemented) return status;
  return absl::UnimplementedError(
      absl::StrCat(status.message(),
                   " (does this server have the AuditService? it came with "
                   "the audit log)"));
}

// Where a long run reports progress: stderr, redrawn in place when it is a
// terminal. `stdout_is_output`: the events go to stdout, and when that is a
// terminal their scrolling is progress enough.
ProgressSink ProgressTo(bool enabled, bool stdout_is_output) {
  ProgressSink sink;
  if (!enabled || (stdout_is_output && isatty(STDOUT_FILENO))) return sink;
  sink.out = &std::cerr;
  sink.interactive = isatty(STDERR_FILENO) != 0;
  return sink;
}

// An AuditClient for calls that read much of the log (GetStateAt,
// VerifyLog): an hour's deadline unless --timeout says otherwise.
AuditClient LongAuditClient(const Session& session) {
  const double seconds =
      session.options.timeout_given
          ? session.options.timeout_seconds
          : std::max(session.options.timeout_seconds, 3600.0);
  return AuditClient(
      session.channel,
      CallSettings(session.token, std::chrono::milliseconds(
                                      static_cast<int64_t>(seconds * 1000))));
}

// Whether `text` could be an agency id (ASCII, no spaces): one the plan no
// longer has is still named in the log.
bool LooksLikeId(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == ' ') return false;
  }
  return true;
}

absl::Status AuditReplay(const Session& session, const ReplayOptions& replay,
                         bool progress) {
  v1::ReadEventsRequest request;
  request.set_from_seq(replay.from_seq);
  request.set_to_seq(replay.to_seq);
  if (replay.to_seq != 0 && replay.from_seq > replay.to_seq) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--from ", replay.from_seq, " is after --to ", replay.to_seq));
  }
  if (!replay.since.empty()) {
    absl::StatusOr<int64_t> since = ParseCstTime(replay.since);
    if (!since.ok()) return since.status();
    request.set_from_micros(*since);
  }
  if (!replay.until.empty()) {
    absl::StatusOr<int64_t> until = ParseCstTime(replay.until);
    if (!until.ok()) return until.status();
    // A date alone includes its whole day.
    const bool date_only =
        absl::StripAsciiWhitespace(replay.until).size() == 10;
    request.set_to_micros(*until +
                          (date_only ? int64_t{24} * 3600 * 1000000 : 0));
  }
  if (request.from_micros() != 0 && request.to_micros() != 0 &&
      request.from_micros() >= request.to_micros()) {
    return absl::InvalidArgumentError("--since is not before --until");
  }
  if (replay.plan_filter) request.set_plan_id(session.options.plan);
  request.set_task_number(replay.task);
  if (!replay.agency.empty()) {
    absl::StatusOr<AgencyDirectory> agencies = session.Agencies();
    absl::StatusOr<std::string> id =
        agencies.ok() ? session.AgencyId(*agencies, replay.agency)
                      : agencies.status();
    if (id.ok()) {
      request.set_agency_id(*id);
    } else if (LooksLikeId(replay.agency) &&
               (!agencies.ok() || absl::IsNotFound(id.status()))) {
      request.set_agency_id(replay.agency);  // e.g. an agency since removed
    } else {
      return id.status();
    }
  }
  for (const std::string& type : replay.types) request.add_event_types(type);
  return AuditError(Replay(session.audit, request, session.options.json,
                           std::cout, ProgressTo(progress, true)));
}

absl::Status AuditStateAt(const Session& session,
                          const StateAtOptions& state_at) {
  v1::GetStateAtRequest request;
  request.set_plan_id(session.options.plan);
  if (state_at.seq != 0) {
    request.set_seq(state_at.seq);
  } else {
    absl::StatusOr<int64_t> at = ParseCstTime(state_at.at);
    if (!at.ok()) return at.status();
    request.set_at_micros(*at);
  }
  absl::StatusOr<v1::StateAt> state =
      LongAuditClient(session).GetStateAt(request);
  if (!state.ok()) return AuditError(state.status());
  if (session.options.json) return PrintMessage(*state);
  // When the state's last event was recorded, and the matrix now: only
  // decoration, so failures leave them out.
  int64_t recorded = 0;
  if (state->seq() != 0) {
    v1::ReadEventsRequest one;
    one.set_from_seq(state->seq());
    one.set_to_seq(state->seq());
    session.audit
        .ReadEvents(one,
                    [&](const v1::AuditEvent& event) {
                      recorded = event.event().recorded_at_micros();
                      return absl::OkStatus();
                    })
        .IgnoreError();
  }
  absl::StatusOr<std::vector<v1::Task>> now = session.Tasks("", std::nullopt);
  std::cout << FormatStateAt(*state, recorded, now.ok() ? &*now : nullptr);
  return absl::OkStatus();
}

absl::Status AuditVerify(const Session& session) {
  absl::StatusOr<v1::VerifyLogResponse> response =
      LongAuditClient(session).VerifyLog(v1::VerifyLogRequest());
  if (!response.ok()) return AuditError(response.status());
  if (session.options.json) {
    absl::Status printed = PrintMessage(*response);
    if (!printed.ok()) return printed;
  } else {
    std::cout << FormatVerifyLog(*response);
  }
  if (!response->ok()) {
    return absl::DataLossError(
        absl::StrCat("the stored log fails verification at seq ",
                     response->first_bad_seq()));
  }
  return absl::OkStatus();
}

// Why an escalation happened: the rule at its ruleset version, the facts and
// the causes of each transition, each event in one replay line.
absl::Status AuditExplain(const Session& session, const std::string& id) {
  v1::ExplainEscalationRequest request;
  request.set_plan_id(session.options.plan);
  request.set_escalation_id(id);
  absl::StatusOr<v1::Explanation> why = session.audit.ExplainEscalation(request);
  if (!why.ok()) return AuditError(why.status());
  if (session.options.json) return PrintMessage(*why);
  const std::string rule_text = TextProto(why->rule());
  std::cout << "escalation  " << why->escalation().id() << "  " << why->escalation().summary()
            << "\nruleset     version " << why->ruleset_version() << " (event "
            << why->ruleset_seq() << ")\nrule\n" << rule_text << "evaluated   "
            << CstTime(why->evaluated_at_micros()) << "\n\nfacts (the events the condition "
            << "rested on)\n";
  for (const auto& e : why->facts()) {
    std::cout << "  " << e.event().seq() << "  " << CstTime(e.event().recorded_at_micros())
              << "  " << e.event().principal() << "  " << DescribeEvent(e.event()) << "\n";
  }
  std::cout << "\ncauses of its transitions\n";
  for (const auto& e : why->causes()) {
    std::cout << "  " << e.event().seq() << "  " << CstTime(e.event().recorded_at_micros())
              << "  " << e.event().principal() << "  " << DescribeEvent(e.event()) << "\n";
  }
  std::cout << "\ntimeline\n";
  for (const auto& t : why->escalation().timeline()) {
    std::cout << "  " << t.seq() << "  " << CstTime(t.at_micros()) << "  " << t.what() << "  by "
              << t.by() << (t.cause_seq() != 0 ? absl::StrCat("  ← ", t.cause_seq()) : "") << "\n";
  }
  return absl::OkStatus();
}

absl::Status AuditCheckpoint(const Session& session,
                             const CheckpointOptions& options) {
  v1::GetCheckpointRequest request;
  request.set_make_new(options.make_new);
  if (options.make_new) request.set_request_id(session.options.request_id);
  absl::StatusOr<v1::SignedCheckpoint> checkpoint =
      session.audit.GetCheckpoint(request);
  if (!checkpoint.ok()) {
    absl::Status status = AuditError(checkpoint.status());
    if (absl::IsNotFound(status)) {
      return absl::NotFoundError(
          absl::StrCat(status.message(),
                       " (make one with `dubanctl audit checkpoint --new`)"));
    }
    return options.make_new ? WithRetryHint(status, request.request_id())
                            : status;
  }
  // The signature checked against the key the server sent: consistency,
  // not trust (that takes a key the auditor holds: verify-offline).
  absl::StatusOr<std::string> key =
      Ed25519PublicKeyFromPem(checkpoint->public_key_pem());
  absl::StatusOr<Checkpoint> checked =
      key.ok() ? CheckSignedCheckpoint(*checkpoint, *key) : key.status();
  if (!options.out_file.empty()) {
    absl::Status written =
        WriteFile(options.out_file, CheckpointFileText(*checkpoint));
    if (!written.ok()) return written;
  }
  if (session.options.json) {
    std::cout << CheckpointFileText(*checkpoint);
  } else {
    std::cout << FormatCheckpoint(*checkpoint);
    if (checked.ok()) {
      std::cout << "signature  valid for the public key the server sent (key "
                << Ed25519KeyId(*key)
                << "); to trust it, check it with a key you hold: `dubanctl "
                   "audit verify-offline`\n";
    }
    if (!options.out_file.empty()) {
      std::cout << "written to " << options.out_file << "\n";
    }
  }
  if (!checked.ok()) {
    return absl::DataLossError(
        absl::StrCat("the server's checkpoint does not check out: ",
                     checked.status().message()));
  }
  return absl::OkStatus();
}

absl::Status AuditProofInclusion(const Session& session,
                                 const ProofOptions& options) {
  v1::GetInclusionProofRequest request;
  request.set_seq(options.seq);
  request.set_tree_size(options.size);
  absl::StatusOr<v1::InclusionProof> proof =
      session.audit.GetInclusionProof(request);
  if (!proof.ok()) return AuditError(proof.status());
  const absl::Status verified = CheckInclusionProof(*proof, proof->root_hash());
  if (!options.out_file.empty()) {
    absl::Status written =
        WriteFile(options.out_file, InclusionProofFileText(*proof));
    if (!written.ok()) return written;
  }
  if (session.options.json) {
    std::cout << InclusionProofFileText(*proof);
  } else {
    std::cout << FormatInclusionProof(*proof);
    if (verified.ok()) {
      std::cout << "verified   the path leads from the leaf to the root\n";
    }
    if (!options.out_file.empty()) {
      std::cout << "written to " << options.out_file << "\n";
    }
  }
  if (!verified.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the server's inclusion proof does not verify: ", verified.message()));
  }
  return absl::OkStatus();
}

absl::Status AuditProofConsistency(const Session& session,
                                   const ProofOptions& options) {
  v1::GetConsistencyProofRequest request;
  request.set_old_size(options.old_size);
  request.set_new_size(options.new_size);
  absl::StatusOr<v1::ConsistencyProof> proof =
      session.audit.GetConsistencyProof(request);
  if (!proof.ok()) return AuditError(proof.status());
  const absl::Status verified =
      CheckConsistencyProof(*proof, proof->old_root(), proof->new_root());
  if (!options.out_file.empty()) {
    absl::Status written =
        WriteFile(options.out_file, ConsistencyProofFileText(*proof));
    if (!written.ok()) return written;
  }
  if (session.options.json) {
    std::cout << ConsistencyProofFileText(*proof);
  } else {
    std::cout << FormatConsistencyProof(*proof);
    if (verified.ok()) {
      std::cout << "verified  the old tree is a prefix of the new one\n";
    }
    if (!options.out_file.empty()) {
      std::cout << "written to " << options.out_file << "\n";
    }
  }
  if (!verified.ok()) {
    return absl::DataLossError(
        absl::StrCat("the server's consistency proof does not verify: ",
                     verified.message()));
  }
  return absl::OkStatus();
}

absl::Status AuditExport(const Session& session, const std::string& out_file,
                         bool progress) {
  absl::StatusOr<ExportSummary> summary =
      ExportLog(session.audit, out_file, ProgressTo(progress, false));
  if (!summary.ok()) return AuditError(summary.status());
  if (session.options.json) {
    PrintJson(Json{{"file", out_file},
                   {"events", summary->events},
                   {"last_seq", summary->last_seq},
                   {"head_hash", ToHex(summary->head_hash)},
                   {"not_reproduced", summary->not_reproduced}});
  } else {
    std::cout << "exported " << summary->events << " events";
    if (summary->events > 0)
      std::cout << " (seq 1-" << summary->last_seq << ")";
    std::cout << " to " << out_file << "\nhead hash "
              << ToHex(summary->head_hash) << "\n";
  }
  if (summary->not_reproduced > 0) {
    return absl::DataLossError(absl::StrCat(
        summary->not_reproduced, " events (the first at seq ",
        summary->first_not_reproduced,
        ") came with bytes that do not hash to the hash the server sent: the "
        "file holds them as received, and verify-offline will name them"));
  }
  return absl::OkStatus();
}

absl::Status AuditVerifyOffline(const GlobalOptions& options,
                                const OfflineInputs& inputs, bool progress) {
  if (options.json) {
    return absl::InvalidArgumentError(
        "audit verify-offline has no --json output");
  }
  return VerifyOffline(inputs, std::cout, ProgressTo(progress, false));
}

// `audit import`: no server; writes a new data folder (storage::ImportLog).
struct ImportLogOptions {
  std::string data_dir;
  std::string file;
};

absl::Status AuditImport(const GlobalOptions& options,
                         const ImportLogOptions& import, bool progress) {
  std::ifstream in(import.file, std::ios::binary);
  if (!in) return absl::ErrnoToStatus(errno, import.file);
  // ImportLog reports after each batch of 1000 events and at the end: a
  // line each time (redrawn in place on a terminal).
  ProgressSink sink = ProgressTo(progress, false);
  sink.every = 1;
  ProgressLine line(sink, "imported", 1, 0);
  absl::StatusOr<storage::EventLog::Head> head = storage::ImportLog(
      import.data_dir, in, import.file,
      [&line](uint64_t imported) { line.Update(imported, imported); });
  line.Done();
  if (!head.ok()) return head.status();
  if (options.json) {
    PrintJson(Json{{"data_dir", import.data_dir},
                   {"events", head->seq},
                   {"head_hash", ToHex(head->hash)}});
  } else {
    std::cout << "imported " << head->seq << " events into " << import.data_dir
              << "/log\nhead hash " << ToHex(head->hash) << "\n";
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The command line

using Action = std::function<absl::Status(const Session&)>;

// Everything the command line sets: the options, and the command to run.
struct CommandLine {
  GlobalOptions options;
  std::string explain_id;
  ImportOptions import;
  TaskFilter list_filter;
  TaskFilter matrix_filter;
  int show_number = 0;
  WriteOptions assign;
  WriteOptions revoke;
  ReportOptions report;
  IndicatorValueOptions indicator_value;
  ProgressOptions progress;
  SeriesOptions series;
  int missing_year = 0;
  TokenOptions token;
  RulesOptions rules;
  EscalationFilter escalation_filter;
  std::string escalation_id;  // escalations show
  AckOptions ack;
  ResolveOptions resolve;
  WebhookOptions webhook;
  ClockOptions clock;
  WatchOptions watch;
  DemoCommandOptions demo;
  ReplayOptions replay;
  StateAtOptions state_at;
  CheckpointOptions checkpoint;
  ProofOptions proof;
  std::string export_file;
  ImportLogOptions import_log;
  OfflineInputs offline;
  bool no_progress = false;
  Action action;
  // A command that needs no server (audit verify-offline, audit import), run
  // instead of `action`.
  std::function<absl::Status()> offline_action;

  // Makes `run` the action when `command` is the one parsed.
  void OnParsed(CLI::App* command, Action run) {
    command->callback([this, run = std::move(run)] { action = run; });
  }

  // Makes `run` the action when `command` is parsed without a subcommand
  // of its own (`escalations` as `escalations list`). CLI11 runs a parent's
  // callback after its subcommand's, hence the check.
  void OnParsedAlone(CLI::App* command, Action run) {
    command->callback([this, command, run = std::move(run)] {
      if (command->get_subcommands().empty()) action = run;
    });
  }
};

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--server", options.server, "server address")
      ->type_name("HOST:PORT")
      ->envname("DUBAN_SERVER")
      ->capture_default_str();
  app.add_option("--token", options.token, "bearer token (else $DUBAN_TOKEN)")
      ->type_name("TOKEN");
  app.add_option("--token-file", options.token_file,
                 "file holding the bearer token (else $DUBAN_TOKEN_FILE)")
      ->type_name("FILE");
  app.add_option("--data-dir", options.data_dir,
                 "server data directory; its admin.token is the last resort")
      ->type_name("DIR")
      ->envname("DUBAN_DATA_DIR")
      ->capture_default_str();
  app.add_option("--plan", options.plan, "plan id")
      ->type_name("ID")
      ->envname("DUBAN_PLAN")
      ->capture_default_str();
  app.add_flag("--json", options.json,
               "print the response as one JSON document");
  app.add_option(
         "--request-id", options.request_id,
         "id of a write, for safe retries (default: a fresh random one)")
      ->type_name("ID");
  app.add_option("--timeout", options.timeout_seconds, "deadline of each call")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  app.add_option("--tls-ca", options.tls_ca,
                 "use TLS, trusting these root certificates (PEM)")
      ->envname("DUBAN_TLS_CA")
      ->check(CLI::ExistingFile);
  CLI::Option* cert =
      app.add_option("--tls-cert", options.tls_cert,
                     "use mutual TLS with this client certificate chain (PEM; "
                     "needs --tls-key); without a token it is the credential")
          ->envname("DUBAN_TLS_CERT")
          ->check(CLI::ExistingFile);
  CLI::Option* key =
      app.add_option("--tls-key", options.tls_key,
                     "the client certificate's private key (PEM)")
          ->envname("DUBAN_TLS_KEY")
          ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--tls-server-name", options.tls_server_name,
                 "name to check the server certificate against (default: "
                 "the host of --server)")
      ->type_name("NAME")
      ->envname("DUBAN_TLS_SERVER_NAME");
}

// The agency a write is made on behalf of (admin only).
void AddOnBehalfOption(CLI::App* command, std::string* agency) {
  command
      ->add_option("--agency", *agency,
                   "report for this agency (admin only; an agency's own "
                   "credential leaves it out): id, full name, short name or "
                   "alias")
      ->type_name("AGENCY");
}

// `report TASK ...`: SubmitProgress.
void AddReportCommand(CLI::App& app, CommandLine& cl) {
  ReportOptions& report = cl.report;
  CLI::App* command = app.add_subcommand(
      "report",
      "submit a year's progress on a task: the task's report from a lead, a "
      "contribution from any other agency on the task");
  command->add_option("task", report.task, "task number")
      ->required()
      ->check(CLI::Range(1, 9999));
  command->add_option("--year", report.year, "the year reported on")
      ->required()
      ->check(CLI::Range(1900, 2100));
  command
      ->add_option("--status", report.status,
                   "not-started, on-track, at-risk, behind or completed "
                   "(未开始, 按计划推进, 有风险, 滞后, 已完成)")
      ->required()
      ->check(StatusValidator());
  command->add_option("--summary", report.summary, "what was done")->required();
  command->add_option("--measures", report.measures, "measures taken");
  command
      ->add_option("--evidence", report.evidence,
                   "an evidence reference (document number, URL, file); "
                   "repeat for several")
      ->type_name("REF")
      ->allow_extra_args(false);
  command->add_option("--percent", report.percent, "percent complete")
      ->type_name("N")
      ->check(CLI::Range(0.0, 100.0));
  command
      ->add_option("--expect-revision", report.expect_revision,
                   "fail unless the current revision of this agency's report "
                   "is R (0: there is none yet)")
      ->type_name("R");
  AddOnBehalfOption(command, &report.agency);
  cl.OnParsed(command,
              [&cl](const Session& s) { return Report(s, cl.report); });
}

// `indicator set N ...`: SubmitIndicatorValue.
void AddIndicatorCommands(CLI::App& app, CommandLine& cl) {
  IndicatorValueOptions& value = cl.indicator_value;
  CLI::App* indicator =
      app.add_subcommand("indicator", "report an indicator's values");
  indicator->require_subcommand(1);
  CLI::App* set = indicator->add_subcommand(
      "set", "submit an indicator's value for a year (a later one revises it)");
  set->add_option("number", value.indicator, "indicator number (专栏2)")
      ->required()
      ->check(CLI::Range(1, 999));
  set->add_option("--year", value.year, "the year of the value")
      ->required()
      ->check(CLI::Range(1900, 2100));
  set->add_option("--value", value.value,
                  "the value, in the indicator's unit (for a cumulative "
                  "indicator: that year's amount, not the running total)")
      ->type_name("V")
      ->required()
      ->check(FiniteNumber());
  set->add_option("--source-note", value.source_note,
                  "where the value comes from (e.g. the statistical "
                  "bulletin)")
      ->type_name("TEXT");
  set->add_option("--expect-revision", value.expect_revision,
                  "fail unless the current revision of the year's value is R "
                  "(0: there is none yet)")
      ->type_name("R");
  AddOnBehalfOption(set, &value.agency);
  cl.OnParsed(set, [&cl](const Session& s) {
    return IndicatorSet(s, cl.indicator_value);
  });
}

// `progress`, `series` and `missing`: the reads of ReportingService.
void AddReportingReads(CLI::App& app, CommandLine& cl) {
  CLI::App* progress = app.add_subcommand(
      "progress", "a task's reports and contributions, year by year");
  progress->add_option("task", cl.progress.task, "task number")
      ->required()
      ->check(CLI::Range(1, 9999));
  progress
      ->add_option("--year", cl.progress.year, "only this year (default: all)")
      ->check(CLI::Range(1900, 2100));
  progress->add_flag("--history", cl.progress.history,
                     "also every submission (all revisions) of each year");
  cl.OnParsed(progress,
              [&cl](const Session& s) { return Progress(s, cl.progress); });

  CLI::App* series = app.add_subcommand(
      "series",
      "an indicator's values by year against its expected trajectory");
  series->add_option("number", cl.series.indicator, "indicator number")
      ->required()
      ->check(CLI::Range(1, 999));
  series
      ->add_option("--tolerance", cl.series.tolerance,
                   "relative tolerance of the judgement: 0.05 or 5% (default: "
                   "the server's)")
      ->type_name("T")
      ->transform(Fraction());
  cl.OnParsed(series, [&cl](const Session& s) { return Series(s, cl.series); });

  CLI::App* missing = app.add_subcommand(
      "missing",
      "the task reports, contributions and indicator values a year lacks");
  missing->add_option("--year", cl.missing_year, "the year")
      ->required()
      ->check(CLI::Range(1900, 2100));
  cl.OnParsed(missing,
              [&cl](const Session& s) { return Missing(s, cl.missing_year); });
}

// `admin token issue|revoke|list`: AdminService.
void AddAdminCommands(CLI::App& app, CommandLine& cl) {
  TokenOptions& token = cl.token;
  CLI::App* admin = app.add_subcommand("admin", "administration (admin only)");
  admin->require_subcommand(1);
  CLI::App* tokens = admin->add_subcommand("token", "bearer credentials");
  tokens->require_subcommand(1);

  CLI::App* issue = tokens->add_subcommand(
      "issue",
      "make a new bearer token, register its SHA-256 and print the token "
      "(once: it is stored nowhere)");
  CLI::Option_group* principal =
      issue->add_option_group("principal", "whose credential (one of)");
  principal
      ->add_option("--agency", token.agency,
                   "an agency of --plan: id, full name, short name or alias")
      ->type_name("AGENCY");
  principal->add_option("--role", token.role, "supervisor, auditor or admin")
      ->type_name("ROLE")
      ->transform(
          CLI::IsMember(std::vector<std::string>(std::begin(kRolePrincipals),
                                                 std::end(kRolePrincipals)),
                        CLI::ignore_case));
  principal->require_option(1);
  issue->add_option("--label", token.label,
                    "what the credential is for (recorded)");
  cl.OnParsed(issue,
              [&cl](const Session& s) { return TokenIssue(s, cl.token); });

  CLI::App* revoke = tokens->add_subcommand(
      "revoke", "revoke a credential: its token is refused from now on");
  revoke->add_option("id", token.credential_id, "credential id")->required();
  revoke->add_option("--reason", token.reason, "why (recorded)")->required();
  cl.OnParsed(revoke,
              [&cl](const Session& s) { return TokenRevoke(s, cl.token); });

  cl.OnParsed(tokens->add_subcommand("list", "every credential"), TokenList);
}

// Options --state, --open, --level, --agency, --task, --indicator, --year.
void AddEscalationFilter(CLI::App* command, EscalationFilter* filter) {
  CLI::Option* state =
      command
          ->add_option("--state", filter->state,
                       "only this state: open, acknowledged, resolved, cleared "
                       "(待签收, 已签收, 已办结, 已销号)")
          ->type_name("STATE")
          ->check(ParsedBy(ParseEscalationState, "STATE",
                           "a state: use open, acknowledged, resolved or "
                           "cleared"));
  command
      ->add_flag("--open", filter->open,
                 "only open ones (open or acknowledged)")
      ->excludes(state);
  command
      ->add_option("--level", filter->level,
                   "only this rung: reminder, urging, supervision, "
                   "circulation (提醒, 催办, 督办, 通报)")
      ->type_name("LEVEL")
      ->check(ParsedBy(ParseLevel, "LEVEL",
                       "a level: use reminder, urging, supervision or "
                       "circulation (提醒, 催办, 督办, 通报)"));
  command
      ->add_option("--agency", filter->agency,
                   "only about this agency: id, full name, short name or "
                   "alias")
      ->type_name("AGENCY");
  command->add_option("--task", filter->task, "only about this task")
      ->type_name("N")
      ->check(CLI::Range(1, 9999));
  command
      ->add_option("--indicator", filter->indicator,
                   "only about this indicator")
      ->type_name("N")
      ->check(CLI::Range(1, 999));
  command->add_option("--year", filter->year, "only for this year")
      ->type_name("Y")
      ->check(CLI::Range(1900, 2100));
}

// rules, evaluate, escalations, ack, resolve, webhook, clock, watch and
// demo: SupervisionService.
void AddSupervisionCommands(CLI::App& app, CommandLine& cl) {
  CLI::App* rules = app.add_subcommand(
      "rules", "the plan's supervision ruleset (督促检查 rules)");
  rules->require_subcommand(1);
  CLI::App* get = rules->add_subcommand(
      "get",
      "print the ruleset in protobuf text format, with its version and hash");
  get->add_option("--out", cl.rules.out_file,
                  "write it to FILE instead (what `rules put` reads)")
      ->type_name("FILE");
  get->add_flag("--summary", cl.rules.summary,
                "print the policies' ladders and a table of the rules "
                "instead");
  cl.OnParsed(get, [&cl](const Session& s) { return RulesGet(s, cl.rules); });
  CLI::App* put = rules->add_subcommand(
      "put",
      "replace the ruleset with FILE, a duban.v1.Ruleset in protobuf text "
      "format (its plan_id defaults to --plan)");
  put->add_option("file", cl.rules.file, "the ruleset file")
      ->required()
      ->check(CLI::ExistingFile);
  put->add_option("--expect-version", cl.rules.expect_version,
                  "the version it replaces, as `rules get` shows it (0 for "
                  "the plan's first ruleset)")
      ->type_name("N")
      ->required();
  cl.OnParsed(put, [&cl](const Session& s) { return RulesPut(s, cl.rules); });

  cl.OnParsed(app.add_subcommand(
                  "evaluate",
                  "evaluate the rules now (admin): what opened, climbed, "
                  "closed, and the notices sent"),
              Evaluate);

  CLI::App* escalations = app.add_subcommand(
      "escalations", "escalations raised by the rules (default: list them)");
  AddEscalationFilter(escalations, &cl.escalation_filter);
  cl.OnParsedAlone(escalations, [&cl](const Session& s) {
    return EscalationsList(s, cl.escalation_filter);
  });
  CLI::App* list = escalations->add_subcommand("list", "a table, filtered");
  AddEscalationFilter(list, &cl.escalation_filter);
  cl.OnParsed(list, [&cl](const Session& s) {
    return EscalationsList(s, cl.escalation_filter);
  });
  CLI::App* show = escalations->add_subcommand(
      "show", "one escalation in full, with its timeline");
  show->add_option("id", cl.escalation_id, "escalation id (esc-N)")->required();
  cl.OnParsed(show, [&cl](const Session& s) {
    return EscalationsShow(s, cl.escalation_id);
  });

  CLI::App* ack = app.add_subcommand(
      "ack",
      "签收: acknowledge an escalation with rectification measures (整改措施) "
      "and a due date; it stops climbing until then");
  ack->add_option("id", cl.ack.escalation_id, "escalation id (esc-N)")
      ->required();
  ack->add_option("--measures", cl.ack.measures,
                  "the rectification measures (整改措施)")
      ->type_name("TEXT")
      ->required();
  ack->add_option("--due", cl.ack.due,
                  "the due date (China Standard Time; due at 23:59:59 that "
                  "day)")
      ->type_name("YYYY-MM-DD")
      ->required()
      ->check(CheckedBy(EndOfCstDayMicros, "YYYY-MM-DD"));
  cl.OnParsed(ack, [&cl](const Session& s) { return Ack(s, cl.ack); });

  CLI::App* resolve = app.add_subcommand(
      "resolve", "办结: close an escalation with a reason (supervisor)");
  resolve->add_option("id", cl.resolve.escalation_id, "escalation id (esc-N)")
      ->required();
  resolve->add_option("--reason", cl.resolve.reason, "why (recorded)")
      ->type_name("TEXT")
      ->required();
  cl.OnParsed(resolve,
              [&cl](const Session& s) { return Resolve(s, cl.resolve); });

  CLI::App* webhook = app.add_subcommand(
      "webhook", "webhooks: notices POSTed as JSON to a URL");
  webhook->require_subcommand(1);
  CLI::App* add = webhook->add_subcommand(
      "add", "POST the notices of these recipients to URL");
  add->add_option("url", cl.webhook.url, "http:// or https:// URL")->required();
  add->add_option("--recipient", cl.webhook.recipients,
                  "supervisor, provincial-government, agency:<id> or an "
                  "agency's name; repeat for several")
      ->type_name("R")
      ->required()
      ->allow_extra_args(false);
  cl.OnParsed(add,
              [&cl](const Session& s) { return WebhookAdd(s, cl.webhook); });
  CLI::App* remove =
      webhook->add_subcommand("remove", "stop a webhook's deliveries");
  remove->add_option("id", cl.webhook.webhook_id, "webhook id")->required();
  cl.OnParsed(remove,
              [&cl](const Session& s) { return WebhookRemove(s, cl.webhook); });
  cl.OnParsed(webhook->add_subcommand("list", "every webhook"), WebhookList);

  CLI::App* clock =
      app.add_subcommand("clock", "the server's time (default: show it)");
  cl.OnParsedAlone(clock, ClockShow);
  cl.OnParsed(clock->add_subcommand("show", "the server's time"), ClockShow);
  CLI::App* advance = clock->add_subcommand(
      "advance",
      "move a simulated clock forward (admin; duband --simulated_clock) and "
      "evaluate the rules at the new time");
  CLI::Option_group* how =
      advance->add_option_group("how far", "by a duration or to a time");
  how->add_option("--by", cl.clock.by,
                  "a duration: 30d, 12h, 90m, 1w, 1d12h (w d h m s)")
      ->type_name("DURATION")
      ->check(CheckedBy(ParseDuration, "DURATION"));
  how->add_option("--to", cl.clock.to,
                  "a time in China Standard Time: YYYY-MM-DD (midnight) or "
                  "YYYY-MM-DDTHH:MM")
      ->type_name("TIME")
      ->check(CheckedBy(ParseCstTime, "TIME"));
  how->require_option(1);
  cl.OnParsed(advance,
              [&cl](const Session& s) { return ClockAdvance(s, cl.clock); });

  CLI::App* watch = app.add_subcommand(
      "watch",
      "print a recipient's notices as they arrive (from after --after), "
      "until the stream ends or Ctrl-C");
  watch
      ->add_option("--recipient", cl.watch.recipient,
                   "supervisor, provincial-government, agency:<id> or an "
                   "agency's name")
      ->type_name("R")
      ->required();
  watch
      ->add_option("--after", cl.watch.after_seq,
                   "only notices after this seq (the last one seen; 0: from "
                   "the first)")
      ->type_name("SEQ")
      ->capture_default_str();
  watch->add_flag("--reconnect", cl.watch.reconnect,
                  "when the stream drops, reconnect with backoff and resume "
                  "after the last seq seen (nothing lost or repeated)");
  cl.OnParsed(watch, [&cl](const Session& s) { return Watch(s, cl.watch); });

  CLI::App* demo = app.add_subcommand(
      "demo",
      "play the plan's five years on a server with a simulated clock "
      "(duband --simulated_clock): reports, late ones, lagging indicators, "
      "escalations climbing, notices arriving");
  demo->add_option("--speed", cl.demo.speed,
                   "pace: 2 halves the pauses between steps")
      ->type_name("N")
      ->check(CLI::Range(0.1, 1000.0))
      ->capture_default_str();
  demo->add_option("--rules", cl.demo.rules_file,
                   "the ruleset to put when the server has none (default: "
                   "plans/<plan>/rules.textproto, if there)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  cl.OnParsed(demo, [&cl](const Session& s) { return Demo(s, cl.demo); });
}

// Options --agency and --role.
void AddTaskFilter(CLI::App* command, TaskFilter* filter, const char* what) {
  command
      ->add_option("--agency", filter->agency,
                   absl::StrCat(what,
                                " of this agency: id, full name, "
                                "short name or alias"))
      ->type_name("AGENCY");
  command
      ->add_option("--role", filter->role,
                   "only this role: lead, shared, support "
                   "(牵头, 按职责分工负责, 配合)")
      ->check(RoleValidator());
}

void AddPlanCommands(CLI::App& app, CommandLine& cl) {
  CLI::App* plan = app.add_subcommand("plan", "the plan itself");
  plan->require_subcommand(1);

  CLI::App* import = plan->add_subcommand(
      "import",
      "import a plan from its document, or from its source text and agency "
      "registry");
  CLI::Option_group* content =
      import->add_option_group("content", "what to import");
  CLI::Option* document =
      content->add_option("--document", cl.import.document_file,
                          "a PlanDocument in protobuf text format");
  CLI::Option* source =
      content->add_option("--source", cl.import.source_file,
                          "the plan's source text (needs --registry)");
  CLI::Option* registry =
      content->add_option("--registry", cl.import.registry_file,
                          "an AgencyRegistry in protobuf text format");
  CLI::Option* links = import->add_option(
      "--indicator-agencies", cl.import.indicator_agencies_file,
      "with --source: an IndicatorAgencies (which agencies answer for which "
      "indicator) in protobuf text format");
  for (CLI::Option* option : {document, source, registry, links}) {
    option->check(CLI::ExistingFile);
  }
  source->needs(registry);
  registry->needs(source);
  links->needs(source);
  document->excludes(source)->excludes(registry);
  content->require_option(1, 2);
  import->add_flag("--dry-run", cl.import.dry_run,
                   "report what would change, write nothing");
  cl.OnParsed(import,
              [&cl](const Session& s) { return PlanImport(s, cl.import); });

  cl.OnParsed(plan->add_subcommand("show", "the plan's summary"), PlanShow);
}

void AddTaskCommands(CLI::App& app, CommandLine& cl) {
  CLI::App* tasks = app.add_subcommand("tasks", "the plan's key tasks");
  tasks->require_subcommand(1);

  CLI::App* list = tasks->add_subcommand("list", "list tasks (all pages)");
  AddTaskFilter(list, &cl.list_filter, "only tasks");
  cl.OnParsed(list,
              [&cl](const Session& s) { return TasksList(s, cl.list_filter); });

  CLI::App* show = tasks->add_subcommand("show", "one task in full");
  show->add_option("number", cl.show_number, "task number")
      ->required()
      ->check(CLI::Range(1, 9999));
  cl.OnParsed(show,
              [&cl](const Session& s) { return TasksShow(s, cl.show_number); });
}

// `assign TASK AGENCY ROLE --reason` and `revoke TASK AGENCY --reason`.
void AddWriteCommands(CLI::App& app, CommandLine& cl) {
  const auto add = [&](const char* name, const char* description,
                       WriteOptions& write) {
    CLI::App* command = app.add_subcommand(name, description);
    command->add_option("task", write.task, "task number")
        ->required()
        ->check(CLI::Range(1, 9999));
    command
        ->add_option("agency", write.agency,
                     "agency: id, full name, short name or alias")
        ->required();
    return command;
  };
  CLI::App* assign =
      add("assign", "give an agency a role on a task", cl.assign);
  assign
      ->add_option("role", cl.assign.role,
                   "lead, shared or support (牵头, 按职责分工负责, 配合)")
      ->required()
      ->check(RoleValidator());
  CLI::App* revoke = add("revoke", "take an agency off a task", cl.revoke);
  for (auto [command, write] :
       {std::pair(assign, &cl.assign), std::pair(revoke, &cl.revoke)}) {
    command->add_option("--reason", write->reason, "why (recorded)")
        ->required();
  }
  cl.OnParsed(assign, [&cl](const Session& s) { return Assign(s, cl.assign); });
  cl.OnParsed(revoke, [&cl](const Session& s) { return Revoke(s, cl.revoke); });
}

// `audit ...`: AuditService, and the offline verifier.
// The inputs of the offline check, on `audit verify` (optional: given, the
// check runs offline) and `audit verify-offline` (required).
void AddOfflineOptions(CLI::App* app, OfflineInputs& in, bool required) {
  app
      ->add_option("--checkpoint", in.checkpoint_file,
                   "a checkpoint file (audit checkpoint --out)")
      ->type_name("FILE")
      ->required(required)
      ->check(CLI::ExistingFile);
  app
      ->add_option("--public-key", in.public_key_file,
                   "the server's Ed25519 public key (PEM), as you hold it")
      ->type_name("PEMFILE")
      ->required(required)
      ->check(CLI::ExistingFile);
  app
      ->add_option("--export", in.export_file,
                   "an export (audit export --out): its chain and Merkle root")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  app
      ->add_option("--inclusion", in.inclusion_file,
                   "an inclusion proof (audit proof inclusion --out)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  CLI::Option* old_checkpoint =
      app
          ->add_option("--old-checkpoint", in.old_checkpoint_file,
                       "an earlier checkpoint file")
          ->type_name("FILE")
          ->check(CLI::ExistingFile);
  app
      ->add_option("--consistency", in.consistency_file,
                   "a consistency proof from --old-checkpoint's size to "
                   "--checkpoint's (audit proof consistency --out)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile)
      ->needs(old_checkpoint);
}

void AddAuditCommands(CLI::App& app, CommandLine& cl) {
  CLI::App* audit = app.add_subcommand(
      "audit",
      "auditors: replay the log, the state at any moment, verify the log, "
      "signed checkpoints and Merkle proofs, export the log and verify it "
      "offline");
  audit->require_subcommand(1);
  const auto no_progress = [&cl](CLI::App* command) {
    command->add_flag("--no-progress", cl.no_progress,
                      "no progress line on stderr");
  };

  CLI::App* replay = audit->add_subcommand(
      "replay",
      "the log's events in seq order, one line each (--json: JSON Lines), "
      "filtered");
  ReplayOptions& r = cl.replay;
  replay->add_option("--from", r.from_seq, "from this seq (default: the first)")
      ->type_name("SEQ");
  replay->add_option("--to", r.to_seq, "up to this seq (default: the head)")
      ->type_name("SEQ");
  replay
      ->add_option("--since", r.since,
                   "recorded at or after: YYYY-MM-DD or YYYY-MM-DDTHH:MM (CST)")
      ->type_name("TIME")
      ->check(CheckedBy(ParseCstTime, "TIME"));
  replay
      ->add_option("--until", r.until,
                   "recorded before: YYYY-MM-DDTHH:MM, or YYYY-MM-DD "
                   "(that day included) (CST)")
      ->type_name("TIME")
      ->check(CheckedBy(ParseCstTime, "TIME"));
  replay->add_flag("--plan-filter", r.plan_filter,
                   "only events of --plan (without it: every plan, and "
                   "events of none, such as credentials)");
  replay->add_option("--task", r.task, "only events about this task")
      ->type_name("N")
      ->check(CLI::Range(1, 9999));
  replay
      ->add_option("--agency", r.agency,
                   "only events naming this agency: id, full name, short "
                   "name or alias")
      ->type_name("AGENCY");
  replay
      ->add_option("--type", r.types,
                   "only events of this type (progress_reported, "
                   "escalation_opened, …); repeat or separate with commas")
      ->type_name("T")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            const std::vector<std::string>& names = EventTypeNames();
            if (std::find(names.begin(), names.end(), text) != names.end()) {
              return "";
            }
            return absl::StrCat("\"", text, "\" is not an event type: use ",
                                absl::StrJoin(names, ", "));
          },
          "", "event type"));
  no_progress(replay);
  cl.OnParsed(replay, [&cl](const Session& s) {
    return AuditReplay(s, cl.replay, !cl.no_progress);
  });

  CLI::App* state_at = audit->add_subcommand(
      "state-at",
      "the plan as it stood after an event or at a time, rebuilt from the "
      "log: a summary (--json: everything)");
  CLI::Option_group* when =
      state_at->add_option_group("when", "after an event or at a time");
  when->add_option("--seq", cl.state_at.seq, "after this event")
      ->type_name("N")
      ->check(CLI::Range(uint64_t{1}, ~uint64_t{0}));
  when->add_option("--at", cl.state_at.at,
                   "after the last event recorded at or before this time "
                   "(CST): YYYY-MM-DD (its midnight) or YYYY-MM-DDTHH:MM")
      ->type_name("TIME")
      ->check(CheckedBy(ParseCstTime, "TIME"));
  when->require_option(1);
  cl.OnParsed(state_at,
              [&cl](const Session& s) { return AuditStateAt(s, cl.state_at); });

  CLI::App* verify = audit->add_subcommand(
      "verify",
      "with --checkpoint and --public-key: check a signed checkpoint, and with "
      "it an export and proofs, offline, trusting nothing from the server; "
      "without: the server re-reads its stored log (bytes, hash chain, Merkle "
      "roots, snapshots): ok, or the first bad seq");
  AddOfflineOptions(verify, cl.offline, /*required=*/false);
  no_progress(verify);
  verify->callback([&cl] {
    if (cl.offline.checkpoint_file.empty() && cl.offline.public_key_file.empty()) {
      cl.action = AuditVerify;
      return;
    }
    if (cl.offline.checkpoint_file.empty() || cl.offline.public_key_file.empty()) {
      throw CLI::ValidationError("--checkpoint and --public-key",
                                 "the offline check needs both");
    }
    cl.offline_action = [&cl] {
      return AuditVerifyOffline(cl.options, cl.offline, !cl.no_progress);
    };
  });

  CLI::App* explain = audit->add_subcommand(
      "explain", "why an escalation happened: its rule, ruleset version, facts and causes");
  explain->add_option("id", cl.explain_id, "the escalation, e.g. esc-3")->required();
  cl.OnParsed(explain, [&cl](const Session& s) { return AuditExplain(s, cl.explain_id); });

  CLI::App* checkpoint = audit->add_subcommand(
      "checkpoint", "the latest signed checkpoint (tree size, Merkle root)");
  checkpoint->add_flag("--new", cl.checkpoint.make_new,
                       "make a new one at the current head first");
  checkpoint
      ->add_option("--out", cl.checkpoint.out_file,
                   "also write it as JSON, for verify-offline")
      ->type_name("FILE");
  cl.OnParsed(checkpoint, [&cl](const Session& s) {
    return AuditCheckpoint(s, cl.checkpoint);
  });

  CLI::App* proof = audit->add_subcommand(
      "proof", "Merkle proofs, printed and verified against their roots");
  proof->require_subcommand(1);
  CLI::App* inclusion = proof->add_subcommand(
      "inclusion", "that event SEQ is in the tree of size --size");
  inclusion->add_option("--seq", cl.proof.seq, "the event")
      ->type_name("N")
      ->required()
      ->check(CLI::Range(uint64_t{1}, ~uint64_t{0}));
  inclusion
      ->add_option("--size", cl.proof.size,
                   "the tree size (default: the head), e.g. a checkpoint's")
      ->type_name("M");
  inclusion->add_option("--out", cl.proof.out_file, "also write it as JSON")
      ->type_name("FILE");
  cl.OnParsed(inclusion, [&cl](const Session& s) {
    return AuditProofInclusion(s, cl.proof);
  });
  CLI::App* consistency = proof->add_subcommand(
      "consistency",
      "that the tree of size --new extends the tree of size --old");
  consistency->add_option("--old", cl.proof.old_size, "the old tree size")
      ->type_name("M")
      ->required();
  consistency
      ->add_option("--new", cl.proof.new_size,
                   "the new tree size (default: the head)")
      ->type_name("N");
  consistency->add_option("--out", cl.proof.out_file, "also write it as JSON")
      ->type_name("FILE");
  cl.OnParsed(consistency, [&cl](const Session& s) {
    return AuditProofConsistency(s, cl.proof);
  });

  CLI::App* export_log = audit->add_subcommand(
      "export",
      "the whole log as JSON Lines, with each event's exact bytes and hashes");
  export_log->add_option("--out", cl.export_file, "the file to write")
      ->type_name("FILE")
      ->required();
  no_progress(export_log);
  cl.OnParsed(export_log, [&cl](const Session& s) {
    return AuditExport(s, cl.export_file, !cl.no_progress);
  });

  CLI::App* import_log = audit->add_subcommand(
      "import",
      "rebuild a server's log from an export into a new data folder, with the "
      "same bytes and head hash (no connection)");
  import_log
      ->add_option("--data_dir,--data-dir", cl.import_log.data_dir,
                   "the new (or empty) data folder to write")
      ->type_name("DIR")
      ->required();
  import_log
      ->add_option("file", cl.import_log.file,
                   "the export (audit export --out)")
      ->type_name("FILE")
      ->required()
      ->check(CLI::ExistingFile);
  no_progress(import_log);
  import_log->callback([&cl] {
    cl.offline_action = [&cl] {
      return AuditImport(cl.options, cl.import_log, !cl.no_progress);
    };
  });

  CLI::App* offline = audit->add_subcommand(
      "verify-offline",
      "the offline check alone (as `audit verify --checkpoint … --public-key …`): "
      "a checkpoint's signature against a public key you hold, and with it an "
      "exported log and proofs, trusting nothing from the server (no connection)");
  AddOfflineOptions(offline, cl.offline, /*required=*/true);
  no_progress(offline);
  offline->callback([&cl] {
    cl.offline_action = [&cl] {
      return AuditVerifyOffline(cl.options, cl.offline, !cl.no_progress);
    };
  });
}

// Resolves the token, connects and runs the parsed command.
absl::Status Execute(const CommandLine& cl) {
  absl::StatusOr<std::string> bearer = ResolveToken(cl.options);
  if (!bearer.ok()) return bearer.status();
  absl::StatusOr<ChannelOptions> channel_options = ChannelOptionsOf(cl.options);
  if (!channel_options.ok()) return channel_options.status();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(*channel_options);
  if (!channel.ok()) return channel.status();
  const CallSettings settings(
      *bearer, std::chrono::milliseconds(
                   static_cast<int64_t>(cl.options.timeout_seconds * 1000)));
  const Session session{cl.options,
                        AssignmentClient(*channel, settings),
                        ReportingClient(*channel, settings),
                        AdminClient(*channel, settings),
                        SupervisionClient(*channel, settings),
                        AuditClient(*channel, settings),
                        *channel,
                        *bearer};
  return cl.action(session);
}

int Run(int argc, char** argv) {
  CommandLine cl;
  CLI::App app(
      "dubanctl: read and change a plan's responsibility matrix, report "
      "progress and indicator values, follow and handle escalations and "
      "their notices, manage credentials and audit the log on a duban "
      "server.",
      "dubanctl");
  app.fallthrough();  // global options are also accepted after the command
  app.footer(
      "Token: the first of --token, --token-file, $DUBAN_TOKEN, "
      "$DUBAN_TOKEN_FILE, <data-dir>/admin.token;\n"
      "  with --tls-cert and none of the first four, the client certificate "
      "is the credential.\n"
      "TLS: --tls-ca and/or --tls-cert (with --tls-key) turn it on; "
      "plaintext otherwise.\n"
      "Exit status: 0 ok, 1 call or file failed, 2 usage error.");
  AddGlobalOptions(app, cl.options);
  AddPlanCommands(app, cl);
  AddTaskCommands(app, cl);
  cl.OnParsed(
      app.add_subcommand("agencies", "the agencies and groups the plan names"),
      Agencies);
  cl.OnParsed(app.add_subcommand("indicators", "the plan's indicators (专栏2)"),
              Indicators);
  CLI::App* matrix = app.add_subcommand(
      "matrix", "the responsibility matrix: agencies x tasks");
  AddTaskFilter(matrix, &cl.matrix_filter, "only the row");
  cl.OnParsed(matrix,
              [&cl](const Session& s) { return Matrix(s, cl.matrix_filter); });
  AddWriteCommands(app, cl);
  AddReportCommand(app, cl);
  AddIndicatorCommands(app, cl);
  AddReportingReads(app, cl);
  AddAdminCommands(app, cl);
  AddSupervisionCommands(app, cl);
  AddAuditCommands(app, cl);
  app.require_subcommand(1);

  try {
    app.parse(argc, argv);
    if (!cl.options.tls_server_name.empty() && !cl.options.tls()) {
      throw CLI::ValidationError("--tls-server-name",
                                 "needs TLS: give --tls-ca or --tls-cert");
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help prints and succeeds
  }
  cl.options.token_given = app.count("--token") > 0;
  cl.options.token_file_given = app.count("--token-file") > 0;
  cl.options.plan_given = app.count("--plan") > 0;  // DUBAN_PLAN counts
  cl.options.timeout_given = app.count("--timeout") > 0;

  absl::Status status = absl::OkStatus();
  if (cl.options.request_id.empty()) {
    absl::StatusOr<std::string> id = RandomHex(16);  // 128 bits
    if (id.ok()) {
      cl.options.request_id = *std::move(id);
    } else {
      status = id.status();
    }
  }
  if (status.ok()) {
    status = cl.offline_action ? cl.offline_action() : Execute(cl);
  }
  std::cout.flush();
  if (status.ok()) return 0;
  std::cerr << "dubanctl: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return 1;
}

}  // namespace
}  // namespace duban::clients

int main(int argc, char** argv) {
  // gRPC's own log lines (e.g. a failed TLS handshake) repeat what the
  // error message says; GRPC_VERBOSITY=ERROR in the environment keeps them.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  try {
    return duban::clients::Run(argc, argv);
  } catch (const std::exception& e) {  // a bug
    std::cerr << "dubanctl: INTERNAL: " << e.what() << "\n";
    return 1;
  }
}
