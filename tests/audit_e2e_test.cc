// End to end for auditors: the log streamed and filtered, the state at a
// recorded moment equal to what the live server answered then, signed
// checkpoints and Merkle proofs checked with the storage library's
// verifiers, and tampering with the stored log named by VerifyLog.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "duban/v1/assignment.grpc.pb.h"
#include "duban/v1/audit.grpc.pb.h"
#include "duban/v1/reporting.grpc.pb.h"
#include "storage/checkpoint.h"
#include "storage/event_log.h"
#include "storage/hash.h"
#include "storage/merkle.h"
#include "tests/duband_process.h"

namespace duban::testing {
namespace {

namespace v1 = duban::v1;
using ::testing::HasSubstr;

constexpr char kPlan[] = "qinghai-employment-2021";

class AuditE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    Start();
  }

  void Start(const std::vector<std::string>& extra_args = {}) {
    server_ = DubandProcess::Start(data_, extra_args);
    ASSERT_NE(server_, nullptr);
    auto channel = server_->Channel();
    assignment_ = v1::AssignmentService::NewStub(channel);
    reporting_ = v1::ReportingService::NewStub(channel);
    audit_ = v1::AuditService::NewStub(channel);
  }

  std::vector<v1::Task> Tasks() {
    v1::ListTasksRequest req;
    req.set_plan_id(kPlan);
    req.set_page_size(100);
    v1::ListTasksResponse resp;
    EXPECT_TRUE(assignment_->ListTasks(server_->Context().get(), req, &resp).ok());
    return {resp.tasks().begin(), resp.tasks().end()};
  }

  uint64_t Revision() {
    v1::GetPlanRequest req;
    req.set_plan_id(kPlan);
    v1::Plan plan;
    EXPECT_TRUE(assignment_->GetPlan(server_->Context().get(), req, &plan).ok());
    return plan.revision();
  }

