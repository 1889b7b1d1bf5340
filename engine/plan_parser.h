// Reads a plan's source text into a structured PlanDocument.
//
// What it reads (see docs/plan-format.md):
//   - the header: title (青海省“十四五”就业促进规划), document number
//     (青政办〔2021〕83号), issuer, the period (2021–2025);
//   - the chapters 三 … 八 (sections the tasks come from);
//   - the appendix 附件 重点任务分工方案: numbered tasks, each ending in a
//     parenthesis that names agencies and their roles (牵头负责 / 牵头 → LEAD,
//     按职责分工负责 → SHARED, 配合 → SUPPORT; a group such as 各市州政府
//     expands to its members with via_group_id set; a list ending in 等 marks
//     that role's list open);
//   - 专栏2: 15 indicators with unit, target kind and value, attribute;
//   - 专栏1: baselines for indicators whose name matches exactly.
// Agency names are resolved through `registry` (name, short name, aliases).
//
// Pure: no files, no clock. Cross-checks that disagree (a breakdown that does
// not add up to its total, a table cell that had to be repaired) come back as
// warnings; a shape it cannot read is INVALID_ARGUMENT naming the item
// number and quoting the text.
//
//   ASSIGN_OR_RETURN(ParsedPlan parsed,
//                    ParsePlanText(text, registry, "qinghai-employment-2021"));
//   RETURN_IF_ERROR(ApplyIndicatorAgencies(links, registry, &parsed.document,
//                                          &parsed.warnings));
#ifndef DUBAN_ENGINE_PLAN_PARSER_H_
#define DUBAN_ENGINE_PLAN_PARSER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "duban/v1/plan.pb.h"

namespace duban::engine {

struct ParsedPlan {
  duban::v1::PlanDocument document;
  std::vector<duban::v1::ImportWarning> warnings;
};

absl::StatusOr<ParsedPlan> ParsePlanText(std::string_view text,
                                         const duban::v1::AgencyRegistry& registry,
                                         std::string_view plan_id);

// Which agencies answer for which indicator (plans/<plan>/
// indicator-agencies.textproto): sets each linked indicator's
// responsible_agency_ids (registry ids, in the link's order) and
// responsibility_source, and adds the agencies the links name that `doc`
// does not list yet (keeping the registry's order). The links replace what
// `doc`'s indicators had: one no link covers ends with neither, and a
// warning (where "indicator N"). Names resolve as in the task parentheses
// (name, short name, alias), or by agency id.
//
// INVALID_ARGUMENT naming the link by its position (indicator-agencies
// link 4: unknown agency "…"), with `doc` unchanged, for: an unknown
// agency; a group (an indicator is answered for by agencies, not groups); no
// agencies, or one named twice; a number that is not one of `doc`'s
// indicators or a name that is not that indicator's; a second link for the
// same indicator; a missing source. Pure: no files.
absl::Status ApplyIndicatorAgencies(const duban::v1::IndicatorAgencies& links,
                                    const duban::v1::AgencyRegistry& registry,
                                    duban::v1::PlanDocument* doc,
                                    std::vector<duban::v1::ImportWarning>* warnings);

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_PLAN_PARSER_H_
