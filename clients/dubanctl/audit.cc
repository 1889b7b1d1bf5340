// dubanctl's audit commands apart from the command line (see audit.h).
#include "clients/dubanctl/audit.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/dubanctl/table.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace duban::clients {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr int kDescriptionWidth = 64;  // replay's description column
constexpr int kFreeTextWidth = 24;     // reasons, titles within descriptions
constexpr int kPrincipalWidth = 16;
constexpr int kRequestIdWidth = 12;
constexpr int kTypeWidth = 24;
constexpr int kHashPrefix = 8;  // bytes of a hash shown as "5dc9da79…"

absl::string_view View(std::string_view s) { return {s.data(), s.size()}; }

// "5dc9da79a70659a9…": a hash for people.
std::string ShortHash(std::string_view hash) {
  if (hash.size() <= kHashPrefix) return ToHex(hash);
  return absl::StrCat(ToHex(hash.substr(0, kHashPrefix)), "…");
}

std::string Cut(std::string_view text, int width) {
  std::string flat(text);
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  return TruncateToWidth(flat, width);
}

// ` "reason"` cut short, or "" for none.
std::string Quoted(std::string_view text) {
  if (text.empty()) return "";
  return absl::StrCat(" \"", Cut(text, kFreeTextWidth), "\"");
}

const char* RoleEnum(v1::Role role) {
  switch (role) {
    case v1::LEAD:
      return "LEAD";
    case v1::SHARED:
      return "SHARED";
    case v1::SUPPORT:
      return "SUPPORT";
    default:
      return "ROLE?";
  }
}

// The protobuf JSON of `message`: field names as in the .proto, and with
// `all_fields` every field, set or not.
absl::StatusOr<std::string> ProtoJson(const google::protobuf::Message& message,
                                      bool all_fields) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = all_fields;
  std::string text;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!status.ok()) return absl::InternalError(status.ToString());
  return text;
}

// The export's "event": set fields only (the file stays small).
absl::StatusOr<std::string> ExportEventJson(const v1::Event& event) {
  return ProtoJson(event, /*all_fields=*/false);
}

std::string CstSeconds(int64_t micros) {
  if (micros == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMicros(micros),
                          ChinaStandardTime());
}

// "for qh-edu" when `principal` is not the agency's own.
std::string OnBehalf(const v1::Event& event, const std::string& agency_id) {
  if (agency_id.empty() || event.principal() == AgencyPrincipal(agency_id)) {
    return "";
  }
  return absl::StrCat(" for ", agency_id);
}

std::string EscalationSubject(const v1::Subject& subject) {
  std::string text;
  if (subject.task_number() != 0) {
    text = absl::StrCat("task ", subject.task_number());
  } else if (subject.indicator_number() != 0) {
    text = absl::StrCat("indicator ", subject.indicator_number());
  } else {
    text = "plan";
  }
  if (!subject.agency_id().empty())
    absl::StrAppend(&text, " ", subject.agency_id());
  if (subject.year() != 0) absl::StrAppend(&text, " ", subject.year());
  return text;
}

// Reads members of a JSON object, remembering the first problem.
class JsonFields {
 public:
  JsonFields(const Json& json, std::string what)
      : json_(json), what_(std::move(what)) {
    if (!json_.is_object()) Fail("", "is not a JSON object");
  }

  const absl::Status& status() const { return status_; }

  bool Has(const char* key) const {
    return json_.is_object() && json_.contains(key) && !json_[key].is_null();
  }

  std::string String(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return "";
    if (!value->is_string()) {
      Fail(key, "is not a string");
      return "";
    }
    return value->get<std::string>();
  }

  uint64_t Unsigned(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return 0;
    if (value->is_number_unsigned()) return value->get<uint64_t>();
    if (value->is_number_integer() && value->get<int64_t>() >= 0) {
      return static_cast<uint64_t>(value->get<int64_t>());
    }
    Fail(key, "is not a whole number >= 0");
    return 0;
  }

  int64_t Signed(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr) return 0;
    if (value->is_number_integer()) return value->get<int64_t>();
    Fail(key, "is not a whole number");
    return 0;
  }

  // A 32-byte hash in hex.
  std::string Hash(const char* key) {
    const std::string hex = String(key);
    if (!status_.ok()) return "";
    std::optional<std::string> bytes = FromHex(hex);
    if (!bytes.has_value() || bytes->size() != kHashSize) {
      Fail(key, "is not a hash (64 hex digits)");
      return "";
    }
    return *bytes;
  }

  std::string Base64(const char* key) {
    const std::string text = String(key);
    if (!status_.ok()) return "";
    std::string bytes;
    if (!absl::Base64Unescape(text, &bytes)) {
      Fail(key, "is not base64");
      return "";
    }
    return bytes;
  }

  std::vector<std::string> Hashes(const char* key) {
    std::vector<std::string> hashes;
    const Json* value = Find(key);
    if (value == nullptr) return hashes;
    if (!value->is_array()) {
      Fail(key, "is not an array");
      return hashes;
    }
    for (const Json& item : *value) {
      std::optional<std::string> bytes;
      if (item.is_string()) bytes = FromHex(item.get<std::string>());
      if (!bytes.has_value() || bytes->size() != kHashSize) {
        Fail(key, absl::StrCat("[", hashes.size(),
                               "] is not a hash (64 hex digits)"));
        return {};
      }
      hashes.push_back(*std::move(bytes));
    }
    return hashes;
  }

 private:
  const Json* Find(const char* key) {
    if (!status_.ok()) return nullptr;
    if (!Has(key)) {
      Fail(key, "is missing");
      return nullptr;
    }
    return &json_[key];
  }

  void Fail(std::string_view key, std::string_view problem) {
    if (!status_.ok()) return;
    status_ = absl::InvalidArgumentError(
        key.empty()
            ? absl::StrCat(what_, " ", View(problem))
            : absl::StrCat(what_, ": \"", View(key), "\" ", View(problem)));
  }

  const Json& json_;
  std::string what_;
  absl::Status status_;
};

absl::StatusOr<Json> ParseJson(std::string_view text, const std::string& what) {
  Json json = Json::parse(text.begin(), text.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not JSON"));
  }
  return json;
}

std::string Dump(const OrderedJson& json) {
  return json.dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
}

OrderedJson HexArray(
    const google::protobuf::RepeatedPtrField<std::string>& hashes) {
  OrderedJson array = OrderedJson::array();
  for (const std::string& hash : hashes) array.push_back(ToHex(hash));
  return array;
}

// Lines "key  value", keys padded to the widest.
std::string Fields(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  int width = 0;
  for (const auto& [key, value] : fields) {
    if (!value.empty()) width = std::max(width, DisplayWidth(key));
  }
  std::string out;
  for (const auto& [key, value] : fields) {
    if (value.empty()) continue;
    absl::StrAppend(&out, PadToWidth(key, width), "  ", value, "\n");
  }
  return out;
}


}  // namespace

// ---------------------------------------------------------------------------
// Events, for people

std::string EventType(const v1::Event& event) {
  if (event.payload_case() == v1::Event::PAYLOAD_NOT_SET) return "";
  const google::protobuf::FieldDescriptor* field =
      v1::Event::descriptor()->FindFieldByNumber(event.payload_case());
  return field == nullptr ? "" : field->name();
}

