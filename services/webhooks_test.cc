// Tests for services/webhooks.h against a real event log in a temporary
// directory and a tiny HTTP/1.1 receiver on 127.0.0.1 written here (raw
// sockets, test only): the POST's headers and body, retries until 2xx,
// isolation between webhooks, resuming after a restart, order within a
// webhook, de-duplication of pending keys, and prompt stops.
#include "services/webhooks.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "duban/v1/event.pb.h"
#include "duban/v1/supervision.pb.h"
#include "gtest/gtest.h"
#include "storage/event_log.h"
#include "storage/testing/temp_dir.h"

namespace duban::services {
namespace {

using storage::EventLog;

// libcurl honours http_proxy and friends; the receiver is always local.
class NoProxyEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { setenv("no_proxy", "*", 1); }
};
[[maybe_unused]] ::testing::Environment* const kNoProxy =
    ::testing::AddGlobalTestEnvironment(new NoProxyEnvironment);

// --- The receiver -----------------------------------------------------------

// A port on 127.0.0.1 that nothing listens on (connections are refused).
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// A tiny HTTP/1.1 server: reads requests (headers, then a Content-Length
// body; connections kept alive), answers each as the test's plan says and
// records what it got.
class Receiver {
 public:
  struct Answer {
    int status = 200;
    bool silent = false;  // read the request, never answer
    absl::Duration delay = absl::ZeroDuration();  // before answering
  };
  // How to answer request number `index` (0-based, over all connections).
  using Plan = std::function<Answer(int index)>;

  struct Request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    absl::Time at;
    int status = 0;  // what was answered (0: nothing)
  };

  static Plan Always(int status) {
    return [status](int) { return Answer{status}; };
  }

  explicit Receiver(Plan plan, int port = 0) : plan_(std::move(plan)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
            0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) !=
            0) {
      ADD_FAILURE() << "receiver: " << std::strerror(errno);
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~Receiver() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (int fd : connections_) shutdown(fd, SHUT_RDWR);
    }
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
    close(listen_fd_);
  }

  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  int port() const { return port_; }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook";
  }

  std::vector<Request> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  // Whether at least n requests arrived within `timeout`.
  bool WaitForRequests(size_t n, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return requests_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  void Accept() {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // shut down
      }
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      connections_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads requests from one connection until it closes, answering each.
  void Serve(int fd) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      size_t header_end;
      while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return Close(fd);
        buffer.append(chunk, static_cast<size_t>(n));
      }
      Request request = ParseHead(buffer.substr(0, header_end));
      size_t length = 0;
      if (auto it = request.headers.find("content-length");
          it != request.headers.end() && !absl::SimpleAtoi(it->second, &length)) {
        ADD_FAILURE() << "bad Content-Length " << it->second;
        return Close(fd);
      }
      buffer.erase(0, header_end + 4);
      while (buffer.size() < length) {
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return Close(fd);
        buffer.append(chunk, static_cast<size_t>(n));
      }
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);
      request.at = absl::Now();

      Answer answer;
      size_t index;
      {
        absl::MutexLock lock(&mu_);
        index = requests_.size();
        answer = plan_(static_cast<int>(index));
        if (!answer.silent) request.status = answer.status;
        requests_.push_back(std::move(request));
      }
      if (answer.silent) continue;  // the client gives up or we stop
      absl::SleepFor(answer.delay);
      const std::string response =
          "HTTP/1.1 " + std::to_string(answer.status) +
          " Test\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
      if (send(fd, response.data(), response.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(response.size())) {
        return Close(fd);
      }
    }
  }

  static Request ParseHead(const std::string& head) {
    Request request;
    size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const size_t sp1 = first.find(' ');
    const size_t sp2 = first.find(' ', sp1 + 1);
    request.method = first.substr(0, sp1);
    request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      size_t value_start = colon + 1;
      while (value_start < line.size() && line[value_start] == ' ') {
        ++value_start;
      }
      request.headers[name] = line.substr(value_start);
    }
    return request;
  }

  void Close(int fd) {
    absl::MutexLock lock(&mu_);
    connections_.erase(
        std::find(connections_.begin(), connections_.end(), fd));
    close(fd);
  }

  const Plan plan_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> connections_ ABSL_GUARDED_BY(mu_);  // open, being served
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
};

