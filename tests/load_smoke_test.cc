// duban-load against a real server for about a second per method, at
// concurrency 4: it must exit 0, count calls and see no errors. No timing is
// asserted (CI machines vary); scripts/bench measures.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "duban/v1/admin.grpc.pb.h"
#include "storage/hash.h"
#include "tests/duband_process.h"

namespace duban::testing {
namespace {

class LoadSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = DubandProcess::Start(dir_.path() + "/data");
    ASSERT_NE(server_, nullptr);
  }
  nlohmann::json Load(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {DUBAN_LOAD_PATH, "--target", server_->address(),
                                     "--token_file", dir_.path() + "/data/admin.token",
                                     "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }

  TempDir dir_;
  std::unique_ptr<DubandProcess> server_;
};

TEST_F(LoadSmokeTest, PingSubmitProgressAndReadEvents) {
  nlohmann::json ping = Load({"--method", "ping", "--concurrency", "4", "--duration", "1",
                              "--warmup", "0.2"});
  EXPECT_GT(ping.value("calls", 0), 0) << ping.dump();
  EXPECT_EQ(ping.value("errors", -1), 0) << ping.dump();

  nlohmann::json submit = Load({"--method", "submit_progress", "--concurrency", "4",
                                "--duration", "1", "--warmup", "0.2"});
  EXPECT_GT(submit.value("calls", 0), 0) << submit.dump();
  EXPECT_EQ(submit.value("errors", -1), 0) << submit.dump();
  ASSERT_TRUE(submit.contains("group_commit")) << submit.dump();
  EXPECT_GT(submit["group_commit"].value("groups", 0), 0) << submit.dump();
  EXPECT_GE(submit["group_commit"].value("commands", 0), submit["group_commit"].value("groups", 0));
  // The CPU each call cost, server and duban-load, and the machine's idle share.
  for (const nlohmann::json* run : {&ping, &submit}) {
    ASSERT_TRUE(run->contains("cpu")) << run->dump();
    const nlohmann::json& cpu = (*run)["cpu"];
    EXPECT_GT(cpu.value("server_us_per_call", 0.0), 0.0) << cpu.dump();
    EXPECT_GT(cpu.value("client_us_per_call", 0.0), 0.0) << cpu.dump();
    EXPECT_GE(cpu.value("machine_idle", -1.0), 0.0) << cpu.dump();
    EXPECT_LE(cpu.value("machine_idle", 2.0), 1.0) << cpu.dump();
  }

  nlohmann::json read = Load({"--method", "read_events", "--repeat", "1"});
  EXPECT_GT(read.value("events", 0), 0) << read.dump();
  EXPECT_EQ(read.value("errors", -1), 0) << read.dump();
  EXPECT_EQ(read.value("rpc", ""), "ReadEventBatches") << read.dump();

  // The old one-event-per-message stream and the batched one with every
  // event parsed read the same number of events.
  nlohmann::json old = Load({"--method", "read_events_unary_stream", "--repeat", "1"});
  EXPECT_EQ(old.value("rpc", ""), "ReadEvents") << old.dump();
  EXPECT_GE(old.value("events", 0), read.value("events", 1)) << old.dump();  // ticks may add
  nlohmann::json parsed = Load({"--method", "read_events", "--repeat", "1", "--parse"});
  EXPECT_GE(parsed.value("events", 0), read.value("events", 1)) << parsed.dump();
}

// Over a fleet duban-gen wrote: --plan_copies spreads the reports over every
// copy's (task, lead agency) pairs, each agency with a credential for its plan.
TEST(LoadSmokeFleetTest, SubmitProgressOverPlanCopies) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  CommandResult gen = RunCommand({DUBAN_GEN_PATH, "--data_dir", data, "--plans", "3", "--events",
                                  "4000", "--tail", "0"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto server = DubandProcess::Start(data, {"--no_plan_import", "--tick_seconds=0"});
  ASSERT_NE(server, nullptr);
  auto load = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {DUBAN_LOAD_PATH, "--target", server->address(),
                                     "--token_file", data + "/admin.token", "--json",
                                     "--method", "submit_progress", "--concurrency", "6",
                                     "--duration", "0.5", "--warmup", "0.1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  };
  CommandResult r = load({"--plan_copies", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_GT(j.value("calls", 0), 0) << j.dump();
  EXPECT_EQ(j.value("errors", -1), 0) << j.dump();
  EXPECT_EQ(j["setup"].value("plans", 0), 3) << j.dump();
  EXPECT_EQ(j["setup"].value("lead_pairs", 0), 3 * 35) << "35 (task, lead) pairs per Qinghai plan";
  EXPECT_EQ(j["setup"].value("agencies", 0), 3 * 15) << "a credential per (plan, agency)";
  // Without copies the load tool looks for the plan's own id, which the
  // fleet does not have: it says so and fails.
  CommandResult missing = load({});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("GetPlan qinghai-employment-2021"), std::string::npos) << missing.err;
}

TEST_F(LoadSmokeTest, PingNeedsNoCredentialServerStatsNeedAdminOrSupervisor) {
  auto admin = v1::AdminService::NewStub(server_->Channel());
  {
    grpc::ClientContext ctx;  // no token at all
    v1::PingResponse resp;
    grpc::Status s = admin->Ping(&ctx, v1::PingRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    v1::ServerStats stats;
    EXPECT_EQ(admin->GetServerStats(&ctx, {}, &stats).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  v1::ServerStats stats;
  grpc::Status s = admin->GetServerStats(server_->Context().get(), {}, &stats);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The admin credential and the plan import were written at start.
  EXPECT_GE(stats.group_commit().groups(), 2u);
  EXPECT_GE(stats.group_commit().events(), stats.group_commit().commands());
  EXPECT_EQ(stats.group_commit().commands_per_group_size(), 10);
  EXPECT_GT(stats.head_seq(), 0u);
  // The server's CPU time so far, growing as it works.
  EXPECT_GT(stats.process_cpu_micros(), 0u);
  for (int i = 0; i < 50; ++i) {
    grpc::ClientContext ctx;
    v1::PingResponse resp;
    ASSERT_TRUE(admin->Ping(&ctx, v1::PingRequest(), &resp).ok());
  }
  v1::ServerStats later;
  ASSERT_TRUE(admin->GetServerStats(server_->Context().get(), {}, &later).ok());
  EXPECT_GT(later.process_cpu_micros(), stats.process_cpu_micros());

  // An auditor reads the log but not the server's counters.
  const std::string token(64, 'a');
  v1::IssueCredentialRequest issue;
  issue.set_request_id("auditor-1");
  issue.set_principal("auditor");
  issue.set_token_sha256(storage::ToHex(storage::Sha256(token)));
  v1::Credential cred;
  ASSERT_TRUE(admin->IssueCredential(server_->Context().get(), issue, &cred).ok());
  EXPECT_EQ(admin->GetServerStats(server_->Context(token).get(), {}, &stats).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace duban::testing
