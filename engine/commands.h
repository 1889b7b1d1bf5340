// Commands: a request checked against the state and turned into events.
//
// Each Decide* function is pure: it reads the state, never changes it, and
// returns the events to append (payload and plan_id set; the sequencer adds
// seq, time, principal and request id) or the error to answer with:
// INVALID_ARGUMENT naming the field, NOT_FOUND for an unknown plan, task or
// agency, ALREADY_EXISTS / FAILED_PRECONDITION when the state forbids it.
// A rejected command yields no events, so nothing is written.
#ifndef DUBAN_ENGINE_COMMANDS_H_
#define DUBAN_ENGINE_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "duban/v1/assignment.pb.h"
#include "duban/v1/event.pb.h"
#include "engine/state.h"

namespace duban::engine {

inline constexpr char kPlanImportReason[] = "plan import";

// Checks a plan document on its own: ids, texts, numbering, references.
absl::Status ValidateDocument(const duban::v1::PlanDocument& doc);

// Hex SHA-256 of the document's deterministic serialization: its version.
std::string DocumentSha256(const duban::v1::PlanDocument& doc);

struct ImportDecision {
  std::vector<duban::v1::Event> events;  // empty when nothing changed
  std::vector<duban::v1::PlanChange> changes;
  std::vector<duban::v1::ImportWarning> warnings;
};

// The events that bring the state from the last imported document of
// doc.plan_id to `doc`: only the differences. Responsibilities are diffed
// against the previous document, so assignments made by hand since then
// stay unless the new document changes that same responsibility.
// `warnings` (from the parser) are carried into the PlanImported event.
absl::StatusOr<ImportDecision> DecideImport(const State& state,
                                            const duban::v1::PlanDocument& doc,
                                            std::vector<duban::v1::ImportWarning> warnings);

absl::StatusOr<std::vector<duban::v1::Event>> DecideAssign(
    const State& state, const duban::v1::AssignResponsibilityRequest& req);

absl::StatusOr<std::vector<duban::v1::Event>> DecideRevoke(
    const State& state, const duban::v1::RevokeResponsibilityRequest& req);

// A new bearer credential for `principal`; only the token's hash is recorded.
// `plan_id` binds an agency credential to the plan it reports to.
absl::StatusOr<std::vector<duban::v1::Event>> DecideIssueCredential(
    const State& state, const std::string& credential_id, const std::string& principal,
    const std::string& token_sha256_hex, const std::string& label,
    const std::string& plan_id = "");

// Lookups that answer NOT_FOUND with the id in the message.
absl::StatusOr<const PlanState*> RequirePlan(const State& state, const std::string& plan_id);
// `field` names the request field that holds the number.
absl::StatusOr<const duban::v1::Task*> RequireTask(const PlanState& plan, int32_t number,
                                                   absl::string_view field = "task_number");
absl::StatusOr<const duban::v1::Indicator*> RequireIndicator(const PlanState& plan,
                                                             int32_t number);
absl::StatusOr<const duban::v1::Agency*> RequireAgency(const PlanState& plan,
                                                       const std::string& agency_id);

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_COMMANDS_H_
