// dubanctl's audit commands, apart from the command line: replaying the log
// as lines for people or JSON Lines, the export file (JSON Lines, one event
// a line with its hashes and exact bytes), the checkpoint and proof files,
// summaries of GetStateAt / VerifyLog / checkpoints / proofs, a progress
// line for long runs, and the offline verifier, which trusts nothing from
// the server: only the public key it is given.
//
//   OfflineInputs in;
//   in.checkpoint_file = "cp.json";
//   in.public_key_file = "checkpoint.pub";
//   in.export_file = "log.jsonl";
//   absl::Status all_ok = VerifyOffline(in, std::cout, ProgressSink());
//
// Export line (one JSON object per event, keys in this order):
//   {"seq":12,"hash":"<hex>","prev_hash":"<hex>","event_base64":"<base64>",
//    "event":{...}}
// where event_base64 is the Event's bytes exactly as stored, hash is
// SHA-256(prev_hash || those bytes) and "event" is the same Event as
// protobuf JSON (field names as in the .proto, set fields only) for people.
#ifndef DUBAN_CLIENTS_DUBANCTL_AUDIT_H_
#define DUBAN_CLIENTS_DUBANCTL_AUDIT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/dubanctl/audit_verify.h"
#include "clients/dubanctl/client.h"
#include "clients/dubanctl/format.h"
#include "duban/v1/audit.pb.h"
#include "duban/v1/event.pb.h"
#include "nlohmann/json.hpp"

namespace duban::clients {

// ---------------------------------------------------------------------------
// Events, for people

// The payload's field name ("progress_reported", "escalation_opened"), or
// "" for an event without one.
std::string EventType(const v1::Event& event);

// Every payload name, in field-number order: what ReadEvents' event_types
// accepts.
const std::vector<std::string>& EventTypeNames();

// The payload in a few words: "task 18 qh-edu LEAD", "report task 43 2022
// BEHIND rev 2", "escalation esc-3 → 催办", "checkpoint size 1200 root
// 5dc9da79…". Free text (reasons, summaries, titles) is cut short.
std::string DescribeEvent(const v1::Event& event);

// One replayed event a line, columns aligned for seqs of up to `seq_width`
// digits: seq, time (CST), principal, request id (cut to 12), type,
// description, and the causing event ("← 811"; nothing when none).
std::string ReplayHeader(int seq_width);
std::string FormatReplayLine(const v1::AuditEvent& event, int seq_width);

// The event as one line of JSON Lines: {"seq", "type", "hash" (hex),
// "event"} with every field of the event present.
absl::StatusOr<std::string> ReplayJsonLine(const v1::AuditEvent& event);

// ---------------------------------------------------------------------------
// Progress on stderr

// Where a long run reports its progress: `out` null for none. On a terminal
// (`interactive`) one line is redrawn in place at most every 200 ms (a bar
// when the last seq is known); otherwise a line every `every` events.
struct ProgressSink {
  std::ostream* out = nullptr;
  bool interactive = false;
  uint64_t every = 10000;
};

class ProgressLine {
 public:
  // `verb`: "exported", "replayed", "checked". `last_seq` 0: unknown.
  ProgressLine(ProgressSink sink, std::string verb, uint64_t first_seq,
               uint64_t last_seq);
  ~ProgressLine() { Done(); }

  // `count` events so far, the latest at `seq`.
  void Update(uint64_t seq, uint64_t count);
  // Clears the redrawn line (idempotent).
  void Done();

 private:
  std::string Text(uint64_t seq, uint64_t count) const;

