// See edge.h. The Edge's life: construction, bind, serve, stop. The reactor is
// edge_reactor.cpp, the workers edge_workers.cpp, a connection edge_conn.*,
// what httplib reads and writes request_stream.*.
#include "edge.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "edge_conn.h"

namespace resetd::http {


Edge::Edge(EdgeLimits lim, SSL_CTX* tls, std::vector<std::string> uncapped_peers)
    : lim_(lim), tls_(tls, &SSL_CTX_free), uncapped_(std::move(uncapped_peers)) {
  set_keep_alive_timeout(std::chrono::duration_cast<std::chrono::seconds>(lim_.keep_alive_idle).count());
  set_keep_alive_max_count(lim_.max_requests_per_connection);
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
    svr_sock_ = INVALID_SOCKET;
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

}  // namespace resetd::http
