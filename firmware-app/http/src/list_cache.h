// ListCache: GET /users answers (everything after the "directory" member),
// kept while the store's data_generation() stays the same. Internal to http/.
//
// Why it is safe to serve one: the generation is taken before the read that
// built the entry and again for every request (Store::data_generation()
// moves after any commit, this process's or another's); the key holds every
// input of the bytes — the query as sent and the expiration settings used —
// and the entry holds the clock range in which its "locked" fields stay true
// (from when it was built until the earliest lock it shows runs out). Access
// is still checked per request (session, role) before an entry is looked up.
//
// Thread-safety: all members may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace resetd::http {

class ListCache {
 public:
  // At most this many answers, this many bytes in all; past either it starts over.
  static constexpr size_t kMaxEntries = 32;
  static constexpr size_t kMaxBytes = 1u << 20;

  std::shared_ptr<const std::string> find(const std::string& key, uint64_t generation, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    const Entry& e = it->second;
    if (e.generation != generation || now < e.built_at || now >= e.valid_until) return nullptr;
    return e.body;
  }

  void put(const std::string& key, uint64_t generation, int64_t built_at, int64_t valid_until,
           std::string body) {
    if (body.size() > kMaxBytes / 4) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      bytes_ -= it->second.body->size();
      entries_.erase(it);
    }
    if (entries_.size() >= kMaxEntries || bytes_ + body.size() > kMaxBytes) {
      entries_.clear();
      bytes_ = 0;
    }
    bytes_ += body.size();
    entries_[key] = Entry{generation, built_at, valid_until,
                          std::make_shared<const std::string>(std::move(body))};
  }

 private:
  struct Entry {
    uint64_t generation;
    int64_t built_at;
    int64_t valid_until;  // exclusive
    std::shared_ptr<const std::string> body;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

}  // namespace resetd::http
