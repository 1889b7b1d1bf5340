// ImportLog (see log_import.h).
#include "storage/log_import.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "duban/v1/event.pb.h"
#include "nlohmann/json.hpp"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::storage {
namespace {

constexpr size_t kBatchEvents = 1000;

// One line of the export, decoded: the exported hash and the stored bytes,
// parsed.
struct ExportedEvent {
  std::string hash;
  std::string bytes;
  duban::v1::Event event;
};

absl::StatusOr<ExportedEvent> ParseLine(const std::string& line,
                                        const std::string& where) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  const auto is_string = [&j](const char* key) {
    return j.contains(key) && j[key].is_string();
  };
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") ||
      !j["seq"].is_number_unsigned() || !is_string("hash") ||
      !is_string("event_base64")) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "not an exported event (seq, hash, event_base64)"));
  }
  ExportedEvent out;
  if (!absl::Base64Unescape(j["event_base64"].get<std::string>(), &out.bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(where, "event_base64 is not base64"));
  }
  std::optional<std::string> hash = FromHex(j["hash"].get<std::string>());
  if (!hash.has_value() || hash->size() != kHashSize) {
    return absl::InvalidArgumentError(absl::StrCat(where, "hash is not 32 bytes of hex"));
  }
  out.hash = *std::move(hash);
  if (!out.event.ParseFromString(out.bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(where, "the event bytes do not parse"));
  }
  if (out.event.seq() != j["seq"].get<uint64_t>()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, "\"seq\" is ", j["seq"].get<uint64_t>(), " but the event says ", out.event.seq()));
  }
  return out;
}

// The folder must be new or empty: an import never mixes with a log.
absl::Status CheckEmptyFolder(const std::filesystem::path& dir, bool* existed) {
  std::error_code ec;
  *existed = std::filesystem::exists(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir.string(), ": ", ec.message()));
  if (!*existed) return absl::OkStatus();
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir.string(), " is not a folder: import needs a new or empty folder"));
  }
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir.string(), ": ", ec.message()));
  if (it != std::filesystem::directory_iterator()) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir.string(), " is not empty (it holds ", it->path().filename().string(),
                     "): import needs a new or empty folder"));
  }
  return absl::OkStatus();
}

// Appends the lines of `in` to the empty `log`.
absl::StatusOr<EventLog::Head> Import(EventLog* log, std::istream& in, const std::string& source,
                                      const ImportProgressFn& progress) {
  std::vector<EventLog::CommandWrite> batch(1);
  EventLog::CommandWrite& write = batch[0];
  std::vector<std::pair<std::string, std::string>> where_and_hash;  // of the batch's events
  std::string prev_hash(kHashSize, '\0');
  uint64_t imported = 0;

  const auto flush = [&]() -> absl::Status {
    if (write.events.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(log->Append(&batch));
    // Checked before appending; the log's own record must agree too.
    for (size_t i = 0; i < write.events.size(); ++i) {
      const uint64_t seq = write.events[i].seq();
      ASSIGN_OR_RETURN(std::string stored, log->EventHash(seq));
      if (stored != where_and_hash[i].second) {
        return absl::DataLossError(absl::StrCat(where_and_hash[i].first, "seq ", seq,
                                                ": the imported event's hash differs from "
                                                "the exported one"));
      }
    }
    imported += write.events.size();
    write.events.clear();
    where_and_hash.clear();
    if (progress) progress(imported);
    return absl::OkStatus();
  };

  std::string line;
  uint64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const std::string where = absl::StrCat(source, ":", line_number, ": ");
    ASSIGN_OR_RETURN(ExportedEvent e, ParseLine(line, where));
    const uint64_t want = imported + write.events.size() + 1;
    if (e.event.seq() != want) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "seq ", e.event.seq(), " where ", want, " was due"));
    }
    // The exported bytes must chain and give the exported hash...
    if (e.event.prev_hash() != prev_hash) {
      return absl::DataLossError(absl::StrCat(where, "seq ", want,
                                              ": prev_hash is not the hash of the event before"));
    }
    if (ChainHash(prev_hash, e.bytes) != e.hash) {
      return absl::DataLossError(
          absl::StrCat(where, "seq ", want,
                       ": hash differs from SHA-256(prev_hash || event bytes): the event's "
                       "bytes or its hash were altered"));
    }
    // ... and be what appending the event stores, byte for byte.
    if (e.event.SerializeAsString() != e.bytes) {
      return absl::DataLossError(
          absl::StrCat(where, "seq ", want,
                       ": the event's bytes are not the ones this version writes for it "
                       "(fields out of order or unknown), so they cannot be appended as they are"));
    }
    prev_hash = e.hash;
    where_and_hash.emplace_back(where, std::move(e.hash));
    write.events.push_back(std::move(e.event));
    if (write.events.size() == kBatchEvents) RETURN_IF_ERROR(flush());
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(source, ": read error"));
  RETURN_IF_ERROR(flush());
  return log->head();
}

}  // namespace

absl::StatusOr<EventLog::Head> ImportLog(const std::string& data_dir, std::istream& in,
                                         const std::string& source,
                                         const ImportProgressFn& progress) {
  const std::filesystem::path dir(data_dir);
  bool existed = false;
  RETURN_IF_ERROR(CheckEmptyFolder(dir, &existed));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", data_dir, ": ", ec.message()));

  absl::StatusOr<EventLog::Head> head;
  {
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Open({.path = (dir / "log").string()});
    head = log.ok() ? Import(log->get(), in, source, progress) : log.status();
  }  // closed here, before a failed import is removed
  if (!head.ok()) {
    // Leave the folder as it was: gone, or empty.
    if (existed) {
      std::filesystem::remove_all(dir / "log", ec);
    } else {
      std::filesystem::remove_all(dir, ec);
    }
  }
  return head;
}

}  // namespace duban::storage
