// Tests for storage/event_log.h against a real RocksDB in a temporary
// directory: seq assignment and the hash chain, request records, reopening,
// Verify against tampering, bounded reads, readers concurrent with the
// writer, the outbox (atomic with events, ordered, deletable concurrently
// with appends), and acknowledged appends surviving a SIGKILL of the writer.
#include "storage/event_log.h"
#include "storage/testing/temp_dir.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "storage/hash.h"

extern char** environ;

namespace duban::storage {
namespace {

using ::duban::v1::Event;
using ::duban::v1::RequestRecord;
using ::testing::HasSubstr;

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const ::absl::Status assert_ok_status_ = (expr);          \
    ASSERT_TRUE(assert_ok_status_.ok()) << assert_ok_status_; \
  } while (false)

const std::string kZeroHash(kHashSize, '\0');

// The shared test folder, with the log's place in it.
class TempDir : public storage::testing::TempDir {
 public:
  std::string db() const { return path() + "/log"; }
};

EventLog::Options LogOptions(const std::string& path, bool sync = true) {
  EventLog::Options options;
  options.path = path;
  options.sync = sync;
  return options;
}

Event MakeEvent(const std::string& agency_id) {
  Event e;
  e.set_recorded_at_micros(1700000000000000);
  e.set_principal("admin");
  e.set_plan_id("qinghai-2023");
  e.mutable_agency_removed()->set_agency_id(agency_id);
  return e;
}

EventLog::CommandWrite MakeCommand(int num_events, const std::string& tag,
                                   const std::string& request_id = "") {
  EventLog::CommandWrite w;
  for (int i = 0; i < num_events; ++i) {
    w.events.push_back(MakeEvent(tag + "-" + std::to_string(i)));
  }
  if (!request_id.empty()) {
    RequestRecord record;
    record.set_method("/duban.v1.AssignmentService/RevokeResponsibility");
    record.set_fingerprint(Sha256(request_id));
    record.set_response("response-of-" + request_id);
    w.request = record;
    w.principal = "agency:" + tag;
    w.request_id = request_id;
  }
  return w;
}

std::unique_ptr<EventLog> MustOpen(const std::string& path, bool sync = true) {
  auto log = EventLog::Open(LogOptions(path, sync));
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

// Every event from seq 1 to the head, or the error Read returned.
absl::StatusOr<std::vector<Event>> ReadAll(const EventLog& log,
                                           uint64_t from = 0, uint64_t to = 0) {
  std::vector<Event> out;
  absl::Status s = log.Read(from, to, [&](const Event& e) {
    out.push_back(e);
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

std::vector<uint64_t> Seqs(const std::vector<Event>& events) {
  std::vector<uint64_t> out;
  for (const Event& e : events) out.push_back(e.seq());
  return out;
}

std::string BigEndian(uint64_t seq) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return out;
}

// Opens the log's RocksDB directly (as an attacker or a bad disk would see
// it) and hands fn the handles: default, hashes, requests, meta, outbox.
void WithRawDb(
    const std::string& path,
    const std::function<void(
        rocksdb::DB*, const std::vector<rocksdb::ColumnFamilyHandle*>&)>& fn) {
  // Every family the log has, in the order EventLog::Open lists them (the
  // order they were created in).
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) families.push_back({name, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(rocksdb::DBOptions(), path, families, &handles, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  fn(db, handles);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  EXPECT_TRUE(db->Close().ok());
  delete db;
}

// Appends `batches` commands of `events_each` events, one Append per command.
void AppendCommands(EventLog* log, int batches, int events_each) {
  for (int i = 0; i < batches; ++i) {
    std::vector<EventLog::CommandWrite> batch{
        MakeCommand(events_each, "c" + std::to_string(i))};
    ASSERT_OK(log->Append(&batch));
  }
}

TEST(EventLogTest, EmptyLogHasZeroHead) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 0u);
  EXPECT_EQ(log->head().hash, kZeroHash);
  auto events = ReadAll(*log);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(events->empty());
  EXPECT_EQ(log->EventHash(1).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(log->Verify());

  // Reopening an empty log is fine too.
  log.reset();
  log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 0u);
}

TEST(EventLogTest, OpenWithoutCreateFailsOnMissingLog) {
  TempDir dir;
  EventLog::Options options = LogOptions(dir.db());
  options.create_if_missing = false;
  EXPECT_FALSE(EventLog::Open(options).ok());
  EXPECT_EQ(EventLog::Open(LogOptions("")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EventLogTest, AppendAssignsDenseSeqsAndChainsHashes) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  std::vector<EventLog::CommandWrite> batch{MakeCommand(4, "a")};
  ASSERT_OK(log->Append(&batch));

  const std::vector<Event>& events = batch[0].events;
  std::string prev = kZeroHash;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    EXPECT_EQ(e.seq(), i + 1);
    EXPECT_EQ(e.prev_hash(), prev) << "seq " << e.seq();
    auto hash = log->EventHash(e.seq());
    ASSERT_TRUE(hash.ok()) << hash.status();
    EXPECT_EQ(*hash, ChainHash(prev, e.SerializeAsString()));
    EXPECT_EQ(*hash, Sha256({prev, e.SerializeAsString()}));
    // One event read back by its seq: the stored bytes, and them parsed.
    auto stored = log->StoredEvent(e.seq());
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(*stored, e.SerializeAsString());
    auto read = log->ReadEvent(e.seq());
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->SerializeAsString(), e.SerializeAsString());
    prev = *hash;
  }
  EXPECT_EQ(log->ReadEvent(5).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log->ReadEvent(0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log->head().seq, 4u);
  EXPECT_EQ(log->head().hash, prev);

  // The next Append continues the chain.
  std::vector<EventLog::CommandWrite> next{MakeCommand(1, "b")};
  ASSERT_OK(log->Append(&next));
  EXPECT_EQ(next[0].events[0].seq(), 5u);
  EXPECT_EQ(next[0].events[0].prev_hash(), prev);
  ASSERT_OK(log->Verify());
}

TEST(EventLogTest, SeveralCommandsInOneAppend) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  AppendCommands(log.get(), 1, 2);  // seqs 1..2
  std::vector<EventLog::CommandWrite> batch{
      MakeCommand(2, "x", "r1"), MakeCommand(0, "y", "r2"), MakeCommand(3, "z"),
      MakeCommand(1, "w", "r4")};
  ASSERT_OK(log->Append(&batch));

  EXPECT_EQ(Seqs(batch[0].events), (std::vector<uint64_t>{3, 4}));
  EXPECT_TRUE(batch[1].events.empty());
  EXPECT_EQ(Seqs(batch[2].events), (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_EQ(Seqs(batch[3].events), (std::vector<uint64_t>{8}));
  EXPECT_EQ(batch[2].events[0].prev_hash(),
            ChainHash(batch[0].events[1].prev_hash(),
                      batch[0].events[1].SerializeAsString()));
  EXPECT_EQ(log->head().seq, 8u);

  // The caller's request records carry their seq ranges too.
  EXPECT_EQ(batch[0].request->first_seq(), 3u);
  EXPECT_EQ(batch[0].request->last_seq(), 4u);
  EXPECT_EQ(batch[1].request->first_seq(), 0u);
  EXPECT_EQ(batch[1].request->last_seq(), 0u);
  EXPECT_EQ(batch[3].request->first_seq(), 8u);
  EXPECT_EQ(batch[3].request->last_seq(), 8u);

  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 8u);
  ASSERT_OK(log->Verify());
}

TEST(EventLogTest, RequestRecordLookup) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  AppendCommands(log.get(), 1, 1);
  std::vector<EventLog::CommandWrite> batch{MakeCommand(3, "water", "req-7"),
                                            MakeCommand(0, "roads", "req-8")};
  ASSERT_OK(log->Append(&batch));

  auto found = log->LookupRequest("agency:water", "req-7");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->first_seq(), 2u);
  EXPECT_EQ((*found)->last_seq(), 4u);
  EXPECT_EQ((*found)->response(), "response-of-req-7");
  EXPECT_EQ((*found)->fingerprint(), Sha256("req-7"));
  EXPECT_EQ((*found)->method(),
            "/duban.v1.AssignmentService/RevokeResponsibility");

  auto empty = log->LookupRequest("agency:roads", "req-8");
  ASSERT_TRUE(empty.ok()) << empty.status();
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ((*empty)->first_seq(), 0u);
  EXPECT_EQ((*empty)->last_seq(), 0u);
  EXPECT_EQ((*empty)->response(), "response-of-req-8");

  // Misses: unknown id; the right id under another principal; a key that
  // would collide if principal and id were simply concatenated.
  for (const auto& [principal, id] :
       std::vector<std::pair<std::string, std::string>>{
           {"agency:water", "req-9"},
           {"agency:roads", "req-7"},
           {"agency:wate", "rreq-7"},
           {"", ""}}) {
    auto miss = log->LookupRequest(principal, id);
    ASSERT_TRUE(miss.ok()) << miss.status();
    EXPECT_FALSE(miss->has_value()) << principal << " / " << id;
  }
}

TEST(EventLogTest, RejectedAppendWritesNothing) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  AppendCommands(log.get(), 1, 2);
  const EventLog::Head before = log->head();

  std::vector<EventLog::CommandWrite> duplicate{MakeCommand(1, "a", "same"),
                                                MakeCommand(1, "a", "same")};
  EXPECT_EQ(log->Append(&duplicate).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(duplicate[0].events[0].seq(), 0u);

  std::vector<EventLog::CommandWrite> no_id{MakeCommand(1, "a", "id")};
  no_id[0].request_id.clear();
  EXPECT_EQ(log->Append(&no_id).code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(log->Append(nullptr).code(), absl::StatusCode::kInvalidArgument);

  // Nothing to write is not an error, and changes nothing.
  std::vector<EventLog::CommandWrite> nothing{MakeCommand(0, "n")};
  ASSERT_OK(log->Append(&nothing));

  EXPECT_EQ(log->head().seq, before.seq);
  EXPECT_EQ(log->head().hash, before.hash);
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 2u);
  auto miss = log->LookupRequest("agency:a", "same");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
}

TEST(EventLogTest, ReopenRestoresHeadAndBytes) {
  TempDir dir;
  std::vector<std::string> written;  // serialized as appended
  EventLog::Head head;
  {
    auto log = MustOpen(dir.db());
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 5; ++i) {
      std::vector<EventLog::CommandWrite> batch{MakeCommand(
          i % 3 + 1, "c" + std::to_string(i), "r" + std::to_string(i))};
      ASSERT_OK(log->Append(&batch));
      for (const Event& e : batch[0].events) {
        written.push_back(e.SerializeAsString());
      }
    }
    head = log->head();
  }
  ASSERT_EQ(head.seq, written.size());

  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, head.seq);
  EXPECT_EQ(log->head().hash, head.hash);

  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), written.size());
  std::string prev = kZeroHash;
  for (size_t i = 0; i < written.size(); ++i) {
    const std::string bytes = (*all)[i].SerializeAsString();
    EXPECT_EQ(bytes, written[i]) << "seq " << i + 1;
    EXPECT_EQ((*all)[i].prev_hash(), prev);
    prev = ChainHash(prev, bytes);
    auto stored = log->EventHash(i + 1);
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(*stored, prev);
  }
  EXPECT_EQ(prev, head.hash);

  auto record = log->LookupRequest("agency:c4", "r4");
  ASSERT_TRUE(record.ok()) << record.status();
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->last_seq(), head.seq);

  // Appends after a reopen continue the same chain.
  std::vector<EventLog::CommandWrite> batch{MakeCommand(1, "after")};
  ASSERT_OK(log->Append(&batch));
  EXPECT_EQ(batch[0].events[0].seq(), head.seq + 1);
  EXPECT_EQ(batch[0].events[0].prev_hash(), head.hash);
  ASSERT_OK(log->Verify());
}

