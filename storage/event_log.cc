// RocksEventLog: the RocksDB implementation of EventLog (see event_log.h for
// the layout and the contract). Everything RocksDB-specific, including the
// translation of rocksdb::Status into absl::Status, stays in this file.
#include "storage/event_log.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/status.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::storage {

std::string ChainHash(const std::string& prev_hash, const std::string& stored) {
  return Sha256({prev_hash, stored});
}

namespace {

constexpr size_t kSeqSize = 8;
constexpr char kHashesFamily[] = "hashes";
constexpr char kRequestsFamily[] = "requests";
constexpr char kMetaFamily[] = "meta";
constexpr char kOutboxFamily[] = "outbox";
constexpr char kSnapshotsFamily[] = "snapshots";
constexpr char kHeadKey[] = "head";

std::string ZeroHash() { return std::string(kHashSize, '\0'); }

// Keys are big-endian so RocksDB's bytewise order is seq order.
std::string EncodeSeq(uint64_t seq) {
  std::string out(kSeqSize, '\0');
  for (size_t i = 0; i < kSeqSize; ++i) {
    out[kSeqSize - 1 - i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return out;
}

bool DecodeSeq(const rocksdb::Slice& in, uint64_t* seq) {
  if (in.size() != kSeqSize) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < kSeqSize; ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  }
  *seq = v;
  return true;
}

std::string RequestKey(const std::string& principal,
                       const std::string& request_id) {
  std::string key;
  key.reserve(principal.size() + 1 + request_id.size());
  key.append(principal);
  key.push_back('\0');
  key.append(request_id);
  return key;
}

// "head" value: seq (8 bytes BE) || hash (32 bytes).
std::string EncodeHead(const EventLog::Head& head) {
  return EncodeSeq(head.seq) + head.hash;
}

absl::Status DecodeHead(const std::string& value, EventLog::Head* head) {
  if (value.size() != kSeqSize + kHashSize ||
      !DecodeSeq(rocksdb::Slice(value.data(), kSeqSize), &head->seq)) {
    return absl::DataLossError(absl::StrCat("event log: head record has ",
                                            value.size(), " bytes, want ",
                                            kSeqSize + kHashSize));
  }
  head->hash = value.substr(kSeqSize);
  return absl::OkStatus();
}

// The one place a rocksdb::Status becomes an absl::Status. `context` says
// what was being done ("write batch", "read seq 7").
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat("rocksdb: ", context, ": ", s.ToString());
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (s.IsNotFound()) {
    code = absl::StatusCode::kNotFound;
  } else if (s.IsCorruption()) {
    code = absl::StatusCode::kDataLoss;
  } else if (s.IsInvalidArgument()) {
    code = absl::StatusCode::kInvalidArgument;
  } else if (s.IsNotSupported()) {
    code = absl::StatusCode::kUnimplemented;
  } else if (s.IsNoSpace() || s.IsMemoryLimit()) {
    code = absl::StatusCode::kResourceExhausted;
  } else if (s.IsBusy() || s.IsTryAgain() || s.IsShutdownInProgress()) {
    code = absl::StatusCode::kUnavailable;
  } else if (s.IsTimedOut() || s.IsExpired()) {
    code = absl::StatusCode::kDeadlineExceeded;
  } else if (s.IsAborted()) {
    code = absl::StatusCode::kAborted;
  }
  // IOError (other than no space), Incomplete and the rest: INTERNAL. A disk
  // error is not something a caller should retry blindly.
  return absl::Status(code, msg);
}

absl::Status SeqDataLoss(uint64_t seq, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("event log: seq ", seq, ": ", what));
}

class RocksEventLog : public EventLog {
 public:
  RocksEventLog(std::unique_ptr<rocksdb::DB> db,
                std::vector<rocksdb::ColumnFamilyHandle*> handles, bool sync)
      : db_(std::move(db)),
        handles_(std::move(handles)),
        events_cf_(handles_[0]),
        hashes_cf_(handles_[1]),
        requests_cf_(handles_[2]),
        meta_cf_(handles_[3]),
        outbox_cf_(handles_[4]),
        snapshots_cf_(handles_[5]),
        sync_(sync) {}

