// See edge.h.
#include "edge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "resetd/crypto/crypto.h"

namespace resetd::http {

using SteadyClock = std::chrono::steady_clock;

namespace {
// Spec §5: a request that would wait more than this for a hash slot gets 503.
constexpr auto kSlotWait = std::chrono::seconds(5);
constexpr auto kLinger = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 64u << 20;  // reading is cheap; the time bounds it
constexpr size_t kReadChunk = 16 * 1024;
// An answer's head and small bodies are held back and sent with what follows,
// so a typical answer leaves in one send (httplib writes head and body apart).
constexpr size_t kCoalesce = 16 * 1024;
constexpr size_t kCoalesceBody = 256 * 1024;  // copied once to join its head; larger: two sends
// How long a worker keeps a kept-alive connection after answering, waiting
// for its next request (edge.h). Long enough to cover a client's turnaround
// on a loaded 2-core board, short enough that a burst of new connections
// never waits on it (queued work ends every hold at once anyway).
constexpr auto kHold = std::chrono::milliseconds(3);
// A complete request that waited this long for a worker means every worker is
// stuck (a hash slot is waited for at most kSlotWait): the heartbeat stops.
constexpr auto kStall = 4 * kSlotWait;

std::string addr_string(const sockaddr_storage& ss, int* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    *port = ntohs(a.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof buf);
    *port = ntohs(a.sin6_port);
    std::string s = buf;
    if (s.rfind("::ffff:", 0) == 0 && s.find('.') != std::string::npos) return s.substr(7);
  }
  return buf;
}

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

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

}  // namespace