// The bytes of the live write-ahead log files (*.log) in a log's folder.
uint64_t WalBytes(const std::string& path) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.path().extension() == ".log") total += entry.file_size();
  }
  return total;
}

// `megabytes` MiB of events in commands of 64 KiB, each with a request
// record (so the requests and meta families have data in every WAL file).
void AppendMegabytes(EventLog* log, int megabytes) {
  const std::string big(1000, 'x');
  for (int i = 0; i < megabytes * 16; ++i) {
    EventLog::CommandWrite w = MakeCommand(64, big + std::to_string(i), "r" + std::to_string(i));
    std::vector<EventLog::CommandWrite> batch;
    batch.push_back(std::move(w));
    ASSERT_OK(log->Append(&batch));
  }
}

TEST(EventLogTest, WriteAheadLogStaysBounded) {
  constexpr uint64_t kMiB = 1 << 20;
  {
    // RocksDB's default: nothing flushes yet (the write buffers are far from
    // full), so every byte stays in the WAL a restart replays.
    TempDir dir;
    EventLog::Options options = LogOptions(dir.db(), /*sync=*/false);
    options.max_wal_bytes = 0;
    auto log = EventLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendMegabytes(log->get(), 8);
    EXPECT_GT(WalBytes(dir.db()), 6 * kMiB);
  }
  TempDir dir;
  EventLog::Options options = LogOptions(dir.db(), /*sync=*/false);
  options.max_wal_bytes = 1 * kMiB;
  auto log = EventLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  AppendMegabytes(log->get(), 8);
  // Flushing and deleting the old files happen in the background.
  uint64_t wal = WalBytes(dir.db());
  for (int i = 0; i < 200 && wal > 3 * kMiB; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    wal = WalBytes(dir.db());
  }
  EXPECT_LE(wal, 3 * kMiB);
  const uint64_t head = (*log)->head().seq;
  log->reset();
  // Nothing was lost to the flushes: the reopened log has every event.
  auto reopened = MustOpen(dir.db());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->head().seq, head);
  EXPECT_EQ(head, 8u * 16 * 64);
  ASSERT_OK(reopened->Verify());
}