// --- The log and the notices ------------------------------------------------

// The shared test folder, with the log's place in it.
class TempDir : public storage::testing::TempDir {
 public:
  std::string db() const { return path() + "/log"; }
};

std::unique_ptr<EventLog> OpenLog(const TempDir& dir) {
  EventLog::Options options;
  options.path = dir.db();
  options.sync = false;  // durability is the log's own tests' business
  auto log = EventLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

// The key the sequencer builds: webhook id '\0' notice seq (big-endian).
std::string OutboxKey(const std::string& webhook_id, uint64_t seq) {
  std::string key = webhook_id;
  key.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((seq >> shift) & 0xff));
  }
  return key;
}

std::string NoticeId(const std::string& webhook_id, uint64_t seq) {
  return "notice-" + webhook_id + "-" + std::to_string(seq);
}

std::string Body(const std::string& webhook_id, uint64_t seq) {
  return "{\"notice_id\":\"" + NoticeId(webhook_id, seq) +
         "\",\"seq\":" + std::to_string(seq) + "}";
}

EventLog::OutboxEntry Entry(const std::string& webhook_id,
                            const std::string& url, uint64_t seq) {
  duban::v1::WebhookDelivery d;
  d.set_webhook_id(webhook_id);
  d.set_url(url);
  d.set_notice_id(NoticeId(webhook_id, seq));
  d.set_notice_seq(seq);
  d.set_body_json(Body(webhook_id, seq));
  return {OutboxKey(webhook_id, seq), d.SerializeAsString()};
}

// Writes the entries into the outbox as the sequencer does: in one Append
// with the event that produced them. Returns them for Enqueue.
std::vector<EventLog::OutboxEntry> Write(
    EventLog* log, std::vector<EventLog::OutboxEntry> entries) {
  EventLog::CommandWrite w;
  duban::v1::Event e;
  e.set_principal("system");
  e.mutable_agency_removed()->set_agency_id("x");
  w.events.push_back(e);
  w.outbox = entries;
  std::vector<EventLog::CommandWrite> batch{w};
  absl::Status s = log->Append(&batch);
  EXPECT_TRUE(s.ok()) << s;
  return entries;
}

std::vector<std::string> OutboxKeys(const EventLog& log) {
  std::vector<std::string> keys;
  absl::Status s = log.ScanOutbox([&](const std::string& k, const std::string&) {
    keys.push_back(k);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return keys;
}

// Small backoffs so retries happen within milliseconds.
WebhookDispatcher::Options FastOptions() {
  WebhookDispatcher::Options options;
  options.initial_backoff = absl::Milliseconds(10);
  options.max_backoff = absl::Milliseconds(40);
  options.request_timeout = absl::Seconds(2);
  options.connect_timeout = absl::Seconds(1);
  return options;
}

std::unique_ptr<WebhookDispatcher> MustStart(
    EventLog* log, WebhookDispatcher::Options options = FastOptions()) {
  auto d = WebhookDispatcher::Start(log, options);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(*d) : nullptr;
}

// Polls `done` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done,
                absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

std::vector<std::string> Answered(const Receiver& receiver, int status = 200) {
  std::vector<std::string> ids;
  for (const Receiver::Request& r : receiver.requests()) {
    if (r.status == status) ids.push_back(r.headers.at("x-duban-notice-id"));
  }
  return ids;
}

// --- Tests ------------------------------------------------------------------

TEST(WebhookBackoffTest, DoublesCapsAndJitters) {
  WebhookDispatcher::Options o;  // 1 s .. 5 min
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 1, 1.0), absl::Seconds(1));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 2, 1.0), absl::Seconds(2));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 3, 1.0), absl::Seconds(4));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 9, 1.0), absl::Seconds(256));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 10, 1.0), absl::Minutes(5));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 1000000, 1.0), absl::Minutes(5));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 1, 0.8), absl::Milliseconds(800));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 1, 1.2), absl::Milliseconds(1200));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 10, 0.8), absl::Minutes(4));
  EXPECT_EQ(WebhookDispatcher::Backoff(o, 10, 1.2), absl::Minutes(5));
}

