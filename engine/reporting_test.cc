#include "engine/reporting.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/commands.h"
#include "engine/test_plan.h"

namespace duban::engine {
namespace {

using duban::v1::Event;
using ::testing::HasSubstr;

// The test plan with one indicator of every target kind, each answered for
// by hrss (indicator 2 also by drc).
duban::v1::PlanDocument ReportingPlan() {
  duban::v1::PlanDocument doc = testing::TestPlan();
  doc.mutable_indicators(0)->add_responsible_agency_ids("hrss");
  doc.mutable_indicators(1)->add_responsible_agency_ids("hrss");
  doc.mutable_indicators(1)->add_responsible_agency_ids("drc");
  auto add = [&](int number, const char* name, const char* unit, duban::v1::TargetKind kind,
                 double target, const char* text, double baseline = -1) {
    auto* ind = doc.add_indicators();
    ind->set_number(number);
    ind->set_name(name);
    ind->set_unit(unit);
    ind->set_target_kind(kind);
    ind->set_target_value(target);
    ind->set_target_text(text);
    ind->set_attribute(duban::v1::EXPECTED);
    ind->add_responsible_agency_ids("hrss");
    if (baseline >= 0) {
      ind->mutable_baseline()->set_year(2020);
      ind->mutable_baseline()->set_value(baseline);
      ind->mutable_baseline()->set_kind(duban::v1::LEVEL);
    }
  };
  add(3, "城镇就业占比", "%", duban::v1::AROUND, 65, "65左右");
  add(4, "城镇调查失业率", "%", duban::v1::CEILING, 5.5, "控制在5.5%左右");
  add(5, "劳动报酬占比", "%", duban::v1::INCREASING, 0, "稳步提高");
  add(6, "技能劳动者总量", "万人", duban::v1::LEVEL, 42, "42", 36.38);
  add(7, "基本养老保险参保率", "%", duban::v1::LEVEL, 95, "95");
  return doc;
}

class ReportingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = DecideImport(state_, ReportingPlan(), {});
    ASSERT_TRUE(d.ok()) << d.status();
    Commit(d->events);
  }

  void Commit(std::vector<Event> events, const std::string& principal = "admin") {
    for (Event& e : events) {
      e.set_seq(state_.seq() + 1);
      e.set_principal(principal);
      ASSERT_TRUE(state_.Apply(e).ok()) << e.DebugString();
      log_.Record(e);
    }
  }

  EventLoader Loader() const { return log_.Loader(); }
  testing::TestLog log_;

  duban::v1::SubmitProgressRequest Progress(int task, int year, const std::string& agency,
                                            duban::v1::ProgressStatus status = duban::v1::ON_TRACK) {
    return testing::ProgressRequest(task, year, agency, status);
  }

  absl::Status Report(const duban::v1::SubmitProgressRequest& r) {
    auto events = DecideSubmitProgress(state_, r);
    if (!events.ok()) return events.status();
    Commit(*events);
    return absl::OkStatus();
  }

  absl::Status Value(int indicator, int year, double value, const std::string& agency = "hrss") {
    auto events = DecideSubmitIndicatorValue(state_, testing::ValueRequest(indicator, year, value, agency));
    if (!events.ok()) return events.status();
    Commit(*events);
    return absl::OkStatus();
  }

  const PlanState& plan() { return *state_.FindPlan("test-plan"); }

  duban::v1::IndicatorSeries Series(int number, double tol = 0.05) {
    return BuildIndicatorSeries(plan(), *plan().FindIndicator(number), tol);
  }

  State state_;
};