  ~RocksEventLog() override {
    // Nothing can be returned from here; every write was already synced when
    // Append returned, so a failure to close loses nothing acknowledged.
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
      if (!s.ok()) {
        std::fprintf(stderr, "duban event log: closing column family: %s\n",
                     s.ToString().c_str());
      }
    }
    rocksdb::Status s = db_->Close();
    if (!s.ok()) {
      std::fprintf(stderr, "duban event log: closing %s: %s\n",
                   db_->GetName().c_str(), s.ToString().c_str());
    }
  }

  RocksEventLog(const RocksEventLog&) = delete;
  RocksEventLog& operator=(const RocksEventLog&) = delete;

  // Reads the head record and checks it against the last event and its hash.
  absl::Status LoadHead();

  Head head() const override {
    std::lock_guard<std::mutex> lock(head_mu_);
    return head_;
  }

  absl::Status Append(std::vector<CommandWrite>* writes) override;

  absl::StatusOr<std::optional<duban::v1::RequestRecord>> LookupRequest(
      const std::string& principal,
      const std::string& request_id) const override;

  absl::Status ScanStored(uint64_t from_seq, uint64_t to_seq,
                          const RawEventFn& fn) const override;

  absl::Status ScanOutbox(
      const std::function<bool(const std::string& key,
                               const std::string& value)>& fn) const override;

  absl::Status DeleteOutbox(const std::string& key) override;

  absl::Status PutSnapshot(uint64_t seq, const std::string& bytes) override;
  absl::StatusOr<std::optional<Snapshot>> LatestSnapshot(uint64_t at_most) const override;
  absl::StatusOr<std::vector<uint64_t>> SnapshotSeqs() const override;
  absl::Status PruneSnapshots(size_t keep) override;

  absl::StatusOr<std::string> EventHash(uint64_t seq) const override;
  absl::StatusOr<std::string> StoredEvent(uint64_t seq) const override;

  absl::Status Verify() const override;

 private:
  // The head record as of `snapshot` (nullptr: latest); the empty head when
  // there is none.
  absl::StatusOr<Head> ReadHeadRecord(const rocksdb::Snapshot* snapshot) const;

  // The value stored under `seq` in `family` (`what` names it in an error);
  // NOT_FOUND if there is none.
  absl::StatusOr<std::string> GetAtSeq(rocksdb::ColumnFamilyHandle* family, uint64_t seq,
                                       absl::string_view what) const;

  // The one walk over events and hashes in lockstep, both as of `ro`'s
  // snapshot: from seq `first` (from the very first key of each family when
  // `from_start`), every event key a seq, dense from `first`, with its hash
  // beside it, calling fn(seq, stored bytes, stored hash) until it returns
  // false or the events end (`ro`'s upper bound, if any). Sets *last to the
  // last seq visited (first - 1 when none) and, when a hash key follows the
  // events (a hash without an event), *hash_after to its seq (else 0).
  // DATA_LOSS names the first bad seq.
  using LockstepFn =
      std::function<bool(uint64_t seq, const rocksdb::Slice& stored, const rocksdb::Slice& hash)>;
  absl::Status ScanLockstep(const rocksdb::ReadOptions& ro, uint64_t first, bool from_start,
                            const LockstepFn& fn, uint64_t* last, uint64_t* hash_after) const;

  const std::unique_ptr<rocksdb::DB> db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned
  rocksdb::ColumnFamilyHandle* const events_cf_;
  rocksdb::ColumnFamilyHandle* const hashes_cf_;
  rocksdb::ColumnFamilyHandle* const requests_cf_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;
  rocksdb::ColumnFamilyHandle* const outbox_cf_;
  rocksdb::ColumnFamilyHandle* const snapshots_cf_;
  const bool sync_;

  // Touched only by the (single) appending thread. Once a write has failed,
  // whether it reached the disk is unknown, so no further appends are taken
  // until the log is reopened and the head is read back from the disk.
  absl::Status write_error_;

  // Held only to copy the head in or out, never across a RocksDB call.
  mutable std::mutex head_mu_;
  Head head_ ABSL_GUARDED_BY(head_mu_);
};

