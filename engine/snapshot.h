// Snapshots of the state: what a restart loads instead of replaying the whole
// log, and where GetStateAt starts replaying (duban.v1.StateSnapshot).
//
// EncodeSnapshot writes every field of the State deterministically (maps in
// key order, deterministic protobuf serialization), so two states built by
// the same events encode to the same bytes; DecodeSnapshot(EncodeSnapshot(s))
// is a State that answers and applies further events exactly as `s` would.
//
//   std::string bytes = EncodeSnapshot(state, event_hash_at_state_seq);
//   ASSIGN_OR_RETURN(DecodedSnapshot d, DecodeSnapshot(bytes));
//   // check d.event_hash against the log's hash at d.state.seq(), then
//   // apply the events after it.
#ifndef DUBAN_ENGINE_SNAPSHOT_H_
#define DUBAN_ENGINE_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/state.h"

namespace duban::engine {

// Bump whenever State::Apply would build a different state from the same
// events, or a field is added to State: older snapshots are then ignored
// (and the log replayed) rather than trusted.
// 2: report histories as seqs + latest; 3: closed escalations as their
// timeline's seqs and subject only.
inline constexpr uint32_t kSnapshotFormat = 3;

// The state's snapshot; `event_hash` is the log's hash of event state.seq(),
// recorded so a loader can tell the snapshot belongs to the log it reads.
std::string EncodeSnapshot(const State& state, const std::string& event_hash);

struct DecodedSnapshot {
  State state;
  std::string event_hash;
};

// FAILED_PRECONDITION for another format (ignore it and replay), DATA_LOSS
// for bytes that do not parse.
absl::StatusOr<DecodedSnapshot> DecodeSnapshot(absl::string_view bytes);

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_SNAPSHOT_H_
