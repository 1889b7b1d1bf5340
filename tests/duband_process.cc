#include "tests/duband_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace duban::testing {

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

[[noreturn]] void Exec(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env) {
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  perror(("exec " + argv[0]).c_str());
  _exit(127);
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    close(out[1]);
    close(err[1]);
    Exec(argv, env);
  }
  close(out[1]);
  close(err[1]);
  CommandResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, 60000) <= 0) break;  // a minute without output: give up
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = ExitCode(status);
  return r;
}

std::unique_ptr<DubandProcess> DubandProcess::Start(const std::string& data_dir,
                                                    const std::vector<std::string>& extra_args) {
  std::unique_ptr<DubandProcess> p(new DubandProcess());
  p->data_dir_ = data_dir;
  std::filesystem::create_directories(data_dir);
  const std::string port_file = data_dir + "/../" +
                                std::filesystem::path(data_dir).filename().string() + ".port";
  std::filesystem::remove(port_file);
  p->log_path_ = data_dir + ".log";
  std::vector<std::string> argv = {DUBAND_PATH, "--listen=127.0.0.1:0",
                                   "--data_dir=" + data_dir, "--port_file=" + port_file,
                                   std::string("--import_plan=") + DUBAN_PLANS_DIR +
                                       "/qinghai-employment-2021/plan.textproto"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  p->pid_ = fork();
  if (p->pid_ == 0) {
    int fd = open(p->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    Exec(argv, {});
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file);
    if (in >> p->port_ && p->port_ > 0) return p;
    int status;
    if (waitpid(p->pid_, &status, WNOHANG) == p->pid_) {
      p->pid_ = -1;
      ADD_FAILURE() << "duband exited with " << ExitCode(status) << ":\n" << p->Log();
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "duband did not start within 30 s:\n" << p->Log();
  return nullptr;
}

DubandProcess::~DubandProcess() {
  if (pid_ > 0) Stop();
}

std::string DubandProcess::admin_token() const {
  std::string t = ReadFileOrDie(data_dir_ + "/admin.token");
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

std::shared_ptr<grpc::Channel> DubandProcess::Channel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> DubandProcess::Context(const std::string& token) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + (token.empty() ? admin_token() : token));
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return ctx;
}

int DubandProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return ExitCode(status);
}

void DubandProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string DubandProcess::Log() const {
  std::ifstream in(log_path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace duban::testing