TEST(EventLogTest, VerifyAcceptsGoodLog) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  AppendCommands(log.get(), 20, 3);
  EXPECT_EQ(log->head().seq, 60u);
  ASSERT_OK(log->Verify());
}

// Writes a 5-event log, closes it, lets `tamper` edit the RocksDB directly,
// and returns the reopened log (or the Open error).
absl::StatusOr<std::unique_ptr<EventLog>> TamperedLog(
    const TempDir& dir,
    const std::function<void(rocksdb::DB*,
                             const std::vector<rocksdb::ColumnFamilyHandle*>&)>&
        tamper) {
  {
    auto log = EventLog::Open(LogOptions(dir.db()));
    if (!log.ok()) return log.status();
    std::vector<EventLog::CommandWrite> batch{MakeCommand(2, "p"),
                                              MakeCommand(3, "q")};
    absl::Status s = (*log)->Append(&batch);
    if (!s.ok()) return s;
    s = (*log)->Verify();
    if (!s.ok()) return s;
  }
  WithRawDb(dir.db(), tamper);
  return EventLog::Open(LogOptions(dir.db()));
}

TEST(EventLogTest, VerifyDetectsAlteredEvent) {
  TempDir dir;
  auto log = TamperedLog(dir, [](rocksdb::DB* db, const auto& cf) {
    std::string value;
    ASSERT_TRUE(
        db->Get(rocksdb::ReadOptions(), cf[0], BigEndian(3), &value).ok());
    Event e;
    ASSERT_TRUE(e.ParseFromString(value));
    e.set_principal("supervisor");  // still a well-formed event
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf[0], BigEndian(3),
                        e.SerializeAsString())
                    .ok());
  });
  ASSERT_TRUE(log.ok()) << log.status();
  absl::Status s = (*log)->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("seq 3:"));
}

TEST(EventLogTest, VerifyDetectsAlteredHash) {
  TempDir dir;
  auto log = TamperedLog(dir, [](rocksdb::DB* db, const auto& cf) {
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), cf[1], BigEndian(2), Sha256("forged"))
            .ok());
  });
  ASSERT_TRUE(log.ok()) << log.status();
  absl::Status s = (*log)->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("seq 2:"));
}

TEST(EventLogTest, VerifyDetectsForgedChain) {
  // Rewriting event 4 and its hash consistently still breaks event 5's
  // prev_hash: the chain, not the per-event hash, is what makes it evident.
  TempDir dir;
  auto log = TamperedLog(dir, [](rocksdb::DB* db, const auto& cf) {
    std::string value;
    ASSERT_TRUE(
        db->Get(rocksdb::ReadOptions(), cf[0], BigEndian(4), &value).ok());
    Event e;
    ASSERT_TRUE(e.ParseFromString(value));
    e.mutable_agency_removed()->set_agency_id("someone-else");
    const std::string forged = e.SerializeAsString();
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), cf[0], BigEndian(4), forged).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf[1], BigEndian(4),
                        ChainHash(e.prev_hash(), forged))
                    .ok());
  });
  ASSERT_TRUE(log.ok()) << log.status();
  absl::Status s = (*log)->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("seq 5:"));
}

