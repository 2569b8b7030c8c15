// The embedded migrations, in order; migration i (0-based) brings the schema
// from version i to i+1. Version is kept in PRAGMA user_version.
#pragma once

#include <string>
#include <vector>

namespace resetd::storage {
struct Migration {
  std::string name;
  std::string sql;
};
const std::vector<Migration>& migrations();
}  // namespace resetd::storage
