#include "engine/rules.h"

#include <algorithm>
#include <climits>
#include <functional>
#include <tuple>
#include <map>
#include <optional>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/commands.h"
#include "engine/reporting.h"
#include "engine/validate.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::engine {

using duban::v1::Escalation;
using duban::v1::Event;
using duban::v1::Level;
using duban::v1::Rule;
using duban::v1::RuleKind;
using duban::v1::Severity;

namespace {

constexpr double kDefaultMinShare = 0.5;

// A condition a rule finds holding: what an open escalation stands for.
struct Condition {
  duban::v1::Subject subject;
  RuleKind kind = duban::v1::RULE_KIND_UNSPECIFIED;
  Severity severity = duban::v1::SEVERITY_UNSPECIFIED;
  std::string policy_id;
  std::vector<uint64_t> facts;  // the events it rests on
  // Its words, e.g. 任务18 2021年度进展报告逾期未报（截止2022-1-31；牵头单位：…）:
  // made only for an escalation that opens or whose facts changed (most
  // conditions an evaluation finds are already open and unchanged). Reads
  // the plan and the evaluation's index, so it is called before they go.
  std::function<std::string()> summary;
};


std::string Date(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, ChinaStandardTime()); }

bool ValidMonthDay(const duban::v1::MonthDay& md) {
  const absl::CivilDay d(2001, md.month(), md.day());  // not a leap year: no 29 February
  return md.month() >= 1 && md.month() <= 12 && d.month() == md.month() && d.day() == md.day();
}

duban::v1::MonthDay MonthDayOr(const duban::v1::MonthDay& md, int month, int day) {
  if (md.month() != 0) return md;
  duban::v1::MonthDay out;
  out.set_month(month);
  out.set_day(day);
  return out;
}

// The end of the given day of `year` in CST: "by 31 January" holds through it.
absl::Time EndOfDay(int year, const duban::v1::MonthDay& md) {
  return absl::FromCivil(absl::CivilDay(year, md.month(), md.day()) + 1, ChinaStandardTime());
}

std::string ShortName(const PlanState& plan, const std::string& agency_id) {
  const duban::v1::Agency* a = plan.FindAgency(agency_id);
  return a ? a->short_name() : agency_id;
}

std::string Names(const PlanState& plan, const std::vector<std::string>& ids) {
  std::vector<std::string> names;
  for (const auto& id : ids) names.push_back(ShortName(plan, id));
  return absl::StrJoin(names, "、");
}

duban::v1::Subject MakeSubject(const Rule& rule, const PlanState& plan, int task, int indicator,
                               const std::string& agency, int year) {
  duban::v1::Subject s;
  s.set_rule_id(rule.id());
  s.set_plan_id(plan.plan.plan_id());
  s.set_task_number(task);
  s.set_indicator_number(indicator);
  s.set_agency_id(agency);
  s.set_year(year);
  return s;
}

const char* StatusWord(duban::v1::ProgressStatus s) {
  switch (s) {
    case duban::v1::NOT_STARTED: return "未开始";
    case duban::v1::ON_TRACK: return "按计划推进";
    case duban::v1::AT_RISK: return "有风险";
    case duban::v1::BEHIND: return "滞后";
    case duban::v1::COMPLETED: return "已完成";
    default: return "未知";
  }
}

// What one evaluation reads, gathered once: the tasks and indicators in
// scope with each task's reporters, and the latest report of every (task,
// year, agency) in scope, found by (task, year) and a short scan instead of
// a string-keyed map lookup per question.
class PlanIndex {
 public:
  using Fact = PlanState::ReportFact;
  struct TaskEntry {
    int32_t number;
    const duban::v1::Task* task;
    // TaskReporters(task), pointing into the task (no copies: a tick builds
    // one entry per task of every plan).
    absl::InlinedVector<const std::string*, 4> reporters;
    absl::InlinedVector<int32_t, 4> reporter_index;  // their PlanState::ReportAgency (-1: never reported)
    absl::InlinedVector<int32_t, 16> agency_index;   // of each responsibility, in order
    const std::vector<Fact>* facts;       // never null
    const std::set<int32_t>* years;       // those in scope; null or empty: every year

    bool Covers(int32_t year) const { return years == nullptr || years->empty() || years->count(year); }

    std::vector<std::string> Reporters() const {
      std::vector<std::string> out;
      for (const std::string* a : reporters) out.push_back(*a);
      return out;
    }
    bool IsReporter(const std::string& agency) const {
      for (const std::string* a : reporters) {
        if (*a == agency) return true;
      }
      return false;
    }
  };

