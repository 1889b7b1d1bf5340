#include "engine/state.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace duban::engine {

using duban::v1::Event;
using duban::v1::Role;
using duban::v1::Task;

const char* RoleName(Role role) {
  switch (role) {
    case duban::v1::LEAD:
      return "LEAD";
    case duban::v1::SHARED:
      return "SHARED";
    case duban::v1::SUPPORT:
      return "SUPPORT";
    default:
      return "ROLE_UNSPECIFIED";
  }
}

const char* LevelName(duban::v1::Level level) {
  switch (level) {
    case duban::v1::REMINDER:
      return "提醒";
    case duban::v1::URGING:
      return "催办";
    case duban::v1::SUPERVISION:
      return "督办";
    case duban::v1::CIRCULATION:
      return "通报";
    default:
      return "?";
  }
}

std::string ConvenerOf(const Task& task) {
  for (Role wanted : {duban::v1::LEAD, duban::v1::SHARED}) {
    for (const auto& r : task.responsibilities()) {
      if (r.role() == wanted) return r.agency_id();
    }
  }
  return "";
}

bool HasResponsibleAgency(const Task& task) { return !ConvenerOf(task).empty(); }

std::string SubjectKey(const duban::v1::Subject& s) {
  return absl::StrCat(s.rule_id(), "|", s.task_number(), "|", s.indicator_number(), "|",
                      s.agency_id(), "|", s.year());
}

const duban::v1::Responsibility* FindResponsibility(const Task& task,
                                                    const std::string& agency_id) {
  for (const auto& r : task.responsibilities()) {
    if (r.agency_id() == agency_id) return &r;
  }
  return nullptr;
}

std::vector<std::string> TaskReporters(const Task& task) {
  std::vector<std::string> leads;
  for (const auto& r : task.responsibilities()) {
    if (r.role() == duban::v1::LEAD) leads.push_back(r.agency_id());
  }
  if (leads.empty() && !ConvenerOf(task).empty()) leads.push_back(ConvenerOf(task));
  return leads;
}

duban::v1::ReportKind ReportKindFor(const Task& task, const std::string& agency_id) {
  for (const std::string& id : TaskReporters(task)) {
    if (id == agency_id) return duban::v1::TASK_REPORT;
  }
  return duban::v1::CONTRIBUTION;
}

duban::v1::Plan PlanState::Summary() const {
  duban::v1::Plan out = plan;
  out.set_task_count(static_cast<int32_t>(tasks.size()));
  out.set_indicator_count(static_cast<int32_t>(indicators.size()));
  out.set_agency_count(static_cast<int32_t>(agencies.size()));
  return out;
}

const duban::v1::Agency* PlanState::FindAgency(const std::string& id) const {
  auto it = agencies.find(id);
  return it == agencies.end() ? nullptr : &it->second;
}

const Task* PlanState::FindTask(int32_t number) const {
  auto it = tasks.find(number);
  return it == tasks.end() ? nullptr : &it->second;
}

const duban::v1::Indicator* PlanState::FindIndicator(int32_t number) const {
  auto it = indicators.find(number);
  return it == indicators.end() ? nullptr : &it->second;
}

const duban::v1::ProgressReport* PlanState::LatestReport(int32_t task, int32_t year,
                                                         const std::string& agency_id) const {
  auto it = progress.find(ProgressKey{task, year, agency_id});
  return it == progress.end() || it->second.empty() ? nullptr : &it->second.back();
}

duban::v1::ProgressReport ReportFromEvent(const Event& e) {
  duban::v1::ProgressReport r = e.progress_reported().report();
  r.set_plan_id(e.plan_id());
  r.set_seq(e.seq());
  r.set_recorded_at_micros(e.recorded_at_micros());
  r.set_principal(e.principal());
  return r;
}

absl::StatusOr<std::vector<duban::v1::ProgressReport>> Revisions(
    const PlanState::ReportHistory& history, const EventLoader& load) {
  std::vector<duban::v1::ProgressReport> out;
  if (history.empty()) return out;
  const std::vector<uint64_t> seqs = history.seqs();
  out.reserve(seqs.size());
  for (size_t i = 0; i + 1 < seqs.size(); ++i) {
    absl::StatusOr<Event> e = load(seqs[i]);
    if (!e.ok()) return e.status();
    if (!e->has_progress_reported() || e->seq() != seqs[i]) {
      return absl::DataLossError(absl::StrCat("seq ", seqs[i], " is not the report revision it should be"));
    }
    out.push_back(ReportFromEvent(*e));
  }
  out.push_back(history.back());
  return out;
}

