#include "engine/reporting.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/commands.h"
#include "engine/validate.h"
#include "storage/status_macros.h"

namespace duban::engine {

using duban::v1::Event;
using duban::v1::Indicator;
using duban::v1::IndicatorSeries;
using duban::v1::SeriesPoint;
using duban::v1::TargetKind;

namespace {

// FAILED_PRECONDITION unless the caller's expected revision is the current one.
absl::Status CheckRevision(bool has_expected, uint32_t expected, size_t current,
                           const std::string& what) {
  if (has_expected && expected != current) {
    return absl::FailedPreconditionError(absl::StrCat(
        "expected_revision: ", what, " is at revision ", current, ", not ", expected,
        current == 0 ? " (nothing submitted yet)" : ""));
  }
  return absl::OkStatus();
}

// Values must make sense for the unit: never negative, a percentage at most 100.
absl::Status CheckValueForUnit(double value, const std::string& unit) {
  if (!std::isfinite(value)) return absl::InvalidArgumentError("value: not a finite number");
  if (value < 0) {
    return absl::InvalidArgumentError(absl::StrCat("value: ", value, " is negative"));
  }
  if (unit == "%" && value > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("value: ", value, "% is more than 100% (the unit is %)"));
  }
  if (unit == "年" && value > 30) {
    return absl::InvalidArgumentError(absl::StrCat("value: ", value, " years is not plausible"));
  }
  if (value > 1e9) return absl::InvalidArgumentError("value: implausibly large");
  return absl::OkStatus();
}

std::string Num(double v) { return absl::StrFormat("%.6g", v); }

}  // namespace

absl::Status CheckPlanYear(const PlanState& plan, int32_t year, absl::string_view field) {
  if (year < plan.plan.start_year() || year > plan.plan.end_year()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", year, " is outside the plan's period ",
                                                   plan.plan.start_year(), "–",
                                                   plan.plan.end_year()));
  }
  return absl::OkStatus();
}

bool AnswersFor(const Indicator& indicator, const std::string& agency_id) {
  const auto& ids = indicator.responsible_agency_ids();
  return std::find(ids.begin(), ids.end(), agency_id) != ids.end();
}

absl::StatusOr<std::vector<Event>> DecideSubmitProgress(
    const State& state, const duban::v1::SubmitProgressRequest& req) {
  ASSIGN_OR_RETURN(const PlanState* plan, RequirePlan(state, req.plan_id()));
  ASSIGN_OR_RETURN(const duban::v1::Task* task, RequireTask(*plan, req.task_number()));
  ASSIGN_OR_RETURN(const duban::v1::Agency* agency, RequireAgency(*plan, req.agency_id()));
  const duban::v1::Responsibility* role = FindResponsibility(*task, agency->id());
  if (role == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat(
        agency->id(), " holds no role on task ", task->number(),
        ": an agency reports only on tasks it leads, shares or cooperates on"));
  }
  RETURN_IF_ERROR(CheckPlanYear(*plan, req.year()));
  if (!duban::v1::ProgressStatus_IsValid(req.status()) ||
      req.status() == duban::v1::PROGRESS_STATUS_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "status: must be NOT_STARTED, ON_TRACK, AT_RISK, BEHIND or COMPLETED");
  }
  RETURN_IF_ERROR(CheckText("summary", req.summary(), {kMaxSummaryBytes, true, true}));
  RETURN_IF_ERROR(CheckText("measures", req.measures(), {kMaxMeasuresBytes, false, true}));
  if (req.evidence_refs_size() > static_cast<int>(kMaxEvidenceRefs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("evidence_refs: at most ", kMaxEvidenceRefs, " references"));
  }
  for (int i = 0; i < req.evidence_refs_size(); ++i) {
    RETURN_IF_ERROR(CheckText(absl::StrCat("evidence_refs[", i, "]"), req.evidence_refs(i),
                              {kMaxEvidenceRefBytes}));
  }
  if (req.has_percent_complete() &&
      (!std::isfinite(req.percent_complete()) || req.percent_complete() < 0 ||
       req.percent_complete() > 100)) {
    return absl::InvalidArgumentError("percent_complete: must be from 0 to 100");
  }
  auto it = plan->progress.find({task->number(), req.year(), agency->id()});
  const size_t current = it == plan->progress.end() ? 0 : it->second.size();
  RETURN_IF_ERROR(CheckRevision(req.has_expected_revision(), req.expected_revision(), current,
                                absl::StrCat("the ", req.year(), " report of ", agency->id(),
                                             " on task ", task->number())));
  Event e;
  e.set_plan_id(plan->plan.plan_id());
  duban::v1::ProgressReport* r = e.mutable_progress_reported()->mutable_report();
  r->set_task_number(task->number());
  r->set_year(req.year());
  r->set_agency_id(agency->id());
  r->set_role(role->role());
  r->set_kind(ReportKindFor(*task, agency->id()));
  r->set_status(req.status());
  r->set_summary(req.summary());
  r->set_measures(req.measures());
  *r->mutable_evidence_refs() = req.evidence_refs();
  if (req.has_percent_complete()) r->set_percent_complete(req.percent_complete());
  r->set_revision(static_cast<uint32_t>(current + 1));
  return std::vector<Event>{std::move(e)};
}

