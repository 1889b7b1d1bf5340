#include "services/server.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "engine/commands.h"
#include "engine/plan_parser.h"
#include "engine/rules.h"
#include "services/auth.h"
#include "storage/status_macros.h"

namespace duban::services {

namespace {

// duband runs on jemalloc (services/CMakeLists.txt); tests and other
// programs linking the server run on glibc's malloc. Either way, return freed
// pages to the OS now.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp,
                       size_t newlen) __attribute__((weak));

void ReleaseFreedMemory() {
  if (mallctl != nullptr) {
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // 4096: MALLCTL_ARENAS_ALL
    return;
  }
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

// Writes `contents` to `path` with mode 0600, atomically (temp file + rename).
absl::Status WritePrivateFile(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ", strerror(errno)));
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
            ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  // Make the rename itself durable before anything depends on the file.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    if (dfd >= 0) ::close(dfd);
    return absl::InternalError(absl::StrCat("cannot sync the folder of ", path, ": ", strerror(errno)));
  }
  ::close(dfd);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// On first start: a fresh admin token in data_dir/admin.token, its hash in the log.
absl::StatusOr<bool> EnsureAdminCredential(Sequencer* seq, const std::string& token_path) {
  if (seq->snapshot()->HasCredentialFor("admin")) return false;
  NewToken token = MintToken();
  // The file first: if we stop before the event is durable, the next start
  // finds no admin credential and writes a new token over this one.
  RETURN_IF_ERROR(WritePrivateFile(token_path, token.token + "\n"));
  Sequencer::Command cmd;
  cmd.method = "IssueCredential";
  cmd.principal = "system";
  const std::string id = absl::StrCat("admin-", token.sha256_hex.substr(0, 12));
  cmd.decide = [id, hash = token.sha256_hex](const engine::State& s, absl::Time) {
    return engine::DecideIssueCredential(s, id, "admin", hash, "created at first start");
  };
  cmd.respond = [](const engine::State&, const Sequencer::Events&) { return std::string(); };
  RETURN_IF_ERROR(seq->Execute(std::move(cmd)).status());
  return true;
}

// The parser's warnings for the source text shipped beside a reviewed plan
// document (source.txt, agencies.textproto, indicator-agencies.textproto), so
// the import records them too.
// None if the folder has no source; a warning if the two disagree.
absl::StatusOr<std::vector<duban::v1::ImportWarning>> SourceWarnings(
    const std::filesystem::path& folder, const duban::v1::PlanDocument& doc) {
  std::vector<duban::v1::ImportWarning> warnings;
  const auto source = folder / "source.txt";
  const auto registry_path = folder / "agencies.textproto";
  if (!std::filesystem::exists(source) || !std::filesystem::exists(registry_path)) {
    return warnings;
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(source.string()));
  ASSIGN_OR_RETURN(std::string registry_text, ReadFile(registry_path.string()));
  duban::v1::AgencyRegistry registry;
  if (!google::protobuf::TextFormat::ParseFromString(registry_text, &registry)) {
    return absl::InvalidArgumentError(
        absl::StrCat(registry_path.string(), ": not an AgencyRegistry in text format"));
  }
  ASSIGN_OR_RETURN(engine::ParsedPlan parsed, engine::ParsePlanText(text, registry, doc.plan_id()));
  const auto links_path = folder / "indicator-agencies.textproto";
  if (std::filesystem::exists(links_path)) {
    ASSIGN_OR_RETURN(std::string links_text, ReadFile(links_path.string()));
    duban::v1::IndicatorAgencies links;
    if (!google::protobuf::TextFormat::ParseFromString(links_text, &links)) {
      return absl::InvalidArgumentError(
          absl::StrCat(links_path.string(), ": not an IndicatorAgencies in text format"));
    }
    RETURN_IF_ERROR(
        engine::ApplyIndicatorAgencies(links, registry, &parsed.document, &parsed.warnings));
  }
  warnings = std::move(parsed.warnings);
  if (!google::protobuf::util::MessageDifferencer::Equals(parsed.document, doc)) {
    duban::v1::ImportWarning& w = warnings.emplace_back();
    w.set_where(folder.filename().string());
    w.set_message("the reviewed plan.textproto differs from what the parser reads in source.txt; "
                  "the reviewed document was imported");
  }
  return warnings;
}

// Imports the plan document at `path` unless its plan is already in the log.
absl::StatusOr<std::string> ImportShippedPlan(Sequencer* seq, const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  duban::v1::PlanDocument doc;
  if (!google::protobuf::TextFormat::ParseFromString(text, &doc)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a PlanDocument in text format"));
  }
  if (seq->snapshot()->FindPlan(doc.plan_id()) != nullptr) {
    return absl::StrCat("plan ", doc.plan_id(), " already in the log");
  }
  ASSIGN_OR_RETURN(std::vector<duban::v1::ImportWarning> warnings,
                   SourceWarnings(std::filesystem::path(path).parent_path(), doc));
  Sequencer::Command cmd = ImportPlanCommand(doc, std::move(warnings));
  cmd.method = "ImportPlan";
  cmd.principal = "system";
  ASSIGN_OR_RETURN(std::string answer, seq->Execute(std::move(cmd)));
  duban::v1::ImportPlanResponse resp;
  resp.ParseFromString(answer);
  std::string report = absl::StrCat(
      "imported plan ", doc.plan_id(), " (", resp.plan().task_count(), " tasks, ",
      resp.plan().indicator_count(), " indicators, ", resp.plan().agency_count(),
      " agencies; events ", resp.first_seq(), "–", resp.last_seq(), ") from ", path);
  for (const auto& w : resp.warnings()) {
    absl::StrAppend(&report, "\n  warning: ", w.where(), ": ", w.message());
  }
  return report;
}

// Puts the ruleset at `path` for its plan unless the plan has one already.
absl::StatusOr<std::string> ImportShippedRules(Sequencer* seq, const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  duban::v1::Ruleset ruleset;
  if (!google::protobuf::TextFormat::ParseFromString(text, &ruleset)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a Ruleset in text format"));
  }
  const engine::PlanState* plan = seq->snapshot()->FindPlan(ruleset.plan_id());
  if (plan == nullptr) {
    return absl::StrCat("rules for ", ruleset.plan_id(), " not loaded: no such plan");
  }
  if (plan->rules->version() != 0) {
    return absl::StrCat("rules of ", ruleset.plan_id(), " at version ", plan->rules->version());
  }
  Sequencer::Command cmd;
  cmd.method = "PutRules";
  cmd.principal = "system";
  cmd.decide = [ruleset](const engine::State& s, absl::Time) {
    return engine::DecidePutRules(s, ruleset, 0);
  };
  cmd.respond = [](const engine::State&, const Sequencer::Events&) { return std::string(); };
  RETURN_IF_ERROR(seq->Execute(std::move(cmd)).status());
  return absl::StrCat("loaded rules for ", ruleset.plan_id(), " (", ruleset.rules_size(),
                      " rules) from ", path);
}

// The outbox entries of notices: one per webhook that wants the recipient.
std::vector<storage::EventLog::OutboxEntry> WebhookOutbox(const engine::State& state,
                                                           const Sequencer::Events& events) {
  std::vector<storage::EventLog::OutboxEntry> out;
  if (state.webhooks().empty()) return out;
  for (const auto& e : events) {
    if (!e.has_notice_issued()) continue;
    const std::string& to = e.notice_issued().notice().recipient();
    std::vector<const duban::v1::Webhook*> wanting;
    for (const auto& [id, hook] : state.webhooks()) {
      if (!hook.removed() && std::find(hook.recipients().begin(), hook.recipients().end(), to) !=
                                 hook.recipients().end()) {
        wanting.push_back(&hook);
      }
    }
    if (wanting.empty()) continue;  // no webhook wants it: no JSON to build
    const duban::v1::Notice notice = NoticeOf(e);
    std::string body;
    google::protobuf::util::JsonPrintOptions json;
    json.preserve_proto_field_names = true;
    json.always_print_primitive_fields = true;
    if (!google::protobuf::util::MessageToJsonString(notice, &body, json).ok()) continue;
    for (const duban::v1::Webhook* hook : wanting) {
      duban::v1::WebhookDelivery d;
      d.set_webhook_id(hook->id());
      d.set_url(hook->url());
      d.set_notice_id(notice.id());
      d.set_notice_seq(notice.seq());
      d.set_body_json(body);
      std::string key = hook->id();
      key.push_back('\0');
      for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(e.seq() >> shift));
      out.push_back({std::move(key), d.SerializeAsString()});
    }
  }
  return out;
}

// Plaintext, TLS, or TLS that also accepts client certificates.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (options.tls_cert.empty()) {
    if (!options.tls_client_ca.empty()) {
      return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl;
  ASSIGN_OR_RETURN(std::string cert, ReadFile(options.tls_cert));
  ASSIGN_OR_RETURN(std::string key, ReadFile(options.tls_key));
  ssl.pem_key_cert_pairs.push_back({key, cert});
  if (!options.tls_client_ca.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.tls_client_ca));
    // A certificate is optional (tokens still work) but verified when given.
    ssl.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  std::unique_ptr<Server> s(new Server());
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data folder ", options.data_dir, ": ", ec.message()));
  }
  ::chmod(options.data_dir.c_str(), 0700);
  if (options.simulated_clock) {
    auto manual = std::make_unique<ManualClock>(*options.simulated_clock);
    s->simulated_ = manual.get();
    s->clock_ = std::move(manual);
  } else {
    s->clock_ = std::make_unique<SystemClock>();
  }
  ASSIGN_OR_RETURN(s->log_, storage::EventLog::Open({.path = options.data_dir + "/log"}));
  // The dispatcher takes over the outbox before any new notice can be written.
  WebhookDispatcher::Options webhook_options = options.webhooks;
  webhook_options.still_wanted = [server = s.get()](const std::string& id) {
    const std::shared_ptr<const engine::State> state = std::atomic_load(&server->latest_state_);
    if (state == nullptr) return true;  // still starting: decided on a later attempt
    auto it = state->webhooks().find(id);
    return it != state->webhooks().end() && !it->second.removed();
  };
  ASSIGN_OR_RETURN(s->webhooks_, WebhookDispatcher::Start(s->log_.get(), webhook_options));
  Sequencer::Hooks hooks;
  hooks.derive = engine::DeriveAfter;
  hooks.outbox = WebhookOutbox;
  hooks.committed = [server = s.get()](const engine::State&, const Sequencer::Events& events,
                                       const std::vector<storage::EventLog::OutboxEntry>& outbox) {
    for (const auto& e : events) {
      if (e.has_clock_advanced() && server->simulated_ != nullptr) {
        server->simulated_->Set(absl::FromUnixMicros(e.clock_advanced().now_micros()));
      }
    }
    std::shared_ptr<const engine::State> published = server->sequencer_->snapshot();
    std::atomic_store(&server->latest_state_, published);
    server->snapshotter_->Offer(std::move(published));
    server->hub_.Publish(events);
    if (!outbox.empty()) server->webhooks_->Enqueue(outbox);
  };
  const absl::Time load_start = absl::Now();
  ASSIGN_OR_RETURN(s->sequencer_,
                   Sequencer::Start(s->log_.get(), s->clock_.get(),
                                    [server = s.get()](const absl::Status& why) {
                                      server->MarkUnhealthy(why);
                                    },
                                    std::move(hooks)));
  for (const std::string& why : s->sequencer_->skipped_snapshots()) {
    spdlog::warn("snapshot skipped: {}", why);
  }
  spdlog::info("state at seq {} loaded in {} ms: snapshot at seq {}, {} events replayed",
               s->sequencer_->snapshot()->seq(), absl::ToInt64Milliseconds(absl::Now() - load_start),
               s->sequencer_->loaded_from_snapshot(), s->sequencer_->replayed_at_start());
  // Constructed before any command can commit (the hook above uses it).
  s->snapshot_at_stop_ = options.snapshot_every_events > 0;
  s->snapshotter_ = std::make_unique<Snapshotter>(
      s->log_.get(),
      Snapshotter::Options{options.snapshot_every_events, options.snapshot_keep},
      s->sequencer_->loaded_from_snapshot());
  std::atomic_store(&s->latest_state_, s->sequencer_->snapshot());
  s->snapshotter_->Offer(s->sequencer_->snapshot());  // a long tail was just replayed
  // Loading decoded a snapshot and replayed events through large temporary
  // buffers: give the freed memory back, so the resident size is the state's.
  ReleaseFreedMemory();
  // A simulated clock resumes where the log left it: never before the last
  // time it moved to, nor before the last event it recorded.
  if (s->simulated_ != nullptr) {
    const auto state = s->sequencer_->snapshot();
    const int64_t resume = std::max({absl::ToUnixMicros(s->simulated_->Now()),
                                     state->simulated_now_micros(), state->last_recorded_micros()});
    s->simulated_->Set(absl::FromUnixMicros(resume));
  }

  s->admin_token_path_ = options.data_dir + "/admin.token";
  ASSIGN_OR_RETURN(s->created_admin_token_,
                   EnsureAdminCredential(s->sequencer_.get(), s->admin_token_path_));
  if (!options.import_plan.empty()) {
    ASSIGN_OR_RETURN(s->startup_report_, ImportShippedPlan(s->sequencer_.get(), options.import_plan));
  }
  if (!options.import_rules.empty()) {
    ASSIGN_OR_RETURN(std::string rules, ImportShippedRules(s->sequencer_.get(), options.import_rules));
    absl::StrAppend(&s->startup_report_, s->startup_report_.empty() ? "" : "\n", rules);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  s->assignment_ = std::make_unique<AssignmentServiceImpl>(s->sequencer_.get());
  s->reporting_ = std::make_unique<ReportingServiceImpl>(s->sequencer_.get(), s->log_.get(),
                                                         options.indicator_tolerance);
  s->admin_ = std::make_unique<AdminServiceImpl>(s->sequencer_.get());
  ASSIGN_OR_RETURN(s->authority_, LogAuthority::Open(options.data_dir, s->log_.get()));
  s->audit_ = std::make_unique<AuditServiceImpl>(s->sequencer_.get(), s->authority_.get());
  s->supervision_ = std::make_unique<SupervisionServiceImpl>(
      s->sequencer_.get(), s->log_.get(), &s->hub_, s->clock_.get(), s->simulated_ != nullptr);
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   ServerCredentials(options));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &s->port_);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.RegisterService(s->assignment_.get());
  builder.RegisterService(s->reporting_.get());
  builder.RegisterService(s->admin_.get());
  builder.RegisterService(s->supervision_.get());
  builder.RegisterService(s->audit_.get());
  s->grpc_ = builder.BuildAndStart();
  if (s->grpc_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen,
                                               " (address in use or not local?)"));
  }
  s->serving_.store(s->grpc_.get());
  if (s->unhealthy_.load()) s->grpc_->GetHealthCheckService()->SetServingStatus(false);
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  s->address_ = absl::StrCat(host, ":", s->port_);
  if (s->simulated_ == nullptr && options.tick_interval > absl::ZeroDuration()) {
    s->ticker_ = std::thread([server = s.get(), every = options.tick_interval,
                              checkpoints = options.checkpoint_interval] {
      server->Tick(every, checkpoints);
    });
  }
  if (!options.port_file.empty()) {
    RETURN_IF_ERROR(WritePrivateFile(options.port_file, absl::StrCat(s->port_, "\n")));
  }
  return s;
}

