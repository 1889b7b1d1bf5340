// dubanctl: the command-line client of duban's AssignmentService.
//
//   dubanctl --token-file ./data/admin.token tasks list --agency 省教育厅
//   dubanctl matrix --role lead
//   dubanctl assign 12 qh-edu support --reason "added at the 2023 review"
//
// Run `dubanctl --help` for the commands. Exit status: 0 on success, 1 when
// a call or a local file fails ("dubanctl: <CODE>: <message>" on stderr),
// 2 on a usage error.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/dubanctl/client.h"
#include "clients/dubanctl/format.h"
#include "duban/v1/assignment.pb.h"
#include "duban/v1/plan.pb.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

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
};

struct ImportOptions {
  std::string document_file;
  std::string source_file;
  std::string registry_file;
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

// The role of a validated, possibly empty role option.
std::optional<v1::Role> OptionalRole(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return ParseRole(text);
}

// ---------------------------------------------------------------------------
// Local files and credentials

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, path);
  std::string contents;
  char buffer[1 << 14];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    contents.append(buffer, n);
  }
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  // e.g. "data/admin.token: Is a directory"
  if (error != 0) return absl::ErrnoToStatus(error, path);
  return contents;
}

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          const char* source) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (!contents.ok()) {
    return absl::Status(
        contents.status().code(),
        absl::StrCat(source, ": ", contents.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*contents));
  if (token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(source, ": ", path, " holds no token"));
  }
  return token;
}

// The bearer token, from the first of: --token, --token-file, DUBAN_TOKEN,
// DUBAN_TOKEN_FILE, <data-dir>/admin.token.
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
  const std::string admin_token = options.data_dir + "/admin.token";
  absl::StatusOr<std::string> token = ReadTokenFile(admin_token, "--data-dir");
  if (!absl::IsNotFound(token.status())) return token;
  return absl::UnauthenticatedError(absl::StrCat(
      "no token found: looked at --token, --token-file, DUBAN_TOKEN and "
      "DUBAN_TOKEN_FILE (none set) and ",
      admin_token, " (no such file); give one of them, or --data-dir"));
}

// A fresh random 128-bit id, as 32 hex digits.
std::string NewRequestId() {
  std::random_device random;  // /dev/urandom (or RDRAND) on Linux
  std::string id;
  for (int i = 0; i < 4; ++i) {
    const uint32_t word = random();
    for (int shift = 28; shift >= 0; shift -= 4) {
      id += "0123456789abcdef"[(word >> shift) & 0xF];
    }
  }
  return id;
}

// Collects protobuf text-format errors as "file:line:column: message".
class TextFormatErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TextFormatErrors(std::string path) : path_(std::move(path)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!errors_.empty()) errors_ += "\n";
    absl::StrAppend(&errors_, path_, ":", line + 1, ":", column + 1, ": ",
                    message);
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string path_;
  std::string errors_;
};

absl::Status ReadTextProto(const std::string& path,
                           google::protobuf::Message* message) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  TextFormatErrors errors(path);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(*text, message)) {
    return absl::InvalidArgumentError(
        errors.errors().empty()
            ? absl::StrCat(path, ": not a ", message->GetTypeName())
            : errors.errors());
  }
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

// A failed write whose outcome is unknown (the server may have applied it)
// says how to retry it without applying it twice.
absl::Status WithRetryHint(const absl::Status& status,
                           const std::string& request_id) {
  if (status.code() != absl::StatusCode::kUnavailable &&
      status.code() != absl::StatusCode::kDeadlineExceeded) {
    return status;
  }
  return absl::Status(
      status.code(),
      absl::StrCat(status.message(), " (retry safely with --request-id ",
                   request_id, ")"));
}

// What every command needs: the options and a client.
struct Session {
  const GlobalOptions& options;
  AssignmentClient client;

  absl::StatusOr<AgencyDirectory> Agencies() const {
    v1::ListAgenciesRequest request;
    request.set_plan_id(options.plan);
    absl::StatusOr<v1::ListAgenciesResponse> response =
        client.ListAgencies(request);
    if (!response.ok()) return response.status();
    return AgencyDirectory(*std::move(response));
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
    return client.ListAllTasks(std::move(request));
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
  }
  absl::StatusOr<v1::ImportPlanResponse> response =
      session.client.ImportPlan(request);
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
  absl::StatusOr<v1::Plan> plan = session.client.GetPlan(request);
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
  absl::StatusOr<v1::Task> task = session.client.GetTask(request);
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
      session.client.ListIndicators(request);
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
        return session.client.AssignResponsibility(request);
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
        return session.client.RevokeResponsibility(request);
      });
}

// ---------------------------------------------------------------------------
// The command line

using Action = std::function<absl::Status(const Session&)>;

// Everything the command line sets: the options, and the command to run.
struct CommandLine {
  GlobalOptions options;
  ImportOptions import;
  TaskFilter list_filter;
  TaskFilter matrix_filter;
  int show_number = 0;
  WriteOptions assign;
  WriteOptions revoke;
  Action action;

  // Makes `run` the action when `command` is the one parsed.
  void OnParsed(CLI::App* command, Action run) {
    command->callback([this, run = std::move(run)] { action = run; });
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
  for (CLI::Option* option : {document, source, registry}) {
    option->check(CLI::ExistingFile);
  }
  source->needs(registry);
  registry->needs(source);
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

// Resolves the token, connects and runs the parsed command.
absl::Status Execute(const CommandLine& cl) {
  absl::StatusOr<std::string> bearer = ResolveToken(cl.options);
  if (!bearer.ok()) return bearer.status();
  const auto timeout = std::chrono::milliseconds(
      static_cast<int64_t>(cl.options.timeout_seconds * 1000));
  const Session session{
      cl.options,
      AssignmentClient(cl.options.server, *std::move(bearer), timeout)};
  return cl.action(session);
}

int Run(int argc, char** argv) {
  CommandLine cl;
  CLI::App app(
      "dubanctl: read and change a plan's responsibility matrix on a duban "
      "server.",
      "dubanctl");
  app.fallthrough();  // global options are also accepted after the command
  app.footer(
      "Token: the first of --token, --token-file, $DUBAN_TOKEN, "
      "$DUBAN_TOKEN_FILE, <data-dir>/admin.token.\n"
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
  app.require_subcommand(1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help prints and succeeds
  }
  cl.options.token_given = app.count("--token") > 0;
  cl.options.token_file_given = app.count("--token-file") > 0;
  cl.options.plan_given = app.count("--plan") > 0;  // DUBAN_PLAN counts
  if (cl.options.request_id.empty()) cl.options.request_id = NewRequestId();

  const absl::Status status = Execute(cl);
  std::cout.flush();
  if (status.ok()) return 0;
  std::cerr << "dubanctl: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return 1;
}

}  // namespace
}  // namespace duban::clients

int main(int argc, char** argv) {
  try {
    return duban::clients::Run(argc, argv);
  } catch (const std::exception& e) {  // a bug, or no randomness for an id
    std::cerr << "dubanctl: INTERNAL: " << e.what() << "\n";
    return 1;
  }
}