TEST(WebhookDispatcherTest, StartNeedsALog) {
  EXPECT_EQ(WebhookDispatcher::Start(nullptr, FastOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WebhookDispatcherTest, PostsJsonWithHeadersAndDeletesTheEntry) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  Receiver receiver(Receiver::Always(200));
  auto hooks = MustStart(log.get());
  ASSERT_NE(hooks, nullptr);

  hooks->Enqueue(Write(log.get(), {Entry("w1", receiver.url(), 7)}));
  ASSERT_TRUE(Eventually([&] { return hooks->stats().delivered == 1; }));

  const std::vector<Receiver::Request> got = receiver.requests();
  ASSERT_EQ(got.size(), 1u);
  const Receiver::Request& r = got[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hook");
  EXPECT_EQ(r.body, Body("w1", 7));
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("x-duban-notice-id"), NoticeId("w1", 7));
  EXPECT_EQ(r.headers.at("idempotency-key"), NoticeId("w1", 7));
  EXPECT_EQ(r.headers.at("user-agent"), "duban/0.1");
  EXPECT_EQ(r.headers.count("expect"), 0u);

  const WebhookDispatcher::Stats stats = hooks->stats();
  EXPECT_EQ(stats.attempts, 1u);
  EXPECT_EQ(stats.failures, 0u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_TRUE(OutboxKeys(*log).empty());
}

TEST(WebhookDispatcherTest, RetriesWithBackoffUntilTheReceiverAnswers2xx) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  Receiver receiver([](int i) { return Receiver::Answer{i < 2 ? 500 : 200}; });
  auto hooks = MustStart(log.get());
  ASSERT_NE(hooks, nullptr);

  hooks->Enqueue(Write(log.get(), {Entry("w1", receiver.url(), 1)}));
  ASSERT_TRUE(Eventually([&] { return hooks->stats().delivered == 1; }));
  EXPECT_TRUE(OutboxKeys(*log).empty());

  const std::vector<Receiver::Request> got = receiver.requests();
  ASSERT_EQ(got.size(), 3u);
  for (const Receiver::Request& r : got) {
    EXPECT_EQ(r.headers.at("x-duban-notice-id"), NoticeId("w1", 1));
    EXPECT_EQ(r.body, Body("w1", 1));
  }
  EXPECT_EQ(Answered(receiver), std::vector<std::string>{NoticeId("w1", 1)});
  // Waits of 10 ms and 20 ms, less at most 20% jitter.
  EXPECT_GE(got[1].at - got[0].at, absl::Milliseconds(8));
  EXPECT_GE(got[2].at - got[1].at, absl::Milliseconds(16));

  const WebhookDispatcher::Stats stats = hooks->stats();
  EXPECT_EQ(stats.attempts, 3u);
  EXPECT_EQ(stats.failures, 2u);
  EXPECT_EQ(stats.delivered, 1u);
  EXPECT_EQ(stats.pending, 0u);

  // Nothing more arrives later.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(receiver.requests().size(), 3u);
}

TEST(WebhookDispatcherTest, SilentReceiverDelaysOnlyItsOwnWebhook) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  Receiver silent([](int) { return Receiver::Answer{200, /*silent=*/true}; });
  Receiver healthy(Receiver::Always(200));
  WebhookDispatcher::Options options = FastOptions();
  options.request_timeout = absl::Milliseconds(500);
  auto hooks = MustStart(log.get(), options);
  ASSERT_NE(hooks, nullptr);

  // The silent receiver's notices come first, in the same batch.
  hooks->Enqueue(Write(log.get(), {Entry("dead", silent.url(), 1),
                                   Entry("dead", silent.url(), 2),
                                   Entry("live", healthy.url(), 3),
                                   Entry("live", healthy.url(), 4)}));
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Eventually([&] { return hooks->stats().delivered == 2; }));
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, options.request_timeout) << "live waited for dead";
  EXPECT_EQ(hooks->stats().failures, 0u);  // dead's first POST still hangs
  EXPECT_EQ(Answered(healthy), (std::vector<std::string>{NoticeId("live", 3),
                                                         NoticeId("live", 4)}));

  // The request timeout ends the silent POST; it is a failure and retried.
  ASSERT_TRUE(silent.WaitForRequests(2, absl::Seconds(5)));
  EXPECT_GE(hooks->stats().failures, 1u);
  for (const Receiver::Request& r : silent.requests()) {
    EXPECT_EQ(r.headers.at("x-duban-notice-id"), NoticeId("dead", 1));
  }
  EXPECT_EQ(OutboxKeys(*log), (std::vector<std::string>{OutboxKey("dead", 1),
                                                        OutboxKey("dead", 2)}));
}

