// The in-memory state: a projection of the event log that readers query.
//
// State is a value: copying it is cheap (plans and credentials are shared,
// copy-on-write), so the sequencer applies a command's events to a copy and
// publishes the result as an immutable snapshot. Apply is deterministic:
// the same events in the same order build the same state.
//
// Not safe for concurrent mutation; a const State may be read from any thread.
//
//   State state;
//   for (const Event& e : events) RETURN_IF_ERROR(state.Apply(e));
//   const PlanState* plan = state.FindPlan("qinghai-employment-2021");
#ifndef DUBAN_ENGINE_STATE_H_
#define DUBAN_ENGINE_STATE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "duban/v1/event.pb.h"
#include "duban/v1/plan.pb.h"
#include "duban/v1/reporting.pb.h"
#include "duban/v1/supervision.pb.h"
#include "engine/cow_vector.h"

namespace duban::engine {

// Reads the event at a seq from the log (the services give the engine one):
// how what the state does not keep in memory (earlier report revisions,
// escalation timelines) is read back.
using EventLoader = std::function<absl::StatusOr<duban::v1::Event>(uint64_t seq)>;

// One plan: its metadata, registry, matrix and indicators.
struct PlanState {
  duban::v1::Plan plan;  // counts are filled by Summary()
  // Every map below is shared with the plan's earlier copies until changed
  // (CowMap): the sequencer copies a plan once per group, and a group of
  // progress reports then copies the reports and escalations it changes,
  // not the registry, the matrix or the indicators.
  Cow<std::vector<std::string>> agency_order;  // registry order
  CowMap<std::map<std::string, duban::v1::Agency>> agencies;
  CowMap<std::map<std::string, duban::v1::AgencyGroup>> groups;
  CowMap<std::map<int32_t, duban::v1::Task>> tasks;
  CowMap<std::map<int32_t, duban::v1::Indicator>> indicators;
  // Progress reports by (task, year, agency): the latest revision, and the
  // seqs of every revision, oldest first. Earlier revisions are read back
  // from the log when asked for (ReportFromEvent), so memory grows with the
  // reports' keys, not with how often they are revised.
  class ReportHistory {
   public:
    size_t size() const { return seqs_.size(); }
    bool empty() const { return seqs_.empty(); }
    const duban::v1::ProgressReport& back() const { return *latest_; }
    std::vector<uint64_t> seqs() const { return seqs_.All(); }
    void push_back(duban::v1::ProgressReport report) {
      seqs_.push_back(report.seq());
      latest_ = std::make_shared<const duban::v1::ProgressReport>(std::move(report));
    }
    // A snapshot's history: its seqs and its latest revision.
    template <typename Seqs>
    void Restore(const Seqs& seqs, duban::v1::ProgressReport latest) {
      seqs_.Append(seqs.begin(), seqs.end());
      latest_ = std::make_shared<const duban::v1::ProgressReport>(std::move(latest));
    }

   private:
    std::shared_ptr<const duban::v1::ProgressReport> latest_;
    SeqList seqs_;
  };
  using ProgressKey = std::tuple<int32_t, int32_t, std::string>;
  CowMap<std::map<ProgressKey, ReportHistory>> progress;
  // For the rules, which ask of every task and year on every tick who has
  // reported: the latest report of each (year, agency), per task, in one
  // short contiguous vector. Kept by Apply beside `progress` (NoteReport);
  // not in snapshots, which rebuild it from `progress`.
  struct ReportFact {
    int32_t year = 0;
    int32_t agency = 0;  // index into report_agencies->names
    duban::v1::ProgressStatus status = duban::v1::PROGRESS_STATUS_UNSPECIFIED;
    uint64_t seq = 0;
  };
  CowMap<std::map<int32_t, std::vector<ReportFact>>> report_facts;  // by task; sorted by (year, agency)
  // The agencies facts name, interned: names[index[id]] == id. Changes only
  // when an agency reports for the first time, so it is shared like the maps.
  struct ReportAgencies {
    std::vector<std::string> names;
    absl::flat_hash_map<std::string, int32_t> index;
  };
  Cow<ReportAgencies> report_agencies;
  // The index of an agency in report_agencies->names, or -1 if it never reported.
  int32_t ReportAgency(const std::string& agency_id) const;
  void NoteReport(const duban::v1::ProgressReport& report);

