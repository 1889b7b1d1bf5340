// Who is calling: principals and bearer-token authentication.
//
// Every caller is a principal: "admin", "supervisor", "auditor" or an agency
// ("agency:<id>"). Tokens are 64 hex characters from the OS CSPRNG; the log
// keeps only their SHA-256 (CredentialIssued events), so the state can tell a
// token's principal without ever holding the token.
//
//   ASSIGN_OR_RETURN(Principal who, Authenticate(ctx->client_metadata(), *state));
//   RETURN_IF_ERROR(Authorize(who, Permission::kManagePlan));
#ifndef DUBAN_SERVICES_AUTH_H_
#define DUBAN_SERVICES_AUTH_H_

#include <map>
#include <string>

#include <grpcpp/security/auth_context.h>
#include <grpcpp/support/string_ref.h>

#include "absl/status/statusor.h"
#include "engine/state.h"

namespace duban::services {

struct Principal {
  enum class Kind { kAdmin, kSupervisor, kAuditor, kAgency, kSystem };
  Kind kind = Kind::kSystem;
  std::string agency_id;      // for kAgency
  // For kAgency with a bearer token: the only plan it may report to or read
  // reports of. Empty for certificate principals (any plan listing the agency).
  std::string plan_id;
  std::string credential_id;  // the credential that authenticated it

  // "admin", "supervisor", "auditor", "agency:<id>", "system".
  std::string name() const;
  static absl::StatusOr<Principal> Parse(const std::string& name);
};

// What a call wants to do; Authorize decides whether the principal may.
// Rules that depend on the plan (an agency reports only on its own tasks and
// indicators) are checked where the plan is at hand.
enum class Permission {
  kReadPlan,           // the plan, its matrix, agencies and indicators: everyone
  kManagePlan,         // import plans, assign and revoke responsibilities: admin
  kManageCredentials,  // issue, revoke and list credentials: admin
  kReport,             // submit progress and indicator values: agencies, admin on their behalf
  kSupervise,          // resolve escalations: supervisors, admin
  kAcknowledge,        // acknowledge escalations: agencies (their own), admin
  kAudit,              // read the log, states, proofs: auditors, supervisors, admin
  kServerStats,        // the server's counters (group commits): supervisors, admin
};

absl::Status Authorize(const Principal& principal, Permission permission);

// The principal behind the `authorization: Bearer <token>` metadata or, with
// no token, behind a verified TLS client certificate whose common name is a
// principal name ("agency:qh-stats" for an agency some plan lists,
// "supervisor", "auditor"; admin only by token); UNAUTHENTICATED saying what
// is missing or wrong otherwise.
absl::StatusOr<Principal> Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context, const engine::State& state);

// A fresh token (64 hex chars) and its hash as stored (hex SHA-256).
struct NewToken {
  std::string token;
  std::string sha256_hex;
};
NewToken MintToken();
std::string TokenHash(const std::string& token);

}  // namespace duban::services

#endif  // DUBAN_SERVICES_AUTH_H_
