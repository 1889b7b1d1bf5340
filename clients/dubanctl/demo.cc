// `dubanctl demo` (see demo.h).
#include "clients/dubanctl/demo.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "clients/dubanctl/client.h"
#include "clients/dubanctl/format.h"
#include "clients/dubanctl/token.h"

namespace duban::clients {
namespace {

constexpr char kNewUrbanJobs[] = "城镇新增就业";
constexpr char kYearsOfSchooling[] = "劳动年龄人口平均受教育年限";

// 城镇新增就业: each year's share of the five-year target. The running total
// (0.17, 0.30, 0.55, 0.80, 1.02) is below the pro-rata share (0.2, 0.4,
// 0.6, …) less 5% for three years, then on track.
constexpr double kNewJobShares[] = {0.17, 0.13, 0.25, 0.25, 0.22};
// 劳动年龄人口平均受教育年限: each year's distance from the floor.
constexpr double kSchoolingOffsets[] = {-0.3, -0.1, 0.1, 0.2, 0.3};
constexpr double kDemoTolerance = 0.05;  // the server's default

double Round2(double value) { return std::round(value * 100) / 100; }

template <size_t N>
double At(const double (&values)[N], int i) {
  return values[std::clamp(i, 0, static_cast<int>(N) - 1)];
}

// A value on track for the indicator's target kind.
double OnTrackValue(const v1::Indicator& indicator, int start_year,
                    int end_year, int year) {
  const int years = std::max(1, end_year - start_year + 1);
  const double target = indicator.target_value();
  const bool has_baseline = indicator.has_baseline();
  const double base = indicator.baseline().value();
  switch (indicator.target_kind()) {
    case v1::CUMULATIVE:
      return target / years * 1.04;
    case v1::LEVEL: {
      const int base_year =
          has_baseline ? indicator.baseline().year() : start_year - 1;
      if (has_baseline && end_year > base_year) {
        const double line = base + (target - base) * (year - base_year) /
                                       (end_year - base_year);
        return line + 0.01 * (target - base);  // a little ahead of the line
      }
      return target * (1 - 0.01 * (end_year - year));
    }
    case v1::FLOOR:
      return target == 0 ? 1 : target * 1.01;
    case v1::AROUND:
      return target;
    case v1::CEILING:
      return target * 0.95;
    case v1::INCREASING:
      return (has_baseline ? base : 50) + 0.5 * (year - start_year + 1);
    default:
      return target;
  }
}

int64_t CstMicrosAt(const absl::CivilSecond& second) {
  return absl::ToUnixMicros(absl::FromCivil(second, ChinaStandardTime()));
}

absl::CivilSecond CstCivil(int64_t micros) {
  return absl::ToCivilSecond(absl::FromUnixMicros(micros), ChinaStandardTime());
}

// Runs `jobs` on `workers` threads; the first error, if any.
absl::Status RunParallel(const std::vector<std::function<absl::Status()>>& jobs,
                         int workers) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  absl::Status first = absl::OkStatus();
  const auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      absl::Status status = jobs[i]();
      if (status.ok()) continue;
      std::lock_guard<std::mutex> lock(mutex);
      if (first.ok()) first = std::move(status);
      next = jobs.size();  // stop the others soon
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();
  return first;
}

// `status` with what the demo was doing in front of its message.
absl::Status Context(const absl::Status& status, const std::string& doing) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(doing, ": ", status.message()));
}

// Lines to `out`, one writer at a time (the narration and the watcher).
class Printer {
 public:
  explicit Printer(std::ostream& out) : out_(out) {}
  void Line(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    out_ << line << "\n";
    out_.flush();
  }

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

// An agency's own credential and the clients using it.
struct Agent {
  std::unique_ptr<ReportingClient> reporting;
  std::unique_ptr<SupervisionClient> supervision;
};

// The agencies the demo holds credentials of, by short name: the
// convening departments of 督促检查 and the leads of the late tasks.
constexpr const char* kDemoAgencies[] = {"省教育厅", "省发展改革委",
                                         "省人力资源社会保障厅", "省统计局"};

class Demo {
 public:
  Demo(const std::shared_ptr<grpc::Channel>& channel,
       const std::string& admin_token, const DemoOptions& options,
       std::ostream& out)
      : channel_(channel),
        options_(options),
        settings_(admin_token, options.timeout),
        printer_(out),
        assignment_(channel, settings_),
        reporting_(channel, settings_),
        admin_(channel, settings_),
        supervision_(channel, settings_),
        agencies_(v1::ListAgenciesResponse()) {}

  ~Demo() { StopWatch(); }

  absl::Status Run() {
    if (absl::Status s = Prepare(); !s.ok()) return s;
    if (absl::Status s = IssueCredentials(); !s.ok()) return s;
    StartWatch();
    for (int year = plan_.start_year(); year <= plan_.end_year(); ++year) {
      if (absl::Status s = PlayYear(year); !s.ok()) return s;
    }
    return Finish();
  }