absl::StatusOr<std::vector<Event>> DecideSubmitIndicatorValue(
    const State& state, const duban::v1::SubmitIndicatorValueRequest& req) {
  ASSIGN_OR_RETURN(const PlanState* plan, RequirePlan(state, req.plan_id()));
  ASSIGN_OR_RETURN(const Indicator* ind, RequireIndicator(*plan, req.indicator_number()));
  ASSIGN_OR_RETURN(const duban::v1::Agency* agency, RequireAgency(*plan, req.agency_id()));
  if (!AnswersFor(*ind, agency->id())) {
    return absl::PermissionDeniedError(absl::StrCat(
        agency->id(), " does not answer for indicator ", ind->number(), " (", ind->name(),
        "): only its responsible agencies report its values"));
  }
  RETURN_IF_ERROR(CheckPlanYear(*plan, req.year()));
  RETURN_IF_ERROR(CheckValueForUnit(req.value(), ind->unit()));
  RETURN_IF_ERROR(CheckText("source_note", req.source_note(), {kMaxSourceNoteBytes, false, true}));
  auto it = plan->indicator_values.find({ind->number(), req.year()});
  const size_t current = it == plan->indicator_values.end() ? 0 : it->second.size();
  RETURN_IF_ERROR(CheckRevision(req.has_expected_revision(), req.expected_revision(), current,
                                absl::StrCat("the ", req.year(), " value of indicator ",
                                             ind->number())));
  Event e;
  e.set_plan_id(plan->plan.plan_id());
  duban::v1::IndicatorValue* v = e.mutable_indicator_value_reported()->mutable_value();
  v->set_indicator_number(ind->number());
  v->set_year(req.year());
  v->set_value(req.value());
  v->set_source_note(req.source_note());
  v->set_agency_id(agency->id());
  v->set_revision(static_cast<uint32_t>(current + 1));
  return std::vector<Event>{std::move(e)};
}

