// Edge: the connection layer. (cpp-httplib 0.11.4's own server keeps one
// worker per connection from accept to close, reads heads without bounds and
// times out per recv(), so slow, idle or flooding clients hold its workers;
// Edge owns the sockets instead and uses httplib only through
// httplib_adapter.h, a request in and an answer out.) One reactor thread (epoll) owns every connection while it is not
// serving a request: it accepts, caps connections per peer, runs the TLS
// handshake, reads and frames each request (request_framer.h) against a
// total deadline, and parks idle keep-alive connections. Only a complete
// request (head and body in memory) is handed to a worker, which has it
// answered (the Responder: httplib_adapter.h) and hands the connection back.
// Workers never wait for a client's bytes beyond a short hold, nor for a
// client to read: a worker writes what the socket takes of the answer now
// and hands the rest, in the connection's output buffer, to the reactor,
// which sends it on EPOLLOUT within write_deadline. Everything the reactor
// sends (100 Continue, refusals) goes through the same buffer, in order.
//
// The hold: handing a keep-alive connection back and taking its next request
// costs two thread switches and about five syscalls (eventfd, epoll_ctl,
// epoll_wait, ...), most of a cheap request's time. So a worker that kept a
// connection, has none of its bytes left over, and sees no complete request
// queued, first waits up to EdgeLimits::hold (3 ms unless configured:
// server.keep_alive_hold_ms) for the next request on that
// socket itself: poll() on the socket and on work_fd_, which dispatch()
// signals whenever it queues a request that no idle worker will take. A
// complete request read within the hold (request_framer.h, non-blocking
// reads only) is served by the same worker at once; anything else (a part of
// a request, 100-continue, a refusal, EOF, an error, TLS wanting to write,
// the hold running out, work waiting, stop) sends the connection back to
// the reactor with what was read, which frames it as if it had read it
// itself. So a worker never waits for the rest of a request, a queued
// request waits for a holder no longer than one wakeup, and every deadline,
// the per-connection cap and the hash-slot rule (counted from the moment a
// request is complete) apply as before; a request whose first bytes came
// during a hold has its deadline counted from the hand-back, at most the hold
// later.
//
// Files: edge.cpp (life: bind, serve, stop), edge_reactor.cpp (the reactor's
// loop, accept, limits, sweep), edge_reading.cpp (the reactor reading and
// framing a connection; edge_reactor.h what the two share), edge_workers.cpp
// (the workers and the hold), edge_conn.* (a connection's socket and TLS
// I/O); httplib_adapter.* turns a request into an answer.
//
// Thread-safety: start/stop from one thread; everything else is internal.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "httplib_adapter.h"
#include "request_framer.h"

namespace resetd::http {

struct EdgeLimits {
  FrameLimits frame;
  // A request's head and body must arrive within this time, counted from
  // accept (TLS handshake included) for the first request and from its
  // first byte for later ones on a keep-alive connection.
  // Before that, the first byte (TLS handshake included) within 5 s of accept.
  std::chrono::milliseconds request_deadline{10000};
  std::chrono::milliseconds keep_alive_idle{5000};  // parked, no worker held
  size_t max_requests_per_connection = 100;
  std::chrono::milliseconds write_deadline{10000};  // one whole answer
  size_t max_connections = 512;
  // Per IPv4 address or IPv6 /64; trusted proxies are exempt. When all
  // max_connections are taken, the oldest idle keep-alive connection goes,
  // else the incomplete one nearest its deadline of the address holding most.
  size_t max_per_peer = 32;
  size_t workers = 8;
  // The hold (above): how long a worker waits for a kept connection's next
  // request itself; zero: it hands the connection back at once.
  std::chrono::milliseconds hold{3};
};

// Answers one complete request; called on the worker threads at once.
using Responder = std::function<Answer(const Inbound&)>;

class Edge final {
 public:
  // `tls`: a configured server SSL_CTX (owned from now on), or null for plain HTTP.
  Edge(EdgeLimits lim, SSL_CTX* tls, std::vector<std::string> uncapped_peers, Responder respond);
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;
  // Binds (port 0: any free port); the bound port, or -1.
  int bind(const std::string& host, int port);
  // Runs the reactor and workers until stop(); call on a dedicated thread.
  void serve();
  // Called by the reactor about every 100 ms while it serves: it accepts and
  // reads, and no complete request has waited longer than kStall for a worker
  // (all workers wedged). systemd's watchdog ping goes here (cli/serve.cpp),
  // so a wedged service stops pinging. Set before serve().
  void set_heartbeat(std::function<void()> fn) { heartbeat_ = std::move(fn); }
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
  void half_close(Conn& c);
  void after_answer(Conn& c);
  void close_conn(int fd);
  void recount(Conn& c);
  bool shed_unfinished(const Conn& current);
  void watch(Conn& c, bool add);
  bool evict_idle();
  bool evict_incomplete();
  bool evict_queued();
  const std::string* busiest_group() const;
  bool make_room();
  void refuse_fd(int fd, const char* message);
  bool workers_stalled(std::chrono::steady_clock::time_point now);
  void serve_one(Conn& c);
  bool hold(Conn& c, std::unique_ptr<Conn>& next);
  void give_back(std::unique_ptr<Conn> c);
  std::unique_ptr<Conn> pop_ready();

  EdgeLimits lim_;
  Responder respond_;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls_;
  std::vector<std::string> uncapped_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int work_fd_ = -1;  // readable while a queued request waits for a holding worker
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point listen_paused_until_{};
  bool listen_paused_ = false;

  // reactor-only
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;  // every open connection's owner slot
  std::unordered_map<std::string, size_t> per_peer_;
  size_t open_ = 0;
  uint32_t generation_ = 0;  // the last connection's Conn::gen
  size_t in_total_ = 0;       // buffers held by unfinished requests (Conn::counted)
  size_t freed_ = 0;          // buffer bytes freed since the last malloc_trim
  size_t freed_seen_ = 0;     // freed_ at the sweep that last saw it grow
  std::chrono::steady_clock::time_point freed_quiet_since_{};

  // reactor -> workers
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Conn>> ready_;
  size_t waiting_ = 0;          // workers waiting on cv_
  size_t holding_ = 0;          // workers holding a kept connection
  bool work_signaled_ = false;  // work_fd_ written and not yet cleared
  // workers -> reactor
  std::deque<std::unique_ptr<Conn>> returned_;
  std::vector<std::thread> workers_;
  std::function<void()> heartbeat_;
};

}  // namespace resetd::http