 private:
  // ---- narration

  void Say(const std::string& text) {
    printer_.Line(absl::StrCat("[", CstMinutes(now_), " CST] ", text));
  }
  void Detail(const std::string& text) {
    printer_.Line(absl::StrCat("    ", text));
  }
  void Blank() { printer_.Line(""); }

  // A pause so that a person can follow, then time for the notices that the
  // last step caused to arrive.
  void Pause() {
    std::this_thread::sleep_for(std::chrono::milliseconds(
        static_cast<int64_t>(800 / std::max(options_.speed, 0.01))));
  }
  void Settle() {
    using std::chrono::milliseconds;
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(milliseconds(150));
    while (std::chrono::steady_clock::now() - start < milliseconds(3000)) {
      const int64_t last = last_notice_ns_.load();
      const int64_t now_ns =
          std::chrono::steady_clock::now().time_since_epoch().count();
      if (now_ns - last >=
          std::chrono::nanoseconds(milliseconds(300)).count()) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  std::string RequestId() {
    return absl::StrCat("demo-", request_prefix_, "-", ++requests_);
  }

  std::string Name(const std::string& agency_id) const {
    return agencies_.ShortName(agency_id);
  }

  // ---- setup

  absl::Status Prepare() {
    absl::StatusOr<v1::Clock> clock =
        supervision_.GetClock(v1::GetClockRequest());
    if (!clock.ok()) {
      return Context(clock.status(), "asking the server for its clock");
    }
    now_ = clock->now_micros();
    if (!clock->simulated()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the server runs on the system clock (", CstTime(now_),
          "); the demo moves time, so it needs a server of its own with a "
          "simulated clock, e.g.\n  duband --data_dir /tmp/duban-demo "
          "--simulated_clock=2021-12-01T00:00:00+08:00\nthen: dubanctl "
          "--data-dir /tmp/duban-demo demo"));
    }
    absl::StatusOr<std::string> prefix = RandomHex(6);
    if (!prefix.ok()) return prefix.status();
    request_prefix_ = *prefix;

    v1::GetPlanRequest plan_request;
    plan_request.set_plan_id(options_.plan_id);
    absl::StatusOr<v1::Plan> plan = assignment_.GetPlan(plan_request);
    if (!plan.ok()) return Context(plan.status(), "reading the plan");
    plan_ = *std::move(plan);
    if (plan_.start_year() == 0 || plan_.end_year() < plan_.start_year()) {
      return absl::FailedPreconditionError(
          absl::StrCat("plan ", plan_.plan_id(), " has no period"));
    }

    if (absl::Status s = LoadRules(); !s.ok()) return s;
    const absl::CivilDay first_deadline(plan_.start_year() + 1,
                                        schedule_.deadline_month,
                                        schedule_.deadline_day);
    if (now_ >= CstMicrosAt(absl::CivilSecond(first_deadline))) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the server's simulated clock is at ", CstTime(now_),
          ", past the first reporting deadline (",
          absl::FormatCivilTime(first_deadline),
          "): start a fresh server (an empty data folder) whose clock starts "
          "in ",
          plan_.start_year(),
          ", e.g. duband --data_dir /tmp/duban-demo "
          "--simulated_clock=",
          plan_.start_year(), "-12-01T00:00:00+08:00"));
    }

    v1::ListAgenciesRequest agencies_request;
    agencies_request.set_plan_id(plan_.plan_id());
    absl::StatusOr<v1::ListAgenciesResponse> agencies =
        assignment_.ListAgencies(agencies_request);
    if (!agencies.ok()) return Context(agencies.status(), "listing agencies");
    agencies_ = AgencyDirectory(*std::move(agencies));

    v1::ListTasksRequest tasks_request;
    tasks_request.set_plan_id(plan_.plan_id());
    tasks_request.set_page_size(500);
    absl::StatusOr<std::vector<v1::Task>> tasks =
        assignment_.ListAllTasks(tasks_request);
    if (!tasks.ok()) return Context(tasks.status(), "listing tasks");
    tasks_ = *std::move(tasks);

    v1::ListIndicatorsRequest indicators_request;
    indicators_request.set_plan_id(plan_.plan_id());
    absl::StatusOr<v1::ListIndicatorsResponse> indicators =
        assignment_.ListIndicators(indicators_request);
    if (!indicators.ok()) {
      return Context(indicators.status(), "listing indicators");
    }
    for (const v1::Indicator& indicator : indicators->indicators()) {
      indicators_.push_back(indicator);
      indicator_names_[indicator.number()] = indicator.name();
    }

