// See edge_conn.h.
#include "edge_conn.h"

#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace resetd::http {

Edge::Conn::~Conn() {
  if (ssl) SSL_free(ssl);
  if (fd >= 0) ::close(fd);
}

ssize_t Edge::Conn::read_some(char* buf, size_t n) {
  if (ssl) {
    ERR_clear_error();
    const int r = SSL_read(ssl, buf, static_cast<int>(n));
    if (r > 0) return r;
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) return -1;
    if (e == SSL_ERROR_WANT_WRITE) {
      want_write = true;
      return -1;
    }
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
  }
  const ssize_t r = ::recv(fd, buf, n, 0);
  if (r >= 0) return r;
  return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

bool Edge::Conn::write_all(const char* p, size_t n, SteadyClock::time_point until) {
  while (n > 0) {
    ssize_t w = -1;
    bool wait_read = false;
    if (ssl) {
      ERR_clear_error();
      const int r = SSL_write(ssl, p, static_cast<int>(std::min<size_t>(n, 1 << 20)));
      if (r > 0) {
        w = r;
      } else {
        const int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) wait_read = true;
        else if (e != SSL_ERROR_WANT_WRITE) return false;
      }
    } else {
      w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    }
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now()).count();
    if (left <= 0) return false;
    pollfd pf{fd, static_cast<short>(wait_read ? POLLIN : POLLOUT), 0};
    if (::poll(&pf, 1, static_cast<int>(left)) < 0 && errno != EINTR) return false;
  }
  return true;
}

}  // namespace resetd::http
