#include "engine/snapshot.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "duban/v1/snapshot.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace duban::engine {

using duban::v1::PlanSnapshot;
using duban::v1::StateSnapshot;

// The one place that knows State's private fields besides state.cc.
struct SnapshotAccess {
  static StateSnapshot Encode(const State& s, const std::string& event_hash) {
    StateSnapshot out;
    out.set_format(kSnapshotFormat);
    out.set_seq(s.seq_);
    out.set_event_hash(event_hash);
    out.set_simulated_now_micros(s.simulated_now_micros_);
    out.set_last_recorded_micros(s.last_recorded_micros_);
    *out.mutable_latest_checkpoint() = s.latest_checkpoint_;
    out.set_latest_checkpoint_seq(s.latest_checkpoint_seq_);
    for (const auto& [id, plan] : s.plans_) EncodePlan(id, *plan, out.add_plans());
    for (const auto& [_, hook] : *s.webhooks_) *out.add_webhooks() = hook;
    for (const auto& [_, c] : s.credentials_->by_id) {
      auto* o = out.add_credentials();
      o->set_credential_id(c.credential_id);
      o->set_principal(c.principal);
      o->set_token_sha256(c.token_sha256);
      o->set_label(c.label);
      o->set_plan_id(c.plan_id);
      o->set_revoked(c.revoked);
      o->set_issued_seq(c.issued_seq);
      o->set_revoked_seq(c.revoked_seq);
    }
    return out;
  }

  static void EncodePlan(const std::string& id, const PlanState& p, PlanSnapshot* out) {
    out->set_plan_id(id);
    *out->mutable_plan() = p.plan;
    for (const auto& a : *p.agency_order) out->add_agency_order(a);
    for (const auto& [_, a] : p.agencies) *out->add_agencies() = a;
    for (const auto& [gid, g] : p.groups) {
      auto* o = out->add_groups();
      o->set_id(gid);
      *o->mutable_group() = g;
    }
    for (const auto& [_, t] : p.tasks) *out->add_tasks() = t;
    for (const auto& [_, i] : p.indicators) *out->add_indicators() = i;
    for (const auto& [key, revisions] : p.progress) {
      auto* o = out->add_progress();
      o->set_task(std::get<0>(key));
      o->set_year(std::get<1>(key));
      o->set_agency_id(std::get<2>(key));
      for (uint64_t seq : revisions.seqs()) o->add_revision_seqs(seq);
      if (!revisions.empty()) *o->mutable_latest() = revisions.back();
    }
    for (const auto& [key, revisions] : p.indicator_values) {
      auto* o = out->add_indicator_values();
      o->set_indicator(key.first);
      o->set_year(key.second);
      for (const auto& v : revisions) *o->add_revisions() = v;
    }
    *out->mutable_rules() = *p.rules;
    for (const auto& [eid, seqs] : p.timelines) {  // every escalation, open or closed
      auto* o = out->add_escalations();
      o->set_id(eid);
      auto open = p.escalations.find(eid);
      if (open != p.escalations.end()) {
        *o->mutable_escalation() = *open->second;
      } else {
        auto closed = p.closed_escalations.find(eid);
        if (closed == p.closed_escalations.end()) continue;  // (Apply keeps no such timeline)
        o->set_closed(true);
        auto* subject = o->mutable_escalation()->mutable_subject();
        subject->set_task_number(closed->second.task_number);
        subject->set_indicator_number(closed->second.indicator_number);
        subject->set_year(closed->second.year);
      }
      for (uint64_t seq : seqs.All()) o->add_timeline_seqs(seq);
    }
    for (const auto& [key, eid] : p.open_escalations) {
      auto* o = out->add_open_escalations();
      o->set_subject_key(key);
      o->set_escalation_id(eid);
    }
    for (const auto& [key, facts] : p.resolved_facts) {
      auto* o = out->add_resolved_facts();
      o->set_subject_key(key);
      for (uint64_t f : facts) o->add_facts(f);
    }
    out->set_escalations_opened(p.escalations_opened);
    *out->mutable_document() = *p.document;
  }

