// Rebuilding a data folder's event log from an export (`dubanctl audit
// export`: JSON Lines, one event a line with "seq", "hash", "prev_hash" and
// "event_base64", the event's bytes exactly as stored).
//
// Every event is appended with its original bytes and must get the hash the
// export gives it, so the new log has the same head hash as the one exported
// and a server started on it gives the same answers. Request records (retry
// memory), credentials' tokens and the checkpoint key are not in an export.
//
//   std::ifstream in("log.jsonl");
//   absl::StatusOr<EventLog::Head> head = ImportLog(
//       "restored", in, "log.jsonl", [](uint64_t n) { /* progress */ });
#ifndef DUBAN_STORAGE_LOG_IMPORT_H_
#define DUBAN_STORAGE_LOG_IMPORT_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <string>

#include "absl/status/statusor.h"
#include "storage/event_log.h"

namespace duban::storage {

// Called with the number of events imported so far, after each durable
// batch (every 1000 events) and once at the end.
using ImportProgressFn = std::function<void(uint64_t imported)>;

// Reads the export from `in` (named `source` in errors) into a new log at
// `data_dir`/log and returns its head. `data_dir` must not exist or be an
// empty folder (FAILED_PRECONDITION otherwise). A line that is not an
// exported event, or whose event is not the next seq, is INVALID_ARGUMENT
// "<source>:<line>: …"; an event whose bytes do not hash to the exported
// hash (or do not chain to the one before) is DATA_LOSS
// "<source>:<line>: seq N: …". On any error what was imported is removed
// again, so the folder is as it was.
absl::StatusOr<EventLog::Head> ImportLog(const std::string& data_dir,
                                         std::istream& in,
                                         const std::string& source,
                                         const ImportProgressFn& progress);

}  // namespace duban::storage

#endif  // DUBAN_STORAGE_LOG_IMPORT_H_
