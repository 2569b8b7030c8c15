// WebhookRelay against a one-shot HTTP server on 127.0.0.1 (raw sockets, so
// the test sees the exact bytes the relay sent). The signature is checked
// with libsodium directly, not through resetd's own crypto wrapper.
#include <poll.h>
#include <sodium.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "resetd/notify/relay.h"
#include "test_support.h"

using namespace resetd::notify;
using namespace notify_test;

namespace {

// Accepts one connection, reads one request, answers `status` with `body`.
class OneShotHttpServer {
 public:
  OneShotHttpServer(int status, std::string body) : status_(status), body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_TEST_REQUIRE(::listen(fd_, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotHttpServer() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }

  int port() const { return port_; }
  // The raw request (waits for the server thread, which gives up after 5 s).
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  void serve() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return;
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::string req;
    size_t want = std::string::npos;
    char buf[4096];
    for (int i = 0; i < 1000 && req.size() < (1u << 20); ++i) {
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 5000) != 1) break;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
      size_t head_end = req.find("\r\n\r\n");
      if (want == std::string::npos && head_end != std::string::npos) {
        size_t cl = 0;
        std::string lower = req.substr(0, head_end);
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        size_t pos = lower.find("\r\ncontent-length:");
        if (pos != std::string::npos) cl = std::stoul(lower.substr(pos + 17));
        want = head_end + 4 + cl;
      }
      if (want != std::string::npos && req.size() >= want) break;
    }
    request_ = req;
    std::string resp = "HTTP/1.1 " + std::to_string(status_) +
                       " X\r\nContent-Length: " + std::to_string(body_.size()) +
                       "\r\nConnection: close\r\n\r\n" + body_;
    ssize_t ignored = ::write(c, resp.data(), resp.size());
    (void)ignored;
    ::close(c);
  }

  int status_;
  std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

std::string header_value(const std::string& req, const std::string& name) {
  std::string head = req.substr(0, req.find("\r\n\r\n"));
  size_t pos = head.find("\r\n" + name + ": ");
  if (pos == std::string::npos) return {};
  size_t start = pos + name.size() + 4;
  return head.substr(start, head.find("\r\n", start) - start);
}

std::string request_body(const std::string& req) {
  size_t p = req.find("\r\n\r\n");
  return p == std::string::npos ? std::string() : req.substr(p + 4);
}

std::string hmac_hex(const std::string& key, const std::string& msg) {
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(msg.data()),
                                msg.size());
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
}

const std::string kSecret = "webhook-shared-secret";

std::unique_ptr<Relay> webhook(int port) {
  RelayConfig c;
  c.kind = "webhook";
  c.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  c.secret = kSecret;
  c.timeout_s = 5;
  auto r = make_relay(c);
  BOOST_TEST_REQUIRE(r.ok());
  return std::move(r.value());
}

Envelope envelope() {
  Envelope e;
  e.id = 77;
  e.kind = "link";
  e.to = "ayse@example.org";
  e.subject = "Yeni parolanızı belirleyin";
  e.body = "Bağlantı: https://appliance.local/set-password#t=abc\n";
  e.message_id = "77.w@appliance.local";
  e.created_at = 1'800'000'000;
  e.date = 1'800'000'050;
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_relay)

BOOST_AUTO_TEST_CASE(deliver_2xx_is_sent_with_a_verifiable_signature) {
  OneShotHttpServer server(200, "ok\nmore");
  DeliveryResult r = webhook(server.port())->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Sent), r.answer);
  BOOST_TEST(r.answer == "HTTP 200 (accepted by the webhook)");

  const std::string& req = server.request();
  BOOST_TEST(req.rfind("POST /hook HTTP/1.1\r\n", 0) == 0u);
  BOOST_TEST(header_value(req, "Content-Type") == "application/json");
  const std::string ts = header_value(req, "X-Resetd-Timestamp");
  const std::string body = request_body(req);
  BOOST_TEST_REQUIRE(!ts.empty());
  long long sent_at = std::stoll(ts);
  BOOST_TEST(std::llabs(sent_at - static_cast<long long>(std::time(nullptr))) < 60);
  BOOST_TEST(header_value(req, "X-Resetd-Signature") ==
             "sha256=" + hmac_hex(kSecret, ts + "." + body));
  BOOST_TEST(header_value(req, "X-Resetd-Signature") !=
             "sha256=" + hmac_hex("other", ts + "." + body));

  auto j = nlohmann::json::parse(body);
  BOOST_TEST(j.at("id").get<int64_t>() == 77);
  BOOST_TEST(j.at("kind").get<std::string>() == "link");
  BOOST_TEST(j.at("recipient").get<std::string>() == "ayse@example.org");
  BOOST_TEST(j.at("subject").get<std::string>() == "Yeni parolanızı belirleyin");
  BOOST_TEST(j.at("body").get<std::string>() == envelope().body);
  BOOST_TEST(j.at("created_at").get<std::string>() == "2027-01-15T08:00:00Z");
}

BOOST_AUTO_TEST_CASE(deliver_status_codes_are_classified) {
  struct Case {
    int status;
    Outcome want;
  };
  for (Case c :
       {Case{201, Outcome::Sent}, Case{204, Outcome::Sent}, Case{408, Outcome::Temporary},
        Case{429, Outcome::Temporary}, Case{500, Outcome::Temporary}, Case{503, Outcome::Temporary},
        Case{400, Outcome::Permanent}, Case{401, Outcome::Permanent}, Case{404, Outcome::Permanent},
        Case{422, Outcome::Permanent}}) {
    OneShotHttpServer server(c.status, c.status == 204 ? "" : "why " + std::to_string(c.status));
    DeliveryResult r = webhook(server.port())->deliver(envelope());
    BOOST_TEST((r.outcome == c.want), "status " << c.status << ": " << r.answer);
    BOOST_TEST(r.answer.rfind("HTTP " + std::to_string(c.status) + " (", 0) == 0u, r.answer);
    BOOST_TEST(r.answer.find("why") == std::string::npos, r.answer);
  }
}

BOOST_AUTO_TEST_CASE(deliver_never_keeps_the_targets_body) {
  OneShotHttpServer server(500, "db password=hunter2 at 10.0.0.7\nsecond line");
  DeliveryResult r = webhook(server.port())->deliver(envelope());
  BOOST_TEST(r.answer == "HTTP 500 (webhook server error, will retry)");
}

BOOST_AUTO_TEST_CASE(deliver_connection_refused_is_temporary) {
  DeliveryResult r = webhook(free_port())->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(r.answer.rfind("webhook: ", 0) == 0u, r.answer);
}

BOOST_AUTO_TEST_SUITE_END()
