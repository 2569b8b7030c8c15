// See edge.h. The Edge's life: construction, bind, serve, stop. The reactor is
// edge_reactor.cpp and edge_reading.cpp, the workers edge_workers.cpp, a
// connection edge_conn.*, the answers httplib_adapter.*.
#include "edge.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "edge_conn.h"

namespace resetd::http {


Edge::Edge(EdgeLimits lim, SSL_CTX* tls, std::vector<std::string> uncapped_peers, Responder respond)
    : lim_(lim), respond_(std::move(respond)), tls_(tls, &SSL_CTX_free), uncapped_(std::move(uncapped_peers)) {
  // OpenSSL keeps its read and write record buffers (~17 kB each) for a
  // connection's whole life unless told to release them when empty: an idle
  // keep-alive TLS connection then costs ~14 kB of heap instead of ~47 kB
  // (OpenSSL 3.0's SSL_new alone is 8.3 kB, the floor).
  if (tls_) SSL_CTX_set_mode(tls_.get(), SSL_MODE_RELEASE_BUFFERS);
}

Edge::~Edge() {
  stop();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (work_fd_ >= 0) ::close(work_fd_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

namespace {
// A listening socket on the first address `host` resolves to that binds (as
// httplib did: getaddrinfo, an IPv6 socket also takes IPv4), or -1.
int listen_on(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1, no = 0;
    // Restart while old connections sit in TIME_WAIT. Not SO_REUSEPORT (httplib
    // set it): a second process must not be able to share the port.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 128) == 0) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

int bound_port(int fd) {
  sockaddr_storage a{};
  socklen_t n = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) != 0) return -1;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return -1;
}
}  // namespace

int Edge::bind(const std::string& host, int port) {
  listen_fd_ = listen_on(host, port);
  if (listen_fd_ < 0) return -1;
  const int bound = bound_port(listen_fd_);
  if (bound <= 0) return -1;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  work_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || work_fd_ < 0) return -1;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint32_t>(listen_fd_);  // generation 0: not a connection
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.u64 = static_cast<uint32_t>(wake_fd_);
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
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

}  // namespace resetd::http
