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
#ifndef DUBAN_ENGINE_PLAN_PARSER_H_
#define DUBAN_ENGINE_PLAN_PARSER_H_

#include <string>
#include <string_view>
#include <vector>

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

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_PLAN_PARSER_H_