TEST(EventLogTest, GapIsDataLossForVerifyAndRead) {
  TempDir dir;
  auto log = TamperedLog(dir, [](rocksdb::DB* db, const auto& cf) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf[0], BigEndian(3)).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf[1], BigEndian(3)).ok());
  });
  ASSERT_TRUE(log.ok()) << log.status();
  absl::Status s = (*log)->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("seq 3:"));

  auto all = ReadAll(**log);
  EXPECT_EQ(all.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(all.status().message(), HasSubstr("seq 3:"));
  auto before_gap = ReadAll(**log, 1, 2);  // the range below it is fine
  ASSERT_TRUE(before_gap.ok()) << before_gap.status();
  EXPECT_EQ(Seqs(*before_gap), (std::vector<uint64_t>{1, 2}));
}

TEST(EventLogTest, OpenRejectsHeadThatDisagreesWithLastEvent) {
  {
    TempDir dir;
    auto log = TamperedLog(dir, [](rocksdb::DB* db, const auto& cf) {
      ASSERT_TRUE(
          db->Delete(rocksdb::WriteOptions(), cf[0], BigEndian(5)).ok());
    });
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(log.status().message(), HasSubstr("head record says seq 5"));
  }
  {
    TempDir dir;
    auto log = TamperedLog(dir, [](rocksdb::DB* db, const auto& cf) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf[3], "head",
                          BigEndian(7) + std::string(kHashSize, 'x'))
                      .ok());
    });
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(log.status().message(),
                HasSubstr("last stored event is seq 5"));
  }
  {
    TempDir dir;
    auto log = TamperedLog(dir, [](rocksdb::DB* db, const auto& cf) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf[3], "head",
                          BigEndian(5) + std::string(kHashSize, 'x'))
                      .ok());
    });
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(log.status().message(), HasSubstr("seq 5:"));
  }
}

TEST(EventLogTest, ReadHonoursBoundsAndStopsEarly) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  AppendCommands(log.get(), 5, 2);  // seqs 1..10

  auto seqs = [&](uint64_t from, uint64_t to) {
    auto events = ReadAll(*log, from, to);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? Seqs(*events) : std::vector<uint64_t>{};
  };
  EXPECT_EQ(seqs(3, 6), (std::vector<uint64_t>{3, 4, 5, 6}));
  EXPECT_EQ(seqs(0, 2), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(seqs(1, 1), (std::vector<uint64_t>{1}));
  EXPECT_EQ(seqs(8, 0), (std::vector<uint64_t>{8, 9, 10}));
  EXPECT_EQ(seqs(9, 100), (std::vector<uint64_t>{9, 10}));
  EXPECT_EQ(seqs(10, 10), (std::vector<uint64_t>{10}));
  EXPECT_TRUE(seqs(11, 0).empty());
  EXPECT_TRUE(seqs(6, 3).empty());
  EXPECT_EQ(seqs(0, 0).size(), 10u);

  std::vector<uint64_t> seen;
  ASSERT_OK(log->Read(2, 0, [&](const Event& e) {
    seen.push_back(e.seq());
    return seen.size() < 3;
  }));
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 3, 4}));
}

// ReadStored hands out the bytes exactly as stored: the ones the chain
// hashes, and the ones a raw RocksDB read sees.
TEST(EventLogTest, ReadStoredGivesTheBytesTheChainHashes) {
  TempDir dir;
  {
    auto log = MustOpen(dir.db());
    ASSERT_NE(log, nullptr);
    AppendCommands(log.get(), 3, 2);  // seqs 1..6
    uint64_t count = 0;
    ASSERT_OK(log->ReadStored(2, 5, [&](const Event& e, std::string_view stored) {
      ++count;
      Event parsed;
      EXPECT_TRUE(parsed.ParseFromArray(stored.data(), static_cast<int>(stored.size())));
      EXPECT_EQ(parsed.seq(), e.seq());
      absl::StatusOr<std::string> hash = log->EventHash(e.seq());
      EXPECT_TRUE(hash.ok()) << hash.status();
      EXPECT_EQ(ChainHash(e.prev_hash(), std::string(stored)), hash.value_or(""));
      return true;
    }));
    EXPECT_EQ(count, 4u);
  }
  // Bytes that parse to the same event but are not protobuf's own
  // serialization (fields out of order) come back as they are.
  Event e = MakeEvent("gov-b");
  e.set_seq(3);
  Event tail;
  tail.set_principal(e.principal());
  Event head = e;
  head.clear_principal();
  const std::string odd = head.SerializeAsString() + tail.SerializeAsString();
  ASSERT_NE(odd, e.SerializeAsString());
  WithRawDb(dir.db(), [&](rocksdb::DB* db, const auto& cf) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf[0], BigEndian(3), odd).ok());
  });
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  std::string seen;
  ASSERT_OK(log->ReadStored(3, 3, [&](const Event&, std::string_view stored) {
    seen = std::string(stored);
    return true;
  }));
  EXPECT_EQ(seen, odd);
}

