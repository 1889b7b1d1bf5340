#include "engine/commands.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/validate.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"
#include "storage/hash.h"
#include "storage/status_macros.h"

namespace duban::engine {

using duban::v1::Event;
using duban::v1::PlanDocument;
using duban::v1::Responsibility;
using duban::v1::Role;
using duban::v1::Task;
using google::protobuf::util::MessageDifferencer;

namespace {

bool IsRole(int role) {
  return role == duban::v1::LEAD || role == duban::v1::SHARED || role == duban::v1::SUPPORT;
}

Event PlanEvent(const std::string& plan_id) {
  Event e;
  e.set_plan_id(plan_id);
  return e;
}

std::string Path(absl::string_view base, int index, absl::string_view field) {
  return absl::StrCat(base, "[", index, "]", field.empty() ? "" : ".", field);
}

absl::Status CheckFinite(absl::string_view field, double v) {
  if (!std::isfinite(v)) return absl::InvalidArgumentError(absl::StrCat(field, ": not a finite number"));
  return absl::OkStatus();
}

// A task without the fields that responsibility events or the state own.
Task TaskMeta(const Task& t) {
  Task m = t;
  m.clear_responsibilities();
  m.clear_convener_agency_id();
  m.clear_revision();
  m.clear_plan_id();
  return m;
}

duban::v1::Indicator IndicatorMeta(const duban::v1::Indicator& i) {
  duban::v1::Indicator m = i;
  m.clear_revision();
  m.clear_plan_id();
  return m;
}

duban::v1::Plan PlanMeta(const PlanDocument& doc) {
  duban::v1::Plan p;
  p.set_plan_id(doc.plan_id());
  p.set_title(doc.title());
  p.set_document_number(doc.document_number());
  p.set_issuer(doc.issuer());
  p.set_start_year(doc.start_year());
  p.set_end_year(doc.end_year());
  *p.mutable_sections() = doc.sections();
  p.set_source_sha256(doc.source_sha256());
  return p;
}

bool SamePlanMeta(const duban::v1::Plan& a, const duban::v1::Plan& b) {
  duban::v1::Plan x = a, y = b;
  for (duban::v1::Plan* p : {&x, &y}) {
    p->clear_document_sha256();
    p->clear_task_count();
    p->clear_indicator_count();
    p->clear_agency_count();
    p->clear_revision();
  }
  return MessageDifferencer::Equals(x, y);
}


const Task* FindDocTask(const PlanDocument& doc, int32_t number) {
  for (const auto& t : doc.tasks()) {
    if (t.number() == number) return &t;
  }
  return nullptr;
}

duban::v1::PlanChange Change(std::string kind, std::string description) {
  duban::v1::PlanChange c;
  c.set_kind(std::move(kind));
  c.set_description(std::move(description));
  return c;
}

}  // namespace

absl::StatusOr<const PlanState*> RequirePlan(const State& state, const std::string& plan_id) {
  RETURN_IF_ERROR(CheckId("plan_id", plan_id));
  const PlanState* p = state.FindPlan(plan_id);
  if (p == nullptr) return absl::NotFoundError(absl::StrCat("plan \"", plan_id, "\" not found"));
  return p;
}

absl::StatusOr<const Task*> RequireTask(const PlanState& plan, int32_t number,
                                        absl::string_view field) {
  if (number <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be positive (got ", number, ")"));
  }
  const Task* t = plan.FindTask(number);
  if (t == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("task ", number, " not found in plan \"", plan.plan.plan_id(), "\""));
  }
  return t;
}

absl::StatusOr<const duban::v1::Indicator*> RequireIndicator(const PlanState& plan,
                                                             int32_t number) {
  if (number <= 0) return absl::InvalidArgumentError("indicator_number: must be positive");
  const duban::v1::Indicator* ind = plan.FindIndicator(number);
  if (ind == nullptr) {
    return absl::NotFoundError(absl::StrCat("indicator ", number, " not found in plan \"",
                                            plan.plan.plan_id(), "\""));
  }
  return ind;
}

