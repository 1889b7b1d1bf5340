// A fleet of plans the size of the Qinghai plan, for benchmarks: the shipped
// plan imported N times under different ids, its ruleset put for each, and
// five years of reports (every responsible agency, every task, 2021–2025) and
// indicator values, as the sequencer would apply them (seq, time, principal
// stamped). Some reports are AT_RISK so the rules have escalations to keep.
#ifndef DUBAN_BENCH_FLEET_H_
#define DUBAN_BENCH_FLEET_H_

#include <google/protobuf/text_format.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/commands.h"
#include "engine/reporting.h"
#include "engine/rules.h"
#include "engine/state.h"

namespace duban::bench {

inline std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(DUBAN_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Fleet {
  engine::State state;
  std::vector<std::string> plan_ids;
  uint64_t reports = 0;
  uint64_t values = 0;
  // Every event applied, when kept (for replay benchmarks).
  std::vector<duban::v1::Event> events;
  // Called with every event once applied (seq, time and principal stamped),
  // e.g. to write it to a log.
  std::function<void(const duban::v1::Event&)> sink;
};

// Applies `events` to fleet->state as the sequencer would.
inline void Commit(Fleet* fleet, std::vector<duban::v1::Event> events, absl::Time now,
                   const std::string& principal, bool keep) {
  for (auto& e : events) {
    e.set_seq(fleet->state.seq() + 1);
    e.set_recorded_at_micros(absl::ToUnixMicros(now));
    e.set_principal(principal);
    if (!fleet->state.Apply(e).ok()) {
      std::fprintf(stderr, "fleet: event does not apply: %s\n", e.ShortDebugString().c_str());
      std::abort();
    }
    if (keep) fleet->events.push_back(e);
    if (fleet->sink) fleet->sink(e);
  }
}

// `plans` copies of the Qinghai plan with rules and (unless `reports` is
// false) five years of reports.
inline Fleet BuildFleet(int plans, bool keep_events = false,
                        std::function<void(const duban::v1::Event&)> sink = nullptr,
                        bool reports = true) {
  Fleet fleet;
  fleet.sink = std::move(sink);
  duban::v1::PlanDocument doc;
  duban::v1::Ruleset rules;
  if (!google::protobuf::TextFormat::ParseFromString(
          ReadSource("plans/qinghai-employment-2021/plan.textproto"), &doc) ||
      !google::protobuf::TextFormat::ParseFromString(
          ReadSource("plans/qinghai-employment-2021/rules.textproto"), &rules)) {
    std::fprintf(stderr, "fleet: cannot read the shipped plan or rules\n");
    std::abort();
  }
  const absl::Time start = absl::FromCivil(absl::CivilDay(2021, 12, 1), engine::ChinaStandardTime());
  for (int k = 0; k < plans; ++k) {
    const std::string id = plans == 1 ? doc.plan_id() : absl::StrCat(doc.plan_id(), "-", k);
    fleet.plan_ids.push_back(id);
    duban::v1::PlanDocument copy = doc;
    copy.set_plan_id(id);
    auto imported = engine::DecideImport(fleet.state, copy, {});
    if (!imported.ok()) std::abort();
    Commit(&fleet, imported->events, start, "system", keep_events);
    duban::v1::Ruleset r = rules;
    r.set_plan_id(id);
    auto put = engine::DecidePutRules(fleet.state, r, 0);
    if (!put.ok()) std::abort();
    Commit(&fleet, *put, start, "admin", keep_events);
    for (int year = copy.start_year(); reports && year <= copy.end_year(); ++year) {
      const absl::Time at = absl::FromCivil(absl::CivilDay(year + 1, 1, 10), engine::ChinaStandardTime());
      for (const auto& task : copy.tasks()) {
        for (const auto& resp : task.responsibilities()) {
          duban::v1::SubmitProgressRequest req;
          req.set_plan_id(id);
          req.set_task_number(task.number());
          req.set_year(year);
          req.set_agency_id(resp.agency_id());
          req.set_status(task.number() % 11 == 0 && year == copy.end_year() ? duban::v1::AT_RISK
                                                                            : duban::v1::ON_TRACK);
          req.set_summary(absl::StrCat(year, "年度任务", task.number(), "进展：按计划推进，完成年度目标。"));
          req.set_percent_complete(20 * (year - copy.start_year() + 1));
          auto events = engine::DecideSubmitProgress(fleet.state, req);
          if (!events.ok()) continue;  // e.g. an agency the plan lists only by group
          Commit(&fleet, *events, at, "agency:" + resp.agency_id(), keep_events);
          ++fleet.reports;
        }
      }
      for (const auto& ind : copy.indicators()) {
        if (ind.responsible_agency_ids().empty()) continue;
        duban::v1::SubmitIndicatorValueRequest req;
        req.set_plan_id(id);
        req.set_indicator_number(ind.number());
        req.set_year(year);
        req.set_agency_id(ind.responsible_agency_ids(0));
        req.set_value(ind.target_kind() == duban::v1::CUMULATIVE
                          ? ind.target_value() / (copy.end_year() - copy.start_year() + 1)
                          : ind.target_value());
        auto events = engine::DecideSubmitIndicatorValue(fleet.state, req);
        if (!events.ok()) continue;
        Commit(&fleet, *events, at, "agency:" + req.agency_id(), keep_events);
        ++fleet.values;
      }
    }
  }
  return fleet;
}

}  // namespace duban::bench

#endif  // DUBAN_BENCH_FLEET_H_
