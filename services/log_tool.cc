// duban-log: offline work on a data folder's event log.
//
//   duban-log import --data_dir NEW --from log.jsonl
//   duban-log verify --data_dir DIR
//
// Rebuilds a log from `dubanctl audit export` (JSON Lines: seq, hash,
// prev_hash, event_base64) into an empty data folder: every event is
// appended with its original bytes, and each stored hash must equal the one
// exported, so the new log has the same head hash and a server started on it
// gives the same answers. Request records (retry memory) are not exported,
// nor the admin token: use the original credentials.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "duban/v1/event.pb.h"
#include "storage/event_log.h"
#include "storage/hash.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "duban-log: " << message << "\n";
  return 1;
}

int Import(const std::string& data_dir, const std::string& from) {
  std::ifstream in(from);
  if (!in) return Fail("cannot read " + from);
  std::filesystem::create_directories(data_dir);
  auto log = duban::storage::EventLog::Open({.path = data_dir + "/log"});
  if (!log.ok()) return Fail(std::string(log.status().message()));
  if ((*log)->head().seq != 0) return Fail(data_dir + "/log is not empty: import needs a new folder");
  std::vector<duban::storage::EventLog::CommandWrite> batch(1);
  std::vector<std::string> expected;  // the exported hashes of the batch's events
  uint64_t line_number = 0, imported = 0;
  auto flush = [&]() -> bool {
    if (batch[0].events.empty()) return true;
    absl::Status s = (*log)->Append(&batch);
    if (!s.ok()) {
      std::cerr << "duban-log: " << s.message() << "\n";
      return false;
    }
    for (size_t i = 0; i < batch[0].events.size(); ++i) {
      const uint64_t seq = batch[0].events[i].seq();
      auto stored = (*log)->EventHash(seq);
      if (!stored.ok() || *stored != expected[i]) {
        std::cerr << "duban-log: seq " << seq
                  << ": the imported event's hash differs from the exported one\n";
        return false;
      }
    }
    imported += batch[0].events.size();
    std::cerr << "\rimported " << imported << " events" << std::flush;
    batch[0].events.clear();
    expected.clear();
    return true;
  };
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const std::string where = absl::StrCat(from, ":", line_number, ": ");
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("event_base64") || !j.contains("hash") ||
        !j.contains("seq")) {
      return Fail(where + "not an exported event (seq, hash, event_base64)");
    }
    std::string bytes, hash;
    if (!absl::Base64Unescape(j["event_base64"].get<std::string>(), &bytes)) {
      return Fail(where + "event_base64 is not base64");
    }
    const std::string hash_hex = j["hash"].get<std::string>();
    if (hash_hex.size() != 64 ||
        hash_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Fail(where + "hash is not 32 bytes of lowercase hex");
    }
    hash = absl::HexStringToBytes(hash_hex);
    duban::v1::Event e;
    if (!e.ParseFromString(bytes)) return Fail(where + "the event bytes do not parse");
    const uint64_t want = imported + batch[0].events.size() + 1;
    if (e.seq() != want || j["seq"].get<uint64_t>() != want) {
      return Fail(where + absl::StrCat("seq ", e.seq(), " where ", want, " was due"));
    }
    batch[0].events.push_back(std::move(e));
    expected.push_back(std::move(hash));
    if (batch[0].events.size() == 1000 && !flush()) return 1;
  }
  if (!flush()) return 1;
  std::cerr << "\n";
  std::cout << "imported " << imported << " events into " << data_dir << "/log; head hash "
            << duban::storage::ToHex((*log)->head().hash) << "\n";
  return 0;
}

// Checks a stopped server's log (every event's bytes against its hash, the
// chain, the head), naming the first bad seq — also for a log duband refuses
// to start on (a missing event).
int Verify(const std::string& data_dir) {
  auto log = duban::storage::EventLog::Open({.path = data_dir + "/log", .create_if_missing = false});
  if (!log.ok()) return Fail(std::string(log.status().message()));
  absl::Status verified = (*log)->Verify();
  if (!verified.ok()) return Fail(std::string(verified.message()));
  std::cout << "ok: " << (*log)->head().seq << " events; head hash "
            << duban::storage::ToHex((*log)->head().hash) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duban-log: offline work on a data folder's event log"};
  app.require_subcommand(1);
  std::string data_dir, from;
  CLI::App* import = app.add_subcommand("import", "rebuild a log from `dubanctl audit export`");
  import->add_option("--data_dir,--data-dir", data_dir, "a new, empty data folder")->required();
  import->add_option("--from", from, "the export (JSON Lines)")->required()->check(CLI::ExistingFile);
  CLI::App* verify = app.add_subcommand("verify", "check a stopped server's log, naming the first bad seq");
  verify->add_option("--data_dir,--data-dir", data_dir, "the data folder")->required();
  CLI11_PARSE(app, argc, argv);
  if (verify->parsed()) return Verify(data_dir);
  return Import(data_dir, from);
}
