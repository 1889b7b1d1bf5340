// duband: the duban server.
//
//   duband --listen=127.0.0.1:50051 --data_dir=data
//
// On first start in an empty data folder it creates the admin credential
// (data/admin.token, mode 0600; only its hash is stored) and imports the
// shipped Qinghai plan. SIGINT or SIGTERM stops it cleanly.
#include <csignal>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/server.h"

int main(int argc, char** argv) {
  // Debian's Abseil is built with its Mutex deadlock detection on (a debug
  // aid that keeps a global lock-order graph); gRPC's and our mutexes would
  // pay for it on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  duban::services::ServerOptions options;
  options.data_dir = "data";
  options.import_plan = std::string(DUBAN_DEFAULT_PLANS_DIR) +
                        "/qinghai-employment-2021/plan.textproto";
  bool no_import = false;
  options.import_rules = std::string(DUBAN_DEFAULT_PLANS_DIR) +
                         "/qinghai-employment-2021/rules.textproto";
  std::string simulated_clock;
  double tick_seconds = 60;
  double webhook_backoff_seconds = 1;
  double checkpoint_seconds = 3600;

  CLI::App app{"duband: the duban supervision server"};
  app.add_option("--listen", options.listen, "HOST:PORT to serve gRPC on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--data_dir,--data-dir", options.data_dir,
                 "folder for the event log and admin.token (created if missing)")
      ->capture_default_str();
  app.add_option("--import_plan,--import-plan", options.import_plan,
                 "plan document (text format) imported at start if its plan is not in the log")
      ->capture_default_str();
  app.add_flag("--no_plan_import,--no-plan-import", no_import,
               "do not import any plan (or its rules) at start");
  app.add_option("--import_rules,--import-rules", options.import_rules,
                 "ruleset (text format) put at start for its plan if the plan has none")
      ->capture_default_str();
  app.add_option("--simulated_clock,--simulated-clock", simulated_clock,
                 "run on a simulated clock starting at this time (RFC 3339, e.g. "
                 "2022-01-01T00:00:00+08:00) that moves only through AdvanceClock");
  app.add_option("--tick_seconds,--tick-seconds", tick_seconds,
                 "on the system clock, evaluate the rules this often (0: never)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--port_file,--port-file", options.port_file,
                 "write the bound port to this file once serving");
  app.add_option("--tls_cert,--tls-cert", options.tls_cert,
                 "serve TLS with this certificate chain (PEM); needs --tls_key");
  app.add_option("--tls_key,--tls-key", options.tls_key, "the TLS private key (PEM)");
  app.add_option("--tls_client_ca,--tls-client-ca", options.tls_client_ca,
                 "accept client certificates signed by this CA (PEM); a certificate's common "
                 "name is its principal, e.g. agency:qh-stats");
  app.add_option("--indicator_tolerance,--indicator-tolerance", options.indicator_tolerance,
                 "relative tolerance for judging indicator series (0.05 = 5%)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--webhook_backoff_seconds,--webhook-backoff-seconds", webhook_backoff_seconds,
                 "first wait before a failed webhook delivery is retried (it doubles each time, "
                 "up to 5 minutes)")
      ->check(CLI::Range(0.001, 300.0))
      ->capture_default_str();
  app.add_option("--checkpoint_seconds,--checkpoint-seconds", checkpoint_seconds,
                 "on the system clock, sign a checkpoint of the log this often when it grew")
      ->check(CLI::Range(1.0, 86400.0 * 30))
      ->capture_default_str();
  app.add_option("--snapshot_events,--snapshot-events", options.snapshot_every_events,
                 "write a snapshot of the state every this many events (and at shutdown), so a "
                 "restart replays at most about this many; 0: never")
      ->capture_default_str();
  app.add_option("--snapshot_keep,--snapshot-keep", options.snapshot_keep,
                 "how many snapshots to keep (GetStateAt starts from the nearest one)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.checkpoint_interval = absl::Seconds(checkpoint_seconds);
  options.webhooks.initial_backoff = absl::Seconds(webhook_backoff_seconds);
  if (no_import) {
    options.import_plan.clear();
    options.import_rules.clear();
  }
  if (!simulated_clock.empty()) {
    absl::Time start;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, simulated_clock, &start, &error)) {
      std::cerr << "--simulated_clock: not an RFC 3339 time (" << error
                << "), e.g. 2022-01-01T00:00:00+08:00\n";
      return 2;
    }
    options.simulated_clock = start;
  }
  options.tick_interval = absl::Seconds(tick_seconds);

  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = duban::services::Server::Start(options);
  if (!server.ok()) {
    spdlog::error("duband could not start: {}", server.status().ToString());
    return 1;
  }
  const std::string data_dir = std::filesystem::absolute(options.data_dir).lexically_normal();
  spdlog::info("duband listening on {}", (*server)->address());
  spdlog::info("data folder: {}", data_dir);
  spdlog::info("admin token: {} ({})", (*server)->admin_token_path(),
               (*server)->created_admin_token() ? "created now" : "existing");
  if (!(*server)->startup_report().empty()) spdlog::info("{}", (*server)->startup_report());
  if (options.simulated_clock) {
    spdlog::info("simulated clock: time moves only through AdvanceClock (dubanctl clock advance)");
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  (*server)->Shutdown();
  spdlog::info("stopped");
  return 0;
}