absl::StatusOr<duban::v1::TaskProgress> BuildTaskProgress(const PlanState& plan,
                                                          const duban::v1::Task& task, int32_t year,
                                                          const EventLoader& load) {
  duban::v1::TaskProgress out;
  *out.mutable_task() = task;
  for (int32_t y = plan.plan.start_year(); y <= plan.plan.end_year(); ++y) {
    if (year != 0 && y != year) continue;
    duban::v1::YearProgress* yp = out.add_years();
    yp->set_year(y);
    std::vector<duban::v1::ProgressReport> history;
    auto first = plan.progress.lower_bound({task.number(), y, std::string()});
    for (auto it = first; it != plan.progress.end() && std::get<0>(it->first) == task.number() &&
                          std::get<1>(it->first) == y;
         ++it) {
      if (it->second.empty()) continue;
      const duban::v1::ProgressReport& latest = it->second.back();
      // Kinds are judged by the agency's role now: a role changed since the
      // report moves it between task report and contribution.
      duban::v1::ProgressReport current = latest;
      current.set_kind(ReportKindFor(task, latest.agency_id()));
      *(current.kind() == duban::v1::TASK_REPORT ? yp->add_task_reports()
                                                  : yp->add_contributions()) = current;
      ASSIGN_OR_RETURN(std::vector<duban::v1::ProgressReport> revisions, Revisions(it->second, load));
      history.insert(history.end(), std::make_move_iterator(revisions.begin()),
                     std::make_move_iterator(revisions.end()));
    }
    std::sort(history.begin(), history.end(),
              [](const auto& a, const auto& b) { return a.seq() < b.seq(); });
    for (auto& r : history) *yp->add_history() = std::move(r);
  }
  return out;
}

IndicatorSeries BuildIndicatorSeries(const PlanState& plan, const Indicator& ind,
                                     double tol) {
  IndicatorSeries out;
  *out.mutable_indicator() = ind;
  out.set_tolerance(tol);
  const int32_t start = plan.plan.start_year();
  const int32_t end = plan.plan.end_year();
  const double target = ind.target_value();
  const bool has_baseline = ind.has_baseline();
  const double base = ind.baseline().value();
  double cumulative = 0;
  std::vector<int32_t> missing_years;
  const duban::v1::IndicatorValue* previous = nullptr;
  for (int32_t y = start; y <= end; ++y) {
    SeriesPoint* p = out.add_points();
    p->set_year(y);
    const duban::v1::IndicatorValue* v = plan.LatestValue(ind.number(), y);
    if (v != nullptr) {
      p->set_has_value(true);
      p->set_value(v->value());
      p->set_revision(v->revision());
    }
    auto expect = [&](double e) {
      p->set_has_expected(true);
      p->set_expected(e);
    };
    auto judge = [&](bool ok, std::string note) {
      p->set_judgement(ok ? duban::v1::JUDGEMENT_ON_TRACK : duban::v1::JUDGEMENT_OFF_TRACK);
      p->set_note(std::move(note));
    };
    switch (ind.target_kind()) {
      case duban::v1::CUMULATIVE: {
        if (v != nullptr) {
          cumulative += v->value();
        } else {
          missing_years.push_back(y);
        }
        p->set_cumulative(cumulative);
        const double share = static_cast<double>(y - start + 1) / (end - start + 1);
        expect(target * share);
        if (v != nullptr) {
          std::string note = absl::StrCat("running total ", Num(cumulative), " against ",
                                          y - start + 1, "/", end - start + 1, " of ",
                                          Num(target), " = ", Num(p->expected()));
          if (!missing_years.empty()) {
            absl::StrAppend(&note, " (", missing_years.size(), " year(s) without a value count as 0)");
          }
          judge(cumulative >= p->expected() * (1 - tol), std::move(note));
        }
        break;
      }
      case duban::v1::LEVEL: {
        const int32_t base_year = has_baseline ? ind.baseline().year() : start - 1;
        if (has_baseline && end > base_year) {
          expect(base + (target - base) * (y - base_year) / (end - base_year));
        } else if (y == end) {
          expect(target);
        }
        if (v == nullptr) break;
        if (!p->has_expected()) {
          p->set_judgement(duban::v1::JUDGEMENT_NOT_JUDGED);
          p->set_note("no baseline in the previous plan's results: judged only in the last year");
          break;
        }
        // The tolerance is a share of the whole planned change (of the
        // target itself without a baseline), not of the level.
        const double slack = tol * (has_baseline ? std::abs(target - base) : target);
        const bool rising = !has_baseline || target >= base;
        judge(rising ? v->value() >= p->expected() - slack : v->value() <= p->expected() + slack,
              has_baseline
                  ? absl::StrCat("straight line from ", Num(base), " (", base_year, ") to ",
                                 Num(target), " (", end, "): ", Num(p->expected()), ", ",
                                 rising ? "less " : "plus ", Num(slack), " tolerance")
                  : absl::StrCat("the target ", Num(target), ", less ", Num(slack), " tolerance"));
        break;
      }
      case duban::v1::FLOOR:
        expect(target);
        if (v != nullptr) {
          judge(v->value() > target, absl::StrCat("must stay above ", Num(target)));
        }
        break;
      case duban::v1::AROUND:
        expect(target);
        if (v != nullptr) {
          judge(std::abs(v->value() - target) <= tol * target,
                absl::StrCat("within ", Num(tol * target), " of ", Num(target)));
        }
        break;
      case duban::v1::CEILING:
        expect(target);
        if (v != nullptr) {
          judge(v->value() <= target * (1 + tol),
                absl::StrCat("at most ", Num(target), " + ", Num(tol * target)));
        }
        break;
      case duban::v1::INCREASING: {
        // Compared with the latest earlier value, or the baseline of the
        // year before the plan.
        const bool baseline_fits = has_baseline && ind.baseline().year() == start - 1;
        const bool has_prev = previous != nullptr || baseline_fits;
        const double prev = previous != nullptr ? previous->value() : base;
        if (has_prev) expect(prev);
        if (v == nullptr) break;
        if (!has_prev) {
          p->set_judgement(duban::v1::JUDGEMENT_NOT_JUDGED);
          p->set_note("no earlier value to compare with");
          break;
        }
        judge(v->value() > prev,
              absl::StrCat("must rise above ", Num(prev), " (",
                           previous != nullptr ? absl::StrCat(previous->year())
                                               : absl::StrCat(ind.baseline().year()),
                           ")"));
        break;
      }
      default:
        if (v != nullptr) {
          p->set_judgement(duban::v1::JUDGEMENT_NOT_JUDGED);
          p->set_note("unknown target kind");
        }
        break;
    }
    if (v == nullptr) {
      p->set_judgement(duban::v1::JUDGEMENT_NO_DATA);
      p->set_note("no value reported");
    } else {
      previous = v;
    }
  }
  return out;
}