  std::vector<v1::AuditEvent> Events(v1::ReadEventsRequest req) {
    std::vector<v1::AuditEvent> out;
    auto ctx = server_->Context();
    auto reader = audit_->ReadEvents(ctx.get(), req);
    v1::AuditEvent e;
    while (reader->Read(&e)) out.push_back(e);
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // ReadEventBatches' events, flattened, and how many batches carried them.
  std::vector<v1::AuditEvent> BatchedEvents(const v1::ReadEventsRequest& req,
                                            int* batches = nullptr) {
    std::vector<v1::AuditEvent> out;
    auto ctx = server_->Context();
    auto reader = audit_->ReadEventBatches(ctx.get(), req);
    v1::EventBatch batch;
    int n = 0;
    while (reader->Read(&batch)) {
      ++n;
      EXPECT_GT(batch.events_size(), 0);
      for (auto& e : *batch.mutable_events()) out.push_back(std::move(e));
    }
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (batches != nullptr) *batches = n;
    return out;
  }

  v1::SignedCheckpoint Checkpoint(const std::string& id) {
    v1::GetCheckpointRequest req;
    req.set_request_id(id);
    req.set_make_new(true);
    v1::SignedCheckpoint out;
    grpc::Status s = audit_->GetCheckpoint(server_->Context().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  void Assign(const std::string& id, int task, const std::string& agency) {
    v1::AssignResponsibilityRequest req;
    req.set_request_id(id);
    req.set_plan_id(kPlan);
    req.set_task_number(task);
    req.set_agency_id(agency);
    req.set_role(v1::SUPPORT);
    req.set_reason("审计测试");
    v1::Task t;
    ASSERT_TRUE(assignment_->AssignResponsibility(server_->Context().get(), req, &t).ok());
  }

  void Report(const std::string& id, int task, int year, const std::string& agency,
              v1::ProgressStatus status) {
    v1::SubmitProgressRequest req;
    req.set_request_id(id);
    req.set_plan_id(kPlan);
    req.set_task_number(task);
    req.set_year(year);
    req.set_agency_id(agency);
    req.set_status(status);
    req.set_summary("年度报告：审计可追溯");
    v1::ProgressReport out;
    ASSERT_TRUE(reporting_->SubmitProgress(server_->Context().get(), req, &out).ok());
  }

  // Opens the stopped server's RocksDB directly and hands it to `fn`.
  void WithStoredLog(const std::function<void(rocksdb::DB*)>& fn) {
    WithStoredLog([&](rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>&) { fn(db); });
  }
  void WithStoredLog(
      const std::function<void(rocksdb::DB*, const std::vector<rocksdb::ColumnFamilyHandle*>&)>& fn) {
    rocksdb::Options options;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, data_ + "/log", &names).ok());
    for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, data_ + "/log", families, &handles, &db).ok());
    fn(db, handles);
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }

  // GetStateAt(seq) from the running server.
  v1::StateAt StateAt(uint64_t seq) {
    v1::GetStateAtRequest req;
    req.set_plan_id(kPlan);
    req.set_seq(seq);
    v1::StateAt then;
    EXPECT_TRUE(audit_->GetStateAt(server_->Context().get(), req, &then).ok());
    return then;
  }

  // The state at `seq` has exactly the tasks the live server answered then.
  static void ExpectTasksAt(const v1::StateAt& then, uint64_t seq, const std::vector<v1::Task>& tasks) {
    EXPECT_EQ(then.seq(), seq);
    ASSERT_EQ(then.tasks_size(), static_cast<int>(tasks.size()));
    for (size_t i = 0; i < tasks.size(); ++i) {
      EXPECT_EQ(then.tasks(i).SerializeAsString(), tasks[i].SerializeAsString())
          << "task " << tasks[i].number() << " at seq " << seq;
    }
  }

  // VerifyLog's answer from the running server.
  v1::VerifyLogResponse VerifyLog() {
    v1::VerifyLogResponse verified;
    EXPECT_TRUE(audit_->VerifyLog(server_->Context().get(), {}, &verified).ok());
    return verified;
  }

  // VerifyLog names `seq` as the first that disagrees, saying `what`.
  void ExpectVerifyLogNames(uint64_t seq, const std::string& what) {
    const v1::VerifyLogResponse verified = VerifyLog();
    EXPECT_FALSE(verified.ok());
    EXPECT_EQ(verified.first_bad_seq(), seq) << verified.problem();
    EXPECT_THAT(verified.problem(), HasSubstr(what));
  }

  static std::string Key(uint64_t seq) {
    std::string key(8, '\0');
    for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(seq >> (56 - 8 * i));
    return key;
  }

  // Replaces `from` by `to` (the same length) in event `seq`'s stored bytes.
  void EditStoredEvent(uint64_t seq, const std::string& from, const std::string& to) {
    WithStoredLog([&](rocksdb::DB* db) {
      std::string value;
      ASSERT_TRUE(db->Get({}, Key(seq), &value).ok());
      const size_t at = value.find(from);
      ASSERT_NE(at, std::string::npos);
      value.replace(at, from.size(), to);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), Key(seq), value).ok());
    });
  }

  TempDir dir_;
  std::string data_;
  std::unique_ptr<DubandProcess> server_;
  std::unique_ptr<v1::AssignmentService::Stub> assignment_;
  std::unique_ptr<v1::ReportingService::Stub> reporting_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
};