  PlanIndex(const PlanState& plan, const Scope& scope) : plan_(plan) {
    static const std::vector<Fact> kNone;
    auto add_task = [&](const duban::v1::Task& t, const std::set<int32_t>* years) {
      auto facts = plan.report_facts.find(t.number());
      TaskEntry e{t.number(), &t, {}, {}, {},
                  facts == plan.report_facts.end() ? &kNone : &facts->second, years};
      // As TaskReporters: its LEADs, else its convener (its first SHARED).
      for (const auto& r : t.responsibilities()) {
        if (r.role() == duban::v1::LEAD) e.reporters.push_back(&r.agency_id());
      }
      if (e.reporters.empty()) {
        for (const auto& r : t.responsibilities()) {
          if (r.role() == duban::v1::SHARED) {
            e.reporters.push_back(&r.agency_id());
            break;
          }
        }
      }
      for (const std::string* a : e.reporters) e.reporter_index.push_back(plan.ReportAgency(*a));
      for (const auto& r : t.responsibilities()) e.agency_index.push_back(plan.ReportAgency(r.agency_id()));
      tasks_.push_back(std::move(e));
    };
    if (scope.all) {
      for (const auto& [_, t] : plan.tasks) add_task(t, nullptr);
      for (const auto& [_, i] : plan.indicators) indicators_.push_back(&i);
      return;
    }
    for (const auto& [n, years] : scope.tasks) {
      if (const auto* t = plan.FindTask(n)) add_task(*t, &years);
    }
    for (int32_t n : scope.indicators) {
      if (const auto* i = plan.FindIndicator(n)) indicators_.push_back(i);
    }
  }

  const std::vector<TaskEntry>& tasks() const { return tasks_; }
  const std::vector<const duban::v1::Indicator*>& indicators() const { return indicators_; }

  // The latest report of (task, year, agency index), or null. (Facts are
  // sorted by year, then agency.)
  static const Fact* Latest(const TaskEntry& t, int32_t year, int32_t agency) {
    if (agency < 0) return nullptr;
    auto it = std::lower_bound(t.facts->begin(), t.facts->end(), std::make_pair(year, agency),
                               [](const Fact& f, const std::pair<int32_t, int32_t>& key) {
                                 return std::make_pair(f.year, f.agency) < key;
                               });
    return it != t.facts->end() && it->year == year && it->agency == agency ? &*it : nullptr;
  }

  // The latest task report for (task, year) from any of its reporters, or null.
  static const Fact* LatestTaskReport(const TaskEntry& t, int32_t year) {
    const Fact* latest = nullptr;
    for (int32_t a : t.reporter_index) {
      const Fact* f = Latest(t, year, a);
      if (f != nullptr && (latest == nullptr || f->seq > latest->seq)) latest = f;
    }
    return latest;
  }

  // The whole report behind a fact (for the words of a condition).
  const duban::v1::ProgressReport& Report(const TaskEntry& t, const Fact& f) const {
    return *plan_.LatestReport(t.number, f.year, plan_.report_agencies->names[f.agency]);
  }

 private:
  const PlanState& plan_;
  std::vector<TaskEntry> tasks_;
  std::vector<const duban::v1::Indicator*> indicators_;
};

