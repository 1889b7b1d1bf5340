// Tests of dubanctl's audit side, i.e. of what the client does with the
// verifiers (which are duban::verify's, tested once against the RFC vectors
// in storage/merkle_test.cc and storage/checkpoint_test.cc): signed
// checkpoints whose fields disagree with their body or key; checkpoint and
// proof files; the export file and its chain check on a small synthetic log,
// altered in every way that must be caught; the offline verifier end to end
// with forged proofs and altered exports; event descriptions; and
// AuditClient's stream and ExportLog against an in-process fake AuditService.
// Proofs here come from a reference generator written straight from the RFC.
#include "clients/dubanctl/audit.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clients/dubanctl/audit_verify.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/testing/merkle_vectors.h"

namespace duban::clients {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string H(const char* hex) {
  std::optional<std::string> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

// The 8-leaf reference tree (transparency-dev/merkle).
using storage::testing::kRfcNodes;
using storage::testing::kRfcRoots;
using storage::testing::RfcLeaves;

// --- A reference tree, straight from RFC 9162 §2.1 --------------------------

size_t Split(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// MTH(D[begin:end]).
std::string RefRoot(const std::vector<std::string>& d, size_t begin,
                    size_t end) {
  const size_t n = end - begin;
  if (n == 0) return Sha256({});
  if (n == 1) return Sha256({std::string(1, '\0'), d[begin]});
  const size_t k = Split(n);
  return Sha256({std::string(1, '\1'), RefRoot(d, begin, begin + k),
                 RefRoot(d, begin + k, end)});
}

// PATH(m, D[begin:end]).
void RefPath(size_t m, const std::vector<std::string>& d, size_t begin,
             size_t end, std::vector<std::string>* out) {
  const size_t n = end - begin;
  if (n <= 1) return;
  const size_t k = Split(n);
  if (m < k) {
    RefPath(m, d, begin, begin + k, out);
    out->push_back(RefRoot(d, begin + k, end));
  } else {
    RefPath(m - k, d, begin + k, end, out);
    out->push_back(RefRoot(d, begin, begin + k));
  }
}

// SUBPROOF(m, D[begin:end], whole).
void RefSubproof(size_t m, const std::vector<std::string>& d, size_t begin,
                 size_t end, bool whole, std::vector<std::string>* out) {
  const size_t n = end - begin;
  if (m == n) {
    if (!whole) out->push_back(RefRoot(d, begin, end));
    return;
  }
  const size_t k = Split(n);
  if (m <= k) {
    RefSubproof(m, d, begin, begin + k, whole, out);
    out->push_back(RefRoot(d, begin + k, end));
  } else {
    RefSubproof(m - k, d, begin + k, end, false, out);
    out->push_back(RefRoot(d, begin, begin + k));
  }
}

std::vector<std::string> RefInclusion(const std::vector<std::string>& d,
                                      size_t index, size_t n) {
  std::vector<std::string> proof;
  RefPath(index, d, 0, n, &proof);
  return proof;
}

std::vector<std::string> RefConsistency(const std::vector<std::string>& d,
                                        size_t m, size_t n) {
  std::vector<std::string> proof;
  if (m > 0 && m < n) RefSubproof(m, d, 0, n, true, &proof);
  return proof;
}

// --- Checkpoints and Ed25519 ------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

// An Ed25519 key made with OpenSSL, as the server's would be.
class TestKey {
 public:
  TestKey() {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), &EVP_PKEY_CTX_free);
    EVP_PKEY* raw = nullptr;
    EXPECT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
    key_.reset(raw);
  }

  std::string Sign(std::string_view message) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
        EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::string signature(64, '\0');
    size_t size = signature.size();
    EXPECT_EQ(
        EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()),
        1);
    EXPECT_EQ(EVP_DigestSign(
                  ctx.get(), reinterpret_cast<unsigned char*>(signature.data()),
                  &size, reinterpret_cast<const unsigned char*>(message.data()),
                  message.size()),
              1);
    return signature;
  }

  std::string PublicPem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()),
                                                  &BIO_free);
    EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key_.get()), 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(size));
  }

  std::string Raw() const {
    std::string raw(32, '\0');
    size_t size = raw.size();
    EXPECT_EQ(
        EVP_PKEY_get_raw_public_key(
            key_.get(), reinterpret_cast<unsigned char*>(raw.data()), &size),
        1);
    return raw;
  }

  // A SignedCheckpoint as GetCheckpoint returns it.
  v1::SignedCheckpoint SignedCheckpoint(const Checkpoint& checkpoint,
                                        uint64_t seq = 0) const {
    v1::SignedCheckpoint out;
    out.set_log_id(checkpoint.log_id);
    out.set_tree_size(checkpoint.tree_size);
    out.set_root_hash(checkpoint.root_hash);
    out.set_time_micros(checkpoint.time_micros);
    const std::string body = CheckpointBody(checkpoint).value();
    out.set_body(body);
    out.set_signature(Sign(body));
    out.set_key_id(Ed25519KeyId(Raw()));
    out.set_public_key_pem(PublicPem());
    out.set_seq(seq);
    return out;
  }

 private:
  std::unique_ptr<EVP_PKEY, PkeyFree> key_;
};

