// The single writer without gRPC (issue 6, durable ingestion): progress
// reports submitted to a real services::Sequencer over a real EventLog, with
// the server's rules step (engine::DeriveAfter) after each, 64 commands in
// flight as duban-load keeps them. What it reports is the writer's cost per
// command — the bound on SubmitProgress once fsyncs are shared — free of the
// gRPC and client CPU that share the machine in the end-to-end run:
//
//   writer_bench                                 # synced (as duband) and unsynced
//   writer_bench --benchmark_filter=sync:0
//
// items_per_second is commands per second of wall time; cpu_us_per_command is
// the whole process's CPU (writer, answer thread, RocksDB) per command.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/fleet.h"
#include "engine/reporting.h"
#include "engine/rules.h"
#include "services/clock.h"
#include "services/sequencer.h"
#include "storage/event_log.h"

namespace {

using duban::services::Sequencer;
using duban::storage::EventLog;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "writer_bench: %s\n", why.c_str());
  std::abort();
}

// A fresh folder under $TMPDIR (or /tmp), removed afterwards. Put TMPDIR on
// the disk whose fsync is to be measured.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = absl::StrCat(tmp != nullptr && *tmp != 0 ? tmp : "/tmp", "/writer-bench-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// (task, lead agency) pairs of the plan, as duban-load targets them.
struct Target {
  int32_t task;
  std::string agency;
};

void BM_SubmitProgress(benchmark::State& st) {
  const bool sync = st.range(0) != 0;
  constexpr int kInFlight = 64;
  ScratchDir dir;
  const std::string path = dir.path() + "/log";

  // The Qinghai plan and its rules, written as a server would have written
  // them (no reports yet, as for duban-load against a fresh server); then a
  // sequencer loads it.
  std::vector<Target> targets;
  std::string plan_id;
  {
    auto opened = EventLog::Open({.path = path, .sync = false});
    if (!opened.ok()) Die(std::string(opened.status().message()));
    std::vector<EventLog::CommandWrite> batch(1);
    auto sink = [&](const duban::v1::Event& e) {
      batch[0].events.push_back(e);
      if (batch[0].events.size() >= 1000) {
        if (!(*opened)->Append(&batch).ok()) Die("append");
        batch[0].events.clear();
      }
    };
    duban::bench::Fleet fleet = duban::bench::BuildFleet(1, false, sink, /*reports=*/false);
    if (!batch[0].events.empty() && !(*opened)->Append(&batch).ok()) Die("append");
    plan_id = fleet.plan_ids[0];
    for (const auto& [number, task] : fleet.state.FindPlan(plan_id)->tasks) {
      for (const auto& r : task.responsibilities()) {
        if (r.role() == duban::v1::LEAD) targets.push_back({number, r.agency_id()});
      }
    }
  }
  auto opened = EventLog::Open({.path = path, .sync = sync});
  if (!opened.ok()) Die(std::string(opened.status().message()));
  std::unique_ptr<EventLog> log = std::move(*opened);
  duban::services::SystemClock clock;
  Sequencer::Hooks hooks;
  hooks.derive = duban::engine::DeriveAfter;
  auto started = Sequencer::Start(log.get(), &clock, nullptr, hooks);
  if (!started.ok()) Die(std::string(started.status().message()));
  std::unique_ptr<Sequencer> sequencer = std::move(*started);

  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  std::atomic<uint64_t> failed{0};
  uint64_t next = 0;
  auto submit = [&] {
    const uint64_t k = next++;
    const Target& t = targets[k % targets.size()];
    duban::v1::SubmitProgressRequest req;
    req.set_plan_id(plan_id);
    req.set_task_number(t.task);
    req.set_year(2021 + static_cast<int32_t>((k / targets.size()) % 5));
    req.set_agency_id(t.agency);
    req.set_status(duban::v1::ON_TRACK);
    req.set_summary(absl::StrCat("第", k, "次报告：按计划推进。"));
    req.set_percent_complete(50);
    Sequencer::Command cmd;
    cmd.method = "SubmitProgress";
    cmd.principal = "agency:" + t.agency;
    cmd.request_id = absl::StrCat("bench-", k);
    cmd.request_bytes = req.SerializeAsString();
    cmd.decide = [req](const duban::engine::State& s, absl::Time) {
      return duban::engine::DecideSubmitProgress(s, req);
    };
    cmd.respond = [req](const duban::engine::State& s, const Sequencer::Events&) {
      return s.FindPlan(req.plan_id())
          ->LatestReport(req.task_number(), req.year(), req.agency_id())
          ->SerializeAsString();
    };
    cmd.done = [&](absl::StatusOr<std::string> r) {
      if (!r.ok()) failed.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu);
      if (--outstanding == 0) cv.notify_one();
    };
    {
      std::lock_guard<std::mutex> lock(mu);
      ++outstanding;
    }
    sequencer->Submit(std::move(cmd));
  };

  const Sequencer::Stats before = sequencer->stats();
  const int64_t cpu_before = duban::services::ProcessCpuMicros();
  for (auto _ : st) {
    for (int i = 0; i < kInFlight; ++i) submit();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return outstanding == 0; });
  }
  const double cpu_us = static_cast<double>(duban::services::ProcessCpuMicros() - cpu_before);
  const Sequencer::Stats after = sequencer->stats();
  if (failed.load() != 0) Die(absl::StrCat(failed.load(), " commands failed"));
  const double commands = static_cast<double>(after.commands - before.commands);
  st.SetItemsProcessed(static_cast<int64_t>(next));
  st.counters["cpu_us_per_command"] = commands > 0 ? cpu_us / commands : 0;
  st.counters["commands_per_fsync"] =
      after.batches > before.batches ? commands / static_cast<double>(after.batches - before.batches)
                                     : 0;
  st.counters["events_per_command"] =
      commands > 0 ? static_cast<double>(after.events - before.events) / commands : 0;
}
BENCHMARK(BM_SubmitProgress)->ArgName("sync")->Arg(1)->Arg(0)->UseRealTime()->Unit(
    benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
