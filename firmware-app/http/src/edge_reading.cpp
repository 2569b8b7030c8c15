// See edge.h: the reactor reading one connection: TLS handshake, framing, refusals, lingering, hand-off.
// (Its loop, accepting, the limits and the sweep: edge_reactor.cpp.)
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "edge.h"
#include "edge_conn.h"
#include "edge_reactor.h"

namespace resetd::http {

namespace {

constexpr auto kLinger = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 64u << 20;  // reading is cheap; the time bounds it

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

}  // namespace

// The error answer of spec §7, written by the connection layer itself.
std::string error_response(int status, const char* code, const char* message) {
  const std::string body = std::string("{\"error\":{\"code\":\"") + code + "\",\"message\":\"" + message + "\"}}";
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  r += "Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n";
  r += "X-Content-Type-Options: nosniff\r\nConnection: close\r\n";
  if (status == 503) r += "Retry-After: 5\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

void Edge::linger(Conn& c) {
  // Closing with unread bytes would send RST and could destroy the answer
  // before the client reads it: half-close once `out` is sent, then read and
  // drop for a while.
  if (c.pending_out()) c.close_when_sent = true;
  else half_close(c);
  c.lingering = true;
  c.want_write = false;
  std::string().swap(c.in);
  std::string().swap(c.request);
  c.pending = Frame{};
  recount(c);
  c.deadline = SteadyClock::now() + kLinger;
  watch(c, false);
}

void Edge::half_close(Conn& c) {
  if (c.ssl && c.handshaken && !c.ssl_fatal) {  // OpenSSL forbids SSL_shutdown after a fatal error
    ERR_clear_error();
    SSL_shutdown(c.ssl);
  }
  ::shutdown(c.fd, SHUT_WR);
}

void Edge::reject(Conn& c, int status, const char* code, const char* message) {
  const std::string r = error_response(status, code, message);
  if (!c.send(r.data(), r.size())) return close_conn(c.fd);
  linger(c);
}

void Edge::after_answer(Conn& c) {
  if (!c.keep) return linger(c);
  const int fd = c.fd;
  c.idle = c.in.empty();
  c.deadline = SteadyClock::now() + (c.idle ? lim_.keep_alive_idle : lim_.request_deadline);
  watch(c, false);
  // A pipelined request may already be here, or bytes inside TLS where epoll can't see them.
  if (!c.in.empty()) {
    try_frame(c);
    if (conns_.find(fd) == conns_.end() || c.lingering) return;
  }
  on_io(c);
}

void Edge::on_io(Conn& c) {
  char buf[kReadChunk];
  if (c.pending_out()) {
    const int f = c.flush();
    if (f < 0) return close_conn(c.fd);
    if (f > 0 && c.close_when_sent) {
      c.close_when_sent = false;
      half_close(c);
    }
    if (f > 0 && c.flushing_answer) {
      c.flushing_answer = false;
      return after_answer(c);
    }
    watch(c, false);
    if (c.flushing_answer) return;
  }
  if (c.lingering) {
    for (;;) {
      const ssize_t r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0 && (c.drained += static_cast<size_t>(r)) < kLingerBytes) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      return close_conn(c.fd);
    }
  }
  if (c.ssl && !c.handshaken) {
    ERR_clear_error();
    const int r = SSL_do_handshake(c.ssl);
    if (r != 1) {
      const int e = SSL_get_error(c.ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return close_conn(c.fd);
      const bool ww = e == SSL_ERROR_WANT_WRITE;
      if (ww != c.want_write) {
        c.want_write = ww;
        watch(c, false);
      }
      return;
    }
    c.handshaken = true;
  }
  const bool was_want_write = c.want_write;
  c.want_write = false;
  for (;;) {
    const ssize_t r = c.read_some(buf, sizeof buf);
    if (r > 0) {
      if (c.idle) {
        c.idle = false;
        c.deadline = SteadyClock::now() + lim_.request_deadline;
      } else if (!c.got_bytes) {
        c.deadline = c.accepted_at + lim_.request_deadline;  // past the first-byte deadline now
      }
      c.got_bytes = true;
      c.in.append(buf, static_cast<size_t>(r));
      recount(c);
      if (in_total_ > kUnfinishedBytes && shed_unfinished(c)) return;
      const int fd = c.fd;
      try_frame(c);
      if (conns_.find(fd) == conns_.end() || conns_[fd].get() != &c || c.lingering) return;
      continue;
    }
    if (r == -1) break;
    if (r == 0 && !c.in.empty()) {
      c.peer_closed = true;
      const int fd = c.fd;
      try_frame(c);
      if (conns_.find(fd) == conns_.end() || conns_[fd].get() != &c || c.lingering) return;
    }
    return close_conn(c.fd);
  }
  if (c.want_write != was_want_write) watch(c, false);
}

void Edge::try_frame(Conn& c) {
  if (!c.head_done) {
    const size_t from = c.scan_from > 3 ? c.scan_from - 3 : 0;
    const bool complete = c.in.find("\r\n\r\n", from) != std::string::npos;
    c.scan_from = c.in.size();
    if (!complete && c.in.size() <= lim_.frame.max_head) return;
    Frame f = frame_request(c.in, lim_.frame);
    if (f.kind == Frame::Kind::Reject) return reject(c, f.status, f.code, f.message);
    if (f.kind == Frame::Kind::NeedMore) {
      if (f.consumed == 0) return;  // only blank lines so far
      c.head_done = true;
      c.pending = std::move(f);
      if (c.pending.wants_continue && !c.continue_sent) {
        c.continue_sent = true;
        static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!c.send(kContinue, sizeof kContinue - 1)) return close_conn(c.fd);
        if (c.pending_out()) watch(c, false);
      }
      if (c.peer_closed) close_conn(c.fd);
      return;
    }
    c.take_request(f);
  } else {
    if (c.in.size() < c.pending.consumed) return;
    c.pending.request.append(c.in, c.pending.consumed - c.pending.body, c.pending.body);
    c.take_request(c.pending);
    c.pending = Frame{};
  }
  c.head_done = false;
  c.scan_from = 0;
  c.continue_sent = false;
  if (c.peer_closed) c.close_after = true;
  dispatch(c);
}

void Edge::dispatch(Conn& c) {
  c.ready_at = SteadyClock::now();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  in_total_ -= c.counted;  // the worker's now; counted again when it comes back
  c.counted = 0;
  auto it = conns_.find(c.fd);
  std::unique_ptr<Conn> owned = std::move(it->second);
  conns_.erase(it);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.push_back(std::move(owned));
    // More queued than idle workers to take it: end a hold (edge.h).
    if (holding_ > 0 && !work_signaled_ && ready_.size() > waiting_) {
      const uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(work_fd_, &one, sizeof one);
      work_signaled_ = true;
    }
  }
  cv_.notify_one();
}

void Edge::take_back() {
  std::deque<std::unique_ptr<Conn>> back;
  {
    std::lock_guard<std::mutex> lock(mu_);
    back.swap(returned_);
  }
  for (auto& owned : back) {
    Conn& c = *owned;
    const int fd = c.fd;
    conns_[fd] = std::move(owned);
    recount(c);
    // What of the answer the socket did not take is the reactor's to send (edge.h).
    c.flushing_answer = c.pending_out();
    if (c.flushing_answer) c.deadline = c.write_until;
    watch(c, true);
    if (!c.flushing_answer) after_answer(c);
  }
}

}  // namespace resetd::http