TEST(CheckpointTest, SignedCheckpointChecksOutOnlyWhenBodyFieldsAndKeyAgree) {
  TestKey key;
  const Checkpoint checkpoint{"duban-test", 8, H(kRfcRoots[8]), 1700000000};
  const v1::SignedCheckpoint signed_checkpoint =
      key.SignedCheckpoint(checkpoint, 9);
  absl::StatusOr<Checkpoint> checked =
      CheckSignedCheckpoint(signed_checkpoint, key.Raw());
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(*checked, checkpoint);

  v1::SignedCheckpoint lying = signed_checkpoint;
  lying.set_tree_size(9);  // the fields say one thing, the signed body another
  EXPECT_EQ(CheckSignedCheckpoint(lying, key.Raw()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  lying = signed_checkpoint;
  lying.set_root_hash(H(kRfcRoots[7]));
  EXPECT_THAT(
      std::string(CheckSignedCheckpoint(lying, key.Raw()).status().message()),
      HasSubstr("root_hash"));
  lying = signed_checkpoint;
  std::string signature = lying.signature();
  signature[10] ^= 0x40;
  lying.set_signature(signature);
  EXPECT_EQ(CheckSignedCheckpoint(lying, key.Raw()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::Status other =
      CheckSignedCheckpoint(signed_checkpoint, TestKey().Raw()).status();
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.message()),
              HasSubstr(absl::StrCat("the checkpoint names key ",
                                     Ed25519KeyId(key.Raw()))));
  lying = signed_checkpoint;
  lying.set_body("duban checkpoint v1\n");
  EXPECT_EQ(CheckSignedCheckpoint(lying, key.Raw()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FileTest, CheckpointAndProofFilesRoundTrip) {
  TestKey key;
  const v1::SignedCheckpoint checkpoint =
      key.SignedCheckpoint({"duban-test", 8, H(kRfcRoots[8]), 1700000000}, 9);
  const std::string text = CheckpointFileText(checkpoint);
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("\"root_hash\": \"", kRfcRoots[8], "\"")));
  absl::StatusOr<v1::SignedCheckpoint> parsed = ParseCheckpointFile(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), checkpoint.SerializeAsString());
  EXPECT_THAT(
      std::string(
          ParseCheckpointFile("{\"log_id\": \"x\"}").status().message()),
      HasSubstr("\"tree_size\" is missing"));
  EXPECT_FALSE(ParseCheckpointFile("[").ok());

  const std::vector<std::string> leaves = RfcLeaves();
  v1::InclusionProof inclusion;
  inclusion.set_seq(6);
  inclusion.set_leaf_index(5);
  inclusion.set_tree_size(8);
  inclusion.set_leaf_data(H(kRfcNodes[0][5]));  // stands for an event hash
  for (const std::string& hash : RefInclusion(leaves, 5, 8)) {
    inclusion.add_hashes(hash);
  }
  inclusion.set_root_hash(H(kRfcRoots[8]));
  absl::StatusOr<v1::InclusionProof> inclusion_back =
      ParseInclusionProofFile(InclusionProofFileText(inclusion));
  ASSERT_TRUE(inclusion_back.ok()) << inclusion_back.status();
  EXPECT_EQ(inclusion_back->SerializeAsString(), inclusion.SerializeAsString());

  v1::ConsistencyProof consistency;
  consistency.set_old_size(6);
  consistency.set_new_size(8);
  consistency.set_old_root(H(kRfcRoots[6]));
  consistency.set_new_root(H(kRfcRoots[8]));
  for (const std::string& hash : RefConsistency(leaves, 6, 8)) {
    consistency.add_hashes(hash);
  }
  absl::StatusOr<v1::ConsistencyProof> consistency_back =
      ParseConsistencyProofFile(ConsistencyProofFileText(consistency));
  ASSERT_TRUE(consistency_back.ok()) << consistency_back.status();
  EXPECT_EQ(consistency_back->SerializeAsString(),
            consistency.SerializeAsString());
  EXPECT_TRUE(
      CheckConsistencyProof(*consistency_back, H(kRfcRoots[6]), H(kRfcRoots[8]))
          .ok());
  EXPECT_THAT(
      std::string(ParseConsistencyProofFile(
                      "{\"old_size\":1,\"new_size\":2,\"hashes\":[\"ab\"]}")
                      .status()
                      .message()),
      HasSubstr("\"hashes\" [0] is not a hash"));
}

// --- A synthetic log --------------------------------------------------------

constexpr char kLogId[] = "duban-test";
constexpr int64_t kStart = 1643677200000000;  // 2022-02-01 09:00 CST

// Events as the server stores them: seq dense from 1, each with the previous
// event's hash; its hash SHA-256(prev_hash || its bytes). Event 7 is a
// checkpoint of the first 6, signed by `key`.
struct SyntheticLog {
  std::vector<v1::AuditEvent> events;
  std::vector<std::string> hashes;  // the Merkle leaves

  std::string Root(size_t n) const {
    return MerkleRoot({hashes.begin(), hashes.begin() + n});
  }
};

SyntheticLog MakeLog(size_t n, const TestKey& key) {
  SyntheticLog log;
  std::string prev(kHashSize, '\0');
  for (uint64_t seq = 1; seq <= n; ++seq) {
    v1::Event e;
    e.set_seq(seq);
    e.set_recorded_at_micros(kStart + static_cast<int64_t>(seq) * 60000000);
    e.set_principal(seq % 3 == 0 ? "agency:qh-edu" : "admin");
    e.set_request_id(absl::StrCat("req-", seq));
    e.set_plan_id("qinghai-employment-2021");
    e.set_prev_hash(prev);
    switch (seq % 4) {
      case 0: {
        v1::ResponsibilityAssigned* a = e.mutable_responsibility_assigned();
        a->set_task_number(static_cast<int>(seq));
        a->set_agency_id("qh-edu");
        a->set_role(v1::LEAD);
        a->set_reason("调整");
        break;
      }
      case 1: {
        v1::ProgressReport* r = e.mutable_progress_reported()->mutable_report();
        r->set_task_number(43);
        r->set_year(2022);
        r->set_agency_id("qh-edu");
        r->set_kind(v1::TASK_REPORT);
        r->set_status(v1::BEHIND);
        r->set_summary("组织专场招聘会120场");
        r->set_percent_complete(0);
        r->set_revision(2);
        break;
      }
      case 2:
        e.mutable_escalation_raised()->set_escalation_id("esc-3");
        e.mutable_escalation_raised()->set_level(v1::URGING);
        e.set_causation_seq(seq - 1);
        break;
      default:
        e.mutable_clock_advanced()->set_now_micros(kStart);
        break;
    }
    if (seq == 7) {
      const Checkpoint checkpoint{kLogId, 6, log.Root(6), kStart};
      v1::CheckpointMade* made = e.mutable_checkpoint_made();
      made->set_log_id(checkpoint.log_id);
      made->set_tree_size(checkpoint.tree_size);
      made->set_root_hash(checkpoint.root_hash);
      made->set_time_micros(checkpoint.time_micros);
      made->set_signature(key.Sign(CheckpointBody(checkpoint).value()));
      made->set_key_id(Ed25519KeyId(key.Raw()));
    }
    const std::string bytes = e.SerializeAsString();
    const std::string hash = Sha256({prev, bytes});
    v1::AuditEvent audit_event;
    *audit_event.mutable_event() = e;
    audit_event.set_hash(hash);
    audit_event.set_stored(bytes);
    log.events.push_back(audit_event);
    log.hashes.push_back(hash);
    prev = hash;
  }
  return log;
}

std::vector<std::string> ExportLines(const SyntheticLog& log) {
  std::vector<std::string> lines;
  for (const v1::AuditEvent& event : log.events) {
    bool reproduced = false;
    absl::StatusOr<std::string> line = ExportLine(event, &reproduced);
    EXPECT_TRUE(line.ok()) << line.status();
    EXPECT_TRUE(reproduced) << event.event().seq();
    lines.push_back(line.value_or(""));
  }
  return lines;
}

// The first failure of a checker fed `lines`.
absl::Status CheckLines(const std::vector<std::string>& lines,
                        ExportChecker* checker) {
  for (const std::string& line : lines) {
    absl::StatusOr<ExportRecord> record = ParseExportLine(line);
    if (!record.ok()) return record.status();
    absl::Status status = checker->Add(*record);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CheckLines(const std::vector<std::string>& lines) {
  ExportChecker checker;
  return CheckLines(lines, &checker);
}

// `line` with its event bytes changed and re-encoded (hash kept).
std::string AlterEventBytes(const std::string& line, bool recompute_hash,
                            const std::string& prev_hash) {
  ExportRecord record = ParseExportLine(line).value();
  v1::Event event;
  EXPECT_TRUE(event.ParseFromString(record.event_bytes));
  event.set_principal("agency:forged");
  std::string bytes = event.SerializeAsString();
  const std::string hash =
      recompute_hash ? Sha256({prev_hash, bytes}) : record.hash;
  return absl::StrCat("{\"seq\":", record.seq, ",\"hash\":\"", ToHex(hash),
                      "\",\"prev_hash\":\"", ToHex(record.prev_hash),
                      "\",\"event_base64\":\"", absl::Base64Escape(bytes),
                      "\"}");
}

TEST(ExportTest, LinesParseAndTheChainGivesTheMerkleRoot) {
  TestKey key;
  const SyntheticLog log = MakeLog(12, key);
  const std::vector<std::string> lines = ExportLines(log);
  EXPECT_THAT(lines[0], testing::StartsWith(absl::StrCat(
                            "{\"seq\":1,\"hash\":\"", ToHex(log.hashes[0]),
                            "\",\"prev_hash\":\"", std::string(64, '0'),
                            "\",\"event_base64\":\"")));
  EXPECT_THAT(lines[0], HasSubstr("\"event\":{\"seq\":\"1\""));

  absl::StatusOr<ExportRecord> record = ParseExportLine(lines[4]);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->seq, 5u);
  EXPECT_EQ(record->hash, log.hashes[4]);
  EXPECT_EQ(record->prev_hash, log.hashes[3]);
  EXPECT_EQ(record->event_bytes, log.events[4].event().SerializeAsString());
  EXPECT_TRUE(record->event_json.has_value());

  ExportChecker checker;
  checker.WantRootAt(5);
  checker.WantHashAt(3);
  ASSERT_TRUE(CheckLines(lines, &checker).ok());
  EXPECT_EQ(checker.size(), 12u);
  EXPECT_EQ(checker.RootAt(12), log.Root(12));
  EXPECT_EQ(checker.RootAt(5), log.Root(5));
  EXPECT_EQ(checker.RootAt(0), MerkleEmptyRoot());
  EXPECT_EQ(checker.RootAt(4), std::nullopt);  // not asked for
  EXPECT_EQ(checker.HashAt(3), log.hashes[2]);
  EXPECT_EQ(checker.head_hash(), log.hashes[11]);
  ASSERT_EQ(checker.logged_checkpoints().size(), 1u);
  const LoggedCheckpoint& logged = checker.logged_checkpoints()[0];
  EXPECT_EQ(logged.seq, 7u);
  EXPECT_TRUE(logged.root_compared);
  EXPECT_TRUE(logged.root_matches);

  EXPECT_EQ(ParseExportLine("{\"seq\":1}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(
          ParseExportLine("{\"seq\":3,\"hash\":\"zz\"}").status().message()),
      HasSubstr("seq 3: \"hash\" is not a hash"));
  EXPECT_FALSE(ParseExportLine("not json").ok());
}

// The export holds the bytes the server stored, not a re-serialization: here
// stored bytes whose fields are not in the order protobuf writes them (as an
// older or another writer may have left them) still give the server's hash.
TEST(ExportTest, EventBase64IsTheStoredBytes) {
  v1::Event e;
  e.set_seq(1);
  e.set_prev_hash(std::string(kHashSize, '\0'));
  e.set_principal("admin");
  v1::Event tail;
  tail.set_principal("admin");
  v1::Event head = e;
  head.clear_principal();
  const std::string stored = tail.SerializeAsString() + head.SerializeAsString();
  ASSERT_NE(stored, e.SerializeAsString());  // fields out of protobuf's order
  v1::Event parsed;
  ASSERT_TRUE(parsed.ParseFromString(stored));
  v1::AuditEvent event;
  *event.mutable_event() = parsed;
  event.set_hash(Sha256({e.prev_hash(), stored}));
  event.set_stored(stored);
  bool reproduced = false;
  absl::StatusOr<std::string> line = ExportLine(event, &reproduced);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(reproduced);
  absl::StatusOr<ExportRecord> record = ParseExportLine(*line);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->event_bytes, stored);
  ExportChecker checker;
  EXPECT_TRUE(checker.Add(*record).ok()) << checker.status();
  // Without `stored` (an older server) the re-serialization is all there is,
  // and it does not reproduce the hash.
  event.clear_stored();
  line = ExportLine(event, &reproduced);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_FALSE(reproduced);
}

TEST(ExportTest, AlteredExportsFailNamingTheSeq) {
  TestKey key;
  const SyntheticLog log = MakeLog(12, key);
  const std::vector<std::string> lines = ExportLines(log);
  const auto fails_with = [](const std::vector<std::string>& altered,
                             const std::string& want) {
    absl::Status status = CheckLines(altered);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(want));
  };

  // Bytes changed, hash kept: the hash no longer matches them.
  std::vector<std::string> altered = lines;
  altered[2] = AlterEventBytes(lines[2], false, log.hashes[1]);
  fails_with(altered, "seq 3: hash differs from SHA-256(prev_hash || event");
  // Bytes changed and the hash recomputed: the next event's link breaks.
  altered[2] = AlterEventBytes(lines[2], true, log.hashes[1]);
  fails_with(altered, "seq 4: prev_hash is not the hash of seq 3");
  // An event deleted.
  altered = lines;
  altered.erase(altered.begin() + 5);
  fails_with(altered, "seq 6: missing (the next line is seq 7)");
  // Two swapped.
  altered = lines;
  std::swap(altered[3], altered[4]);
  fails_with(altered, "seq 4: missing (the next line is seq 5)");
  // A repeated line.
  altered = lines;
  altered.insert(altered.begin() + 4, lines[3]);
  fails_with(altered, "seq 4: out of order or repeated");
  // The people's "event" JSON edited, the bytes intact.
  altered = lines;
  const size_t at = altered[8].find("agency:qh-edu");
  ASSERT_NE(at, std::string::npos);
  altered[8].replace(at, 13, "agency:qh-drc");
  fails_with(altered, "seq 9: the \"event\" JSON is not the event");
  // A hash not matching the stored one in the file alone.
  altered = lines;
  ExportRecord record = ParseExportLine(lines[0]).value();
  altered[0].replace(altered[0].find(ToHex(record.hash)), 64,
                     std::string(64, 'a'));
  fails_with(altered, "seq 1: hash differs");
  // The first event claiming a predecessor.
  altered = lines;
  altered[0].replace(altered[0].find(std::string(64, '0')), 64,
                     std::string(64, '1'));
  fails_with(altered, "seq 1: prev_hash is not 32 zero bytes");
  // Bytes that are not an Event, hashed consistently.
  altered = lines;
  const std::string junk = "\xff\xff\xff";
  const std::string junk_hash = Sha256({log.hashes[0], junk});
  altered[1] =
      absl::StrCat("{\"seq\":2,\"hash\":\"", ToHex(junk_hash),
                   "\",\"prev_hash\":\"", ToHex(log.hashes[0]),
                   "\",\"event_base64\":\"", absl::Base64Escape(junk), "\"}");
  fails_with(altered, "seq 2: event bytes do not parse");
}

