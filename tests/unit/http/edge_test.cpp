// Edge (the connection layer) on a loopback port, with the real adapter and
// the routes' pre-body guard in front of a handler that echoes what it got:
// framing (pipelining, partial heads, Content-Length and chunked limits,
// 100-continue), keep-alive against close, refusals with their status, and
// the hold (EdgeLimits::hold).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>

#include "edge.h"
#include "guards.h"
#include "httplib_adapter.h"

using namespace resetd::http;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Edge uses httplib only through the adapter (issue 19, item 6).
static_assert(!std::is_base_of_v<httplib::Server, Edge>);

namespace {

HttpHandlers echo_handlers(std::atomic<int>* served) {
  HttpHandlers h;
  h.pre_routing = [](const httplib::Request& req, httplib::Response& res) {
    if (auto r = refuse_before_body(req)) {
      res.set_header("Connection", "close");
      res.status = r->status;
      res.set_content(r->code, "text/plain");
      return true;
    }
    return false;
  };
  h.handler = [served](const httplib::Request& req, httplib::Response& res) {
    if (served) ++*served;
    res.set_content(req.method + " " + req.path + " [" + req.body + "]", "text/plain");
  };
  h.on_error = [](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content("error", "text/plain");
  };
  return h;
}

struct Running {
  explicit Running(EdgeLimits lim, std::atomic<int>* served = nullptr)
      : adapter(echo_handlers(served), 5, lim.max_requests_per_connection),
        edge(lim, nullptr, {}, [this](const Inbound& in) { return adapter.answer(in); }) {
    port = edge.bind("127.0.0.1", 0);
    BOOST_REQUIRE(port > 0);
    thread = std::thread([this] { edge.serve(); });
  }
  ~Running() {
    edge.stop();
    thread.join();
  }
  HttplibAdapter adapter;
  Edge edge;
  int port = 0;
  std::thread thread;
};

EdgeLimits small() {
  EdgeLimits lim;
  lim.workers = 2;
  lim.frame.max_body = kMaxBody;  // as server.cpp: the framer's bound is the guard's
  return lim;
}

int dial(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

struct Conn {
  explicit Conn(int port) : fd(dial(port)) {}
  ~Conn() { ::close(fd); }
  void send(const std::string& s) const { BOOST_REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size())); }
  // Reads until `n` bytes are buffered; false on EOF or timeout.
  bool fill(size_t n) {
    char b[4096];
    while (buf.size() < n) {
      const ssize_t r = ::recv(fd, b, sizeof b, 0);
      if (r <= 0) return false;
      buf.append(b, static_cast<size_t>(r));
    }
    return true;
  }
  // One answer: its head and body (by Content-Length); empty head at EOF.
  std::pair<std::string, std::string> answer() {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!fill(buf.size() + 1)) return {};
    std::string head = buf.substr(0, end + 4);
    size_t len = 0;
    if (const size_t p = head.find("Content-Length: "); p != std::string::npos) len = std::stoul(head.substr(p + 16));
    if (!fill(end + 4 + len)) return {};
    std::string body = buf.substr(end + 4, len);
    buf.erase(0, end + 4 + len);
    return {head, body};
  }
  bool at_eof() {
    char b;
    return buf.empty() && ::recv(fd, &b, 1, 0) == 0;
  }
  int fd;
  std::string buf;
};

int status_of(const std::string& head) { return head.size() > 12 ? std::stoi(head.substr(9, 3)) : 0; }

const std::string kGet = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(EdgeTests)

BOOST_AUTO_TEST_CASE(pipelined_requests_answeredInOrder_onOneConnection) {
  Running r(small());
  Conn c(r.port);
  c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n\r\n");
  BOOST_TEST(c.answer().second == "GET /1 []");
  BOOST_TEST(c.answer().second == "POST /2 [abc]");
  auto [h, b] = c.answer();
  BOOST_TEST(b == "GET /3 []");
  BOOST_TEST(h.find("Keep-Alive: timeout=5, max=100") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(partial_head_and_body_waitedFor_thenAnswered) {
  Running r(small());
  Conn c(r.port);
  const std::string req = "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t i = 0; i < req.size(); i += 7) {
    c.send(req.substr(i, 7));
    std::this_thread::sleep_for(2ms);
  }
  auto [h, b] = c.answer();
  BOOST_TEST(status_of(h) == 200);
  BOOST_TEST(b == "POST /p [hello]");
}

BOOST_AUTO_TEST_CASE(content_length_overLimit_413_bodyNeverRead_connectionClosed) {
  Running r(small());
  Conn c(r.port);
  // The "body" is a request of its own: if the layer read on, it would answer it.
  c.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kMaxBody + 1) + "\r\n\r\n" + kGet);
  auto [h, b] = c.answer();
  BOOST_TEST(status_of(h) == 413);
  BOOST_TEST(h.find("Connection: close") != std::string::npos);
  BOOST_TEST(c.at_eof());
}

BOOST_AUTO_TEST_CASE(chunked_refused_411_chunksNeverTakenAsARequest) {
  Running r(small());
  Conn c(r.port);
  c.send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + std::to_string(kGet.size()) +
         "\r\n" + kGet + "\r\n0\r\n\r\n");
  auto [h, b] = c.answer();
  BOOST_TEST(status_of(h) == 411);
  BOOST_TEST(c.at_eof());
}