  // Indicator values by (indicator, year), each oldest revision first.
  using ValueKey = std::pair<int32_t, int32_t>;
  CowMap<std::map<ValueKey, CowVector<duban::v1::IndicatorValue>>> indicator_values;

  // 督促检查: the current ruleset (version 0: none), escalations by id, the
  // open one per subject, and what a supervisor resolved (so an unchanged
  // condition does not reopen at once).
  Cow<duban::v1::RulesetVersion> rules;
  // Open (and acknowledged) escalations by id, kept without their timelines,
  // which grow with every transition: only the seqs of their events are
  // kept, and WithTimeline puts a timeline back together from the log.
  CowMap<std::map<std::string, Cow<duban::v1::Escalation>>> escalations;
  CowMap<std::map<std::string, SeqList>> timelines;  // the seqs of each escalation's events
  // A closed (cleared or resolved) escalation is not kept either, only its
  // timeline's seqs and what re-evaluating after its resolution needs of its
  // subject: the log has the rest (FindEscalation, WithTimeline read it back).
  // So escalations that keep reopening cost tens of bytes each, not a kilobyte.
  struct ClosedEscalation {
    int32_t task_number = 0;
    int32_t indicator_number = 0;
    int32_t year = 0;
  };
  CowMap<std::map<std::string, ClosedEscalation>> closed_escalations;
  // The escalation (open or closed) as it stands, without its timeline; a
  // closed one is rebuilt from its events read with `load`. NOT_FOUND for no
  // such id.
  absl::StatusOr<duban::v1::Escalation> FindEscalation(const std::string& id,
                                                       const EventLoader& load) const;
  // The same with its timeline, whose entries are rebuilt from its events
  // read with `load` (TimelineEntryFor).
  absl::StatusOr<duban::v1::Escalation> WithTimeline(const std::string& id,
                                                     const EventLoader& load) const;
  // Every escalation's id, open or closed, in the order they opened.
  std::vector<std::string> EscalationIds() const;
  // The escalation `id` after a command whose events `events` are applied to
  // this plan but not yet in the log (a write's answer is made before its
  // group is written): with its timeline if every event of it can be read
  // (the command's own first, then `load`); otherwise, when an earlier
  // command of the same group touched it too, `before` (the escalation as
  // the command was decided against) with the command's events folded in,
  // without a timeline.
  duban::v1::Escalation EscalationAfter(const std::string& id, const duban::v1::Escalation& before,
                                        const std::vector<duban::v1::Event>& events,
                                        const EventLoader& load) const;
  CowMap<std::map<std::string, std::string>> open_escalations;  // SubjectKey -> id
  CowMap<std::map<std::string, std::vector<uint64_t>>> resolved_facts;  // SubjectKey -> facts then
  int64_t escalations_opened = 0;

  // The document of the last import: the next import is diffed against it.
  // Shared: it is large and changes only on import.
  std::shared_ptr<const duban::v1::PlanDocument> document =
      std::make_shared<const duban::v1::PlanDocument>();

  // The plan with its counts filled in.
  duban::v1::Plan Summary() const;
  const duban::v1::Agency* FindAgency(const std::string& id) const;
  const duban::v1::Task* FindTask(int32_t number) const;
  const duban::v1::Indicator* FindIndicator(int32_t number) const;
  // The latest report of (task, year, agency), or null.
  const duban::v1::ProgressReport* LatestReport(int32_t task, int32_t year,
                                                const std::string& agency_id) const;
  // The latest value of (indicator, year), or null.
  const duban::v1::IndicatorValue* LatestValue(int32_t indicator, int32_t year) const;
};

// A bearer credential as the log recorded it (only the token's hash).
struct Credential {
  std::string credential_id;
  std::string principal;
  std::string token_sha256;  // hex
  std::string label;
  std::string plan_id;  // agency credentials: the plan they are bound to
  bool revoked = false;
  uint64_t issued_seq = 0;
  uint64_t revoked_seq = 0;
};

class State {
 public:
  // Applies one committed event. FAILED_PRECONDITION if the event does not
  // fit the state (a log that does not replay is corrupt or from a newer
  // version); the state is then unchanged.
  absl::Status Apply(const duban::v1::Event& event);

  // Seq of the last applied event (0 before any).
  uint64_t seq() const { return seq_; }

  const PlanState* FindPlan(const std::string& plan_id) const;

