// See edge_conn.h.
#include "edge_conn.h"

#include <openssl/err.h>
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
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) ssl_fatal = true;  // no SSL_shutdown after this
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
  }
  const ssize_t r = ::recv(fd, buf, n, 0);
  if (r >= 0) return r;
  return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

bool Edge::Conn::send(const char* p, size_t n) {
  if (ssl_fatal) return false;
  if (pending_out()) {  // behind bytes still waiting: keep the order
    out.append(p, n);
    return true;
  }
  while (n > 0) {
    const size_t len = std::min<size_t>(n, kMaxWrite);
    const ssize_t w = write_some(p, len);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w == -2) return false;
    // Blocked: the rest waits in `out`; a TLS write that was refused is retried
    // with these same `len` bytes first (OpenSSL's rule).
    out.assign(p, n);
    out_pos = 0;
    if (ssl) tls_retry = len;
    return true;
  }
  return true;
}

int Edge::Conn::flush() {
  while (pending_out()) {
    const size_t len = tls_retry ? tls_retry : std::min<size_t>(out.size() - out_pos, kMaxWrite);
    const ssize_t w = write_some(out.data() + out_pos, len);
    if (w == -2) return -1;
    if (w == -1) {
      if (ssl) tls_retry = len;
      return 0;
    }
    tls_retry = 0;
    out_pos += static_cast<size_t>(w);
  }
  std::string().swap(out);  // an idle connection keeps no buffer
  out_pos = 0;
  return 1;
}

ssize_t Edge::Conn::write_some(const char* p, size_t n) {
  write_wants_read = false;
  if (ssl) {
    ERR_clear_error();
    const int r = SSL_write(ssl, p, static_cast<int>(n));
    if (r > 0) return r;
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_WRITE) return -1;
    if (e == SSL_ERROR_WANT_READ) {
      write_wants_read = true;
      return -1;
    }
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) ssl_fatal = true;
    return -2;
  }
  const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w >= 0) return w;
  return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

}  // namespace resetd::http
