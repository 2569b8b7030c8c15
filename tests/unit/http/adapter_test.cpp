// HttplibAdapter: a framed request in, an answer out, as httplib 0.11.4's
// process_request gave it for resetd's handlers.
#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>

#include "httplib_adapter.h"
#include "request_framer.h"

using namespace resetd::http;

namespace {

struct Seen {
  httplib::Request req;
  int calls = 0;
};

HttplibAdapter make(Seen& seen, std::string content_type = "text/plain") {
  HttpHandlers h;
  h.pre_routing = [](const httplib::Request& req, httplib::Response& res) {
    if (req.path != "/refuse") return false;
    res.status = 403;
    res.set_header("Connection", "close");
    return true;
  };
  h.handler = [&seen, content_type](const httplib::Request& req, httplib::Response& res) {
    seen.req = req;
    ++seen.calls;
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/pre-encoded") res.set_header("Content-Encoding", "gzip");
    res.set_content(std::string(200, 'x'), content_type.c_str());
  };
  h.on_error = [](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content("{\"error\":" + std::to_string(res.status) + "}", "application/json");
  };
  h.on_exception = [](const httplib::Request&, httplib::Response& res, std::exception_ptr) { res.status = 507; };
  return HttplibAdapter(std::move(h), 5, 100);
}

// What the framer hands over for `raw`.
std::string framed(const std::string& raw) {
  Frame f = frame_request(raw, {});
  BOOST_REQUIRE((f.kind == Frame::Kind::Ready));
  return f.request;
}

Answer ask(const HttplibAdapter& a, const std::string& raw, bool last = false) {
  const std::string bytes = framed(raw);
  return a.answer(Inbound{bytes, "192.0.2.7", 4242, "127.0.0.1", 8443, last});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(AdapterTests)

BOOST_AUTO_TEST_CASE(request_pathQueryHeadersAndPeer_asHttplibParsedThem) {
  Seen seen;
  const auto a = make(seen);
  Answer ans = ask(a, "GET /a%20b?x=1+2&y=%41&x=1+2&z HTTP/1.1\r\nX-Token: %41b%\r\nEmpty:\r\n\r\n");
  BOOST_TEST(ans.status == 200);
  BOOST_TEST(seen.req.path == "/a b");
  BOOST_TEST(seen.req.get_param_value("x") == "1 2");
  BOOST_TEST(seen.req.get_param_value_count("x") == 1u);  // a repeated pair kept once
  BOOST_TEST(seen.req.get_param_value("y") == "A");
  BOOST_TEST(seen.req.has_param("z"));
  BOOST_TEST(seen.req.get_header_value("X-Token") == "%41b%");  // the bytes the client sent
  BOOST_TEST(!seen.req.has_header("Empty"));
  BOOST_TEST(seen.req.remote_addr == "192.0.2.7");
  BOOST_TEST(seen.req.get_header_value("REMOTE_PORT") == "4242");
}

BOOST_AUTO_TEST_CASE(body_onlyForMethodsThatCarryOne) {
  Seen seen;
  const auto a = make(seen);
  ask(a, "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  BOOST_TEST(seen.req.body == "abc");
  ask(a, "GET /g HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  BOOST_TEST(seen.req.body.empty());
}

BOOST_AUTO_TEST_CASE(answer_head_keepAliveOrClose_lengthAndType) {
  Seen seen;
  const auto a = make(seen);
  Answer ans = ask(a, "GET / HTTP/1.1\r\n\r\n");
  BOOST_TEST(ans.head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  BOOST_TEST(ans.head.find("Content-Length: 200\r\n") != std::string::npos);
  BOOST_TEST(ans.head.find("Keep-Alive: timeout=5, max=100\r\n") != std::string::npos);
  BOOST_TEST(ans.body == std::string(200, 'x'));
  BOOST_TEST(!ans.close);
  ans = ask(a, "GET / HTTP/1.1\r\n\r\n", true);
  BOOST_TEST(ans.head.find("Connection: close\r\n") != std::string::npos);
  BOOST_TEST(ask(a, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n").close);
  BOOST_TEST(ask(a, "GET / HTTP/1.0\r\n\r\n").close);
  BOOST_TEST(!ask(a, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").close);
  BOOST_TEST(ask(a, "GET /refuse HTTP/1.1\r\n\r\n").close);  // the answer says close
}

BOOST_AUTO_TEST_CASE(head_noBody_butItsLength) {
  Seen seen;
  const auto a = make(seen);
  Answer ans = ask(a, "HEAD / HTTP/1.1\r\n\r\n");
  BOOST_TEST(ans.body.empty());
  BOOST_TEST(ans.head.find("Content-Length: 200\r\n") != std::string::npos);
  BOOST_TEST(ans.head.find("Accept-Ranges: bytes\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(errors_goThroughTheErrorHandler) {
  Seen seen;
  const auto a = make(seen);
  for (const char* raw : {"TRACE / HTTP/1.1\r\n\r\n", "GET / HTTP/1.2\r\n\r\n", "GET /a?b?c HTTP/1.1\r\n\r\n"}) {
    Answer ans = ask(a, raw);
    BOOST_TEST(ans.status == 400, raw);
    BOOST_TEST(ans.body == "{\"error\":400}", raw);
  }
  BOOST_TEST(seen.calls == 0);
  BOOST_TEST(ask(a, "GET /a%0Ab HTTP/1.1\r\n\r\n").status == 404);  // httplib's ".*" stops at LF
  BOOST_TEST(ask(a, "GET /throw HTTP/1.1\r\n\r\n").status == 507);  // the exception handler
}

BOOST_AUTO_TEST_CASE(compression_asHttplib_unlessAlreadyEncoded) {
  Seen seen;
  const auto a = make(seen);
  Answer gz = ask(a, "GET / HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
  BOOST_TEST(gz.head.find("Content-Encoding: gzip\r\n") != std::string::npos);
  BOOST_TEST(gz.body.size() < 200u);
  BOOST_TEST(gz.head.find("Content-Length: " + std::to_string(gz.body.size()) + "\r\n") != std::string::npos);
  Answer br = ask(a, "GET / HTTP/1.1\r\nAccept-Encoding: gzip, br\r\n\r\n");
  BOOST_TEST(br.head.find("Content-Encoding: br\r\n") != std::string::npos);
  Answer pre = ask(a, "GET /pre-encoded HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
  BOOST_TEST(pre.body == std::string(200, 'x'));  // the handler's bytes, not compressed again
  Seen s2;
  const auto json = make(s2, "application/json; charset=utf-8");  // httplib compares the whole type
  BOOST_TEST(ask(json, "GET / HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n").body == std::string(200, 'x'));
}

BOOST_AUTO_TEST_SUITE_END()