absl::StatusOr<const duban::v1::Agency*> RequireAgency(const PlanState& plan,
                                                       const std::string& agency_id) {
  RETURN_IF_ERROR(CheckId("agency_id", agency_id));
  const duban::v1::Agency* a = plan.FindAgency(agency_id);
  if (a == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("agency \"", agency_id, "\" not found in plan \"", plan.plan.plan_id(), "\""));
  }
  return a;
}

absl::Status ValidateDocument(const PlanDocument& doc) {
  RETURN_IF_ERROR(CheckId("document.plan_id", doc.plan_id()));
  RETURN_IF_ERROR(CheckText("document.title", doc.title(), {kMaxNameBytes}));
  RETURN_IF_ERROR(CheckText("document.document_number", doc.document_number(),
                            {kMaxNameBytes, false}));
  RETURN_IF_ERROR(CheckText("document.issuer", doc.issuer(), {kMaxNameBytes, false}));
  RETURN_IF_ERROR(CheckText("document.source_sha256", doc.source_sha256(), {kMaxIdBytes, false}));
  if (doc.start_year() < 1949 || doc.start_year() > 2200) {
    return absl::InvalidArgumentError(
        absl::StrCat("document.start_year: ", doc.start_year(), " is not a plausible year"));
  }
  if (doc.end_year() < doc.start_year() || doc.end_year() > doc.start_year() + 50) {
    return absl::InvalidArgumentError(absl::StrCat(
        "document.end_year: ", doc.end_year(), " must be from start_year ", doc.start_year(),
        " to 50 years after"));
  }
  for (int i = 0; i < doc.sections_size(); ++i) {
    RETURN_IF_ERROR(CheckText(Path("document.sections", i, "number"), doc.sections(i).number(),
                              {kMaxNameBytes}));
    RETURN_IF_ERROR(CheckText(Path("document.sections", i, "title"), doc.sections(i).title(),
                              {kMaxNameBytes}));
  }
  if (doc.agencies_size() > kMaxAgencies || doc.tasks_size() > kMaxTasks ||
      doc.indicators_size() > kMaxIndicators || doc.groups_size() > kMaxGroups ||
      doc.sections_size() > kMaxSections) {
    return absl::InvalidArgumentError(absl::StrCat(
        "document: too many entries (at most ", kMaxAgencies, " agencies, ", kMaxGroups,
        " groups, ", kMaxTasks, " tasks, ", kMaxIndicators, " indicators, ", kMaxSections,
        " sections)"));
  }
  std::set<std::string> group_ids;
  for (int i = 0; i < doc.groups_size(); ++i) {
    RETURN_IF_ERROR(CheckId(Path("document.groups", i, "id"), doc.groups(i).id()));
    RETURN_IF_ERROR(CheckText(Path("document.groups", i, "name"), doc.groups(i).name(),
                              {kMaxNameBytes}));
    if (!group_ids.insert(doc.groups(i).id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(Path("document.groups", i, "id"),
                                                     ": duplicate id \"", doc.groups(i).id(), "\""));
    }
  }
  std::set<std::string> agency_ids;
  for (int i = 0; i < doc.agencies_size(); ++i) {
    const auto& a = doc.agencies(i);
    RETURN_IF_ERROR(CheckId(Path("document.agencies", i, "id"), a.id()));
    RETURN_IF_ERROR(CheckText(Path("document.agencies", i, "name"), a.name(), {kMaxNameBytes}));
    RETURN_IF_ERROR(CheckText(Path("document.agencies", i, "short_name"), a.short_name(),
                              {kMaxNameBytes}));
    if (a.aliases_size() > kMaxAliases) {
      return absl::InvalidArgumentError(absl::StrCat(Path("document.agencies", i, "aliases"),
                                                     ": at most ", kMaxAliases, " aliases"));
    }
    for (int k = 0; k < a.aliases_size(); ++k) {
      RETURN_IF_ERROR(CheckText(Path(Path("document.agencies", i, "aliases"), k, ""),
                                a.aliases(k), {kMaxNameBytes}));
    }
    for (int k = 0; k < a.group_ids_size(); ++k) {
      if (group_ids.count(a.group_ids(k)) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(Path(Path("document.agencies", i, "group_ids"), k, ""),
                                                       ": unknown group \"", a.group_ids(k), "\""));
      }
    }
    if (!agency_ids.insert(a.id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(Path("document.agencies", i, "id"), ": duplicate id \"", a.id(), "\""));
    }
  }
  // Membership is written on both sides; they must agree.
  std::set<std::pair<std::string, std::string>> members;  // (group, agency)
  for (int i = 0; i < doc.groups_size(); ++i) {
    for (int k = 0; k < doc.groups(i).member_agency_ids_size(); ++k) {
      const std::string& m = doc.groups(i).member_agency_ids(k);
      const std::string field = Path(Path("document.groups", i, "member_agency_ids"), k, "");
      if (agency_ids.count(m) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": unknown agency \"", m, "\""));
      }
      if (!members.insert({doc.groups(i).id(), m}).second) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": \"", m, "\" listed twice"));
      }
    }
  }
  size_t memberships = 0;
  for (int i = 0; i < doc.agencies_size(); ++i) {
    for (int k = 0; k < doc.agencies(i).group_ids_size(); ++k) {
      ++memberships;
      if (members.count({doc.agencies(i).group_ids(k), doc.agencies(i).id()}) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            Path(Path("document.agencies", i, "group_ids"), k, ""), ": group \"",
            doc.agencies(i).group_ids(k), "\" does not list \"", doc.agencies(i).id(), "\""));
      }
    }
  }
  if (memberships != members.size()) {
    return absl::InvalidArgumentError(
        "document.groups: a group lists an agency whose group_ids do not name the group");
  }
  std::set<int32_t> numbers;
  for (int i = 0; i < doc.tasks_size(); ++i) {
    const Task& t = doc.tasks(i);
    const std::string base = Path("document.tasks", i, "") + ".";
    if (t.number() <= 0 || !numbers.insert(t.number()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          base, "number: ", t.number(), t.number() <= 0 ? " is not positive" : " is a duplicate"));
    }
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "text"), t.text(), {kMaxTaskTextBytes, true, true}));
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "assignment_text"), t.assignment_text(),
                              {kMaxTaskTextBytes, false}));
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "section.number"), t.section().number(),
                              {kMaxNameBytes, false}));
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "section.title"), t.section().title(),
                              {kMaxNameBytes, false}));
    std::set<std::string> seen;
    for (int k = 0; k < t.responsibilities_size(); ++k) {
      const Responsibility& r = t.responsibilities(k);
      const std::string rbase = Path(absl::StrCat(base, "responsibilities"), k, "") + ".";
      if (agency_ids.count(r.agency_id()) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(rbase, "agency_id: unknown agency \"",
                                                       r.agency_id(), "\" (task ", t.number(), ")"));
      }
      if (!IsRole(r.role())) {
        return absl::InvalidArgumentError(absl::StrCat(rbase, "role: must be LEAD, SHARED or SUPPORT"));
      }
      if (!r.via_group_id().empty() && members.count({r.via_group_id(), r.agency_id()}) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(rbase, "via_group_id: \"", r.via_group_id(),
                                                       "\" is not a group of \"", r.agency_id(),
                                                       "\""));
      }
      RETURN_IF_ERROR(CheckText(absl::StrCat(rbase, "reason"), r.reason(),
                                {kMaxReasonBytes, false, true}));
      if (!seen.insert(r.agency_id()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            rbase, "agency_id: \"", r.agency_id(), "\" is listed twice on task ", t.number()));
      }
    }
    for (int k = 0; k < t.open_list_roles_size(); ++k) {
      if (!IsRole(t.open_list_roles(k))) {
        return absl::InvalidArgumentError(
            absl::StrCat(Path(absl::StrCat(base, "open_list_roles"), k, ""), ": not a role"));
      }
    }
    if (!HasResponsibleAgency(t)) {
      return absl::InvalidArgumentError(absl::StrCat(
          base, "responsibilities: task ", t.number(), " has no LEAD or SHARED agency"));
    }
  }
  numbers.clear();
  for (int i = 0; i < doc.indicators_size(); ++i) {
    const auto& ind = doc.indicators(i);
    const std::string base = Path("document.indicators", i, "") + ".";
    if (ind.number() <= 0 || !numbers.insert(ind.number()).second) {
      return absl::InvalidArgumentError(absl::StrCat(base, "number: ", ind.number(),
                                                     " is not positive or is a duplicate"));
    }
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "name"), ind.name(), {kMaxNameBytes}));
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "unit"), ind.unit(), {kMaxNameBytes, false}));
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "target_text"), ind.target_text(), {kMaxNameBytes}));
    if (!duban::v1::TargetKind_IsValid(ind.target_kind()) ||
        ind.target_kind() == duban::v1::TARGET_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(base, "target_kind: must be set"));
    }
    if (!duban::v1::IndicatorAttribute_IsValid(ind.attribute()) ||
        ind.attribute() == duban::v1::INDICATOR_ATTRIBUTE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(base, "attribute: must be EXPECTED or BINDING"));
    }
    RETURN_IF_ERROR(CheckFinite(absl::StrCat(base, "target_value"), ind.target_value()));
    RETURN_IF_ERROR(CheckFinite(absl::StrCat(base, "baseline.value"), ind.baseline().value()));
    std::set<std::string> answering;
    for (int k = 0; k < ind.responsible_agency_ids_size(); ++k) {
      const std::string& id = ind.responsible_agency_ids(k);
      const std::string field = absl::StrCat(base, "responsible_agency_ids[", k, "]");
      if (agency_ids.count(id) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": unknown agency \"", id, "\""));
      }
      if (!answering.insert(id).second) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": \"", id, "\" listed twice"));
      }
    }
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "responsibility_source"),
                              ind.responsibility_source(), {kMaxReasonBytes, false, true}));
    RETURN_IF_ERROR(CheckText(absl::StrCat(base, "baseline.text"), ind.baseline().text(),
                              {kMaxNameBytes, false}));
    if (!duban::v1::TargetKind_IsValid(ind.baseline().kind())) {
      return absl::InvalidArgumentError(absl::StrCat(base, "baseline.kind: unknown kind"));
    }
    if (ind.has_baseline() && (ind.baseline().year() < doc.start_year() - 50 ||
                               ind.baseline().year() > doc.end_year())) {
      return absl::InvalidArgumentError(absl::StrCat(base, "baseline.year: ",
                                                     ind.baseline().year(),
                                                     " is outside the plausible range"));
    }
  }
  return absl::OkStatus();
}

