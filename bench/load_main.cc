// duban-load: drives one running duband over gRPC and prints what it got.
//
//   duban-load --target 127.0.0.1:50051 --token_file data/admin.token
//       --method submit_progress --concurrency 64 --duration 10 --warmup 2 [--json]
//
// Methods:
//   ping             AdminService.Ping: no credential, no work (the baseline).
//   submit_progress  ReportingService.SubmitProgress, each answered once its
//                    fsync is done. Sets itself up with the admin token: issues
//                    an agency credential (token made here, only its SHA-256
//                    sent, as `dubanctl admin token issue` does) for every
//                    agency that LEADs a task of --plan, then submits valid
//                    reports (unique request ids, years within the plan) round
//                    robin over (task, lead agency, year). With --plan_copies
//                    N, over the N copies duban-gen makes of --plan
//                    (<plan>-0 ... <plan>-(N-1)), every plan's pairs in turn.
//   read_events      AuditService.ReadEventBatches of the whole log, --repeat
//                    times, --streams at once (events/s). Each EventBatch is
//                    parsed (its AuditEvents: hash and stored bytes), the
//                    events in it are not, unless --parse asks for each
//                    `stored` to be parsed as duban.v1.Event too.
//   read_events_unary_stream
//                    the same through AuditService.ReadEvents (one event per
//                    message, each parsed): the old path, for comparison.
//
// Unary methods keep --concurrency calls in flight with gRPC's callback API
// (each completion starts the next call; no thread per call). Only calls that
// complete inside the measured window (after --warmup, for --duration) are
// counted. With an admin or supervisor token the server's group-commit
// counters and CPU time (AdminService.GetServerStats) are read at the start
// and the end of the window and their difference printed, with duban-load's
// own CPU per call and the idle share of the machine it runs on: the CPU a
// call costs, server and client, is what bounds a loop on a shared machine.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_format.h"
#include "clients/dubanctl/token.h"
#include "duban/v1/admin.grpc.pb.h"
#include "duban/v1/assignment.grpc.pb.h"
#include "duban/v1/audit.grpc.pb.h"
#include "duban/v1/reporting.grpc.pb.h"
#include "services/clock.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string target = "127.0.0.1:50051";
  std::string token_file;
  std::string method = "ping";
  std::string plan_id = "qinghai-employment-2021";
  int plan_copies = 1;  // >1: the plans <plan_id>-0 ... as bench/duban-gen names them
  int concurrency = 64;
  int channels = 1;
  double duration = 10;
  double warmup = 2;
  int repeat = 3;
  int streams = 1;
  bool parse = false;
  bool json = false;
  std::string json_out;
};

const char* CodeName(int code) {
  static const char* kNames[] = {
      "OK",           "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",   "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",   "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",      "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "?";
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "duban-load: " << what << "\n";
  std::exit(1);
}

void Check(const grpc::Status& s, const std::string& what) {
  if (!s.ok()) {
    Die(absl::StrCat(what, ": ", CodeName(s.error_code()), ": ", s.error_message()));
  }
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token, double seconds = 30) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  return ctx;
}