struct Edge::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string peer;
  int peer_port = 0;
  std::string local;
  int local_port = 0;
  bool handshaken = false;
  bool lingering = false;
  bool want_write = false;
  bool idle = false;         // keep-alive, waiting for the next request's first byte
  bool peer_closed = false;  // EOF after some bytes: answer what is complete, then close
  std::string in;            // read, not yet handed over
  size_t scan_from = 0;
  bool head_done = false;
  Frame pending;  // head done, body still arriving
  bool continue_sent = false;
  SteadyClock::time_point deadline;
  size_t served = 0;
  size_t drained = 0;
  // the request being served
  std::string request;
  bool close_after = false;
  SteadyClock::time_point ready_at;
  bool keep = false;

  // A framed request leaves `in` for `request` (what httplib reads): the
  // reactor's framing and a worker's hold both end here.
  void take_request(Frame& f) {
    request = std::move(f.request);
    close_after = f.close_after;
    in.erase(0, f.consumed);
    if (in.empty()) std::string().swap(in);  // an idle connection keeps no buffer
  }

  ~Conn() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }

  // >0 bytes, 0 EOF, -1 nothing now, -2 error.
  ssize_t read_some(char* buf, size_t n) {
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

  // Writes everything before `until`; false on error or timeout.
  bool write_all(const char* p, size_t n, SteadyClock::time_point until) {
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
};

namespace {

// What httplib's process_request reads and writes for one request: the
// framed bytes from memory (never the socket), the answer to the socket
// within one deadline (flush() after process_request sends what is held
// back). Notes the answer's status and Connection: close.
class RequestStream final : public httplib::Stream {
 public:
  RequestStream(Edge::Conn& c, SteadyClock::time_point until) : c_(c), until_(until) {}
  bool is_readable() const override { return pos_ < c_.request.size(); }
  bool is_writable() const override { return !failed_; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t k = std::min(size, c_.request.size() - pos_);
    std::memcpy(ptr, c_.request.data() + pos_, k);
    pos_ += k;
    return static_cast<ssize_t>(k);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (failed_) return -1;
    if (!head_seen_) sniff(ptr, size);
    if (held_.size() + size <= kCoalesce) {
      held_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!held_.empty() && size <= kCoalesceBody) {
      held_.append(ptr, size);
      return flush() ? static_cast<ssize_t>(size) : -1;
    }
    if (!flush() || !c_.write_all(ptr, size, until_)) {
      failed_ = true;
      return -1;
    }
    return static_cast<ssize_t>(size);
  }
  bool flush() {
    if (!failed_ && !held_.empty() && !c_.write_all(held_.data(), held_.size(), until_)) failed_ = true;
    held_.clear();
    return !failed_;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.peer;
    port = c_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

  bool failed() const { return failed_; }
  int status() const { return status_; }
  bool says_close() const { return says_close_; }

 private:
  void sniff(const char* p, size_t n) {
    head_.append(p, std::min<size_t>(n, 16384));
    const size_t end = head_.find("\r\n\r\n");
    if (end == std::string::npos && head_.size() < 16384) return;
    head_seen_ = true;
    if (head_.size() > 12 && head_.rfind("HTTP/1.", 0) == 0) status_ = std::atoi(head_.c_str() + 9);
    std::string lower = head_.substr(0, end);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    says_close_ = lower.find("\r\nconnection: close") != std::string::npos;
    head_.clear();
  }
  Edge::Conn& c_;
  SteadyClock::time_point until_;
  size_t pos_ = 0;
  bool failed_ = false;
  bool head_seen_ = false;
  bool says_close_ = false;
  int status_ = 0;
  std::string head_;
  std::string held_;  // written by httplib, not yet sent
};

}  // namespace

Edge::Edge(EdgeLimits lim, SSL_CTX* tls, std::vector<std::string> uncapped_peers)
    : lim_(lim), tls_(tls, &SSL_CTX_free), uncapped_(std::move(uncapped_peers)) {
  set_keep_alive_timeout(std::chrono::duration_cast<std::chrono::seconds>(lim_.keep_alive_idle).count());
  set_keep_alive_max_count(lim_.max_requests_per_connection);
}

Edge::~Edge() {
  stop();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (work_fd_ >= 0) ::close(work_fd_);
}

int Edge::bind(const std::string& host, int port) {
  int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return -1;
  listen_fd_ = svr_sock_;
  ::listen(listen_fd_, 128);  // httplib listens with a backlog of 5
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  work_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || work_fd_ < 0) return -1;
  const int fl = fcntl(listen_fd_, F_GETFL);
  fcntl(listen_fd_, F_SETFL, fl | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  return bound;
}

void Edge::stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  if (wake_fd_ >= 0) [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (work_fd_ >= 0) [[maybe_unused]] auto n = ::write(work_fd_, &one, sizeof one);  // ends every hold
  cv_.notify_all();
}

void Edge::serve() {
  // Named for ps -T / top -H and the tests that count the reactor's wakeups.
  for (size_t i = 0; i < std::max<size_t>(1, lim_.workers); ++i)
    workers_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "edge-worker");
      worker_loop();
    });
  pthread_setname_np(pthread_self(), "edge-reactor");
  reactor_loop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
  conns_.clear();
  ready_.clear();
  returned_.clear();
  if (listen_fd_ >= 0) {
    svr_sock_ = INVALID_SOCKET;
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void Edge::watch(Conn& c, bool add) {
  epoll_event ev{};
  ev.events = EPOLLIN | (c.want_write ? EPOLLOUT : 0u);
  ev.data.fd = c.fd;
  epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
}

void Edge::reactor_loop() {
  epoll_event evs[64];
  auto last_sweep = SteadyClock::now();
  while (!stopping_) {
    const int n = epoll_wait(epoll_fd_, evs, 64, 100);
    for (int i = 0; i < n && !stopping_; ++i) {
      const int fd = evs[i].data.fd;
      if (fd == listen_fd_) {
        accept_all();
      } else if (fd == wake_fd_) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
        take_back();
      } else if (auto it = conns_.find(fd); it != conns_.end()) {
        on_io(*it->second);
      }
    }
    const auto now = SteadyClock::now();
    if (now - last_sweep >= std::chrono::milliseconds(100)) {
      sweep(now);
      last_sweep = now;
      if (heartbeat_ && !workers_stalled(now)) heartbeat_();
    }
  }
}

bool Edge::workers_stalled(SteadyClock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  return !ready_.empty() && now - ready_.front()->ready_at > kStall;
}