std::string DocumentSha256(const PlanDocument& doc) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    doc.SerializeToCodedStream(&coded);
  }
  return storage::ToHex(storage::Sha256(bytes));
}

absl::StatusOr<ImportDecision> DecideImport(const State& state, const PlanDocument& doc,
                                            std::vector<duban::v1::ImportWarning> warnings) {
  RETURN_IF_ERROR(ValidateDocument(doc));
  const std::string& plan_id = doc.plan_id();
  const PlanState* ps = state.FindPlan(plan_id);
  const PlanState empty;
  const PlanState& cur = ps != nullptr ? *ps : empty;
  const PlanDocument& old_doc = *cur.document;
  const std::string sha = DocumentSha256(doc);

  ImportDecision d;
  d.warnings = std::move(warnings);
  auto emit = [&](Event e, std::string kind, std::string description) {
    e.set_plan_id(plan_id);
    d.events.push_back(std::move(e));
    d.changes.push_back(Change(std::move(kind), std::move(description)));
  };

  const duban::v1::Plan meta = PlanMeta(doc);
  if (ps == nullptr || !SamePlanMeta(meta, cur.plan)) {
    Event e;
    *e.mutable_plan_defined()->mutable_plan() = meta;
    emit(std::move(e), "plan.defined",
         ps == nullptr ? absl::StrCat("new plan ", doc.title()) : "plan metadata changed");
  }
  for (const auto& g : doc.groups()) {
    auto it = cur.groups.find(g.id());
    if (it == cur.groups.end() || !MessageDifferencer::Equals(it->second, g)) {
      Event e;
      *e.mutable_agency_group_defined()->mutable_group() = g;
      emit(std::move(e), "group.defined", absl::StrCat("group ", g.id(), " ", g.name()));
    }
  }
  for (const auto& a : doc.agencies()) {
    const duban::v1::Agency* existing = cur.FindAgency(a.id());
    if (existing == nullptr || !MessageDifferencer::Equals(*existing, a)) {
      Event e;
      *e.mutable_agency_defined()->mutable_agency() = a;
      emit(std::move(e), "agency.defined",
           absl::StrCat(existing == nullptr ? "agency " : "agency changed: ", a.id(), " ",
                        a.short_name()));
    }
  }
  for (const Task& t : doc.tasks()) {
    const Task* existing = cur.FindTask(t.number());
    if (existing == nullptr ||
        !MessageDifferencer::Equals(TaskMeta(*existing), TaskMeta(t))) {
      Event e;
      *e.mutable_task_defined()->mutable_task() = TaskMeta(t);
      emit(std::move(e), "task.defined",
           absl::StrCat(existing == nullptr ? "task " : "task text changed: ", t.number()));
    }
    const Task* old_t = FindDocTask(old_doc, t.number());
    for (const Responsibility& r : t.responsibilities()) {
      const Responsibility* was = old_t ? FindResponsibility(*old_t, r.agency_id()) : nullptr;
      if (was != nullptr && was->role() == r.role() && was->via_group_id() == r.via_group_id()) {
        continue;  // the document did not change it; keep whatever the state has
      }
      const Responsibility* now = existing ? FindResponsibility(*existing, r.agency_id()) : nullptr;
      if (now != nullptr && now->role() == r.role() && now->via_group_id() == r.via_group_id()) {
        continue;  // already so
      }
      Event e;
      auto* p = e.mutable_responsibility_assigned();
      p->set_task_number(t.number());
      p->set_agency_id(r.agency_id());
      p->set_role(r.role());
      p->set_via_group_id(r.via_group_id());
      p->set_reason(kPlanImportReason);
      p->set_previous_role(now ? now->role() : duban::v1::ROLE_UNSPECIFIED);
      p->set_from_plan_document(true);
      emit(std::move(e), "responsibility.assigned",
           absl::StrCat("task ", t.number(), ": ", r.agency_id(), " ", RoleName(r.role())));
    }
    if (old_t == nullptr || existing == nullptr) continue;
    for (const Responsibility& r : old_t->responsibilities()) {
      if (FindResponsibility(t, r.agency_id()) != nullptr) continue;
      const Responsibility* now = FindResponsibility(*existing, r.agency_id());
      if (now == nullptr) continue;  // already revoked by hand
      Event e;
      auto* p = e.mutable_responsibility_revoked();
      p->set_task_number(t.number());
      p->set_agency_id(r.agency_id());
      p->set_reason(kPlanImportReason);
      p->set_previous_role(now->role());
      p->set_from_plan_document(true);
      emit(std::move(e), "responsibility.revoked",
           absl::StrCat("task ", t.number(), ": ", r.agency_id(), " no longer ", RoleName(now->role())));
    }
  }
  for (const auto& [number, _] : cur.tasks) {
    if (FindDocTask(doc, number) != nullptr) continue;
    Event e;
    e.mutable_task_removed()->set_task_number(number);
    e.mutable_task_removed()->set_reason(kPlanImportReason);
    emit(std::move(e), "task.removed", absl::StrCat("task ", number));
  }
  std::set<int32_t> doc_indicators;
  for (const auto& ind : doc.indicators()) {
    doc_indicators.insert(ind.number());
    auto it = cur.indicators.find(ind.number());
    if (it == cur.indicators.end() ||
        !MessageDifferencer::Equals(IndicatorMeta(it->second), IndicatorMeta(ind))) {
      Event e;
      *e.mutable_indicator_defined()->mutable_indicator() = IndicatorMeta(ind);
      emit(std::move(e), "indicator.defined",
           absl::StrCat("indicator ", ind.number(), " ", ind.name()));
    }
  }
  for (const auto& [number, ind] : cur.indicators) {
    if (doc_indicators.count(number)) continue;
    Event e;
    e.mutable_indicator_removed()->set_indicator_number(number);
    emit(std::move(e), "indicator.removed", absl::StrCat("indicator ", number, " ", ind.name()));
  }

  // Try the events on a copy: the invariants must hold afterwards.
  State trial = state;
  uint64_t seq = state.seq();
  for (Event e : d.events) {
    e.set_seq(++seq);
    RETURN_IF_ERROR(trial.Apply(e));
  }
  const PlanState& after = *trial.FindPlan(plan_id);
  std::set<std::string> doc_agencies;
  for (const auto& a : doc.agencies()) doc_agencies.insert(a.id());
  for (const std::string& id : *cur.agency_order) {
    if (doc_agencies.count(id)) continue;
    std::vector<std::string> holds;
    for (const auto& [number, t] : after.tasks) {
      if (FindResponsibility(t, id) != nullptr) holds.push_back(absl::StrCat(number));
    }
    if (!holds.empty()) {
      duban::v1::ImportWarning w;
      w.set_where(absl::StrCat("agency ", id));
      w.set_message(absl::StrCat("kept: no longer in the document but still holds roles on tasks ",
                                 absl::StrJoin(holds, ", ")));
      d.warnings.push_back(std::move(w));
      continue;
    }
    Event e;
    e.mutable_agency_removed()->set_agency_id(id);
    emit(std::move(e), "agency.removed", absl::StrCat("agency ", id));
  }
  std::set<std::string> doc_groups;
  for (const auto& g : doc.groups()) doc_groups.insert(g.id());
  for (const auto& [id, g] : cur.groups) {
    if (doc_groups.count(id)) continue;
    Event e;
    e.mutable_agency_group_removed()->set_group_id(id);
    emit(std::move(e), "group.removed", absl::StrCat("group ", id, " ", g.name()));
  }
  for (const auto& [number, t] : after.tasks) {
    if (!HasResponsibleAgency(t)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "task ", number, " would be left with no LEAD or SHARED agency after this import"));
    }
  }

  if (d.events.empty() && sha == cur.plan.document_sha256()) return d;  // unchanged
  Event e;
  auto* imported = e.mutable_plan_imported();
  imported->set_document_sha256(sha);
  imported->set_changes(static_cast<int32_t>(d.changes.size()));
  for (const auto& w : d.warnings) *imported->add_warnings() = w;
  *imported->mutable_document() = doc;
  e.set_plan_id(plan_id);
  d.events.push_back(std::move(e));
  return d;
}

