// EventBatchBuilder's hand-written wire format is protobuf's own: it parses
// back as an EventBatch with the bytes and hashes given, byte for byte what
// protobuf would serialize, including events larger than one varint byte.
#include "services/event_batch.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace duban::services {
namespace {

namespace v1 = duban::v1;

std::string Bytes(grpc::ByteBuffer bb) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(bb.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

TEST(EventBatchBuilderTest, ParsesBackAsEventBatchWithIdenticalBytes) {
  std::vector<std::string> stored = {"x", std::string(127, 'a'), std::string(128, '\0'),
                                     std::string(70000, '\xff')};
  v1::EventBatch want;
  EventBatchBuilder b(100, 1 << 20);
  for (size_t i = 0; i < stored.size(); ++i) {
    const std::string hash(32, static_cast<char>('A' + i));
    b.AddStored(stored[i], hash);
    v1::AuditEvent* a = want.add_events();
    a->set_hash(hash);
    a->set_stored(stored[i]);
  }
  // One with a parsed event too (the filtered path).
  v1::AuditEvent with_event;
  with_event.mutable_event()->set_seq(9);
  with_event.mutable_event()->set_principal("admin");
  with_event.set_hash(std::string(32, 'z'));
  with_event.set_stored(with_event.event().SerializeAsString());
  b.AddEvent(with_event);
  *want.add_events() = with_event;
  EXPECT_EQ(b.events(), 5u);

  const std::string bytes = Bytes(b.Take());
  EXPECT_EQ(b.events(), 0u);
  EXPECT_EQ(bytes, want.SerializeAsString());
  v1::EventBatch got;
  ASSERT_TRUE(got.ParseFromString(bytes));
  ASSERT_EQ(got.events_size(), 5);
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(got.events(i).stored(), stored[i]);
    EXPECT_EQ(got.events(i).hash(), std::string(32, static_cast<char>('A' + i)));
    EXPECT_FALSE(got.events(i).has_event());
  }
  EXPECT_EQ(got.events(4).event().seq(), 9u);
}

TEST(EventBatchBuilderTest, FullByCountOrBytes) {
  EventBatchBuilder by_count(2, 1 << 20);
  by_count.AddStored("a", std::string(32, 'h'));
  EXPECT_FALSE(by_count.full());
  by_count.AddStored("b", std::string(32, 'h'));
  EXPECT_TRUE(by_count.full());
  EXPECT_EQ(by_count.TakeBytes().size(), 2u * (2 + 34 + 3));
  EXPECT_FALSE(by_count.full());

  EventBatchBuilder by_bytes(1000, 100);
  by_bytes.AddStored(std::string(50, 's'), std::string(32, 'h'));
  EXPECT_FALSE(by_bytes.full());
  by_bytes.AddStored(std::string(50, 's'), std::string(32, 'h'));
  EXPECT_TRUE(by_bytes.full());
}

}  // namespace
}  // namespace duban::services