// --- The offline verifier, end to end ---------------------------------------

class OfflineTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        testing::TempDir(), "/audit_test_",
        testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(::mkdir(dir_.c_str(), 0700) == 0 || errno == EEXIST) << dir_;
    log_ = MakeLog(20, key_);
    lines_ = ExportLines(log_);
    inputs_.public_key_file = Write("key.pem", key_.PublicPem());
    inputs_.checkpoint_file =
        Write("cp.json", CheckpointFileText(key_.SignedCheckpoint(
                             {kLogId, 18, log_.Root(18), kStart + 1}, 19)));
    inputs_.old_checkpoint_file =
        Write("old.json", CheckpointFileText(key_.SignedCheckpoint(
                              {kLogId, 6, log_.Root(6), kStart}, 7)));
    inputs_.export_file = WriteLines("log.jsonl", lines_);
    inputs_.inclusion_file =
        Write("inclusion.json", InclusionProofFileText(Inclusion(11, 18)));
    inputs_.consistency_file =
        Write("consistency.json", ConsistencyProofFileText(Consistency(6, 18)));
  }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
    return path;
  }

  std::string WriteLines(const std::string& name,
                         const std::vector<std::string>& lines) {
    return Write(name, absl::StrCat(absl::StrJoin(lines, "\n"), "\n"));
  }

  v1::InclusionProof Inclusion(uint64_t seq, uint64_t size) const {
    v1::InclusionProof proof;
    proof.set_seq(seq);
    proof.set_leaf_index(seq - 1);
    proof.set_tree_size(size);
    proof.set_leaf_data(log_.hashes[seq - 1]);
    for (const std::string& hash : RefInclusion(log_.hashes, seq - 1, size)) {
      proof.add_hashes(hash);
    }
    proof.set_root_hash(log_.Root(size));
    return proof;
  }

  v1::ConsistencyProof Consistency(uint64_t m, uint64_t n) const {
    v1::ConsistencyProof proof;
    proof.set_old_size(m);
    proof.set_new_size(n);
    proof.set_old_root(log_.Root(m));
    proof.set_new_root(log_.Root(n));
    for (const std::string& hash : RefConsistency(log_.hashes, m, n)) {
      proof.add_hashes(hash);
    }
    return proof;
  }

  // Runs the verifier; its report.
  std::string Run(absl::Status* status) {
    std::ostringstream out;
    *status = VerifyOffline(inputs_, out, ProgressSink());
    return out.str();
  }

  TestKey key_;
  SyntheticLog log_;
  std::vector<std::string> lines_;
  std::string dir_;
  OfflineInputs inputs_;
};

