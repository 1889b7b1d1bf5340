// duban-log: offline work on a stopped server's data folder.
//
//   duban-log verify --data_dir DIR
//
// (Rebuilding a data folder from an export is `dubanctl audit import`.)
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "storage/event_log.h"
#include "storage/hash.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "duban-log: " << message << "\n";
  return 1;
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
  CLI::App app{"duban-log: offline work on a stopped server's data folder "
               "(to rebuild one from an export: dubanctl audit import)"};
  app.require_subcommand(1);
  std::string data_dir;
  CLI::App* verify = app.add_subcommand("verify", "check a stopped server's log, naming the first bad seq");
  verify->add_option("--data_dir,--data-dir", data_dir, "the data folder")->required();
  CLI11_PARSE(app, argc, argv);
  return Verify(data_dir);
}
