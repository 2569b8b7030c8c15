// Totals of list searches and filters kept across writes (issue 21 item 13):
// counting 1,000,000 matches takes ~100 ms, so each total is kept with the
// user_changes seq it was true at (migration 0008) and brought up to date by
// summing the changes since (-1 a row as it was, +1 as it is) that match the
// same predicate. A total whose changes were pruned, or asked in a snapshot
// older than the kept one, is counted again. Only
// read transactions (committed snapshots) put totals here. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "match_lists.h"

namespace resetd::storage {

class CountMemo {
 public:
  struct Entry {
    int64_t count = 0;
    int64_t seq = 0;  // user_changes' max(seq) of the snapshot it was counted in
  };
  std::optional<Entry> get(const std::string& key) const;
  // Keeps e unless the entry there is as new or newer.
  void put(const std::string& key, Entry e);
  // The match lists kept beside the totals (match_lists.h).
  MatchLists& lists() { return lists_; }

 private:
  static constexpr size_t kMaxEntries = 512;  // then all are dropped: each recounts once
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  MatchLists lists_;
};

}  // namespace resetd::storage