void Edge::refuse_fd(int fd) {
  if (!tls_) {
    const std::string r = error_response(503, "busy", "Too many connections; try again in a few seconds.");
    [[maybe_unused]] auto w = ::send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::close(fd);
}

bool Edge::evict_idle() {
  Conn* oldest = nullptr;
  for (auto& [fd, c] : conns_)
    if (c->idle && c->in.empty() && !c->lingering && (!oldest || c->deadline < oldest->deadline)) oldest = c.get();
  if (!oldest) return false;
  close_conn(oldest->fd);
  return true;
}

void Edge::accept_all() {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop polling the listener for a moment instead of spinning.
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        listen_paused_ = true;
        listen_paused_until_ = SteadyClock::now() + std::chrono::milliseconds(100);
      }
      return;
    }
    int port = 0;
    std::string peer = addr_string(ss, &port);
    const bool capped = std::find(uncapped_.begin(), uncapped_.end(), peer) == uncapped_.end();
    if (capped && per_peer_[peer] >= lim_.max_per_peer) {
      refuse_fd(fd);
      continue;
    }
    if (open_ >= lim_.max_connections && !evict_idle()) {
      refuse_fd(fd);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->peer = std::move(peer);
    c->peer_port = port;
    sockaddr_storage ls{};
    socklen_t llen = sizeof ls;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ls), &llen) == 0) c->local = addr_string(ls, &c->local_port);
    if (tls_) {
      c->ssl = SSL_new(tls_.get());
      if (!c->ssl) {
        ::close(fd);
        c->fd = -1;
        continue;
      }
      SSL_set_fd(c->ssl, fd);
      SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
      SSL_set_accept_state(c->ssl);
    }
    c->deadline = SteadyClock::now() + lim_.request_deadline;
    ++per_peer_[c->peer];
    ++open_;
    watch(*c, true);
    conns_[fd] = std::move(c);
  }
}

void Edge::close_conn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  auto pp = per_peer_.find(it->second->peer);
  if (pp != per_peer_.end() && --pp->second == 0) per_peer_.erase(pp);
  --open_;
  conns_.erase(it);  // closing the descriptor also takes it out of epoll
}

void Edge::linger(Conn& c) {
  // Closing with unread bytes would send RST and could destroy the answer
  // before the client reads it: half-close, then read and drop for a while.
  if (c.ssl && c.handshaken) {
    ERR_clear_error();
    SSL_shutdown(c.ssl);
  }
  ::shutdown(c.fd, SHUT_WR);
  c.lingering = true;
  c.want_write = false;
  std::string().swap(c.in);
  std::string().swap(c.request);
  c.deadline = SteadyClock::now() + kLinger;
  watch(c, false);
}

void Edge::reject(Conn& c, int status, const char* code, const char* message) {
  const std::string r = error_response(status, code, message);
  if (c.ssl) {
    ERR_clear_error();
    SSL_write(c.ssl, r.data(), static_cast<int>(r.size()));
  } else {
    [[maybe_unused]] auto w = ::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  linger(c);
}

void Edge::on_io(Conn& c) {
  char buf[kReadChunk];
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
      }
      c.in.append(buf, static_cast<size_t>(r));
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
        if (c.ssl) SSL_write(c.ssl, kContinue, sizeof kContinue - 1);
        else [[maybe_unused]] auto w = ::send(c.fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
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
    if (!c.keep) {
      watch(c, true);
      linger(c);
      continue;
    }
    c.idle = c.in.empty();
    c.deadline = SteadyClock::now() + (c.idle ? lim_.keep_alive_idle : lim_.request_deadline);
    watch(c, true);
    // A pipelined request may already be here, or bytes inside TLS where epoll can't see them.
    if (!c.in.empty()) {
      try_frame(c);
      if (conns_.find(fd) == conns_.end() || c.lingering) continue;
    }
    on_io(c);
  }
}

void Edge::sweep(SteadyClock::time_point now) {
  if (listen_paused_ && now >= listen_paused_until_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    listen_paused_ = false;
  }
  std::vector<int> late;
  for (auto& [fd, c] : conns_)
    if (c->deadline <= now) late.push_back(fd);
  for (int fd : late) close_conn(fd);
}

