// WebhookDispatcher (see webhooks.h): one worker thread per webhook id, each
// with its own libcurl easy handle, all sharing one mutex that guards the
// queues, the stats and the stop flag. Nothing holds that mutex across a
// request, a RocksDB call or a log line.
#include "services/webhooks.h"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "duban/v1/supervision.pb.h"
#include "spdlog/spdlog.h"
#include "storage/status_macros.h"

namespace duban::services {
namespace {

constexpr char kUserAgent[] = "duban/0.1";
// A dead receiver is logged on its first failure and then every this many.
constexpr int kLogEveryNthFailure = 10;

// libcurl treats 0 as "no timeout"; a zero or negative option means "as
// short as possible" here.
long TimeoutMillis(absl::Duration d) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

// A notice id goes into two header lines: printable ASCII only.
bool ValidHeaderValue(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// One libcurl easy handle, reused across requests (so a connection to a
// receiver is kept alive between deliveries), whose requests another thread
// can cut short with Interrupt. Post is called by one thread at a time.
class HttpClient {
 public:
  struct Response {
    long status = 0;    // the HTTP status; 0 when there was no answer
    std::string error;  // why there was no answer
  };

  explicit HttpClient(const WebhookDispatcher::Options& options)
      : curl_(curl_easy_init()) {
    if (curl_ == nullptr) {
      init_error_ = "curl_easy_init failed";
      return;
    }
    error_[0] = '\0';
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(curl_, option, value);
    };
    set(CURLOPT_NOSIGNAL, 1L);
    // A name lookup that hangs is abandoned, not waited for, when the request
    // times out or is interrupted (the resolver thread frees itself later).
    set(CURLOPT_QUICK_EXIT, 1L);
    set(CURLOPT_TIMEOUT_MS, TimeoutMillis(options.request_timeout));
    set(CURLOPT_CONNECTTIMEOUT_MS, TimeoutMillis(options.connect_timeout));
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_USERAGENT, kUserAgent);
    set(CURLOPT_ERRORBUFFER, error_);
    set(CURLOPT_WRITEFUNCTION, &HttpClient::Discard);
    set(CURLOPT_NOPROGRESS, 0L);
    set(CURLOPT_XFERINFOFUNCTION, &HttpClient::Progress);
    set(CURLOPT_XFERINFODATA, static_cast<void*>(this));
    set(CURLOPT_OPENSOCKETFUNCTION, &HttpClient::OpenSocket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(this));
    set(CURLOPT_CLOSESOCKETFUNCTION, &HttpClient::CloseSocket);
    set(CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));
    if (rc != CURLE_OK) {
      init_error_ = std::string("curl_easy_setopt: ") + curl_easy_strerror(rc);
    }
  }