// ScanStored hands out (seq, bytes, hash) without parsing: the bytes and the
// hashes exactly as Append wrote them, in order, bounded, stoppable.
TEST(EventLogTest, ScanStoredGivesBytesAndHashesAsAppended) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  std::vector<std::string> appended;  // by seq - 1
  std::vector<std::string> hashes;
  std::string prev = kZeroHash;
  for (int i = 0; i < 4; ++i) {
    std::vector<EventLog::CommandWrite> batch{MakeCommand(2, "s" + std::to_string(i))};
    ASSERT_OK(log->Append(&batch));
    for (const Event& e : batch[0].events) {
      appended.push_back(e.SerializeAsString());
      prev = ChainHash(prev, appended.back());
      hashes.push_back(prev);
    }
  }  // seqs 1..8
  std::vector<uint64_t> seqs;
  ASSERT_OK(log->ScanStored(0, 0, [&](uint64_t seq, std::string_view stored,
                                      std::string_view hash) {
    seqs.push_back(seq);
    EXPECT_EQ(std::string(stored), appended[seq - 1]) << "seq " << seq;
    EXPECT_EQ(std::string(hash), hashes[seq - 1]) << "seq " << seq;
    EXPECT_EQ(std::string(hash), log->EventHash(seq).value_or("")) << "seq " << seq;
    return true;
  }));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  seqs.clear();
  ASSERT_OK(log->ScanStored(3, 6, [&](uint64_t seq, std::string_view, std::string_view) {
    seqs.push_back(seq);
    return seq < 5;
  }));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4, 5}));
  seqs.clear();
  ASSERT_OK(log->ScanStored(7, 100, [&](uint64_t seq, std::string_view, std::string_view) {
    seqs.push_back(seq);
    return true;
  }));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{7, 8}));
  ASSERT_OK(log->ScanStored(9, 0, [&](uint64_t, std::string_view, std::string_view) {
    ADD_FAILURE() << "nothing past the head";
    return true;
  }));

  // ReadHashed is the same scan, parsed.
  ASSERT_OK(log->ReadHashed(2, 4, [&](const Event& e, std::string_view stored,
                                      std::string_view hash) {
    EXPECT_EQ(std::string(stored), appended[e.seq() - 1]);
    EXPECT_EQ(std::string(hash), ChainHash(e.prev_hash(), std::string(stored)));
    return true;
  }));
}

// A gap (event and hash gone) and an event without its hash are DATA_LOSS
// naming the seq; the range before it is still delivered.
TEST(EventLogTest, ScanStoredNamesAGapAndAMissingHash) {
  for (const bool event_too : {true, false}) {
    TempDir dir;
    auto log = TamperedLog(dir, [event_too](rocksdb::DB* db, const auto& cf) {
      if (event_too) {
        ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf[0], BigEndian(3)).ok());
      }
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf[1], BigEndian(3)).ok());
    });
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<uint64_t> seqs;
    absl::Status s = (*log)->ScanStored(1, 0, [&](uint64_t seq, std::string_view,
                                                  std::string_view) {
      seqs.push_back(seq);
      return true;
    });
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr("seq 3:"));
    EXPECT_THAT(s.message(), HasSubstr(event_too ? "gap" : "no stored hash"));
    EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2}));
    auto read = ReadAll(**log);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(read.status().message(), HasSubstr("seq 3:"));
  }
}

TEST(EventLogTest, ConcurrentReadersSeeDensePrefix) {
  TempDir dir;
  auto log = MustOpen(dir.db(), /*sync=*/false);
  ASSERT_NE(log, nullptr);

  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::mutex failure_mu;
  std::string failure;  // the first problem a reader saw
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mu);
    if (failure.empty()) failure = what;
  };
  auto reader = [&] {
    bool last_round = false;
    while (!last_round) {
      last_round = stop.load();
      const EventLog::Head h = log->head();
      if (h.seq > 0) {
        auto hash = log->EventHash(h.seq);
        if (!hash.ok() || *hash != h.hash) {
          fail("head hash not readable for seq " + std::to_string(h.seq));
        }
      }
      uint64_t last = 0;
      absl::Status s = log->Read(0, 0, [&](const Event& e) {
        if (e.seq() != last + 1) {
          fail("gap after seq " + std::to_string(last));
        }
        last = e.seq();
        return true;
      });
      if (!s.ok()) fail(std::string(s.message()));
      if (last < h.seq) {
        fail("read ended at " + std::to_string(last) + " below head " +
             std::to_string(h.seq));
      }
      rounds.fetch_add(1);
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  uint64_t appended = 0;
  for (int i = 0; i < 1000; ++i) {
    std::vector<EventLog::CommandWrite> batch{
        MakeCommand(i % 3 + 1, "c" + std::to_string(i),
                    "r" + std::to_string(i)),
        MakeCommand(1, "d" + std::to_string(i))};
    absl::Status s = log->Append(&batch);
    if (!s.ok()) {
      fail(std::string(s.message()));
      break;
    }
    appended += batch[0].events.size() + batch[1].events.size();
  }
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(failure, "");
  EXPECT_GE(rounds.load(), 2);
  EXPECT_EQ(log->head().seq, appended);
  ASSERT_OK(log->Verify());
}

// --- Outbox -------------------------------------------------------------------

// A key as the webhook dispatcher's callers build them: id '\0' seq (BE).
std::string OutboxKey(const std::string& id, uint64_t seq) {
  return id + std::string(1, '\0') + BigEndian(seq);
}

// The whole outbox, in scan order.
std::vector<std::pair<std::string, std::string>> ScanAll(const EventLog& log) {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status s = log.ScanOutbox([&](const std::string& k, const std::string& v) {
    out.emplace_back(k, v);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::vector<std::string> Keys(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries) out.push_back(k);
  return out;
}

TEST(EventLogOutboxTest, EntriesLandWithTheirEvents) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(ScanAll(*log).empty());

  std::vector<EventLog::CommandWrite> batch{MakeCommand(2, "a", "r1"),
                                            MakeCommand(1, "b")};
  batch[0].outbox.push_back({OutboxKey("hook-1", 1), "one"});
  batch[0].outbox.push_back({OutboxKey("hook-2", 1), "two"});
  batch[1].outbox.push_back({OutboxKey("hook-1", 2), "three"});
  ASSERT_OK(log->Append(&batch));
  EXPECT_EQ(log->head().seq, 3u);
  EXPECT_EQ(ScanAll(*log),
            (std::vector<std::pair<std::string, std::string>>{
                {OutboxKey("hook-1", 1), "one"},
                {OutboxKey("hook-1", 2), "three"},
                {OutboxKey("hook-2", 1), "two"}}));
  ASSERT_OK(log->Verify());  // the outbox is outside the chain
}

TEST(EventLogOutboxTest, RejectedAppendWritesNoEntries) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  std::vector<EventLog::CommandWrite> first{MakeCommand(1, "a")};
  first[0].outbox.push_back({"kept", "v"});
  ASSERT_OK(log->Append(&first));
  const EventLog::Head before = log->head();

  // A bad request record elsewhere in the batch rejects all of it.
  std::vector<EventLog::CommandWrite> duplicate{MakeCommand(1, "a", "same"),
                                                MakeCommand(1, "a", "same")};
  duplicate[0].outbox.push_back({"x1", "v"});
  duplicate[1].outbox.push_back({"x2", "v"});
  EXPECT_EQ(log->Append(&duplicate).code(), absl::StatusCode::kInvalidArgument);

  // Outbox entries need events beside them in the same command, with or
  // without a request record.
  for (bool with_request : {false, true}) {
    std::vector<EventLog::CommandWrite> no_events{
        MakeCommand(1, "b"), MakeCommand(0, "c", with_request ? "r" : "")};
    no_events[1].outbox.push_back({"x3", "v"});
    absl::Status s = log->Append(&no_events);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr("without events"));
    EXPECT_EQ(no_events[0].events[0].seq(), 0u);
  }

  // An empty key, and one key twice in a batch (even across commands).
  std::vector<EventLog::CommandWrite> empty_key{MakeCommand(1, "d")};
  empty_key[0].outbox.push_back({"", "v"});
  EXPECT_EQ(log->Append(&empty_key).code(), absl::StatusCode::kInvalidArgument);
  std::vector<EventLog::CommandWrite> twice{MakeCommand(1, "e"),
                                            MakeCommand(1, "f")};
  twice[0].outbox.push_back({"x4", "v"});
  twice[1].outbox.push_back({"x4", "w"});
  EXPECT_EQ(log->Append(&twice).code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(log->head().seq, before.seq);
  EXPECT_EQ(log->head().hash, before.hash);
  EXPECT_EQ(Keys(ScanAll(*log)), (std::vector<std::string>{"kept"}));
  auto all = ReadAll(*log);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 1u);
}