// What the measured window saw: completions, errors by code, latencies.
class Recorder {
 public:
  void Record(Clock::time_point start, Clock::time_point end, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!measuring_ || start < window_start_) return;
    if (!status.ok()) {
      errors_[status.error_code()] += 1;
      if (first_error_.empty()) first_error_ = status.error_message();
      return;
    }
    latencies_ns_.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
  }
  void Begin() {
    std::lock_guard<std::mutex> lock(mu_);
    measuring_ = true;
    window_start_ = Clock::now();
  }
  void End() {
    std::lock_guard<std::mutex> lock(mu_);
    measuring_ = false;
  }

  json Summary(double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    auto pct = [&](double p) -> double {
      if (latencies_ns_.empty()) return 0;
      size_t i = static_cast<size_t>(p * static_cast<double>(latencies_ns_.size() - 1) + 0.5);
      return static_cast<double>(latencies_ns_[i]) / 1e6;
    };
    uint64_t error_count = 0;
    json errors = json::object();
    for (const auto& [code, n] : errors_) {
      errors[CodeName(code)] = n;
      error_count += n;
    }
    json out;
    out["calls"] = latencies_ns_.size();
    out["errors"] = error_count;
    out["errors_by_code"] = errors;
    if (!first_error_.empty()) out["first_error"] = first_error_;
    out["seconds"] = seconds;
    out["qps"] = seconds > 0 ? static_cast<double>(latencies_ns_.size()) / seconds : 0;
    out["latency_ms"] = {{"p50", pct(0.50)},
                         {"p99", pct(0.99)},
                         {"p999", pct(0.999)},
                         {"max", latencies_ns_.empty() ? 0.0 : latencies_ns_.back() / 1e6}};
    return out;
  }

 private:
  std::mutex mu_;
  bool measuring_ = false;
  Clock::time_point window_start_;
  std::vector<int64_t> latencies_ns_;
  std::map<int, uint64_t> errors_;
  std::string first_error_;
};

// Starts one call of the method for slot `i`; `done` runs when it completes.
using StartFn = std::function<void(int slot, std::function<void(grpc::Status)> done)>;

// Keeps `concurrency` calls in flight until stopped: each completion records
// itself and starts the slot's next call.
class ClosedLoop {
 public:
  ClosedLoop(int concurrency, StartFn start, Recorder* recorder)
      : start_(std::move(start)), recorder_(recorder), active_(concurrency) {
    slots_.resize(concurrency);
  }
  void Run() {
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) Next(i);
  }
  // Lets the calls in flight finish and starts no more.
  void StopAndWait() {
    stopping_.store(true);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return active_ == 0; });
  }

 private:
  void Next(int i) {
    slots_[i] = Clock::now();
    start_(i, [this, i](grpc::Status status) {
      recorder_->Record(slots_[i], Clock::now(), status);
      if (!stopping_.load()) return Next(i);
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) cv_.notify_all();
    });
  }

  StartFn start_;
  Recorder* recorder_;
  std::vector<Clock::time_point> slots_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int active_;
};

std::vector<std::shared_ptr<grpc::Channel>> Channels(const Options& o) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("duban.load.channel", i);  // distinct args: a connection of its own
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    out.push_back(grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args));
  }
  return out;
}

std::optional<duban::v1::ServerStats> ServerStats(duban::v1::AdminService::Stub* admin,
                                                  const std::string& token) {
  if (token.empty()) return std::nullopt;
  duban::v1::ServerStats stats;
  grpc::Status s = admin->GetServerStats(Context(token).get(), {}, &stats);
  if (!s.ok()) {
    std::cerr << "duban-load: GetServerStats: " << CodeName(s.error_code()) << ": "
              << s.error_message() << " (no group-commit figures)\n";
    return std::nullopt;
  }
  return stats;
}

// The server's group commits between two readings.
json GroupCommitDelta(const duban::v1::ServerStats& a, const duban::v1::ServerStats& b) {
  const auto& x = a.group_commit();
  const auto& y = b.group_commit();
  const uint64_t groups = y.groups() - x.groups();
  const uint64_t commands = y.commands() - x.commands();
  const uint64_t events = y.events() - x.events();
  json hist = json::array();
  static const char* kLabels[] = {"1",      "2-3",     "4-7",     "8-15",    "16-31",
                                  "32-63",  "64-127",  "128-255", "256-511", "512"};
  for (int i = 0; i < y.commands_per_group_size() && i < 10; ++i) {
    const uint64_t before = i < x.commands_per_group_size() ? x.commands_per_group(i) : 0;
    hist.push_back({{"commands", kLabels[i]}, {"groups", y.commands_per_group(i) - before}});
  }
  json out;
  out["groups"] = groups;
  out["commands"] = commands;
  out["events"] = events;
  out["commands_per_group_mean"] = groups ? static_cast<double>(commands) / groups : 0.0;
  out["events_per_fsync"] = groups ? static_cast<double>(events) / groups : 0.0;
  out["max_commands_in_group_since_start"] = y.max_commands_in_group();
  out["commands_per_group"] = hist;
  out["head_seq"] = b.head_seq();
  return out;
}