duban::v1::TimelineEntry TimelineEntryFor(const Event& e, int64_t repeat_count) {
  duban::v1::TimelineEntry t;
  t.set_seq(e.seq());
  t.set_by(e.principal());
  t.set_cause_seq(e.causation_seq());
  switch (e.payload_case()) {
    case Event::kEscalationOpened: {
      const auto& p = e.escalation_opened();
      t.set_at_micros(p.escalation().opened_at_micros());
      t.set_what("opened");
      t.set_cause_seq(p.cause_seq());
      t.set_detail(p.escalation().summary());
      break;
    }
    case Event::kEscalationRaised:
      t.set_at_micros(e.escalation_raised().at_micros());
      t.set_what(absl::StrCat("raised to ", LevelName(e.escalation_raised().level())));
      break;
    case Event::kEscalationRepeated: {
      const auto& p = e.escalation_repeated();
      t.set_at_micros(p.at_micros());
      t.set_what(absl::StrCat("repeated (", repeat_count, ")"));
      t.set_cause_seq(p.cause_seq());
      t.set_detail(p.summary());
      break;
    }
    case Event::kEscalationAcknowledged:
      t.set_at_micros(e.escalation_acknowledged().at_micros());
      t.set_what("acknowledged (签收)");
      t.set_detail(e.escalation_acknowledged().measures());
      break;
    case Event::kEscalationResolved:
      t.set_at_micros(e.escalation_resolved().at_micros());
      t.set_what("resolved (办结)");
      t.set_detail(e.escalation_resolved().reason());
      break;
    default:
      t.set_at_micros(e.escalation_cleared().at_micros());
      t.set_what("cleared");
      t.set_cause_seq(e.escalation_cleared().cleared_by_seq());
      t.set_detail(e.escalation_cleared().reason());
      break;
  }
  return t;
}

namespace {

// An escalation from its events (read with `load`): folded for a closed one,
// which the state does not keep; with its timeline if `timeline`.
absl::StatusOr<duban::v1::Escalation> Rebuild(const PlanState& plan, const std::string& id,
                                              const EventLoader& load, bool timeline) {
  auto open = plan.escalations.find(id);
  const bool closed = open == plan.escalations.end();
  auto t = plan.timelines.find(id);
  if (closed && (t == plan.timelines.end() || !plan.closed_escalations.count(id))) {
    return absl::NotFoundError(absl::StrCat("escalation \"", id, "\" not found"));
  }
  duban::v1::Escalation out;
  if (!closed) {
    out = *open->second;
    if (!timeline || t == plan.timelines.end()) return out;
  }
  int64_t count = 1;  // "repeated (n)" counts from the opening
  bool first = true;
  for (uint64_t seq : t->second.All()) {
    absl::StatusOr<Event> e = load(seq);
    if (absl::IsNotFound(e.status())) {  // not "no such escalation": an event missing
      return absl::DataLossError(absl::StrCat("escalation ", id, "'s event seq ", seq,
                                              " cannot be read: ", e.status().message()));
    }
    if (!e.ok()) return e.status();
    if (e->seq() != seq) return absl::DataLossError(absl::StrCat("seq ", seq, " read back as ", e->seq()));
    if (closed) {  // the first event opened it, the others changed it
      absl::Status folded;
      if (!first) {
        folded = FoldEscalationChange(*e, &out);
      } else if (e->has_escalation_opened()) {
        out = OpenedEscalation(*e);
      } else {
        folded = absl::DataLossError("not its opening");
      }
      if (!folded.ok() || out.id() != id) {
        return absl::DataLossError(absl::StrCat("seq ", seq, " is not an event of escalation ", id,
                                                " as its timeline says: ", folded.message()));
      }
    }
    first = false;
    if (e->has_escalation_repeated()) ++count;
    if (timeline) *out.add_timeline() = TimelineEntryFor(*e, count);
  }
  return out;
}

}  // namespace

