// `resetd init`, `check`, `backup` and `restore`: the data dir as a whole.
// init, check and restore hold the data dir's lock (data_dir_lock.h); backup
// is an online snapshot and runs beside `serve`.
#include <filesystem>
#include <iostream>

#include "commands.h"

namespace fs = std::filesystem;

namespace resetd::cli {

int cmd_init(Runtime& rt, const std::string& admin, const std::string& email, bool password_stdin) {
  const fs::path dir(rt.cfg.data_dir);
  std::string pw;
  if (int rc = password_from_stdin(password_stdin, &pw); rc != kOk) return rc;
  std::error_code ec;
  const bool dir_existed = fs::exists(dir, ec);
  if (!rt.lock_data_dir("init")) return kFail;
  if (fs::exists(dir / "resetd.db")) {
    // A database without users (left by an older init that the policy refused)
    // gets its first admin now, as `serve` would give it one; one with users
    // is initialized (counted as is: init never migrates a database it
    // then refuses).
    int64_t users = 0;
    try {
      open_as_is(rt.cfg.data_dir)->read([&](storage::Reader& r) { users = r.count_users(); });
    } catch (const storage::StorageError& e) {
      std::cerr << "resetd: " << e.what() << "\n";
      return kFail;
    }
    if (users > 0) {
      std::cerr << "resetd: " << rt.cfg.data_dir << " is already initialized\n";
      return kFail;
    }
    if (!rt.open(false)) return kFail;
    return create_first_admin(rt, admin, email, pw);
  }
  const bool key_existed = fs::exists(dir / "secret.key", ec);
  const int rc = rt.open(true) ? create_first_admin(rt, admin, email, pw) : kFail;
  if (rc == kOk) return kOk;
  // Refused (a password the policy rejects, a bad name) or failed: leave
  // nothing behind, so that the next init starts from the same place.
  rt.close();
  if (!dir_existed) {
    rt.lock.release_and_remove();
    fs::remove_all(dir, ec);
    return rc;
  }
  for (const char* f : {"resetd.db", "resetd.db-wal", "resetd.db-shm", "resetd.clean", "initial-admin-password"})
    fs::remove(dir / f, ec);
  if (!key_existed) fs::remove(dir / "secret.key", ec);
  return rc;
}

int cmd_check(Runtime& rt) {
  std::error_code ec;
  if (fs::is_directory(rt.cfg.data_dir, ec) && !rt.lock_data_dir("check")) return kFail;
  try {
    auto st = open_as_is(rt.cfg.data_dir);
    std::string r = st->integrity_check();
    if (r != "ok") {
      std::cerr << "resetd: integrity check failed: " << r << "\n";
      return kFail;
    }
    std::cout << "ok (schema " << st->schema_version() << ")\n";
    return kOk;
  } catch (const storage::StorageError& e) {
    std::cerr << "resetd: " << e.what() << "\n";
    return kFail;
  }
}

int cmd_backup(Runtime& rt, const std::string& to) {
  if (fs::exists(to)) {
    std::cerr << "resetd: " << to << " already exists\n";
    return kFail;
  }
  try {
    auto st = open_as_is(rt.cfg.data_dir);
    st->backup_to(to);
    std::cout << "backup written to " << to << " (the secret key is not included)\n";
    return kOk;
  } catch (const storage::StorageError& e) {
    std::cerr << "resetd: " << e.what() << "\n";
    return kFail;
  }
}

int cmd_restore(Runtime& rt, const std::string& from) {
  if (!fs::exists(from)) {
    std::cerr << "resetd: no such file " << from << "\n";
    return kFail;
  }
  // The lock keeps `serve` (and a second restore) out while the files change.
  if (!rt.lock_data_dir("restore")) return kFail;
  // Check the snapshot in a scratch dir before it replaces anything.
  fs::path scratch = fs::path(rt.cfg.data_dir) / ".restore";
  std::error_code ec;
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch);
  fs::copy_file(from, scratch / "resetd.db");
  try {
    auto st = open_as_is(scratch.string());
    if (st->integrity_check() != "ok")
      throw storage::StorageError(storage::StorageError::Kind::Corrupt, "snapshot is damaged");
  } catch (const storage::StorageError& e) {
    fs::remove_all(scratch, ec);
    std::cerr << "resetd: " << from << ": " << e.what() << "\n";
    return kFail;
  }
  fs::path db = fs::path(rt.cfg.data_dir) / "resetd.db";
  fs::remove(db.string() + "-wal", ec);
  fs::remove(db.string() + "-shm", ec);
  fs::rename(scratch / "resetd.db", db);
  fs::remove_all(scratch, ec);
  std::cout << "restored " << from << " into " << rt.cfg.data_dir << "\n";
  return kOk;
}

}  // namespace resetd::cli
