// "Add users from a CSV file": what AccountService::import_users reports.
#pragma once

#include <string>
#include <vector>

#include "resetd/storage/store.h"

namespace resetd::accounts {

// The columns of the template, in its order. Import also takes `language` for
// `locale`, and ignores the export's read-only columns (id, disabled,
// created_at, ...); any other column is refused.
inline const std::vector<std::string>& import_columns() {
  static const std::vector<std::string> c = {"username", "display_name", "email",
                                             "alternate_email", "locale", "role"};
  return c;
}

inline constexpr int kImportMaxRows = 100;

// One problem with one row of the file: `row` as the spreadsheet numbers it
// (1 is the header), `field` the column at fault (empty: the whole row).
struct ImportRowError {
  int row = 0;
  std::string field;
  std::string code;
  std::string message;
};

struct ImportedUser {
  int row = 0;
  storage::UserRecord user;
  std::vector<storage::OutboxRecord> notifications;  // the welcome mail
};

// Either `errors` (nothing was created) or the users created (none when dry run).
struct ImportReport {
  int rows = 0;  // data rows in the file
  std::vector<ImportRowError> errors;
  std::vector<ImportedUser> created;
};

}  // namespace resetd::accounts