duban::v1::MissingReports BuildMissingReports(const PlanState& plan, int32_t year,
                                              const std::string& only_agency) {
  duban::v1::MissingReports out;
  out.set_year(year);
  auto reported = [&](int32_t task, const std::string& agency) {
    return plan.LatestReport(task, year, agency) != nullptr;
  };
  for (const auto& [number, task] : plan.tasks) {
    const std::vector<std::string> reporters = TaskReporters(task);
    const bool has_report = std::any_of(reporters.begin(), reporters.end(),
                                        [&](const std::string& a) { return reported(number, a); });
    const bool owes_report =
        only_agency.empty() ||
        std::find(reporters.begin(), reporters.end(), only_agency) != reporters.end();
    if (!has_report && owes_report) {
      duban::v1::MissingTaskReport* m = out.add_task_reports();
      m->set_task_number(number);
      for (const auto& a : reporters) m->add_agency_ids(a);
    }
    for (const auto& r : task.responsibilities()) {
      if (ReportKindFor(task, r.agency_id()) == duban::v1::TASK_REPORT) continue;
      if (!only_agency.empty() && r.agency_id() != only_agency) continue;
      if (reported(number, r.agency_id())) continue;
      duban::v1::MissingContribution* m = out.add_contributions();
      m->set_task_number(number);
      m->set_agency_id(r.agency_id());
      m->set_role(r.role());
    }
  }
  for (const auto& [number, ind] : plan.indicators) {
    if (plan.LatestValue(number, year) != nullptr) continue;
    if (!only_agency.empty() && !AnswersFor(ind, only_agency)) continue;
    duban::v1::MissingIndicatorValue* m = out.add_indicator_values();
    m->set_indicator_number(number);
    m->set_indicator_name(ind.name());
    *m->mutable_agency_ids() = ind.responsible_agency_ids();
  }
  return out;
}

}  // namespace duban::engine
