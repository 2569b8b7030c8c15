// See edge.h: the reactor thread, which owns every connection not serving a request: loop, accept, limits, sweep.
// (Reading, framing and handing a connection to the workers: edge_reading.cpp.)
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "edge.h"
#include "edge_conn.h"
#include "edge_reactor.h"

namespace resetd::http {

namespace {

// From accept to the first byte of a request, TLS handshake included: a
// client that connects and says nothing holds a slot no longer than this.
constexpr auto kFirstByte = std::chrono::seconds(5);
// Freed buffers are returned to the system once this much was freed: a
// flood's memory does not stay pinned in malloc's free lists after it.
constexpr size_t kTrimAfter = 2u << 20;
constexpr size_t kTrimTail = 256u << 10;
constexpr size_t kTlsConnBytes = 14u << 10;  // OpenSSL's state of an idle TLS connection, measured

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

// Who a connection counts against: its IPv4 address, or its IPv6 /64 (one
// host's privacy addresses are one network, not 2^64 peers).
std::string peer_group(const sockaddr_storage& ss, const std::string& peer) {
  if (ss.ss_family != AF_INET6 || peer.find(':') == std::string::npos) return peer;  // v4, v4-mapped
  in6_addr a = reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr;
  std::memset(a.s6_addr + 8, 0, 8);
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &a, buf, sizeof buf);
  return std::string(buf) + "/64";
}

}  // namespace

void Edge::watch(Conn& c, bool add) {
  epoll_event ev{};
  // An answer being flushed: no reading meanwhile (its next request waits in
  // the socket), unless TLS needs to read to go on writing.
  if (c.flushing_answer) ev.events = EPOLLOUT | (c.write_wants_read ? EPOLLIN : 0u);
  else ev.events = EPOLLIN | (c.want_write || c.pending_out() ? EPOLLOUT : 0u);
  ev.data.u64 = event_key(c);
  epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
}

