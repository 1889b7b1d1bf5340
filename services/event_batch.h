// Builds ReadEventBatches' messages (duban.v1.EventBatch) straight in the
// protobuf wire format, so that events read from the log are copied once,
// from RocksDB into the batch, and never parsed or re-serialized:
//
//   EventBatch  = { 0x0A varint(len) AuditEvent }*           (events = 1)
//   AuditEvent  = 0x12 0x20 hash[32]  0x1A varint(len) stored (hash = 2, stored = 3)
//
// which is exactly what protobuf itself writes for an EventBatch whose
// AuditEvents carry only `hash` and `stored`.
//
//   EventBatchBuilder b(4096, 256 * 1024);
//   b.AddStored(stored, hash);            // or b.AddEvent(audit_event)
//   if (b.full()) out.push_back(b.Take());
#ifndef DUBAN_SERVICES_EVENT_BATCH_H_
#define DUBAN_SERVICES_EVENT_BATCH_H_

#include <grpcpp/support/byte_buffer.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "duban/v1/audit.pb.h"

namespace duban::services {

class EventBatchBuilder {
 public:
  // A batch is full at `max_events` events or once it holds `max_bytes`
  // (a single larger event still makes a batch of its own).
  EventBatchBuilder(size_t max_events, size_t max_bytes);

  // Appends an AuditEvent with only `hash` and `stored` set.
  void AddStored(std::string_view stored, std::string_view hash);
  // Appends any AuditEvent (serialized by protobuf).
  void AddEvent(const duban::v1::AuditEvent& event);

  size_t events() const { return events_; }
  size_t bytes() const { return buf_.size(); }
  bool full() const { return events_ >= max_events_ || buf_.size() >= max_bytes_; }

  // The batch so far as one slice (the bytes are handed over, not copied);
  // the builder is empty afterwards.
  grpc::ByteBuffer Take();
  // The batch so far as bytes (tests); the builder is empty afterwards.
  std::string TakeBytes();

 private:
  void AppendVarint(uint64_t v);

  const size_t max_events_;
  const size_t max_bytes_;
  std::string buf_;
  size_t events_ = 0;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_EVENT_BATCH_H_
