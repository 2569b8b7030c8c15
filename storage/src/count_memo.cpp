#include "count_memo.h"

namespace resetd::storage {

std::optional<CountMemo::Entry> CountMemo::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

void CountMemo::put(const std::string& key, Entry e) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    if (it->second.seq < e.seq) it->second = e;
    return;
  }
  if (map_.size() >= kMaxEntries) map_.clear();
  map_.emplace(key, e);
}

}  // namespace resetd::storage
