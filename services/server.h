// The duband server: opens the log in the data folder, replays it, makes the
// admin credential on first start, imports the shipped plan if it is not
// there yet, and serves the gRPC services (plus health and reflection).
//
//   ASSIGN_OR_RETURN(auto server, Server::Start({.listen = "127.0.0.1:0", .data_dir = dir}));
//   std::cout << server->address();
//   ...
//   server->Shutdown();  // stops serving, finishes queued writes, closes the log
#ifndef DUBAN_SERVICES_SERVER_H_
#define DUBAN_SERVICES_SERVER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <string>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "engine/reporting.h"
#include "services/admin_service.h"
#include "services/audit_service.h"
#include "services/assignment_service.h"
#include "services/notice_hub.h"
#include "services/reporting_service.h"
#include "services/supervision_service.h"
#include "services/webhooks.h"
#include "services/clock.h"
#include "services/sequencer.h"
#include "services/snapshots.h"
#include "storage/event_log.h"

namespace duban::services {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // HOST:PORT; port 0 picks a free one
  std::string data_dir = "data";
  // A PlanDocument (protobuf text format) imported at start when its plan is
  // not in the log yet; empty for none.
  std::string import_plan;
  std::string port_file;  // if set, the bound port is written there
  // TLS: the server's certificate chain and key (PEM files). Both or neither.
  std::string tls_cert;
  std::string tls_key;
  // Mutual TLS: clients presenting a certificate signed by this CA (PEM) are
  // authenticated by it: its common name is their principal ("agency:qh-stats").
  // Clients without one still use bearer tokens.
  std::string tls_client_ca;
  // The relative tolerance indicator series are judged with by default.
  double indicator_tolerance = engine::kDefaultTolerance;
  // A ruleset (text format) put at start for its plan when the plan has none.
  std::string import_rules;
  // Set: a simulated clock starting there (or where the log's last
  // ClockAdvanced left it), moved only by AdvanceClock. Unset: the system clock.
  std::optional<absl::Time> simulated_clock;
  // How often the rules are evaluated on the system clock (0: never).
  absl::Duration tick_interval = absl::Seconds(60);
  WebhookDispatcher::Options webhooks;
  // How often a signed checkpoint of the log is made when it has grown
  // (system clock; on demand: AuditService.GetCheckpoint with make_new).
  absl::Duration checkpoint_interval = absl::Hours(1);
  // A snapshot of the state every this many events (0: none), and at
  // shutdown; a restart replays at most about this many. The newest `keep`.
  uint64_t snapshot_every_events = 100000;
  size_t snapshot_keep = 8;
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();

  std::string address() const { return address_; }
  int port() const { return port_; }
  std::string admin_token_path() const { return admin_token_path_; }
  bool created_admin_token() const { return created_admin_token_; }
  const std::string& startup_report() const { return startup_report_; }

  // Not safe to call concurrently with itself.
  void Shutdown();

 private:
  Server() = default;
  // After a failed log write: health answers NOT_SERVING from then on.
  void MarkUnhealthy(const absl::Status& why);
  void Tick(absl::Duration every, absl::Duration checkpoint_every);

  std::unique_ptr<Clock> clock_;
  ManualClock* simulated_ = nullptr;  // clock_, when simulated
  NoticeHub hub_;
  // The latest published state, for threads that must not touch the sequencer
  // (the webhook workers); std::atomic_load/atomic_store only.
  std::shared_ptr<const engine::State> latest_state_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<WebhookDispatcher> webhooks_;
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<Snapshotter> snapshotter_;
  bool snapshot_at_stop_ = false;
  std::unique_ptr<AssignmentServiceImpl> assignment_;
  std::unique_ptr<ReportingServiceImpl> reporting_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<SupervisionServiceImpl> supervision_;
  std::unique_ptr<LogAuthority> authority_;
  std::unique_ptr<AuditServiceImpl> audit_;
  // The tick: evaluates the rules periodically on the system clock.
  std::thread ticker_;
  absl::Mutex ticker_mu_;
  bool stopping_ ABSL_GUARDED_BY(ticker_mu_) = false;
  std::unique_ptr<grpc::Server> grpc_;
  std::atomic<grpc::Server*> serving_{nullptr};  // grpc_ once started
  std::atomic<bool> unhealthy_{false};
  std::string address_;
  int port_ = 0;
  std::string admin_token_path_;
  bool created_admin_token_ = false;
  std::string startup_report_;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_SERVER_H_