    Say(absl::StrCat("The demo plays ",
                     plan_.title().empty() ? plan_.plan_id() : plan_.title(),
                     " (", plan_.start_year(), "-", plan_.end_year(), ": ",
                     tasks_.size(), " tasks, ", indicators_.size(),
                     " indicators) on a simulated clock."));
    Detail(absl::StrCat("Reports for year Y are due by ",
                        absl::StrFormat("%02d-%02d", schedule_.deadline_month,
                                        schedule_.deadline_day),
                        " of Y+1; the demo looks again ",
                        absl::StrJoin(schedule_.days_after, ", "),
                        " days after it, when the rungs are reached."));
    return absl::OkStatus();
  }

  // Reads the ruleset, putting one first if the server has none.
  absl::Status LoadRules() {
    v1::GetRulesRequest request;
    request.set_plan_id(plan_.plan_id());
    absl::StatusOr<v1::RulesetVersion> rules = supervision_.GetRules(request);
    if (!rules.ok()) return Context(rules.status(), "reading the ruleset");
    if (rules->version() == 0) {
      std::string path = options_.rules_file;
      if (path.empty()) {
        path = absl::StrCat("plans/", plan_.plan_id(), "/rules.textproto");
        if (!std::filesystem::exists(path)) {
          return absl::FailedPreconditionError(absl::StrCat(
              "plan ", plan_.plan_id(),
              " has no ruleset on the server and there is no ", path,
              " here: put one first (dubanctl rules put FILE "
              "--expect-version 0) or give demo --rules FILE"));
        }
      }
      absl::StatusOr<std::string> text = ReadWholeFile(path);
      if (!text.ok()) return text.status();
      v1::PutRulesRequest put;
      put.set_request_id(RequestId());
      put.set_expected_version(0);
      if (absl::Status s = ParseTextProto(*text, path, put.mutable_ruleset());
          !s.ok()) {
        return s;
      }
      if (put.ruleset().plan_id().empty()) {
        put.mutable_ruleset()->set_plan_id(plan_.plan_id());
      }
      rules = supervision_.PutRules(put);
      if (!rules.ok()) return Context(rules.status(), "putting " + path);
      Say(absl::StrCat("The server had no ruleset: put ", path, "."));
    }
    rules_ = *std::move(rules);
    schedule_ = ScheduleFor(rules_.ruleset());
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Issue(const std::string& principal, bool agency) {
    absl::StatusOr<std::string> token = NewBearerToken();
    if (!token.ok()) return token.status();
    v1::IssueCredentialRequest request;
    request.set_request_id(RequestId());
    request.set_principal(principal);
    request.set_token_sha256(Sha256Hex(*token));
    request.set_label("dubanctl demo");
    if (agency) request.set_plan_id(plan_.plan_id());
    absl::StatusOr<v1::Credential> credential = admin_.IssueCredential(request);
    if (!credential.ok()) {
      return Context(credential.status(),
                     absl::StrCat("issuing a credential for ", principal,
                                  " (the demo needs the admin token)"));
    }
    return token;
  }

  absl::Status IssueCredentials() {
    absl::StatusOr<std::string> supervisor = Issue(kSupervisorRecipient, false);
    if (!supervisor.ok()) return supervisor.status();
    supervisor_ = std::make_unique<SupervisionClient>(
        channel_, CallSettings(*supervisor, options_.timeout));
    watcher_ = std::make_unique<SupervisionClient>(
        channel_, CallSettings(*supervisor, options_.timeout));
    std::vector<std::string> names;
    for (const char* name : kDemoAgencies) {
      absl::StatusOr<std::string> id =
          ResolveAgency(agencies_.response(), name);
      if (!id.ok()) continue;  // another plan: fewer agencies of its own
      absl::StatusOr<std::string> token = Issue(AgencyPrincipal(*id), true);
      if (!token.ok()) return token.status();
      const CallSettings settings(*token, options_.timeout);
      Agent& agent = agents_[*id];
      agent.reporting = std::make_unique<ReportingClient>(channel_, settings);
      agent.supervision =
          std::make_unique<SupervisionClient>(channel_, settings);
      held_.push_back(*id);
      names.push_back(name);
    }
    Say(absl::StrCat("Credentials issued: a supervisor, and ", names.size(),
                     " agencies that report with their own tokens (",
                     absl::StrJoin(names, ", "),
                     "); admin reports for the others on their behalf."));
    return absl::OkStatus();
  }

  // ---- the supervisor's watch

  void StartWatch() {
    Say("The supervisor starts watching notices (WatchNotices, recipient "
        "\"supervisor\"); they appear below as ▸ lines as they arrive.");
    watch_thread_ = std::thread([this] {
      ResumeOptions resume;
      resume.initial_backoff = std::chrono::milliseconds(200);
      resume.max_backoff = std::chrono::milliseconds(2000);
      watch_status_ = watcher_->WatchResuming(
          kSupervisorRecipient, 0,
          [this](const v1::Notice& notice) {
            ++notices_;
            last_notice_ns_ =
                std::chrono::steady_clock::now().time_since_epoch().count();
            printer_.Line(absl::StrCat("    ▸ ", FormatNotice(notice)));
          },
          resume, &canceller_);
    });
  }

  void StopWatch() {
    if (!watch_thread_.joinable()) return;
    canceller_.Cancel();
    watch_thread_.join();
  }

  // ---- escalations

  absl::StatusOr<std::vector<v1::Escalation>> Escalations(
      v1::ListEscalationsRequest request) {
    request.set_plan_id(plan_.plan_id());
    absl::StatusOr<v1::ListEscalationsResponse> response =
        supervision_.ListEscalations(request);
    if (!response.ok()) {
      return Context(response.status(), "listing escalations");
    }
    return std::vector<v1::Escalation>(response->escalations().begin(),
                                       response->escalations().end());
  }

  // Prints what changed in the escalations since the last look.
  absl::Status ShowChanges() {
    Settle();
    absl::StatusOr<std::vector<v1::Escalation>> all =
        Escalations(v1::ListEscalationsRequest());
    if (!all.ok()) return all.status();
    // In the order they opened: esc-9 before esc-10.
    std::stable_sort(all->begin(), all->end(),
                     [](const v1::Escalation& a, const v1::Escalation& b) {
                       return std::make_pair(a.id().size(), a.id()) <
                              std::make_pair(b.id().size(), b.id());
                     });
    const std::vector<std::string> lines =
        DescribeEscalationChanges(known_, *all, agencies_, indicator_names_);
    constexpr size_t kMaxLines = 12;
    if (lines.empty()) Detail("escalations: no change");
    for (size_t i = 0; i < lines.size() && i < kMaxLines; ++i) {
      Detail(lines[i]);
    }
    if (lines.size() > kMaxLines) {
      Detail(absl::StrCat("… and ", lines.size() - kMaxLines, " more"));
    }
    known_.clear();
    for (v1::Escalation& e : *all) known_[e.id()] = std::move(e);
    return absl::OkStatus();
  }

  std::vector<v1::Escalation> Known() const {
    std::vector<v1::Escalation> escalations;
    for (const auto& [id, e] : known_) escalations.push_back(e);
    return escalations;
  }

  // ---- time

  // "+6w6d": how far the clock moves, in days when a day or more.
  static std::string Step(int64_t micros) {
    const int64_t hours = micros / (3600 * int64_t{1000000});
    if (hours < 24) return DurationText(absl::Microseconds(micros));
    return absl::StrCat(hours / 24, "d",
                        hours % 24 == 0 ? "" : absl::StrCat(hours % 24, "h"));
  }

  // Moves the server's clock to `micros` (when later than now), saying so
  // first so that the notices it causes print after.
  absl::Status AdvanceTo(int64_t micros, const std::string& why) {
    Pause();
    Blank();
    if (micros <= now_) {
      Say(why);
      return absl::OkStatus();
    }
    const int64_t by = micros - now_;
    now_ = micros;
    Say(absl::StrCat("Clock +", Step(by), ". ", why));
    v1::AdvanceClockRequest request;
    request.set_request_id(RequestId());
    request.set_to_micros(micros);
    absl::StatusOr<v1::Clock> clock = supervision_.AdvanceClock(request);
    if (!clock.ok()) return Context(clock.status(), "advancing the clock");
    now_ = clock->now_micros();
    return absl::OkStatus();
  }

  // ---- reports

  // A report by `agency_id` on `task` for `year`: with its own credential
  // when the demo holds it, else by admin on its behalf.
  absl::Status Report(int task, int year, const std::string& agency_id,
                      v1::ProgressStatus status, const std::string& summary,
                      std::optional<double> percent) {
    v1::SubmitProgressRequest request;
    request.set_request_id(RequestId());
    request.set_plan_id(plan_.plan_id());
    request.set_task_number(task);
    request.set_year(year);
    request.set_status(status);
    request.set_summary(summary);
    if (percent.has_value()) request.set_percent_complete(*percent);
    const ReportingClient* client = &reporting_;
    auto agent = agents_.find(agency_id);
    if (agent != agents_.end()) {
      client = agent->second.reporting.get();
    } else {
      request.set_agency_id(agency_id);
    }
    return Context(client->SubmitProgress(request).status(),
                   absl::StrCat("reporting task ", task, " for ", year, " as ",
                                Name(agency_id)));
  }

  absl::Status ReportValue(const v1::Indicator& indicator, int year,
                           double value) {
    if (indicator.responsible_agency_ids().empty()) return absl::OkStatus();
    const std::string& agency_id = indicator.responsible_agency_ids(0);
    v1::SubmitIndicatorValueRequest request;
    request.set_request_id(RequestId());
    request.set_plan_id(plan_.plan_id());
    request.set_indicator_number(indicator.number());
    request.set_year(year);
    request.set_value(value);
    request.set_source_note(absl::StrCat(year, "年统计数据（演示）"));
    const ReportingClient* client = &reporting_;
    auto agent = agents_.find(agency_id);
    if (agent != agents_.end()) {
      client = agent->second.reporting.get();
    } else {
      request.set_agency_id(agency_id);
    }
    return Context(client->SubmitIndicatorValue(request).status(),
                   absl::StrCat("reporting indicator ", indicator.number(),
                                " for ", year));
  }

  // December: every task's report but the late ones, every contribution,
  // every indicator value.
  absl::Status SubmitYear(int year, const std::vector<LateTask>& late,
                          std::optional<int> at_risk) {
    std::set<int> late_numbers;
    for (const LateTask& t : late) late_numbers.insert(t.task);
    const double percent =
        std::min(100.0, 100.0 * (year - plan_.start_year() + 1) /
                            (plan_.end_year() - plan_.start_year() + 1));
    std::vector<std::function<absl::Status()>> jobs;
    int reports = 0;
    int contributions = 0;
    int own = 0;
    for (const v1::Task& task : tasks_) {
      const std::vector<std::string> reporters = TaskReporters(task);
      const int number = task.number();
      if (late_numbers.count(number) == 0) {
        for (const std::string& agency : reporters) {
          const bool risky = at_risk == number;
          jobs.push_back([=] {
            return Report(number, year, agency,
                          risky ? v1::AT_RISK : v1::ON_TRACK,
                          risky ? absl::StrCat(year,
                                               "年度部分项目资金到位滞后，"
                                               "进度存在风险")
                                : absl::StrCat(year, "年度工作按计划推进"),
                          percent);
          });
          ++reports;
          if (agents_.count(agency) > 0) ++own;
        }
      }
      std::set<std::string> seen(reporters.begin(), reporters.end());
      for (const v1::Responsibility& r : task.responsibilities()) {
        if (!seen.insert(r.agency_id()).second) continue;
        const std::string agency = r.agency_id();
        jobs.push_back([=] {
          return Report(number, year, agency, v1::ON_TRACK,
                        absl::StrCat(year, "年度配合工作已完成"), std::nullopt);
        });
        ++contributions;
        if (agents_.count(agency) > 0) ++own;
      }
    }
    std::vector<std::string> lagging;
    for (const v1::Indicator& indicator : indicators_) {
      const DemoValue value = DemoIndicatorValue(indicator, plan_.start_year(),
                                                 plan_.end_year(), year);
      jobs.push_back([=, &indicator] {
        return ReportValue(indicator, year, value.value);
      });
      if (value.lagging) {
        lagging.push_back(
            absl::StrCat(indicator.number(), " ", indicator.name(), " ",
                         FormatNumber(value.value), indicator.unit(), " (",
                         value.note, ")"));
      }
    }
    const int task_count = static_cast<int>(tasks_.size());
    Say(absl::StrCat("The agencies report on ", year, ": ",
                     task_count - static_cast<int>(late.size()), " of ",
                     task_count, " tasks (", reports,
                     " reports from their leads), ", contributions,
                     " contributions from the agencies that share or support "
                     "them, ",
                     indicators_.size(), " indicator values."));
    if (absl::Status s = RunParallel(jobs, 4); !s.ok()) return s;
    std::vector<std::string> late_names;
    for (const LateTask& t : late) {
      late_names.push_back(
          absl::StrCat("task ", t.task, " (", Name(t.agency_id), ")"));
    }
    if (!late_names.empty()) {
      Detail(
          absl::StrCat("not reported yet: ", absl::StrJoin(late_names, ", ")));
    }
    if (at_risk.has_value()) {
      Detail(absl::StrCat("task ", *at_risk,
                          ": its lead reports 有风险 (at risk)"));
    }
    for (const std::string& line : lagging)
      Detail("lagging: indicator " + line);
    return ShowChanges();
  }

  // ---- what agencies and supervisors do about escalations

  absl::StatusOr<std::optional<v1::Escalation>> OpenEscalationOf(
      const LateTask& late, int year) {
    v1::ListEscalationsRequest request;
    request.set_task_number(late.task);
    request.set_year(year);
    request.set_open_only(true);
    absl::StatusOr<std::vector<v1::Escalation>> open = Escalations(request);
    if (!open.ok()) return open.status();
    for (const v1::Escalation& e : *open) {
      if (e.kind() == v1::REPORT_OVERDUE && e.state() == v1::OPEN) return e;
    }
    return std::optional<v1::Escalation>();
  }

  absl::Status Acknowledge(const LateTask& late, int year) {
    absl::StatusOr<std::optional<v1::Escalation>> e =
        OpenEscalationOf(late, year);
    if (!e.ok()) return e.status();
    Pause();
    if (!e->has_value()) {
      Say(absl::StrCat("No open escalation for task ", late.task,
                       " to acknowledge (does the ruleset watch reports?)."));
      return absl::OkStatus();
    }
    // Due a week after the year's last look: the pause shows all year.
    const absl::CivilDay due = absl::CivilDay(CstCivil(last_look_)) + 7;
    v1::AcknowledgeRequest request;
    request.set_request_id(RequestId());
    request.set_plan_id(plan_.plan_id());
    request.set_escalation_id((*e)->id());
    request.set_measures(absl::StrCat("明确专人负责，",
                                      absl::FormatCivilTime(due), "前补报",
                                      year, "年度进展报告并说明逾期原因"));
    request.set_due_micros(
        CstMicrosAt(absl::CivilSecond(due) + (24 * 60 * 60 - 1)));
    auto agent = agents_.find(late.agency_id);
    const SupervisionClient& client =
        agent != agents_.end() ? *agent->second.supervision : supervision_;
    Blank();
    Say(absl::StrCat(Name(late.agency_id), " acknowledges (签收) ",
                     request.escalation_id(), " on task ", late.task,
                     " with its rectification measures (整改措施), due ",
                     absl::FormatCivilTime(due),
                     ": the escalation stops climbing until then."));
    absl::StatusOr<v1::Escalation> acknowledged = client.Acknowledge(request);
    if (!acknowledged.ok()) {
      return Context(acknowledged.status(),
                     "acknowledging " + request.escalation_id());
    }
    acknowledged_.push_back(acknowledged->id());
    return ShowChanges();
  }

  absl::Status ReportLate(const LateTask& late, int year) {
    Pause();
    Blank();
    Say(absl::StrCat(Name(late.agency_id), " submits its ", year,
                     " report on task ", late.task,
                     ", late: the escalation should close by itself (销号)."));
    if (absl::Status s =
            Report(late.task, year, late.agency_id, v1::ON_TRACK,
                   absl::StrCat(year, "年度工作已完成（补报）"), std::nullopt);
        !s.ok()) {
      return s;
    }
    return ShowChanges();
  }

  // 办结: the supervisor closes the longest-open escalation on a late report.
  absl::Status ResolveOldest() {
    const v1::Escalation* oldest = nullptr;
    for (const auto& [id, e] : known_) {
      if (!IsOpen(e.state()) || e.kind() != v1::REPORT_OVERDUE) continue;
      if (oldest == nullptr ||
          e.opened_at_micros() < oldest->opened_at_micros()) {
        oldest = &e;
      }
    }
    if (oldest == nullptr) return absl::OkStatus();
    Pause();
    v1::ResolveRequest request;
    request.set_request_id(RequestId());
    request.set_plan_id(plan_.plan_id());
    request.set_escalation_id(oldest->id());
    request.set_reason("经核查，该项任务已调整并入省政府专项督查，予以办结");
    Blank();
    Say(absl::StrCat("The supervisor resolves (办结) ", oldest->id(), " (",
                     SubjectText(oldest->subject(), indicator_names_), ", ",
                     oldest->subject().year(), ") with a reason."));
    absl::StatusOr<v1::Escalation> resolved = supervisor_->Resolve(request);
    if (!resolved.ok()) {
      return Context(resolved.status(), "resolving " + request.escalation_id());
    }
    return ShowChanges();
  }

  // ---- a year

  absl::Status PlayYear(int year) {
    const int index = year - plan_.start_year();
    const std::vector<LateTask> late = PickLateTasks(tasks_, held_, index);
    std::optional<int> at_risk;
    if (index == 1 && held_.size() >= 3) {
      at_risk = PickAtRiskTask(tasks_, held_[2], late, index);
    }
    Blank();
    printer_.Line(absl::StrCat("==== ", year, " ", std::string(60, '=')));
    if (absl::Status s =
            AdvanceTo(CstMicrosAt(absl::CivilSecond(year, 12, 15, 10, 0, 0)),
                      absl::StrCat("December ", year,
                                   ": the year's reports are being "
                                   "written."));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = SubmitYear(year, late, at_risk); !s.ok()) return s;

    last_look_ = CstMicrosAt(
        absl::CivilSecond(absl::CivilDay(year + 1, schedule_.deadline_month,
                                         schedule_.deadline_day) +
                          1) +
        10 * 3600 + schedule_.days_after.back() * 24 * 3600 + 3600);
    const absl::CivilSecond past_deadline =
        absl::CivilSecond(absl::CivilDay(year + 1, schedule_.deadline_month,
                                         schedule_.deadline_day) +
                          1) +
        10 * 3600;
    absl::Status status = AdvanceTo(
        CstMicrosAt(past_deadline),
        absl::StrCat("The deadline for ", year,
                     " reports has passed: the rules run (提醒 for what is "
                     "missing)."));
    if (!status.ok()) return status;
    if (absl::Status s = ShowChanges(); !s.ok()) return s;

    for (size_t step = 0; step < schedule_.days_after.size(); ++step) {
      const int days = schedule_.days_after[step];
      status = AdvanceTo(
          CstMicrosAt(past_deadline + days * 24 * 3600 + 3600),
          absl::StrCat(days,
                       " days after the deadline: open escalations climb."));
      if (!status.ok()) return status;
      if (absl::Status s = ShowChanges(); !s.ok()) return s;
      for (const LateTask& t : late) {
        const bool ack_now =
            t.fate == LateTask::Fate::kAcknowledged && step == 0;
        const bool report_now =
            t.fate == LateTask::Fate::kReportedLate &&
            step == std::min<size_t>(1, schedule_.days_after.size() - 1);
        if (ack_now) {
          if (absl::Status s = Acknowledge(t, year); !s.ok()) return s;
        }
        if (report_now) {
          if (absl::Status s = ReportLate(t, year); !s.ok()) return s;
        }
      }
    }
    for (const std::string& id : acknowledged_) {
      auto it = known_.find(id);
      if (it != known_.end() && it->second.state() == v1::ACKNOWLEDGED) {
        Detail(absl::StrCat(id, " (",
                            SubjectText(it->second.subject(), indicator_names_),
                            ") stays at ", LevelLabel(it->second.level()),
                            ": acknowledged until ",
                            CstDate(it->second.ack_due_micros()), "."));
      }
    }
    if (year == plan_.end_year()) {
      if (absl::Status s = ResolveOldest(); !s.ok()) return s;
    }
    Blank();
    Say(absl::StrCat("After ", year, ": ", FormatLevelSummary(Known()), "."));
    return absl::OkStatus();
  }

  absl::Status Finish() {
    Settle();
    StopWatch();
    std::vector<v1::Escalation> open;
    for (const v1::Escalation& e : Known()) {
      if (IsOpen(e.state())) open.push_back(e);
    }
    std::sort(open.begin(), open.end(),
              [](const v1::Escalation& a, const v1::Escalation& b) {
                return a.opened_at_micros() < b.opened_at_micros();
              });
    Blank();
    printer_.Line(absl::StrCat("==== the end ", std::string(57, '=')));
    Say(absl::StrCat(notices_.load(), " notices reached the supervisor. ",
                     "Escalations still open:"));
    printer_.Line(FormatEscalations(open, agencies_, indicator_names_));
    const std::string example = open.empty() ? "esc-1" : open.front().id();
    printer_.Line(
        absl::StrCat("Look further (the server keeps its simulated clock):\n"
                     "  dubanctl escalations --open\n"
                     "  dubanctl escalations show ",
                     example,
                     "\n"
                     "  dubanctl watch --recipient supervisor --after 0\n"
                     "  dubanctl series 1"));
    if (!watch_status_.ok() && !absl::IsCancelled(watch_status_)) {
      return Context(watch_status_, "the supervisor's watch");
    }
    return absl::OkStatus();
  }

  std::shared_ptr<grpc::Channel> channel_;
  DemoOptions options_;
  CallSettings settings_;
  Printer printer_;
  AssignmentClient assignment_;
  ReportingClient reporting_;
  AdminClient admin_;
  SupervisionClient supervision_;  // admin's

  std::string request_prefix_;
  std::atomic<uint64_t> requests_{0};
  int64_t now_ = 0;        // the server's clock, as last seen
  int64_t last_look_ = 0;  // the year's last step

  v1::Plan plan_;
  std::vector<v1::Task> tasks_;
  std::vector<v1::Indicator> indicators_;
  IndicatorNames indicator_names_;
  AgencyDirectory agencies_;
  v1::RulesetVersion rules_;
  DemoSchedule schedule_;

  std::map<std::string, Agent> agents_;  // by agency id
  std::vector<std::string> held_;        // agency ids in kDemoAgencies order
  std::unique_ptr<SupervisionClient> supervisor_;
  std::unique_ptr<SupervisionClient> watcher_;  // the supervisor's, too

  std::map<std::string, v1::Escalation> known_;  // by id, as last listed
  std::vector<std::string> acknowledged_;        // by the demo

  std::thread watch_thread_;
  WatchCanceller canceller_;
  absl::Status watch_status_;  // written by the watch thread until joined
  std::atomic<int> notices_{0};
  std::atomic<int64_t> last_notice_ns_{0};
};

}  // namespace

