// Tests of AssignmentClient against an in-process fake service, and of
// ResolveAgency.
#include "clients/dubanctl/client.h"
#include "clients/dubanctl/test_agencies.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace duban::clients {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Serves 5 tasks in pages of 2, and remembers what the last call carried.
class FakeService final : public v1::AssignmentService::Service {
 public:
  grpc::Status ListTasks(grpc::ServerContext* context,
                         const v1::ListTasksRequest* request,
                         v1::ListTasksResponse* response) override {
    Record(context);
    page_tokens.push_back(request->page_token());
    const int start =
        request->page_token().empty() ? 1 : std::stoi(request->page_token());
    for (int n = start; n < start + 2 && n <= 5; ++n) {
      response->add_tasks()->set_number(n);
    }
    if (start + 2 <= 5) response->set_next_page_token(absl::StrCat(start + 2));
    response->set_total_size(5);
    return grpc::Status::OK;
  }

  grpc::Status GetTask(grpc::ServerContext* context,
                       const v1::GetTaskRequest* request,
                       v1::Task* response) override {
    Record(context);
    if (request->number() != 1) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no task 99 in plan p");
    }
    response->set_number(1);
    return grpc::Status::OK;
  }

  std::string authorization;
  std::chrono::system_clock::time_point deadline;
  std::vector<std::string> page_tokens;

 private:
  void Record(grpc::ServerContext* context) {
    auto it = context->client_metadata().find("authorization");
    authorization = it == context->client_metadata().end()
                        ? "<none>"
                        : std::string(it->second.data(), it->second.size());
    deadline = context->deadline();
  }
};

class AssignmentClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  AssignmentClient Client() {
    return AssignmentClient(
        v1::AssignmentService::NewStub(
            server_->InProcessChannel(grpc::ChannelArguments())),
        "s3cret", std::chrono::seconds(7));
  }

  FakeService service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(AssignmentClientTest, SendsBearerTokenAndDeadline) {
  const auto before = std::chrono::system_clock::now();
  v1::GetTaskRequest request;
  request.set_number(1);
  absl::StatusOr<v1::Task> task = Client().GetTask(request);
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->number(), 1);
  EXPECT_EQ(service_.authorization, "Bearer s3cret");
  EXPECT_GE(service_.deadline, before + std::chrono::seconds(6));
  EXPECT_LE(service_.deadline,
            std::chrono::system_clock::now() + std::chrono::seconds(8));
}

TEST_F(AssignmentClientTest, TranslatesErrors) {
  v1::GetTaskRequest request;
  request.set_number(99);
  absl::StatusOr<v1::Task> task = Client().GetTask(request);
  EXPECT_EQ(task.status(), absl::NotFoundError("no task 99 in plan p"));
  // An unimplemented method comes back as UNIMPLEMENTED.
  EXPECT_EQ(Client().GetPlan(v1::GetPlanRequest()).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(AssignmentClientTest, ListAllTasksFollowsPages) {
  absl::StatusOr<std::vector<v1::Task>> tasks =
      Client().ListAllTasks(v1::ListTasksRequest());
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  std::vector<int> numbers;
  for (const v1::Task& task : *tasks) numbers.push_back(task.number());
  EXPECT_THAT(numbers, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(service_.page_tokens, ElementsAre("", "3", "5"));
}

TEST(FromGrpcStatusTest, KeepsCodeAndMessage) {
  EXPECT_EQ(FromGrpcStatus(grpc::Status::OK), absl::OkStatus());
  EXPECT_EQ(
      FromGrpcStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no")),
      absl::PermissionDeniedError("no"));
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")),
            absl::UnavailableError("down"));
}

v1::ListAgenciesResponse Agencies() { return test_fixtures::TestAgencies(); }

TEST(ResolveAgencyTest, AcceptsIdNamesAndAliases) {
  const v1::ListAgenciesResponse agencies = Agencies();
  for (const char* ref : {"qh-hrss", "青海省人力资源和社会保障厅",
                          "省人力资源社会保障厅", "省人社厅", " qh-hrss\n"}) {
    absl::StatusOr<std::string> id = ResolveAgency(agencies, ref);
    ASSERT_TRUE(id.ok()) << ref << ": " << id.status();
    EXPECT_EQ(*id, "qh-hrss") << ref;
  }
  EXPECT_EQ(*ResolveAgency(agencies, "省教育厅"), "qh-edu");
}

TEST(ResolveAgencyTest, RefusesGroupsListingMembers) {
  for (const char* ref : {"各市州政府", "cities"}) {
    absl::StatusOr<std::string> id = ResolveAgency(Agencies(), ref);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(id.status().message(), HasSubstr("is a group"));
    EXPECT_THAT(id.status().message(),
                HasSubstr("西宁市 (xining), 海东市 (haidong)"));
  }
}

TEST(ResolveAgencyTest, UnknownWithHints) {
  absl::StatusOr<std::string> id = ResolveAgency(Agencies(), "教育厅");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(id.status().message(),
            "unknown agency \"教育厅\"; did you mean: 省教育厅 (qh-edu)?");

  id = ResolveAgency(Agencies(), "QH-");  // ids match ignoring ASCII case
  EXPECT_THAT(id.status().message(),
              HasSubstr("省人力资源社会保障厅 (qh-hrss), 省教育厅 (qh-edu)?"));

  id = ResolveAgency(Agencies(), "nobody");
  EXPECT_EQ(id.status(), absl::NotFoundError("unknown agency \"nobody\""));
  EXPECT_EQ(ResolveAgency(Agencies(), "  ").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResolveAgencyTest, AmbiguousName) {
  v1::ListAgenciesResponse agencies = Agencies();
  agencies.mutable_agencies(2)->add_aliases("省人社厅");  // qh-edu too
  absl::StatusOr<std::string> id = ResolveAgency(agencies, "省人社厅");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("ambiguous"));
}

}  // namespace
}  // namespace duban::clients