Server::~Server() { Shutdown(); }

void Server::MarkUnhealthy(const absl::Status& why) {
  spdlog::error("{}: writes refused, health NOT_SERVING", std::string(why.message()));
  unhealthy_.store(true);
  if (grpc::Server* g = serving_.load()) g->GetHealthCheckService()->SetServingStatus(false);
}

void Server::Tick(absl::Duration every, absl::Duration checkpoint_every) {
  absl::Time last_checkpoint = absl::Now();
  while (true) {
    {
      absl::MutexLock lock(&ticker_mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ticker_mu_) { return stopping_; };
      if (ticker_mu_.AwaitWithTimeout(absl::Condition(&stop), every)) return;
    }
    Sequencer::Command tick;
    tick.method = "Tick";
    tick.principal = "system";
    tick.derive = false;
    tick.decide = [](const engine::State& s, absl::Time now) -> absl::StatusOr<Sequencer::Events> {
      return engine::EvaluateAll(s, now, 0);
    };
    tick.respond = [](const engine::State&, const Sequencer::Events&) { return std::string(); };
    tick.done = [](absl::StatusOr<std::string>) {};
    sequencer_->Submit(std::move(tick));
    if (absl::Now() - last_checkpoint >= checkpoint_every) {
      last_checkpoint = absl::Now();
      Sequencer::Command cp = authority_->MakeCheckpointCommand();
      cp.done = [](absl::StatusOr<std::string> r) {
        if (!r.ok()) spdlog::warn("checkpoint: {}", std::string(r.status().message()));
      };
      sequencer_->Submit(std::move(cp));
    }
  }
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&ticker_mu_);
    stopping_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
  if (grpc_) {
    // Calls in flight get a second to finish; gRPC 1.51 otherwise waits out
    // the whole deadline for idle client connections to go away.
    grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc_->Wait();
    grpc_.reset();
  }
  sequencer_.reset();  // finishes queued commands (each commit updates latest_state_)
  // A clean stop leaves a snapshot of the final state: the next start
  // replays nothing.
  const std::shared_ptr<const engine::State> last = std::atomic_load(&latest_state_);
  if (snapshotter_ != nullptr && snapshot_at_stop_ && last != nullptr) {
    absl::Status written = snapshotter_->WriteNow(*last);
    if (!written.ok()) spdlog::warn("snapshot at shutdown: {}", std::string(written.message()));
  }
  snapshotter_.reset();
  webhooks_.reset();
  log_.reset();
}

}  // namespace duban::services