void AddConditions(const PlanState& plan, const PlanIndex& index, const Rule& rule, absl::Time now,
                   std::map<std::string, Condition>* out) {
  const int start = plan.plan.start_year();
  const int end = plan.plan.end_year();
  using Summary = std::function<std::string()>;
  auto add = [&](duban::v1::Subject subject, std::vector<uint64_t> facts, Summary summary,
                 Severity severity, const std::string& policy) {
    Condition c;
    c.subject = std::move(subject);
    c.kind = rule.kind();
    c.severity = severity;
    c.policy_id = policy;
    c.facts = std::move(facts);
    c.summary = std::move(summary);
    (*out)[SubjectKey(c.subject)] = std::move(c);
  };
  auto plain = [&](duban::v1::Subject subject, std::vector<uint64_t> facts, Summary summary) {
    add(std::move(subject), std::move(facts), std::move(summary), rule.severity(),
        rule.policy_id());
  };
  switch (rule.kind()) {
    case duban::v1::REPORT_OVERDUE: {
      const auto deadline = MonthDayOr(rule.deadline(), 1, 31);
      for (int y = start; y <= end; ++y) {
        if (now < EndOfDay(y + 1, deadline)) continue;
        for (const auto& t : index.tasks()) {
          const int32_t number = t.number;
          if (!t.Covers(y) || PlanIndex::LatestTaskReport(t, y) != nullptr) continue;
          if (t.reporters.empty()) continue;
          plain(MakeSubject(rule, plan, number, 0, *t.reporters.front(), y), {},
                [&plan, &t, number, y, month = deadline.month(), day = deadline.day()] {
                  return absl::StrCat("任务", number, " ", y, "年度进展报告逾期未报（截止", y + 1,
                                      "-", month, "-", day, "；牵头单位：",
                                      Names(plan, t.Reporters()), "）");
                });
        }
      }
      break;
    }
    case duban::v1::CONTRIBUTIONS_MISSING: {
      const auto deadline = MonthDayOr(rule.deadline(), 2, 28);
      for (int y = start; y <= end; ++y) {
        if (now < EndOfDay(y + 1, deadline)) continue;
        for (const auto& t : index.tasks()) {
          const int32_t number = t.number;
          if (!t.Covers(y)) continue;
          const auto* lead_report = PlanIndex::LatestTaskReport(t, y);
          if (lead_report == nullptr) continue;  // that is REPORT_OVERDUE's business
          for (int k = 0; k < t.task->responsibilities_size(); ++k) {
            const auto& r = t.task->responsibilities(k);
            if (t.IsReporter(r.agency_id())) {
              continue;  // a task report, not a contribution
            }
            if (PlanIndex::Latest(t, y, t.agency_index[k]) != nullptr) continue;
            plain(MakeSubject(rule, plan, number, 0, r.agency_id(), y), {lead_report->seq},
                  [&plan, &index, &t, &r, lead_report, number, y, month = deadline.month(),
                   day = deadline.day()] {
                    return absl::StrCat(
                        "任务", number, " ", y, "年度", ShortName(plan, r.agency_id()),
                        "未报送工作情况（牵头单位已于",
                        Date(absl::FromUnixMicros(index.Report(t, *lead_report).recorded_at_micros())),
                        "报告；截止", y + 1, "-", month, "-", day, "）");
                  });
          }
        }
      }
      break;
    }
    case duban::v1::INDICATOR_OFF_TRACK: {
      const double tol = rule.tolerance() > 0 ? rule.tolerance() : kDefaultTolerance;
      for (const duban::v1::Indicator* indicator : index.indicators()) {
        const duban::v1::Indicator& ind = *indicator;
        const int32_t number = ind.number();
        const duban::v1::IndicatorSeries series = BuildIndicatorSeries(plan, ind, tol);
        std::vector<uint64_t> seen;  // value events up to this year
        for (const auto& p : series.points()) {
          const auto* v = plan.LatestValue(number, p.year());
          if (v != nullptr) seen.push_back(v->seq());
          if (p.judgement() != duban::v1::JUDGEMENT_OFF_TRACK) continue;
          const bool binding = ind.attribute() == duban::v1::BINDING;
          std::vector<uint64_t> facts =
              ind.target_kind() == duban::v1::CUMULATIVE ? seen : std::vector<uint64_t>{v->seq()};
          add(MakeSubject(rule, plan, 0, number, "", p.year()), std::move(facts),
              [&ind, number, binding, year = p.year(), note = p.note()] {
                return absl::StrCat("指标", number, " ", ind.name(), " ", year, "年偏离目标（",
                                    binding ? "约束性；" : "", note, "）");
              },
              binding && rule.binding_severity() != duban::v1::SEVERITY_UNSPECIFIED
                  ? rule.binding_severity()
                  : rule.severity(),
              binding && !rule.binding_policy_id().empty() ? rule.binding_policy_id()
                                                            : rule.policy_id());
        }
      }
      break;
    }
    case duban::v1::TASK_AT_RISK: {
      for (const auto& t : index.tasks()) {
        const int32_t number = t.number;
        for (int y = start; y <= end; ++y) {
          if (!t.Covers(y)) continue;
          for (size_t k = 0; k < t.reporters.size(); ++k) {
            const std::string& a = *t.reporters[k];
            const auto* r = PlanIndex::Latest(t, y, t.reporter_index[k]);
            if (r == nullptr ||
                (r->status != duban::v1::AT_RISK && r->status != duban::v1::BEHIND)) {
              continue;
            }
            plain(MakeSubject(rule, plan, number, 0, a, y), {r->seq},
                  [&plan, &index, &t, &a, r, number, y] {
                    return absl::StrCat("任务", number, " ", y, "年度进展", StatusWord(r->status),
                                        "（", ShortName(plan, a), "报告：",
                                        index.Report(t, *r).summary(), "）");
                  });
          }
        }
      }
      break;
    }
    case duban::v1::MIDTERM_GATE: {
      const int year = rule.midterm_year() != 0 ? rule.midterm_year() : start + 2;
      const auto gate = MonthDayOr(rule.gate_date(), 1, 31);
      if (now < EndOfDay(year + 1, gate)) break;
      for (const auto& t : index.tasks()) {
        const int32_t number = t.number;
        if (!t.Covers(year)) continue;
        const auto* r = PlanIndex::LatestTaskReport(t, year);
        if (r != nullptr &&
            (r->status == duban::v1::ON_TRACK || r->status == duban::v1::COMPLETED)) {
          continue;
        }
        if (t.reporters.empty()) continue;
        plain(MakeSubject(rule, plan, number, 0, *t.reporters.front(), year),
              r ? std::vector<uint64_t>{r->seq} : std::vector<uint64_t>{},
              [r, number, year] {
                return absl::StrCat("中期评估：任务", number, "未达到按计划推进（", year, "年度",
                                    r ? StatusWord(r->status) : "未报告", "）");
              });
      }
      const double share = rule.min_share_of_target() > 0 ? rule.min_share_of_target()
                                                          : kDefaultMinShare;
      for (const duban::v1::Indicator* indicator : index.indicators()) {
        const duban::v1::Indicator& ind = *indicator;
        const int32_t number = ind.number();
        if (ind.target_kind() == duban::v1::INCREASING || ind.target_kind() == duban::v1::CEILING) {
          continue;  // no share of a target to reach
        }
        double reached = 0;
        bool any = false;
        std::vector<uint64_t> facts;
        for (int y = start; y <= year; ++y) {
          const auto* v = plan.LatestValue(number, y);
          if (v == nullptr) continue;
          any = true;
          facts.push_back(v->seq());
          reached = ind.target_kind() == duban::v1::CUMULATIVE ? reached + v->value() : v->value();
        }
        if (any && reached >= share * ind.target_value()) continue;
        plain(MakeSubject(rule, plan, 0, number, "", year), std::move(facts),
              [&ind, number, share, any, reached] {
                return absl::StrCat("中期评估：指标", number, " ", ind.name(), "低于目标的",
                                    share * 100, "%（", any ? absl::StrCat("达到", reached) : "无数据",
                                    "，目标", ind.target_text(), "）");
              });
      }
      break;
    }
    default:
      break;
  }
}