TEST_F(OfflineTest, EverythingChecksOut) {
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_TRUE(status.ok()) << status << "\n" << report;
  EXPECT_THAT(report, Not(HasSubstr("FAILED")));
  for (const char* check :
       {"OK      public key: Ed25519, key id ",
        "OK      checkpoint: log duban-test, tree size 18",
        "OK      old checkpoint: log duban-test, tree size 6",
        "OK      export chain: 20 events",
        "OK      export root: the first 18 events give the signed root",
        "OK      export root at the old checkpoint: the first 6 events",
        "OK      checkpoints in the log: 1 of 1 CheckpointMade",
        "OK      inclusion proof: seq 11",
        "it is the export's hash of that seq",
        "OK      consistency proof: the tree of size 6 (old checkpoint) is a "
        "prefix of the tree of size 18",
        "all 9 checks passed"}) {
    EXPECT_THAT(report, HasSubstr(check));
  }
}

TEST_F(OfflineTest, CheckpointAloneNeedsOnlyTheKey) {
  inputs_.export_file.clear();
  inputs_.inclusion_file.clear();
  inputs_.consistency_file.clear();
  inputs_.old_checkpoint_file.clear();
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_TRUE(status.ok()) << report;
  EXPECT_THAT(report, HasSubstr("all 2 checks passed"));
}

