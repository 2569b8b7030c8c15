// Sending audit messages to a local syslog socket without ever waiting.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "resetd/auditlog/syslog.h"

namespace resetd::auditlog {

SyslogSink::SyslogSink(std::string socket_path, SyslogIdentity id)
    : path_(std::move(socket_path)), id_(std::move(id)) {
  // Unconnected: each sendto() looks the path up again, so a syslog daemon
  // that restarted (a new socket at the same path) is found without a reconnect.
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

SyslogSink::~SyslogSink() {
  if (fd_ >= 0) ::close(fd_);
}

void SyslogSink::send(const storage::AuditRecord& a) noexcept {
  std::string m;
  try {
    m = format_rfc5424(a, id_);
  } catch (...) {  // out of memory: the row is in the database, syslog misses it
    dropped_.fetch_add(1);
    return;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  int err = EINVAL;
  if (fd_ < 0) {
    err = EBADF;
  } else if (path_.size() < sizeof addr.sun_path) {
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    if (::sendto(fd_, m.data(), m.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == static_cast<ssize_t>(m.size())) {
      sent_.fetch_add(1);
      if (failing_.exchange(false))
        std::cerr << "resetd: audit: syslog: sending to " << path_ << " works again; "
                  << dropped_.load() << " audit message(s) dropped so far\n";
      return;
    }
    err = errno;
  }
  dropped_.fetch_add(1);
  if (!failing_.exchange(true))
    std::cerr << "resetd: audit: syslog: cannot send to " << path_ << " (" << std::strerror(err)
              << "); audit messages are dropped (kept in the database) until it works again\n";
}

}  // namespace resetd::auditlog