std::vector<std::string> Recipients(const PlanState& plan, const Escalation& esc,
                                    const duban::v1::Rung& rung) {
  std::vector<std::string> out;
  for (int a : rung.audiences()) {
    switch (a) {
      case duban::v1::RESPONSIBLE_AGENCIES:
        for (const auto& id : ResponsibleAgencies(plan, esc)) out.push_back("agency:" + id);
        break;
      case duban::v1::SUPERVISORS:
        out.push_back("supervisor");
        break;
      case duban::v1::PROVINCIAL_GOVERNMENT:
        out.push_back("provincial-government");
        break;
      default:
        break;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The notices of reaching `rung`.
void AddNotices(const PlanState& plan, const Escalation& esc, const duban::v1::Rung& rung,
                absl::Time now, uint64_t cause_seq, std::vector<Event>* events) {
  for (const std::string& to : Recipients(plan, esc, rung)) {
    Event e;
    e.set_plan_id(plan.plan.plan_id());
    e.set_causation_seq(cause_seq);
    duban::v1::Notice* n = e.mutable_notice_issued()->mutable_notice();
    n->set_recipient(to);
    n->set_plan_id(plan.plan.plan_id());
    n->set_escalation_id(esc.id());
    n->set_level(rung.level());
    n->set_severity(esc.severity());
    n->set_title(absl::StrCat("【", LevelName(rung.level()), "】", esc.summary().substr(
                                                                     0, esc.summary().find("（"))));
    n->set_text(absl::StrCat(esc.summary(), "。督办事项 ", esc.id(), "，", Date(absl::FromUnixMicros(
                                                                           esc.opened_at_micros())),
                             "起，当前级别：", LevelName(rung.level()), "。"));
    n->set_at_micros(absl::ToUnixMicros(now));
    events->push_back(std::move(e));
  }
}

const duban::v1::EscalationPolicy* FindPolicy(const duban::v1::Ruleset& rs, const std::string& id) {
  for (const auto& p : rs.policies()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

}  // namespace

absl::TimeZone ChinaStandardTime() {
  static const absl::TimeZone* const kZone = new absl::TimeZone(absl::FixedTimeZone(8 * 60 * 60));
  return *kZone;  // looked up once: the rules ask for it per year, rule and evaluation
}

std::string RulesetSha256(const duban::v1::Ruleset& ruleset) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    ruleset.SerializeToCodedStream(&coded);
  }
  return storage::ToHex(storage::Sha256(bytes));
}

absl::Status ValidateRuleset(const duban::v1::Ruleset& rs, const PlanState& plan) {
  if (rs.policies_size() > 50 || rs.rules_size() > 200) {
    return Invalid("ruleset", "at most 50 policies and 200 rules");
  }
  std::set<std::string> policies;
  for (int i = 0; i < rs.policies_size(); ++i) {
    const auto& p = rs.policies(i);
    const std::string where = absl::StrCat("policies[", i, "] (", p.id().substr(0, 64), ")");
    RETURN_IF_ERROR(CheckId(absl::StrCat(where, ".id"), p.id()));
    if (!policies.insert(p.id()).second) return Invalid(absl::StrCat(where, ".id"), "duplicate");
    if (p.rungs_size() == 0 || p.rungs_size() > 10) {
      return Invalid(absl::StrCat(where, ".rungs"), "from 1 to 10 rungs");
    }
    for (int k = 0; k < p.rungs_size(); ++k) {
      const auto& r = p.rungs(k);
      const std::string rw = absl::StrCat(where, ".rungs[", k, "]");
      if (!duban::v1::Level_IsValid(r.level()) || r.level() == duban::v1::LEVEL_UNSPECIFIED) {
        return Invalid(absl::StrCat(rw, ".level"), "must be REMINDER, URGING, SUPERVISION or CIRCULATION");
      }
      if (k == 0 && r.after_days() != 0) {
        return Invalid(absl::StrCat(rw, ".after_days"), "the first rung is reached at once (0)");
      }
      if (k > 0 && (r.level() <= p.rungs(k - 1).level() ||
                    r.after_days() <= p.rungs(k - 1).after_days())) {
        return Invalid(rw, "levels and after_days must both rise from rung to rung");
      }
      if (r.after_days() < 0 || r.after_days() > 3650) {
        return Invalid(absl::StrCat(rw, ".after_days"), "from 0 to 3650");
      }
      if (r.audiences_size() == 0) return Invalid(absl::StrCat(rw, ".audiences"), "at least one");
      for (int a : r.audiences()) {
        if (!duban::v1::Audience_IsValid(a) || a == duban::v1::AUDIENCE_UNSPECIFIED) {
          return Invalid(absl::StrCat(rw, ".audiences"), "unknown audience");
        }
      }
    }
  }
  std::set<std::string> ids;
  for (int i = 0; i < rs.rules_size(); ++i) {
    const Rule& r = rs.rules(i);
    const std::string where = absl::StrCat("rules[", i, "] (", r.id().substr(0, 64), ")");
    RETURN_IF_ERROR(CheckId(absl::StrCat(where, ".id"), r.id()));
    if (!ids.insert(r.id()).second) return Invalid(absl::StrCat(where, ".id"), "duplicate");
    if (!duban::v1::RuleKind_IsValid(r.kind()) || r.kind() == duban::v1::RULE_KIND_UNSPECIFIED) {
      return Invalid(absl::StrCat(where, ".kind"), "unknown rule kind");
    }
    if (!duban::v1::Severity_IsValid(r.severity()) ||
        r.severity() == duban::v1::SEVERITY_UNSPECIFIED) {
      return Invalid(absl::StrCat(where, ".severity"), "must be set");
    }
    if (!policies.count(r.policy_id())) {
      return Invalid(absl::StrCat(where, ".policy_id"),
                     absl::StrCat("unknown policy \"", r.policy_id().substr(0, 64), "\""));
    }
    if (!r.binding_policy_id().empty() && !policies.count(r.binding_policy_id())) {
      return Invalid(absl::StrCat(where, ".binding_policy_id"),
                     absl::StrCat("unknown policy \"", r.binding_policy_id().substr(0, 64), "\""));
    }
    if (!duban::v1::Severity_IsValid(r.binding_severity())) {
      return Invalid(absl::StrCat(where, ".binding_severity"), "unknown severity");
    }
    if (r.has_deadline() && !ValidMonthDay(r.deadline())) {
      return Invalid(absl::StrCat(where, ".deadline"), "not a day of the year");
    }
    if (r.has_gate_date() && !ValidMonthDay(r.gate_date())) {
      return Invalid(absl::StrCat(where, ".gate_date"), "not a day of the year");
    }
    if (!std::isfinite(r.tolerance()) || r.tolerance() < 0 || r.tolerance() > 1) {
      return Invalid(absl::StrCat(where, ".tolerance"), "from 0 to 1 (0: the default 0.05)");
    }
    if (!std::isfinite(r.min_share_of_target()) || r.min_share_of_target() < 0 ||
        r.min_share_of_target() > 1) {
      return Invalid(absl::StrCat(where, ".min_share_of_target"), "from 0 to 1 (0: the default 0.5)");
    }
    if (r.midterm_year() != 0 &&
        (r.midterm_year() < plan.plan.start_year() || r.midterm_year() > plan.plan.end_year())) {
      return Invalid(absl::StrCat(where, ".midterm_year"), "outside the plan's period");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Event>> DecidePutRules(const State& state,
                                                  const duban::v1::Ruleset& ruleset,
                                                  uint32_t expected_version) {
  ASSIGN_OR_RETURN(const PlanState* plan, RequirePlan(state, ruleset.plan_id()));
  RETURN_IF_ERROR(ValidateRuleset(ruleset, *plan));
  if (expected_version != plan->rules->version()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "expected_version: the ruleset of ", ruleset.plan_id(), " is at version ",
        plan->rules->version(), ", not ", expected_version));
  }
  const std::string sha = RulesetSha256(ruleset);
  if (sha == plan->rules->content_sha256()) return std::vector<Event>{};  // unchanged
  Event e;
  e.set_plan_id(ruleset.plan_id());
  *e.mutable_ruleset_put()->mutable_ruleset() = ruleset;
  e.mutable_ruleset_put()->set_content_sha256(sha);
  e.mutable_ruleset_put()->set_version(plan->rules->version() + 1);
  return std::vector<Event>{std::move(e)};
}

std::vector<std::string> ResponsibleAgencies(const PlanState& plan, const Escalation& esc) {
  const auto& s = esc.subject();
  if (s.indicator_number() != 0) {
    const auto* ind = plan.FindIndicator(s.indicator_number());
    return ind ? std::vector<std::string>(ind->responsible_agency_ids().begin(),
                                          ind->responsible_agency_ids().end())
               : std::vector<std::string>{};
  }
  if (esc.kind() == duban::v1::REPORT_OVERDUE || esc.kind() == duban::v1::MIDTERM_GATE) {
    const auto* task = plan.FindTask(s.task_number());
    if (task != nullptr) return TaskReporters(*task);
  }
  return {s.agency_id()};
}

void Scope::AddTask(int32_t task, int32_t year) {
  auto [it, added] = tasks.try_emplace(task);
  std::set<int32_t>& years = it->second;
  if (year == 0) {
    years.clear();  // every year
  } else if (added || !years.empty()) {
    years.insert(year);
  }
}

std::vector<Event> Evaluate(const State& state, const std::string& plan_id, absl::Time now,
                            uint64_t cause_seq) {
  return EvaluateScope(state, plan_id, Scope{}, now, cause_seq);
}

std::vector<Event> EvaluateScope(const State& state, const std::string& plan_id, const Scope& scope,
                                 absl::Time now, uint64_t cause_seq) {
  std::vector<Event> events;
  const PlanState* plan = state.FindPlan(plan_id);
  if (plan == nullptr || plan->rules->version() == 0) return events;
  const duban::v1::Ruleset& rs = plan->rules->ruleset();
  const PlanIndex index(*plan, scope);
  std::map<std::string, Condition> conditions;
  for (const Rule& rule : rs.rules()) {
    if (!rule.disabled()) AddConditions(*plan, index, rule, now, &conditions);
  }
  const int64_t now_us = absl::ToUnixMicros(now);
  auto escalation_event = [&](Event e) {
    e.set_plan_id(plan_id);
    e.set_causation_seq(cause_seq);
    events.push_back(std::move(e));
  };

  // Open escalations: cleared, repeated, climbing. In a scoped evaluation
  // only those about its tasks (of their years) and indicators, found by
  // their subject keys' prefixes (rule|task| and rule|0|indicator|) and last
  // field (|year), in key order as in a full one.
  std::vector<const std::pair<const std::string, std::string>*> open;
  if (scope.all) {
    for (const auto& entry : plan->open_escalations) open.push_back(&entry);
  } else {
    auto add_prefix = [&](const std::string& prefix, const std::set<int32_t>& years) {
      for (auto it = plan->open_escalations.lower_bound(prefix);
           it != plan->open_escalations.end() && absl::StartsWith(it->first, prefix); ++it) {
        const absl::string_view key = it->first;
        int32_t year = 0;
        if (!years.empty() && (!absl::SimpleAtoi(key.substr(key.rfind('|') + 1), &year) ||
                               !years.count(year))) {
          continue;
        }
        open.push_back(&*it);
      }
    };
    for (const Rule& rule : rs.rules()) {
      for (const auto& [t, years] : scope.tasks) {
        add_prefix(absl::StrCat(rule.id(), "|", t, "|"), years);
      }
      for (int32_t i : scope.indicators) add_prefix(absl::StrCat(rule.id(), "|0|", i, "|"), {});
    }
    std::sort(open.begin(), open.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
    open.erase(std::unique(open.begin(), open.end()), open.end());
  }
  for (const auto* entry : open) {
    const std::string& key = entry->first;
    const std::string& id = entry->second;
    const Escalation& esc = *plan->escalations.at(id);
    auto c = conditions.find(key);
    if (c == conditions.end()) {
      Event e;
      auto* p = e.mutable_escalation_cleared();
      p->set_escalation_id(id);
      p->set_cleared_by_seq(cause_seq);
      p->set_at_micros(now_us);
      p->set_reason(cause_seq != 0 ? absl::StrCat("condition no longer holds after event ", cause_seq)
                                   : "condition no longer holds");
      escalation_event(std::move(e));
      continue;
    }
    if (!std::equal(esc.fact_seqs().begin(), esc.fact_seqs().end(), c->second.facts.begin(),
                    c->second.facts.end())) {
      Event e;
      auto* p = e.mutable_escalation_repeated();
      p->set_escalation_id(id);
      p->set_at_micros(now_us);
      p->set_cause_seq(cause_seq);
      for (uint64_t f : c->second.facts) p->add_fact_seqs(f);
      p->set_summary(c->second.summary());
      escalation_event(std::move(e));
    }
    const auto* policy = FindPolicy(rs, esc.policy_id());
    if (policy == nullptr) policy = FindPolicy(rs, c->second.policy_id);
    if (policy == nullptr) continue;
    const bool acknowledged = esc.state() == duban::v1::ACKNOWLEDGED;
    if (acknowledged && esc.ack_due_micros() > now_us) continue;  // paused until the due date
    // The ladder's clock: from the opening; after an acknowledgement, the
    // rungs above keep their spacing from the due date (the pause is not
    // made up for by firing every skipped rung at once).
    const auto day = absl::ToInt64Microseconds(absl::Hours(24));
    int64_t base = esc.opened_at_micros();
    if (acknowledged) {
      int current_after_days = 0;
      for (const auto& rung : policy->rungs()) {
        if (rung.level() <= esc.level()) current_after_days = rung.after_days();
      }
      base = std::max(base, esc.ack_due_micros() - current_after_days * day);
    }
    std::optional<Escalation> climbing;  // copied only when it climbs
    for (const auto& rung : policy->rungs()) {
      if (rung.level() <= (climbing ? climbing->level() : esc.level())) continue;
      const int64_t due = base + rung.after_days() * day;
      if (now_us < due) break;
      if (!climbing) climbing = esc;
      Event e;
      auto* p = e.mutable_escalation_raised();
      p->set_escalation_id(id);
      p->set_level(rung.level());
      p->set_at_micros(now_us);
      escalation_event(std::move(e));
      climbing->set_level(rung.level());
      AddNotices(*plan, *climbing, rung, now, cause_seq, &events);
    }
  }

  // New conditions: open an escalation at the first rung.
  int64_t next = plan->escalations_opened;
  for (const auto& [key, c] : conditions) {
    if (plan->open_escalations.count(key)) continue;
    auto resolved = plan->resolved_facts.find(key);
    if (resolved != plan->resolved_facts.end() && resolved->second == c.facts) continue;
    const auto* policy = FindPolicy(rs, c.policy_id);
    if (policy == nullptr || policy->rungs_size() == 0) continue;
    Escalation esc;
    esc.set_id(absl::StrCat("esc-", ++next));
    *esc.mutable_subject() = c.subject;
    esc.set_kind(c.kind);
    esc.set_severity(c.severity);
    esc.set_policy_id(c.policy_id);
    esc.set_ruleset_version(plan->rules->version());
    esc.set_level(policy->rungs(0).level());
    esc.set_opened_at_micros(now_us);
    esc.set_summary(c.summary());
    for (uint64_t f : c.facts) esc.add_fact_seqs(f);
    Event e;
    *e.mutable_escalation_opened()->mutable_escalation() = esc;
    e.mutable_escalation_opened()->set_cause_seq(cause_seq);
    escalation_event(std::move(e));
    AddNotices(*plan, esc, policy->rungs(0), now, cause_seq, &events);
  }
  return events;
}

std::vector<Event> EvaluateAll(const State& state, absl::Time now, uint64_t cause_seq) {
  std::vector<Event> out;
  for (const auto& plan_id : state.PlansWithRules()) {
    auto events = Evaluate(state, plan_id, now, cause_seq);
    out.insert(out.end(), std::make_move_iterator(events.begin()),
               std::make_move_iterator(events.end()));
  }
  return out;
}

std::vector<Event> DeriveAfter(const State& state, absl::Time now, const std::vector<Event>& cause) {
  std::map<std::string, Scope> plans;  // what the command touched, by plan
  bool clock_moved = false;
  for (const auto& e : cause) {
    if (e.has_clock_advanced()) {
      now = std::max(now, absl::FromUnixMicros(e.clock_advanced().now_micros()));
      clock_moved = true;
    }
    if (e.plan_id().empty()) continue;
    auto [it, added] = plans.try_emplace(e.plan_id());
    Scope& scope = it->second;
    if (added) scope.all = false;
    if (scope.all) continue;
    const PlanState* plan = state.FindPlan(e.plan_id());
    // The subject's task (and year) or indicator; a resolution has closed
    // its escalation already, whose subject the state keeps that much of.
    auto escalation_subject = [&](const std::string& id) -> std::optional<PlanState::ClosedEscalation> {
      if (plan == nullptr) return std::nullopt;
      auto open = plan->escalations.find(id);
      if (open != plan->escalations.end()) {
        const auto& s = open->second->subject();
        return PlanState::ClosedEscalation{s.task_number(), s.indicator_number(), s.year()};
      }
      auto closed = plan->closed_escalations.find(id);
      if (closed != plan->closed_escalations.end()) return closed->second;
      return std::nullopt;
    };
    std::optional<PlanState::ClosedEscalation> subject;
    switch (e.payload_case()) {
      case Event::kProgressReported:  // a report speaks of its year only
        scope.AddTask(e.progress_reported().report().task_number(),
                      e.progress_reported().report().year());
        break;
      case Event::kIndicatorValueReported:
        scope.indicators.insert(e.indicator_value_reported().value().indicator_number());
        break;
      case Event::kResponsibilityAssigned:
        scope.AddTask(e.responsibility_assigned().task_number(), 0);
        break;
      case Event::kResponsibilityRevoked:
        scope.AddTask(e.responsibility_revoked().task_number(), 0);
        break;
      case Event::kEscalationAcknowledged:
        subject = escalation_subject(e.escalation_acknowledged().escalation_id());
        break;
      case Event::kEscalationResolved:
        subject = escalation_subject(e.escalation_resolved().escalation_id());
        break;
      default:
        scope.all = true;  // the plan, its registry, its ruleset: everything may change
        break;
    }
    if (subject.has_value()) {
      if (subject->task_number != 0) scope.AddTask(subject->task_number, subject->year);
      if (subject->indicator_number != 0) scope.indicators.insert(subject->indicator_number);
      if (subject->task_number == 0 && subject->indicator_number == 0) scope.all = true;
    } else if (e.has_escalation_acknowledged() || e.has_escalation_resolved()) {
      scope.all = true;
    }
  }
  const uint64_t cause_seq = cause.empty() ? 0 : cause.back().seq();
  if (clock_moved) return EvaluateAll(state, now, cause_seq);
  std::vector<Event> out;
  for (const auto& [plan, scope] : plans) {
    auto events = EvaluateScope(state, plan, scope, now, cause_seq);
    out.insert(out.end(), std::make_move_iterator(events.begin()),
               std::make_move_iterator(events.end()));
  }
  return out;
}

bool IsDerived(const Event& e) {
  return e.has_escalation_opened() || e.has_escalation_raised() || e.has_escalation_repeated() ||
         e.has_escalation_cleared() || e.has_notice_issued();
}

namespace {

// An event as the engine decides it: without what the sequencer stamps.
std::string Decided(Event e) {
  e.clear_seq();
  e.clear_recorded_at_micros();
  e.clear_principal();
  e.clear_request_id();
  e.clear_prev_hash();
  return e.SerializeAsString();
}

}  // namespace

std::vector<DerivationDifference> CheckDerivations(
    const std::function<bool(const std::function<bool(const Event&)>&)>& read_all) {
  std::vector<DerivationDifference> out;
  State state;
  std::vector<Event> command;  // the current command's own events
  std::vector<Event> derived;  // the derived run after it
  auto differ = [&](uint64_t seq, std::string problem) {
    if (out.size() < 100) out.push_back({seq, std::move(problem)});
  };
  // Checks the derived run that followed `command` (possibly empty).
  auto settle = [&]() {
    if (command.empty() && derived.empty()) return;
    std::vector<Event> expected;
    if (!derived.empty() && derived.front().causation_seq() == 0) {
      // An evaluation with no cause (a tick, Evaluate): the run's plans at its time.
      std::set<std::string> plans;
      for (const auto& e : derived) plans.insert(e.plan_id());
      const absl::Time at = absl::FromUnixMicros(derived.front().recorded_at_micros());
      for (const auto& plan : plans) {  // (the run is not applied yet)
        auto events = Evaluate(state, plan, at, 0);
        expected.insert(expected.end(), events.begin(), events.end());
      }
    } else if (!command.empty()) {
      expected = DeriveAfter(state, absl::FromUnixMicros(command.back().recorded_at_micros()),
                             command);
    }
    const size_t n = std::max(expected.size(), derived.size());
    for (size_t i = 0; i < n; ++i) {
      if (i >= derived.size()) {
        differ(command.empty() ? 0 : command.back().seq(),
               absl::StrCat("the rules would also derive ",
                            expected[i].GetDescriptor()->FindFieldByNumber(
                                expected[i].payload_case())->name(),
                            " here, which the log does not have"));
        break;
      }
      if (i >= expected.size() || Decided(expected[i]) != Decided(derived[i])) {
        differ(derived[i].seq(), "this derived event is not what the rules give at its time");
        break;
      }
    }
    for (const auto& e : derived) {
      if (!state.Apply(e).ok()) differ(e.seq(), "does not apply");
    }
    command.clear();
    derived.clear();
  };
  read_all([&](const Event& e) {
    if (IsDerived(e)) {
      if (!derived.empty() && (e.causation_seq() != derived.back().causation_seq() ||
                               e.recorded_at_micros() != derived.back().recorded_at_micros())) {
        settle();  // a new run
      } else if (derived.empty() && !command.empty() && e.causation_seq() != command.back().seq()) {
        settle();  // not this command's
      }
      derived.push_back(e);
      return true;
    }
    // A new command starts when who, request or time changes.
    if (!derived.empty() ||
        (!command.empty() && (e.principal() != command.back().principal() ||
                              e.request_id() != command.back().request_id() ||
                              e.recorded_at_micros() != command.back().recorded_at_micros()))) {
      settle();
    }
    if (!state.Apply(e).ok()) differ(e.seq(), "does not apply");
    command.push_back(e);
    return true;
  });
  settle();
  return out;
}

namespace {

absl::Status EscalationNotFound(const PlanState& plan, const std::string& id) {
  return absl::NotFoundError(absl::StrCat("escalation \"", id, "\" not found in plan \"",
                                          plan.plan.plan_id(), "\""));
}

}  // namespace

absl::StatusOr<Escalation> RequireEscalation(const PlanState& plan, const std::string& id,
                                             const EventLoader& load, bool with_timeline) {
  RETURN_IF_ERROR(CheckId("escalation_id", id));
  absl::StatusOr<Escalation> found =
      with_timeline ? plan.WithTimeline(id, load) : plan.FindEscalation(id, load);
  if (absl::IsNotFound(found.status())) return EscalationNotFound(plan, id);
  return found;
}

namespace {

// An open (or acknowledged) escalation: the state keeps those.
absl::StatusOr<const Escalation*> RequireOpen(const State& state, const std::string& plan_id,
                                              const std::string& id) {
  ASSIGN_OR_RETURN(const PlanState* plan, RequirePlan(state, plan_id));
  RETURN_IF_ERROR(CheckId("escalation_id", id));
  if (plan->closed_escalations.count(id)) {
    return absl::FailedPreconditionError(absl::StrCat("escalation ", id, " is already closed"));
  }
  auto it = plan->escalations.find(id);
  if (it == plan->escalations.end()) return EscalationNotFound(*plan, id);
  return &*it->second;
}

}  // namespace

absl::StatusOr<std::vector<Event>> DecideAcknowledge(const State& state,
                                                     const duban::v1::AcknowledgeRequest& req,
                                                     absl::Time now) {
  ASSIGN_OR_RETURN(const Escalation* esc, RequireOpen(state, req.plan_id(), req.escalation_id()));
  if (esc->state() == duban::v1::ACKNOWLEDGED &&
      esc->ack_due_micros() > absl::ToUnixMicros(now)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "escalation ", esc->id(), " is acknowledged until ",
        Date(absl::FromUnixMicros(esc->ack_due_micros())),
        ": a new acknowledgement may follow only once that date has passed"));
  }
  RETURN_IF_ERROR(CheckText("measures", req.measures(), {kMaxMeasuresBytes, true, true}));
  const int64_t now_us = absl::ToUnixMicros(now);
  if (req.due_micros() <= now_us ||
      req.due_micros() > now_us + absl::ToInt64Microseconds(absl::Hours(24 * 366))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "due_micros: the due date must be after now (", Date(now), ") and within a year"));
  }
  Event e;
  e.set_plan_id(req.plan_id());
  auto* p = e.mutable_escalation_acknowledged();
  p->set_escalation_id(esc->id());
  p->set_measures(req.measures());
  p->set_due_micros(req.due_micros());
  p->set_at_micros(now_us);
  return std::vector<Event>{std::move(e)};
}

absl::StatusOr<std::vector<Event>> DecideResolve(const State& state,
                                                 const duban::v1::ResolveRequest& req,
                                                 absl::Time now) {
  ASSIGN_OR_RETURN(const Escalation* esc, RequireOpen(state, req.plan_id(), req.escalation_id()));
  RETURN_IF_ERROR(CheckText("reason", req.reason(), {kMaxReasonBytes, true, true}));
  Event e;
  e.set_plan_id(req.plan_id());
  auto* p = e.mutable_escalation_resolved();
  p->set_escalation_id(esc->id());
  p->set_reason(req.reason());
  p->set_at_micros(absl::ToUnixMicros(now));
  return std::vector<Event>{std::move(e)};
}

}  // namespace duban::engine