absl::StatusOr<EventLog::Head> RocksEventLog::ReadHeadRecord(
    const rocksdb::Snapshot* snapshot) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  std::string value;
  rocksdb::Status s = db_->Get(ro, meta_cf_, kHeadKey, &value);
  Head head;
  if (s.IsNotFound()) {
    head.hash = ZeroHash();
    return head;
  }
  RETURN_IF_ERROR(FromRocks(s, "read head record"));
  RETURN_IF_ERROR(DecodeHead(value, &head));
  return head;
}

absl::Status RocksEventLog::LoadHead() {
  ASSIGN_OR_RETURN(Head head, ReadHeadRecord(nullptr));

  uint64_t last_seq = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), events_cf_));
    it->SeekToLast();
    RETURN_IF_ERROR(FromRocks(it->status(), "seek to the last event"));
    if (it->Valid() && !DecodeSeq(it->key(), &last_seq)) {
      return absl::DataLossError(absl::StrCat("event log: last event key has ",
                                              it->key().size(), " bytes, want ",
                                              kSeqSize));
    }
  }
  if (head.seq != last_seq) {
    return absl::DataLossError(
        absl::StrCat("event log at ", db_->GetName(), ": head record says seq ",
                     head.seq, " but the last stored event is seq ", last_seq,
                     last_seq == 0 ? " (none)" : ""));
  }
  if (head.seq == 0) {
    if (head.hash != ZeroHash()) {
      return absl::DataLossError(
          "event log: empty log's head record has a non-zero hash");
    }
  } else {
    std::string stored_hash;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), hashes_cf_,
                                 EncodeSeq(head.seq), &stored_hash);
    if (s.IsNotFound()) return SeqDataLoss(head.seq, "head event has no hash");
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("read hash of seq ", head.seq)));
    if (stored_hash != head.hash) {
      return SeqDataLoss(head.seq,
                         "head record's hash differs from the event's hash");
    }
  }
  std::lock_guard<std::mutex> lock(head_mu_);
  head_ = std::move(head);
  return absl::OkStatus();
}

// Clears what Append filled in, after a failed Append.
void ResetAssigned(std::vector<EventLog::CommandWrite>* writes) {
  for (EventLog::CommandWrite& w : *writes) {
    for (duban::v1::Event& e : w.events) {
      e.set_seq(0);
      e.clear_prev_hash();
    }
    if (w.request.has_value()) {
      w.request->set_first_seq(0);
      w.request->set_last_seq(0);
    }
  }
}