std::vector<std::string> TaskReporters(const v1::Task& task) {
  std::vector<std::string> reporters;
  for (const v1::Responsibility& r : task.responsibilities()) {
    if (r.role() == v1::LEAD && std::find(reporters.begin(), reporters.end(),
                                          r.agency_id()) == reporters.end()) {
      reporters.push_back(r.agency_id());
    }
  }
  if (reporters.empty() && !task.convener_agency_id().empty()) {
    reporters.push_back(task.convener_agency_id());
  }
  return reporters;
}

DemoValue DemoIndicatorValue(const v1::Indicator& indicator, int start_year,
                             int end_year, int year) {
  const int years = std::max(1, end_year - start_year + 1);
  const int index = year - start_year;
  const double target = indicator.target_value();
  DemoValue out;
  if (indicator.name() == kNewUrbanJobs &&
      indicator.target_kind() == v1::CUMULATIVE) {
    double share = 0;
    for (int i = 0; i <= index; ++i) share += At(kNewJobShares, i);
    out.value = Round2(target * At(kNewJobShares, index));
    const double pro_rata = target * (index + 1) / years;
    const double total = Round2(target * share);
    out.lagging = total < pro_rata * (1 - kDemoTolerance);
    if (out.lagging) {
      out.note = absl::StrCat("running total ", FormatNumber(total),
                              ", pro rata ", FormatNumber(Round2(pro_rata)));
    }
    return out;
  }
  if (indicator.name() == kYearsOfSchooling &&
      indicator.target_kind() == v1::FLOOR) {
    out.value = Round2(target + At(kSchoolingOffsets, index));
    out.lagging = out.value <= target;
    if (out.lagging) {
      out.note = absl::StrCat(
          "must stay above ", FormatNumber(target),
          indicator.attribute() == v1::BINDING ? "; binding 约束性" : "");
    }
    return out;
  }
  out.value = Round2(OnTrackValue(indicator, start_year, end_year, year));
  return out;
}