TEST_F(ReportingTest, LeadsReportTheTaskOthersContribute) {
  ASSERT_TRUE(Report(Progress(1, 2021, "drc")).ok());
  ASSERT_TRUE(Report(Progress(1, 2021, "gov-a")).ok());
  ASSERT_TRUE(Report(Progress(2, 2021, "drc")).ok());   // task 2: no lead, hrss convenes
  ASSERT_TRUE(Report(Progress(2, 2021, "hrss")).ok());
  EXPECT_EQ(plan().LatestReport(1, 2021, "drc")->kind(), duban::v1::TASK_REPORT);
  EXPECT_EQ(plan().LatestReport(1, 2021, "gov-a")->kind(), duban::v1::CONTRIBUTION);
  EXPECT_EQ(plan().LatestReport(1, 2021, "gov-a")->role(), duban::v1::SUPPORT);
  EXPECT_EQ(plan().LatestReport(2, 2021, "hrss")->kind(), duban::v1::TASK_REPORT);
  EXPECT_EQ(plan().LatestReport(2, 2021, "drc")->kind(), duban::v1::CONTRIBUTION);
  EXPECT_EQ(plan().LatestReport(1, 2021, "drc")->principal(), "admin");

  auto progress = *BuildTaskProgress(plan(), *plan().FindTask(1), 2021, Loader());
  ASSERT_EQ(progress.years_size(), 1);
  ASSERT_EQ(progress.years(0).task_reports_size(), 1);
  EXPECT_EQ(progress.years(0).task_reports(0).agency_id(), "drc");
  ASSERT_EQ(progress.years(0).contributions_size(), 1);
  EXPECT_EQ(progress.years(0).contributions(0).agency_id(), "gov-a");
  EXPECT_EQ(BuildTaskProgress(plan(), *plan().FindTask(1), 0, Loader())->years_size(), 5);
}

