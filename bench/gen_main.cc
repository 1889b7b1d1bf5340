// duban-gen: writes a data folder holding a large log, for the restart,
// memory and scale benchmarks (scripts/bench-scale).
//
//   duban-gen --data_dir /tmp/big --plans 100 --events 10000000 [--tail 100000] [--churn]
//
// The log is what a server would have written: N copies of the Qinghai plan
// with its rules and five years of reports (bench/fleet.h), then report
// revisions round robin over every (plan, task, responsible agency, year),
// each followed by what the rules derive after it (engine::DeriveAfter, as
// the sequencer runs it), until the log holds --events events. Events are
// appended in large unsynced batches (a generator, not a server: the fsyncs
// are not what is measured here). A snapshot of the state is stored --tail
// events before the end — where a server writing one every --tail events
// would have left its latest — so a restart replays that many; --tail 0
// stores none (a restart replays everything).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/fleet.h"
#include "engine/snapshot.h"
#include "storage/event_log.h"

namespace {

using duban::v1::Event;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "duban-gen: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duban-gen: a data folder with a large log, for benchmarks"};
  std::string data_dir;
  int plans = 1;
  uint64_t events = 100000;
  uint64_t tail = 100000;
  app.add_option("--data_dir,--data-dir", data_dir, "a new, empty data folder")->required();
  app.add_option("--plans", plans, "copies of the Qinghai plan")->check(CLI::Range(1, 10000));
  app.add_option("--events", events, "events the log ends with (at least)");
  app.add_option("--tail", tail, "events after the stored snapshot (0: no snapshot)");
  bool churn = false;
  app.add_flag("--churn", churn,
               "every 7th round reports AT_RISK and the next clears it, so task-at-risk "
               "escalations keep opening anew (the state's escalations grow with the log)");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::create_directories(data_dir);
  auto opened = duban::storage::EventLog::Open({.path = data_dir + "/log", .sync = false});
  if (!opened.ok()) Die(std::string(opened.status().message()));
  std::unique_ptr<duban::storage::EventLog> log = std::move(*opened);
  if (log->head().seq != 0) Die(data_dir + "/log is not empty");

  const auto start = std::chrono::steady_clock::now();
  std::vector<duban::storage::EventLog::CommandWrite> batch(1);
  auto flush = [&] {
    if (batch[0].events.empty()) return;
    absl::Status s = log->Append(&batch);
    if (!s.ok()) Die(std::string(s.message()));
    batch[0].events.clear();
  };
  uint64_t written = 0;
  auto sink = [&](const Event& e) {
    batch[0].events.push_back(e);
    ++written;
    if (batch[0].events.size() >= 2000) flush();
    if (written % 1000000 == 0) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\r%llu events (%.0f/s)", static_cast<unsigned long long>(written),
                   static_cast<double>(written) / s);
    }
  };
  duban::bench::Fleet fleet = duban::bench::BuildFleet(plans, false, sink);

  // Revisions until the log is long enough, with the rules' response to each.
  bool snapshot_written = tail == 0;
  auto maybe_snapshot = [&] {
    if (snapshot_written || events < tail || fleet.state.seq() < events - tail) return;
    flush();
    auto hash = log->EventHash(fleet.state.seq());
    if (!hash.ok()) Die(std::string(hash.status().message()));
    const std::string bytes = duban::engine::EncodeSnapshot(fleet.state, *hash);
    absl::Status s = log->PutSnapshot(fleet.state.seq(), bytes);
    if (!s.ok()) Die(std::string(s.message()));
    std::fprintf(stderr, "\nsnapshot at seq %llu: %zu bytes\n",
                 static_cast<unsigned long long>(fleet.state.seq()), bytes.size());
    snapshot_written = true;
  };
  const absl::Time now = absl::FromCivil(absl::CivilDay(2026, 3, 1), duban::engine::ChinaStandardTime());
  uint64_t round = 0;
  while (fleet.state.seq() < events) {
    const int year = 2021 + static_cast<int>(round % 5);
    for (const std::string& plan_id : fleet.plan_ids) {
      const duban::engine::PlanState* plan = fleet.state.FindPlan(plan_id);
      std::vector<std::pair<int32_t, std::string>> pairs;
      for (const auto& [number, task] : plan->tasks) {
        for (const auto& r : task.responsibilities()) pairs.emplace_back(number, r.agency_id());
      }
      for (const auto& [number, agency] : pairs) {
        if (fleet.state.seq() >= events) break;
        duban::v1::SubmitProgressRequest req;
        req.set_plan_id(plan_id);
        req.set_task_number(number);
        req.set_year(year);
        req.set_agency_id(agency);
        // Steady: the same tasks stay at risk (their escalations repeat);
        // churn: statuses flip, so new escalations keep opening.
        const bool at_risk = churn ? round % 7 == 3 : number % 11 == 0;
        req.set_status(at_risk ? duban::v1::AT_RISK : duban::v1::ON_TRACK);
        req.set_summary(absl::StrCat(year, "年度任务", number, "进展（第", round, "次更新）：按计划推进。"));
        auto decided = duban::engine::DecideSubmitProgress(fleet.state, req);
        if (!decided.ok()) continue;
        duban::bench::Commit(&fleet, *decided, now, "agency:" + agency, false);
        std::vector<Event> cause = *decided;
        for (size_t i = 0; i < cause.size(); ++i) cause[i].set_seq(fleet.state.seq() - cause.size() + 1 + i);
        duban::bench::Commit(&fleet, duban::engine::DeriveAfter(fleet.state, now, cause), now, "system",
                             false);
        maybe_snapshot();
      }
    }
    ++round;
  }
  flush();
  maybe_snapshot();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "\n");
  size_t escalations = 0, open = 0, reports = 0;
  for (const auto& id : fleet.plan_ids) {
    escalations += fleet.state.FindPlan(id)->timelines.size();  // open and closed
    open += fleet.state.FindPlan(id)->escalations.size();
    reports += fleet.state.FindPlan(id)->progress.size();
  }
  std::printf("%s: %d plans, %llu events, %zu (task, year, agency) reports, %zu escalations (%zu open), in %.1f s\n",
              data_dir.c_str(), plans, static_cast<unsigned long long>(log->head().seq), reports,
              escalations, open, s);
  return 0;
}