TEST(EventLogOutboxTest, ScanIsInKeyOrderAndStopsEarly) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  // Seqs whose big-endian bytes sort differently from their decimal text,
  // written out of order and across appends.
  const std::vector<uint64_t> seqs = {256, 1, 65536, 255, 2};
  for (uint64_t seq : seqs) {
    std::vector<EventLog::CommandWrite> batch{MakeCommand(1, "s")};
    batch[0].outbox.push_back({OutboxKey("hook", seq), std::to_string(seq)});
    batch[0].outbox.push_back({OutboxKey("hoo", seq), "shorter id"});
    ASSERT_OK(log->Append(&batch));
  }
  std::vector<std::string> want;
  for (const std::string id : {"hoo", "hook"}) {
    for (uint64_t seq : {1, 2, 255, 256, 65536}) {
      want.push_back(OutboxKey(id, seq));
    }
  }
  EXPECT_EQ(Keys(ScanAll(*log)), want);

  std::vector<std::string> seen;
  ASSERT_OK(log->ScanOutbox([&](const std::string& k, const std::string&) {
    seen.push_back(k);
    return seen.size() < 3;
  }));
  EXPECT_EQ(seen, std::vector<std::string>(want.begin(), want.begin() + 3));
}

TEST(EventLogOutboxTest, ScanReadsASnapshot) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  std::vector<EventLog::CommandWrite> batch{MakeCommand(1, "a")};
  for (uint64_t i = 1; i <= 5; ++i) {
    batch[0].outbox.push_back({OutboxKey("h", i), "v"});
  }
  ASSERT_OK(log->Append(&batch));
  // Deleting everything during the scan does not shorten it.
  int visited = 0;
  ASSERT_OK(log->ScanOutbox([&](const std::string& k, const std::string&) {
    ++visited;
    if (visited == 1) {
      for (uint64_t i = 1; i <= 5; ++i) {
        EXPECT_TRUE(log->DeleteOutbox(OutboxKey("h", i)).ok());
      }
    }
    EXPECT_EQ(k, OutboxKey("h", static_cast<uint64_t>(visited)));
    return true;
  }));
  EXPECT_EQ(visited, 5);
  EXPECT_TRUE(ScanAll(*log).empty());
}