  ~HttpClient() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);  // closes via CloseSocket
  }

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Response Post(const std::string& url, const std::string& notice_id,
                const std::string& body) {
    Response response;
    if (!init_error_.empty()) {
      response.error = init_error_;
      return response;
    }
    if (interrupted_.load()) {
      response.error = "stopping";
      return response;
    }
    curl_slist* headers = nullptr;
    for (const std::string& line :
         {std::string("Content-Type: application/json"),
          "X-Duban-Notice-Id: " + notice_id, "Idempotency-Key: " + notice_id,
          // No "Expect: 100-continue" round trip for larger bodies.
          std::string("Expect:")}) {
      curl_slist* appended = curl_slist_append(headers, line.c_str());
      if (appended == nullptr) {
        curl_slist_free_all(headers);
        response.error = "out of memory building headers";
        return response;
      }
      headers = appended;
    }
    error_[0] = '\0';
    CURLcode rc = curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    if (rc == CURLE_OK) {
      rc = curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                            static_cast<curl_off_t>(body.size()));
    }
    if (rc == CURLE_OK) {
      rc = curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
    }
    if (rc == CURLE_OK) rc = curl_easy_perform(curl_);
    if (rc == CURLE_OK) {
      long status = 0;
      rc = curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
      response.status = status;
    }
    if (rc != CURLE_OK) {
      response.error = error_[0] != '\0' ? error_ : curl_easy_strerror(rc);
    }
    // The handle must not keep pointers into this call's strings.
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, nullptr);
    curl_slist_free_all(headers);
    return response;
  }

  // Makes the request in flight, and every later one, fail at once: shutting
  // its sockets down wakes libcurl from its wait, and the progress callback
  // and OpenSocket refuse to go on.
  void Interrupt() {
    std::lock_guard<std::mutex> lock(sockets_mu_);
    interrupted_.store(true);
    for (curl_socket_t fd : sockets_) shutdown(fd, SHUT_RDWR);
  }

 private:
  static size_t Discard(char*, size_t size, size_t nmemb, void*) {
    return size * nmemb;  // receivers' answers are not read
  }

  static int Progress(void* self, curl_off_t, curl_off_t, curl_off_t,
                      curl_off_t) {
    return static_cast<HttpClient*>(self)->interrupted_.load() ? 1 : 0;
  }

  // Sockets are opened and closed under sockets_mu_, so Interrupt never
  // shuts down a descriptor number that has been closed and reused.
  static curl_socket_t OpenSocket(void* clientp, curlsocktype,
                                  curl_sockaddr* address) {
    auto* self = static_cast<HttpClient*>(clientp);
    std::lock_guard<std::mutex> lock(self->sockets_mu_);
    if (self->interrupted_.load()) return CURL_SOCKET_BAD;
    const curl_socket_t fd = socket(
        address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd != CURL_SOCKET_BAD) self->sockets_.insert(fd);
    return fd;
  }

  static int CloseSocket(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<HttpClient*>(clientp);
    std::lock_guard<std::mutex> lock(self->sockets_mu_);
    self->sockets_.erase(fd);
    return close(fd);
  }

  CURL* const curl_;
  std::string init_error_;  // set once in the constructor
  char error_[CURL_ERROR_SIZE];
  std::atomic<bool> interrupted_{false};
  std::mutex sockets_mu_;
  std::set<curl_socket_t> sockets_;  // guarded by sockets_mu_
};

}  // namespace

class WebhookDispatcher::Worker {
 public:
  Worker(std::string id, const Options& options)
      : webhook_id(std::move(id)), http(options), rng(std::random_device()()) {}

  const std::string webhook_id;
  HttpClient http;

  // Guarded by the dispatcher's mu_. An entry stays here while it is being
  // delivered, so a duplicate Enqueue of its key is ignored.
  std::map<std::string, duban::v1::WebhookDelivery> queue;
  absl::CondVar cv;  // with mu_: an entry was queued, or stopping
  std::thread thread;

  // Touched by the worker's thread only.
  int failures = 0;  // consecutive failed attempts of the entry at the front
  std::mt19937_64 rng;
};

absl::Duration WebhookDispatcher::Backoff(const Options& options, int failures,
                                          double jitter) {
  absl::Duration wait = options.initial_backoff;
  for (int i = 1; i < failures && wait < options.max_backoff; ++i) wait *= 2;
  wait = std::min(wait, options.max_backoff) * jitter;
  return std::max(absl::ZeroDuration(), std::min(wait, options.max_backoff));
}

absl::StatusOr<std::unique_ptr<WebhookDispatcher>> WebhookDispatcher::Start(
    storage::EventLog* log, Options options) {
  if (log == nullptr) {
    return absl::InvalidArgumentError("webhooks: no event log");
  }
  static std::once_flag curl_once;
  static CURLcode curl_init = CURLE_OK;
  std::call_once(curl_once,
                 [] { curl_init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (curl_init != CURLE_OK) {
    return absl::InternalError(std::string("webhooks: curl_global_init: ") +
                               curl_easy_strerror(curl_init));
  }
  std::vector<storage::EventLog::OutboxEntry> pending;
  RETURN_IF_ERROR(log->ScanOutbox(
      [&pending](const std::string& key, const std::string& value) {
        pending.push_back({key, value});
        return true;
      }));
  std::unique_ptr<WebhookDispatcher> dispatcher(
      new WebhookDispatcher(log, options));
  dispatcher->Enqueue(pending);
  if (!pending.empty()) {
    spdlog::info("webhooks: resuming {} pending deliveries",
                 dispatcher->stats().pending);
  }
  return dispatcher;
}

WebhookDispatcher::WebhookDispatcher(storage::EventLog* log, Options options)
    : log_(log), options_(options) {}

WebhookDispatcher::~WebhookDispatcher() {
  std::vector<std::thread*> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, worker] : workers_) {
      worker->cv.SignalAll();
      worker->http.Interrupt();
      threads.push_back(&worker->thread);
    }
  }
  // No worker is added once stopping_ is set.
  for (std::thread* t : threads) t->join();
}