TEST_F(AuditE2ETest, StateAtRecordedSeqsIsWhatTheLiveServerAnswered) {
  // Record what the live server answered after each change.
  std::map<uint64_t, std::vector<v1::Task>> seen;
  seen[Revision()] = Tasks();
  Assign("a1", 20, "qh-finance");
  seen[Revision()] = Tasks();
  Report("r1", 43, 2021, "qh-hrss", v1::BEHIND);  // also opens a task-at-risk escalation
  seen[Revision()] = Tasks();
  Assign("a2", 20, "qh-drc");
  seen[Revision()] = Tasks();
  Report("r2", 43, 2021, "qh-hrss", v1::ON_TRACK);  // a revision: clears it
  seen[Revision()] = Tasks();
  for (const auto& [seq, tasks] : seen) ExpectTasksAt(StateAt(seq), seq, tasks);
  // At the seq after the BEHIND report its task-at-risk escalation was open;
  // now it is cleared. (On today's clock every report of 2021–2025 is long
  // overdue, so there are many other escalations.)
  auto at_risk = [](const v1::StateAt& s) {
    for (const auto& e : s.escalations()) {
      if (e.subject().rule_id() == "task-at-risk" && e.subject().task_number() == 43) return e;
    }
    return v1::Escalation();
  };
  auto it = std::next(seen.begin(), 2);
  v1::GetStateAtRequest req;
  req.set_plan_id(kPlan);
  req.set_seq(it->first);
  v1::StateAt then;
  ASSERT_TRUE(audit_->GetStateAt(server_->Context().get(), req, &then).ok());
  EXPECT_EQ(at_risk(then).state(), v1::OPEN);
  ASSERT_EQ(then.reports_size(), 1);
  req.set_seq(0);
  req.set_at_micros(absl::ToUnixMicros(absl::Now()));
  ASSERT_TRUE(audit_->GetStateAt(server_->Context().get(), req, &then).ok());
  EXPECT_EQ(at_risk(then).state(), v1::CLEARED);
  EXPECT_EQ(then.reports_size(), 2);

  // Why it happened: the rule, the ruleset version, the report it rested on,
  // and what cleared it.
  v1::ExplainEscalationRequest explain;
  explain.set_plan_id(kPlan);
  explain.set_escalation_id(at_risk(then).id());
  v1::Explanation why;
  ASSERT_TRUE(audit_->ExplainEscalation(server_->Context().get(), explain, &why).ok());
  EXPECT_EQ(why.rule().id(), "task-at-risk");
  EXPECT_EQ(why.rule().kind(), v1::TASK_AT_RISK);
  EXPECT_EQ(why.ruleset_version(), 1u);
  EXPECT_GT(why.ruleset_seq(), 0u);
  ASSERT_EQ(why.facts_size(), 1);
  EXPECT_EQ(why.facts(0).event().progress_reported().report().status(), v1::BEHIND);
  ASSERT_EQ(why.causes_size(), 2);  // the BEHIND report opened it, the revision cleared it
  EXPECT_EQ(why.causes(1).event().progress_reported().report().status(), v1::ON_TRACK);
}

TEST_F(AuditE2ETest, ReadEventsFiltersAndResumes) {
  Assign("a1", 20, "qh-finance");
  Report("r1", 43, 2021, "qh-hrss", v1::ON_TRACK);
  const uint64_t head = Revision();
  auto all = Events({});
  ASSERT_GE(all.size(), head);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].event().seq(), i + 1);
    EXPECT_EQ(all[i].hash().size(), 32u);
    if (i > 0) {
      EXPECT_EQ(all[i].event().prev_hash(), all[i - 1].hash());
    }
    // `stored` is what `hash` covers, and it is the event that was sent.
    EXPECT_EQ(storage::ChainHash(all[i].event().prev_hash(), all[i].stored()), all[i].hash())
        << "seq " << i + 1;
    v1::Event parsed;
    ASSERT_TRUE(parsed.ParseFromString(all[i].stored())) << "seq " << i + 1;
    EXPECT_EQ(parsed.SerializeAsString(), all[i].event().SerializeAsString());
  }
  v1::ReadEventsRequest by_task;
  by_task.set_task_number(20);
  by_task.set_agency_id("qh-finance");
  auto task20 = Events(by_task);
  ASSERT_EQ(task20.size(), 1u);
  EXPECT_EQ(task20[0].event().responsibility_assigned().reason(), "审计测试");
  EXPECT_EQ(task20[0].event().principal(), "admin");
  EXPECT_EQ(task20[0].event().request_id(), "a1");
  v1::ReadEventsRequest by_type;
  by_type.add_event_types("progress_reported");
  ASSERT_EQ(Events(by_type).size(), 1u);
  // Resume from the middle: the rest, in order.
  v1::ReadEventsRequest resume;
  resume.set_from_seq(100);
  auto rest = Events(resume);
  ASSERT_EQ(rest.size(), all.size() - 99);
  EXPECT_EQ(rest.front().event().seq(), 100u);
  // Agencies do not audit.
  v1::ReadEventsRequest none;
  grpc::ClientContext ctx;
  auto reader = audit_->ReadEvents(&ctx, none);
  v1::AuditEvent e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// ReadEventBatches returns exactly what ReadEvents returns: the same seqs,