TEST_F(OfflineTest, AnotherKeyFailsEverySignature) {
  inputs_.public_key_file = Write("other.pem", TestKey().PublicPem());
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(report, HasSubstr("FAILED  checkpoint: signature does not match "
                                "public key"));
  EXPECT_THAT(report, HasSubstr("(the checkpoint names key "));
  EXPECT_THAT(report, HasSubstr("FAILED  old checkpoint"));
  EXPECT_THAT(report, HasSubstr("FAILED  inclusion proof: not checked"));
  EXPECT_THAT(report, HasSubstr("FAILED  consistency proof: not checked"));
}

TEST_F(OfflineTest, TamperedExportFailsNamingTheSeq) {
  std::vector<std::string> lines = lines_;
  lines[2] = AlterEventBytes(lines[2], false, log_.hashes[1]);
  inputs_.export_file = WriteLines("tampered.jsonl", lines);
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(report, HasSubstr("FAILED  export chain: seq 3: hash differs"));
  EXPECT_THAT(report, HasSubstr("(2 events before it check out)"));
  EXPECT_THAT(report,
              HasSubstr("FAILED  export root: not checked: the export chain"));
}

TEST_F(OfflineTest, RewrittenHistoryWithARecomputedChainFailsTheRoot) {
  // Rewrite seq 3 and recompute every later hash and link: the chain is
  // whole again, but it is not the history the checkpoint signed.
  std::vector<std::string> lines = lines_;
  std::string prev = log_.hashes[1];
  for (size_t i = 2; i < lines.size(); ++i) {
    ExportRecord record = ParseExportLine(lines[i]).value();
    v1::Event event;
    ASSERT_TRUE(event.ParseFromString(record.event_bytes));
    event.set_prev_hash(prev);
    if (i == 2) event.set_principal("agency:forged");
    const std::string bytes = event.SerializeAsString();
    const std::string hash = Sha256({prev, bytes});
    lines[i] = absl::StrCat("{\"seq\":", record.seq, ",\"hash\":\"",
                            ToHex(hash), "\",\"prev_hash\":\"",
                            ToHex(prev), "\",\"event_base64\":\"",
                            absl::Base64Escape(bytes), "\"}");
    prev = hash;
  }
  inputs_.export_file = WriteLines("rewritten.jsonl", lines);
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(report, HasSubstr("OK      export chain: 20 events"));
  EXPECT_THAT(report, HasSubstr("FAILED  export root: the first 18 events give "
                                "root "));
  EXPECT_THAT(report, HasSubstr("FAILED  export root at the old checkpoint"));
  // The CheckpointMade at seq 7 no longer matches the rewritten history.
  EXPECT_THAT(report, HasSubstr("FAILED  checkpoints in the log: seq 7: its "
                                "signed root at tree size 6"));
}

