#include "engine/cow_vector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duban::engine {
namespace {

std::vector<std::string> All(const CowVector<std::string>& v) { return {v.begin(), v.end()}; }

TEST(CowVectorTest, CopiesKeepWhatTheyHadWhenTheOtherGrows) {
  CowVector<std::string> a;
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.begin(), a.end());
  a.push_back("1");
  a.push_back("2");
  CowVector<std::string> b = a;
  b.push_back("3b");
  a.push_back("3a");
  EXPECT_EQ(All(a), (std::vector<std::string>{"1", "2", "3a"}));
  EXPECT_EQ(All(b), (std::vector<std::string>{"1", "2", "3b"}));
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.front(), "1");
  EXPECT_EQ(a.back(), "3a");
  EXPECT_EQ(b[1], "2");
  b = a;
  EXPECT_EQ(All(b), All(a));
  b.assign(a.begin(), a.end());
  b.push_back("4");
  EXPECT_EQ(All(b), (std::vector<std::string>{"1", "2", "3a", "4"}));
  EXPECT_EQ(a.size(), 3u);
}

TEST(CowVectorTest, ALongHistoryIsDestroyedWithoutRecursion) {
  auto* v = new CowVector<int>();
  for (int i = 0; i < 2'000'000; ++i) v->push_back(i);
  CowVector<int> shared = *v;  // shares all of it
  v->push_back(-1);
  EXPECT_EQ(shared.size(), 2'000'000u);
  delete v;  // frees only its own newest node
  EXPECT_EQ(shared.back(), 1'999'999);
  EXPECT_EQ(shared[0], 0);
}

TEST(SeqListTest, AppendInChunksEqualsOneByOne) {
  SeqList a, b;
  std::vector<uint64_t> seqs;
  for (uint64_t i = 1; i <= 300; ++i) seqs.push_back(i * 3);
  for (uint64_t s : seqs) a.push_back(s);
  b.push_back(1);
  b.Append(seqs.begin(), seqs.end());
  EXPECT_EQ(a.All(), seqs);
  ASSERT_EQ(b.size(), 301u);
  const std::vector<uint64_t> all = b.All();
  EXPECT_EQ(all.front(), 1u);
  EXPECT_EQ(std::vector<uint64_t>(all.begin() + 1, all.end()), seqs);
  SeqList shared = b;  // a copy keeps what it had
  b.push_back(9999);
  EXPECT_EQ(shared.size(), 301u);
  EXPECT_EQ(b.All().back(), 9999u);
}

}  // namespace
}  // namespace duban::engine
