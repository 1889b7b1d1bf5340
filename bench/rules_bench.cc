// The rules engine against a fleet of Qinghai-size plans (bench/fleet.h):
//   BM_FullTick/N        EvaluateAll over N plans after five years of reports,
//                        once the escalations it opens are applied (a steady
//                        tick: what runs every --tick_seconds)
//   BM_AfterOneReport/N  DeriveAfter for one progress report in one plan of N
//                        (what runs on the write path after every command)
//
//   build/bench/rules_bench --benchmark_filter=FullTick
#include <benchmark/benchmark.h>

#include "bench/fleet.h"

namespace duban::bench {
namespace {

absl::Time TickTime() {
  return absl::FromCivil(absl::CivilDay(2026, 3, 1), engine::ChinaStandardTime());
}

// The fleet after a first tick has opened what the reports call for.
Fleet& SettledFleet(int plans) {
  static std::map<int, Fleet>* fleets = new std::map<int, Fleet>();
  auto it = fleets->find(plans);
  if (it != fleets->end()) return it->second;
  Fleet fleet = BuildFleet(plans);
  Commit(&fleet, engine::EvaluateAll(fleet.state, TickTime(), 0), TickTime(), "system", false);
  return fleets->emplace(plans, std::move(fleet)).first->second;
}

void BM_FullTick(benchmark::State& st) {
  Fleet& fleet = SettledFleet(static_cast<int>(st.range(0)));
  const absl::Time now = TickTime() + absl::Hours(1);
  size_t derived = 0;
  for (auto _ : st) {
    auto events = engine::EvaluateAll(fleet.state, now, 0);
    derived += events.size();
    benchmark::DoNotOptimize(events);
  }
  size_t tasks = 0, escalations = 0;
  for (const auto& id : fleet.plan_ids) {
    tasks += fleet.state.FindPlan(id)->tasks.size();
    escalations += fleet.state.FindPlan(id)->timelines.size();  // open and closed
  }
  st.counters["plans"] = static_cast<double>(fleet.plan_ids.size());
  st.counters["tasks"] = static_cast<double>(tasks);
  st.counters["reports"] = static_cast<double>(fleet.reports);
  st.counters["escalations"] = static_cast<double>(escalations);
  st.counters["derived_per_tick"] = static_cast<double>(derived) / static_cast<double>(st.iterations());
}
BENCHMARK(BM_FullTick)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_AfterOneReport(benchmark::State& st) {
  Fleet& fleet = SettledFleet(static_cast<int>(st.range(0)));
  const std::string& plan = fleet.plan_ids.back();
  const auto* p = fleet.state.FindPlan(plan);
  const auto& task = p->tasks.begin()->second;
  duban::v1::SubmitProgressRequest req;
  req.set_plan_id(plan);
  req.set_task_number(task.number());
  req.set_year(2025);
  req.set_agency_id(task.responsibilities(0).agency_id());
  req.set_status(duban::v1::ON_TRACK);
  req.set_summary("再次报告");
  engine::State after = fleet.state;
  auto events = engine::DecideSubmitProgress(after, req);
  if (!events.ok()) {
    st.SkipWithError("report refused");
    return;
  }
  for (auto& e : *events) {
    e.set_seq(after.seq() + 1);
    if (!after.Apply(e).ok()) std::abort();
  }
  const absl::Time now = TickTime() + absl::Hours(1);
  for (auto _ : st) {
    auto derived = engine::DeriveAfter(after, now, *events);
    benchmark::DoNotOptimize(derived);
  }
}
BENCHMARK(BM_AfterOneReport)->Arg(1)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace duban::bench

BENCHMARK_MAIN();