TEST_F(OfflineTest, ShortExportFails) {
  inputs_.export_file =
      WriteLines("short.jsonl",
                 std::vector<std::string>(lines_.begin(), lines_.begin() + 10));
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(report, HasSubstr("FAILED  export root: the export holds 10 "
                                "events, fewer than the tree size 18"));
}

TEST_F(OfflineTest, ForgedProofsFail) {
  // A path with one hash altered.
  v1::InclusionProof inclusion = Inclusion(11, 18);
  std::string hash = inclusion.hashes(1);
  hash[0] ^= 1;
  inclusion.set_hashes(1, hash);
  inputs_.inclusion_file =
      Write("forged-inclusion.json", InclusionProofFileText(inclusion));
  // A consistency proof from a forked log that agrees up to 6 events.
  std::vector<std::string> forked = log_.hashes;
  forked[12] = Sha256({"forged"});
  v1::ConsistencyProof consistency = Consistency(6, 18);
  consistency.clear_hashes();
  for (const std::string& h : RefConsistency(forked, 6, 18)) {
    consistency.add_hashes(h);
  }
  inputs_.consistency_file =
      Write("forked-consistency.json", ConsistencyProofFileText(consistency));
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(report, HasSubstr("FAILED  inclusion proof: inclusion proof for "
                                "leaf 10 in a tree of size 18 leads to root"));
  EXPECT_THAT(report, HasSubstr("FAILED  consistency proof: consistency proof "
                                "from size 6 to 18 does not reproduce"));
  EXPECT_EQ(status.message(), "2 of 9 checks failed");
}

