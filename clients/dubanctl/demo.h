// `dubanctl demo`: five years of a plan played on a server whose clock is
// simulated (duband --simulated_clock), so that a newcomer sees agencies
// report, some late, indicators lag, escalations climb the ladder
// (提醒 → 催办 → 督办 → 通报) and notices reach the supervisors, all within a
// minute.
//
//   DemoOptions options;
//   options.plan_id = "qinghai-employment-2021";
//   absl::Status status = RunDemo(channel, admin_token, options, std::cout);
//
// The scenario (which tasks are late, which values lag, when the clock
// moves) is decided by the pure functions below from the plan and the
// ruleset alone; RunDemo carries it out and narrates it.
#ifndef DUBAN_CLIENTS_DUBANCTL_DEMO_H_
#define DUBAN_CLIENTS_DUBANCTL_DEMO_H_

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "duban/v1/plan.pb.h"
#include "duban/v1/supervision.pb.h"
#include "grpcpp/grpcpp.h"

namespace duban::clients {

// The agencies whose report is the task's report: its LEAD agencies, or the
// convener where nobody leads.
std::vector<std::string> TaskReporters(const v1::Task& task);

// The value the demo reports for `indicator` in `year` of a plan running
// from `start_year` to `end_year`, rounded to 2 decimals: on track for its
// target kind, except 城镇新增就业 (its running total below the pro-rata share
// through the mid-term, on track from the fourth year) and
// 劳动年龄人口平均受教育年限 (below its floor of 10.5 for the first two years).
struct DemoValue {
  double value = 0;
  bool lagging = false;
  std::string note;  // for a lagging value: why it lags, in words
};
DemoValue DemoIndicatorValue(const v1::Indicator& indicator, int start_year,
                             int end_year, int year);

// A task whose report the demo holds back in a year, and what then happens.
struct LateTask {
  enum class Fate {
    kAcknowledged,  // its agency acknowledges (签收) with measures
    kReportedLate,  // its agency reports late: the escalation clears
    kLeftOpen,      // nobody acts: it climbs to the top of the ladder
  };
  int task = 0;
  std::string agency_id;  // its only reporter
  Fate fate = Fate::kLeftOpen;
};

// Three late tasks for the year `year_index` (0 for the plan's first),
// one per fate in the order above, each reported by one agency only:
// preferably `agencies[i]` for fate i (agencies the demo holds tokens of),
// else any task with one reporter. Rotates through the candidates year by
// year, so no task is late twice while there are others.
std::vector<LateTask> PickLateTasks(const std::vector<v1::Task>& tasks,
                                    const std::vector<std::string>& agencies,
                                    int year_index);

// A task reported by `agency_id` alone and not late, that reports 有风险
// (at risk) in the year `year_index`; nullopt when there is none.
std::optional<int> PickAtRiskTask(const std::vector<v1::Task>& tasks,
                                  const std::string& agency_id,
                                  const std::vector<LateTask>& late,
                                  int year_index);

// When reports are due and when the demo looks again, from the ruleset's
// first enabled REPORT_OVERDUE rule: its deadline (default 31 January) and
// the days after it at which its policy's rungs are reached (default 7, 14
// and 30), at most four.
struct DemoSchedule {
  int deadline_month = 1;
  int deadline_day = 31;
  std::vector<int> days_after;
};
DemoSchedule ScheduleFor(const v1::Ruleset& ruleset);

struct DemoOptions {
  std::string plan_id;
  // Pace: pauses between steps last 0.8 s / speed.
  double speed = 1;
  // The ruleset to put when the server has none ("": the plan's
  // plans/<plan>/rules.textproto under the current folder, if there).
  std::string rules_file;
  std::chrono::milliseconds timeout{30000};
};

// Plays the demo against the server behind `channel` with `admin_token`
// (which issues the demo's supervisor and agency credentials), narrating
// on `out`. FAILED_PRECONDITION, with what to do, when the server's clock
// is not simulated, is past the first year's reporting deadline, or the
// server has no ruleset and none is found to put.
absl::Status RunDemo(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& admin_token, const DemoOptions& options,
                     std::ostream& out);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_DEMO_H_