// stored bytes and hashes, unfiltered (stored bytes only, nothing parsed),
// filtered (with the parsed event) and resumed from a seq.
TEST_F(AuditE2ETest, ReadEventBatchesMatchesReadEvents) {
  Assign("a1", 20, "qh-finance");
  Report("r1", 43, 2021, "qh-hrss", v1::ON_TRACK);
  Report("r2", 43, 2022, "qh-hrss", v1::BEHIND);
  const uint64_t head = Events({}).size();
  auto same = [](const std::vector<v1::AuditEvent>& unary,
                 const std::vector<v1::AuditEvent>& batched, bool parsed) {
    ASSERT_EQ(batched.size(), unary.size());
    for (size_t i = 0; i < unary.size(); ++i) {
      const uint64_t seq = unary[i].event().seq();
      EXPECT_EQ(batched[i].stored(), unary[i].stored()) << "seq " << seq;
      EXPECT_EQ(batched[i].hash(), unary[i].hash()) << "seq " << seq;
      v1::Event from_stored;
      ASSERT_TRUE(from_stored.ParseFromString(batched[i].stored())) << "seq " << seq;
      EXPECT_EQ(from_stored.seq(), seq);
      EXPECT_EQ(storage::ChainHash(from_stored.prev_hash(), batched[i].stored()),
                batched[i].hash());
      if (parsed) {
        EXPECT_EQ(batched[i].event().SerializeAsString(), unary[i].event().SerializeAsString());
      } else {
        EXPECT_FALSE(batched[i].has_event()) << "seq " << seq << ": parsed without a filter";
      }
    }
  };
  v1::ReadEventsRequest all;
  all.set_to_seq(head);  // the rules' ticks may append meanwhile
  auto unary_all = Events(all);
  ASSERT_EQ(unary_all.size(), head);
  int batches = 0;
  same(unary_all, BatchedEvents(all, &batches), false);
  EXPECT_GE(batches, 1);
  EXPECT_LT(static_cast<uint64_t>(batches), head / 10);  // many events per message

  v1::ReadEventsRequest resume = all;
  resume.set_from_seq(100);
  auto unary_rest = Events(resume);
  ASSERT_EQ(unary_rest.size(), head - 99);
  same(unary_rest, BatchedEvents(resume), false);

  v1::ReadEventsRequest by_type = all;
  by_type.add_event_types("progress_reported");
  auto unary_reports = Events(by_type);
  ASSERT_EQ(unary_reports.size(), 2u);
  same(unary_reports, BatchedEvents(by_type), true);
  by_type.set_from_seq(unary_reports[0].event().seq() + 1);  // resume a filtered read
  auto unary_second = Events(by_type);
  ASSERT_EQ(unary_second.size(), 1u);
  same(unary_second, BatchedEvents(by_type), true);

  v1::ReadEventsRequest by_agency = all;
  by_agency.set_agency_id("qh-finance");
  by_agency.set_task_number(20);
  auto unary_assigned = Events(by_agency);
  ASSERT_EQ(unary_assigned.size(), 1u);
  same(unary_assigned, BatchedEvents(by_agency), true);

  // Same refusals as ReadEvents.
  {
    grpc::ClientContext ctx;  // no credential
    auto reader = audit_->ReadEventBatches(&ctx, all);
    v1::EventBatch batch;
    EXPECT_FALSE(reader->Read(&batch));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    v1::ReadEventsRequest backwards;
    backwards.set_from_seq(5);
    backwards.set_to_seq(4);
    auto ctx = server_->Context();
    auto reader = audit_->ReadEventBatches(ctx.get(), backwards);
    v1::EventBatch batch;
    EXPECT_FALSE(reader->Read(&batch));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(AuditE2ETest, CheckpointsAndProofsVerifyWithoutTrustingTheServer) {
  const v1::SignedCheckpoint first = Checkpoint("cp1");
  Assign("a1", 20, "qh-finance");
  Report("r1", 43, 2021, "qh-hrss", v1::ON_TRACK);
  const v1::SignedCheckpoint second = Checkpoint("cp2");
  ASSERT_GT(second.tree_size(), first.tree_size());
  // The public key the auditor keeps is the one on disk beside the data.
  const std::string public_pem = ReadFileOrDie(data_ + "/checkpoint.pub");
  auto key = storage::Ed25519PublicKeyFromPem(public_pem);
  ASSERT_TRUE(key.ok()) << key.status();
  for (const auto& c : {first, second}) {
    storage::Checkpoint cp{c.log_id(), c.tree_size(), c.root_hash(), c.time_micros()};
    EXPECT_TRUE(storage::VerifyCheckpoint(cp, c.signature(), *key).ok());
    cp.tree_size += 1;
    EXPECT_FALSE(storage::VerifyCheckpoint(cp, c.signature(), *key).ok());
  }
  // Inclusion of the assignment in the second checkpoint's tree.
  v1::ReadEventsRequest by_type;
  by_type.add_event_types("responsibility_assigned");
  by_type.set_agency_id("qh-finance");
  by_type.set_task_number(20);
  auto assigned = Events(by_type);
  ASSERT_EQ(assigned.size(), 1u);
  v1::GetInclusionProofRequest ireq;
  ireq.set_seq(assigned[0].event().seq());
  ireq.set_tree_size(second.tree_size());
  v1::InclusionProof inclusion;
  ASSERT_TRUE(audit_->GetInclusionProof(server_->Context().get(), ireq, &inclusion).ok());
  std::vector<std::string> path(inclusion.hashes().begin(), inclusion.hashes().end());
  EXPECT_EQ(inclusion.leaf_data(), assigned[0].hash());
  EXPECT_TRUE(storage::VerifyInclusion(assigned[0].hash(), inclusion.leaf_index(),
                                       second.tree_size(), path, second.root_hash())
                  .ok());
  EXPECT_FALSE(storage::VerifyInclusion(assigned[0].hash(), inclusion.leaf_index() + 1,
                                        second.tree_size(), path, second.root_hash())
                   .ok());
  // Consistency between the two checkpoints.
  v1::GetConsistencyProofRequest creq;
  creq.set_old_size(first.tree_size());
  creq.set_new_size(second.tree_size());
  v1::ConsistencyProof consistency;
  ASSERT_TRUE(audit_->GetConsistencyProof(server_->Context().get(), creq, &consistency).ok());
  std::vector<std::string> cpath(consistency.hashes().begin(), consistency.hashes().end());
  EXPECT_TRUE(storage::VerifyConsistency(first.tree_size(), second.tree_size(), first.root_hash(),
                                         second.root_hash(), cpath)
                  .ok());
  EXPECT_FALSE(storage::VerifyConsistency(first.tree_size(), second.tree_size(),
                                          second.root_hash(), first.root_hash(), cpath)
                   .ok());
  const v1::VerifyLogResponse verified = VerifyLog();
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.checkpoints(), 2u);
}

TEST_F(AuditE2ETest, ExportThenImportRebuildsTheSameLog) {
  Assign("a1", 20, "qh-finance");
  Report("r1", 43, 2021, "qh-hrss", v1::BEHIND);
  Checkpoint("cp1");
  const std::string exported = dir_.path() + "/log.jsonl";
  CommandResult r = RunCommand({DUBANCTL_PATH, "--server", server_->address(), "--data-dir", data_,
                                "audit", "export", "--out", exported, "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // `audit verify` with a checkpoint and the key checks the export offline.
  const std::string cp = dir_.path() + "/cp.json";
  r = RunCommand({DUBANCTL_PATH, "--server", server_->address(), "--data-dir", data_, "audit",
                  "checkpoint", "--out", cp});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string pub = dir_.path() + "/duban.pub";
  std::filesystem::copy_file(data_ + "/checkpoint.pub", pub);
  r = RunCommand({DUBANCTL_PATH, "audit", "verify", "--checkpoint", cp, "--public-key", pub,
                  "--export", exported, "--no-progress"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = RunCommand({DUBANCTL_PATH, "audit", "verify", "--checkpoint", cp, "--no-progress"});
  EXPECT_EQ(r.exit_code, 2) << "the offline check needs the key too";
  const auto before = Events({});
  const auto tasks_before = Tasks();
  const uint64_t revision_before = Revision();
  // Into a new folder, offline; the admin keeps their token.
  const std::string copy = dir_.path() + "/copy";
  r = RunCommand({DUBANCTL_PATH, "audit", "import", "--data_dir", copy, exported});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(storage::ToHex(before.back().hash())));
  EXPECT_THAT(r.err, HasSubstr("imported"));  // the progress line
  std::ofstream(copy + "/admin.token") << server_->admin_token() << "\n";
  ASSERT_EQ(server_->Stop(), 0);
  data_ = copy;
  Start();
  const auto after = Events({});
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after.back().hash(), before.back().hash());
  EXPECT_EQ(Revision(), revision_before);
  const auto tasks_after = Tasks();
  ASSERT_EQ(tasks_after.size(), tasks_before.size());
  for (size_t i = 0; i < tasks_after.size(); ++i) {
    EXPECT_EQ(tasks_after[i].SerializeAsString(), tasks_before[i].SerializeAsString());
  }
  const v1::VerifyLogResponse verified = VerifyLog();
  EXPECT_TRUE(verified.ok()) << verified.problem();
  // A second import into a folder that has a log is refused.
  r = RunCommand({DUBANCTL_PATH, "audit", "import", "--data_dir", copy, exported});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is not empty"));
  // An altered line is named by file:line and seq, and leaves nothing behind.
  std::ifstream in(exported);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t line3 = text.find("{\"seq\":3,");
  ASSERT_NE(line3, std::string::npos);
  const size_t hash = text.find("\"hash\":\"", line3) + 8;
  text[hash] = text[hash] == '0' ? '1' : '0';
  const std::string altered = dir_.path() + "/altered.jsonl";
  std::ofstream(altered) << text;
  const std::string other = dir_.path() + "/other";
  r = RunCommand({DUBANCTL_PATH, "audit", "import", "--data_dir", other, altered, "--no-progress"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(altered + ":3: seq 3: hash differs"));
  EXPECT_FALSE(std::filesystem::exists(other));
  r = RunCommand({DUBANCTL_PATH, "audit", "verify", "--checkpoint", cp, "--public-key", pub,
                  "--export", altered, "--no-progress"});
  EXPECT_EQ(r.exit_code, 1) << "an altered export fails the offline check";
}

// Editing a derived event (a notice's wording) is caught by re-deriving.
TEST_F(AuditE2ETest, AnEditedDerivedEventFailsTheRederivationCheck) {
  Report("r1", 43, 2021, "qh-hrss", v1::BEHIND);  // opens a task-at-risk escalation and notices
  v1::CheckDerivationsResponse checked;
  ASSERT_TRUE(audit_->CheckDerivations(server_->Context().get(), {}, &checked).ok());
  ASSERT_TRUE(checked.ok()) << (checked.differences_size() ? checked.differences(0).problem() : "");
  v1::ReadEventsRequest notices;
  notices.add_event_types("notice_issued");
  notices.set_task_number(0);
  const auto all = Events(notices);
  ASSERT_FALSE(all.empty());
  const uint64_t seq = all.back().event().seq();
  ASSERT_EQ(server_->Stop(), 0);
  EditStoredEvent(seq, "提醒", "通报");
  Start();
  ASSERT_TRUE(audit_->CheckDerivations(server_->Context().get(), {}, &checked).ok());
  EXPECT_FALSE(checked.ok());
  ASSERT_GT(checked.differences_size(), 0);
  EXPECT_EQ(checked.differences(0).seq(), seq) << checked.differences(0).problem();
}

// A deleted event: VerifyLog names its seq (the server starts from its
// shutdown snapshot, so it can be asked), and so does duban-log offline.
TEST_F(AuditE2ETest, ADeletedEventIsNamed) {
  Report("r1", 43, 2021, "qh-hrss", v1::ON_TRACK);
  const uint64_t seq = Revision() - 3;
  ASSERT_EQ(server_->Stop(), 0);
  WithStoredLog([&](rocksdb::DB* db) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), Key(seq)).ok());
  });
  CommandResult r = RunCommand({DUBAN_LOG_PATH, "verify", "--data_dir", data_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("seq " + std::to_string(seq)));
  Start();
  ExpectVerifyLogNames(seq, "missing");
}

// Snapshots: a restart starts from the newest one; GetStateAt starts from
// the nearest one at or before the asked seq and answers what the live
// server answered then.
TEST_F(AuditE2ETest, SnapshotsServeRestartAndStateAt) {
  ASSERT_EQ(server_->Stop(), 0);
  Start({"--snapshot_events", "4", "--snapshot_keep", "100"});
  std::map<uint64_t, std::vector<v1::Task>> seen;
  for (int i = 0; i < 6; ++i) {
    Assign("s" + std::to_string(i), 20 + i, "qh-finance");
    Report("sr" + std::to_string(i), 43, 2021, "qh-hrss", i % 2 ? v1::ON_TRACK : v1::BEHIND);
    seen[Revision()] = Tasks();
  }
  const uint64_t head = seen.rbegin()->first;
  ASSERT_EQ(server_->Stop(), 0);  // leaves a snapshot at the head
  Start({"--snapshot_events", "4", "--snapshot_keep", "100"});
  EXPECT_THAT(server_->Log(), HasSubstr("snapshot at seq " + std::to_string(head) + ", 0 events replayed"));
  EXPECT_EQ(Tasks().size(), seen.rbegin()->second.size());
  bool some_replayed_from_a_snapshot = false;
  for (const auto& [seq, tasks] : seen) {
    const v1::StateAt then = StateAt(seq);
    ExpectTasksAt(then, seq, tasks);
    EXPECT_LE(then.from_snapshot_seq(), seq);
    EXPECT_EQ(then.from_snapshot_seq() + then.replayed_events(), seq);
    if (then.from_snapshot_seq() > 0 && then.replayed_events() < seq) some_replayed_from_a_snapshot = true;
  }
  EXPECT_TRUE(some_replayed_from_a_snapshot);
  const v1::VerifyLogResponse verified = VerifyLog();
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_GE(verified.snapshots(), 3u);
}

// A stored snapshot altered on disk is what a restart would trust: VerifyLog
// replays the log and names the snapshot that differs.
TEST_F(AuditE2ETest, VerifyLogNamesAnAlteredSnapshot) {
  Report("r1", 43, 2021, "qh-hrss", v1::ON_TRACK);
  const uint64_t head = Revision();
  ASSERT_EQ(server_->Stop(), 0);  // leaves a snapshot at the head
  WithStoredLog([&](rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
    rocksdb::ColumnFamilyHandle* snapshots = nullptr;
    for (auto* f : families) {
      if (f->GetName() == "snapshots") snapshots = f;
    }
    ASSERT_NE(snapshots, nullptr);
    std::string value;
    ASSERT_TRUE(db->Get({}, snapshots, Key(head), &value).ok());
    const std::string from = "审计可追溯", to = "审计可篡改";
    const size_t at = value.find(from);
    ASSERT_NE(at, std::string::npos);
    value.replace(at, from.size(), to);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), snapshots, Key(head), value).ok());
  });
  Start();
  ExpectVerifyLogNames(head, "snapshot");
}

TEST_F(AuditE2ETest, VerifyLogNamesTheAlteredEvent) {
  Report("r1", 43, 2021, "qh-hrss", v1::ON_TRACK);
  v1::ReadEventsRequest by_type;
  by_type.add_event_types("progress_reported");
  const uint64_t seq = Events(by_type).at(0).event().seq();
  ASSERT_EQ(server_->Stop(), 0);
  EditStoredEvent(seq, "审计可追溯", "审计可篡改");
  Start();
  ExpectVerifyLogNames(seq, "stored hash differs");
}

}  // namespace
}  // namespace duban::testing
