// Test harness: starts a real duband in a temporary data folder on a port the
// OS picks, and runs commands (dubanctl, python3) capturing their output.
//
//   TempDir dir;
//   auto server = DubandProcess::Start(dir.path());
//   auto stub = duban::v1::AssignmentService::NewStub(server->Channel());
//   CommandResult r = RunCommand({DUBANCTL_PATH, "--server", server->address(), "tasks", "list"});
#ifndef DUBAN_TESTS_DUBAND_PROCESS_H_
#define DUBAN_TESTS_DUBAND_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "storage/testing/temp_dir.h"

namespace duban::testing {

using TempDir = storage::testing::TempDir;

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs argv[0] with the given extra environment, waits, returns its output.
CommandResult RunCommand(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env = {});

std::string ReadFileOrDie(const std::string& path);

class DubandProcess {
 public:
  // Starts duband on 127.0.0.1:0 with --data_dir=data_dir plus `extra_args`,
  // waits until it serves (at most 30 s) or fails the test.
  static std::unique_ptr<DubandProcess> Start(const std::string& data_dir,
                                              const std::vector<std::string>& extra_args = {});
  ~DubandProcess();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string admin_token() const;
  std::shared_ptr<grpc::Channel> Channel() const;
  // A client context carrying `authorization: Bearer <token>` (admin by default).
  std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "") const;

  // SIGTERM and wait; returns the exit code.
  int Stop();
  // SIGKILL: no chance to clean up.
  void Kill();
  // What the server printed so far (its log).
  std::string Log() const;

 private:
  DubandProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string data_dir_;
  std::string log_path_;
};

}  // namespace duban::testing

#endif  // DUBAN_TESTS_DUBAND_PROCESS_H_
