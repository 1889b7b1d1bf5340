// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Abseil 20220623 ships neither.
//
//   RETURN_IF_ERROR(log->Append(&batch));
//   ASSIGN_OR_RETURN(auto doc, ParsePlanText(text, registry, plan_id));
#ifndef DUBAN_STORAGE_STATUS_MACROS_H_
#define DUBAN_STORAGE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define DUBAN_CONCAT_INNER_(a, b) a##b
#define DUBAN_CONCAT_(a, b) DUBAN_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status duban_status_ = (expr);       \
    if (!duban_status_.ok()) return duban_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(DUBAN_CONCAT_(duban_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // DUBAN_STORAGE_STATUS_MACROS_H_