BOOST_AUTO_TEST_CASE(expect_100_continue_sentBeforeTheBody_thenAnswered) {
  Running r(small());
  Conn c(r.port);
  c.send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
  BOOST_REQUIRE(c.fill(cont.size()));
  BOOST_TEST(c.buf.substr(0, cont.size()) == cont);
  c.buf.erase(0, cont.size());
  c.send("body");
  auto [h, b] = c.answer();
  BOOST_TEST(status_of(h) == 200);
  BOOST_TEST(b == "POST /e [body]");
}

BOOST_AUTO_TEST_CASE(keep_alive_staysOpen_connectionClose_andHttp10_close) {
  Running r(small());
  {
    Conn c(r.port);
    c.send(kGet);
    BOOST_TEST(status_of(c.answer().first) == 200);
    c.send(kGet);  // the same connection serves a second request
    BOOST_TEST(status_of(c.answer().first) == 200);
  }
  {
    Conn c(r.port);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto [h, b] = c.answer();
    BOOST_TEST(h.find("Connection: close") != std::string::npos);
    BOOST_TEST(c.at_eof());
  }
  {
    Conn c(r.port);
    c.send("GET /a HTTP/1.0\r\n\r\n");
    BOOST_TEST(status_of(c.answer().first) == 200);
    BOOST_TEST(c.at_eof());
  }
}

BOOST_AUTO_TEST_CASE(max_requests_per_connection_lastAnswerSaysClose) {
  EdgeLimits lim = small();
  lim.max_requests_per_connection = 2;
  Running r(lim);
  Conn c(r.port);
  c.send(kGet + kGet + kGet);
  BOOST_TEST(c.answer().first.find("Keep-Alive: timeout=5, max=2") != std::string::npos);
  BOOST_TEST(c.answer().first.find("Connection: close") != std::string::npos);
  BOOST_TEST(c.at_eof());
}

BOOST_AUTO_TEST_CASE(limits_answeredWithTheirStatus_andClosed) {
  Running r(small());
  const std::pair<std::string, int> cases[] = {
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\nHost: x\r\n\r\n", 400},
      {"BREW / HTTP/1.1\r\n\r\n", 400},     // the adapter: not a method
      {"GET / HTTP/2.0\r\n\r\n", 400},      // the adapter: not a version
      {"POST / HTTP/1.1\r\n\r\n", 411},     // the guard: no length
  };
  for (const auto& [req, want] : cases) {
    Conn c(r.port);
    c.send(req);
    auto [h, b] = c.answer();
    BOOST_TEST(status_of(h) == want, req.substr(0, 40));
    BOOST_TEST(c.at_eof(), req.substr(0, 40));
  }
}

BOOST_AUTO_TEST_CASE(hold_queuedWorkEndsIt_atOnce) {
  // One worker, a long hold: connection A keeps the worker after its answer;
  // B's request must not wait for A's hold to run out.
  EdgeLimits lim = small();
  lim.workers = 1;
  lim.hold = 2000ms;
  Running r(lim);
  Conn a(r.port);
  a.send(kGet);
  BOOST_REQUIRE(status_of(a.answer().first) == 200);
  std::this_thread::sleep_for(20ms);  // the worker is in its hold on A now
  Conn b(r.port);
  const auto t0 = Clock::now();
  b.send(kGet);
  BOOST_REQUIRE(status_of(b.answer().first) == 200);
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  BOOST_TEST(waited < 500);
  a.send(kGet);  // A was handed back and still works
  BOOST_TEST(status_of(a.answer().first) == 200);
}

BOOST_AUTO_TEST_CASE(hold_partRequestWithinIt_handedBack_finishedByTheReactor) {
  EdgeLimits lim = small();
  lim.workers = 1;
  lim.hold = 200ms;
  Running r(lim);
  Conn a(r.port);
  a.send(kGet);
  BOOST_REQUIRE(status_of(a.answer().first) == 200);
  a.send("POST /h HTTP/1.1\r\nHost: x\r\nContent-Le");  // within the hold
  std::this_thread::sleep_for(400ms);                     // past it: the worker gave A back
  Conn b(r.port);                                          // and serves others meanwhile
  b.send(kGet);
  BOOST_TEST(status_of(b.answer().first) == 200);
  a.send("ngth: 2\r\n\r\nok");
  auto [h, body] = a.answer();
  BOOST_TEST(body == "POST /h [ok]");
}

BOOST_AUTO_TEST_CASE(hold_off_or_on_sameAnswers_backToBack) {
  for (auto hold : {0ms, 3ms, 50ms}) {
    EdgeLimits lim = small();
    lim.hold = hold;
    std::atomic<int> served{0};
    Running r(lim, &served);
    Conn c(r.port);
    for (int i = 0; i < 20; ++i) {
      c.send("GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
      BOOST_TEST(c.answer().second == "GET /" + std::to_string(i) + " []");
    }
    BOOST_TEST(served.load() == 20);
  }
}

BOOST_AUTO_TEST_SUITE_END()