const std::vector<std::string>& EventTypeNames() {
  static const std::vector<std::string>* const names = [] {
    auto* out = new std::vector<std::string>;
    const google::protobuf::OneofDescriptor* payload =
        v1::Event::descriptor()->FindOneofByName("payload");
    for (int i = 0; payload != nullptr && i < payload->field_count(); ++i) {
      out->push_back(payload->field(i)->name());
    }
    std::sort(
        out->begin(), out->end(),
        [payload](const std::string& a, const std::string& b) {
          return payload->containing_type()->FindFieldByName(a)->number() <
                 payload->containing_type()->FindFieldByName(b)->number();
        });
    return out;
  }();
  return *names;
}

std::string DescribeEvent(const v1::Event& e) {
  using E = v1::Event;
  switch (e.payload_case()) {
    case E::kPlanDefined: {
      const v1::Plan& plan = e.plan_defined().plan();
      return absl::StrCat("plan ", plan.plan_id(), " ",
                          Cut(plan.title(), kFreeTextWidth));
    }
    case E::kAgencyDefined: {
      const v1::Agency& agency = e.agency_defined().agency();
      return absl::StrCat(
          "agency ", agency.id(), " ",
          agency.short_name().empty() ? agency.name() : agency.short_name());
    }
    case E::kAgencyRemoved:
      return absl::StrCat("agency ", e.agency_removed().agency_id(),
                          " removed");
    case E::kAgencyGroupDefined: {
      const v1::AgencyGroup& group = e.agency_group_defined().group();
      return absl::StrCat("group ", group.id(), " ", group.name(), " (",
                          group.member_agency_ids_size(), " members)");
    }
    case E::kAgencyGroupRemoved:
      return absl::StrCat("group ", e.agency_group_removed().group_id(),
                          " removed");
    case E::kTaskDefined: {
      const v1::Task& task = e.task_defined().task();
      std::string text = absl::StrCat("task ", task.number(), " defined");
      if (!task.section().number().empty()) {
        absl::StrAppend(&text, " (section ", task.section().number(), ")");
      }
      return text;
    }
    case E::kTaskRemoved:
      return absl::StrCat("task ", e.task_removed().task_number(), " removed",
                          Quoted(e.task_removed().reason()));
    case E::kIndicatorDefined: {
      const v1::Indicator& indicator = e.indicator_defined().indicator();
      return absl::StrCat("indicator ", indicator.number(), " ",
                          Cut(indicator.name(), kFreeTextWidth));
    }
    case E::kIndicatorRemoved:
      return absl::StrCat("indicator ",
                          e.indicator_removed().indicator_number(), " removed");
    case E::kResponsibilityAssigned: {
      const v1::ResponsibilityAssigned& a = e.responsibility_assigned();
      std::string text = absl::StrCat("task ", a.task_number(), " ",
                                      a.agency_id(), " ", RoleEnum(a.role()));
      if (a.previous_role() != v1::ROLE_UNSPECIFIED) {
        absl::StrAppend(&text, " (was ", RoleEnum(a.previous_role()), ")");
      }
      if (!a.via_group_id().empty()) {
        absl::StrAppend(&text, " via ", a.via_group_id());
      }
      if (a.from_plan_document()) {
        absl::StrAppend(&text, " [plan]");
      } else {
        absl::StrAppend(&text, Quoted(a.reason()));
      }
      return text;
    }
    case E::kResponsibilityRevoked: {
      const v1::ResponsibilityRevoked& r = e.responsibility_revoked();
      std::string text = absl::StrCat("task ", r.task_number(), " ",
                                      r.agency_id(), " revoked");
      if (r.previous_role() != v1::ROLE_UNSPECIFIED) {
        absl::StrAppend(&text, " (was ", RoleEnum(r.previous_role()), ")");
      }
      absl::StrAppend(&text,
                      r.from_plan_document() ? " [plan]" : Quoted(r.reason()));
      return text;
    }
    case E::kPlanImported: {
      const v1::PlanImported& i = e.plan_imported();
      return absl::StrCat("import: ", i.changes(), " changes, ",
                          i.warnings_size(), " warnings (document ",
                          i.document_sha256().substr(0, 12), "…)");
    }
    case E::kCredentialIssued: {
      const v1::CredentialIssued& c = e.credential_issued();
      return absl::StrCat("credential ", c.credential_id(), " for ",
                          c.principal(), Quoted(c.label()));
    }
    case E::kCredentialRevoked:
      return absl::StrCat("credential ", e.credential_revoked().credential_id(),
                          " revoked", Quoted(e.credential_revoked().reason()));
    case E::kProgressReported: {
      const v1::ProgressReport& r = e.progress_reported().report();
      return absl::StrCat(
          r.kind() == v1::CONTRIBUTION ? "contribution" : "report", " task ",
          r.task_number(), " ", r.year(), " ",
          v1::ProgressStatus_Name(r.status()), " rev ", r.revision(),
          OnBehalf(e, r.agency_id()));
    }
    case E::kIndicatorValueReported: {
      const v1::IndicatorValue& v = e.indicator_value_reported().value();
      return absl::StrCat("value indicator ", v.indicator_number(), " ",
                          v.year(), " = ", FormatNumber(v.value()), " rev ",
                          v.revision(), OnBehalf(e, v.agency_id()));
    }
    case E::kRulesetPut: {
      const v1::RulesetPut& r = e.ruleset_put();
      return absl::StrCat("ruleset v", r.version(), " (",
                          r.ruleset().rules_size(), " rules, sha256 ",
                          r.content_sha256().substr(0, 12), "…)");
    }
    case E::kEscalationOpened: {
      const v1::Escalation& esc = e.escalation_opened().escalation();
      return absl::StrCat(
          "escalation ", esc.id(), " opened ", LevelChinese(esc.level()), ": ",
          EscalationSubject(esc.subject()), " ", RuleKindName(esc.kind()));
    }
    case E::kEscalationRaised:
      return absl::StrCat("escalation ", e.escalation_raised().escalation_id(),
                          " → ", LevelChinese(e.escalation_raised().level()));
    case E::kEscalationRepeated:
      return absl::StrCat("escalation ",
                          e.escalation_repeated().escalation_id(), " repeated");
    case E::kEscalationAcknowledged: {
      const v1::EscalationAcknowledged& a = e.escalation_acknowledged();
      return absl::StrCat("escalation ", a.escalation_id(),
                          " acknowledged (签收), due ",
                          CstDate(a.due_micros()));
    }
    case E::kEscalationResolved:
      return absl::StrCat(
          "escalation ", e.escalation_resolved().escalation_id(),
          " resolved (办结)", Quoted(e.escalation_resolved().reason()));
    case E::kEscalationCleared: {
      const v1::EscalationCleared& c = e.escalation_cleared();
      return absl::StrCat("escalation ", c.escalation_id(), " cleared (销号) ",
                          c.cleared_by_seq() == 0
                              ? std::string("by the clock")
                              : absl::StrCat("after seq ", c.cleared_by_seq()));
    }
    case E::kNoticeIssued: {
      const v1::Notice& n = e.notice_issued().notice();
      return absl::StrCat("notice → ", n.recipient(), " ",
                          Cut(n.title(), kFreeTextWidth));
    }
    case E::kClockAdvanced:
      return absl::StrCat("clock → ",
                          CstMinutes(e.clock_advanced().now_micros()), " CST");
    case E::kWebhookAdded:
      return absl::StrCat("webhook ", e.webhook_added().webhook().id(), " → ",
                          Cut(e.webhook_added().webhook().url(), 40));
    case E::kWebhookRemoved:
      return absl::StrCat("webhook ", e.webhook_removed().webhook_id(),
                          " removed");
    case E::kCheckpointMade: {
      const v1::CheckpointMade& c = e.checkpoint_made();
      return absl::StrCat("checkpoint size ", c.tree_size(), " root ",
                          ShortHash(c.root_hash()));
    }
    case E::PAYLOAD_NOT_SET:
      break;
  }
  return e.GetReflection()->GetUnknownFields(e).empty() ? "(no payload)"
                                                        : "(unknown payload)";
}

