#include <boost/test/unit_test.hpp>

#include <string>

#include "request_framer.h"

using namespace resetd::http;
using K = Frame::Kind;

namespace {
std::string get(const std::string& headers) { return "GET / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n"; }
}  // namespace

BOOST_AUTO_TEST_SUITE(FramerTests)

BOOST_AUTO_TEST_CASE(frame_incompleteHead_needsMore) {
  Frame f = frame_request("GET / HTTP/1.1\r\nHost: x\r\n", {});
  BOOST_TEST((f.kind == K::NeedMore));
  BOOST_TEST(f.consumed == 0u);
  BOOST_TEST(f.started);
}

BOOST_AUTO_TEST_CASE(frame_pipelined_takesOnlyTheFirst) {
  const std::string one = get("");
  Frame f = frame_request(one + one, {});
  BOOST_TEST((f.kind == K::Ready));
  BOOST_TEST(f.consumed == one.size());
  BOOST_TEST(!f.close_after);
}

BOOST_AUTO_TEST_CASE(frame_tooManyHeaders_431) {
  std::string h;
  for (int i = 0; i < 101; ++i) h += "X-" + std::to_string(i) + ": a\r\n";
  Frame f = frame_request(get(h), {});
  BOOST_TEST((f.kind == K::Reject));
  BOOST_TEST(f.status == 431);
  const std::string ninety_nine = h.substr(h.find('\n', h.find('\n') + 1) + 1);
  BOOST_TEST((frame_request(get(ninety_nine), {}).kind == K::Ready));  // with Host: 100, the limit
}

BOOST_AUTO_TEST_CASE(frame_longLines_414And431_evenIncomplete) {
  BOOST_TEST(frame_request("GET /" + std::string(9000, 'a'), {}).status == 414);
  BOOST_TEST(frame_request("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a'), {}).status == 431);
  std::string many;
  while (many.size() < 33 * 1024) many += "X-Pad: " + std::string(1000, 'b') + "\r\n";
  BOOST_TEST(frame_request("GET / HTTP/1.1\r\n" + many, {}).status == 431);
}

BOOST_AUTO_TEST_CASE(frame_bareLfCrOrControl_400) {
  BOOST_TEST(frame_request("GET / HTTP/1.1\nHost: x\r\n\r\n", {}).status == 400);
  BOOST_TEST(frame_request(get("X: a\rb\r\n"), {}).status == 400);
  BOOST_TEST(frame_request(get(std::string("X: a") + '\0' + "b\r\n"), {}).status == 400);
  BOOST_TEST(frame_request(get(" folded\r\n"), {}).status == 400);
  BOOST_TEST(frame_request(get("Bad Name: x\r\n"), {}).status == 400);
}

BOOST_AUTO_TEST_CASE(frame_percentInValue_reachesHttplibEscaped) {
  Frame f = frame_request(get("X-CSRF-Token: %61b%0D%0A\r\n"), {});
  BOOST_REQUIRE((f.kind == K::Ready));
  BOOST_TEST(f.request.find("X-CSRF-Token: %2561b%250D%250A\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(frame_rangeExpectAndPseudoHeaders_dropped) {
  Frame f = frame_request(get("Range: bytes=0-,0-\r\nIf-Range: x\r\nREMOTE_ADDR: 1.2.3.4\r\nlocal_port: 1\r\n"), {});
  BOOST_REQUIRE((f.kind == K::Ready));
  BOOST_TEST(f.request == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(frame_body_waitsForContentLength) {
  const std::string head = "POST /a HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
  Frame f = frame_request(head + "ab", {});
  BOOST_TEST((f.kind == K::NeedMore));
  BOOST_TEST(f.consumed == head.size() + 4);
  BOOST_TEST(f.body == 4u);
  BOOST_TEST(f.wants_continue);
  f = frame_request(head + "abcdGET", {});
  BOOST_TEST((f.kind == K::Ready));
  BOOST_TEST(f.request == "POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd");
}

BOOST_AUTO_TEST_CASE(frame_untrustedLength_closesAfter) {
  for (const char* h : {"Content-Length: 2\r\nContent-Length: 2\r\n", "Transfer-Encoding: chunked\r\n",
                        "Content-Length: -1\r\n", "Content-Length: 99999999\r\n", ""}) {
    Frame f = frame_request(std::string("POST /a HTTP/1.1\r\n") + h + "\r\nxx", {});
    BOOST_TEST((f.kind == K::Ready), h);
    BOOST_TEST(f.close_after, h);
    BOOST_TEST(f.body == 0u, h);
  }
}

BOOST_AUTO_TEST_SUITE_END()