absl::Status RocksEventLog::Append(std::vector<CommandWrite>* writes) {
  if (writes == nullptr) {
    return absl::InvalidArgumentError("event log: Append(nullptr)");
  }
  if (!write_error_.ok()) {
    return absl::Status(
        write_error_.code(),
        absl::StrCat("event log: an earlier write failed and its outcome is "
                     "unknown; reopen the log: ",
                     write_error_.message()));
  }

  // Check the request and outbox keys before touching anything.
  std::set<std::string> request_keys;
  std::set<std::string> outbox_keys;
  for (const CommandWrite& w : *writes) {
    // An outbox entry is a consequence of events: a command without events
    // has nothing to deliver, and a write of only outbox entries would not
    // move the head that the entries are meant to follow.
    if (!w.outbox.empty() && w.events.empty()) {
      return absl::InvalidArgumentError(
          "event log: outbox entries in a command without events");
    }
    for (const OutboxEntry& entry : w.outbox) {
      if (entry.key.empty()) {
        return absl::InvalidArgumentError("event log: empty outbox key");
      }
      if (!outbox_keys.insert(entry.key).second) {
        return absl::InvalidArgumentError(
            "event log: an outbox key appears twice in one batch");
      }
    }
    if (!w.request.has_value()) continue;
    if (w.request_id.empty()) {
      return absl::InvalidArgumentError(
          "event log: request record without a request_id");
    }
    if (w.principal.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          "event log: principal contains a NUL byte");
    }
    if (!request_keys.insert(RequestKey(w.principal, w.request_id)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event log: request id \"", w.request_id, "\" of principal \"",
          w.principal, "\" appears twice in one batch"));
    }
  }

  // Only this thread changes head_, so this copy stays current until we
  // publish the new head below.
  const Head old_head = head();
  uint64_t seq = old_head.seq;
  std::string prev_hash = old_head.hash;

  rocksdb::WriteBatch batch;
  auto fail = [writes](absl::Status status) {
    ResetAssigned(writes);
    return status;
  };

  std::string stored;
  for (CommandWrite& w : *writes) {
    const uint64_t first_seq = w.events.empty() ? 0 : seq + 1;
    for (duban::v1::Event& e : w.events) {
      ++seq;
      e.set_seq(seq);
      e.set_prev_hash(prev_hash);
      stored.clear();
      if (!e.SerializeToString(&stored)) {
        return fail(absl::InternalError(absl::StrCat(
            "event log: seq ", seq, ": event does not serialize")));
      }
      std::string hash = ChainHash(prev_hash, stored);
      const std::string key = EncodeSeq(seq);
      rocksdb::Status s = batch.Put(events_cf_, key, stored);
      if (s.ok()) s = batch.Put(hashes_cf_, key, hash);
      if (!s.ok()) {
        return fail(FromRocks(s, absl::StrCat("batch put seq ", seq)));
      }
      prev_hash = std::move(hash);
    }
    for (const OutboxEntry& entry : w.outbox) {
      rocksdb::Status s = batch.Put(outbox_cf_, entry.key, entry.value);
      if (!s.ok()) return fail(FromRocks(s, "batch put outbox entry"));
    }
    if (w.request.has_value()) {
      w.request->set_first_seq(first_seq);
      w.request->set_last_seq(w.events.empty() ? 0 : seq);
      std::string record;
      if (!w.request->SerializeToString(&record)) {
        return fail(absl::InternalError(
            "event log: request record does not serialize"));
      }
      rocksdb::Status s = batch.Put(
          requests_cf_, RequestKey(w.principal, w.request_id), record);
      if (!s.ok()) return fail(FromRocks(s, "batch put request record"));
    }
  }

  if (batch.Count() == 0) return absl::OkStatus();  // nothing to write

  Head new_head{seq, prev_hash};
  rocksdb::Status s = batch.Put(meta_cf_, kHeadKey, EncodeHead(new_head));
  if (!s.ok()) return fail(FromRocks(s, "batch put head"));

  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  s = db_->Write(wo, &batch);
  if (!s.ok()) {
    write_error_ = FromRocks(
        s, absl::StrCat("write seqs ", old_head.seq + 1, "..", new_head.seq));
    return fail(write_error_);
  }

  std::lock_guard<std::mutex> lock(head_mu_);
  head_ = std::move(new_head);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<duban::v1::RequestRecord>>
RocksEventLog::LookupRequest(const std::string& principal,
                             const std::string& request_id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), requests_cf_,
                               RequestKey(principal, request_id), &value);
  if (s.IsNotFound()) return std::optional<duban::v1::RequestRecord>();
  RETURN_IF_ERROR(FromRocks(s, "read request record"));
  duban::v1::RequestRecord record;
  if (!record.ParseFromString(value)) {
    return absl::DataLossError(
        absl::StrCat("event log: request record of request id \"", request_id,
                     "\" does not parse"));
  }
  return std::optional<duban::v1::RequestRecord>(std::move(record));
}