TEST_F(ReportingTest, RevisionsKeepHistoryAndCheckTheExpectedRevision) {
  auto r = Progress(3, 2022, "hrss", duban::v1::AT_RISK);
  r.set_expected_revision(0);
  ASSERT_TRUE(Report(r).ok());
  EXPECT_EQ(Report(r).code(), absl::StatusCode::kFailedPrecondition);  // stale: now 1
  r.set_expected_revision(1);
  r.set_status(duban::v1::ON_TRACK);
  ASSERT_TRUE(Report(r).ok());
  r.clear_expected_revision();  // no check
  r.set_status(duban::v1::COMPLETED);
  ASSERT_TRUE(Report(r).ok());
  EXPECT_EQ(plan().LatestReport(3, 2022, "hrss")->revision(), 3u);
  EXPECT_EQ(plan().LatestReport(3, 2022, "hrss")->status(), duban::v1::COMPLETED);
  auto progress = *BuildTaskProgress(plan(), *plan().FindTask(3), 2022, Loader());
  ASSERT_EQ(progress.years(0).history_size(), 3);
  EXPECT_EQ(progress.years(0).history(0).status(), duban::v1::AT_RISK);
  EXPECT_EQ(progress.years(0).history(2).revision(), 3u);

  ASSERT_TRUE(Value(1, 2021, 6).ok());
  duban::v1::SubmitIndicatorValueRequest v;
  v.set_plan_id("test-plan");
  v.set_indicator_number(1);
  v.set_year(2021);
  v.set_value(6.2);
  v.set_agency_id("hrss");
  v.set_expected_revision(0);
  EXPECT_EQ(DecideSubmitIndicatorValue(state_, v).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v.set_expected_revision(1);
  EXPECT_TRUE(DecideSubmitIndicatorValue(state_, v).ok());
}

TEST_F(ReportingTest, OnlyTheirOwnTasksAndIndicators) {
  EXPECT_EQ(Report(Progress(3, 2021, "drc")).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Value(1, 2021, 5, "drc").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Value(2, 2021, 10.6, "drc").ok());
  EXPECT_EQ(plan().progress.size(), 0u);
}

TEST_F(ReportingTest, BadInputNamesTheField) {
  auto message = [&](duban::v1::SubmitProgressRequest r) {
    return std::string(Report(r).message());
  };
  EXPECT_THAT(message(Progress(1, 2020, "drc")), HasSubstr("year: 2020 is outside"));
  EXPECT_THAT(message(Progress(1, 2026, "drc")), HasSubstr("year"));
  EXPECT_THAT(message(Progress(1, 2021, "drc", duban::v1::PROGRESS_STATUS_UNSPECIFIED)),
              HasSubstr("status"));
  auto r = Progress(1, 2021, "drc");
  r.set_summary("");
  EXPECT_THAT(message(r), HasSubstr("summary: must not be empty"));
  r = Progress(1, 2021, "drc");
  r.set_percent_complete(101);
  EXPECT_THAT(message(r), HasSubstr("percent_complete"));
  r = Progress(1, 2021, "drc");
  for (int i = 0; i < 21; ++i) r.add_evidence_refs("ref");
  EXPECT_THAT(message(r), HasSubstr("evidence_refs: at most 20"));
  r = Progress(1, 2021, "drc");
  r.add_evidence_refs("ok");
  r.add_evidence_refs("bad\x01");
  EXPECT_THAT(message(r), HasSubstr("evidence_refs[1]"));
  r = Progress(1, 2021, "drc");
  r.set_status(static_cast<duban::v1::ProgressStatus>(99));
  EXPECT_THAT(message(r), HasSubstr("status"));
  EXPECT_THAT(std::string(Value(3, 2021, 101).message()), HasSubstr("value: 101% is more than 100%"));
  EXPECT_THAT(std::string(Value(1, 2021, -1).message()), HasSubstr("value: -1 is negative"));
  EXPECT_THAT(std::string(Value(1, 2021, std::nan("")).message()), HasSubstr("value: not a finite"));
  EXPECT_EQ(Value(99, 2021, 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(plan().progress.size(), 0u);
  EXPECT_EQ(plan().indicator_values.size(), 0u);
}

TEST_F(ReportingTest, CumulativeAgainstTheProRataTrajectory) {
  // 城镇新增就业 〔30〕: 6 + 6.5 + 4.5 = 17 after 2023, against 18 pro rata.
  ASSERT_TRUE(Value(1, 2021, 6).ok());
  ASSERT_TRUE(Value(1, 2022, 6.5).ok());
  ASSERT_TRUE(Value(1, 2023, 4.5).ok());
  auto s = Series(1, 0.05);
  ASSERT_EQ(s.points_size(), 5);
  EXPECT_DOUBLE_EQ(s.points(0).cumulative(), 6);
  EXPECT_DOUBLE_EQ(s.points(1).cumulative(), 12.5);
  EXPECT_DOUBLE_EQ(s.points(2).cumulative(), 17);
  EXPECT_DOUBLE_EQ(s.points(0).expected(), 6);
  EXPECT_DOUBLE_EQ(s.points(1).expected(), 12);
  EXPECT_DOUBLE_EQ(s.points(2).expected(), 18);
  EXPECT_EQ(s.points(0).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(s.points(1).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(s.points(2).judgement(), duban::v1::JUDGEMENT_OFF_TRACK);  // 17 < 18 × 0.95
  EXPECT_EQ(s.points(3).judgement(), duban::v1::JUDGEMENT_NO_DATA);
  // A wider tolerance forgives it.
  EXPECT_EQ(Series(1, 0.1).points(2).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
}

TEST_F(ReportingTest, FloorAroundCeilingIncreasingLevel) {
  // FLOOR >10.5: strictly above.
  ASSERT_TRUE(Value(2, 2021, 10.6).ok());
  ASSERT_TRUE(Value(2, 2022, 10.5).ok());
  auto floor = Series(2);
  EXPECT_EQ(floor.points(0).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(floor.points(1).judgement(), duban::v1::JUDGEMENT_OFF_TRACK);
  // AROUND 65: within 5% of 65 = 3.25.
  ASSERT_TRUE(Value(3, 2021, 62).ok());
  ASSERT_TRUE(Value(3, 2022, 61.5).ok());
  ASSERT_TRUE(Value(3, 2023, 68.2).ok());
  auto around = Series(3);
  EXPECT_EQ(around.points(0).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(around.points(1).judgement(), duban::v1::JUDGEMENT_OFF_TRACK);
  EXPECT_EQ(around.points(2).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  // CEILING 5.5: at most 5.775.
  ASSERT_TRUE(Value(4, 2021, 5.7).ok());
  ASSERT_TRUE(Value(4, 2022, 5.9).ok());
  auto ceiling = Series(4);
  EXPECT_EQ(ceiling.points(0).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(ceiling.points(1).judgement(), duban::v1::JUDGEMENT_OFF_TRACK);
  // INCREASING: each year above the one before; the first has nothing to compare with.
  ASSERT_TRUE(Value(5, 2021, 50).ok());
  ASSERT_TRUE(Value(5, 2022, 51).ok());
  ASSERT_TRUE(Value(5, 2023, 50.5).ok());
  auto increasing = Series(5);
  EXPECT_EQ(increasing.points(0).judgement(), duban::v1::JUDGEMENT_NOT_JUDGED);
  EXPECT_EQ(increasing.points(1).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  EXPECT_DOUBLE_EQ(increasing.points(2).expected(), 51);
  EXPECT_EQ(increasing.points(2).judgement(), duban::v1::JUDGEMENT_OFF_TRACK);
  // LEVEL 42 from 36.38 (2020): the straight line gives 37.504 for 2021.
  ASSERT_TRUE(Value(6, 2021, 37.6).ok());
  ASSERT_TRUE(Value(6, 2022, 36.0).ok());
  auto level = Series(6);
  EXPECT_NEAR(level.points(0).expected(), 37.504, 1e-9);
  EXPECT_EQ(level.points(0).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  EXPECT_EQ(level.points(1).judgement(), duban::v1::JUDGEMENT_OFF_TRACK);  // 36 < 38.628 × 0.95
  // A 2021 value below the 2020 baseline is off track, whatever the tolerance of the level.
  ASSERT_TRUE(Value(6, 2023, 35.7).ok());
  EXPECT_EQ(Series(6).points(2).judgement(), duban::v1::JUDGEMENT_OFF_TRACK);
  // INCREASING across a gap: 2025 is compared with 2023, the latest earlier value.
  ASSERT_TRUE(Value(5, 2025, 50.7).ok());
  EXPECT_DOUBLE_EQ(Series(5).points(4).expected(), 50.5);
  EXPECT_EQ(Series(5).points(4).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
  // LEVEL without a baseline: judged only in the last year.
  ASSERT_TRUE(Value(7, 2021, 90).ok());
  ASSERT_TRUE(Value(7, 2025, 95.5).ok());
  auto level2 = Series(7);
  EXPECT_EQ(level2.points(0).judgement(), duban::v1::JUDGEMENT_NOT_JUDGED);
  EXPECT_EQ(level2.points(4).judgement(), duban::v1::JUDGEMENT_ON_TRACK);
}

TEST_F(ReportingTest, MissingReports) {
  ASSERT_TRUE(Report(Progress(1, 2021, "hrss")).ok());  // one of task 1's two leads
  ASSERT_TRUE(Report(Progress(1, 2021, "gov-a")).ok());
  ASSERT_TRUE(Value(1, 2021, 6).ok());
  auto m = BuildMissingReports(plan(), 2021);
  std::vector<int> tasks;
  for (const auto& t : m.task_reports()) tasks.push_back(t.task_number());
  EXPECT_THAT(tasks, ::testing::ElementsAre(2, 3));
  std::vector<std::pair<int, std::string>> contributions;
  for (const auto& c : m.contributions()) contributions.push_back({c.task_number(), c.agency_id()});
  EXPECT_THAT(contributions, ::testing::ElementsAre(std::make_pair(1, std::string("gov-b")),
                                                    std::make_pair(2, std::string("drc"))));
  EXPECT_EQ(m.indicator_values_size(), 6);  // all but indicator 1
  // For one agency: what it owes.
  auto drc = BuildMissingReports(plan(), 2021, "drc");
  EXPECT_EQ(drc.task_reports_size(), 0);  // task 1 has its report (from hrss)
  ASSERT_EQ(drc.contributions_size(), 1);
  EXPECT_EQ(drc.contributions(0).task_number(), 2);
  ASSERT_EQ(drc.indicator_values_size(), 1);
  EXPECT_EQ(drc.indicator_values(0).indicator_number(), 2);
}

}  // namespace
}  // namespace duban::engine
