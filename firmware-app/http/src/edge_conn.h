// Edge::Conn: one client connection, its socket and TLS state, what was read
// and not yet handed over, and the request being served. Owned by exactly one
// of the reactor, the ready queue or a worker at a time (edge.h), so it has no
// lock. Plain and TLS reads and writes go through read_some / write_all.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "edge.h"
#include "request_framer.h"

namespace resetd::http {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxWrite = 1 << 20;  // one SSL_write / send

struct Edge::Conn {
  int fd = -1;
  uint32_t gen = 0;  // which connection on this descriptor number; never 0
  SSL* ssl = nullptr;
  std::string peer;
  std::string group;  // what the per-address cap counts: the address, or its IPv6 /64
  int peer_port = 0;
  std::string local;
  int local_port = 0;
  bool handshaken = false;
  bool lingering = false;
  bool want_write = false;
  bool idle = false;         // keep-alive, waiting for the next request's first byte
  bool peer_closed = false;  // EOF after some bytes: answer what is complete, then close
  std::string in;            // read, not yet handed over
  size_t counted = 0;        // bytes of `in` and `pending` counted in Edge::in_total_
  size_t scan_from = 0;
  bool head_done = false;
  Frame pending;  // head done, body still arriving
  bool continue_sent = false;
  SteadyClock::time_point deadline;
  SteadyClock::time_point accepted_at;
  bool got_bytes = false;  // a request's first byte arrived (the first-byte deadline is over)
  size_t served = 0;
  size_t drained = 0;
  // the request being served
  std::string request;
  bool close_after = false;
  SteadyClock::time_point ready_at;
  bool keep = false;
  SteadyClock::time_point write_until;  // the answer being sent must be out by then
  // Output not yet taken by the socket, from out_pos on: everything the
  // reactor or a worker sends goes through send(), so it leaves in order.
  std::string out;
  size_t out_pos = 0;
  size_t tls_retry = 0;           // an SSL_write of this many bytes of `out` wanted a retry
  bool write_wants_read = false;  // TLS: that retry waits for the socket to be readable
  bool ssl_fatal = false;         // OpenSSL forbids SSL_shutdown after SSL_ERROR_SYSCALL / _SSL
  bool flushing_answer = false;   // a worker's answer is still in `out`: read nothing meanwhile
  bool close_when_sent = false;   // a refusal is in `out`: half-close once it is out

  // A framed request leaves `in` for `request` (what the Responder answers): the
  // reactor's framing and a worker's hold both end here.
  void take_request(Frame& f) {
    request = std::move(f.request);
    close_after = f.close_after;
    in.erase(0, f.consumed);
    if (in.empty()) std::string().swap(in);  // an idle connection keeps no buffer
  }

  ~Conn();

  // >0 bytes, 0 EOF, -1 nothing now, -2 error.
  ssize_t read_some(char* buf, size_t n);
  // Sends what the socket takes now, never waiting; keeps the rest in `out`
  // (flushed by the reactor on EPOLLOUT). False on an error.
  bool send(const char* p, size_t n);
  // Sends what `out` holds: 1 all sent, 0 the socket is full, -1 error.
  int flush();
  bool pending_out() const { return out_pos < out.size(); }

 private:
  // >0 bytes taken, -1 blocked, -2 error.
  ssize_t write_some(const char* p, size_t n);
};

// What epoll hands back for a connection's events: its descriptor and its
// generation, so an event is only ever delivered to the connection it was for.
inline uint64_t event_key(const Edge::Conn& c) {
  return static_cast<uint64_t>(c.gen) << 32 | static_cast<uint32_t>(c.fd);
}

}  // namespace resetd::http
