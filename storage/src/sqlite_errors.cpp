#include "sqlite_errors.h"

#include <sqlite3.h>
#include <sys/statvfs.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace resetd::storage {
namespace {
// Less room than SQLite needs for its shared-memory index and a few pages.
constexpr unsigned long long kTooLittleFreeBytes = 256 * 1024;
}  // namespace


bool disk_is_full(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return false;
  return static_cast<unsigned long long>(v.f_bavail) * v.f_frsize < kTooLittleFreeBytes;
}

std::string full_disk_message(const std::string& dir) {
  struct statvfs v {};
  unsigned long long free_kib = 0;
  if (::statvfs(dir.c_str(), &v) == 0)
    free_kib = static_cast<unsigned long long>(v.f_bavail) * v.f_frsize / 1024;
  return "the data disk is full: the file system holding " + dir + " has " +
         std::to_string(free_kib) +
         " KiB free, too little to open the database. Nothing stored was lost. Free some space "
         "on that file system (old snapshots in " +
         (fs::path(dir) / "backups").string() + ", .eml files in " + (fs::path(dir) / "mail").string() +
         ", other programs' files or logs) or grow it, then start resetd again";
}

StorageError translate(const SQLite::Exception& e) {
  using K = StorageError::Kind;
  const int code = e.getErrorCode() & 0xff;
  K k = K::Other;
  switch (code) {
    case SQLITE_FULL: k = K::Full; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: k = K::Busy; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: k = K::Corrupt; break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN: k = K::ReadOnly; break;
    case SQLITE_CONSTRAINT: k = K::Constraint; break;
    case SQLITE_IOERR:
      // ENOSPC while growing the WAL surfaces as an I/O error on some paths.
      k = (e.getExtendedErrorCode() == SQLITE_IOERR_WRITE) ? K::Full : K::Other;
      break;
    default: break;
  }
  return StorageError(k, std::string("sqlite: ") + e.what());
}

}  // namespace resetd::storage