std::string ReplayHeader(int seq_width) {
  const std::string header =
      absl::StrCat(PadToWidth("seq", seq_width, Align::kRight), "  ",
                   PadToWidth("time (CST)", 19), "  ",
                   PadToWidth("principal", kPrincipalWidth), "  ",
                   PadToWidth("request", kRequestIdWidth), "  ",
                   PadToWidth("type", kTypeWidth), "  ",
                   PadToWidth("what", kDescriptionWidth), "  cause");
  return absl::StrCat(
      header, "\n", std::string(static_cast<size_t>(DisplayWidth(header)), '-'),
      "\n");
}

std::string FormatReplayLine(const v1::AuditEvent& audit_event, int seq_width) {
  const v1::Event& e = audit_event.event();
  const std::string type = EventType(e);
  std::string line = absl::StrCat(
      PadToWidth(absl::StrCat(e.seq()), seq_width, Align::kRight), "  ",
      CstSeconds(e.recorded_at_micros()), "  ",
      PadToWidth(TruncateToWidth(e.principal().empty() ? "-" : e.principal(),
                                 kPrincipalWidth),
                 kPrincipalWidth),
      "  ",
      PadToWidth(TruncateToWidth(e.request_id().empty() ? "-" : e.request_id(),
                                 kRequestIdWidth),
                 kRequestIdWidth),
      "  ", PadToWidth(type.empty() ? "-" : type, kTypeWidth), "  ");
  const std::string what = TruncateToWidth(DescribeEvent(e), kDescriptionWidth);
  if (e.causation_seq() == 0) {
    absl::StrAppend(&line, what);
  } else {
    absl::StrAppend(&line, PadToWidth(what, kDescriptionWidth), "  ← ",
                    e.causation_seq());
  }
  return line;
}

absl::StatusOr<std::string> ReplayJsonLine(const v1::AuditEvent& event) {
  absl::StatusOr<std::string> json = ProtoJson(event.event(), true);
  if (!json.ok()) return json.status();
  return absl::StrCat("{\"seq\":", event.event().seq(), ",\"type\":\"",
                      EventType(event.event()), "\",\"hash\":\"",
                      ToHex(event.hash()), "\",\"event\":", *json, "}");
}

// ---------------------------------------------------------------------------
// Progress

ProgressLine::ProgressLine(ProgressSink sink, std::string verb,
                           uint64_t first_seq, uint64_t last_seq)
    : sink_(sink),
      verb_(std::move(verb)),
      first_seq_(std::max<uint64_t>(first_seq, 1)),
      last_seq_(last_seq),
      next_report_(std::max<uint64_t>(sink.every, 1)) {}

std::string ProgressLine::Text(uint64_t seq, uint64_t count) const {
  if (last_seq_ == 0 || last_seq_ < first_seq_) {
    return absl::StrCat(count, count == 1 ? " event " : " events ", verb_,
                        " (seq ", seq, ")");
  }
  const double done =
      std::clamp(static_cast<double>(seq - std::min(seq, first_seq_) + 1) /
                     static_cast<double>(last_seq_ - first_seq_ + 1),
                 0.0, 1.0);
  constexpr int kBar = 30;
  const int filled = static_cast<int>(done * kBar);
  return absl::StrFormat("[%s%s] %3d%%  %d %s %s (seq %d of %d)",
                         std::string(static_cast<size_t>(filled), '#'),
                         std::string(static_cast<size_t>(kBar - filled), '.'),
                         static_cast<int>(done * 100), count,
                         count == 1 ? "event" : "events", verb_, seq,
                         last_seq_);
}

void ProgressLine::Update(uint64_t seq, uint64_t count) {
  if (sink_.out == nullptr) return;
  if (sink_.interactive) {
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    drawn_ = true;
    *sink_.out << "\r" << Text(seq, count) << "\033[K" << std::flush;
  } else if (count >= next_report_) {
    next_report_ = count + std::max<uint64_t>(sink_.every, 1);
    *sink_.out << "dubanctl: " << Text(seq, count) << std::endl;
  }
}

void ProgressLine::Done() {
  if (drawn_ && sink_.out != nullptr) *sink_.out << "\r\033[K" << std::flush;
  drawn_ = false;
}

// ---------------------------------------------------------------------------
// The export file

absl::StatusOr<std::string> ExportLine(const v1::AuditEvent& event,
                                       bool* reproduced) {
  // The bytes the server stored and hashed; only a server older than the
  // `stored` field leaves them out, and then re-serializing is the best guess.
  std::string serialized;
  if (event.stored().empty() && !event.event().SerializeToString(&serialized)) {
    return absl::InternalError(absl::StrCat("seq ", event.event().seq(),
                                            ": the event does not serialize"));
  }
  const std::string& bytes = event.stored().empty() ? serialized : event.stored();
  if (reproduced != nullptr) {
    *reproduced = Sha256({event.event().prev_hash(), bytes}) == event.hash();
  }
  absl::StatusOr<std::string> json = ExportEventJson(event.event());
  if (!json.ok()) return json.status();
  return absl::StrCat("{\"seq\":", event.event().seq(), ",\"hash\":\"",
                      ToHex(event.hash()), "\",\"prev_hash\":\"",
                      ToHex(event.event().prev_hash()),
                      "\",\"event_base64\":\"", absl::Base64Escape(bytes),
                      "\",\"event\":", *json, "}");
}

absl::StatusOr<ExportRecord> ParseExportLine(std::string_view line) {
  absl::StatusOr<Json> json = ParseJson(line, "the line");
  if (!json.ok()) return json.status();
  JsonFields fields(*json, "the line");
  ExportRecord record;
  record.seq = fields.Unsigned("seq");
  if (!fields.status().ok()) return fields.status();
  JsonFields event(*json, absl::StrCat("seq ", record.seq));
  record.hash = event.Hash("hash");
  record.prev_hash = event.Hash("prev_hash");
  record.event_bytes = event.Base64("event_base64");
  if (!event.status().ok()) return event.status();
  if (event.Has("event")) record.event_json = (*json)["event"];
  return record;
}

absl::Status ExportChecker::Fail(uint64_t seq, std::string_view what) {
  status_ = absl::DataLossError(absl::StrCat("seq ", seq, ": ", View(what)));
  return status_;
}