absl::Status RocksEventLog::ScanLockstep(const rocksdb::ReadOptions& ro, uint64_t first,
                                         bool from_start, const LockstepFn& fn, uint64_t* last,
                                         uint64_t* hash_after) const {
  std::unique_ptr<rocksdb::Iterator> events(db_->NewIterator(ro, events_cf_));
  std::unique_ptr<rocksdb::Iterator> hashes(db_->NewIterator(ro, hashes_cf_));
  if (from_start) {
    events->SeekToFirst();
    hashes->SeekToFirst();
  } else {
    const std::string start = EncodeSeq(first);
    events->Seek(start);
    hashes->Seek(start);
  }
  uint64_t want = first;
  *last = first - 1;
  *hash_after = 0;
  for (; events->Valid(); events->Next(), hashes->Next(), ++want) {
    uint64_t seq = 0;
    if (!DecodeSeq(events->key(), &seq)) {
      return SeqDataLoss(want, "malformed event key");
    }
    if (seq != want) return SeqDataLoss(want, "missing (gap in the log)");
    if (!hashes->Valid() || hashes->key() != events->key()) {
      RETURN_IF_ERROR(FromRocks(hashes->status(), "scan hashes"));
      return SeqDataLoss(seq, "no stored hash for this event");
    }
    *last = seq;
    if (!fn(seq, events->value(), hashes->value())) return absl::OkStatus();
  }
  RETURN_IF_ERROR(FromRocks(events->status(), "scan events"));
  if (hashes->Valid()) {
    uint64_t seq = 0;
    DecodeSeq(hashes->key(), &seq);  // a malformed key still means "extra"
    *hash_after = seq == 0 ? *last + 1 : seq;
  }
  return FromRocks(hashes->status(), "scan hashes");
}

absl::Status RocksEventLog::ScanStored(uint64_t from_seq, uint64_t to_seq,
                                       const RawEventFn& fn) const {
  const uint64_t limit = to_seq == 0 ? head().seq : to_seq;
  rocksdb::ManagedSnapshot snapshot(db_.get());
  // The head record in the snapshot bounds what must be there: below it a
  // missing seq is a gap, not the end of the log.
  ASSIGN_OR_RETURN(const Head snap_head, ReadHeadRecord(snapshot.snapshot()));
  const uint64_t first = from_seq == 0 ? 1 : from_seq;
  const uint64_t last = std::min(limit, snap_head.seq);
  if (first > last) return absl::OkStatus();

  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  ro.fill_cache = false;  // a scan would evict the hot blocks
  const std::string upper = EncodeSeq(last + 1);  // last < snap_head.seq + 1
  const rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;

  absl::Status bad;
  bool stopped = false;
  uint64_t visited = 0, hash_after = 0;
  RETURN_IF_ERROR(ScanLockstep(
      ro, first, /*from_start=*/false,
      [&](uint64_t seq, const rocksdb::Slice& v, const rocksdb::Slice& h) {
        if (h.size() != kHashSize) {
          bad = SeqDataLoss(seq, absl::StrCat("stored hash has ", h.size(), " bytes"));
          return false;
        }
        stopped = !fn(seq, std::string_view(v.data(), v.size()), std::string_view(h.data(), h.size()));
        return !stopped;
      },
      &visited, &hash_after));
  RETURN_IF_ERROR(bad);
  if (stopped || visited == last) return absl::OkStatus();
  return SeqDataLoss(visited + 1, "missing (log ends before its head)");
}

absl::Status RocksEventLog::ScanOutbox(
    const std::function<bool(const std::string& key, const std::string& value)>&
        fn) const {
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, outbox_cf_));
  std::string key;
  std::string value;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    key.assign(it->key().data(), it->key().size());
    value.assign(it->value().data(), it->value().size());
    if (!fn(key, value)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scan outbox");
}

absl::Status RocksEventLog::DeleteOutbox(const std::string& key) {
  // Not synced (see the header); a RocksDB write is thread-safe, so this
  // needs no coordination with the appending thread.
  rocksdb::WriteOptions wo;
  wo.sync = false;
  return FromRocks(db_->Delete(wo, outbox_cf_, key), "delete outbox entry");
}

