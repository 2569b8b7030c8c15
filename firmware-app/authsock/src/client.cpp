// Client side of the auth socket, for `resetd auth-check`.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "resetd/authsock/auth_socket.h"

namespace resetd::authsock {

Result<AuthReply> ask(const std::string& path, const AuthRequest& r, int timeout_ms) {
  auto line = encode_request(r);
  if (!line) return line.error();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error("bad_request", "socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto ms_left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
        .count();
  };
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error("service_unavailable", std::string("socket: ") + strerror(errno));
  // Non-blocking: a stopped service with a full backlog answers EAGAIN
  // (a Unix socket has no connect in progress to wait for), so retry briefly.
  for (;;) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    const int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN && ms_left() > 0) {
      ::usleep(20000);
      continue;
    }
    ::close(fd);
    if (e == EAGAIN) return make_error("timeout", "resetd did not accept the connection in time");
    std::string why = e == EACCES ? "permission denied (not in the socket's group?)"
                      : (e == ENOENT || e == ECONNREFUSED) ? "resetd is not running or [pam] is off"
                                                            : strerror(e);
    return make_error("service_unavailable", "cannot reach " + path + ": " + why);
  }
  std::string out = std::move(line.value());
  size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && ms_left() > 0) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, ms_left())));
      continue;
    }
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  explicit_bzero(out.data(), out.size());
  std::string in;
  char buf[512];
  while (in.find('\n') == std::string::npos && in.size() < 8192) {
    const auto left = ms_left();
    if (left <= 0) {
      ::close(fd);
      return make_error("timeout", "resetd did not answer in time");
    }
    pollfd p{fd, POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t lf = in.find('\n');
  if (lf == std::string::npos) return make_error("service_unavailable", "resetd closed the connection without an answer");
  return decode_reply(in.substr(0, lf));
}

}  // namespace resetd::authsock
