// Edge: the connection layer under cpp-httplib. httplib 0.11.4 keeps one
// worker per connection from accept to close, reads heads without bounds and
// times out per recv(), so slow, idle or flooding clients hold its workers.
// Here one reactor thread (epoll) owns every connection while it is not
// serving a request: it accepts, caps connections per peer, runs the TLS
// handshake, reads and frames each request (request_framer.h) against a
// total deadline, and parks idle keep-alive connections. Only a complete
// request (head and body in memory) is handed to a worker, which runs
// httplib's process_request on it and hands the connection back.
// Workers never wait for a client's bytes; they only write the answer.
//
// Thread-safety: start/stop from one thread; everything else is internal.
#pragma once

#include <httplib.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "request_framer.h"

namespace resetd::http {

struct EdgeLimits {
  FrameLimits frame;
  // A request's head and body must arrive within this time, counted from
  // accept (TLS handshake included) for the first request and from its
  // first byte for later ones on a keep-alive connection.
  std::chrono::milliseconds request_deadline{10000};
  std::chrono::milliseconds keep_alive_idle{5000};  // parked, no worker held
  size_t max_requests_per_connection = 100;
  std::chrono::milliseconds write_deadline{10000};  // one whole answer
  size_t max_connections = 512;
  size_t max_per_peer = 32;  // trusted proxies are exempt
  size_t workers = 8;
};

class Edge final : public httplib::Server {
 public:
  // `tls`: a configured server SSL_CTX (owned from now on), or null for plain HTTP.
  Edge(EdgeLimits lim, SSL_CTX* tls, std::vector<std::string> uncapped_peers);
  ~Edge() override;
  // Binds (port 0: any free port); the bound port, or -1.
  int bind(const std::string& host, int port);
  // Runs the reactor and workers until stop(); call on a dedicated thread.
  void serve();
  void stop();

  struct Conn;

 private:
  void reactor_loop();
  void worker_loop();
  void accept_all();
  void on_io(Conn& c);
  void try_frame(Conn& c);
  void dispatch(Conn& c);
  void take_back();
  void sweep(std::chrono::steady_clock::time_point now);
  void reject(Conn& c, int status, const char* code, const char* message);
  void linger(Conn& c);
  void close_conn(int fd);
  void watch(Conn& c, bool add);
  bool evict_idle();
  void refuse_fd(int fd);
  void serve_one(Conn& c);

  EdgeLimits lim_;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls_;
  std::vector<std::string> uncapped_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point listen_paused_until_{};
  bool listen_paused_ = false;

  // reactor-only
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;  // every open connection's owner slot
  std::unordered_map<std::string, size_t> per_peer_;
  size_t open_ = 0;

  // reactor -> workers
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Conn>> ready_;
  // workers -> reactor
  std::deque<std::unique_ptr<Conn>> returned_;
  std::vector<std::thread> workers_;
};

}  // namespace resetd::http
