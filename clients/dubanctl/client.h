// AssignmentClient: duban.v1.AssignmentService behind absl::StatusOr.
//
//   AssignmentClient client("127.0.0.1:50051", token,
//   std::chrono::seconds(30)); absl::StatusOr<duban::v1::Plan> plan =
//   client.GetPlan(request); if (!plan.ok()) return plan.status();  // same
//   code and message as gRPC's
//
// Every call carries `authorization: Bearer <token>` and a deadline of
// now + timeout. A client is safe for concurrent use from several threads.
#ifndef DUBAN_CLIENTS_DUBANCTL_CLIENT_H_
#define DUBAN_CLIENTS_DUBANCTL_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "duban/v1/assignment.grpc.pb.h"
#include "duban/v1/assignment.pb.h"
#include "duban/v1/plan.pb.h"
#include "grpcpp/grpcpp.h"

namespace duban::clients {

// The absl::Status with the same canonical code and message as `status`.
absl::Status FromGrpcStatus(const grpc::Status& status);

class AssignmentClient {
 public:
  // Connects (lazily) to `address` ("host:port") over an insecure channel.
  AssignmentClient(const std::string& address, const std::string& token,
                   std::chrono::milliseconds timeout);
  // Uses `stub`, e.g. a mock or one on an in-process channel.
  AssignmentClient(std::unique_ptr<v1::AssignmentService::StubInterface> stub,
                   const std::string& token, std::chrono::milliseconds timeout);

  absl::StatusOr<v1::ImportPlanResponse> ImportPlan(
      const v1::ImportPlanRequest& request) const;
  absl::StatusOr<v1::Plan> GetPlan(const v1::GetPlanRequest& request) const;
  absl::StatusOr<v1::ListTasksResponse> ListTasks(
      const v1::ListTasksRequest& request) const;
  absl::StatusOr<v1::Task> GetTask(const v1::GetTaskRequest& request) const;
  absl::StatusOr<v1::ListAgenciesResponse> ListAgencies(
      const v1::ListAgenciesRequest& request) const;
  absl::StatusOr<v1::ListIndicatorsResponse> ListIndicators(
      const v1::ListIndicatorsRequest& request) const;
  absl::StatusOr<v1::Task> AssignResponsibility(
      const v1::AssignResponsibilityRequest& request) const;
  absl::StatusOr<v1::Task> RevokeResponsibility(
      const v1::RevokeResponsibilityRequest& request) const;

  // Every task matching `request`, following next_page_token from
  // request.page_token through the last page (each page has its own deadline).
  absl::StatusOr<std::vector<v1::Task>> ListAllTasks(
      v1::ListTasksRequest request) const;

 private:
  using Stub = v1::AssignmentService::StubInterface;
  template <typename Request, typename Response>
  using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&,
                                        Response*);

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(Method<Request, Response> method,
                                const Request& request) const;

  std::unique_ptr<Stub> stub_;
  std::string authorization_;  // "Bearer <token>"
  std::chrono::milliseconds timeout_;
};

// The id of the agency `ref` names in `agencies`: its id, full name,
// short_name or one of its aliases, matched exactly (surrounding whitespace
// ignored). Errors:
//   INVALID_ARGUMENT  `ref` names a group (the message lists its members),
//                     or several agencies;
//   NOT_FOUND         `unknown agency "ref"`, with near matches (by
//                     substring) when there are any.
absl::StatusOr<std::string> ResolveAgency(
    const v1::ListAgenciesResponse& agencies, std::string_view ref);

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_CLIENT_H_
