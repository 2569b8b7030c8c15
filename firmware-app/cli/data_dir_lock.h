// The data dir's lock: `serve`, `restore`, `init` and `check` each hold it for
// their whole run, so `restore` never replaces (or deletes the -wal/-shm of) a
// database that a running `serve` has open, and two services never share one
// data dir. `backup` and the `user` commands do not take it: SQLite's WAL lets
// them run beside `serve`.
//
// The lock is flock(LOCK_EX) on data_dir/.lock, which holds "<pid> <command>"
// of its holder so the refusal can name it. The kernel drops it when the
// holder's descriptor closes, also when the process is killed (no stale lock to
// clean up after a crash); O_CLOEXEC keeps it out of any program we start.
#pragma once

#include <string>

namespace resetd::cli {

class DataDirLock {
 public:
  DataDirLock() = default;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

  // Takes the lock of the existing directory `dir` for `command` ("serve", ...)
  // without waiting. False with *err when another process holds it ("data dir
  // /x is in use by `resetd serve` (pid 1234); stop it first") or it cannot be
  // taken. The lock is held until this object is destroyed.
  bool acquire(const std::string& dir, const std::string& command, std::string* err);

  // Gives the lock up and removes the lock file (init that made the dir and
  // removes it again on failure).
  void release_and_remove();

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace resetd::cli
