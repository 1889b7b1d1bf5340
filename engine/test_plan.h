// A small plan document for unit tests: 4 agencies (two in a group), 3 tasks
// covering LEAD / SHARED / SUPPORT and a group expansion, 2 indicators.
#ifndef DUBAN_ENGINE_TEST_PLAN_H_
#define DUBAN_ENGINE_TEST_PLAN_H_

#include <google/protobuf/text_format.h>

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "duban/v1/event.pb.h"
#include "duban/v1/plan.pb.h"
#include "duban/v1/reporting.pb.h"
#include "duban/v1/supervision.pb.h"

namespace duban::engine::testing {

inline duban::v1::PlanDocument TestPlan() {
  duban::v1::PlanDocument doc;
  const bool ok = google::protobuf::TextFormat::ParseFromString(R"pb(
    plan_id: "test-plan"
    title: "测试规划"
    document_number: "测〔2021〕1号"
    issuer: "测试办公厅"
    start_year: 2021
    end_year: 2025
    sections { number: "三" title: "第一章" }
    groups { id: "cities" name: "各市州政府" member_agency_ids: "gov-a" member_agency_ids: "gov-b" }
    agencies { id: "hrss" name: "青海省人力资源和社会保障厅" short_name: "省人力资源社会保障厅" }
    agencies { id: "drc" name: "青海省发展和改革委员会" short_name: "省发展改革委" }
    agencies { id: "gov-a" name: "甲市人民政府" short_name: "甲市政府" group_ids: "cities" }
    agencies { id: "gov-b" name: "乙州人民政府" short_name: "乙州政府" group_ids: "cities" }
    tasks {
      number: 1 text: "任务一。" section { number: "三" title: "第一章" }
      assignment_text: "(省发展改革委、省人力资源社会保障厅牵头负责，各市州政府配合)"
      responsibilities { agency_id: "drc" role: LEAD reason: "plan text" }
      responsibilities { agency_id: "hrss" role: LEAD reason: "plan text" }
      responsibilities { agency_id: "gov-a" role: SUPPORT via_group_id: "cities" reason: "plan text" }
      responsibilities { agency_id: "gov-b" role: SUPPORT via_group_id: "cities" reason: "plan text" }
      convener_agency_id: "drc"
    }
    tasks {
      number: 2 text: "任务二。" section { number: "三" title: "第一章" }
      assignment_text: "(省人力资源社会保障厅、省发展改革委按职责分工负责)"
      responsibilities { agency_id: "hrss" role: SHARED reason: "plan text" }
      responsibilities { agency_id: "drc" role: SHARED reason: "plan text" }
      convener_agency_id: "hrss"
    }
    tasks {
      number: 3 text: "任务三。" section { number: "三" title: "第一章" }
      assignment_text: "(省人力资源社会保障厅牵头负责)"
      responsibilities { agency_id: "hrss" role: LEAD reason: "plan text" }
      convener_agency_id: "hrss"
    }
    indicators {
      number: 1 name: "城镇新增就业" unit: "万人" target_kind: CUMULATIVE target_value: 30
      target_text: "〔30〕" attribute: EXPECTED
      baseline { year: 2020 value: 31.2 kind: CUMULATIVE text: "〔31.2〕" }
    }
    indicators {
      number: 2 name: "劳动年龄人口平均受教育年限" unit: "年" target_kind: FLOOR
      target_value: 10.5 target_text: ">10.5" attribute: BINDING
    }
  )pb", &doc);
  if (!ok) doc.Clear();
  return doc;
}

// A progress report request for the test plan.
inline duban::v1::SubmitProgressRequest ProgressRequest(
    int task, int year, const std::string& agency,
    duban::v1::ProgressStatus status = duban::v1::ON_TRACK, const std::string& summary = "按计划推进") {
  duban::v1::SubmitProgressRequest r;
  r.set_plan_id("test-plan");
  r.set_task_number(task);
  r.set_year(year);
  r.set_agency_id(agency);
  r.set_status(status);
  r.set_summary(summary);
  return r;
}

// A request giving `agency` `role` on a task of the test plan.
inline duban::v1::AssignResponsibilityRequest AssignRequest(int task, const std::string& agency,
                                                            duban::v1::Role role,
                                                            const std::string& reason = "调整分工") {
  duban::v1::AssignResponsibilityRequest r;
  r.set_plan_id("test-plan");
  r.set_task_number(task);
  r.set_agency_id(agency);
  r.set_role(role);
  r.set_reason(reason);
  return r;
}

// An indicator value request for the test plan.
inline duban::v1::SubmitIndicatorValueRequest ValueRequest(int indicator, int year, double value,
                                                          const std::string& agency) {
  duban::v1::SubmitIndicatorValueRequest r;
  r.set_plan_id("test-plan");
  r.set_indicator_number(indicator);
  r.set_year(year);
  r.set_value(value);
  r.set_agency_id(agency);
  return r;
}

// Keeps the events a test applied, and reads them back as the log would
// (for what the state reads from the log: report revisions, timelines).
class TestLog {
 public:
  void Record(const duban::v1::Event& e) { events_[e.seq()] = e; }
  std::function<absl::StatusOr<duban::v1::Event>(uint64_t)> Loader() const {
    return [this](uint64_t seq) -> absl::StatusOr<duban::v1::Event> {
      auto it = events_.find(seq);
      if (it == events_.end()) return absl::NotFoundError("no such seq");
      return it->second;
    };
  }

 private:
  std::map<uint64_t, duban::v1::Event> events_;
};

// Midnight (the start) of a day in China Standard Time.
inline absl::Time Cst(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::FixedTimeZone(8 * 60 * 60));
}

// A ruleset for the test plan: every kind the tests need, a standard and a
// faster policy for binding indicators.
inline duban::v1::Ruleset TestRules() {
  duban::v1::Ruleset rules;
  const bool ok = google::protobuf::TextFormat::ParseFromString(R"pb(
  plan_id: "test-plan"
  policies {
    id: "standard"
    rungs { level: REMINDER after_days: 0 audiences: RESPONSIBLE_AGENCIES }
    rungs { level: URGING after_days: 7 audiences: RESPONSIBLE_AGENCIES }
    rungs { level: SUPERVISION after_days: 14 audiences: RESPONSIBLE_AGENCIES audiences: SUPERVISORS }
    rungs { level: CIRCULATION after_days: 30 audiences: SUPERVISORS audiences: PROVINCIAL_GOVERNMENT }
  }
  policies {
    id: "binding"
    rungs { level: REMINDER after_days: 0 audiences: RESPONSIBLE_AGENCIES audiences: SUPERVISORS }
    rungs { level: URGING after_days: 3 audiences: RESPONSIBLE_AGENCIES }
  }
  rules { id: "overdue" kind: REPORT_OVERDUE severity: WARNING policy_id: "standard" deadline { month: 1 day: 31 } }
  rules {
    id: "off-track" kind: INDICATOR_OFF_TRACK severity: WARNING policy_id: "standard"
    tolerance: 0.05 binding_severity: CRITICAL binding_policy_id: "binding"
  }
  rules { id: "at-risk" kind: TASK_AT_RISK severity: WARNING policy_id: "standard" }
)pb", &rules);
  if (!ok) rules.Clear();
  return rules;
}

}  // namespace duban::engine::testing

#endif  // DUBAN_ENGINE_TEST_PLAN_H_