TEST(WebhookDispatcherTest, RestartResumesPendingDeliveries) {
  TempDir dir;
  const int port = UnusedPort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  {
    auto log = OpenLog(dir);
    ASSERT_NE(log, nullptr);
    auto hooks = MustStart(log.get());
    ASSERT_NE(hooks, nullptr);
    hooks->Enqueue(
        Write(log.get(), {Entry("w1", url, 1), Entry("w1", url, 2)}));
    // Connection refused, twice: the receiver is down.
    ASSERT_TRUE(Eventually([&] { return hooks->stats().failures >= 2; }));
    EXPECT_EQ(hooks->stats().delivered, 0u);
    EXPECT_EQ(hooks->stats().pending, 2u);
  }  // the dispatcher, then the log, close

  Receiver receiver(Receiver::Always(200), port);
  ASSERT_EQ(receiver.port(), port);
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(OutboxKeys(*log).size(), 2u);
  auto hooks = MustStart(log.get());
  ASSERT_NE(hooks, nullptr);
  ASSERT_TRUE(Eventually([&] { return hooks->stats().delivered == 2; }));
  EXPECT_EQ(Answered(receiver), (std::vector<std::string>{NoticeId("w1", 1),
                                                          NoticeId("w1", 2)}));
  EXPECT_EQ(hooks->stats().pending, 0u);
  EXPECT_TRUE(OutboxKeys(*log).empty());
}

TEST(WebhookDispatcherTest, DeliversInKeyOrderWithinAWebhook) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  // The second POST fails: nothing may overtake the notice it carried.
  Receiver receiver([](int i) { return Receiver::Answer{i == 1 ? 503 : 200}; });
  // Seqs whose big-endian keys sort unlike their decimal text, written out
  // of order across batches before the dispatcher starts...
  for (uint64_t seq : {256, 1, 65536, 255, 2}) {
    Write(log.get(), {Entry("w1", receiver.url(), seq)});
  }
  auto hooks = MustStart(log.get());
  ASSERT_NE(hooks, nullptr);
  // ...and more, out of order within one batch, after it has.
  hooks->Enqueue(Write(log.get(), {Entry("w1", receiver.url(), 70001),
                                   Entry("w1", receiver.url(), 70000)}));
  ASSERT_TRUE(Eventually([&] { return hooks->stats().delivered == 7; }));

  std::vector<std::string> want;
  for (uint64_t seq : {1, 2, 255, 256, 65536, 70000, 70001}) {
    want.push_back(NoticeId("w1", seq));
  }
  EXPECT_EQ(Answered(receiver), want);
  EXPECT_EQ(Answered(receiver, 503), std::vector<std::string>{want[1]});
  EXPECT_TRUE(OutboxKeys(*log).empty());
}