absl::Status RocksEventLog::PutSnapshot(uint64_t seq, const std::string& bytes) {
  if (seq == 0 || seq > head().seq) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event log: a snapshot at seq ", seq, " must be after an event at or before the head ",
        head().seq));
  }
  // Straight into a blob file: not through the WAL (a snapshot is large, and
  // a lost one costs only a longer replay), and flushed at once so it holds
  // no memtable memory and no WAL replay at the next open.
  rocksdb::WriteOptions wo;
  wo.sync = false;
  wo.disableWAL = true;
  RETURN_IF_ERROR(FromRocks(db_->Put(wo, snapshots_cf_, EncodeSeq(seq), bytes),
                            absl::StrCat("write snapshot at seq ", seq)));
  rocksdb::FlushOptions flush;
  flush.wait = true;
  return FromRocks(db_->Flush(flush, snapshots_cf_), absl::StrCat("flush snapshot at seq ", seq));
}

absl::StatusOr<std::optional<EventLog::Snapshot>> RocksEventLog::LatestSnapshot(
    uint64_t at_most) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, snapshots_cf_));
  it->SeekForPrev(EncodeSeq(at_most));
  RETURN_IF_ERROR(FromRocks(it->status(), "find snapshot"));
  if (!it->Valid()) return std::optional<Snapshot>();
  Snapshot out;
  if (!DecodeSeq(it->key(), &out.seq)) {
    return absl::DataLossError("event log: malformed snapshot key");
  }
  out.bytes.assign(it->value().data(), it->value().size());
  return std::optional<Snapshot>(std::move(out));
}

absl::StatusOr<std::vector<uint64_t>> RocksEventLog::SnapshotSeqs() const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, snapshots_cf_));
  std::vector<uint64_t> seqs;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t seq = 0;
    if (!DecodeSeq(it->key(), &seq)) return absl::DataLossError("event log: malformed snapshot key");
    seqs.push_back(seq);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list snapshots"));
  return seqs;
}

absl::Status RocksEventLog::PruneSnapshots(size_t keep) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, SnapshotSeqs());
  if (seqs.empty() || seqs.size() <= keep) return absl::OkStatus();
  const uint64_t end = keep == 0 ? seqs.back() + 1 : seqs[seqs.size() - keep];
  rocksdb::WriteOptions wo;
  wo.sync = false;
  return FromRocks(db_->DeleteRange(wo, snapshots_cf_, EncodeSeq(0), EncodeSeq(end)),
                   "delete old snapshots");
}

absl::StatusOr<std::string> RocksEventLog::GetAtSeq(rocksdb::ColumnFamilyHandle* family,
                                                   uint64_t seq, absl::string_view what) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family, EncodeSeq(seq), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("event log: no event seq ", seq));
  }
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("read ", what, " seq ", seq)));
  return value;
}

absl::StatusOr<std::string> RocksEventLog::StoredEvent(uint64_t seq) const {
  return GetAtSeq(events_cf_, seq, "event");
}

absl::StatusOr<std::string> RocksEventLog::EventHash(uint64_t seq) const {
  ASSIGN_OR_RETURN(std::string hash, GetAtSeq(hashes_cf_, seq, "hash of"));
  if (hash.size() != kHashSize) {
    return SeqDataLoss(seq,
                       absl::StrCat("stored hash has ", hash.size(), " bytes"));
  }
  return hash;
}