absl::StatusOr<std::vector<Event>> DecideAssign(const State& state,
                                                const duban::v1::AssignResponsibilityRequest& req) {
  ASSIGN_OR_RETURN(const PlanState* plan, RequirePlan(state, req.plan_id()));
  ASSIGN_OR_RETURN(const Task* task, RequireTask(*plan, req.task_number()));
  ASSIGN_OR_RETURN(const duban::v1::Agency* agency, RequireAgency(*plan, req.agency_id()));
  if (!IsRole(req.role())) {
    return absl::InvalidArgumentError("role: must be LEAD, SHARED or SUPPORT");
  }
  RETURN_IF_ERROR(CheckText("reason", req.reason(), {kMaxReasonBytes, true, true}));
  const Responsibility* now = FindResponsibility(*task, agency->id());
  if (now != nullptr && now->role() == req.role()) {
    return absl::AlreadyExistsError(absl::StrCat(agency->id(), " already holds ",
                                                 RoleName(req.role()), " on task ", task->number()));
  }
  Task after = *task;
  for (auto& r : *after.mutable_responsibilities()) {
    if (r.agency_id() == agency->id()) r.set_role(req.role());
  }
  if (now != nullptr && !HasResponsibleAgency(after)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task ", task->number(), " would be left with no LEAD or SHARED agency; assign another "
        "responsible agency first"));
  }
  Event e = PlanEvent(plan->plan.plan_id());
  auto* p = e.mutable_responsibility_assigned();
  p->set_task_number(task->number());
  p->set_agency_id(agency->id());
  p->set_role(req.role());
  p->set_reason(req.reason());
  p->set_previous_role(now ? now->role() : duban::v1::ROLE_UNSPECIFIED);
  if (now != nullptr) p->set_via_group_id(now->via_group_id());  // still came from the group
  return std::vector<Event>{std::move(e)};
}