std::unique_ptr<Edge::Conn> Edge::pop_ready() {  // mu_ held, ready_ not empty
  std::unique_ptr<Conn> c = std::move(ready_.front());
  ready_.pop_front();
  if (ready_.empty() && work_signaled_) {
    uint64_t v;
    [[maybe_unused]] auto n = ::read(work_fd_, &v, sizeof v);
    work_signaled_ = false;
  }
  return c;
}

void Edge::give_back(std::unique_ptr<Conn> c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    returned_.push_back(std::move(c));
  }
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Edge::worker_loop() {
  std::unique_ptr<Conn> c;
  for (;;) {
    if (!c) {
      std::unique_lock<std::mutex> lock(mu_);
      ++waiting_;
      cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      --waiting_;
      if (ready_.empty()) return;
      c = pop_ready();
    }
    serve_one(*c);
    std::unique_ptr<Conn> next;
    if (hold(*c, next)) continue;  // its next request is in c->request
    give_back(std::move(c));
    c = std::move(next);
  }
}

// After an answer on a kept connection: true when the connection's next
// complete request arrived within kHold and is now in c.request (served by
// this worker); false to hand it back to the reactor with whatever was read
// in c.in, and then `next` may hold a queued connection this worker took.
bool Edge::hold(Conn& c, std::unique_ptr<Conn>& next) {
  if (!c.keep || !c.in.empty() || stopping_) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready_.empty()) return false;
    ++holding_;  // from here on dispatch() signals work_fd_ instead of letting a request wait
  }
  struct Unhold {
    Edge& e;
    ~Unhold() {
      std::lock_guard<std::mutex> lock(e.mu_);
      --e.holding_;
    }
  } unhold{*this};
  const auto until = SteadyClock::now() + kHold;
  // OpenSSL may already hold the next record: read before polling.
  bool readable = c.ssl && SSL_has_pending(c.ssl);
  while (!readable) {
    const auto left = until - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) return false;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    pollfd p[2] = {{c.fd, POLLIN, 0}, {work_fd_, POLLIN, 0}};
    const int n = ::ppoll(p, 2, &ts, nullptr);
    if (n < 0 && errno != EINTR) return false;
    if (stopping_) return false;
    if (n > 0 && (p[1].revents & POLLIN)) {
      // Work queued: take it and let the reactor watch this connection. Another
      // holder (or an idle worker) may have taken it already: then hold on.
      std::lock_guard<std::mutex> lock(mu_);
      if (!ready_.empty()) {
        next = pop_ready();
        return false;
      }
    }
    readable = n > 0 && p[0].revents != 0;  // POLLHUP / POLLERR too: the read says what
  }
  char buf[kReadChunk];
  for (;;) {
    const ssize_t r = c.read_some(buf, sizeof buf);
    if (r <= 0) return false;  // nothing (more) now, EOF, error or TLS wants to write: the reactor's
    c.in.append(buf, static_cast<size_t>(r));
    if (c.in.size() > lim_.frame.max_head + lim_.frame.max_body) return false;
    Frame f = frame_request(c.in, lim_.frame);
    if (f.kind == Frame::Kind::Reject) return false;  // answered and lingered by the reactor
    if (f.kind == Frame::Kind::NeedMore) continue;     // only what is already here, never waits
    c.take_request(f);
    c.ready_at = SteadyClock::now();
    return true;
  }
}

void Edge::serve_one(Conn& c) {
  RequestStream s(c, SteadyClock::now() + lim_.write_deadline);
  crypto::SlotDeadline slot(c.ready_at + kSlotWait);
  const bool last = c.close_after || stopping_ || c.served + 1 >= lim_.max_requests_per_connection;
  bool closed = false;
  const bool ok = process_request(s, last, closed, nullptr);
  s.flush();
  ++c.served;
  // httplib's own 400 means it parsed the head differently: trust nothing after it.
  c.keep = ok && !closed && !last && !s.failed() && !s.says_close() && s.status() != 400;
  std::string().swap(c.request);
}

}  // namespace resetd::http