TEST(WebhookDispatcherTest, DuplicateEnqueueOfAPendingKeyIsIgnored) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  // The first answer is slow, so the duplicates arrive while it is in flight.
  Receiver receiver([](int i) {
    return Receiver::Answer{200, false,
                            absl::Milliseconds(i == 0 ? 200 : 0)};
  });
  auto hooks = MustStart(log.get());
  ASSERT_NE(hooks, nullptr);
  const std::vector<EventLog::OutboxEntry> entries =
      Write(log.get(), {Entry("w1", receiver.url(), 1)});
  hooks->Enqueue(entries);
  ASSERT_TRUE(receiver.WaitForRequests(1, absl::Seconds(5)));
  hooks->Enqueue(entries);
  hooks->Enqueue(entries);
  EXPECT_EQ(hooks->stats().pending, 1u);
  ASSERT_TRUE(Eventually([&] { return hooks->stats().delivered == 1; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(hooks->stats().attempts, 1u);
  EXPECT_EQ(hooks->stats().pending, 0u);
}

TEST(WebhookDispatcherTest, UndeliverableEntriesAreSkippedAndKept) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  Receiver receiver(Receiver::Always(200));
  EventLog::OutboxEntry garbage{OutboxKey("w1", 1), "not a WebhookDelivery"};
  EventLog::OutboxEntry injected = Entry("w1", receiver.url(), 2);
  duban::v1::WebhookDelivery d;
  ASSERT_TRUE(d.ParseFromString(injected.value));
  d.set_notice_id("n\r\nX-Evil: 1");  // would split a header line
  injected.value = d.SerializeAsString();
  Write(log.get(), {garbage, injected, Entry("w1", receiver.url(), 3)});

  auto hooks = MustStart(log.get());
  ASSERT_NE(hooks, nullptr);
  ASSERT_TRUE(Eventually([&] { return hooks->stats().delivered == 1; }));
  EXPECT_EQ(Answered(receiver), std::vector<std::string>{NoticeId("w1", 3)});
  EXPECT_EQ(hooks->stats().pending, 0u);
  EXPECT_EQ(OutboxKeys(*log), (std::vector<std::string>{OutboxKey("w1", 1),
                                                        OutboxKey("w1", 2)}));
}

TEST(WebhookDispatcherTest, StopIsPromptDuringALongBackoff) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  Receiver receiver(Receiver::Always(500));
  WebhookDispatcher::Options options = FastOptions();
  options.initial_backoff = absl::Minutes(1);
  options.max_backoff = absl::Minutes(10);
  auto hooks = MustStart(log.get(), options);
  ASSERT_NE(hooks, nullptr);
  hooks->Enqueue(Write(log.get(), {Entry("w1", receiver.url(), 1)}));
  ASSERT_TRUE(Eventually([&] { return hooks->stats().failures == 1; }));

  const absl::Time start = absl::Now();
  hooks.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(OutboxKeys(*log).size(), 1u);  // still owed
}

TEST(WebhookDispatcherTest, StopIsPromptDuringARequestInFlight) {
  TempDir dir;
  auto log = OpenLog(dir);
  ASSERT_NE(log, nullptr);
  Receiver silent([](int) { return Receiver::Answer{200, /*silent=*/true}; });
  WebhookDispatcher::Options options = FastOptions();
  options.request_timeout = absl::Minutes(1);
  auto hooks = MustStart(log.get(), options);
  ASSERT_NE(hooks, nullptr);
  hooks->Enqueue(Write(log.get(), {Entry("w1", silent.url(), 1)}));
  ASSERT_TRUE(silent.WaitForRequests(1, absl::Seconds(5)));

  const absl::Time start = absl::Now();
  hooks.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(OutboxKeys(*log).size(), 1u);
}

}  // namespace
}  // namespace duban::services
