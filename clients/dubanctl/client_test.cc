// Tests of the service clients against in-process fake services (the
// notice watch's resumption and cancellation included), of MakeChannel,
// ResolveAgency, and of token generation and hashing.
#include "clients/dubanctl/client.h"
#include "clients/dubanctl/test_agencies.h"
#include "clients/dubanctl/token.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
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
// What a call carried: its authorization header ("<none>" without one) and
// deadline.
struct Seen {
  std::string authorization;
  std::chrono::system_clock::time_point deadline;

  void Record(grpc::ServerContext* context) {
    auto it = context->client_metadata().find("authorization");
    authorization = it == context->client_metadata().end()
                        ? "<none>"
                        : std::string(it->second.data(), it->second.size());
    deadline = context->deadline();
  }
};

class FakeService final : public v1::AssignmentService::Service, public Seen {
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

  std::vector<std::string> page_tokens;
};

// An in-process gRPC server with a test's fake services, and a channel to it.
class InProcessServerTest : public ::testing::Test {
 protected:
  void Serve(std::initializer_list<grpc::Service*> services) {
    grpc::ServerBuilder builder;
    for (grpc::Service* service : services) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

class AssignmentClientTest : public InProcessServerTest {
 protected:
  void SetUp() override { Serve({&service_}); }

  AssignmentClient Client() {
    return AssignmentClient(v1::AssignmentService::NewStub(channel_), "s3cret",
                            std::chrono::seconds(7));
  }

  FakeService service_;
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


class FakeReporting final : public v1::ReportingService::Service {
 public:
  grpc::Status SubmitProgress(grpc::ServerContext* context,
                              const v1::SubmitProgressRequest* request,
                              v1::ProgressReport* response) override {
    seen.Record(context);
    if (request->expected_revision() == 7) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "expected_revision: 7, but the current one is 2");
    }
    response->set_task_number(request->task_number());
    response->set_status(request->status());
    response->set_revision(1);
    return grpc::Status::OK;
  }
  Seen seen;
};

class FakeAdmin final : public v1::AdminService::Service {
 public:
  grpc::Status IssueCredential(grpc::ServerContext* context,
                               const v1::IssueCredentialRequest* request,
                               v1::Credential* response) override {
    seen.Record(context);
    response->set_credential_id("cred-1");
    response->set_principal(request->principal());
    return grpc::Status::OK;
  }
  Seen seen;
};

// ReportingClient and AdminClient on one in-process channel.
class ServiceClientsTest : public InProcessServerTest {
 protected:
  void SetUp() override { Serve({&reporting_, &admin_}); }

  FakeReporting reporting_;
  FakeAdmin admin_;
};

TEST_F(ServiceClientsTest, ShareTheChannelTokenAndDeadline) {
  const CallSettings settings("agency-token", std::chrono::seconds(5));
  const ReportingClient reporting(channel_, settings);
  const AdminClient admin(channel_, settings);
  const auto before = std::chrono::system_clock::now();

  v1::SubmitProgressRequest request;
  request.set_task_number(12);
  request.set_status(v1::AT_RISK);
  absl::StatusOr<v1::ProgressReport> report = reporting.SubmitProgress(request);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->task_number(), 12);
  EXPECT_EQ(report->status(), v1::AT_RISK);
  EXPECT_EQ(reporting_.seen.authorization, "Bearer agency-token");
  EXPECT_GE(reporting_.seen.deadline, before + std::chrono::seconds(4));
  EXPECT_LE(reporting_.seen.deadline,
            std::chrono::system_clock::now() + std::chrono::seconds(6));

  v1::IssueCredentialRequest issue;
  issue.set_principal("supervisor");
  absl::StatusOr<v1::Credential> credential = admin.IssueCredential(issue);
  ASSERT_TRUE(credential.ok()) << credential.status();
  EXPECT_EQ(credential->principal(), "supervisor");
  EXPECT_EQ(admin_.seen.authorization, "Bearer agency-token");
}