absl::Status ExportChecker::Add(const ExportRecord& record) {
  if (!status_.ok()) return status_;
  const uint64_t want = builder_.size() + 1;
  if (record.seq != want) {
    if (record.seq > want) {
      return Fail(want, absl::StrCat("missing (the next line is seq ",
                                     record.seq, ")"));
    }
    return Fail(record.seq, absl::StrCat("out of order or repeated (after seq ",
                                         want - 1, ")"));
  }
  if (record.prev_hash != prev_hash_) {
    return Fail(record.seq,
                want == 1
                    ? "prev_hash is not 32 zero bytes (seq 1 has no "
                      "predecessor)"
                    : absl::StrCat("prev_hash is not the hash of seq ",
                                   want - 1, " recomputed from its bytes"));
  }
  std::string hash = Sha256({prev_hash_, record.event_bytes});
  if (hash != record.hash) {
    return Fail(record.seq,
                "hash differs from SHA-256(prev_hash || event bytes): the "
                "event's bytes or its hash were altered");
  }
  v1::Event event;
  if (!event.ParseFromString(record.event_bytes)) {
    return Fail(record.seq, "event bytes do not parse as a duban.v1.Event");
  }
  if (event.seq() != record.seq) {
    return Fail(record.seq,
                absl::StrCat("the event's bytes say seq ", event.seq()));
  }
  if (event.prev_hash() != prev_hash_) {
    return Fail(record.seq, "the event's own prev_hash differs from the chain");
  }
  if (record.event_json.has_value()) {
    absl::StatusOr<std::string> text = ExportEventJson(event);
    if (!text.ok()) {
      return Fail(record.seq, std::string(text.status().message()));
    }
    absl::StatusOr<Json> json = ParseJson(*text, "event");
    if (!json.ok() || *json != *record.event_json) {
      return Fail(record.seq,
                  "the \"event\" JSON is not the event in event_base64 (it "
                  "was edited)");
    }
  }
  if (event.has_checkpoint_made()) {
    // It covers the log as it stood before this event.
    const v1::CheckpointMade& made = event.checkpoint_made();
    LoggedCheckpoint logged;
    logged.seq = record.seq;
    logged.checkpoint = Checkpoint{made.log_id(), made.tree_size(),
                                   made.root_hash(), made.time_micros()};
    logged.signature = made.signature();
    logged.key_id = made.key_id();
    if (made.tree_size() == builder_.size()) {
      logged.root_compared = true;
      logged.root_matches = builder_.Root() == made.root_hash();
    } else if (auto it = roots_.find(made.tree_size()); it != roots_.end()) {
      logged.root_compared = true;
      logged.root_matches = it->second == made.root_hash();
    }
    logged_checkpoints_.push_back(std::move(logged));
  }
  builder_.AddLeaf(hash);
  if (wanted_hashes_.count(record.seq) > 0) hashes_[record.seq] = hash;
  prev_hash_ = std::move(hash);
  if (wanted_roots_.count(builder_.size()) > 0) {
    roots_[builder_.size()] = builder_.Root();
  }
  return absl::OkStatus();
}