  // The active credential whose token hashes to `token_sha256_hex`, if any.
  const Credential* FindCredentialByHash(const std::string& token_sha256_hex) const;
  const Credential* FindCredential(const std::string& credential_id) const;
  // Webhook subscriptions by id (removed ones included, marked).
  const std::map<std::string, duban::v1::Webhook>& webhooks() const { return *webhooks_; }
  // The latest simulated time a ClockAdvanced event set (0: none).
  int64_t simulated_now_micros() const { return simulated_now_micros_; }
  // The latest signed checkpoint kept in the log (and the seq of its event).
  const duban::v1::CheckpointMade& latest_checkpoint() const { return latest_checkpoint_; }
  uint64_t latest_checkpoint_seq() const { return latest_checkpoint_seq_; }
  // The latest time any event was recorded at (0: none).
  int64_t last_recorded_micros() const { return last_recorded_micros_; }

  // The plans that have a ruleset, in id order.
  std::vector<std::string> PlansWithRules() const;
  // Whether any plan's registry lists the agency.
  bool AnyPlanLists(const std::string& agency_id) const;
  // Whether any active credential exists for `principal`.
  bool HasCredentialFor(const std::string& principal) const;
  // Every credential ever issued, by id.
  const std::map<std::string, Credential>& credentials() const { return credentials_->by_id; }

 private:
  friend struct SnapshotAccess;  // engine/snapshot.cc writes and reads every field

  struct Credentials {
    std::map<std::string, Credential> by_id;
    std::map<std::string, std::string> id_by_hash;
  };

  PlanState& MutablePlan(const std::string& plan_id);
  Credentials& MutableCredentials();
  absl::Status ApplyToPlan(const duban::v1::Event& event, PlanState& plan);
  absl::Status ApplyEscalationChange(const duban::v1::Event& event, PlanState& plan);

  uint64_t seq_ = 0;
  int64_t simulated_now_micros_ = 0;
  int64_t last_recorded_micros_ = 0;
  duban::v1::CheckpointMade latest_checkpoint_;
  uint64_t latest_checkpoint_seq_ = 0;
  std::map<std::string, std::shared_ptr<PlanState>> plans_;
  std::shared_ptr<std::map<std::string, duban::v1::Webhook>> webhooks_ =
      std::make_shared<std::map<std::string, duban::v1::Webhook>>();
  std::shared_ptr<Credentials> credentials_ = std::make_shared<Credentials>();
};

// The report a ProgressReported event records, as the state holds it (with
// its plan, seq, time and principal): how earlier revisions are read back
// from the log.
duban::v1::ProgressReport ReportFromEvent(const duban::v1::Event& event);

// The timeline entry an escalation event makes (`repeat_count`: the
// escalation's count after it, for a repetition).
duban::v1::TimelineEntry TimelineEntryFor(const duban::v1::Event& event, int64_t repeat_count);

// An escalation as EscalationOpened opens it (OPEN, count 1, no timeline).
duban::v1::Escalation OpenedEscalation(const duban::v1::Event& opened);
// Brings `esc` past one of its later events (raised, repeated, acknowledged,
// resolved, cleared); `esc` is unchanged if the event does not fit it.
absl::Status FoldEscalationChange(const duban::v1::Event& event, duban::v1::Escalation* esc);

// Every revision of a (task, year, agency)'s reports, oldest first.
absl::StatusOr<std::vector<duban::v1::ProgressReport>> Revisions(
    const PlanState::ReportHistory& history, const EventLoader& load);

// The key of "at most one open escalation per subject".
std::string SubjectKey(const duban::v1::Subject& subject);

// Role helpers shared by the engine and the services.
const char* RoleName(duban::v1::Role role);  // "LEAD", "SHARED", "SUPPORT"
const char* LevelName(duban::v1::Level level);  // "提醒", "催办", "督办", "通报"
// The agency that answers for a task: its first LEAD, else its first SHARED.
std::string ConvenerOf(const duban::v1::Task& task);
// Whether the task has at least one LEAD or SHARED agency.
bool HasResponsibleAgency(const duban::v1::Task& task);
// The agency's responsibility on the task, or null.
const duban::v1::Responsibility* FindResponsibility(const duban::v1::Task& task,
                                                    const std::string& agency_id);
// A report from this agency is the task's report (its LEAD, or its convener
// where no agency leads) or a contribution.
duban::v1::ReportKind ReportKindFor(const duban::v1::Task& task, const std::string& agency_id);
// The agencies whose report is the task's report: its LEADs, else its convener.
std::vector<std::string> TaskReporters(const duban::v1::Task& task);

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_STATE_H_