void WebhookDispatcher::Enqueue(
    const std::vector<storage::EventLog::OutboxEntry>& entries) {
  std::vector<std::pair<std::string, duban::v1::WebhookDelivery>> parsed;
  parsed.reserve(entries.size());
  for (const storage::EventLog::OutboxEntry& entry : entries) {
    duban::v1::WebhookDelivery delivery;
    if (!delivery.ParseFromString(entry.value) ||
        !ValidHeaderValue(delivery.notice_id())) {
      spdlog::error(
          "webhooks: outbox entry \"{}\" is not a deliverable "
          "WebhookDelivery; left in the outbox, skipped",
          absl::CEscape(entry.key));
      continue;
    }
    parsed.emplace_back(entry.key, std::move(delivery));
  }
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  for (auto& [key, delivery] : parsed) {
    std::unique_ptr<Worker>& worker = workers_[delivery.webhook_id()];
    if (worker == nullptr) {
      worker = std::make_unique<Worker>(delivery.webhook_id(), options_);
      worker->thread = std::thread(&WebhookDispatcher::Run, this, worker.get());
    }
    if (worker->queue.emplace(key, std::move(delivery)).second) {
      ++stats_.pending;
      worker->cv.Signal();
    }
  }
}

WebhookDispatcher::Stats WebhookDispatcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void WebhookDispatcher::Run(Worker* worker) {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  for (;;) {
    std::string key;
    duban::v1::WebhookDelivery delivery;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && worker->queue.empty()) worker->cv.Wait(&mu_);
      if (stopping_) return;
      const auto front = worker->queue.begin();
      key = front->first;
      delivery = front->second;  // a copy: the queue changes while we post
    }
    if (options_.still_wanted && !options_.still_wanted(delivery.webhook_id())) {
      log_->DeleteOutbox(key).IgnoreError();  // a removed webhook: nothing more to send
      absl::MutexLock lock(&mu_);
      --stats_.pending;
      worker->queue.erase(key);
      continue;
    }

    const HttpClient::Response response = worker->http.Post(
        delivery.url(), delivery.notice_id(), delivery.body_json());
    const bool ok = response.status >= 200 && response.status < 300;
    absl::Status deleted;
    if (ok) deleted = log_->DeleteOutbox(key);

    {
      absl::MutexLock lock(&mu_);
      ++stats_.attempts;
      if (ok) {
        ++stats_.delivered;
        --stats_.pending;
        worker->queue.erase(key);
      } else {
        if (stopping_) return;  // interrupted, most likely: not a failure
        ++stats_.failures;
      }
    }

    if (ok) {
      if (worker->failures > 0) {
        spdlog::info("webhook {}: notice {} delivered after {} failed attempts",
                     worker->webhook_id, delivery.notice_id(),
                     worker->failures);
      }
      worker->failures = 0;
      if (!deleted.ok()) {
        // The entry stays on disk and is delivered again after a restart;
        // at-least-once allows that, and the receiver de-duplicates.
        spdlog::warn("webhook {}: notice {} delivered but not removed from "
                     "the outbox: {}",
                     worker->webhook_id, delivery.notice_id(),
                     deleted.ToString());
      }
      continue;
    }

    ++worker->failures;
    const absl::Duration wait =
        Backoff(options_, worker->failures, jitter(worker->rng));
    if (worker->failures == 1 || worker->failures % kLogEveryNthFailure == 0) {
      const std::string why = response.status != 0
                                  ? "HTTP " + std::to_string(response.status)
                                  : response.error;
      spdlog::warn(
          "webhook {}: notice {} not delivered ({}); failed attempt {}, "
          "retrying in {} (failures are logged 1st and every {}th)",
          worker->webhook_id, delivery.notice_id(), why, worker->failures,
          absl::FormatDuration(absl::Trunc(wait, absl::Milliseconds(1))),
          kLogEveryNthFailure);
    }

    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + wait;
    // Wakes for new entries too (Signal); only stopping or the deadline
    // ends the wait.
    while (!stopping_ && !worker->cv.WaitWithDeadline(&mu_, deadline)) {
    }
    if (stopping_) return;
  }
}

}  // namespace duban::services
