#include "services/auth.h"

#include <gtest/gtest.h>

namespace duban::services {
namespace {

engine::State WithCredential(const std::string& principal, const std::string& token) {
  engine::State s;
  duban::v1::Event e;
  e.set_seq(1);
  auto* c = e.mutable_credential_issued();
  c->set_credential_id("c1");
  c->set_principal(principal);
  c->set_token_sha256(TokenHash(token));
  EXPECT_TRUE(s.Apply(e).ok());
  return s;
}

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

TEST(AuthTest, BearerTokenMapsToItsPrincipal) {
  NewToken t = MintToken();
  EXPECT_EQ(t.token.size(), 64u);
  EXPECT_EQ(t.sha256_hex, TokenHash(t.token));
  EXPECT_NE(MintToken().token, t.token);
  engine::State s = WithCredential("admin", t.token);
  const std::string header = "Bearer " + t.token;
  Metadata md{{"authorization", header}};
  auto p = Authenticate(md, nullptr, s);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name(), "admin");
  EXPECT_EQ(p->credential_id, "c1");
}

TEST(AuthTest, MissingOrWrongCredentialsAreUnauthenticated) {
  engine::State s = WithCredential("admin", "secret");
  EXPECT_EQ(Authenticate(Metadata{}, nullptr, s).status().code(), absl::StatusCode::kUnauthenticated);
  Metadata wrong{{"authorization", "Bearer nope"}};
  EXPECT_EQ(Authenticate(wrong, nullptr, s).status().code(), absl::StatusCode::kUnauthenticated);
  Metadata basic{{"authorization", "Basic secret"}};
  EXPECT_EQ(Authenticate(basic, nullptr, s).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(AuthTest, PrincipalsAndPermissions) {
  auto agency = Principal::Parse("agency:qh-hrss");
  ASSERT_TRUE(agency.ok());
  EXPECT_EQ(agency->agency_id, "qh-hrss");
  EXPECT_EQ(agency->name(), "agency:qh-hrss");
  EXPECT_FALSE(Principal::Parse("root").ok());
  EXPECT_FALSE(Principal::Parse("agency:Bad Id").ok());
  EXPECT_TRUE(Authorize(*agency, Permission::kReadPlan).ok());
  EXPECT_EQ(Authorize(*agency, Permission::kManagePlan).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(*Principal::Parse("admin"), Permission::kManagePlan).ok());
  EXPECT_EQ(Authorize(*Principal::Parse("auditor"), Permission::kManagePlan).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(*agency, Permission::kReport).ok());
  EXPECT_EQ(Authorize(*Principal::Parse("supervisor"), Permission::kReport).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(Principal::Parse(std::string(500, 'a')).ok());
  EXPECT_EQ(Authorize(*Principal::Parse("supervisor"), Permission::kManageCredentials).code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace duban::services
