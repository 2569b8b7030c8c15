// See ldap_transport.h.
#include "ldap_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace resetd::directory {
namespace {

Failure connect_failure(int err) {
  if (err == ECONNREFUSED) return Failure::Refused;
  if (err == ETIMEDOUT) return Failure::Timeout;
  return Failure::Other;
}

}  // namespace

Connected connect_tcp(const ServerUrl& u, int timeout_s) {
  Connected out;
  const std::string where = u.canonical();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const int g = ::getaddrinfo(u.host.c_str(), std::to_string(u.port).c_str(), &hints, &res);
  if (g != 0) {
    bool unknown = g == EAI_NONAME || g == EAI_FAIL;
#ifdef EAI_NODATA
    unknown = unknown || g == EAI_NODATA;
#endif
    out.failure = unknown ? Failure::NameNotFound : Failure::Other;
    out.text = where + ": name " + u.host + ": " + ::gai_strerror(g);
    return out;
  }
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::seconds(timeout_s);
  out.failure = Failure::Other;
  out.text = where + ": no address to connect to";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      out.failure = Failure::Timeout;
      out.text = where + ": connect: no answer within " + std::to_string(timeout_s) + " s";
      break;
    }
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      out.text = where + ": socket: " + std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int n;
        do n = ::poll(&p, 1, static_cast<int>(left));
        while (n < 0 && errno == EINTR);
        if (n == 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof err;
          err = 0;
          if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno ? errno : EIO;
        }
      }
    }
    if (err == 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      ::freeaddrinfo(res);
      return {fd, Failure::None, ""};
    }
    ::close(fd);
    out.failure = connect_failure(err);
    out.text = where + ": connect: " +
               (err == ETIMEDOUT ? "no answer within " + std::to_string(timeout_s) + " s" : std::strerror(err));
  }
  ::freeaddrinfo(res);
  return out;
}

Watchdog::Watchdog(int fd, int seconds)
    : thread_([this, fd, seconds] {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) {
          fired_ = true;
          ::shutdown(fd, SHUT_RDWR);
        }
      }) {}

bool Watchdog::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return fired_;
}

}  // namespace resetd::directory