// Jiffies of this machine's CPUs from /proc/stat: all of them, and those idle
// or waiting on I/O. Nullopt where there is no /proc/stat.
struct MachineCpu {
  uint64_t total = 0;
  uint64_t idle = 0;
};
std::optional<MachineCpu> ReadMachineCpu() {
  std::ifstream in("/proc/stat");
  std::string label;
  if (!(in >> label) || label != "cpu") return std::nullopt;
  MachineCpu m;
  uint64_t v = 0;
  // user nice system idle iowait irq softirq steal (guest time is in user)
  for (int field = 0; field < 8 && in >> v; ++field) {
    m.total += v;
    if (field == 3 || field == 4) m.idle += v;
  }
  if (m.total == 0) return std::nullopt;
  return m;
}

// What the measured window's calls cost in CPU: the server's (from its
// process_cpu_micros), duban-load's own, and this machine's idle share.
json CpuPerCall(uint64_t calls, const std::optional<duban::v1::ServerStats>& server_before,
                const std::optional<duban::v1::ServerStats>& server_after, int64_t client_before,
                int64_t client_after, const std::optional<MachineCpu>& machine_before,
                const std::optional<MachineCpu>& machine_after) {
  json out = json::object();
  if (calls == 0) return out;
  const double n = static_cast<double>(calls);
  out["client_us_per_call"] = static_cast<double>(client_after - client_before) / n;
  if (server_before && server_after &&
      server_after->process_cpu_micros() >= server_before->process_cpu_micros() &&
      server_after->process_cpu_micros() > 0) {
    out["server_us_per_call"] = static_cast<double>(server_after->process_cpu_micros() -
                                                    server_before->process_cpu_micros()) / n;
  }
  if (machine_before && machine_after && machine_after->total > machine_before->total) {
    out["machine_idle"] = static_cast<double>(machine_after->idle - machine_before->idle) /
                          static_cast<double>(machine_after->total - machine_before->total);
  }
  return out;
}

// An agency's credential and a task it leads.
struct Target {
  std::string plan_id;
  int task = 0;
  std::string agency;
  std::string token;
};

// The plans reports go to: --plan, or its --plan_copies copies.
std::vector<std::string> PlanIds(const Options& o) {
  if (o.plan_copies <= 1) return {o.plan_id};
  std::vector<std::string> ids;
  for (int k = 0; k < o.plan_copies; ++k) ids.push_back(absl::StrCat(o.plan_id, "-", k));
  return ids;
}

