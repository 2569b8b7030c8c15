// The data dir's lock (data_dir_lock.h).
#include "data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace resetd::cli {
namespace {

// "`resetd serve` (pid 1234)" from the holder's "1234 serve\n"; only digits and
// a command's letters are taken from the file.
std::string describe_holder(int fd) {
  char buf[64] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid, command;
  ssize_t i = 0;
  for (; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  if (i < n && buf[i] == ' ') ++i;
  for (; i < n && ((buf[i] >= 'a' && buf[i] <= 'z') || buf[i] == '-'); ++i) command += buf[i];
  if (pid.empty() || command.empty()) return "another resetd process";
  return "`resetd " + command + "` (pid " + pid + ")";
}

}  // namespace

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool DataDirLock::acquire(const std::string& dir, const std::string& command, std::string* err) {
  const std::string path = dir + "/.lock";
  bool writable = true;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && (errno == EACCES || errno == EROFS)) {
    // Someone else's lock file (root's, say), or a read-only file system:
    // locking needs no write access.
    const int first = errno;
    writable = false;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    // No lock file on a read-only file system (a snapshot mounted for
    // `check`): nothing can change the database there, so nothing to lock.
    if (fd < 0 && errno == ENOENT && first == EROFS) return true;
  }
  if (fd < 0) {
    *err = "cannot open the data dir's lock " + path + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (e == EWOULDBLOCK)
      *err = "data dir " + dir + " is in use by " + describe_holder(fd) + "; stop it first";
    else
      *err = "cannot lock the data dir " + dir + ": " + std::strerror(e);
    ::close(fd);
    return false;
  }
  if (writable) {
    // root working on the service's data dir (restore as root): the lock file
    // stays the dir owner's, so the service can still open it.
    struct stat d {};
    if (::geteuid() == 0 && ::stat(dir.c_str(), &d) == 0 && d.st_uid != 0) {
      if (::fchown(fd, d.st_uid, d.st_gid) != 0) { /* the lock works all the same */ }
    }
    const std::string line = std::to_string(::getpid()) + " " + command + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
      // A full disk: the lock still holds, only the refusal cannot name us.
    }
  }
  fd_ = fd;
  path_ = path;
  return true;
}

void DataDirLock::release_and_remove() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

}  // namespace resetd::cli