std::optional<std::string> ExportChecker::RootAt(uint64_t size) const {
  if (size == 0) return MerkleEmptyRoot();
  if (size == builder_.size()) return builder_.Root();
  auto it = roots_.find(size);
  if (it == roots_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ExportChecker::HashAt(uint64_t seq) const {
  auto it = hashes_.find(seq);
  if (it == hashes_.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------------------------
// Checkpoint and proof files

std::string CheckpointFileText(const v1::SignedCheckpoint& checkpoint) {
  OrderedJson json;
  json["log_id"] = checkpoint.log_id();
  json["tree_size"] = checkpoint.tree_size();
  json["root_hash"] = ToHex(checkpoint.root_hash());
  json["time_micros"] = checkpoint.time_micros();
  json["body"] = checkpoint.body();
  json["signature"] = absl::Base64Escape(checkpoint.signature());
  json["key_id"] = checkpoint.key_id();
  json["public_key_pem"] = checkpoint.public_key_pem();
  json["seq"] = checkpoint.seq();
  return Dump(json);
}

absl::StatusOr<v1::SignedCheckpoint> ParseCheckpointFile(
    std::string_view text) {
  absl::StatusOr<Json> json = ParseJson(text, "the checkpoint file");
  if (!json.ok()) return json.status();
  JsonFields fields(*json, "the checkpoint file");
  v1::SignedCheckpoint checkpoint;
  checkpoint.set_log_id(fields.String("log_id"));
  checkpoint.set_tree_size(fields.Unsigned("tree_size"));
  checkpoint.set_root_hash(fields.Hash("root_hash"));
  checkpoint.set_time_micros(fields.Signed("time_micros"));
  checkpoint.set_body(fields.String("body"));
  checkpoint.set_signature(fields.Base64("signature"));
  if (fields.Has("key_id")) checkpoint.set_key_id(fields.String("key_id"));
  if (fields.Has("public_key_pem")) {
    checkpoint.set_public_key_pem(fields.String("public_key_pem"));
  }
  if (fields.Has("seq")) checkpoint.set_seq(fields.Unsigned("seq"));
  if (!fields.status().ok()) return fields.status();
  return checkpoint;
}

std::string InclusionProofFileText(const v1::InclusionProof& proof) {
  OrderedJson json;
  json["seq"] = proof.seq();
  json["leaf_index"] = proof.leaf_index();
  json["tree_size"] = proof.tree_size();
  json["leaf_data"] = ToHex(proof.leaf_data());
  json["hashes"] = HexArray(proof.hashes());
  json["root_hash"] = ToHex(proof.root_hash());
  return Dump(json);
}

absl::StatusOr<v1::InclusionProof> ParseInclusionProofFile(
    std::string_view text) {
  absl::StatusOr<Json> json = ParseJson(text, "the inclusion proof file");
  if (!json.ok()) return json.status();
  JsonFields fields(*json, "the inclusion proof file");
  v1::InclusionProof proof;
  proof.set_seq(fields.Unsigned("seq"));
  proof.set_leaf_index(fields.Unsigned("leaf_index"));
  proof.set_tree_size(fields.Unsigned("tree_size"));
  proof.set_leaf_data(fields.Hash("leaf_data"));
  for (std::string& hash : fields.Hashes("hashes")) {
    proof.add_hashes(std::move(hash));
  }
  if (fields.Has("root_hash")) proof.set_root_hash(fields.Hash("root_hash"));
  if (!fields.status().ok()) return fields.status();
  return proof;
}

std::string ConsistencyProofFileText(const v1::ConsistencyProof& proof) {
  OrderedJson json;
  json["old_size"] = proof.old_size();
  json["new_size"] = proof.new_size();
  json["old_root"] = ToHex(proof.old_root());
  json["new_root"] = ToHex(proof.new_root());
  json["hashes"] = HexArray(proof.hashes());
  return Dump(json);
}

absl::StatusOr<v1::ConsistencyProof> ParseConsistencyProofFile(
    std::string_view text) {
  absl::StatusOr<Json> json = ParseJson(text, "the consistency proof file");
  if (!json.ok()) return json.status();
  JsonFields fields(*json, "the consistency proof file");
  v1::ConsistencyProof proof;
  proof.set_old_size(fields.Unsigned("old_size"));
  proof.set_new_size(fields.Unsigned("new_size"));
  if (fields.Has("old_root")) proof.set_old_root(fields.Hash("old_root"));
  if (fields.Has("new_root")) proof.set_new_root(fields.Hash("new_root"));
  for (std::string& hash : fields.Hashes("hashes")) {
    proof.add_hashes(std::move(hash));
  }
  if (!fields.status().ok()) return fields.status();
  return proof;
}

absl::StatusOr<Checkpoint> CheckSignedCheckpoint(
    const v1::SignedCheckpoint& signed_checkpoint,
    std::string_view public_key) {
  absl::StatusOr<Checkpoint> body =
      ParseCheckpointBody(signed_checkpoint.body());
  if (!body.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("its body: ", body.status().message()));
  }
  const auto disagree = [](const char* field, const std::string& mine,
                           const std::string& signed_value) {
    return absl::FailedPreconditionError(absl::StrCat(
        "its ", field, " ", mine, " is not its signed body's ", signed_value));
  };
  if (signed_checkpoint.log_id() != body->log_id) {
    return disagree("log_id", signed_checkpoint.log_id(), body->log_id);
  }
  if (signed_checkpoint.tree_size() != body->tree_size) {
    return disagree("tree_size", absl::StrCat(signed_checkpoint.tree_size()),
                    absl::StrCat(body->tree_size));
  }
  if (signed_checkpoint.root_hash() != body->root_hash) {
    return disagree("root_hash", ToHex(signed_checkpoint.root_hash()),
                    ToHex(body->root_hash));
  }
  if (signed_checkpoint.time_micros() != body->time_micros) {
    return disagree("time_micros",
                    absl::StrCat(signed_checkpoint.time_micros()),
                    absl::StrCat(body->time_micros));
  }
  absl::Status signature = Ed25519Verify(
      signed_checkpoint.body(), signed_checkpoint.signature(), public_key);
  if (!signature.ok()) {
    std::string message(signature.message());
    if (public_key.size() == kEd25519PublicKeySize &&
        !signed_checkpoint.key_id().empty() &&
        signed_checkpoint.key_id() != Ed25519KeyId(public_key)) {
      absl::StrAppend(&message, " (the checkpoint names key ",
                      signed_checkpoint.key_id(), ")");
    }
    return absl::Status(signature.code(), message);
  }
  return body;
}

absl::Status CheckInclusionProof(const v1::InclusionProof& proof,
                                 std::string_view root) {
  if (proof.seq() == 0 || proof.leaf_index() != proof.seq() - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the proof's leaf index ", proof.leaf_index(),
                     " is not seq ", proof.seq(), " - 1"));
  }
  const std::vector<std::string> hashes(proof.hashes().begin(),
                                        proof.hashes().end());
  return VerifyInclusion(proof.leaf_data(), proof.leaf_index(),
                         proof.tree_size(), hashes, root);
}

absl::Status CheckConsistencyProof(const v1::ConsistencyProof& proof,
                                   std::string_view old_root,
                                   std::string_view new_root) {
  const std::vector<std::string> hashes(proof.hashes().begin(),
                                        proof.hashes().end());
  return VerifyConsistency(proof.old_size(), proof.new_size(), old_root,
                           new_root, hashes);
}

// ---------------------------------------------------------------------------
// Summaries

std::string FormatCheckpoint(const v1::SignedCheckpoint& checkpoint) {
  return Fields({
      {"log", checkpoint.log_id()},
      {"tree size", absl::StrCat(checkpoint.tree_size(), " (seqs 1-",
                                 checkpoint.tree_size(), ")")},
      {"root", ToHex(checkpoint.root_hash())},
      {"made", CstTime(checkpoint.time_micros())},
      {"key id", checkpoint.key_id()},
      {"seq", checkpoint.seq() == 0
                  ? ""
                  : absl::StrCat(checkpoint.seq(),
                                 " (the CheckpointMade event keeping it)")},
  });
}

std::string FormatInclusionProof(const v1::InclusionProof& proof) {
  std::string out = Fields({
      {"seq", absl::StrCat(proof.seq(), " (leaf ", proof.leaf_index(), ")")},
      {"tree size", absl::StrCat(proof.tree_size())},
      {"leaf",
       absl::StrCat(ToHex(proof.leaf_data()), " (the event's hash)")},
      {"root", ToHex(proof.root_hash())},
      {"path", absl::StrCat(proof.hashes_size(), " hashes, leaf side first")},
  });
  for (const std::string& hash : proof.hashes()) {
    absl::StrAppend(&out, "  ", ToHex(hash), "\n");
  }
  return out;
}

std::string FormatConsistencyProof(const v1::ConsistencyProof& proof) {
  std::string out = Fields({
      {"old size", absl::StrCat(proof.old_size())},
      {"old root", ToHex(proof.old_root())},
      {"new size", absl::StrCat(proof.new_size())},
      {"new root", ToHex(proof.new_root())},
      {"proof", absl::StrCat(proof.hashes_size(), " hashes")},
  });
  for (const std::string& hash : proof.hashes()) {
    absl::StrAppend(&out, "  ", ToHex(hash), "\n");
  }
  return out;
}

std::string FormatVerifyLog(const v1::VerifyLogResponse& response) {
  const std::string checked =
      absl::StrCat(response.events(), " events, ", response.checkpoints(),
                   " checkpoints and ", response.snapshots(), " state snapshots");
  if (response.ok()) {
    return absl::StrCat("ok: ", checked,
                        " checked; stored bytes, hash chain, Merkle roots and "
                        "snapshots agree\n");
  }
  return absl::StrCat("FAILED at seq ", response.first_bad_seq(), ": ",
                      response.problem(), "\n(checked ", checked, ")\n");
}

namespace {

// "+L21 -C20 19:L→S": how an agency's row changed.
std::string RowChange(const std::map<int, v1::Role>& then,
                      const std::map<int, v1::Role>& now) {
  std::vector<std::string> changes;
  std::set<int> tasks;
  for (const auto& [task, role] : then) tasks.insert(task);
  for (const auto& [task, role] : now) tasks.insert(task);
  for (int task : tasks) {
    auto a = then.find(task);
    auto b = now.find(task);
    if (a == then.end()) {
      changes.push_back(absl::StrCat("+", RoleLetter(b->second), task));
    } else if (b == now.end()) {
      changes.push_back(absl::StrCat("-", RoleLetter(a->second), task));
    } else if (a->second != b->second) {
      changes.push_back(absl::StrCat(task, ":", RoleLetter(a->second), "→",
                                     RoleLetter(b->second)));
    }
  }
  return absl::StrJoin(changes, " ");
}

constexpr size_t kMaxRowChanges = 20;

}  // namespace

std::string FormatStateAt(const v1::StateAt& state, int64_t recorded_micros,
                          const std::vector<v1::Task>* now) {
  std::map<v1::Role, int> roles;
  for (const v1::Task& task : state.tasks()) {
    for (const v1::Responsibility& r : task.responsibilities())
      ++roles[r.role()];
  }
  int task_reports = 0;
  std::set<std::tuple<int, int, std::string>> report_keys;
  for (const v1::ProgressReport& r : state.reports()) {
    if (r.kind() == v1::TASK_REPORT) ++task_reports;
    report_keys.emplace(r.task_number(), r.year(), r.agency_id());
  }
  std::set<std::pair<int, int>> value_keys;
  for (const v1::IndicatorValue& v : state.indicator_values()) {
    value_keys.emplace(v.indicator_number(), v.year());
  }
  const std::vector<v1::Escalation> escalations(state.escalations().begin(),
                                                state.escalations().end());
  const v1::Plan& plan = state.plan();
  std::string as_of = absl::StrCat("seq ", state.seq());
  if (recorded_micros != 0) {
    absl::StrAppend(&as_of, " (recorded ", CstTime(recorded_micros), ")");
  }
  absl::StrAppend(&as_of, "; rebuilt from ",
                  state.from_snapshot_seq() == 0
                      ? std::string("the first event")
                      : absl::StrCat("the snapshot at seq ", state.from_snapshot_seq()),
                  " + ", state.replayed_events(), " events");
  std::string rules = "none";
  if (state.rules().version() != 0) {
    rules =
        absl::StrCat("version ", state.rules().version(), " (",
                     state.rules().ruleset().rules_size(), " rules, sha256 ",
                     state.rules().content_sha256().substr(0, 12), "…, seq ",
                     state.rules().seq(), ")");
  }
  v1::ListAgenciesResponse listed;
  for (const v1::Agency& agency : state.agencies())
    *listed.add_agencies() = agency;
  const AgencyDirectory agencies(std::move(listed));
  const std::vector<v1::Task> then_tasks(state.tasks().begin(),
                                         state.tasks().end());
  const std::vector<MatrixRow> then_rows =
      BuildMatrix(then_tasks, "", std::nullopt);

  std::string matrix = absl::StrCat(then_rows.size(), " agency rows");
  std::vector<std::pair<std::string, std::string>> changed;
  if (now != nullptr) {
    std::map<std::string, std::map<int, v1::Role>> a;
    std::map<std::string, std::map<int, v1::Role>> b;
    for (const MatrixRow& row : then_rows) a[row.agency_id] = row.roles;
    for (const MatrixRow& row : BuildMatrix(*now, "", std::nullopt)) {
      b[row.agency_id] = row.roles;
    }
    std::set<std::string> ids;
    for (const auto& [id, row] : a) ids.insert(id);
    for (const auto& [id, row] : b) ids.insert(id);
    for (const std::string& id : ids) {
      const std::string change = RowChange(a[id], b[id]);
      if (!change.empty()) changed.emplace_back(agencies.ShortName(id), change);
    }
    absl::StrAppend(&matrix, "; compared with now: ",
                    changed.empty()
                        ? std::string("the same")
                        : absl::StrCat(changed.size(), changed.size() == 1
                                                           ? " row differs"
                                                           : " rows differ"));
  }

  std::string out = Fields({
      {"plan", absl::StrCat(plan.plan_id(), "  ", plan.title())},
      {"state after", as_of},
      {"plan revision", absl::StrCat("seq ", plan.revision())},
      {"tasks", absl::StrCat(state.tasks_size(), " (responsibilities: ",
                             roles[v1::LEAD], " lead, ", roles[v1::SHARED],
                             " shared, ", roles[v1::SUPPORT], " support)")},
      {"agencies", absl::StrCat(state.agencies_size())},
      {"indicators", absl::StrCat(state.indicators_size())},
      {"reports",
       absl::StrCat(state.reports_size(), " submissions: ", task_reports,
                    " task reports, ", state.reports_size() - task_reports,
                    " contributions, for ", report_keys.size(),
                    " (task, year, agency)")},
      {"indicator values",
       absl::StrCat(state.indicator_values_size(), " submissions for ",
                    value_keys.size(), " (indicator, year)")},
      {"escalations", escalations.empty()
                          ? std::string("none")
                          : absl::StrCat(escalations.size(), ": ",
                                         FormatLevelSummary(escalations))},
      {"ruleset", rules},
      {"matrix", matrix},
  });
  for (size_t i = 0; i < changed.size() && i < kMaxRowChanges; ++i) {
    absl::StrAppend(&out, "  ",
                    PadToWidth(TruncateToWidth(changed[i].first, 20), 20), "  ",
                    changed[i].second, "\n");
  }
  if (changed.size() > kMaxRowChanges) {
    absl::StrAppend(&out, "  … and ", changed.size() - kMaxRowChanges,
                    " more\n");
  }
  if (!changed.empty()) {
    absl::StrAppend(&out,
                    "  (then → now: +L21 added, -C20 removed, 19:L→S changed; "
                    "L lead, S shared, C support)\n");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Runs

namespace {

ReadResumeOptions ResumeOptionsFor(const ProgressSink& progress) {
  ReadResumeOptions options;
  std::ostream* out = progress.out;
  options.on_retry = [out](const absl::Status& why,
                           std::chrono::milliseconds wait, uint64_t from_seq) {
    if (out == nullptr) return;
    *out << "\ndubanctl: " << absl::StatusCodeToString(why.code()) << ": "
         << why.message() << "; resuming from seq " << from_seq << " in "
         << wait.count() / 1000.0 << " s" << std::endl;
  };
  return options;
}

}  // namespace

absl::Status Replay(const AuditClient& client,
                    const v1::ReadEventsRequest& request, bool json,
                    std::ostream& out, ProgressSink progress) {
  constexpr int kSeqWidth = 7;
  if (!json) out << ReplayHeader(kSeqWidth);
  uint64_t count = 0;
  uint64_t first = 0;
  uint64_t last = 0;
  ProgressLine line(progress, "replayed", request.from_seq(), request.to_seq());
  const absl::Status status = client.ReadEventsResuming(
      request,
      [&](const v1::AuditEvent& event) -> absl::Status {
        if (json) {
          absl::StatusOr<std::string> text = ReplayJsonLine(event);
          if (!text.ok()) return text.status();
          out << *text << "\n";
        } else {
          out << FormatReplayLine(event, kSeqWidth) << "\n";
        }
        if (!out) return absl::UnavailableError("writing the output failed");
        ++count;
        if (first == 0) first = event.event().seq();
        last = event.event().seq();
        line.Update(last, count);
        return absl::OkStatus();
      },
      ResumeOptionsFor(progress));
  line.Done();
  if (!json) {
    out << count << (count == 1 ? " event" : " events");
    if (count > 0) out << " (seq " << first << "-" << last << ")";
    out << "\n";
  }
  out.flush();
  return status;
}

absl::StatusOr<ExportSummary> ExportLog(const AuditClient& client,
                                        const std::string& path,
                                        ProgressSink progress) {
  const std::string partial = path + ".partial";
  std::ofstream file(partial, std::ios::binary | std::ios::trunc);
  if (!file) return absl::ErrnoToStatus(errno, partial);
  ExportSummary summary;
  std::string prev_hash(kHashSize, '\0');
  v1::ReadEventsRequest request;
  request.set_from_seq(1);
  ProgressLine line(progress, "exported", 1, 0);
  const absl::Status status = client.ReadEventsResuming(
      request,
      [&](const v1::AuditEvent& event) -> absl::Status {
        const v1::Event& e = event.event();
        if (e.seq() != summary.last_seq + 1) {
          return absl::DataLossError(absl::StrCat(
              "seq ", summary.last_seq + 1,
              ": the server skipped it (sent seq ", e.seq(), " next)"));
        }
        if (e.prev_hash() != prev_hash) {
          return absl::DataLossError(
              absl::StrCat("seq ", e.seq(),
                           ": its prev_hash is not the hash the server "
                           "sent for seq ",
                           summary.last_seq));
        }
        bool reproduced = false;
        absl::StatusOr<std::string> text = ExportLine(event, &reproduced);
        if (!text.ok()) return text.status();
        file << *text << '\n';
        if (!file) return absl::ErrnoToStatus(errno, partial);
        if (!reproduced && summary.not_reproduced++ == 0) {
          summary.first_not_reproduced = e.seq();
        }
        prev_hash = event.hash();
        summary.last_seq = e.seq();
        ++summary.events;
        line.Update(e.seq(), summary.events);
        return absl::OkStatus();
      },
      ResumeOptionsFor(progress));
  line.Done();
  file.close();
  if (!status.ok()) {
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(), " (the ", summary.events,
                     " events read so far are in ", partial, ")"));
  }
  if (!file) return absl::ErrnoToStatus(errno, partial);
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("renaming ", partial));
  }
  summary.head_hash = prev_hash;
  return summary;
}