void Edge::reactor_loop() {
  epoll_event evs[64];
  auto last_sweep = SteadyClock::now();
  while (!stopping_) {
    const int n = epoll_wait(epoll_fd_, evs, 64, 100);
    for (int i = 0; i < n && !stopping_; ++i) {
      // A connection's events carry its generation (edge_conn.h): one closed
      // earlier in this batch, its descriptor number reused by accept4, must
      // not have its events delivered to the new connection.
      const int fd = static_cast<int>(evs[i].data.u64 & 0xffffffffu);
      const auto gen = static_cast<uint32_t>(evs[i].data.u64 >> 32);
      if (fd == listen_fd_) {
        accept_all();
      } else if (fd == wake_fd_) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
        take_back();
      } else if (auto it = conns_.find(fd); it != conns_.end() && it->second->gen == gen) {
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

// A complete request that waited this long for a worker means every worker is
// stuck (a hash slot is waited for at most 5 s, spec §5): the heartbeat stops.
bool Edge::workers_stalled(SteadyClock::time_point now) {
  constexpr auto kStall = std::chrono::seconds(20);
  std::lock_guard<std::mutex> lock(mu_);
  return !ready_.empty() && now - ready_.front()->ready_at > kStall;
}

void Edge::refuse_fd(int fd, const char* message) {
  if (!tls_) {
    const std::string r = error_response(503, "busy", message);
    [[maybe_unused]] auto w = ::send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::close(fd);
}

// The address (IPv6: /64) holding the most slots; nullptr when none.
const std::string* Edge::busiest_group() const {
  const std::string* top = nullptr;
  size_t most = 0;
  for (auto& [group, n] : per_peer_)
    if (n > most) {
      most = n;
      top = &group;
    }
  return top;
}

// Under pressure: the connection still reading a request (or handshaking,
// lingering, or waiting for its client to read an answer) nearest its
// deadline, of the address holding the most slots; of any address if that
// one has none here (all at workers).
bool Edge::evict_incomplete() {
  const std::string* top = busiest_group();
  Conn* pick = nullptr;
  for (int pass = 0; pass < 2 && !pick; ++pass)
    for (auto& [fd, c] : conns_)
      if (!c->idle && (pass == 1 || (top && c->group == *top)) &&
          (!pick || c->deadline < pick->deadline))
        pick = c.get();
  if (!pick) return false;
  close_conn(pick->fd);
  return true;
}

bool Edge::evict_idle() {
  Conn* oldest = nullptr;
  for (auto& [fd, c] : conns_)
    if (c->idle && c->in.empty() && !c->lingering && (!oldest || c->deadline < oldest->deadline)) oldest = c.get();
  if (!oldest) return false;
  close_conn(oldest->fd);
  return true;
}

// A queued connection (its request framed, no worker free yet) of the address
// holding the most slots, else of any, nearest its deadline: under pressure a
// flood's queued requests go before a new client is refused (the reactor
// itself may hold none: everything at or waiting for the workers).
bool Edge::evict_queued() {
  std::unique_ptr<Conn> victim;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string* top = busiest_group();
    auto pick = ready_.end();
    for (int pass = 0; pass < 2 && pick == ready_.end(); ++pass)
      for (auto it = ready_.begin(); it != ready_.end(); ++it)
        if ((pass == 1 || (top && (*it)->group == *top)) &&
            (pick == ready_.end() || (*it)->deadline < (*pick)->deadline))
          pick = it;
    if (pick == ready_.end()) return false;
    victim = std::move(*pick);
    ready_.erase(pick);
    if (ready_.empty() && work_signaled_) {  // as pop_ready: nothing queued ends a hold now
      uint64_t v;
      [[maybe_unused]] auto n = ::read(work_fd_, &v, sizeof v);
      work_signaled_ = false;
    }
  }
  freed_ += victim->ssl ? kTlsConnBytes : 0;  // its buffers were uncounted at dispatch
  auto pp = per_peer_.find(victim->group);
  if (pp != per_peer_.end() && --pp->second == 0) per_peer_.erase(pp);
  --open_;
  return true;  // ~Conn closes it
}

// All slots taken: answers the workers handed back become the reactor's again
// (and evictable), then an idle connection goes, else an incomplete one, else
// a queued one.
bool Edge::make_room() {
  take_back();
  return open_ < lim_.max_connections || evict_idle() || evict_incomplete() || evict_queued();
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
    std::string group = peer_group(ss, peer);
    const bool capped = std::find(uncapped_.begin(), uncapped_.end(), peer) == uncapped_.end();
    const auto held = per_peer_.find(group);  // no entry for a refused address
    if (capped && held != per_peer_.end() && held->second >= lim_.max_per_peer) {
      // Behind a reverse proxy every client is one address: say so.
      const std::string why =
          "Too many connections from your address (at most " + std::to_string(lim_.max_per_peer) +
          " at once); try again in a few seconds. A reverse proxy in front of resetd must be listed in "
          "trusted_proxies.";
      refuse_fd(fd, why.c_str());
      continue;
    }
    if (open_ >= lim_.max_connections && !make_room()) {
      refuse_fd(fd, "Too many connections; try again in a few seconds.");
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->peer = std::move(peer);
    c->group = std::move(group);
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
    c->accepted_at = SteadyClock::now();
    c->deadline = c->accepted_at + std::min<SteadyClock::duration>(kFirstByte, lim_.request_deadline);
    c->gen = ++generation_ == 0 ? ++generation_ : generation_;  // 0: the listener and wake_fd_
    ++per_peer_[c->group];
    ++open_;
    watch(*c, true);
    conns_[fd] = std::move(c);
  }
}

void Edge::recount(Conn& c) {
  const size_t now = c.in.capacity() + c.pending.request.capacity();
  if (now < c.counted) freed_ += c.counted - now;
  in_total_ = in_total_ - c.counted + now;
  c.counted = now;
}

bool Edge::shed_unfinished(const Conn& current) {
  bool closed_current = false;
  while (in_total_ > kUnfinishedBytes) {
    Conn* big = nullptr;
    for (auto& [fd, c] : conns_)
      if (c->counted > 0 && (!big || c->counted > big->counted)) big = c.get();
    if (!big) break;
    closed_current = closed_current || big == &current;
    close_conn(big->fd);
  }
  return closed_current;
}

void Edge::close_conn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  in_total_ -= it->second->counted;
  freed_ += it->second->counted + (it->second->ssl ? kTlsConnBytes : 0);
  auto pp = per_peer_.find(it->second->group);
  if (pp != per_peer_.end() && --pp->second == 0) per_peer_.erase(pp);
  --open_;
  conns_.erase(it);  // closing the descriptor also takes it out of epoll
}

void Edge::sweep(SteadyClock::time_point now) {
  if (listen_paused_ && now >= listen_paused_until_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint32_t>(listen_fd_);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    listen_paused_ = false;
  }
  // Trimmed once 2 MiB were freed, and the tail of a burst of closes once they
  // have stopped for a second: else up to 2 MiB of it stayed resident.
  if (freed_ != freed_seen_) {
    freed_seen_ = freed_;
    freed_quiet_since_ = now;
  }
  if (freed_ >= kTrimAfter || (freed_ >= kTrimTail && now - freed_quiet_since_ >= std::chrono::seconds(1))) {
    malloc_trim(0);
    freed_ = freed_seen_ = 0;
  }
  std::vector<int> late;
  for (auto& [fd, c] : conns_)
    if (c->deadline <= now) late.push_back(fd);
  for (int fd : late) close_conn(fd);
}

}  // namespace resetd::http
