#include "services/event_batch.h"

#include <grpcpp/support/slice.h>

#include <utility>

namespace duban::services {

namespace {

constexpr char kEventsTag = 0x0A;  // EventBatch.events = 1, length-delimited
constexpr char kHashTag = 0x12;    // AuditEvent.hash = 2, length-delimited
constexpr char kStoredTag = 0x1A;  // AuditEvent.stored = 3, length-delimited

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace

EventBatchBuilder::EventBatchBuilder(size_t max_events, size_t max_bytes)
    : max_events_(max_events), max_bytes_(max_bytes) {}

void EventBatchBuilder::AppendVarint(uint64_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<char>(v));
}

void EventBatchBuilder::AddStored(std::string_view stored, std::string_view hash) {
  if (buf_.empty()) buf_.reserve(max_bytes_ + max_bytes_ / 8);
  size_t inner = 0;
  if (!hash.empty()) inner += 1 + VarintSize(hash.size()) + hash.size();
  if (!stored.empty()) inner += 1 + VarintSize(stored.size()) + stored.size();
  buf_.push_back(kEventsTag);
  AppendVarint(inner);
  if (!hash.empty()) {
    buf_.push_back(kHashTag);
    AppendVarint(hash.size());
    buf_.append(hash.data(), hash.size());
  }
  if (!stored.empty()) {
    buf_.push_back(kStoredTag);
    AppendVarint(stored.size());
    buf_.append(stored.data(), stored.size());
  }
  ++events_;
}

void EventBatchBuilder::AddEvent(const duban::v1::AuditEvent& event) {
  if (buf_.empty()) buf_.reserve(max_bytes_ + max_bytes_ / 8);
  const size_t size = event.ByteSizeLong();
  buf_.push_back(kEventsTag);
  AppendVarint(size);
  const size_t at = buf_.size();
  buf_.resize(at + size);
  event.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(buf_.data() + at));
  ++events_;
}

grpc::ByteBuffer EventBatchBuilder::Take() {
  auto* owned = new std::string(std::move(buf_));
  buf_ = std::string();
  events_ = 0;
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

std::string EventBatchBuilder::TakeBytes() {
  std::string out = std::move(buf_);
  buf_ = std::string();
  events_ = 0;
  return out;
}

}  // namespace duban::services
