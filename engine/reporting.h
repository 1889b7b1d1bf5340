// Status reporting: progress reports and indicator values decided against
// the state, and the views computed from them (a task's progress, an
// indicator's series against its trajectory, what is missing for a year).
//
// Pure like the rest of the engine. Who may call what is the services'
// business; these functions check that the reporting agency holds a role on
// the task or answers for the indicator (PERMISSION_DENIED otherwise), the
// fields (INVALID_ARGUMENT naming them) and the expected revision
// (FAILED_PRECONDITION).
#ifndef DUBAN_ENGINE_REPORTING_H_
#define DUBAN_ENGINE_REPORTING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "duban/v1/event.pb.h"
#include "duban/v1/reporting.pb.h"
#include "engine/state.h"

namespace duban::engine {

inline constexpr size_t kMaxSummaryBytes = 4000;
inline constexpr size_t kMaxMeasuresBytes = 8000;
inline constexpr size_t kMaxEvidenceRefs = 20;
inline constexpr size_t kMaxEvidenceRefBytes = 500;
inline constexpr size_t kMaxSourceNoteBytes = 1000;
inline constexpr double kDefaultTolerance = 0.05;

// `req.agency_id()` is the agency the report is for (the services fill it in
// from the caller's credential).
absl::StatusOr<std::vector<duban::v1::Event>> DecideSubmitProgress(
    const State& state, const duban::v1::SubmitProgressRequest& req);

absl::StatusOr<std::vector<duban::v1::Event>> DecideSubmitIndicatorValue(
    const State& state, const duban::v1::SubmitIndicatorValueRequest& req);

// INVALID_ARGUMENT unless start_year <= year <= end_year.
absl::Status CheckPlanYear(const PlanState& plan, int32_t year, absl::string_view field = "year");

// Whether `agency_id` answers for the indicator.
bool AnswersFor(const duban::v1::Indicator& indicator, const std::string& agency_id);

// year 0: every year of the plan. Earlier revisions (the history) are read
// with `load`.
absl::StatusOr<duban::v1::TaskProgress> BuildTaskProgress(const PlanState& plan,
                                                          const duban::v1::Task& task, int32_t year,
                                                          const EventLoader& load);

// The indicator's values by year against the trajectory its target kind and
// baseline give, judged with the relative `tolerance`:
//   CUMULATIVE  running total >= target × (years so far / plan years) × (1 − tol)
//   LEVEL       value >= the straight line from the baseline to the target, less
//               tol × |target − baseline| (<= plus it for a falling target);
//               without a baseline only the last year is judged: >= target × (1 − tol)
//   FLOOR       value > the threshold (as written: >10.5), no tolerance
//   AROUND      |value − target| <= tol × target
//   CEILING     value <= target × (1 + tol)
//   INCREASING  value > the latest earlier value (the baseline of the year before
//               the plan for the first), no tolerance
duban::v1::IndicatorSeries BuildIndicatorSeries(const PlanState& plan,
                                                const duban::v1::Indicator& indicator,
                                                double tolerance);

// What is absent for `year`: task reports, contributions, indicator values.
// With `only_agency`, just the items that agency owes.
duban::v1::MissingReports BuildMissingReports(const PlanState& plan, int32_t year,
                                              const std::string& only_agency = "");

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_REPORTING_H_
