// Tests for storage/checkpoint.h: the canonical body, Ed25519 against RFC
// 8032's test vectors, sign/verify round trips, forgeries that must fail,
// and PEM round trips.
#include "storage/checkpoint.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "storage/hash.h"

namespace duban::storage {
namespace {

std::string H(absl::string_view hex) { return absl::HexStringToBytes(hex); }
std::string Hex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

Checkpoint SampleCheckpoint() {
  return {"plan-2025-001", 1234, Sha256("root"), 1735689600123456};
}

Ed25519KeyPair NewKey() {
  auto key = Ed25519KeyPair::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

// --- The body
// -----------------------------------------------------------------

TEST(CheckpointBodyTest, IsTheDocumentedFiveLines) {
  Checkpoint cp{
      "duban", 8,
      H("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
      -5};
  auto body = CheckpointBody(cp);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body,
            "duban checkpoint v1\n"
            "duban\n"
            "8\n"
            "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
            "-5\n");
  auto parsed = ParseCheckpointBody(*body);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, cp);
}

TEST(CheckpointBodyTest, RejectsAmbiguousCheckpoints) {
  Checkpoint cp = SampleCheckpoint();
  cp.log_id = "a\nb";
  EXPECT_EQ(CheckpointBody(cp).status().code(),
            absl::StatusCode::kInvalidArgument);
  cp.log_id = "";
  EXPECT_EQ(CheckpointBody(cp).status().code(),
            absl::StatusCode::kInvalidArgument);
  cp = SampleCheckpoint();
  cp.root_hash.pop_back();
  EXPECT_EQ(CheckpointBody(cp).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckpointBodyTest, ParseAcceptsOnlyTheCanonicalForm) {
  const std::string root = absl::Base64Escape(Sha256("root"));
  const std::string good = "duban checkpoint v1\nlog\n7\n" + root + "\n42\n";
  EXPECT_TRUE(ParseCheckpointBody(good).ok());
  for (const std::string& bad : {
           "duban checkpoint v2\nlog\n7\n" + root + "\n42\n",
           "duban checkpoint v1\nlog\n7\n" + root + "\n42",      // no final \n
           "duban checkpoint v1\nlog\n7\n" + root + "\n42\n\n",  // extra line
           "duban checkpoint v1\nlog\n+7\n" + root + "\n42\n",
           "duban checkpoint v1\nlog\n07\n" + root + "\n42\n",
           "duban checkpoint v1\nlog\n 7\n" + root + "\n42\n",
           "duban checkpoint v1\nlog\n7\n" + root + "\n042\n",
           "duban checkpoint v1\nlog\n-7\n" + root + "\n42\n",
           "duban checkpoint v1\nlog\n7\n" + root.substr(0, root.size() - 1) +
               "\n42\n",  // unpadded
           "duban checkpoint v1\nlog\n7\n" + absl::Base64Escape("short") +
               "\n42\n",
           "duban checkpoint v1\n\n7\n" + root + "\n42\n",  // empty log id
           std::string(),
       }) {
    EXPECT_EQ(ParseCheckpointBody(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

// --- Ed25519
// ------------------------------------------------------------------

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte, 0x72).
TEST(Ed25519Test, MatchesRfc8032Vectors) {
  struct Vector {
    const char* seed;
    const char* public_key;
    const char* message;
    const char* signature;
  };
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const Vector& v : vectors) {
    auto key = Ed25519KeyPair::FromSeed(H(v.seed));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(Hex(key->public_key()), v.public_key);
    auto signature = key->Sign(H(v.message));
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_EQ(Hex(*signature), v.signature);
    EXPECT_TRUE(
        Ed25519Verify(H(v.message), H(v.signature), H(v.public_key)).ok());
    EXPECT_EQ(Ed25519Verify("x", H(v.signature), H(v.public_key)).code(),
              absl::StatusCode::kFailedPrecondition);
  }
}

TEST(Ed25519Test, PrivateKeyPemIsPkcs8OfTheSeed) {
  const std::string seed =
      H("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto key = Ed25519KeyPair::FromSeed(seed);
  ASSERT_TRUE(key.ok());
  auto pem = key->PrivateKeyPem();
  ASSERT_TRUE(pem.ok()) << pem.status();
  // RFC 8410 PKCS#8: a fixed 16-byte DER prefix, then the seed.
  const std::string der = H("302e020100300506032b657004220420") + seed;
  EXPECT_EQ(*pem, "-----BEGIN PRIVATE KEY-----\n" + absl::Base64Escape(der) +
                      "\n-----END PRIVATE KEY-----\n");
}

TEST(Ed25519Test, PemRoundTrips) {
  const Ed25519KeyPair key = NewKey();
  auto private_pem = key.PrivateKeyPem();
  ASSERT_TRUE(private_pem.ok()) << private_pem.status();
  auto loaded = Ed25519KeyPair::FromPrivateKeyPem(*private_pem);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->public_key(), key.public_key());
  EXPECT_EQ(*loaded->PrivateKeyPem(), *private_pem);

  auto public_pem = key.PublicKeyPem();
  ASSERT_TRUE(public_pem.ok()) << public_pem.status();
  EXPECT_EQ(public_pem->rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
  auto raw = Ed25519PublicKeyFromPem(*public_pem);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(*raw, key.public_key());
  EXPECT_EQ(raw->size(), kEd25519PublicKeySize);
  EXPECT_EQ(*Ed25519PublicKeyToPem(*raw), *public_pem);

  // A key loaded from PEM signs what the original public key verifies.
  const Checkpoint cp = SampleCheckpoint();
  auto signature = SignCheckpoint(cp, *loaded);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(VerifyCheckpoint(cp, *signature, *raw).ok());
}

TEST(Ed25519Test, RejectsWrongKeys) {
  // X25519, not Ed25519 (generated with `openssl genpkey -algorithm X25519`).
  const std::string x25519_private =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VuBCIEINjoTO6K47uY6YfkPFBvZr+njdA6vbW23vZmtjduTExn\n"
      "-----END PRIVATE KEY-----\n";
  const std::string x25519_public =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VuAyEACq1KVqpAjfGEbzgpdltFGelgOkEDctcE6FFOgM3EohQ=\n"
      "-----END PUBLIC KEY-----\n";
  // An Ed25519 key encrypted with a passphrase: refused, never prompted for.
  const std::string encrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAivljzOPJfcDQICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEB/SjTL1mQmxO/Yxh7d3qT4EQHfC\n"
      "Qv/IdMm3XsCj40rNzGzmhbPRBiyHhQ865BK66HyVa5DntFcHFODebbBtcgUWFWHX\n"
      "MXrF1Cs8XbN5ZhycRSo=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  EXPECT_EQ(Ed25519KeyPair::FromPrivateKeyPem(x25519_private).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PublicKeyFromPem(x25519_public).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519KeyPair::FromPrivateKeyPem(encrypted).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519KeyPair::FromPrivateKeyPem("not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PublicKeyFromPem("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519KeyPair::FromSeed("short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PublicKeyToPem("short").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, KeyIdIsFirstEightBytesOfSha256) {
  const Ed25519KeyPair key = NewKey();
  EXPECT_EQ(key.KeyId(), ToHex(Sha256(key.public_key()).substr(0, 8)));
  EXPECT_EQ(key.KeyId().size(), 16u);
  EXPECT_EQ(
      Ed25519KeyId(H(
          "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")),
      ToHex(Sha256(H("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f"
                     "707511a"))
                .substr(0, 8)));
  EXPECT_NE(NewKey().KeyId(), key.KeyId());
}

// --- Signed checkpoints
// ---------------------------------------------------------

TEST(CheckpointSignatureTest, RoundTrips) {
  const Ed25519KeyPair key = NewKey();
  const Checkpoint cp = SampleCheckpoint();
  auto signature = SignCheckpoint(cp, key);
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(signature->size(), kEd25519SignatureSize);
  absl::Status status = VerifyCheckpoint(cp, *signature, key.public_key());
  EXPECT_TRUE(status.ok()) << status;
  // Ed25519 is deterministic.
  EXPECT_EQ(*SignCheckpoint(cp, key), *signature);
}

TEST(CheckpointSignatureTest, AnyChangeFails) {
  const Ed25519KeyPair key = NewKey();
  const Checkpoint cp = SampleCheckpoint();
  const std::string signature = *SignCheckpoint(cp, key);

  auto expect_mismatch = [&](const Checkpoint& c, const std::string& sig,
                             const std::string& public_key, const char* what) {
    absl::Status status = VerifyCheckpoint(c, sig, public_key);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition)
        << what << ": " << status;
    EXPECT_NE(status.message().find("signature does not match"),
              absl::string_view::npos)
        << status;
  };
  Checkpoint changed = cp;
  changed.log_id = "plan-2025-002";
  expect_mismatch(changed, signature, key.public_key(), "log id");
  changed = cp;
  changed.tree_size += 1;
  expect_mismatch(changed, signature, key.public_key(), "tree size");
  changed = cp;
  changed.root_hash[7] ^= 1;
  expect_mismatch(changed, signature, key.public_key(), "root hash");
  changed = cp;
  changed.time_micros -= 1;
  expect_mismatch(changed, signature, key.public_key(), "time");
  for (size_t i = 0; i < signature.size(); i += 9) {
    std::string forged = signature;
    forged[i] ^= 0x01;
    expect_mismatch(cp, forged, key.public_key(), "flipped signature byte");
  }
  const Ed25519KeyPair other = NewKey();
  expect_mismatch(cp, signature, other.public_key(), "another key");
  expect_mismatch(cp, *SignCheckpoint(cp, other), key.public_key(),
                  "signed by another key");
  expect_mismatch(cp, std::string(kEd25519SignatureSize, '\0'),
                  key.public_key(), "zero signature");

  // Malformed input is not a mismatch.
  EXPECT_EQ(VerifyCheckpoint(cp, signature.substr(1), key.public_key()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyCheckpoint(cp, signature, "short").code(),
            absl::StatusCode::kInvalidArgument);
  changed = cp;
  changed.log_id = "bad\nid";
  EXPECT_EQ(VerifyCheckpoint(changed, signature, key.public_key()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignCheckpoint(changed, key).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace duban::storage
