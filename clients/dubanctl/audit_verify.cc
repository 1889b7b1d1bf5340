// Merkle verification, checkpoint bodies and Ed25519 checks (see
// audit_verify.h). The step numbers in the verifiers are RFC 9162's
// (§2.1.3.2 and §2.1.4.2).
#include "clients/dubanctl/audit_verify.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"

namespace duban::clients {
namespace {

constexpr char kBodyHeader[] = "duban checkpoint v1";
constexpr size_t kKeyIdBytes = 8;

// Debian's Abseil has its own string_view.
absl::string_view View(std::string_view s) { return {s.data(), s.size()}; }

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

int BitLength(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }
bool IsPowerOfTwo(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
uint64_t ShiftRight(uint64_t x, int s) { return s >= 64 ? 0 : x >> s; }

// The number of hashes in PATH(index, D[0:n]): one per level below where
// the paths to `index` and to the last leaf part, one per left sibling above.
size_t InclusionLength(uint64_t index, uint64_t n) {
  const int inner = BitLength(index ^ (n - 1));
  return static_cast<size_t>(inner) +
         static_cast<size_t>(__builtin_popcountll(ShiftRight(index, inner)));
}

// The number of hashes in PROOF(m, D[0:n]) for 0 < m < n.
size_t ConsistencyLength(uint64_t m, uint64_t n) {
  const int shift = __builtin_ctzll(m);
  const int inner = BitLength((m - 1) ^ (n - 1));
  const int border = __builtin_popcountll(ShiftRight(m - 1, inner));
  return (IsPowerOfTwo(m) ? 0 : 1) + static_cast<size_t>(inner - shift) +
         static_cast<size_t>(border);
}

absl::Status CheckSize(std::string_view bytes, size_t want,
                       std::string_view what) {
  if (bytes.size() == want) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(View(what), " is ", bytes.size(), " bytes, not ", want));
}

absl::Status CheckProof(const std::vector<std::string>& proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    absl::Status status =
        CheckSize(proof[i], kHashSize, absl::StrCat("proof hash ", i));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};

// Refuses to prompt: an encrypted PEM simply does not load.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

std::string Sha256(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  bool ok = ctx != nullptr &&
            EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &size) == 1;
  // Fails only without memory or without SHA-256: a broken OpenSSL.
  if (!ok || size != kHashSize) std::abort();
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string HexEncode(std::string_view bytes) {
  return absl::BytesToHexString(View(bytes));
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

std::string MerkleLeafHash(std::string_view data) {
  return Sha256({std::string_view("\x00", 1), data});
}

std::string MerkleNodeHash(std::string_view left, std::string_view right) {
  return Sha256({std::string_view("\x01", 1), left, right});
}

std::string MerkleEmptyRoot() { return Sha256({}); }

void MerkleRootBuilder::AddLeaf(std::string_view data) {
  std::string hash = MerkleLeafHash(data);
  // Each trailing set bit of the old size is a complete subtree of the
  // same height as the one being carried: merge them, like binary addition.
  for (uint64_t carry = size_; (carry & 1) == 1; carry >>= 1) {
    hash = MerkleNodeHash(subtrees_.back(), hash);
    subtrees_.pop_back();
  }
  subtrees_.push_back(std::move(hash));
  ++size_;
}

std::string MerkleRootBuilder::Root() const {
  if (subtrees_.empty()) return MerkleEmptyRoot();
  std::string root = subtrees_.back();
  for (size_t i = subtrees_.size() - 1; i-- > 0;) {
    root = MerkleNodeHash(subtrees_[i], root);
  }
  return root;
}

std::string MerkleRoot(const std::vector<std::string>& leaves) {
  MerkleRootBuilder builder;
  for (const std::string& leaf : leaves) builder.AddLeaf(leaf);
  return builder.Root();
}

absl::Status VerifyInclusion(std::string_view leaf_data, uint64_t index,
                             uint64_t n, const std::vector<std::string>& proof,
                             std::string_view root) {
  absl::Status status = CheckSize(root, kHashSize, "root hash");
  if (status.ok()) status = CheckProof(proof);
  if (!status.ok()) return status;
  // 1.
  if (index >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not below tree size ", n));
  }
  // The walk below also fails on a path of the wrong length; saying so
  // first is plainer than a root mismatch.
  const size_t want = InclusionLength(index, n);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof for leaf ", index, " in a tree of size ",
                     n, " has ", proof.size(), " hashes, want ", want));
  }
  // 2.-3.
  uint64_t fn = index;
  uint64_t sn = n - 1;
  std::string r = MerkleLeafHash(leaf_data);
  // 4.
  for (const std::string& p : proof) {
    if (sn == 0) return absl::InvalidArgumentError("inclusion proof too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // 5.
  if (sn != 0) return absl::InvalidArgumentError("inclusion proof too short");
  if (r != root) {
    return absl::DataLossError(absl::StrCat(
        "inclusion proof for leaf ", index, " in a tree of size ", n,
        " leads to root ", HexEncode(r), ", not ", HexEncode(root)));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t m, uint64_t n,
                               std::string_view old_root,
                               std::string_view new_root,
                               const std::vector<std::string>& proof) {
  absl::Status status = CheckSize(old_root, kHashSize, "old root hash");
  if (status.ok()) status = CheckSize(new_root, kHashSize, "new root hash");
  if (status.ok()) status = CheckProof(proof);
  if (!status.ok()) return status;
  if (m > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("old tree size ", m, " is larger than new tree size ", n));
  }
  if (m == 0 || m == n) {  // nothing to prove but the roots
    if (!proof.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("consistency proof from size ", m, " to ", n, " has ",
                       proof.size(), " hashes, want 0"));
    }
    if (m == n && old_root != new_root) {
      return absl::DataLossError(
          absl::StrCat("two trees of size ", n, " have different roots: ",
                       HexEncode(old_root), " and ", HexEncode(new_root)));
    }
    if (m == 0 && old_root != MerkleEmptyRoot()) {
      return absl::DataLossError(absl::StrCat("old root ", HexEncode(old_root),
                                              " is not the empty tree's root"));
    }
    return absl::OkStatus();
  }
  const size_t want = ConsistencyLength(m, n);
  if (proof.size() != want) {  // covers 1. (an empty proof) too
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof from size ", m, " to ", n, " has ",
                     proof.size(), " hashes, want ", want));
  }
  // 2. When m is a power of two the old root is the first node of the path.
  std::vector<std::string_view> path;
  if (IsPowerOfTwo(m)) path.push_back(old_root);
  for (const std::string& hash : proof) path.push_back(hash);
  // 3.-4.
  uint64_t fn = m - 1;
  uint64_t sn = n - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5.
  std::string fr(path[0]);
  std::string sr(path[0]);
  // 6.
  for (size_t i = 1; i < path.size(); ++i) {
    if (sn == 0) {
      return absl::InvalidArgumentError("consistency proof too long");
    }
    if ((fn & 1) == 1 || fn == sn) {
      fr = MerkleNodeHash(path[i], fr);
      sr = MerkleNodeHash(path[i], sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = MerkleNodeHash(sr, path[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // 7.
  if (sn != 0) {
    return absl::InvalidArgumentError("consistency proof too short");
  }
  if (fr != old_root) {
    return absl::DataLossError(
        absl::StrCat("consistency proof from size ", m, " to ", n,
                     " does not reproduce the old root ", HexEncode(old_root)));
  }
  if (sr != new_root) {
    return absl::DataLossError(
        absl::StrCat("consistency proof from size ", m, " to ", n,
                     " does not reproduce the new root ", HexEncode(new_root)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckpointBody(const Checkpoint& checkpoint) {
  if (checkpoint.log_id.empty()) {
    return absl::InvalidArgumentError("checkpoint log id is empty");
  }
  if (checkpoint.log_id.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError("checkpoint log id contains a newline");
  }
  absl::Status size =
      CheckSize(checkpoint.root_hash, kHashSize, "checkpoint root hash");
  if (!size.ok()) return size;
  return absl::StrCat(kBodyHeader, "\n", checkpoint.log_id, "\n",
                      checkpoint.tree_size, "\n",
                      absl::Base64Escape(checkpoint.root_hash), "\n",
                      checkpoint.time_micros, "\n");
}

absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view body) {
  const std::vector<absl::string_view> lines = absl::StrSplit(View(body), '\n');
  if (lines.size() != 6 || !lines[5].empty()) {
    return absl::InvalidArgumentError(
        "checkpoint body is not five newline-terminated lines");
  }
  if (lines[0] != kBodyHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint body does not start with \"", kBodyHeader, "\""));
  }
  Checkpoint checkpoint;
  checkpoint.log_id = std::string(lines[1]);
  if (!absl::SimpleAtoi(lines[2], &checkpoint.tree_size)) {
    return absl::InvalidArgumentError("checkpoint tree size is not a number");
  }
  if (!absl::Base64Unescape(lines[3], &checkpoint.root_hash)) {
    return absl::InvalidArgumentError("checkpoint root hash is not base64");
  }
  if (!absl::SimpleAtoi(lines[4], &checkpoint.time_micros)) {
    return absl::InvalidArgumentError("checkpoint time is not a number");
  }
  // One checkpoint, one body: every other spelling is refused.
  absl::StatusOr<std::string> canonical = CheckpointBody(checkpoint);
  if (!canonical.ok()) return canonical.status();
  if (*canonical != body) {
    return absl::InvalidArgumentError("checkpoint body is not canonical");
  }
  return checkpoint;
}

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, &NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "not a PEM public key (want \"-----BEGIN PUBLIC KEY-----\")");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("the PEM public key is ",
                     EVP_PKEY_get0_type_name(key.get()), ", not ED25519"));
  }
  std::string raw(kEd25519PublicKeySize, '\0');
  size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(),
                                  reinterpret_cast<unsigned char*>(raw.data()),
                                  &size) != 1 ||
      size != kEd25519PublicKeySize) {
    ERR_clear_error();
    return absl::InternalError("reading the Ed25519 public key failed");
  }
  return raw;
}

std::string Ed25519KeyId(std::string_view public_key) {
  return HexEncode(Sha256({public_key}).substr(0, kKeyIdBytes));
}

absl::Status Ed25519Verify(std::string_view message, std::string_view signature,
                           std::string_view public_key) {
  absl::Status status =
      CheckSize(signature, kEd25519SignatureSize, "Ed25519 signature");
  if (status.ok()) {
    status = CheckSize(public_key, kEd25519PublicKeySize, "Ed25519 public key");
  }
  if (!status.ok()) return status;
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, Bytes(public_key), public_key.size()));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  // Ed25519 is "pure": no digest is named, the message is passed whole.
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) !=
          1) {
    ERR_clear_error();
    return absl::InternalError("Ed25519 verification could not be set up");
  }
  const int verified =
      EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(),
                       Bytes(message), message.size());
  ERR_clear_error();  // a bad signature queues an error: it is not one here
  if (verified != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "signature does not match public key ", Ed25519KeyId(public_key)));
  }
  return absl::OkStatus();
}

}  // namespace duban::clients
