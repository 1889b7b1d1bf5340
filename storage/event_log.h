// The append-only, hash-chained event log on RocksDB.
//
// Layout (column families):
//   default      seq (8 bytes big-endian) -> serialized duban.v1.Event
//   hashes       seq -> the event's 32-byte hash = SHA-256(prev_hash || stored bytes)
//   requests     principal '\0' request_id -> duban.v1.RequestRecord
//   meta         "head" -> seq (8 bytes BE) || hash (32 bytes)
//   outbox       caller's key -> caller's value: pending deliveries (webhooks),
//                written with the events that produced them, deleted when done
//   snapshots    seq -> the caller's snapshot of its state after that event
//                (opaque here; not synced: losing one only lengthens a replay)
// Everything one Append call writes (events of several commands, their
// request records and the new head) goes into one WriteBatch written with
// sync=true, so a crash leaves either all of it or none of it.
//
// Thread safety: Append must be called from one thread at a time (the
// sequencer); every other method is safe to call concurrently with it and
// with each other. Reads never wait for an Append in progress.
//
//   auto log = EventLog::Open({.path = dir});
//   EventLog::CommandWrite w;
//   w.events.push_back(event);             // seq and prev_hash are filled in
//   std::vector<EventLog::CommandWrite> batch{w};
//   RETURN_IF_ERROR((*log)->Append(&batch));  // durable when this returns OK
#ifndef DUBAN_STORAGE_EVENT_LOG_H_
#define DUBAN_STORAGE_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "duban/v1/event.pb.h"

namespace duban::storage {

class EventLog {
 public:
  struct Options {
    std::string path;
    bool create_if_missing = true;
    bool sync = true;  // false only in benchmarks that measure without fsync
    // The write-ahead log kept before RocksDB flushes the column families
    // that pin its oldest file. A restart after a crash replays every live
    // WAL file, so this bounds recovery (~0.3 s per 100 MiB here). Without
    // it, the small families (the head record, request records) keep old
    // WAL files alive until the WAL reaches four times the write buffers:
    // 578 MiB and 1.8 s after 1.4 million events. 0: RocksDB's default.
    uint64_t max_wal_bytes = 128ull << 20;
  };

  struct Head {
    uint64_t seq = 0;   // 0 for an empty log
    std::string hash;   // 32 zero bytes for an empty log
  };

  // An entry of the outbox column family.
  struct OutboxEntry {
    std::string key;
    std::string value;
  };

  // One command's output: its events (in order) and, when the command came
  // with a request id, the record that makes a retry return `response`.
  struct CommandWrite {
    std::vector<OutboxEntry> outbox;  // written in the same batch
    std::vector<duban::v1::Event> events;
    std::optional<duban::v1::RequestRecord> request;  // first/last seq filled in
    std::string principal;   // key of the request record
    std::string request_id;  // key of the request record
  };

  // Opens (creating if allowed) the log at options.path, checks that the
  // head record matches the last event, and returns it ready for appends.
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(const Options& options);

  virtual ~EventLog() = default;

  // The last durable event's seq and hash.
  virtual Head head() const = 0;

  // Assigns consecutive seqs and prev_hash to every event of every command,
  // writes them with their hashes, request records and the new head in one
  // synced WriteBatch. On OK the events in `writes` carry their seq and
  // prev_hash. On error nothing was written and the head is unchanged.
  virtual absl::Status Append(std::vector<CommandWrite>* writes) = 0;

  // The record stored for (principal, request_id), or nullopt if none.
  virtual absl::StatusOr<std::optional<duban::v1::RequestRecord>> LookupRequest(
      const std::string& principal, const std::string& request_id) const = 0;

  // fn(seq, stored, hash): an event's seq, its bytes exactly as stored and
  // its stored 32-byte hash (= ChainHash(prev_hash, stored)), nothing parsed.
  // `stored` and `hash` are valid only during the call.
  using RawEventFn =
      std::function<bool(uint64_t seq, std::string_view stored, std::string_view hash)>;