std::vector<LateTask> PickLateTasks(const std::vector<v1::Task>& tasks,
                                    const std::vector<std::string>& agencies,
                                    int year_index) {
  constexpr LateTask::Fate kFates[] = {LateTask::Fate::kAcknowledged,
                                       LateTask::Fate::kReportedLate,
                                       LateTask::Fate::kLeftOpen};
  std::vector<LateTask> late;
  std::set<int> chosen;
  for (size_t i = 0; i < std::size(kFates); ++i) {
    const std::string preferred = i < agencies.size() ? agencies[i] : "";
    std::vector<const v1::Task*> candidates;
    for (bool any : {false, true}) {
      for (const v1::Task& task : tasks) {
        const std::vector<std::string> reporters = TaskReporters(task);
        if (reporters.size() != 1 || chosen.count(task.number()) > 0) continue;
        if (any || reporters[0] == preferred) candidates.push_back(&task);
      }
      if (!candidates.empty()) break;
    }
    if (candidates.empty()) continue;
    const v1::Task& task =
        *candidates[static_cast<size_t>(year_index) % candidates.size()];
    chosen.insert(task.number());
    late.push_back({task.number(), TaskReporters(task)[0], kFates[i]});
  }
  return late;
}

std::optional<int> PickAtRiskTask(const std::vector<v1::Task>& tasks,
                                  const std::string& agency_id,
                                  const std::vector<LateTask>& late,
                                  int year_index) {
  std::vector<int> candidates;
  for (const v1::Task& task : tasks) {
    const std::vector<std::string> reporters = TaskReporters(task);
    const bool is_late =
        std::any_of(late.begin(), late.end(),
                    [&](const LateTask& t) { return t.task == task.number(); });
    if (!is_late && reporters.size() == 1 && reporters[0] == agency_id) {
      candidates.push_back(task.number());
    }
  }
  if (candidates.empty()) return std::nullopt;
  return candidates[static_cast<size_t>(year_index * 7) % candidates.size()];
}