  static State Decode(StateSnapshot& in) {
    State s;
    s.seq_ = in.seq();
    s.simulated_now_micros_ = in.simulated_now_micros();
    s.last_recorded_micros_ = in.last_recorded_micros();
    s.latest_checkpoint_ = std::move(*in.mutable_latest_checkpoint());
    s.latest_checkpoint_seq_ = in.latest_checkpoint_seq();
    for (PlanSnapshot& p : *in.mutable_plans()) {
      s.plans_[p.plan_id()] = std::make_shared<PlanState>(DecodePlan(p));
    }
    auto webhooks = std::make_shared<std::map<std::string, duban::v1::Webhook>>();
    for (auto& hook : *in.mutable_webhooks()) {
      const std::string id = hook.id();
      (*webhooks)[id] = std::move(hook);
    }
    s.webhooks_ = std::move(webhooks);
    auto credentials = std::make_shared<State::Credentials>();
    for (const auto& c : in.credentials()) {
      Credential& o = credentials->by_id[c.credential_id()];
      o.credential_id = c.credential_id();
      o.principal = c.principal();
      o.token_sha256 = c.token_sha256();
      o.label = c.label();
      o.plan_id = c.plan_id();
      o.revoked = c.revoked();
      o.issued_seq = c.issued_seq();
      o.revoked_seq = c.revoked_seq();
      credentials->id_by_hash[c.token_sha256()] = c.credential_id();  // as Apply keeps it
    }
    s.credentials_ = std::move(credentials);
    return s;
  }

  static PlanState DecodePlan(PlanSnapshot& in) {
    PlanState p;
    p.plan = std::move(*in.mutable_plan());
    p.agency_order.Mutable().assign(in.agency_order().begin(), in.agency_order().end());
    for (auto& a : *in.mutable_agencies()) {
      const std::string id = a.id();
      p.agencies.Mutable()[id] = std::move(a);
    }
    for (auto& g : *in.mutable_groups()) p.groups.Mutable()[g.id()] = std::move(*g.mutable_group());
    for (auto& t : *in.mutable_tasks()) {
      const int32_t n = t.number();
      p.tasks.Mutable()[n] = std::move(t);
    }
    for (auto& i : *in.mutable_indicators()) {
      const int32_t n = i.number();
      p.indicators.Mutable()[n] = std::move(i);
    }
    for (auto& h : *in.mutable_progress()) {
      p.progress.Mutable()[{h.task(), h.year(), h.agency_id()}].Restore(
          h.revision_seqs(), std::move(*h.mutable_latest()));
    }
    // The rules' index (kept sorted, so the order of notes does not matter).
    for (const auto& [_, revisions] : p.progress) {
      if (!revisions.empty()) p.NoteReport(revisions.back());
    }
    for (auto& h : *in.mutable_indicator_values()) {
      auto& revisions = p.indicator_values.Mutable()[{h.indicator(), h.year()}];
      revisions.assign(std::make_move_iterator(h.mutable_revisions()->begin()),
                       std::make_move_iterator(h.mutable_revisions()->end()));
    }
    p.rules = std::move(*in.mutable_rules());
    for (auto& e : *in.mutable_escalations()) {
      p.timelines.Mutable()[e.id()].Append(e.timeline_seqs().begin(), e.timeline_seqs().end());
      if (e.closed()) {
        const auto& s = e.escalation().subject();
        p.closed_escalations.Mutable()[e.id()] = {s.task_number(), s.indicator_number(), s.year()};
      } else {
        p.escalations.Mutable()[e.id()] = std::move(*e.mutable_escalation());
      }
    }
    for (const auto& o : in.open_escalations()) {
      p.open_escalations.Mutable()[o.subject_key()] = o.escalation_id();
    }
    for (const auto& r : in.resolved_facts()) {
      p.resolved_facts.Mutable()[r.subject_key()].assign(r.facts().begin(), r.facts().end());
    }
    p.escalations_opened = in.escalations_opened();
    p.document = std::make_shared<const duban::v1::PlanDocument>(std::move(*in.mutable_document()));
    return p;
  }
};

std::string EncodeSnapshot(const State& state, const std::string& event_hash) {
  const StateSnapshot snapshot = SnapshotAccess::Encode(state, event_hash);
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    snapshot.SerializeToCodedStream(&coded);
  }
  return out;
}

absl::StatusOr<DecodedSnapshot> DecodeSnapshot(absl::string_view bytes) {
  StateSnapshot snapshot;
  google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT32_MAX);
  if (!snapshot.ParseFromCodedStream(&coded)) {
    return absl::DataLossError(absl::StrCat("snapshot of ", bytes.size(), " bytes does not parse"));
  }
  if (snapshot.format() != kSnapshotFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot at seq ", snapshot.seq(), " has format ", snapshot.format(), ", this build reads ",
        kSnapshotFormat));
  }
  DecodedSnapshot out{SnapshotAccess::Decode(snapshot), snapshot.event_hash()};
  return out;
}

}  // namespace duban::engine