// ---------------------------------------------------------------------------
// The offline verifier

namespace {

// Prints each check as it is decided and counts them.
class CheckReport {
 public:
  explicit CheckReport(std::ostream& out) : out_(out) {}

  void Ok(absl::string_view check, absl::string_view detail) {
    ++checks_;
    out_ << "OK      " << check << ": " << detail << "\n";
  }
  void Failed(absl::string_view check, absl::string_view reason) {
    ++checks_;
    ++failed_;
    out_ << "FAILED  " << check << ": " << reason << "\n";
  }
  absl::Status Result() {
    if (failed_ == 0) {
      out_ << "all " << checks_ << " checks passed\n";
      return absl::OkStatus();
    }
    return absl::DataLossError(
        absl::StrCat(failed_, " of ", checks_, " checks failed"));
  }

 private:
  std::ostream& out_;
  int checks_ = 0;
  int failed_ = 0;
};

// A signed checkpoint file, read and checked against the key.
struct LoadedCheckpoint {
  std::optional<v1::SignedCheckpoint> file;
  std::optional<Checkpoint> trusted;  // set when its signature checked out
};

LoadedCheckpoint LoadCheckpoint(const std::string& path, const char* check,
                                const std::optional<std::string>& key,
                                CheckReport& report) {
  LoadedCheckpoint loaded;
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  absl::StatusOr<v1::SignedCheckpoint> file =
      text.ok() ? ParseCheckpointFile(*text) : text.status();
  if (!file.ok()) {
    report.Failed(check, file.status().message());
    return loaded;
  }
  loaded.file = *file;
  if (!key.has_value()) {
    report.Failed(check, "not checked: no public key");
    return loaded;
  }
  absl::StatusOr<Checkpoint> checked = CheckSignedCheckpoint(*file, *key);
  if (!checked.ok()) {
    report.Failed(check, checked.status().message());
    return loaded;
  }
  loaded.trusted = *checked;
  report.Ok(
      check,
      absl::StrCat("log ", checked->log_id, ", tree size ", checked->tree_size,
                   ", root ", ShortHash(checked->root_hash), ", made ",
                   CstTime(checked->time_micros), ", signed by the given key"));
  return loaded;
}

template <typename Proof, typename Parse>
std::optional<Proof> LoadProof(const std::string& path, const char* check,
                               Parse parse, CheckReport& report) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  absl::StatusOr<Proof> proof = text.ok() ? parse(*text) : text.status();
  if (!proof.ok()) {
    report.Failed(check, proof.status().message());
    return std::nullopt;
  }
  return *proof;
}

