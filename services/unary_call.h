// Unary RPCs over raw byte buffers, so that a request protobuf cannot parse
// (a string field with invalid UTF-8, malformed bytes) is answered with
// INVALID_ARGUMENT naming the field instead of gRPC 1.51's bare UNIMPLEMENTED.
//
// A service derives from the generated WithRawCallbackMethod_* chain and
// forwards each method to Serve<Request, Response>:
//
//   grpc::ServerUnaryReactor* GetPlan(grpc::CallbackServerContext* ctx,
//                                     const grpc::ByteBuffer* in, grpc::ByteBuffer* out) override {
//     return Serve<GetPlanRequest, Plan>(ctx, in, out, [this](auto* call) {
//       call->Finish(...);  // exactly once, from any thread
//     });
//   }
#ifndef DUBAN_SERVICES_UNARY_CALL_H_
#define DUBAN_SERVICES_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "services/grpc_status.h"

namespace duban::services {

// Why `bytes` do not parse as `prototype`: the first string field (by
// path, e.g. "document.tasks[2].text") that is not valid UTF-8, else a
// generic description.
absl::Status DescribeParseFailure(const std::string& bytes,
                                  const google::protobuf::Message& prototype);

// Parses a raw request into `out`: INVALID_ARGUMENT naming the field (see
// DescribeParseFailure) when it does not parse. For raw streaming methods too.
absl::Status ParseRequest(const grpc::ByteBuffer& in, google::protobuf::Message* out);

// One unary call in flight: the parsed request, the response to fill, and
// Finish, which serializes the response and completes the RPC.
template <typename Request, typename Response>
class UnaryCall {
 public:
  grpc::CallbackServerContext* context() const { return ctx_; }
  const Request& request() const { return request_; }
  Response* response() { return &response_; }

  // Completes the RPC; the call object is gone afterwards.
  void Finish(const absl::Status& status) {
    grpc::ServerUnaryReactor* reactor = reactor_;
    grpc::Status result = ToGrpcStatus(status);
    if (status.ok()) {
      bool own = false;
      result = grpc::SerializationTraits<Response>::Serialize(response_, out_, &own);
    }
    delete this;
    reactor->Finish(result);
  }

  // Completes the RPC OK with `bytes`, already the serialized response (a
  // write's stored answer): sent as they are, not parsed and serialized again.
  void FinishWithBytes(const std::string& bytes) {
    grpc::ServerUnaryReactor* reactor = reactor_;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    out_->Swap(&buffer);
    delete this;
    reactor->Finish(grpc::Status::OK);
  }

  template <typename Handler>
  static grpc::ServerUnaryReactor* Start(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* in, grpc::ByteBuffer* out,
                                         Handler&& handler) {
    auto* call = new UnaryCall(ctx, out);
    grpc::ServerUnaryReactor* reactor = call->reactor_;
    absl::Status parsed = ParseRequest(*in, &call->request_);
    if (!parsed.ok()) {
      call->Finish(parsed);
      return reactor;
    }
    handler(call);
    return reactor;
  }

 private:
  UnaryCall(grpc::CallbackServerContext* ctx, grpc::ByteBuffer* out)
      : ctx_(ctx), reactor_(ctx->DefaultReactor()), out_(out) {}

  grpc::CallbackServerContext* const ctx_;
  grpc::ServerUnaryReactor* const reactor_;
  grpc::ByteBuffer* const out_;
  Request request_;
  Response response_;
};

template <typename Request, typename Response, typename Handler>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in,
                                grpc::ByteBuffer* out, Handler&& handler) {
  return UnaryCall<Request, Response>::Start(ctx, in, out, std::forward<Handler>(handler));
}

}  // namespace duban::services

// Declares a raw unary method override in a service class:
//   DUBAN_RAW_UNARY_METHOD(GetPlan)
#define DUBAN_RAW_UNARY_METHOD(name)                                                           \
  grpc::ServerUnaryReactor* name(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in, \
                                 grpc::ByteBuffer* out) override;

#endif  // DUBAN_SERVICES_UNARY_CALL_H_
