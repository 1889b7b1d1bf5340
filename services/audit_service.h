// AuditService over gRPC: the log streamed in order, the state at any
// moment, verification, signed checkpoints and Merkle proofs.
#ifndef DUBAN_SERVICES_AUDIT_SERVICE_H_
#define DUBAN_SERVICES_AUDIT_SERVICE_H_

#include <memory>
#include <string>

#include "duban/v1/audit.grpc.pb.h"
#include "services/sequencer.h"
#include "services/unary_call.h"
#include "storage/checkpoint.h"
#include "storage/event_log.h"
#include "storage/merkle.h"

namespace duban::services {

// The log's signing key and the Merkle tree over its event hashes.
class LogAuthority {
 public:
  // Loads <data_dir>/checkpoint.key (Ed25519, PKCS#8 PEM, mode 0600), making
  // it on first start, and writes the public half to checkpoint.pub.
  static absl::StatusOr<std::unique_ptr<LogAuthority>> Open(const std::string& data_dir,
                                                            storage::EventLog* log);

  // The command that appends a CheckpointMade for the log as it stands
  // (nothing when the latest checkpoint already covers it).
  Sequencer::Command MakeCheckpointCommand();

  // A stored checkpoint with its body, signature and public key.
  duban::v1::SignedCheckpoint Signed(const duban::v1::CheckpointMade& made, uint64_t seq) const;

  // The log's id: "duban-" + the first 16 hex digits of event 1's hash.
  absl::StatusOr<std::string> LogId() const;

  const storage::MerkleTree& tree() const { return *tree_; }
  storage::EventLog* log() const { return log_; }
  const storage::Ed25519KeyPair& key() const { return key_; }

 private:
  LogAuthority(storage::EventLog* log, storage::Ed25519KeyPair key);

  storage::EventLog* const log_;
  const storage::Ed25519KeyPair key_;
  std::unique_ptr<storage::MerkleTree> tree_;
};

using RawAuditService = duban::v1::AuditService::WithRawCallbackMethod_CheckDerivations<
    duban::v1::AuditService::WithRawCallbackMethod_ExplainEscalation<
    duban::v1::AuditService::WithCallbackMethod_ReadEvents<
    duban::v1::AuditService::WithRawCallbackMethod_ReadEventBatches<
    duban::v1::AuditService::WithRawCallbackMethod_GetStateAt<
        duban::v1::AuditService::WithRawCallbackMethod_VerifyLog<
            duban::v1::AuditService::WithRawCallbackMethod_GetCheckpoint<
                duban::v1::AuditService::WithRawCallbackMethod_GetInclusionProof<
                    duban::v1::AuditService::WithRawCallbackMethod_GetConsistencyProof<
                        duban::v1::AuditService::Service>>>>>>>>>;

class AuditServiceImpl final : public RawAuditService {
 public:
  AuditServiceImpl(Sequencer* sequencer, LogAuthority* authority)
      : sequencer_(sequencer), authority_(authority) {}

  grpc::ServerWriteReactor<duban::v1::AuditEvent>* ReadEvents(
      grpc::CallbackServerContext* ctx, const duban::v1::ReadEventsRequest* req) override;
  // ReadEvents in batches (EventBatch as raw bytes: see services/event_batch.h).
  grpc::ServerWriteReactor<grpc::ByteBuffer>* ReadEventBatches(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* in) override;
  DUBAN_RAW_UNARY_METHOD(GetStateAt)
  DUBAN_RAW_UNARY_METHOD(VerifyLog)
  DUBAN_RAW_UNARY_METHOD(GetCheckpoint)
  DUBAN_RAW_UNARY_METHOD(GetInclusionProof)
  DUBAN_RAW_UNARY_METHOD(GetConsistencyProof)
  DUBAN_RAW_UNARY_METHOD(ExplainEscalation)
  DUBAN_RAW_UNARY_METHOD(CheckDerivations)

 private:
  Sequencer* const sequencer_;
  LogAuthority* const authority_;
};

}  // namespace duban::services

#endif  // DUBAN_SERVICES_AUDIT_SERVICE_H_