// Reads the export through `checker`; OK, or what stopped it.
absl::Status ReadExport(const std::string& path, ExportChecker& checker,
                        ProgressSink progress) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::ErrnoToStatus(errno, path);
  ProgressLine line(progress, "checked", 1, 0);
  std::string text;
  uint64_t number = 0;
  while (std::getline(file, text)) {
    ++number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) continue;
    absl::StatusOr<ExportRecord> record = ParseExportLine(text);
    if (!record.ok()) {
      return absl::DataLossError(
          absl::StrCat("line ", number, ": ", record.status().message()));
    }
    absl::Status added = checker.Add(*record);
    if (!added.ok()) return added;
    line.Update(record->seq, checker.size());
  }
  if (file.bad()) return absl::ErrnoToStatus(errno, path);
  return absl::OkStatus();
}

// The export's root at `size` compared with a trusted checkpoint's.
void CheckExportRoot(const char* check, const Checkpoint& checkpoint,
                     const ExportChecker& checker, CheckReport& report) {
  if (checker.size() < checkpoint.tree_size) {
    report.Failed(check, absl::StrCat("the export holds ", checker.size(),
                                      " events, fewer than the tree size ",
                                      checkpoint.tree_size));
    return;
  }
  const std::optional<std::string> root = checker.RootAt(checkpoint.tree_size);
  if (!root.has_value()) {
    report.Failed(check, "no root recomputed at that size (a bug)");
  } else if (*root != checkpoint.root_hash) {
    report.Failed(check, absl::StrCat("the first ", checkpoint.tree_size,
                                      " events give root ", ToHex(*root),
                                      ", not the signed ",
                                      ToHex(checkpoint.root_hash)));
  } else {
    report.Ok(check,
              absl::StrCat("the first ", checkpoint.tree_size,
                           " events give the signed root ", ShortHash(*root)));
  }
}

void CheckLoggedCheckpoints(const ExportChecker& checker,
                            const std::string& key, CheckReport& report) {
  const char* check = "checkpoints in the log";
  const std::vector<LoggedCheckpoint>& logged = checker.logged_checkpoints();
  if (logged.empty()) {
    report.Ok(check, "the export holds no CheckpointMade event");
    return;
  }
  const std::string key_id = Ed25519KeyId(key);
  uint64_t other_keys = 0;
  uint64_t not_compared = 0;
  for (const LoggedCheckpoint& c : logged) {
    if (!c.key_id.empty() && c.key_id != key_id) {
      ++other_keys;
      continue;
    }
    absl::StatusOr<std::string> body = CheckpointBody(c.checkpoint);
    absl::Status signature =
        body.ok() ? Ed25519Verify(*body, c.signature, key) : body.status();
    if (!signature.ok()) {
      report.Failed(check,
                    absl::StrCat("seq ", c.seq, ": ", signature.message()));
      return;
    }
    if (c.root_compared && !c.root_matches) {
      report.Failed(
          check, absl::StrCat("seq ", c.seq, ": its signed root at tree size ",
                              c.checkpoint.tree_size,
                              " is not the export's root at that size"));
      return;
    }
    if (!c.root_compared) ++not_compared;
  }
  std::string detail =
      absl::StrCat(logged.size() - other_keys, " of ", logged.size(),
                   " CheckpointMade events signed by the given key and "
                   "matching the export's root at their size");
  if (other_keys > 0) {
    absl::StrAppend(&detail, "; ", other_keys,
                    " signed by other keys (not checked)");
  }
  if (not_compared > 0) {
    absl::StrAppend(&detail, "; ", not_compared,
                    " signed but at a size the export's root was not kept for");
  }
  report.Ok(check, detail);
}

}  // namespace

