// Tests for storage/log_import.h: an export of a real log (written here the
// way `dubanctl audit export` writes it, from ReadStored's bytes) imports
// into the same head; a folder that is not empty, a bad line and an altered
// event are refused, naming the folder, file:line and seq, and leave nothing.
#include "storage/log_import.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/event_log.h"
#include "storage/hash.h"
#include "storage/testing/temp_dir.h"

namespace duban::storage {
namespace {

using ::testing::HasSubstr;
using TempDir = storage::testing::TempDir;

// A log of `n` events at dir/log, and its export (one line per event).
std::vector<std::string> MakeExport(const std::string& dir, int n, EventLog::Head* head) {
  std::filesystem::create_directories(dir);
  auto log = EventLog::Open({.path = dir + "/log"});
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return {};
  for (int i = 0; i < n; ++i) {
    std::vector<EventLog::CommandWrite> batch(1);
    duban::v1::Event e;
    e.set_principal("admin");
    e.set_plan_id("p");
    e.mutable_agency_removed()->set_agency_id("agency-" + std::to_string(i));
    batch[0].events.push_back(e);
    EXPECT_TRUE((*log)->Append(&batch).ok());
  }
  std::vector<std::string> lines;
  EXPECT_TRUE((*log)
                  ->ReadStored(1, 0,
                               [&](const duban::v1::Event& e, std::string_view stored) {
                                 const std::string bytes(stored);
                                 lines.push_back(absl::StrCat(
                                     "{\"seq\":", e.seq(), ",\"hash\":\"",
                                     ToHex(ChainHash(e.prev_hash(), bytes)), "\",\"prev_hash\":\"",
                                     ToHex(e.prev_hash()), "\",\"event_base64\":\"",
                                     absl::Base64Escape(bytes), "\"}"));
                                 return true;
                               })
                  .ok());
  *head = (*log)->head();
  return lines;
}

absl::StatusOr<EventLog::Head> Import(const std::string& data_dir,
                                      const std::vector<std::string>& lines,
                                      std::vector<uint64_t>* progress = nullptr) {
  std::stringstream in;
  for (const std::string& line : lines) in << line << "\n";
  return ImportLog(data_dir, in, "log.jsonl", [progress](uint64_t n) {
    if (progress != nullptr) progress->push_back(n);
  });
}

TEST(LogImportTest, RebuildsTheSameHead) {
  TempDir dir;
  EventLog::Head exported;
  const std::vector<std::string> lines = MakeExport(dir.path() + "/a", 2500, &exported);
  ASSERT_EQ(lines.size(), 2500u);
  std::vector<uint64_t> progress;
  absl::StatusOr<EventLog::Head> head = Import(dir.path() + "/b", lines, &progress);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->seq, exported.seq);
  EXPECT_EQ(head->hash, exported.hash);
  EXPECT_EQ(progress, (std::vector<uint64_t>{1000, 2000, 2500}));
  auto log = EventLog::Open({.path = dir.path() + "/b/log", .create_if_missing = false});
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE((*log)->Verify().ok());
  EXPECT_EQ((*log)->head().hash, exported.hash);
}

TEST(LogImportTest, AFolderThatIsNotEmptyIsRefused) {
  TempDir dir;
  EventLog::Head exported;
  const std::vector<std::string> lines = MakeExport(dir.path() + "/a", 3, &exported);
  // The exported folder itself: it has a log.
  absl::StatusOr<EventLog::Head> head = Import(dir.path() + "/a", lines);
  EXPECT_EQ(head.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(head.status().message()), HasSubstr("is not empty"));
  // Anything at all in it.
  std::filesystem::create_directories(dir.path() + "/c");
  std::ofstream(dir.path() + "/c/admin.token") << "x\n";
  head = Import(dir.path() + "/c", lines);
  EXPECT_EQ(head.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(head.status().message()), HasSubstr("admin.token"));
  // An empty one is fine.
  std::filesystem::create_directories(dir.path() + "/d");
  EXPECT_TRUE(Import(dir.path() + "/d", lines).ok());
}

TEST(LogImportTest, ABadLineIsNamedAndNothingIsLeft) {
  TempDir dir;
  EventLog::Head exported;
  std::vector<std::string> lines = MakeExport(dir.path() + "/a", 5, &exported);
  const std::string target = dir.path() + "/b";
  std::vector<std::string> bad = lines;
  bad[3] = "{\"seq\":4}";
  absl::StatusOr<EventLog::Head> head = Import(target, bad);
  EXPECT_EQ(head.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(head.status().message()), HasSubstr("log.jsonl:4: not an exported event"));
  EXPECT_FALSE(std::filesystem::exists(target));
  // A missing event.
  bad = lines;
  bad.erase(bad.begin() + 2);
  head = Import(target, bad);
  EXPECT_THAT(std::string(head.status().message()), HasSubstr("log.jsonl:3: seq 4 where 3 was due"));
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST(LogImportTest, AnAlteredEventIsNamedBySeq) {
  TempDir dir;
  EventLog::Head exported;
  std::vector<std::string> lines = MakeExport(dir.path() + "/a", 5, &exported);
  const std::string target = dir.path() + "/b";
  std::filesystem::create_directories(target);
  // Event 3's bytes changed (agency-2 → agency-9), its hash kept.
  std::string bytes;
  const std::string b64 = "\"event_base64\":\"";
  const size_t at = lines[2].find(b64) + b64.size();
  const size_t end = lines[2].find('"', at);
  ASSERT_TRUE(absl::Base64Unescape(lines[2].substr(at, end - at), &bytes));
  const size_t agency = bytes.find("agency-2");
  ASSERT_NE(agency, std::string::npos);
  bytes[agency + 7] = '9';
  std::vector<std::string> altered = lines;
  altered[2].replace(at, end - at, absl::Base64Escape(bytes));
  absl::StatusOr<EventLog::Head> head = Import(target, altered);
  EXPECT_EQ(head.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(head.status().message()),
              HasSubstr("log.jsonl:3: seq 3: hash differs from SHA-256(prev_hash || event bytes)"));
  // The folder is empty again, ready for a good import.
  EXPECT_TRUE(std::filesystem::is_empty(target));
  EXPECT_TRUE(Import(target, lines).ok());
}

}  // namespace
}  // namespace duban::storage