absl::StatusOr<duban::v1::Escalation> PlanState::FindEscalation(const std::string& id,
                                                                const EventLoader& load) const {
  return Rebuild(*this, id, load, false);
}

absl::StatusOr<duban::v1::Escalation> PlanState::WithTimeline(const std::string& id,
                                                              const EventLoader& load) const {
  return Rebuild(*this, id, load, true);
}

std::vector<std::string> PlanState::EscalationIds() const {
  std::vector<std::string> ids;
  ids.reserve(timelines.size());
  for (const auto& [id, _] : timelines) ids.push_back(id);
  // esc-2 before esc-10
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return ids;
}

duban::v1::Escalation PlanState::EscalationAfter(const std::string& id,
                                                 const duban::v1::Escalation& before,
                                                 const std::vector<Event>& events,
                                                 const EventLoader& load) const {
  absl::StatusOr<duban::v1::Escalation> full =
      WithTimeline(id, [&](uint64_t seq) -> absl::StatusOr<Event> {
        for (const auto& e : events) {
          if (e.seq() == seq) return e;
        }
        return load(seq);
      });
  if (full.ok()) return *std::move(full);
  duban::v1::Escalation folded = before;
  for (const auto& e : events) FoldEscalationChange(e, &folded).IgnoreError();  // others' don't fit
  return folded;
}

duban::v1::Escalation OpenedEscalation(const Event& opened) {
  duban::v1::Escalation esc = opened.escalation_opened().escalation();
  esc.set_state(duban::v1::OPEN);
  esc.set_count(1);
  esc.set_level_at_micros(esc.opened_at_micros());
  esc.clear_timeline();
  return esc;
}

namespace {

// The escalation a change event (raised, repeated, acknowledged, resolved,
// cleared) is about; null for any other event.
const std::string* ChangedEscalationId(const Event& e) {
  switch (e.payload_case()) {
    case Event::kEscalationRaised: return &e.escalation_raised().escalation_id();
    case Event::kEscalationRepeated: return &e.escalation_repeated().escalation_id();
    case Event::kEscalationAcknowledged: return &e.escalation_acknowledged().escalation_id();
    case Event::kEscalationResolved: return &e.escalation_resolved().escalation_id();
    case Event::kEscalationCleared: return &e.escalation_cleared().escalation_id();
    default: return nullptr;
  }
}

}  // namespace

absl::Status FoldEscalationChange(const Event& e, duban::v1::Escalation* esc) {
  if (esc->state() != duban::v1::OPEN && esc->state() != duban::v1::ACKNOWLEDGED) {
    return absl::FailedPreconditionError(absl::StrCat("escalation ", esc->id(), " is closed"));
  }
  const std::string* id = ChangedEscalationId(e);
  if (id == nullptr || *id != esc->id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("not a change of escalation ", esc->id()));
  }
  switch (e.payload_case()) {
    case Event::kEscalationRaised: {
      const auto& p = e.escalation_raised();
      if (p.level() <= esc->level()) {
        return absl::FailedPreconditionError("an escalation only climbs");
      }
      esc->set_level(p.level());
      esc->set_level_at_micros(p.at_micros());
      esc->set_state(duban::v1::OPEN);
      return absl::OkStatus();
    }
    case Event::kEscalationRepeated: {
      const auto& p = e.escalation_repeated();
      esc->set_count(esc->count() + 1);
      *esc->mutable_fact_seqs() = p.fact_seqs();
      esc->set_summary(p.summary());
      return absl::OkStatus();
    }
    case Event::kEscalationAcknowledged: {
      const auto& p = e.escalation_acknowledged();
      esc->set_state(duban::v1::ACKNOWLEDGED);
      esc->set_measures(p.measures());
      esc->set_ack_due_micros(p.due_micros());
      return absl::OkStatus();
    }
    case Event::kEscalationResolved: {
      const auto& p = e.escalation_resolved();
      esc->set_state(duban::v1::RESOLVED);
      esc->set_resolution(p.reason());
      return absl::OkStatus();
    }
    case Event::kEscalationCleared: {
      const auto& p = e.escalation_cleared();
      esc->set_state(duban::v1::CLEARED);
      esc->set_cleared_by_seq(p.cleared_by_seq());
      esc->set_resolution(p.reason());
      return absl::OkStatus();
    }
    default:  // (ChangedEscalationId named the five above)
      return absl::OkStatus();
  }
}