absl::Status VerifyOffline(const OfflineInputs& inputs, std::ostream& out,
                           ProgressSink progress) {
  CheckReport report(out);

  // The key the auditor trusts.
  std::optional<std::string> key;
  {
    absl::StatusOr<std::string> pem = ReadWholeFile(inputs.public_key_file);
    absl::StatusOr<std::string> raw =
        pem.ok() ? Ed25519PublicKeyFromPem(*pem) : pem.status();
    if (raw.ok()) {
      key = *raw;
      report.Ok("public key",
                absl::StrCat("Ed25519, key id ", Ed25519KeyId(*raw)));
    } else {
      report.Failed("public key", absl::StrCat(inputs.public_key_file, ": ",
                                               raw.status().message()));
    }
  }

  const LoadedCheckpoint checkpoint =
      LoadCheckpoint(inputs.checkpoint_file, "checkpoint", key, report);
  LoadedCheckpoint old_checkpoint;
  if (!inputs.old_checkpoint_file.empty()) {
    old_checkpoint = LoadCheckpoint(inputs.old_checkpoint_file,
                                    "old checkpoint", key, report);
  }

  std::optional<v1::InclusionProof> inclusion;
  if (!inputs.inclusion_file.empty()) {
    inclusion =
        LoadProof<v1::InclusionProof>(inputs.inclusion_file, "inclusion proof",
                                      ParseInclusionProofFile, report);
  }
  std::optional<v1::ConsistencyProof> consistency;
  if (!inputs.consistency_file.empty()) {
    consistency = LoadProof<v1::ConsistencyProof>(
        inputs.consistency_file, "consistency proof", ParseConsistencyProofFile,
        report);
  }

  // The export, read once, keeping the roots and hashes the other checks
  // need.
  std::optional<ExportChecker> checker;
  bool export_matches_checkpoint = false;
  if (!inputs.export_file.empty()) {
    checker.emplace();
    if (checkpoint.trusted) checker->WantRootAt(checkpoint.trusted->tree_size);
    if (old_checkpoint.trusted) {
      checker->WantRootAt(old_checkpoint.trusted->tree_size);
    }
    if (inclusion) {
      checker->WantRootAt(inclusion->tree_size());
      checker->WantHashAt(inclusion->seq());
    }
    const absl::Status read =
        ReadExport(inputs.export_file, *checker, progress);
    if (!read.ok()) {
      report.Failed("export chain",
                    absl::StrCat(read.message(), " (", checker->size(),
                                 " events before it check out)"));
      if (checkpoint.trusted) {
        report.Failed("export root", "not checked: the export chain is broken");
      }
    } else {
      report.Ok(
          "export chain",
          absl::StrCat(checker->size(), " events, seq 1-", checker->size(),
                       ": each hash recomputed from its bytes, each "
                       "linked to the one before (head ",
                       ShortHash(checker->head_hash()), ")"));
      if (checkpoint.trusted) {
        CheckExportRoot("export root", *checkpoint.trusted, *checker, report);
        export_matches_checkpoint =
            checker->RootAt(checkpoint.trusted->tree_size) ==
            std::optional<std::string>(checkpoint.trusted->root_hash);
      } else {
        report.Failed("export root", "not checked: no trusted checkpoint");
      }
      if (old_checkpoint.trusted) {
        CheckExportRoot("export root at the old checkpoint",
                        *old_checkpoint.trusted, *checker, report);
      }
      if (key) CheckLoggedCheckpoints(*checker, *key, report);
    }
  }

  if (inclusion) {
    const char* check = "inclusion proof";
    if (!checkpoint.trusted) {
      report.Failed(check, "not checked: no trusted checkpoint");
    } else {
      // Against the checkpoint's root, or, for a smaller tree, against the
      // root of an export that matched the checkpoint.
      std::optional<std::string> root;
      std::string against;
      if (inclusion->tree_size() == checkpoint.trusted->tree_size) {
        root = checkpoint.trusted->root_hash;
        against = "the checkpoint's root";
      } else if (export_matches_checkpoint &&
                 inclusion->tree_size() < checkpoint.trusted->tree_size) {
        root = checker->RootAt(inclusion->tree_size());
        against = absl::StrCat(
            "the root the export (which matches the "
            "checkpoint) gives at size ",
            inclusion->tree_size());
      }
      if (!root.has_value()) {
        report.Failed(
            check,
            absl::StrCat("the proof is for tree size ", inclusion->tree_size(),
                         ", the checkpoint for ", checkpoint.trusted->tree_size,
                         ": ask for one with `audit proof inclusion "
                         "--seq ",
                         inclusion->seq(), " --size ",
                         checkpoint.trusted->tree_size, "`"));
      } else if (absl::Status ok = CheckInclusionProof(*inclusion, *root);
                 !ok.ok()) {
        report.Failed(check, ok.message());
      } else {
        std::string detail = absl::StrCat(
            "seq ", inclusion->seq(), " (hash ",
            ShortHash(inclusion->leaf_data()), ") is in the tree of size ",
            inclusion->tree_size(), " with ", against);
        const std::optional<std::string> exported =
            checker ? checker->HashAt(inclusion->seq()) : std::nullopt;
        if (exported.has_value() && *exported != inclusion->leaf_data()) {
          report.Failed(
              check,
              absl::StrCat(detail, ", but the export's hash of seq ",
                           inclusion->seq(), " is ", ToHex(*exported)));
        } else {
          if (exported.has_value()) {
            absl::StrAppend(&detail, "; it is the export's hash of that seq");
          }
          report.Ok(check, detail);
        }
      }
    }
  }

  if (consistency) {
    const char* check = "consistency proof";
    if (!checkpoint.trusted || !old_checkpoint.trusted) {
      report.Failed(check, "not checked: needs both checkpoints, trusted");
    } else if (old_checkpoint.trusted->log_id != checkpoint.trusted->log_id) {
      report.Failed(check,
                    absl::StrCat("the checkpoints are of different logs: ",
                                 old_checkpoint.trusted->log_id, " and ",
                                 checkpoint.trusted->log_id));
    } else if (consistency->old_size() != old_checkpoint.trusted->tree_size ||
               consistency->new_size() != checkpoint.trusted->tree_size) {
      report.Failed(
          check, absl::StrCat(
                     "the proof is from size ", consistency->old_size(), " to ",
                     consistency->new_size(), ", the checkpoints are at ",
                     old_checkpoint.trusted->tree_size, " and ",
                     checkpoint.trusted->tree_size));
    } else if (absl::Status ok = CheckConsistencyProof(
                   *consistency, old_checkpoint.trusted->root_hash,
                   checkpoint.trusted->root_hash);
               !ok.ok()) {
      report.Failed(check, ok.message());
    } else {
      report.Ok(check,
                absl::StrCat("the tree of size ", consistency->old_size(),
                             " (old checkpoint) is a prefix of the tree of "
                             "size ",
                             consistency->new_size(),
                             " (checkpoint): the log was only appended to"));
    }
  }
  return report.Result();
}

}  // namespace duban::clients
