// Live notices: the sequencer publishes every notice it commits; WatchNotices
// streams subscribe. Thread-safe. A listener is never called after
// Unsubscribe returns.
#ifndef DUBAN_SERVICES_NOTICE_HUB_H_
#define DUBAN_SERVICES_NOTICE_HUB_H_

#include <functional>
#include <map>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "duban/v1/event.pb.h"
#include "duban/v1/supervision.pb.h"

namespace duban::services {

class NoticeHub {
 public:
  using Listener = std::function<void(const duban::v1::Notice&)>;

  int Subscribe(Listener listener);
  void Unsubscribe(int id);
  // Calls every listener with each NoticeIssued among `events` (id and seq
  // filled in from the envelope). Listeners must not block.
  void Publish(const std::vector<duban::v1::Event>& events);

 private:
  absl::Mutex mu_;
  int next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, Listener> listeners_ ABSL_GUARDED_BY(mu_);
};

// The notice an event carries, with its id ("notice-<seq>") and seq.
duban::v1::Notice NoticeOf(const duban::v1::Event& event);

}  // namespace duban::services

#endif  // DUBAN_SERVICES_NOTICE_HUB_H_