TEST_F(OfflineTest, ProofsForOtherSizes) {
  // For a smaller tree: checked against the root of the export, which
  // matched the checkpoint.
  inputs_.inclusion_file =
      Write("inclusion-12.json", InclusionProofFileText(Inclusion(4, 12)));
  absl::Status status;
  std::string report = Run(&status);
  EXPECT_TRUE(status.ok()) << report;
  EXPECT_THAT(report, HasSubstr("with the root the export (which matches the "
                                "checkpoint) gives at size 12"));
  // Without the export, it cannot be tied to the signed root.
  inputs_.export_file.clear();
  report = Run(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(report, HasSubstr("--seq 4 --size 18"));
  // A consistency proof between other sizes.
  inputs_.inclusion_file.clear();
  inputs_.consistency_file =
      Write("consistency-7.json", ConsistencyProofFileText(Consistency(7, 18)));
  report = Run(&status);
  EXPECT_THAT(report, HasSubstr("the proof is from size 7 to 18, the "
                                "checkpoints are at 6 and 18"));
}

TEST_F(OfflineTest, UnreadableFilesFail) {
  inputs_.checkpoint_file = Write("bad.json", "{}");
  inputs_.public_key_file = Write("bad.pem", "nope");
  absl::Status status;
  const std::string report = Run(&status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(report, HasSubstr("FAILED  public key: "));
  EXPECT_THAT(report, HasSubstr("FAILED  checkpoint: the checkpoint file: "
                                "\"log_id\" is missing"));
  EXPECT_THAT(report, HasSubstr("FAILED  export root: not checked: no trusted "
                                "checkpoint"));
}

// --- Events for people ------------------------------------------------------

TEST(DescribeTest, PayloadsInAFewWords) {
  v1::Event e;
  e.set_principal("admin");
  v1::ResponsibilityAssigned* a = e.mutable_responsibility_assigned();
  a->set_task_number(18);
  a->set_agency_id("qh-edu");
  a->set_role(v1::LEAD);
  a->set_from_plan_document(true);
  EXPECT_EQ(DescribeEvent(e), "task 18 qh-edu LEAD [plan]");
  EXPECT_EQ(EventType(e), "responsibility_assigned");
  a->set_from_plan_document(false);
  a->set_previous_role(v1::SUPPORT);
  a->set_reason("2023年调整");
  EXPECT_EQ(DescribeEvent(e),
            "task 18 qh-edu LEAD (was SUPPORT) \"2023年调整\"");

  e.set_principal("agency:qh-edu");
  v1::ProgressReport* r = e.mutable_progress_reported()->mutable_report();
  r->set_task_number(43);
  r->set_year(2022);
  r->set_agency_id("qh-edu");
  r->set_status(v1::BEHIND);
  r->set_revision(2);
  r->set_kind(v1::TASK_REPORT);
  EXPECT_EQ(DescribeEvent(e), "report task 43 2022 BEHIND rev 2");
  e.set_principal("admin");
  EXPECT_EQ(DescribeEvent(e), "report task 43 2022 BEHIND rev 2 for qh-edu");

  e.mutable_escalation_raised()->set_escalation_id("esc-3");
  e.mutable_escalation_raised()->set_level(v1::URGING);
  EXPECT_EQ(DescribeEvent(e), "escalation esc-3 → 催办");
  EXPECT_EQ(EventType(e), "escalation_raised");

  v1::CheckpointMade* c = e.mutable_checkpoint_made();
  c->set_tree_size(1200);
  c->set_root_hash(H(kRfcRoots[8]));
  EXPECT_EQ(DescribeEvent(e), "checkpoint size 1200 root 5dc9da79a70659a9…");

  e.clear_payload();
  EXPECT_EQ(DescribeEvent(e), "(no payload)");
  EXPECT_EQ(EventType(e), "");
}

TEST(DescribeTest, EveryPayloadTypeIsNamedAndDescribed) {
  const std::vector<std::string>& names = EventTypeNames();
  EXPECT_EQ(names.front(), "plan_defined");
  EXPECT_EQ(names.back(), "checkpoint_made");
  const google::protobuf::Descriptor* descriptor = v1::Event::descriptor();
  for (const std::string& name : names) {
    v1::Event e;
    const google::protobuf::FieldDescriptor* field =
        descriptor->FindFieldByName(name);
    ASSERT_NE(field, nullptr) << name;
    e.GetReflection()->MutableMessage(&e, field);  // sets the payload
    EXPECT_EQ(EventType(e), name);
    EXPECT_NE(DescribeEvent(e), "(no payload)") << name;
    EXPECT_FALSE(DescribeEvent(e).empty()) << name;
  }
}

TEST(ReplayTest, LinesAndJsonLines) {
  TestKey key;
  const SyntheticLog log = MakeLog(6, key);
  const std::string line = FormatReplayLine(log.events[5], 7);
  // seq 6: an escalation raised, caused by seq 5.
  EXPECT_THAT(line, testing::StartsWith(
                        "      6  2022-02-01 09:06:00  agency:qh-edu   "));
  EXPECT_THAT(line, HasSubstr("req-6"));
  EXPECT_THAT(line, HasSubstr("escalation_raised"));
  EXPECT_THAT(line, HasSubstr("escalation esc-3 → 催办"));
  EXPECT_THAT(line, testing::EndsWith("← 5"));
  EXPECT_THAT(ReplayHeader(7), HasSubstr("time (CST)"));

  absl::StatusOr<std::string> json = ReplayJsonLine(log.events[0]);
  ASSERT_TRUE(json.ok());
  nlohmann::json parsed = nlohmann::json::parse(*json);
  EXPECT_EQ(parsed["seq"], 1);
  EXPECT_EQ(parsed["type"], "progress_reported");
  EXPECT_EQ(parsed["hash"], ToHex(log.hashes[0]));
  EXPECT_EQ(parsed["event"]["progress_reported"]["report"]["task_number"], 43);
  EXPECT_EQ(json->find('\n'), std::string::npos);
}

// --- AuditClient and ExportLog against a fake server ------------------------

class FakeAudit final : public v1::AuditService::Service {
 public:
  explicit FakeAudit(std::vector<v1::AuditEvent> events)
      : events_(std::move(events)) {}

  grpc::Status ReadEvents(grpc::ServerContext* context,
                          const v1::ReadEventsRequest* request,
                          grpc::ServerWriter<v1::AuditEvent>* writer) override {
    requests.push_back(*request);
    const uint64_t from = std::max<uint64_t>(request->from_seq(), 1);
    const uint64_t to =
        request->to_seq() == 0
            ? events_.size()
            : std::min<uint64_t>(request->to_seq(), events_.size());
    for (uint64_t seq = from; seq <= to; ++seq) {
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      uint64_t fail = seq;
      if (fail_at_seq.compare_exchange_strong(fail, 0)) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "dropped");
      }
      writer->Write(events_[seq - 1]);
    }
    return grpc::Status::OK;
  }

  std::atomic<uint64_t> fail_at_seq{0};  // once
  std::vector<v1::ReadEventsRequest> requests;

 private:
  std::vector<v1::AuditEvent> events_;
};

