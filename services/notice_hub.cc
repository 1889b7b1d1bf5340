#include "services/notice_hub.h"

#include "absl/strings/str_cat.h"

namespace duban::services {

duban::v1::Notice NoticeOf(const duban::v1::Event& event) {
  duban::v1::Notice n = event.notice_issued().notice();
  n.set_id(absl::StrCat("notice-", event.seq()));
  n.set_seq(event.seq());
  return n;
}

int NoticeHub::Subscribe(Listener listener) {
  absl::MutexLock lock(&mu_);
  listeners_[++next_id_] = std::move(listener);
  return next_id_;
}

void NoticeHub::Unsubscribe(int id) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(id);
}

void NoticeHub::Publish(const std::vector<duban::v1::Event>& events) {
  absl::MutexLock lock(&mu_);
  if (listeners_.empty()) return;
  for (const auto& e : events) {
    if (!e.has_notice_issued()) continue;
    const duban::v1::Notice n = NoticeOf(e);
    for (auto& [_, listener] : listeners_) listener(n);
  }
}

}  // namespace duban::services
