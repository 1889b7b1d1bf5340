#include "services/auth.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/validate.h"
#include "storage/hash.h"

namespace duban::services {

std::string Principal::name() const {
  switch (kind) {
    case Kind::kAdmin:
      return "admin";
    case Kind::kSupervisor:
      return "supervisor";
    case Kind::kAuditor:
      return "auditor";
    case Kind::kAgency:
      return absl::StrCat("agency:", agency_id);
    case Kind::kSystem:
      return "system";
  }
  return "system";
}

absl::StatusOr<Principal> Principal::Parse(const std::string& name) {
  Principal p;
  if (name.size() > engine::kMaxIdBytes + 7) {
    return absl::InvalidArgumentError("principal: too long to be a principal");
  }
  if (name == "admin") {
    p.kind = Kind::kAdmin;
  } else if (name == "supervisor") {
    p.kind = Kind::kSupervisor;
  } else if (name == "auditor") {
    p.kind = Kind::kAuditor;
  } else if (name == "system") {
    p.kind = Kind::kSystem;
  } else if (absl::StartsWith(name, "agency:") &&
             engine::CheckId("agency", name.substr(7)).ok()) {
    p.kind = Kind::kAgency;
    p.agency_id = name.substr(7);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("principal: unknown principal \"", name, "\""));
  }
  return p;
}

absl::Status Authorize(const Principal& principal, Permission permission) {
  using Kind = Principal::Kind;
  const bool admin = principal.kind == Kind::kAdmin || principal.kind == Kind::kSystem;
  const char* needs = "the admin credential";
  switch (permission) {
    case Permission::kReadPlan:
      return absl::OkStatus();  // every authenticated principal reads the plan
    case Permission::kManagePlan:
    case Permission::kManageCredentials:
      if (admin) return absl::OkStatus();
      break;
    case Permission::kReport:
    case Permission::kAcknowledge:
      if (admin || principal.kind == Kind::kAgency) return absl::OkStatus();
      needs = "an agency's credential (supervisors and auditors do not report)";
      break;
    case Permission::kAudit:
      if (principal.kind != Kind::kAgency) return absl::OkStatus();
      needs = "an auditor's, supervisor's or admin credential";
      break;
    case Permission::kSupervise:
    case Permission::kServerStats:
      if (admin || principal.kind == Kind::kSupervisor) return absl::OkStatus();
      needs = "a supervisor's credential";
      break;
  }
  return absl::PermissionDeniedError(
      absl::StrCat(principal.name(), " may not do this: it needs ", needs));
}

std::string TokenHash(const std::string& token) {
  return storage::ToHex(storage::Sha256(token));
}

NewToken MintToken() {
  NewToken t;
  t.token = storage::RandomHex(32);
  t.sha256_hex = TokenHash(t.token);
  return t;
}

absl::StatusOr<Principal> Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context, const engine::State& state) {
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    if (auth_context != nullptr && auth_context->IsPeerAuthenticated()) {
      for (const grpc::string_ref& cn : auth_context->FindPropertyValues("x509_common_name")) {
        const std::string name(cn.data(), std::min<size_t>(cn.size(), 128));
        absl::StatusOr<Principal> p = Principal::Parse(name);
        if (!p.ok() || p->kind == Principal::Kind::kSystem || p->kind == Principal::Kind::kAdmin) {
          return absl::UnauthenticatedError(absl::StrCat(
              "the client certificate's common name \"", name,
              "\" is not a certificate principal (supervisor, auditor or agency:<id>; admin uses "
              "its token)"));
        }
        if (p->kind == Principal::Kind::kAgency && !state.AnyPlanLists(p->agency_id)) {
          return absl::UnauthenticatedError(
              absl::StrCat("the client certificate names agency \"", p->agency_id,
                           "\", which no plan lists"));
        }
        p->credential_id = "tls-client-certificate";
        return p;
      }
    }
    return absl::UnauthenticatedError(
        "no credentials: send the metadata 'authorization: Bearer <token>'");
  }
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&value, "Bearer ") && !absl::ConsumePrefix(&value, "bearer ")) {
    return absl::UnauthenticatedError("authorization metadata must be 'Bearer <token>'");
  }
  const engine::Credential* c = state.FindCredentialByHash(TokenHash(std::string(value)));
  if (c == nullptr) return absl::UnauthenticatedError("invalid or revoked token");
  absl::StatusOr<Principal> p = Principal::Parse(c->principal);
  if (!p.ok()) return absl::UnauthenticatedError("credential names an unknown principal");
  p->credential_id = c->credential_id;
  p->plan_id = c->plan_id;
  return p;
}

}  // namespace duban::services