  ProgressSink sink_;
  std::string verb_;
  uint64_t first_seq_;
  uint64_t last_seq_;
  uint64_t next_report_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
};

// ---------------------------------------------------------------------------
// The export file

// One line of the export file (without '\n') for `event`: event_base64 is
// `event.stored()`, the bytes exactly as the server stored them (a server
// that does not send them: the received Event re-serialized). `*reproduced`
// (may be null) says whether SHA-256(prev_hash || the bytes written) equals
// the hash the server sent.
absl::StatusOr<std::string> ExportLine(const v1::AuditEvent& event,
                                       bool* reproduced);

struct ExportRecord {
  uint64_t seq = 0;
  std::string hash;                          // 32 bytes, as the file says
  std::string prev_hash;                     // 32 bytes, as the file says
  std::string event_bytes;                   // decoded event_base64
  std::optional<nlohmann::json> event_json;  // the "event" member, if any
};

// Parses one line of the export file. INVALID_ARGUMENT naming the member
// that is missing or malformed (not JSON, a hash that is not 64 hex digits,
// base64 that does not decode).
absl::StatusOr<ExportRecord> ParseExportLine(std::string_view line);

// A CheckpointMade event found in an export, for checking against the key.
struct LoggedCheckpoint {
  uint64_t seq = 0;  // the event's
  Checkpoint checkpoint;
  std::string signature;
  std::string key_id;
  // Whether the checkpoint's root was compared with the root recomputed from
  // the export at its tree size (it covers the log before its own event),
  // and whether they were equal.
  bool root_compared = false;
  bool root_matches = false;
};

// Checks an export's records in order, trusting nothing in them: seqs dense
// from 1; each prev_hash the previous record's recomputed hash (32 zero
// bytes for seq 1); each hash SHA-256(prev_hash || event bytes); the bytes a
// duban.v1.Event with that seq and prev_hash; the "event" JSON, when
// present, the same event. The recomputed hashes are the Merkle leaves.
class ExportChecker {
 public:
  // Keep the root at tree size `size` / the recomputed hash of event `seq`.
  void WantRootAt(uint64_t size) { wanted_roots_.insert(size); }
  void WantHashAt(uint64_t seq) { wanted_hashes_.insert(seq); }

  // Checks `record` as the next one. The first failure is DATA_LOSS
  // "seq N: <what>" (or the sequence break), returned again by every later
  // call.
  absl::Status Add(const ExportRecord& record);

  // Records checked (all of them passed).
  uint64_t size() const { return builder_.size(); }
  const absl::Status& status() const { return status_; }
  // The root over the first `size` records, if wanted (or size() / 0).
  std::optional<std::string> RootAt(uint64_t size) const;
  // The recomputed hash of event `seq`, if wanted and reached.
  std::optional<std::string> HashAt(uint64_t seq) const;
  // The hash of the last record checked (32 zero bytes for none).
  const std::string& head_hash() const { return prev_hash_; }
  const std::vector<LoggedCheckpoint>& logged_checkpoints() const {
    return logged_checkpoints_;
  }

 private:
  absl::Status Fail(uint64_t seq, std::string_view what);

