// See edge.h: the workers serve complete requests, and the hold.
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "edge.h"
#include "edge_conn.h"
#include "resetd/crypto/crypto.h"

namespace resetd::http {

namespace {
// Spec §5: a request that would wait more than this for a hash slot gets 503.
constexpr auto kSlotWait = std::chrono::seconds(5);
// A body up to this size is copied once to join its head; larger: two sends.
constexpr size_t kCoalesceBody = 256 * 1024;
}  // namespace

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
// complete request arrived within lim_.hold and is now in c.request (served by
// this worker); false to hand it back to the reactor with whatever was read
// in c.in, and then `next` may hold a queued connection this worker took.
bool Edge::hold(Conn& c, std::unique_ptr<Conn>& next) {
  if (lim_.hold <= std::chrono::milliseconds::zero() || !c.keep || !c.in.empty() || c.pending_out() ||
      stopping_)
    return false;
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
  const auto until = SteadyClock::now() + lim_.hold;
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
  c.write_until = SteadyClock::now() + lim_.write_deadline;
  crypto::SlotDeadline slot(c.ready_at + kSlotWait);
  const bool last = c.close_after || stopping_ || c.served + 1 >= lim_.max_requests_per_connection;
  Answer a = respond_(Inbound{c.request, c.peer, c.peer_port, c.local, c.local_port, last});
  std::string().swap(c.request);
  // Head and a body up to kCoalesceBody leave in one send (one TLS record).
  bool ok;
  if (!a.body.empty() && a.body.size() <= kCoalesceBody) {
    a.head += a.body;
    ok = c.send(a.head.data(), a.head.size());
  } else {
    ok = c.send(a.head.data(), a.head.size()) && (a.body.empty() || c.send(a.body.data(), a.body.size()));
  }
  ++c.served;
  // A 400 means the adapter parsed the head differently from the framer: trust nothing after it.
  c.keep = ok && !a.close && !last && a.status != 400;
}


}  // namespace resetd::http