void PlanState::NoteReport(const duban::v1::ProgressReport& r) {
  int32_t agency = ReportAgency(r.agency_id());
  if (agency < 0) {
    ReportAgencies& interned = report_agencies.Mutable();
    agency = static_cast<int32_t>(interned.names.size());
    interned.names.push_back(r.agency_id());
    interned.index.emplace(r.agency_id(), agency);
  }
  // Sorted by (year, agency), whatever order the reports came in.
  std::vector<ReportFact>& facts = report_facts.Mutable()[r.task_number()];
  auto it = std::lower_bound(facts.begin(), facts.end(), std::make_pair(r.year(), agency),
                             [](const ReportFact& f, const std::pair<int32_t, int32_t>& key) {
                               return std::make_pair(f.year, f.agency) < key;
                             });
  if (it == facts.end() || it->year != r.year() || it->agency != agency) {
    it = facts.insert(it, ReportFact{r.year(), agency});
  }
  it->seq = r.seq();
  it->status = r.status();
}

int32_t PlanState::ReportAgency(const std::string& agency_id) const {
  auto it = report_agencies->index.find(agency_id);
  return it == report_agencies->index.end() ? -1 : it->second;
}

const duban::v1::IndicatorValue* PlanState::LatestValue(int32_t indicator, int32_t year) const {
  auto it = indicator_values.find(ValueKey{indicator, year});
  return it == indicator_values.end() || it->second.empty() ? nullptr : &it->second.back();
}

const PlanState* State::FindPlan(const std::string& plan_id) const {
  auto it = plans_.find(plan_id);
  return it == plans_.end() ? nullptr : it->second.get();
}

const Credential* State::FindCredentialByHash(const std::string& hash) const {
  auto it = credentials_->id_by_hash.find(hash);
  if (it == credentials_->id_by_hash.end()) return nullptr;
  const Credential* c = FindCredential(it->second);
  return c != nullptr && !c->revoked ? c : nullptr;
}

const Credential* State::FindCredential(const std::string& id) const {
  auto it = credentials_->by_id.find(id);
  return it == credentials_->by_id.end() ? nullptr : &it->second;
}

std::vector<std::string> State::PlansWithRules() const {
  std::vector<std::string> ids;
  for (const auto& [id, plan] : plans_) {
    if (plan->rules->version() > 0) ids.push_back(id);
  }
  return ids;
}

bool State::AnyPlanLists(const std::string& agency_id) const {
  for (const auto& [_, plan] : plans_) {
    if (plan->FindAgency(agency_id) != nullptr) return true;
  }
  return false;
}

bool State::HasCredentialFor(const std::string& principal) const {
  for (const auto& [_, c] : credentials_->by_id) {
    if (c.principal == principal && !c.revoked) return true;
  }
  return false;
}

// Copy-on-write: a plan still shared with a published snapshot is cloned
// before its first change, so readers of older snapshots never see it move.
PlanState& State::MutablePlan(const std::string& plan_id) {
  std::shared_ptr<PlanState>& p = plans_[plan_id];
  if (!p) {
    p = std::make_shared<PlanState>();
  } else if (p.use_count() > 1) {
    p = std::make_shared<PlanState>(*p);
  }
  return *p;
}

State::Credentials& State::MutableCredentials() {
  if (credentials_.use_count() > 1) {
    credentials_ = std::make_shared<Credentials>(*credentials_);
  }
  return *credentials_;
}

namespace {

absl::Status Misfit(const Event& e, const std::string& what) {
  return absl::FailedPreconditionError(
      absl::StrCat("event ", e.seq(), " (", e.GetDescriptor()
                                                 ->FindFieldByNumber(e.payload_case())
                                                 ->name(),
                   ") does not fit the state: ", what));
}

}  // namespace

