// The storage module's private SQLite connection type, shared by the store
// (sqlite_store.cpp), its transactions (sqlite_tx.cpp) and the query files
// beside them (intent_queries.cpp, outbox_queries.cpp, ...).
// Included only inside storage/src.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace resetd::storage {

// One SQLite connection and the statements prepared on it, kept for its
// lifetime (preparing costs more than running most of our queries). Used by
// one thread at a time (the store's locks see to that).
class Conn {
 public:
  explicit Conn(std::unique_ptr<SQLite::Database> d) : db(std::move(d)) {}
  // The cached statement for `sql`, reset and with no bindings.
  SQLite::Statement& stmt(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<SQLite::Statement>(*db, sql)).first;
    SQLite::Statement& s = *it->second;
    s.reset();
    s.clearBindings();
    used_.push_back(&s);
    return s;
  }
  // Resets every statement used since the last call: a statement left
  // mid-step would keep its read snapshot (and WAL frames) pinned after COMMIT.
  void reset_used() noexcept {
    for (SQLite::Statement* s : used_) {
      try {
        s->reset();
      } catch (...) {
      }
    }
    used_.clear();
  }
  std::unique_ptr<SQLite::Database> db;
  // PRAGMA data_version as this connection last saw it; -1: never looked.
  int64_t data_version = -1;

 private:
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> cache_;
  std::vector<SQLite::Statement*> used_;
};

}  // namespace resetd::storage
