// 督促检查: the rules engine. Given the state, a plan's ruleset and a time, it
// works out which conditions hold (a report overdue, an indicator off track, …)
// and returns the events that bring the plan's escalations in line: open one
// for a new condition, climb the ladder when a rung's delay has passed, note a
// repeat when the facts change, clear one whose condition no longer holds —
// each rung with its notices. Deterministic and pure: same state, same time,
// same events; nothing changed, no events.
//
//   ASSIGN_OR_RETURN(auto events, Evaluate(state, "qinghai-employment-2021", now, cause_seq));
#ifndef DUBAN_ENGINE_RULES_H_
#define DUBAN_ENGINE_RULES_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "duban/v1/event.pb.h"
#include "duban/v1/supervision.pb.h"
#include "engine/state.h"

namespace duban::engine {

// Plan dates are China Standard Time.
absl::TimeZone ChinaStandardTime();

// INVALID_ARGUMENT naming the rule (or policy) and field, e.g.
// "rules[2] (indicator-off-track).policy_id: unknown policy \"fast\"".
absl::Status ValidateRuleset(const duban::v1::Ruleset& ruleset, const PlanState& plan);

// Hex SHA-256 of the ruleset's deterministic serialization.
std::string RulesetSha256(const duban::v1::Ruleset& ruleset);

// The events that replace the plan's ruleset, if expected_version is current.
absl::StatusOr<std::vector<duban::v1::Event>> DecidePutRules(const State& state,
                                                             const duban::v1::Ruleset& ruleset,
                                                             uint32_t expected_version);

// What an evaluation considers: the whole plan, or only the tasks (and of a
// task, the years) and indicators an event touched: their subjects'
// conditions and open escalations; nothing else is opened, raised or cleared.
struct Scope {
  bool all = true;
  std::map<int32_t, std::set<int32_t>> tasks;  // task -> its years (none: every year)
  std::set<int32_t> indicators;

  // Adds `year` of `task` (0: every year of it).
  void AddTask(int32_t task, int32_t year);
};

// The escalation events (and their notices) for the plan at `now`.
// `cause_seq` is the event that prompted the evaluation (0 for a tick); it is
// recorded on what the evaluation changes. A plan without rules: none.
std::vector<duban::v1::Event> Evaluate(const State& state, const std::string& plan_id,
                                       absl::Time now, uint64_t cause_seq);

// Evaluate restricted to `scope`.
std::vector<duban::v1::Event> EvaluateScope(const State& state, const std::string& plan_id,
                                            const Scope& scope, absl::Time now, uint64_t cause_seq);

// Evaluate for every plan that has rules.
std::vector<duban::v1::Event> EvaluateAll(const State& state, absl::Time now, uint64_t cause_seq);

// What the rules derive after a command whose own events `cause` (seqs set)
// are applied to `state`, at `now`: for a report, an indicator value, a
// change of responsibility, an acknowledgement or a resolution, only the
// task or indicator it touched is re-evaluated (of a task: the year a
// report or an escalation's subject names; every year after a change of
// responsibility); any other change to a plan
// (its registry, tasks, ruleset) re-evaluates the whole plan; a command that
// moved a simulated clock evaluates every plan at the new time. What time
// alone brings (a deadline passing, a ladder's next rung) comes with ticks.
// The sequencer runs exactly this after every command; so does the audit's
// re-derivation check.
std::vector<duban::v1::Event> DeriveAfter(const State& state, absl::Time now,
                                          const std::vector<duban::v1::Event>& cause);

// Whether an event is one the rules derive (escalation transitions other
// than acknowledgement and resolution, and notices).
bool IsDerived(const duban::v1::Event& event);

// Re-derivation: replays `events` (the whole log, in order) and checks that
// every run of derived events is exactly what DeriveAfter (or, for an
// evaluation with no cause, Evaluate of the run's plans) gives at its time,
// and that commands followed by no derived events derive none. Returns the
// differences: (seq, what differs); empty when every derived event would be
// produced again identically.
struct DerivationDifference {
  uint64_t seq;
  std::string problem;
};
std::vector<DerivationDifference> CheckDerivations(
    const std::function<bool(const std::function<bool(const duban::v1::Event&)>&)>& read_all);

// Acknowledge (签收) and resolve (办结), checked against the escalation's state.
absl::StatusOr<std::vector<duban::v1::Event>> DecideAcknowledge(
    const State& state, const duban::v1::AcknowledgeRequest& req, absl::Time now);
absl::StatusOr<std::vector<duban::v1::Event>> DecideResolve(const State& state,
                                                            const duban::v1::ResolveRequest& req,
                                                            absl::Time now);

// The escalation `id` of the plan, open or closed (a closed one is read back
// with `load`), with its timeline if `with_timeline` (PlanState::WithTimeline)
// — one read of its events either way; INVALID_ARGUMENT for a malformed id,
// NOT_FOUND naming the plan for an unknown one.
absl::StatusOr<duban::v1::Escalation> RequireEscalation(const PlanState& plan,
                                                        const std::string& id,
                                                        const EventLoader& load,
                                                        bool with_timeline = false);

// The agencies an escalation is about (its notices go to them).
std::vector<std::string> ResponsibleAgencies(const PlanState& plan,
                                             const duban::v1::Escalation& escalation);

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_RULES_H_