absl::Status State::Apply(const Event& event) {
  if (event.seq() != seq_ + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("event seq ", event.seq(), " does not follow ", seq_));
  }
  if (event.payload_case() == Event::PAYLOAD_NOT_SET) {
    return absl::FailedPreconditionError(
        absl::StrCat("event ", event.seq(), " has no payload (written by a newer version?)"));
  }
  switch (event.payload_case()) {
    case Event::kCredentialIssued: {
      const auto& p = event.credential_issued();
      if (p.credential_id().empty() || p.token_sha256().empty()) {
        return Misfit(event, "credential without id or hash");
      }
      if (FindCredential(p.credential_id()) != nullptr) {
        return Misfit(event, "credential id issued twice");
      }
      Credentials& c = MutableCredentials();
      c.by_id[p.credential_id()] = Credential{p.credential_id(), p.principal(), p.token_sha256(),
                                              p.label(), p.plan_id(), false, event.seq(), 0};
      c.id_by_hash[p.token_sha256()] = p.credential_id();
      break;
    }
    case Event::kCheckpointMade:
      if (event.checkpoint_made().tree_size() >= event.seq()) {
        return Misfit(event, "a checkpoint covers only events before it");
      }
      latest_checkpoint_ = event.checkpoint_made();
      latest_checkpoint_seq_ = event.seq();
      break;
    case Event::kClockAdvanced:
      if (event.clock_advanced().now_micros() < simulated_now_micros_) {
        return Misfit(event, "the simulated clock moved backwards");
      }
      simulated_now_micros_ = event.clock_advanced().now_micros();
      break;
    case Event::kWebhookAdded: {
      const auto& w = event.webhook_added().webhook();
      if (w.id().empty() || webhooks_->count(w.id())) return Misfit(event, "webhook id taken");
      if (webhooks_.use_count() > 1) {
        webhooks_ = std::make_shared<std::map<std::string, duban::v1::Webhook>>(*webhooks_);
      }
      (*webhooks_)[w.id()] = w;
      break;
    }
    case Event::kWebhookRemoved: {
      auto it = webhooks_->find(event.webhook_removed().webhook_id());
      if (it == webhooks_->end() || it->second.removed()) return Misfit(event, "unknown webhook");
      if (webhooks_.use_count() > 1) {
        webhooks_ = std::make_shared<std::map<std::string, duban::v1::Webhook>>(*webhooks_);
      }
      (*webhooks_)[event.webhook_removed().webhook_id()].set_removed(true);
      break;
    }
    case Event::kCredentialRevoked: {
      const Credential* existing = FindCredential(event.credential_revoked().credential_id());
      if (existing == nullptr) return Misfit(event, "unknown credential");
      Credential& revoked = MutableCredentials().by_id[existing->credential_id];
      revoked.revoked = true;
      revoked.revoked_seq = event.seq();
      break;
    }
    default: {
      if (event.plan_id().empty()) return Misfit(event, "plan event without plan_id");
      if (event.payload_case() != Event::kPlanDefined &&
          FindPlan(event.plan_id()) == nullptr) {
        return Misfit(event, "unknown plan " + event.plan_id());
      }
      // ApplyToPlan checks before it changes anything, so a misfit leaves
      // the plan as it was.
      PlanState& plan = MutablePlan(event.plan_id());
      absl::Status s = ApplyToPlan(event, plan);
      if (!s.ok()) return s;
      plan.plan.set_revision(event.seq());
      break;
    }
  }
  seq_ = event.seq();
  last_recorded_micros_ = std::max(last_recorded_micros_, event.recorded_at_micros());
  return absl::OkStatus();
}

absl::Status State::ApplyEscalationChange(const Event& e, PlanState& ps) {
  const std::string* changed = ChangedEscalationId(e);
  if (changed == nullptr) return Misfit(e, "not an escalation change");
  const std::string id = *changed;
  if (ps.closed_escalations.count(id)) return Misfit(e, "escalation " + id + " is closed");
  auto& escalations = ps.escalations.Mutable();
  auto it = escalations.find(id);
  if (it == escalations.end()) return Misfit(e, "unknown escalation " + id);
  duban::v1::Escalation& esc = it->second.Mutable();  // unchanged in value if it misfits
  absl::Status folded = FoldEscalationChange(e, &esc);
  if (!folded.ok()) return Misfit(e, std::string(folded.message()));
  ps.timelines.Mutable()[id].push_back(e.seq());
  if (esc.state() == duban::v1::RESOLVED || esc.state() == duban::v1::CLEARED) {
    const std::string key = SubjectKey(esc.subject());
    ps.open_escalations.Mutable().erase(key);
    if (esc.state() == duban::v1::RESOLVED) {
      ps.resolved_facts.Mutable()[key] = {esc.fact_seqs().begin(), esc.fact_seqs().end()};
    }
    ps.closed_escalations.Mutable()[id] = {esc.subject().task_number(),
                                           esc.subject().indicator_number(), esc.subject().year()};
    escalations.erase(it);  // the log keeps it
  }
  return absl::OkStatus();
}