DemoSchedule ScheduleFor(const v1::Ruleset& ruleset) {
  DemoSchedule schedule;
  for (const v1::Rule& rule : ruleset.rules()) {
    if (rule.kind() != v1::REPORT_OVERDUE || rule.disabled()) continue;
    if (rule.deadline().month() != 0) {
      schedule.deadline_month = rule.deadline().month();
      schedule.deadline_day = rule.deadline().day();
    }
    for (const v1::EscalationPolicy& policy : ruleset.policies()) {
      if (policy.id() != rule.policy_id()) continue;
      for (const v1::Rung& rung : policy.rungs()) {
        if (rung.after_days() > 0) {
          schedule.days_after.push_back(rung.after_days());
        }
      }
    }
    break;
  }
  std::sort(schedule.days_after.begin(), schedule.days_after.end());
  schedule.days_after.erase(
      std::unique(schedule.days_after.begin(), schedule.days_after.end()),
      schedule.days_after.end());
  if (schedule.days_after.empty()) schedule.days_after = {7, 14, 30};
  if (schedule.days_after.size() > 4) schedule.days_after.resize(4);
  return schedule;
}

absl::Status RunDemo(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& admin_token, const DemoOptions& options,
                     std::ostream& out) {
  Demo demo(channel, admin_token, options, out);
  return demo.Run();
}

}  // namespace duban::clients