// Issues a credential for every agency that leads a task of one plan (agency
// credentials are bound to their plan).
std::vector<Target> SetUpAgencies(const std::shared_ptr<grpc::Channel>& channel,
                                  const std::string& plan_id, const std::string& admin_token,
                                  const std::string& run_id, int* first_year, int* last_year) {
  auto assignment = duban::v1::AssignmentService::NewStub(channel);
  auto admin = duban::v1::AdminService::NewStub(channel);
  duban::v1::GetPlanRequest plan_req;
  plan_req.set_plan_id(plan_id);
  duban::v1::Plan plan;
  Check(assignment->GetPlan(Context(admin_token).get(), plan_req, &plan),
        absl::StrCat("GetPlan ", plan_id));
  *first_year = plan.start_year();
  *last_year = plan.end_year();
  std::vector<Target> targets;
  std::string page;
  do {
    duban::v1::ListTasksRequest req;
    req.set_plan_id(plan_id);
    req.set_page_size(500);
    req.set_page_token(page);
    duban::v1::ListTasksResponse resp;
    Check(assignment->ListTasks(Context(admin_token).get(), req, &resp), "ListTasks");
    for (const auto& task : resp.tasks()) {
      for (const auto& r : task.responsibilities()) {
        if (r.role() == duban::v1::LEAD) {
          targets.push_back({plan_id, task.number(), r.agency_id(), ""});
        }
      }
    }
    page = resp.next_page_token();
  } while (!page.empty());
  if (targets.empty()) Die(absl::StrCat("plan ", plan_id, " has no task with a LEAD agency"));
  std::map<std::string, std::string> tokens;
  for (const Target& t : targets) tokens[t.agency];
  for (auto& [agency, token] : tokens) {
    absl::StatusOr<std::string> made = duban::clients::NewBearerToken();
    if (!made.ok()) Die(std::string(made.status().message()));
    duban::v1::IssueCredentialRequest req;
    req.set_request_id(absl::StrCat("load-", run_id, "-issue-", plan_id, "-", agency));
    req.set_principal("agency:" + agency);
    req.set_token_sha256(duban::clients::Sha256Hex(*made));
    req.set_label("duban-load");
    req.set_plan_id(plan_id);
    duban::v1::Credential cred;
    Check(admin->IssueCredential(Context(admin_token).get(), req, &cred),
          absl::StrCat("IssueCredential for agency:", agency));
    token = *made;
  }
  for (Target& t : targets) t.token = tokens[t.agency];
  return targets;
}

json RunUnary(const Options& o, const std::string& admin_token) {
  const auto channels = Channels(o);
  auto admin_for_stats = duban::v1::AdminService::NewStub(channels[0]);
  std::vector<std::unique_ptr<duban::v1::AdminService::Stub>> admins;
  std::vector<std::unique_ptr<duban::v1::ReportingService::Stub>> reporters;
  for (const auto& c : channels) {
    admins.push_back(duban::v1::AdminService::NewStub(c));
    reporters.push_back(duban::v1::ReportingService::NewStub(c));
  }
  const int n = o.concurrency;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(n);
  StartFn start;
  json setup = json::object();

  // ping
  std::vector<duban::v1::PingRequest> ping_req(n);
  std::vector<duban::v1::PingResponse> ping_resp(n);
  // submit_progress
  std::vector<Target> targets;
  int first_year = 0, last_year = 0;
  std::vector<duban::v1::SubmitProgressRequest> submit_req(n);
  std::vector<duban::v1::ProgressReport> submit_resp(n);
  std::atomic<uint64_t> counter{0};
  const std::string run_id = duban::clients::RandomHex(4).value_or("0");

  if (o.method == "ping") {
    start = [&](int i, std::function<void(grpc::Status)> done) {
      contexts[i] = std::make_unique<grpc::ClientContext>();
      admins[i % admins.size()]->async()->Ping(contexts[i].get(), &ping_req[i], &ping_resp[i],
                                               std::move(done));
    };
  } else {
    if (admin_token.empty()) Die("--method submit_progress needs --token_file (the admin token)");
    const std::vector<std::string> plans = PlanIds(o);
    for (const std::string& plan : plans) {
      std::vector<Target> more =
          SetUpAgencies(channels[0], plan, admin_token, run_id, &first_year, &last_year);
      targets.insert(targets.end(), more.begin(), more.end());
    }
    std::set<std::pair<std::string, std::string>> agencies;  // one credential each
    for (const auto& t : targets) agencies.insert({t.plan_id, t.agency});
    setup["plans"] = plans.size();
    setup["lead_pairs"] = targets.size();
    setup["agencies"] = agencies.size();
    setup["years"] = {first_year, last_year};
    const uint64_t years = static_cast<uint64_t>(last_year - first_year + 1);
    start = [&, years](int i, std::function<void(grpc::Status)> done) {
      const uint64_t k = counter.fetch_add(1);
      const Target& t = targets[k % targets.size()];
      duban::v1::SubmitProgressRequest& req = submit_req[i];
      req.set_request_id(absl::StrCat("load-", run_id, "-", k));
      req.set_plan_id(t.plan_id);
      req.set_task_number(t.task);
      req.set_year(first_year + static_cast<int>((k / targets.size()) % years));
      req.set_status(duban::v1::ON_TRACK);
      req.set_summary(absl::StrCat("duban-load 压测报告 #", k, "：按计划推进"));
      contexts[i] = std::make_unique<grpc::ClientContext>();
      contexts[i]->AddMetadata("authorization", "Bearer " + t.token);
      reporters[i % reporters.size()]->async()->SubmitProgress(contexts[i].get(), &req,
                                                               &submit_resp[i], std::move(done));
    };
  }

  Recorder recorder;
  ClosedLoop loop(n, start, &recorder);
  const auto t0 = Clock::now();
  loop.Run();
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(static_cast<int64_t>(o.warmup * 1000)));
  const auto stats_before = ServerStats(admin_for_stats.get(), admin_token);
  const int64_t client_cpu_before = duban::services::ProcessCpuMicros();
  const std::optional<MachineCpu> machine_before = ReadMachineCpu();
  recorder.Begin();
  const auto window_start = Clock::now();
  std::this_thread::sleep_until(window_start +
                                std::chrono::milliseconds(static_cast<int64_t>(o.duration * 1000)));
  recorder.End();
  const int64_t client_cpu_after = duban::services::ProcessCpuMicros();
  const std::optional<MachineCpu> machine_after = ReadMachineCpu();
  const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
  const auto stats_after = ServerStats(admin_for_stats.get(), admin_token);
  loop.StopAndWait();

  json out = recorder.Summary(seconds);
  out["method"] = o.method;
  out["target"] = o.target;
  out["concurrency"] = n;
  out["channels"] = o.channels;
  out["warmup_seconds"] = o.warmup;
  if (!setup.empty()) out["setup"] = setup;
  if (stats_before && stats_after) out["group_commit"] = GroupCommitDelta(*stats_before, *stats_after);
  out["cpu"] = CpuPerCall(out["calls"].get<uint64_t>(), stats_before, stats_after,
                          client_cpu_before, client_cpu_after, machine_before, machine_after);
  return out;
}