absl::Status RocksEventLog::Verify() const {
  rocksdb::ManagedSnapshot snapshot(db_.get());
  ASSIGN_OR_RETURN(const Head snap_head, ReadHeadRecord(snapshot.snapshot()));

  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  ro.fill_cache = false;
  ro.verify_checksums = true;

  absl::Status bad;
  std::string prev_hash = ZeroHash();
  std::string stored;
  duban::v1::Event event;
  uint64_t last = 0, hash_after = 0;
  RETURN_IF_ERROR(ScanLockstep(
      ro, 1, /*from_start=*/true,
      [&](uint64_t seq, const rocksdb::Slice& v, const rocksdb::Slice& h) {
        stored.assign(v.data(), v.size());
        if (!event.ParseFromString(stored)) {
          bad = SeqDataLoss(seq, "event does not parse");
        } else if (event.seq() != seq) {
          bad = SeqDataLoss(seq, absl::StrCat("event says seq ", event.seq()));
        } else if (event.prev_hash() != prev_hash) {
          bad = SeqDataLoss(seq, "prev_hash differs from the previous event's hash");
        } else {
          std::string hash = ChainHash(prev_hash, stored);
          if (h != rocksdb::Slice(hash)) {
            bad = SeqDataLoss(seq, "stored hash differs from SHA-256(prev_hash || event bytes)");
          }
          prev_hash = std::move(hash);
        }
        return bad.ok();
      },
      &last, &hash_after));
  RETURN_IF_ERROR(bad);
  if (hash_after != 0) return SeqDataLoss(hash_after, "hash without an event");
  if (snap_head.seq != last) {
    return absl::DataLossError(
        absl::StrCat("event log: head record says seq ", snap_head.seq,
                     " but the last event is seq ", last));
  }
  if (snap_head.hash != prev_hash) {
    return SeqDataLoss(last,
                       "head record's hash differs from the event's hash");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<duban::v1::Event> EventLog::ReadEvent(uint64_t seq) const {
  ASSIGN_OR_RETURN(const std::string stored, StoredEvent(seq));
  duban::v1::Event e;
  if (!e.ParseFromString(stored) || e.seq() != seq) {
    return absl::DataLossError(absl::StrCat("event log: the event stored at seq ", seq,
                                            " does not parse as that event"));
  }
  return e;
}

absl::Status EventLog::ReadHashed(uint64_t from_seq, uint64_t to_seq,
                                  const HashedEventFn& fn) const {
  duban::v1::Event event;
  absl::Status bad;
  RETURN_IF_ERROR(ScanStored(
      from_seq, to_seq, [&](uint64_t seq, std::string_view stored, std::string_view hash) {
        if (!event.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
          bad = SeqDataLoss(seq, "event does not parse");
          return false;
        }
        if (event.seq() != seq) {
          bad = SeqDataLoss(seq, absl::StrCat("event says seq ", event.seq()));
          return false;
        }
        return fn(event, stored, hash);
      }));
  return bad;
}

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(
    const Options& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("event log: empty path");
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // Recover up to the last intact WAL record: a torn tail is a write that
  // never returned OK; everything acknowledged was synced before it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.keep_log_file_num = 10;
  db_options.max_total_wal_size = options.max_wal_bytes;

  // Events and hashes: appended in key order, scanned in order.
  rocksdb::ColumnFamilyOptions log_options;
  log_options.level_compaction_dynamic_level_bytes = true;
  // Request records: point lookups, most of them misses (new request ids).
  rocksdb::ColumnFamilyOptions lookup_options;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  lookup_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  // The same for the memtable, where a miss otherwise walks the skip list
  // (every new request id asks once): a whole-key Bloom filter of ~2% of the
  // write buffer (~1.3 MiB).
  lookup_options.memtable_whole_key_filtering = true;
  lookup_options.memtable_prefix_bloom_size_ratio = 0.02;

  // Snapshots: few, large values; kept in blob files, out of the LSM tree.
  rocksdb::ColumnFamilyOptions snapshot_options;
  snapshot_options.enable_blob_files = true;
  snapshot_options.min_blob_size = 4096;

  // Order matters: RocksEventLog takes the handles in this order. A family
  // missing from an older log (the outbox) is created empty on open.
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, log_options},
      {kHashesFamily, log_options},
      {kRequestsFamily, lookup_options},
      {kMetaFamily, rocksdb::ColumnFamilyOptions()},
      {kOutboxFamily, rocksdb::ColumnFamilyOptions()},
      {kSnapshotsFamily, snapshot_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("open ", options.path)));
  auto log = std::make_unique<RocksEventLog>(std::unique_ptr<rocksdb::DB>(raw),
                                             std::move(handles), options.sync);
  RETURN_IF_ERROR(log->LoadHead());
  return std::unique_ptr<EventLog>(std::move(log));
}

}  // namespace duban::storage