absl::StatusOr<std::vector<Event>> DecideRevoke(const State& state,
                                                const duban::v1::RevokeResponsibilityRequest& req) {
  ASSIGN_OR_RETURN(const PlanState* plan, RequirePlan(state, req.plan_id()));
  ASSIGN_OR_RETURN(const Task* task, RequireTask(*plan, req.task_number()));
  ASSIGN_OR_RETURN(const duban::v1::Agency* agency, RequireAgency(*plan, req.agency_id()));
  RETURN_IF_ERROR(CheckText("reason", req.reason(), {kMaxReasonBytes, true, true}));
  const Responsibility* now = FindResponsibility(*task, agency->id());
  if (now == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(agency->id(), " holds no role on task ", task->number()));
  }
  Task after = *task;
  auto* rs = after.mutable_responsibilities();
  rs->erase(std::find_if(rs->begin(), rs->end(),
                         [&](const Responsibility& r) { return r.agency_id() == agency->id(); }));
  if (!HasResponsibleAgency(after)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task ", task->number(), " would be left with no LEAD or SHARED agency; assign another "
        "responsible agency first"));
  }
  Event e = PlanEvent(plan->plan.plan_id());
  auto* p = e.mutable_responsibility_revoked();
  p->set_task_number(task->number());
  p->set_agency_id(agency->id());
  p->set_reason(req.reason());
  p->set_previous_role(now->role());
  return std::vector<Event>{std::move(e)};
}

absl::StatusOr<std::vector<Event>> DecideIssueCredential(const State& state,
                                                         const std::string& credential_id,
                                                         const std::string& principal,
                                                         const std::string& token_sha256_hex,
                                                         const std::string& label,
                                                         const std::string& plan_id) {
  RETURN_IF_ERROR(CheckId("credential_id", credential_id));
  RETURN_IF_ERROR(CheckText("principal", principal, {kMaxNameBytes}));
  RETURN_IF_ERROR(CheckText("label", label, {kMaxNameBytes, false}));
  if (state.FindCredential(credential_id) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("credential ", credential_id, " exists"));
  }
  Event e;
  auto* p = e.mutable_credential_issued();
  p->set_credential_id(credential_id);
  p->set_principal(principal);
  p->set_token_sha256(token_sha256_hex);
  p->set_label(label);
  p->set_plan_id(plan_id);
  return std::vector<Event>{std::move(e)};
}

}  // namespace duban::engine