TEST_F(ServiceClientsTest, EmptyTokenSendsNoAuthorization) {
  // As with a TLS client certificate and no token.
  const ReportingClient reporting(channel_,
                                  CallSettings("", std::chrono::seconds(5)));
  ASSERT_TRUE(reporting.SubmitProgress(v1::SubmitProgressRequest()).ok());
  EXPECT_EQ(reporting_.seen.authorization, "<none>");
}

TEST_F(ServiceClientsTest, TranslatesErrorsAndUnimplemented) {
  const ReportingClient reporting(channel_,
                                  CallSettings("t", std::chrono::seconds(5)));
  v1::SubmitProgressRequest request;
  request.set_expected_revision(7);
  EXPECT_EQ(reporting.SubmitProgress(request).status(),
            absl::FailedPreconditionError(
                "expected_revision: 7, but the current one is 2"));
  EXPECT_EQ(reporting.GetIndicatorSeries(v1::GetIndicatorSeriesRequest())
                .status()
                .code(),
            absl::StatusCode::kUnimplemented);
  const AdminClient admin(channel_, CallSettings("t", std::chrono::seconds(5)));
  EXPECT_EQ(admin.ListCredentials(v1::ListCredentialsRequest()).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(MakeChannelTest, PlaintextAndTls) {
  ChannelOptions plain;
  plain.address = "127.0.0.1:1";
  EXPECT_TRUE(MakeChannel(plain).ok());
  ChannelOptions tls;
  tls.address = "127.0.0.1:1";
  tls.tls = true;
  tls.server_name = "duban.test";
  EXPECT_TRUE(MakeChannel(tls).ok());  // connects lazily: nothing to fail yet
}

TEST(MakeChannelTest, RefusesContradictions) {
  ChannelOptions options;
  options.address = "127.0.0.1:1";
  options.server_name = "duban.test";  // without TLS
  EXPECT_EQ(MakeChannel(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.tls = true;
  options.private_key = "-----BEGIN PRIVATE KEY-----";  // without its chain
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(channel.status().message(), HasSubstr("private key"));
}

TEST(TokenTest, BearerTokensAre64FreshHexDigits) {
  absl::StatusOr<std::string> a = NewBearerToken();
  absl::StatusOr<std::string> b = NewBearerToken();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(*a, testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_THAT(*b, testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_NE(*a, *b);
  EXPECT_THAT(*RandomHex(16), testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_FALSE(RandomHex(0).ok());
}

TEST(TokenTest, Sha256OfKnownStrings) {
  // FIPS 180-2 examples.
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The hash of the token string (its 64 hex characters), not of its bytes.
  const std::string token(64, '0');
  EXPECT_EQ(Sha256Hex(token),
            "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55");
  EXPECT_EQ(Sha256Hex(token), absl::AsciiStrToLower(Sha256Hex(token)));
}

// Serves WatchNotices from a script: the n-th call writes the n-th
// session's notices (whatever the cursor) and ends with its status, or,
// for a blocking session, waits until the client cancels. Records each
// call's cursor. Unary: GetClock.
class FakeSupervision final : public v1::SupervisionService::Service {
 public:
  struct Session {
    std::vector<uint64_t> seqs;
    grpc::Status end = grpc::Status::OK;
    bool block = false;
  };

  grpc::Status WatchNotices(grpc::ServerContext* context,
                            const v1::WatchNoticesRequest* request,
                            grpc::ServerWriter<v1::Notice>* writer) override {
    Session session;
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen.Record(context);
      recipients.push_back(request->recipient());
      cursors.push_back(request->after_seq());
      if (sessions.empty()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no more sessions");
      }
      session = sessions.front();
      sessions.erase(sessions.begin());
    }
    for (uint64_t seq : session.seqs) {
      v1::Notice notice;
      notice.set_seq(seq);
      notice.set_id(absl::StrCat("notice-", seq));
      writer->Write(notice);
    }
    while (session.block && !context->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return session.end;
  }

  grpc::Status GetClock(grpc::ServerContext* context,
                        const v1::GetClockRequest*,
                        v1::Clock* response) override {
    seen.Record(context);
    response->set_simulated(true);
    response->set_now_micros(1643644800000000);
    return grpc::Status::OK;
  }

  std::mutex mutex;
  std::vector<Session> sessions;
  std::vector<std::string> recipients;
  std::vector<uint64_t> cursors;
  Seen seen;
};

class SupervisionClientTest : public InProcessServerTest {
 protected:
  void SetUp() override { Serve({&service_}); }

  SupervisionClient Client() {
    return SupervisionClient(channel_, CallSettings("sup-token", std::chrono::seconds(7)));
  }

  static ResumeOptions Fast() {
    ResumeOptions options;
    options.initial_backoff = std::chrono::milliseconds(1);
    options.max_backoff = std::chrono::milliseconds(4);
    return options;
  }

  FakeSupervision service_;
};

TEST_F(SupervisionClientTest, UnaryCallsCarryTokenAndDeadline) {
  const auto before = std::chrono::system_clock::now();
  absl::StatusOr<v1::Clock> clock = Client().GetClock(v1::GetClockRequest());
  ASSERT_TRUE(clock.ok()) << clock.status();
  EXPECT_TRUE(clock->simulated());
  EXPECT_EQ(service_.seen.authorization, "Bearer sup-token");
  EXPECT_GE(service_.seen.deadline, before + std::chrono::seconds(6));
  EXPECT_LE(service_.seen.deadline,
            std::chrono::system_clock::now() + std::chrono::seconds(8));
  EXPECT_EQ(Client().Evaluate(v1::EvaluateRequest()).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(SupervisionClientTest, WatchDeliversUntilTheStreamEnds) {
  service_.sessions = {{{4, 5, 6}, grpc::Status::OK}};
  std::vector<uint64_t> seqs;
  const absl::Status status = Client().Watch(
      "supervisor", 3,
      [&](const v1::Notice& notice) { seqs.push_back(notice.seq()); });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(seqs, ElementsAre(4, 5, 6));
  EXPECT_THAT(service_.cursors, ElementsAre(3));
  EXPECT_THAT(service_.recipients, ElementsAre("supervisor"));
  EXPECT_EQ(service_.seen.authorization, "Bearer sup-token");
  // A stream has no deadline: it lasts as long as the watch.
  EXPECT_GT(service_.seen.deadline,
            std::chrono::system_clock::now() + std::chrono::hours(24));
}

TEST_F(SupervisionClientTest, WatchReturnsTheStreamsError) {
  service_.sessions = {
      {{1}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "server stopping")}};
  std::vector<uint64_t> seqs;
  EXPECT_EQ(
      Client().Watch("agency:qh-edu", 0,
                     [&](const v1::Notice& n) { seqs.push_back(n.seq()); }),
      absl::UnavailableError("server stopping"));
  EXPECT_THAT(seqs, ElementsAre(1));
}

TEST_F(SupervisionClientTest, ResumesAfterTheLastSeqWithoutLossOrRepeat) {
  service_.sessions = {
      {{1, 2, 3}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "dropped")},
      {{3, 4}, grpc::Status::OK},  // repeats 3; then the server ends it
      {{},
       grpc::Status(grpc::StatusCode::INTERNAL, "stream reset")},  // nothing
      {{5}, grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "revoked")},
  };
  std::vector<uint64_t> seqs;
  std::vector<uint64_t> retried_after;
  std::vector<absl::StatusCode> retried_why;
  ResumeOptions options = Fast();
  options.on_retry = [&](const absl::Status& why,
                         std::chrono::milliseconds wait, uint64_t after) {
    retried_why.push_back(why.code());
    retried_after.push_back(after);
    EXPECT_LE(wait, std::chrono::milliseconds(5));  // 4 ms + a fifth
  };
  const absl::Status status = Client().WatchResuming(
      "supervisor", 0,
      [&](const v1::Notice& notice) { seqs.push_back(notice.seq()); }, options);
  EXPECT_EQ(status, absl::PermissionDeniedError("revoked"));  // not retried
  EXPECT_THAT(seqs, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(service_.cursors, ElementsAre(0, 3, 4, 4));
  EXPECT_THAT(retried_after, ElementsAre(3, 4, 4));
  EXPECT_THAT(retried_why, ElementsAre(absl::StatusCode::kUnavailable,
                                       absl::StatusCode::kUnavailable,
                                       absl::StatusCode::kInternal));
}

TEST_F(SupervisionClientTest, GivesUpAfterMaxAttemptsWithoutANotice) {
  service_.sessions.assign(
      5, {{}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")});
  ResumeOptions options = Fast();
  options.max_attempts = 2;
  int retries = 0;
  options.on_retry = [&](const absl::Status&, std::chrono::milliseconds,
                         uint64_t) { ++retries; };
  EXPECT_EQ(Client().WatchResuming(
                "supervisor", 7, [](const v1::Notice&) {}, options),
            absl::UnavailableError("down"));
  EXPECT_EQ(retries, 2);
  EXPECT_THAT(service_.cursors, ElementsAre(7, 7, 7));
}

TEST(IsResumableTest, TransientOnly) {
  EXPECT_TRUE(IsResumable(absl::OkStatus()));  // the server ended the stream
  EXPECT_TRUE(IsResumable(absl::UnavailableError("")));
  EXPECT_TRUE(IsResumable(absl::InternalError("")));
  EXPECT_TRUE(IsResumable(absl::DeadlineExceededError("")));
  EXPECT_FALSE(IsResumable(absl::InvalidArgumentError("")));
  EXPECT_FALSE(IsResumable(absl::PermissionDeniedError("")));
  EXPECT_FALSE(IsResumable(absl::UnauthenticatedError("")));
  EXPECT_FALSE(IsResumable(absl::UnimplementedError("")));
}

TEST_F(SupervisionClientTest, CancellerStopsAWatchFromAnotherThread) {
  service_.sessions = {{{1}, grpc::Status::OK, /*block=*/true}};
  WatchCanceller canceller;
  std::atomic<int> seen{0};
  std::thread cancel([&] {
    while (seen == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    canceller.Cancel();
  });
  const absl::Status status = Client().WatchResuming(
      "supervisor", 0, [&](const v1::Notice&) { ++seen; }, Fast(), &canceller);
  cancel.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 1);
  EXPECT_THAT(service_.cursors, ElementsAre(0));  // not resumed
  EXPECT_TRUE(canceller.cancelled());

  // Once cancelled, a watch does not even start.
  EXPECT_EQ(Client()
                .Watch(
                    "supervisor", 0, [](const v1::Notice&) {}, &canceller)
                .code(),
            absl::StatusCode::kCancelled);
  EXPECT_THAT(service_.cursors, ElementsAre(0));
  EXPECT_TRUE(canceller.WaitFor(std::chrono::hours(1)));  // at once
}

TEST_F(SupervisionClientTest, CancellerInterruptsTheBackoff) {
  service_.sessions = {{{}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "x")}};
  ResumeOptions options;
  options.initial_backoff = std::chrono::hours(1);
  options.max_backoff = std::chrono::hours(1);
  WatchCanceller canceller;
  options.on_retry = [&](const absl::Status&, std::chrono::milliseconds,
                         uint64_t) { canceller.Cancel(); };
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      Client()
          .WatchResuming(
              "supervisor", 0, [](const v1::Notice&) {}, options, &canceller)
          .code(),
      absl::StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace duban::clients