json RunReadEvents(const Options& o, const std::string& admin_token) {
  if (admin_token.empty()) Die("--method read_events needs --token_file (an auditor's or admin token)");
  const auto channels = Channels(o);
  json rounds = json::array();
  uint64_t total_events = 0;
  double total_seconds = 0;
  for (int r = 0; r < o.repeat; ++r) {
    std::vector<std::thread> threads;
    std::vector<uint64_t> counts(o.streams, 0);
    std::vector<uint64_t> bad(o.streams, 0);
    std::vector<grpc::Status> statuses(o.streams);
    const auto start = Clock::now();
    for (int s = 0; s < o.streams; ++s) {
      threads.emplace_back([&, s] {
        auto audit = duban::v1::AuditService::NewStub(channels[s % channels.size()]);
        auto ctx = Context(admin_token, 3600);
        duban::v1::ReadEventsRequest req;
        if (o.method == "read_events_unary_stream") {
          auto reader = audit->ReadEvents(ctx.get(), req);
          duban::v1::AuditEvent e;
          while (reader->Read(&e)) counts[s] += 1;
          statuses[s] = reader->Finish();
          return;
        }
        auto reader = audit->ReadEventBatches(ctx.get(), req);
        duban::v1::EventBatch batch;  // reused: its AuditEvents and strings are recycled
        duban::v1::Event event;
        while (reader->Read(&batch)) {
          counts[s] += batch.events_size();
          if (!o.parse) continue;
          for (const auto& a : batch.events()) {
            if (!event.ParseFromString(a.stored()) || event.seq() == 0) bad[s] += 1;
          }
        }
        statuses[s] = reader->Finish();
      });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    uint64_t events = 0;
    for (int s = 0; s < o.streams; ++s) {
      Check(statuses[s], o.method == "read_events" ? "ReadEventBatches" : "ReadEvents");
      if (bad[s] != 0) Die(absl::StrCat(bad[s], " events' stored bytes do not parse"));
      events += counts[s];
    }
    total_events += events;
    total_seconds += seconds;
    rounds.push_back({{"events", events}, {"seconds", seconds},
                      {"events_per_second", seconds > 0 ? events / seconds : 0}});
  }
  json out;
  out["method"] = o.method;
  out["target"] = o.target;
  out["rpc"] = o.method == "read_events" ? "ReadEventBatches" : "ReadEvents";
  out["parse"] = o.parse || o.method != "read_events";
  out["streams"] = o.streams;
  out["repeat"] = o.repeat;
  out["calls"] = o.repeat * o.streams;
  out["errors"] = 0;
  out["events"] = total_events;
  out["seconds"] = total_seconds;
  out["events_per_second"] = total_seconds > 0 ? total_events / total_seconds : 0;
  out["rounds"] = rounds;
  return out;
}

void PrintText(const json& r) {
  const std::string method = r["method"];
  if (method == "read_events" || method == "read_events_unary_stream") {
    std::cout << absl::StrFormat(
        "duban-load %s (%s%s)  target %s, %d stream(s) at once, %d round(s)\n", method,
        r["rpc"].get<std::string>(), r["parse"].get<bool>() ? ", events parsed" : "",
        r["target"].get<std::string>(), r["streams"].get<int>(), r["repeat"].get<int>());
    for (const auto& round : r["rounds"]) {
      std::cout << absl::StrFormat("  round: %d events in %.3f s = %.0f events/s\n",
                                   round["events"].get<uint64_t>(), round["seconds"].get<double>(),
                                   round["events_per_second"].get<double>());
    }
    std::cout << absl::StrFormat("events/s   %.0f  (%d events in %.3f s)\n",
                                 r["events_per_second"].get<double>(), r["events"].get<uint64_t>(),
                                 r["seconds"].get<double>());
    return;
  }
  std::cout << absl::StrFormat(
      "duban-load %s  target %s, %d in flight over %d channel(s), %.1f s measured after %.1f s "
      "warm-up\n",
      method, r["target"].get<std::string>(), r["concurrency"].get<int>(),
      r["channels"].get<int>(), r["seconds"].get<double>(), r["warmup_seconds"].get<double>());
  if (r.contains("setup")) {
    std::cout << absl::StrFormat("setup      %d plan(s), %d agency credentials issued, %d (task, "
                                 "lead) pairs, years %d-%d\n",
                                 r["setup"]["plans"].get<int>(),
                                 r["setup"]["agencies"].get<int>(),
                                 r["setup"]["lead_pairs"].get<int>(),
                                 r["setup"]["years"][0].get<int>(),
                                 r["setup"]["years"][1].get<int>());
  }
  std::cout << absl::StrFormat("calls      %d\n", r["calls"].get<uint64_t>());
  std::cout << absl::StrFormat("errors     %d", r["errors"].get<uint64_t>());
  for (const auto& [code, n] : r["errors_by_code"].items()) {
    std::cout << absl::StrFormat("  %s: %d", code, n.get<uint64_t>());
  }
  if (r.contains("first_error")) std::cout << "  (first: " << r["first_error"].get<std::string>() << ")";
  std::cout << "\n";
  std::cout << absl::StrFormat("qps        %.0f\n", r["qps"].get<double>());
  const auto& l = r["latency_ms"];
  std::cout << absl::StrFormat("latency    p50 %.3f ms  p99 %.3f ms  p999 %.3f ms  max %.3f ms\n",
                               l["p50"].get<double>(), l["p99"].get<double>(),
                               l["p999"].get<double>(), l["max"].get<double>());
  if (r.contains("cpu") && r["cpu"].contains("client_us_per_call")) {
    const auto& c = r["cpu"];
    std::cout << "cpu/call  ";
    if (c.contains("server_us_per_call")) {
      std::cout << absl::StrFormat(" server %.1f us", c["server_us_per_call"].get<double>());
    }
    std::cout << absl::StrFormat("  duban-load %.1f us", c["client_us_per_call"].get<double>());
    if (c.contains("machine_idle")) {
      std::cout << absl::StrFormat("  (this machine idle or in I/O wait %.0f%% of the window)",
                                   100 * c["machine_idle"].get<double>());
    }
    std::cout << "\n";
  }
  if (r.contains("group_commit")) {
    const auto& g = r["group_commit"];
    std::cout << absl::StrFormat(
        "group commit (server, measured window): %d groups (fsyncs), %d commands, %d events\n"
        "           %.2f commands/group, %.2f events/fsync, head seq %d\n"
        "           commands/group:",
        g["groups"].get<uint64_t>(), g["commands"].get<uint64_t>(), g["events"].get<uint64_t>(),
        g["commands_per_group_mean"].get<double>(), g["events_per_fsync"].get<double>(),
        g["head_seq"].get<uint64_t>());
    for (const auto& b : g["commands_per_group"]) {
      if (b["groups"].get<uint64_t>() == 0) continue;
      std::cout << absl::StrFormat("  %s: %d", b["commands"].get<std::string>(),
                                   b["groups"].get<uint64_t>());
    }
    std::cout << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  // As in duband: Debian's Abseil keeps Mutex deadlock detection (a debug
  // aid) on, and the load tool should spend its CPU on the calls.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Options o;
  CLI::App app{"duban-load: drive a running duband and print throughput and latency"};
  app.add_option("--target", o.target, "HOST:PORT of the server")->capture_default_str();
  app.add_option("--token_file,--token-file", o.token_file,
                 "the admin token (data/admin.token): sets up submit_progress, reads "
                 "read_events and the server's group-commit counters");
  app.add_option("--method", o.method,
                 "ping | submit_progress | read_events (ReadEventBatches) | "
                 "read_events_unary_stream (ReadEvents)")
      ->check(CLI::IsMember({"ping", "submit_progress", "read_events", "read_events_unary_stream"}))
      ->capture_default_str();
  app.add_option("--plan", o.plan_id, "plan whose lead agencies report (submit_progress)")
      ->capture_default_str();
  app.add_option("--plan_copies,--plan-copies", o.plan_copies,
                 "submit_progress over this many copies of --plan as bench/duban-gen names "
                 "them (<plan>-0, <plan>-1, ...; 1: --plan itself)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "unary calls in flight")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--channels", o.channels, "gRPC channels (connections) the calls spread over")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--duration", o.duration, "seconds measured (unary methods)")
      ->check(CLI::Range(0.05, 86400.0))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "seconds run before measuring (unary methods)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--repeat", o.repeat, "read_events: whole-log reads, one round after another")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--streams", o.streams, "read_events: streams at once in each round")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_flag("--parse", o.parse,
               "read_events: also parse every event's stored bytes as duban.v1.Event");
  app.add_flag("--json", o.json, "print one JSON object instead of text");
  app.add_option("--json_out,--json-out", o.json_out,
                 "also write the JSON object to this file (text still printed)");
  CLI11_PARSE(app, argc, argv);

  std::string token;
  if (!o.token_file.empty()) {
    std::ifstream in(o.token_file);
    if (!in) Die("cannot read --token_file " + o.token_file);
    std::ostringstream s;
    s << in.rdbuf();
    token = Trimmed(s.str());
  }
  json result = o.method == "read_events" || o.method == "read_events_unary_stream"
                    ? RunReadEvents(o, token)
                    : RunUnary(o, token);
  if (o.json) {
    std::cout << result.dump(2) << "\n";
  } else {
    PrintText(result);
  }
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out);
    out << result.dump(2) << "\n";
    if (!out) Die("cannot write --json_out " + o.json_out);
  }
  return 0;
}
