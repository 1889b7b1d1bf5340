// The one place absl::Status becomes grpc::Status (the codes are the same
// canonical codes).
#ifndef DUBAN_SERVICES_GRPC_STATUS_H_
#define DUBAN_SERVICES_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace duban::services {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace duban::services

#endif  // DUBAN_SERVICES_GRPC_STATUS_H_