  // The one scan of the log: calls `fn` for each event with
  // from_seq <= seq <= to_seq (to_seq 0 means up to the head at the call), in
  // order, from one consistent RocksDB snapshot, with two iterators in
  // lockstep (events and hashes), without parsing and without loading the
  // range into memory. Checks density: a missing seq, or an event without
  // its hash, is DATA_LOSS naming the seq. Stops early, returning OK, when
  // `fn` returns false.
  virtual absl::Status ScanStored(uint64_t from_seq, uint64_t to_seq,
                                  const RawEventFn& fn) const = 0;

  // fn(event, stored, hash): ScanStored's record with the event parsed (and
  // its seq checked against the key). Valid only during the call.
  using HashedEventFn = std::function<bool(const duban::v1::Event& event,
                                           std::string_view stored, std::string_view hash)>;
  absl::Status ReadHashed(uint64_t from_seq, uint64_t to_seq, const HashedEventFn& fn) const;

  // fn(event, stored): the parsed event and its bytes exactly as stored
  // (the event's hash is ChainHash(event.prev_hash(), stored)). `stored` is
  // valid only during the call.
  using StoredEventFn =
      std::function<bool(const duban::v1::Event& event, std::string_view stored)>;

  // ScanStored, parsing each event (ReadHashed without the hash).
  absl::Status ReadStored(uint64_t from_seq, uint64_t to_seq, const StoredEventFn& fn) const {
    return ReadHashed(from_seq, to_seq,
                      [&fn](const duban::v1::Event& e, std::string_view stored,
                            std::string_view) { return fn(e, stored); });
  }

  // ReadStored for callers that want the parsed events only.
  absl::Status Read(uint64_t from_seq, uint64_t to_seq,
                    const std::function<bool(const duban::v1::Event&)>& fn) const {
    return ReadHashed(from_seq, to_seq,
                      [&fn](const duban::v1::Event& e, std::string_view, std::string_view) {
                        return fn(e);
                      });
  }

  // Calls fn(key, value) for every outbox entry in key order (a consistent
  // snapshot); stops early when fn returns false.
  virtual absl::Status ScanOutbox(
      const std::function<bool(const std::string& key, const std::string& value)>& fn) const = 0;

  // Removes an outbox entry (a delivery that is done). Safe to call
  // concurrently with Append; not synced (a lost delete means one more
  // delivery, which at-least-once allows).
  virtual absl::Status DeleteOutbox(const std::string& key) = 0;

  // A snapshot of the caller's state after event `seq` (<= the head),
  // written past the WAL straight into a blob file (flushed before this
  // returns): the events it covers are already durable, and a snapshot lost
  // in a crash only means replaying from an older one. Safe to call
  // concurrently with Append.
  struct Snapshot {
    uint64_t seq = 0;
    std::string bytes;
  };
  virtual absl::Status PutSnapshot(uint64_t seq, const std::string& bytes) = 0;

  // The newest snapshot with seq <= at_most, or nullopt when there is none.
  virtual absl::StatusOr<std::optional<Snapshot>> LatestSnapshot(uint64_t at_most) const = 0;

  // The seqs of the stored snapshots, oldest first.
  virtual absl::StatusOr<std::vector<uint64_t>> SnapshotSeqs() const = 0;

  // Deletes every snapshot but the newest `keep`.
  virtual absl::Status PruneSnapshots(size_t keep) = 0;

  // The stored hash of event `seq`.
  virtual absl::StatusOr<std::string> EventHash(uint64_t seq) const = 0;

  // The bytes of event `seq` as stored (one point lookup: no snapshot, no
  // iterator); NOT_FOUND if there is no such event.
  virtual absl::StatusOr<std::string> StoredEvent(uint64_t seq) const = 0;
  // StoredEvent parsed, its seq checked (DATA_LOSS otherwise): what the state
  // reads back one at a time (earlier report revisions, timelines, closed
  // escalations).
  absl::StatusOr<duban::v1::Event> ReadEvent(uint64_t seq) const;

  // Recomputes the chain from seq 1 to the head: every seq present and dense,
  // every prev_hash equal to the previous event's hash, every stored hash
  // equal to SHA-256(prev_hash || stored bytes), the head equal to the last.
  // DATA_LOSS naming the first bad seq otherwise.
  virtual absl::Status Verify() const = 0;
};

// The hash the chain uses for event bytes `stored` that follow `prev_hash`.
std::string ChainHash(const std::string& prev_hash, const std::string& stored);

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_EVENT_LOG_H_
