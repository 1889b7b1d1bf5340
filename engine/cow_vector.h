// CowVector<T>: an append-only history shared between copies of the state.
//
// The state is copied once per sequencer group (copy-on-write per plan); a
// plan's report histories are held in CowVectors so that copy costs one
// reference count per history, and appending a revision never copies the
// earlier ones: the elements form a persistent list from the newest back, so
// every copy keeps seeing exactly the elements it had. Reading is the const
// interface of std::vector (iteration oldest first; back() and size() are
// O(1), front() and [] walk the list).
#ifndef DUBAN_ENGINE_COW_VECTOR_H_
#define DUBAN_ENGINE_COW_VECTOR_H_

#include <cstddef>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

namespace duban::engine {

template <typename T>
class CowVector {
 public:
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    const_iterator(std::shared_ptr<const std::vector<const T*>> items, size_t i)
        : items_(std::move(items)), i_(i) {}
    const T& operator*() const { return *(*items_)[i_]; }
    const T* operator->() const { return (*items_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    std::shared_ptr<const std::vector<const T*>> items_;  // oldest first; null for end()
    size_t i_;
  };

  CowVector() = default;
  CowVector(const CowVector&) = default;
  CowVector(CowVector&&) noexcept = default;
  CowVector& operator=(CowVector other) noexcept {
    Clear();
    head_ = std::move(other.head_);
    return *this;
  }
  ~CowVector() { Clear(); }

  size_t size() const { return head_ ? head_->size : 0; }
  bool empty() const { return head_ == nullptr; }
  const T& back() const { return head_->value; }
  const T& front() const {
    const Node* n = head_.get();
    while (n->prev) n = n->prev.get();
    return n->value;
  }
  const T& operator[](size_t i) const {
    const Node* n = head_.get();
    for (size_t k = size() - 1; k > i; --k) n = n->prev.get();
    return n->value;
  }
  // Oldest first. begin() lists the elements (O(size)); end() is free.
  const_iterator begin() const {
    auto items = std::make_shared<std::vector<const T*>>(size());
    size_t i = size();
    for (const Node* n = head_.get(); n != nullptr; n = n->prev.get()) (*items)[--i] = &n->value;
    return const_iterator(std::move(items), 0);
  }
  const_iterator end() const { return const_iterator(nullptr, size()); }

  void push_back(T item) {
    const size_t n = size() + 1;
    head_ = std::make_shared<const Node>(Node{std::move(item), std::move(head_), n});
  }
  // Replaces the newest element (the others stay shared).
  void ReplaceBack(T item) {
    head_ = std::make_shared<const Node>(Node{std::move(item), head_->prev, head_->size});
  }

  template <typename It>
  void assign(It first, It last) {
    Clear();
    for (; first != last; ++first) push_back(*first);
  }

 private:
  struct Node {
    T value;
    mutable std::shared_ptr<const Node> prev;  // taken apart by Clear
    size_t size;
  };

  // Drops this copy's hold on the list one node at a time: letting the
  // shared_ptrs cascade would recurse once per element.
  void Clear() noexcept {
    while (head_ != nullptr && head_.use_count() == 1) {
      std::shared_ptr<const Node> prev = std::move(head_->prev);
      head_ = std::move(prev);
    }
    head_.reset();
  }
  std::shared_ptr<const Node> head_;  // the newest element
};

// SeqList: an append-only list of seqs shared between copies, in chunks of
// 64 (about 9 bytes a seq): appending copies at most the newest chunk.
class SeqList {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void push_back(uint64_t seq) {
    if (!chunks_.empty() && chunks_.back().size() < kChunk) {
      std::vector<uint64_t> chunk = chunks_.back();
      chunk.push_back(seq);
      chunks_.ReplaceBack(std::move(chunk));
    } else {
      chunks_.push_back({seq});
    }
    ++size_;
  }
  // Appends many at once, in whole chunks (a snapshot being loaded).
  template <typename It>
  void Append(It first, It last) {
    while (first != last) {
      if (!chunks_.empty() && chunks_.back().size() < kChunk) {
        push_back(*first++);
        continue;
      }
      std::vector<uint64_t> chunk;
      chunk.reserve(kChunk);
      for (; first != last && chunk.size() < kChunk; ++first) chunk.push_back(*first);
      size_ += chunk.size();
      chunks_.push_back(std::move(chunk));
    }
  }

  // Oldest first.
  std::vector<uint64_t> All() const {
    std::vector<uint64_t> out;
    out.reserve(size_);
    for (const auto& chunk : chunks_) out.insert(out.end(), chunk.begin(), chunk.end());
    return out;
  }

 private:
  static constexpr size_t kChunk = 64;
  CowVector<std::vector<uint64_t>> chunks_;
  size_t size_ = 0;
};

// Cow<T>: one value shared between copies until one of them changes it (a
// plan's escalations, whose timelines grow). Read with * and ->; change
// through Mutable(), which copies the value first only when it is shared.
template <typename T>
class Cow {
 public:
  Cow() : value_(std::make_shared<T>()) {}
  Cow(T value) : value_(std::make_shared<T>(std::move(value))) {}  // NOLINT: implicit by design

  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_.get(); }
  const T& get() const { return *value_; }

  T& Mutable() {
    if (value_.use_count() > 1) value_ = std::make_shared<T>(*value_);
    return *value_;
  }

 private:
  std::shared_ptr<T> value_;
};

// CowMap<M>: a map shared between copies of the state until one of them
// changes it. Reads use the const interface of M directly (find, at, count,
// lower_bound, iteration, ...); changes go through Mutable(), which copies
// the map first only when it is shared. A plan keeps each of its maps in
// one, so the copy the sequencer makes of a plan per group copies only the
// maps that group changes (a progress report touches the reports and the
// escalations, never the registry or the matrix).
template <typename M>
class CowMap {
 public:
  using key_type = typename M::key_type;
  using mapped_type = typename M::mapped_type;
  using value_type = typename M::value_type;
  using const_iterator = typename M::const_iterator;
  using iterator = const_iterator;

  const M& operator*() const { return *map_; }
  const M* operator->() const { return map_.operator->(); }
  M& Mutable() { return map_.Mutable(); }

  const_iterator begin() const { return map_->begin(); }
  const_iterator end() const { return map_->end(); }
  size_t size() const { return map_->size(); }
  bool empty() const { return map_->empty(); }
  size_t count(const key_type& k) const { return map_->count(k); }
  const_iterator find(const key_type& k) const { return map_->find(k); }
  const_iterator lower_bound(const key_type& k) const { return map_->lower_bound(k); }
  const_iterator upper_bound(const key_type& k) const { return map_->upper_bound(k); }
  const mapped_type& at(const key_type& k) const { return map_->at(k); }

 private:
  Cow<M> map_;
};

}  // namespace duban::engine

#endif  // DUBAN_ENGINE_COW_VECTOR_H_
