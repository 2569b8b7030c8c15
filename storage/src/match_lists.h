// The ids a trigram search matches (with a clock-free filter and the
// blocked/enabled choice), kept in sort order across writes (issue 21 item 13):
// q=YILDIZ matches one user in 16, too few for the walk of the sort's index to
// find 50 soon (its matches bunch up) and too many to sort per request, so a
// page of it re-read its matches and walked ~50,000 index rows (29 ms at
// 1,000,000 users). Kept, a page is a slice. Each list is kept with the
// user_changes seq it was true at (migrations 0008, 0010) and brought up to
// date by taking out the users changed since and placing again those that
// still match (a binary search comparing rows in SQLite, so its collation
// decides). Like CountMemo: only read transactions put lists here; a list kept
// at a newer snapshot than the reader's, or whose changes were pruned, is not
// used. Thread-safe; a list, once kept, is never modified (readers share it).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sqlite_conn.h"

namespace resetd::storage {

class MatchLists {
 public:
  struct List {
    int64_t seq = 0;            // user_changes' max(seq) of the snapshot it is true in
    std::vector<int64_t> ids;   // ascending by (sort column, id)
  };
  // What a kept list holds; every SQL text names its binds below.
  struct Spec {
    std::string key;      // all the query says that decides the list
    std::string sort;     // username, display_name or created_at
    std::string read;     // SELECT id … ORDER BY sort, id: the whole list (with :m, :q, :disabled as used)
    std::string matches;  // SELECT 1 FROM users WHERE id = :id AND …: whether one user belongs
    std::string m, q;     // the FTS5 phrase and the folded search
    std::optional<bool> disabled;
  };

  // The list for `spec` in conn's snapshot (`now`: its max(seq)), kept or
  // brought up to date or read; null when it cannot be kept (an older snapshot).
  std::shared_ptr<const List> get(Conn& conn, const Spec& spec, int64_t now);

 private:
  std::shared_ptr<const List> find(const std::string& key) const;
  void put(const std::string& key, std::shared_ptr<const List> l);

  // Kept ids in all lists, at most: 4,000,000 (32 MB); past it all are dropped.
  static constexpr size_t kMaxIds = 4'000'000;
  static constexpr size_t kMaxLists = 64;
  // More users changed since than this: the list is read again.
  static constexpr size_t kMaxChanged = 512;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const List>> map_;
  size_t ids_ = 0;
};

}  // namespace resetd::storage
