// Webhook delivery: the notices a supervision rung produces, POSTed as JSON
// to the subscribed receivers, at least once, from the event log's outbox.
//
// The sequencer writes each pending delivery (a serialized
// duban.v1.WebhookDelivery) into the outbox in the same WriteBatch as the
// notice's events, under the key webhook_id '\0' notice_seq (8 bytes,
// big-endian), and hands the entries to Enqueue once the batch is durable.
// The dispatcher deletes an entry when its receiver has answered 2xx, so a
// restart finds exactly the deliveries still owed and Start resumes them.
//
//   ASSIGN_OR_RETURN(auto hooks, WebhookDispatcher::Start(log, {}));
//   hooks->Enqueue(outbox_entries);  // from Sequencer::Hooks::committed
#ifndef DUBAN_SERVICES_WEBHOOKS_H_
#define DUBAN_SERVICES_WEBHOOKS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/event_log.h"

namespace duban::services {

// Delivers webhook notices at least once: from the durable outbox, a JSON POST
// each, retried with exponential backoff until the receiver answers 2xx.
// One worker thread per webhook id, so a receiver that never answers delays
// only its own deliveries. Thread-safe.
//
// Each POST carries the delivery's body_json with the headers
// `Content-Type: application/json`, `X-Duban-Notice-Id: <notice_id>`,
// `Idempotency-Key: <notice_id>` and `User-Agent: duban/0.1`; receivers
// de-duplicate on the notice id, since a delivery whose 2xx answer (or whose
// outbox delete) was lost is made again. Within one webhook the entries go
// out one at a time in key order (notice order): a failing entry is retried
// and nothing behind it overtakes it. Redirects are not followed (a 3xx is a
// failure) and only http and https URLs are used.
//
// An outbox value that does not parse as a WebhookDelivery can never be
// delivered: it is logged once, left in the outbox and skipped.
//
// `log` must outlive the dispatcher. Entries written to the outbox between
// Start's scan and the first Enqueue are delivered only if they are also
// passed to Enqueue (or after the next restart).
class WebhookDispatcher {
 public:
  struct Options {
    absl::Duration initial_backoff = absl::Seconds(1);
    absl::Duration max_backoff = absl::Minutes(5);
    absl::Duration request_timeout = absl::Seconds(10);
    absl::Duration connect_timeout = absl::Seconds(5);
    // Whether a webhook still exists; deliveries to one that does not are
    // dropped from the outbox instead of being sent. Unset: always.
    std::function<bool(const std::string& webhook_id)> still_wanted;
  };

  struct Stats {
    uint64_t delivered = 0;  // 2xx answers
    uint64_t attempts = 0;   // POSTs made (answered or not)
    uint64_t failures = 0;   // attempts that did not end in a 2xx
    size_t pending = 0;      // deliveries not yet acknowledged
  };

  // Loads every pending delivery from the log's outbox and starts delivering.
  // INVALID_ARGUMENT for a null log; the scan's error if it fails; INTERNAL if
  // libcurl cannot be initialised.
  static absl::StatusOr<std::unique_ptr<WebhookDispatcher>> Start(
      storage::EventLog* log, Options options);

  // Stops promptly: backoff waits and requests in flight are abandoned, and
  // whatever was not acknowledged stays in the outbox for the next Start.
  ~WebhookDispatcher();

  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // New entries, after the batch that wrote them is durable. Values are
  // serialized duban.v1.WebhookDelivery. A key already pending is ignored
  // (never delivered twice at the same time). Does not block on the network
  // or the disk; safe to call from the sequencer's writer thread.
  void Enqueue(const std::vector<storage::EventLog::OutboxEntry>& entries);

  Stats stats() const;

  // The wait before retry number `failures` (1 for the first retry):
  // initial × 2^(failures-1), capped at max, scaled by `jitter` (the caller
  // draws it from [0.8, 1.2]), and never above max. Exposed for tests.
  static absl::Duration Backoff(const Options& options, int failures,
                                double jitter);

 private:
  class Worker;

  WebhookDispatcher(storage::EventLog* log, Options options);

  // Body of a worker's thread: delivers its queue until stopping_.
  void Run(Worker* worker);

  storage::EventLog* const log_;
  const Options options_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // By webhook id; a worker lives until the dispatcher does.
  std::map<std::string, std::unique_ptr<Worker>> workers_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_WEBHOOKS_H_
