// The verification side of duban's tamper evidence, as dubanctl's offline
// verifier uses it: RFC 6962/9162 Merkle hashing and proof verification, the
// signed checkpoint body and Ed25519 signature checks. There is one
// implementation, the duban::verify library (storage/hash.h,
// storage/merkle_verify.h, storage/checkpoint_verify.h: OpenSSL and Abseil
// only), which the server runs too; this header brings it into
// duban::clients.
//
//   leaf  = SHA-256(0x00 || data)        duban's leaf data for event seq s is
//   node  = SHA-256(0x01 || left || right)   that event's chain hash
//   empty = SHA-256("")                  SHA-256(prev_hash || stored bytes),
//                                        at leaf index s - 1
//
//   ASSIGN_OR_RETURN(std::string key, Ed25519PublicKeyFromPem(pem));
//   ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpointBody(body));
//   RETURN_IF_ERROR(Ed25519Verify(body, signature, key));
//   RETURN_IF_ERROR(VerifyInclusion(event_hash, seq - 1, cp.tree_size,
//                                   proof, cp.root_hash));
#ifndef DUBAN_CLIENTS_DUBANCTL_AUDIT_VERIFY_H_
#define DUBAN_CLIENTS_DUBANCTL_AUDIT_VERIFY_H_

#include "storage/checkpoint_verify.h"
#include "storage/hash.h"
#include "storage/merkle_verify.h"

namespace duban::clients {

using storage::FromHex;
using storage::kHashSize;
using storage::Sha256;
using storage::ToHex;

using storage::MerkleEmptyRoot;
using storage::MerkleLeafHash;
using storage::MerkleNodeHash;
using storage::MerkleRoot;
using storage::MerkleRootBuilder;
using storage::VerifyConsistency;
using storage::VerifyInclusion;

using storage::Checkpoint;
using storage::CheckpointBody;
using storage::Ed25519KeyId;
using storage::Ed25519PublicKeyFromPem;
using storage::Ed25519Verify;
using storage::kEd25519PublicKeySize;
using storage::kEd25519SignatureSize;
using storage::ParseCheckpointBody;

}  // namespace duban::clients

#endif  // DUBAN_CLIENTS_DUBANCTL_AUDIT_VERIFY_H_
