// How SQLite failures become StorageError, and the full-disk check and message
// the store gives at open. Included only inside storage/src.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

#include "resetd/storage/store.h"

namespace resetd::storage {

// Whether the file system holding `dir` has too little room for SQLite to open.
bool disk_is_full(const std::string& dir);
// What the operator reads when it has: the cause and the way out.
std::string full_disk_message(const std::string& dir);
// The StorageError kind of a SQLite failure.
StorageError translate(const SQLite::Exception& e);

}  // namespace resetd::storage