  MerkleRootBuilder builder_;
  std::string prev_hash_ = std::string(kHashSize, '\0');
  absl::Status status_;
  std::set<uint64_t> wanted_roots_;
  std::set<uint64_t> wanted_hashes_;
  std::map<uint64_t, std::string> roots_;
  std::map<uint64_t, std::string> hashes_;
  std::vector<LoggedCheckpoint> logged_checkpoints_;
};

// ---------------------------------------------------------------------------
// Checkpoint and proof files (JSON; hashes in hex, signatures in base64)

// {"log_id", "tree_size", "root_hash", "time_micros", "body", "signature",
//  "key_id", "public_key_pem", "seq"}, pretty-printed, ending in '\n'.
std::string CheckpointFileText(const v1::SignedCheckpoint& checkpoint);
absl::StatusOr<v1::SignedCheckpoint> ParseCheckpointFile(std::string_view text);

// {"seq", "leaf_index", "tree_size", "leaf_data", "hashes", "root_hash"}.
std::string InclusionProofFileText(const v1::InclusionProof& proof);
absl::StatusOr<v1::InclusionProof> ParseInclusionProofFile(
    std::string_view text);

// {"old_size", "new_size", "old_root", "new_root", "hashes"}.
std::string ConsistencyProofFileText(const v1::ConsistencyProof& proof);
absl::StatusOr<v1::ConsistencyProof> ParseConsistencyProofFile(
    std::string_view text);

// Checks a signed checkpoint against the raw `public_key`: its body is
// canonical, says what its fields say, and carries the key's signature.
// INVALID_ARGUMENT for a malformed one; FAILED_PRECONDITION for fields that
// disagree with the body or a signature that does not match. Returns what
// the body commits to.
absl::StatusOr<Checkpoint> CheckSignedCheckpoint(
    const v1::SignedCheckpoint& checkpoint, std::string_view public_key);

// Checks that `proof` leads to `root`, and that its leaf index is seq - 1.
absl::Status CheckInclusionProof(const v1::InclusionProof& proof,
                                 std::string_view root);

// Checks `proof` between `old_root` and `new_root` (its sizes as given).
absl::Status CheckConsistencyProof(const v1::ConsistencyProof& proof,
                                   std::string_view old_root,
                                   std::string_view new_root);

// ---------------------------------------------------------------------------
// Summaries of the audit calls

// Log, tree size, root (hex), time (CST), key id, seq of its CheckpointMade
// event.
std::string FormatCheckpoint(const v1::SignedCheckpoint& checkpoint);
// Seq, leaf index, tree size, leaf (the event's hash), root, then the path.
std::string FormatInclusionProof(const v1::InclusionProof& proof);
std::string FormatConsistencyProof(const v1::ConsistencyProof& proof);
// "ok: the log's 1234 events and 5 checkpoints agree" or "FAILED at seq N:
// problem (after checking ...)".
std::string FormatVerifyLog(const v1::VerifyLogResponse& response);

// What GetStateAt returned, for people: the plan and its revision, counts of
// tasks, responsibilities, agencies, indicators, reports, indicator values,
// escalations by level and state, the ruleset; with `now` (the plan's tasks
// as they are now), the matrix rows that differ between then and now.
// `recorded_micros` is the time of the state's last event (0: unknown).
std::string FormatStateAt(const v1::StateAt& state, int64_t recorded_micros,
                          const std::vector<v1::Task>* now);

// ---------------------------------------------------------------------------
// Runs

// Writes `request`'s events to `out`: a header and a line each (`json`
// false) or JSON Lines; then, in text, the count. Progress goes to
// `progress` (seq-based, a bar when request.to_seq() is set).
absl::Status Replay(const AuditClient& client,
                    const v1::ReadEventsRequest& request, bool json,
                    std::ostream& out, ProgressSink progress);

// What an export wrote.
struct ExportSummary {
  uint64_t events = 0;
  uint64_t last_seq = 0;
  std::string head_hash;        // the last event's hash (as the server sent it)
  uint64_t not_reproduced = 0;  // events whose bytes hashed differently
  uint64_t first_not_reproduced = 0;
};

// Reads the whole log (ReadEvents from seq 1 to the head when it began,
// resuming after a dropped stream) into the export file at `path`, written
// as `path`.partial and renamed when complete. Checks on the way that seqs
// are dense and the chain links; DATA_LOSS naming the seq where not. Events
// whose bytes do not reproduce the server's hash are written all the same
// and counted.
absl::StatusOr<ExportSummary> ExportLog(const AuditClient& client,
                                        const std::string& path,
                                        ProgressSink progress);

// The files of an offline verification ("" for those not given).
struct OfflineInputs {
  std::string checkpoint_file;  // required
  std::string public_key_file;  // required: the key the auditor trusts
  std::string export_file;
  std::string inclusion_file;
  std::string consistency_file;  // needs old_checkpoint_file
  std::string old_checkpoint_file;
};

// Runs every check the inputs allow and prints each as
// "OK      <check>: <detail>" or "FAILED  <check>: <reason>":
//   public key; checkpoint (its signature by that key); old checkpoint;
//   export chain (every event's hash recomputed from its bytes and links);
//   export root (the Merkle root of the first tree_size events against the
//   checkpoint's, and at the old checkpoint's size); checkpoints in the log
//   (each CheckpointMade the export holds: signature and root); inclusion
//   proof (against the checkpoint's root, and its leaf against the export);
//   consistency proof (old checkpoint's root to the checkpoint's).
// OK when every check passed; DATA_LOSS "N of M checks failed" otherwise.
absl::Status VerifyOffline(const OfflineInputs& inputs, std::ostream& out,
                           ProgressSink progress);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_AUDIT_H_