TEST(EventLogOutboxTest, DeleteAndReopen) {
  TempDir dir;
  {
    auto log = MustOpen(dir.db());
    ASSERT_NE(log, nullptr);
    std::vector<EventLog::CommandWrite> batch{MakeCommand(2, "a", "r")};
    batch[0].outbox = {{"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}};
    ASSERT_OK(log->Append(&batch));
    ASSERT_OK(log->DeleteOutbox("k2"));
    ASSERT_OK(log->DeleteOutbox("k2"));       // again: nothing to do, OK
    ASSERT_OK(log->DeleteOutbox("missing"));  // never there: OK
    EXPECT_EQ(Keys(ScanAll(*log)), (std::vector<std::string>{"k1", "k3"}));
  }
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 2u);
  EXPECT_EQ(ScanAll(*log), (std::vector<std::pair<std::string, std::string>>{
                               {"k1", "v1"}, {"k3", "v3"}}));
  ASSERT_OK(log->DeleteOutbox("k1"));
  ASSERT_OK(log->DeleteOutbox("k3"));
  EXPECT_TRUE(ScanAll(*log).empty());
  ASSERT_OK(log->Verify());
}

TEST(EventLogSnapshotTest, NewestAtOrBeforeASeqAndPruning) {
  TempDir dir;
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  AppendCommands(log.get(), 10, 1);
  auto none = log->LatestSnapshot(10);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(log->PutSnapshot(11, "past the head").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->PutSnapshot(0, "before any event").code(), absl::StatusCode::kInvalidArgument);
  const std::string big(1 << 20, 's');  // a blob
  ASSERT_OK(log->PutSnapshot(3, "three"));
  ASSERT_OK(log->PutSnapshot(6, big));
  ASSERT_OK(log->PutSnapshot(9, "nine"));
  auto at = [&](uint64_t seq) {
    auto s = log->LatestSnapshot(seq);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() && s->has_value() ? (*s)->seq : 0;
  };
  EXPECT_EQ(at(2), 0u);
  EXPECT_EQ(at(3), 3u);
  EXPECT_EQ(at(8), 6u);
  EXPECT_EQ(at(10), 9u);
  EXPECT_EQ((*log->LatestSnapshot(7))->bytes, big);
  ASSERT_OK(log->PruneSnapshots(2));
  EXPECT_EQ(*log->SnapshotSeqs(), (std::vector<uint64_t>{6, 9}));
  log.reset();
  log = MustOpen(dir.db());  // kept across a reopen
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(at(10), 9u);
  EXPECT_EQ(at(5), 0u);
  ASSERT_OK(log->Verify());  // snapshots are not part of the chain
  ASSERT_OK(log->PruneSnapshots(0));
  EXPECT_TRUE(log->SnapshotSeqs()->empty());
}

TEST(EventLogOutboxTest, LogWithoutOutboxFamilyOpens) {
  // A log written before the outbox existed: its RocksDB has no such family.
  TempDir dir;
  {
    auto log = MustOpen(dir.db());
    ASSERT_NE(log, nullptr);
    AppendCommands(log.get(), 3, 2);
  }
  WithRawDb(dir.db(), [](rocksdb::DB* db, const auto& cf) {
    ASSERT_EQ(cf[4]->GetName(), "outbox");
    ASSERT_TRUE(db->DropColumnFamily(cf[4]).ok());
  });
  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, 6u);
  ASSERT_OK(log->Verify());
  EXPECT_TRUE(ScanAll(*log).empty());
  std::vector<EventLog::CommandWrite> batch{MakeCommand(1, "new")};
  batch[0].outbox.push_back({"k", "v"});
  ASSERT_OK(log->Append(&batch));
  EXPECT_EQ(Keys(ScanAll(*log)), (std::vector<std::string>{"k"}));
}

TEST(EventLogOutboxTest, DeletesConcurrentWithAppends) {
  TempDir dir;
  auto log = MustOpen(dir.db(), /*sync=*/false);
  ASSERT_NE(log, nullptr);
  constexpr uint64_t kBatches = 600;

  std::atomic<bool> done{false};
  std::mutex deleted_mu;
  std::set<std::string> deleted;
  std::string failure;
  // Two deleters, like two webhook workers, each taking its own webhook's
  // entries as they appear.
  auto deleter = [&](const std::string& id) {
    bool last_round = false;
    while (!last_round) {
      last_round = done.load();
      std::vector<std::string> keys;
      absl::Status s =
          log->ScanOutbox([&](const std::string& k, const std::string&) {
            if (k.compare(0, id.size() + 1, id + std::string(1, '\0')) == 0) {
              keys.push_back(k);
            }
            return true;
          });
      for (const std::string& k : keys) {
        if (s.ok()) s = log->DeleteOutbox(k);
      }
      std::lock_guard<std::mutex> lock(deleted_mu);
      if (!s.ok() && failure.empty()) failure = std::string(s.message());
      deleted.insert(keys.begin(), keys.end());
    }
  };
  std::thread d1(deleter, "even");
  std::thread d2(deleter, "odd");
  for (uint64_t i = 1; i <= kBatches; ++i) {
    std::vector<EventLog::CommandWrite> batch{
        MakeCommand(1, "c" + std::to_string(i), "r" + std::to_string(i))};
    batch[0].outbox.push_back(
        {OutboxKey(i % 2 == 0 ? "even" : "odd", i), "v"});
    absl::Status s = log->Append(&batch);
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok()) break;  // the deleters still have to be joined
  }
  done.store(true);
  d1.join();
  d2.join();
  EXPECT_EQ(failure, "");
  EXPECT_EQ(deleted.size(), kBatches);  // each entry seen and deleted
  EXPECT_TRUE(ScanAll(*log).empty());
  EXPECT_EQ(log->head().seq, kBatches);
  ASSERT_OK(log->Verify());
}

// --- Crash test -------------------------------------------------------------
//
// The parent forks and re-executes this binary; the child sees these
// variables, appends batches forever (acknowledging each on a pipe once
// Append returned OK) and is SIGKILLed by the parent mid-stream. Re-executing
// gives the child a clean process: a plain fork would inherit the RocksDB
// background threads that earlier tests left in this one only as memory.
constexpr char kCrashDirEnv[] = "DUBAN_EVENT_LOG_CRASH_DIR";
constexpr char kCrashFdEnv[] = "DUBAN_EVENT_LOG_CRASH_FD";
constexpr char kCrashPrincipal[] = "agency:crash";

struct Ack {
  uint64_t batch;
  uint64_t head_seq;
};