class AuditClientTest : public testing::Test {
 protected:
  void SetUp() override {
    log_ = MakeLog(30, key_);
    service_ = std::make_unique<FakeAudit>(log_.events);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  AuditClient Client() {
    return AuditClient(server_->InProcessChannel(grpc::ChannelArguments()),
                       CallSettings("t", std::chrono::seconds(5)));
  }

  TestKey key_;
  SyntheticLog log_;
  std::unique_ptr<FakeAudit> service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(AuditClientTest, ReadEventsStreamsInOrderAndStopsOnHandlerError) {
  v1::ReadEventsRequest request;
  request.set_from_seq(3);
  request.set_to_seq(9);
  std::vector<uint64_t> seqs;
  absl::Status status =
      Client().ReadEvents(request, [&](const v1::AuditEvent& event) {
        seqs.push_back(event.event().seq());
        return absl::OkStatus();
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4, 5, 6, 7, 8, 9}));

  seqs.clear();
  status = Client().ReadEvents(request, [&](const v1::AuditEvent& event) {
    seqs.push_back(event.event().seq());
    return seqs.size() == 2 ? absl::AbortedError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(status, absl::AbortedError("enough"));
  EXPECT_EQ(seqs.size(), 2u);
}

TEST_F(AuditClientTest, ResumingReadLosesAndRepeatsNothing) {
  service_->fail_at_seq = 12;
  ReadResumeOptions options;
  options.initial_backoff = std::chrono::milliseconds(1);
  std::vector<uint64_t> resumed_from;
  options.on_retry = [&](const absl::Status& why, std::chrono::milliseconds,
                         uint64_t from) {
    EXPECT_EQ(why.code(), absl::StatusCode::kUnavailable);
    resumed_from.push_back(from);
  };
  std::vector<uint64_t> seqs;
  absl::Status status = Client().ReadEventsResuming(
      v1::ReadEventsRequest(),
      [&](const v1::AuditEvent& event) {
        seqs.push_back(event.event().seq());
        return absl::OkStatus();
      },
      options);
  EXPECT_TRUE(status.ok()) << status;
  ASSERT_EQ(seqs.size(), 30u);
  for (uint64_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
  EXPECT_EQ(resumed_from, std::vector<uint64_t>{12});
  ASSERT_EQ(service_->requests.size(), 2u);
  EXPECT_EQ(service_->requests[1].from_seq(), 12u);
}

TEST_F(AuditClientTest, ExportThenVerifyOffline) {
  const std::string dir = testing::TempDir();
  const std::string path = absl::StrCat(dir, "/audit_client_export.jsonl");
  absl::StatusOr<ExportSummary> summary =
      ExportLog(Client(), path, ProgressSink());
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->events, 30u);
  EXPECT_EQ(summary->last_seq, 30u);
  EXPECT_EQ(summary->head_hash, log_.hashes.back());
  EXPECT_EQ(summary->not_reproduced, 0u);
  std::ifstream partial(path + ".partial");
  EXPECT_FALSE(partial.good());  // renamed when complete

  OfflineInputs inputs;
  inputs.export_file = path;
  inputs.checkpoint_file = absl::StrCat(dir, "/audit_client_cp.json");
  std::ofstream(inputs.checkpoint_file) << CheckpointFileText(
      key_.SignedCheckpoint({kLogId, 30, log_.Root(30), kStart}));
  inputs.public_key_file = absl::StrCat(dir, "/audit_client_key.pem");
  std::ofstream(inputs.public_key_file) << key_.PublicPem();
  std::ostringstream report;
  absl::Status verified = VerifyOffline(inputs, report, ProgressSink());
  EXPECT_TRUE(verified.ok()) << report.str();
  EXPECT_THAT(report.str(), HasSubstr("OK      export root: the first 30"));
}

TEST_F(AuditClientTest, ReplayPrintsLinesAndACount) {
  v1::ReadEventsRequest request;
  request.set_from_seq(5);
  request.set_to_seq(7);
  std::ostringstream out;
  std::ostringstream progress;
  ProgressSink sink{&progress, false, 2};
  ASSERT_TRUE(Replay(Client(), request, false, out, sink).ok());
  std::vector<std::string> lines = absl::StrSplit(out.str(), '\n');
  ASSERT_EQ(lines.size(), 7u);  // header, rule, 3 events, count, ""
  EXPECT_THAT(lines[2], testing::StartsWith("      5  "));
  EXPECT_EQ(lines[5], "3 events (seq 5-7)");
  EXPECT_THAT(progress.str(), HasSubstr("2 events replayed (seq 6 of 7)"));

  std::ostringstream json;
  ASSERT_TRUE(Replay(Client(), request, true, json, ProgressSink()).ok());
  lines = absl::StrSplit(json.str(), '\n');
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["seq"], 5);
}

}  // namespace
}  // namespace duban::clients