absl::Status State::ApplyToPlan(const Event& e, PlanState& ps) {
  const uint64_t seq = e.seq();
  switch (e.payload_case()) {
    case Event::kPlanDefined: {
      duban::v1::Plan meta = e.plan_defined().plan();
      meta.set_plan_id(e.plan_id());
      meta.set_document_sha256(ps.plan.document_sha256());
      meta.set_revision(seq);
      ps.plan = std::move(meta);
      return absl::OkStatus();
    }
    case Event::kAgencyDefined: {
      const auto& a = e.agency_defined().agency();
      if (a.id().empty()) return Misfit(e, "agency without id");
      if (ps.agencies.find(a.id()) == ps.agencies.end()) {
        ps.agency_order.Mutable().push_back(a.id());
      }
      ps.agencies.Mutable()[a.id()] = a;
      return absl::OkStatus();
    }
    case Event::kAgencyRemoved: {
      const std::string& id = e.agency_removed().agency_id();
      if (ps.agencies.Mutable().erase(id) == 0) return Misfit(e, "unknown agency " + id);
      std::vector<std::string>& order = ps.agency_order.Mutable();
      order.erase(std::remove(order.begin(), order.end(), id), order.end());
      return absl::OkStatus();
    }
    case Event::kAgencyGroupDefined: {
      const auto& g = e.agency_group_defined().group();
      ps.groups.Mutable()[g.id()] = g;
      return absl::OkStatus();
    }
    case Event::kAgencyGroupRemoved: {
      if (ps.groups.Mutable().erase(e.agency_group_removed().group_id()) == 0) {
        return Misfit(e, "unknown group " + e.agency_group_removed().group_id());
      }
      return absl::OkStatus();
    }
    case Event::kTaskDefined: {
      Task t = e.task_defined().task();
      t.set_plan_id(e.plan_id());
      t.set_revision(seq);
      auto it = ps.tasks.find(t.number());
      // Responsibilities have events of their own; keep the current ones.
      t.clear_responsibilities();
      if (it != ps.tasks.end()) {
        *t.mutable_responsibilities() = it->second.responsibilities();
      }
      t.set_convener_agency_id(ConvenerOf(t));
      ps.tasks.Mutable()[t.number()] = std::move(t);
      return absl::OkStatus();
    }
    case Event::kTaskRemoved: {
      if (ps.tasks.Mutable().erase(e.task_removed().task_number()) == 0) {
        return Misfit(e, absl::StrCat("unknown task ", e.task_removed().task_number()));
      }
      return absl::OkStatus();
    }
    case Event::kIndicatorDefined: {
      duban::v1::Indicator ind = e.indicator_defined().indicator();
      ind.set_plan_id(e.plan_id());
      ind.set_revision(seq);
      ps.indicators.Mutable()[ind.number()] = std::move(ind);
      return absl::OkStatus();
    }
    case Event::kIndicatorRemoved: {
      if (ps.indicators.Mutable().erase(e.indicator_removed().indicator_number()) == 0) {
        return Misfit(e, "unknown indicator");
      }
      return absl::OkStatus();
    }
    case Event::kResponsibilityAssigned: {
      const auto& p = e.responsibility_assigned();
      if (ps.tasks.find(p.task_number()) == ps.tasks.end()) {
        return Misfit(e, absl::StrCat("unknown task ", p.task_number()));
      }
      if (ps.agencies.find(p.agency_id()) == ps.agencies.end()) {
        return Misfit(e, "unknown agency " + p.agency_id());
      }
      Task& t = ps.tasks.Mutable().at(p.task_number());
      duban::v1::Responsibility* r = nullptr;
      for (auto& existing : *t.mutable_responsibilities()) {
        if (existing.agency_id() == p.agency_id()) r = &existing;
      }
      if (r == nullptr) r = t.add_responsibilities();
      r->set_agency_id(p.agency_id());
      r->set_role(p.role());
      r->set_via_group_id(p.via_group_id());
      r->set_reason(p.reason());
      r->set_assigned_seq(seq);
      t.set_convener_agency_id(ConvenerOf(t));
      t.set_revision(seq);
      return absl::OkStatus();
    }
    case Event::kResponsibilityRevoked: {
      const auto& p = e.responsibility_revoked();
      auto found = ps.tasks.find(p.task_number());
      if (found == ps.tasks.end()) {
        return Misfit(e, absl::StrCat("unknown task ", p.task_number()));
      }
      const auto& held = found->second.responsibilities();
      const auto pos = std::find_if(held.begin(), held.end(), [&](const auto& r) {
        return r.agency_id() == p.agency_id();
      });
      if (pos == held.end()) return Misfit(e, "agency holds no role on the task");
      const int index = static_cast<int>(pos - held.begin());
      Task& t = ps.tasks.Mutable().at(p.task_number());
      t.mutable_responsibilities()->erase(t.mutable_responsibilities()->begin() + index);
      t.set_convener_agency_id(ConvenerOf(t));
      t.set_revision(seq);
      return absl::OkStatus();
    }
    case Event::kProgressReported: {
      duban::v1::ProgressReport r = e.progress_reported().report();
      auto& progress = ps.progress.Mutable();
      const PlanState::ProgressKey key{r.task_number(), r.year(), r.agency_id()};
      auto& history = progress[key];
      if (r.revision() != history.size() + 1) {
        if (history.empty()) progress.erase(key);
        return Misfit(e, absl::StrCat("report revision ", r.revision(), " does not follow ",
                                      history.size()));
      }
      r = ReportFromEvent(e);
      ps.NoteReport(r);
      history.push_back(std::move(r));
      return absl::OkStatus();
    }
    case Event::kIndicatorValueReported: {
      duban::v1::IndicatorValue v = e.indicator_value_reported().value();
      auto& values = ps.indicator_values.Mutable();
      const PlanState::ValueKey key{v.indicator_number(), v.year()};
      auto& history = values[key];
      if (v.revision() != history.size() + 1) {
        if (history.empty()) values.erase(key);
        return Misfit(e, absl::StrCat("value revision ", v.revision(), " does not follow ",
                                      history.size()));
      }
      v.set_plan_id(e.plan_id());
      v.set_seq(seq);
      v.set_recorded_at_micros(e.recorded_at_micros());
      v.set_principal(e.principal());
      history.push_back(std::move(v));
      return absl::OkStatus();
    }
    case Event::kRulesetPut: {
      const auto& p = e.ruleset_put();
      if (p.version() != ps.rules->version() + 1) return Misfit(e, "ruleset version out of order");
      duban::v1::RulesetVersion& rules = ps.rules.Mutable();
      *rules.mutable_ruleset() = p.ruleset();
      rules.set_version(p.version());
      rules.set_content_sha256(p.content_sha256());
      rules.set_seq(seq);
      return absl::OkStatus();
    }
    case Event::kEscalationOpened: {
      duban::v1::Escalation esc = OpenedEscalation(e);
      const std::string key = SubjectKey(esc.subject());
      if (esc.id().empty() || ps.escalations.count(esc.id()) ||
          ps.closed_escalations.count(esc.id()) || ps.open_escalations.count(key)) {
        return Misfit(e, "escalation id taken or subject already open");
      }
      ps.open_escalations.Mutable()[key] = esc.id();
      ps.resolved_facts.Mutable().erase(key);
      ++ps.escalations_opened;
      const std::string id = esc.id();
      ps.escalations.Mutable()[id] = std::move(esc);
      ps.timelines.Mutable()[id].push_back(seq);
      return absl::OkStatus();
    }
    case Event::kEscalationRaised:
    case Event::kEscalationRepeated:
    case Event::kEscalationAcknowledged:
    case Event::kEscalationResolved:
    case Event::kEscalationCleared:
      return ApplyEscalationChange(e, ps);
    case Event::kNoticeIssued:
      return absl::OkStatus();  // notices are read from the log
    case Event::kPlanImported: {
      const auto& p = e.plan_imported();
      ps.plan.set_document_sha256(p.document_sha256());
      ps.document = std::make_shared<const duban::v1::PlanDocument>(p.document());
      return absl::OkStatus();
    }
    default:
      return Misfit(e, "not a plan event");
  }
}

}  // namespace duban::engine