[[noreturn]] void RunCrashChild(const char* dir, int fd) {
  auto log = EventLog::Open(LogOptions(dir));
  if (!log.ok()) {
    std::fprintf(stderr, "crash child: %s\n", log.status().ToString().c_str());
    _exit(2);
  }
  for (uint64_t i = 1;; ++i) {
    const std::string tag = std::to_string(i);
    std::vector<EventLog::CommandWrite> batch{
        MakeCommand(static_cast<int>(i % 3) + 1, "x" + tag),
        MakeCommand(static_cast<int>(i % 2) + 1, "crash", tag)};
    batch[1].outbox.push_back({tag, "delivery of " + tag});
    absl::Status s = (*log)->Append(&batch);
    if (!s.ok()) {
      std::fprintf(stderr, "crash child: %s\n", s.ToString().c_str());
      _exit(3);
    }
    const Ack ack{i, (*log)->head().seq};
    // At most PIPE_BUF bytes: the write is atomic.
    if (write(fd, &ack, sizeof(ack)) != static_cast<ssize_t>(sizeof(ack))) {
      _exit(4);
    }
  }
}

class CrashChildEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* dir = std::getenv(kCrashDirEnv);
    const char* fd = std::getenv(kCrashFdEnv);
    if (dir != nullptr && fd != nullptr) RunCrashChild(dir, std::atoi(fd));
  }
};

[[maybe_unused]] ::testing::Environment* const kCrashChildEnvironment =
    ::testing::AddGlobalTestEnvironment(new CrashChildEnvironment);

// Kills and reaps the child if the test ends early.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  // Reaps the child, returning its wait status.
  int Wait() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

TEST(EventLogCrashTest, AcknowledgedAppendsSurviveSigkill) {
  TempDir dir;
  constexpr int kAcksBeforeKill = 25;

  // Everything the child needs is prepared before fork: between fork and
  // exec only async-signal-safe calls are made.
  char exe[PATH_MAX];
  const ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  ASSERT_GT(exe_len, 0) << std::strerror(errno);
  exe[exe_len] = '\0';
  int fds[2];
  ASSERT_EQ(pipe(fds), 0) << std::strerror(errno);
  ASSERT_EQ(fcntl(fds[0], F_SETFD, FD_CLOEXEC), 0);
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(devnull, 0);

  std::string filter = "--gtest_filter=EventLogCrashTest.*";
  std::vector<char*> argv = {exe, filter.data(), nullptr};
  std::vector<std::string> env_strings = {
      std::string(kCrashDirEnv) + "=" + dir.db(),
      std::string(kCrashFdEnv) + "=" + std::to_string(fds[1])};
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed parent
    dup2(devnull, STDOUT_FILENO);      // keep gtest's banner out of the log
    execve(exe, argv.data(), envp.data());
    _exit(127);
  }
  ChildGuard child(pid);
  close(fds[1]);
  close(devnull);

  // Collect acknowledgements; kill the child once enough have arrived and
  // then drain what it had written before it died.
  std::string buffer;
  Ack last{0, 0};
  int acks = 0;
  bool killed = false;
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, 60'000);
    if (ready < 0 && errno == EINTR) continue;
    ASSERT_GT(ready, 0) << "no acknowledgement from the child in 60 s";
    char chunk[4096];
    const ssize_t n = read(fds[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GE(n, 0) << std::strerror(errno);
    if (n == 0) break;  // the child is gone and the pipe is drained
    buffer.append(chunk, static_cast<size_t>(n));
    while (buffer.size() >= sizeof(Ack)) {
      Ack ack;
      std::memcpy(&ack, buffer.data(), sizeof(ack));
      buffer.erase(0, sizeof(ack));
      ASSERT_GT(ack.head_seq, last.head_seq);
      last = ack;
      ++acks;
    }
    if (!killed && acks >= kAcksBeforeKill) {
      ASSERT_EQ(kill(pid, SIGKILL), 0);
      killed = true;
    }
  }
  close(fds[0]);
  const int status = child.Wait();
  ASSERT_TRUE(killed) << "child exited early, wait status " << status;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "wait status " << status;
  ASSERT_GE(acks, kAcksBeforeKill);

  auto log = MustOpen(dir.db());
  ASSERT_NE(log, nullptr);
  const EventLog::Head head = log->head();
  EXPECT_GE(head.seq, last.head_seq);
  ASSERT_OK(log->Verify());

  uint64_t want = 1;
  ASSERT_OK(log->Read(1, 0, [&](const Event& e) {
    EXPECT_EQ(e.seq(), want);
    ++want;
    return true;
  }));
  EXPECT_EQ(want - 1, head.seq);

  auto record = log->LookupRequest(kCrashPrincipal, std::to_string(last.batch));
  ASSERT_TRUE(record.ok()) << record.status();
  ASSERT_TRUE(record->has_value()) << "batch " << last.batch;
  EXPECT_EQ((*record)->last_seq(), last.head_seq);

  // Outbox entries came and went with their batches: batch i's entry is
  // there exactly when its request record is.
  std::set<std::string> outbox;
  ASSERT_OK(log->ScanOutbox([&](const std::string& k, const std::string& v) {
    EXPECT_EQ(v, "delivery of " + k);
    outbox.insert(k);
    return true;
  }));
  std::set<std::string> recorded;
  for (uint64_t i = 1;; ++i) {
    auto r = log->LookupRequest(kCrashPrincipal, std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.status();
    if (!r->has_value()) break;
    recorded.insert(std::to_string(i));
  }
  EXPECT_GE(recorded.size(), last.batch);
  EXPECT_EQ(outbox, recorded);

  // And the log takes appends again where the chain left off.
  std::vector<EventLog::CommandWrite> batch{MakeCommand(1, "after")};
  ASSERT_OK(log->Append(&batch));
  EXPECT_EQ(batch[0].events[0].seq(), head.seq + 1);
  EXPECT_EQ(batch[0].events[0].prev_hash(), head.hash);
}

}  // namespace
}  // namespace duban::storage
