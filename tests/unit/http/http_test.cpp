#define BOOST_TEST_MODULE http
#include <boost/test/unit_test.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "api.h"

using namespace resetd;
using namespace resetd::http;

BOOST_AUTO_TEST_SUITE(PathPatternTests)

BOOST_AUTO_TEST_CASE(match_literalAndDigitSegments_exactlyAsTheRegexDid) {
  std::vector<std::string> m;
  PathPattern users("/users"), one("/users/(\\d+)"), reset("/users/(\\d+)/password-reset");
  BOOST_TEST(users.match("/users", m));
  BOOST_TEST(m.size() == 1u);
  BOOST_TEST(!users.match("/users/", m));
  BOOST_TEST(!users.match("/user", m));
  BOOST_TEST(!users.match("/usersx", m));
  BOOST_TEST(!users.match("/users/1", m));
  BOOST_TEST(one.match("/users/42", m));
  BOOST_REQUIRE(m.size() == 2u);
  BOOST_TEST(m[1] == "42");
  BOOST_TEST(!one.match("/users/", m));
  BOOST_TEST(!one.match("/users/4x", m));
  BOOST_TEST(!one.match("/users/-1", m));
  BOOST_TEST(!one.match("/users/password-reset", m));
  BOOST_TEST(!one.match("/users/42/", m));
  BOOST_TEST(reset.match("/users/7/password-reset", m));
  BOOST_TEST(m[1] == "7");
  BOOST_TEST(!reset.match("/users/7/password-resetx", m));
  BOOST_TEST(!reset.match("/users/7", m));
  BOOST_TEST(!reset.match("//users/7/password-reset", m));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(UserJsonTests)

BOOST_AUTO_TEST_CASE(append_user_json_sameBytesAsTheJsonObject) {
  storage::UserRecord u;
  u.id = 12345;
  u.username = "ayse.yildiz";
  u.display_name = "Ayşe \"Yıldız\" \\ 王\t\x01\x1f\x7f";
  u.email = "ayse@example.org";
  u.alternate_email = "";
  u.role = "user_admin";
  u.locale = "tr-TR";
  u.password_changed_at = 1'800'000'000;
  u.created_at = 1'700'000'000;
  u.updated_at = 1'800'000'001;
  for (int variant = 0; variant < 4; ++variant) {
    accounts::ExpirationSettings e;
    e.never_expires = variant % 2 == 0;
    u.disabled = variant & 1;
    u.must_change = variant & 2;
    if (variant == 3) u.locked_until = 1'900'000'000;
    u.directory_locked = variant == 1;  // "locked" also when only the directory locked it
    if (variant == 2) u.display_name = std::string("bad \xff utf-8");
    if (variant == 3) u.directory_id = "6f1c2a8e-0d7b-4c1e-9a52-3b9e1f0c7d44";  // "source": "directory"
    std::string fast;
    append_user_json(fast, u, 1'850'000'000, e);
    BOOST_TEST(fast == user_json_at(u, 1'850'000'000, e).dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Kept GET /users answers (list_cache.h): reused only under the same data
// generation, and only inside the clock range their "locked" fields hold for.
BOOST_AUTO_TEST_CASE(list_cache_reuses_only_within_generation_and_clock_range) {
  resetd::http::ListCache c;
  c.put("q", 7, 1000, 1600, "body");
  BOOST_REQUIRE(c.find("q", 7, 1000));
  BOOST_TEST(*c.find("q", 7, 1599) == "body");
  BOOST_TEST(!c.find("q", 7, 1600));  // the first lock shown ran out
  BOOST_TEST(!c.find("q", 7, 999));   // the clock went back
  BOOST_TEST(!c.find("q", 8, 1200));  // something was committed
  BOOST_TEST(!c.find("other", 7, 1200));
  c.put("q", 8, 1200, INT64_MAX, "newer");
  BOOST_TEST(*c.find("q", 8, 5000) == "newer");
  BOOST_TEST(!c.find("q", 7, 1200));
  // Past its limits it starts over instead of growing.
  for (size_t i = 0; i < resetd::http::ListCache::kMaxEntries + 3; ++i)
    c.put("k" + std::to_string(i), 9, 0, INT64_MAX, "x");
  BOOST_TEST(!c.find("k0", 9, 1));
  BOOST_TEST(c.find("k" + std::to_string(resetd::http::ListCache::kMaxEntries + 2), 9, 1));
  c.put("big", 9, 0, INT64_MAX, std::string(resetd::http::ListCache::kMaxBytes, 'x'));
  BOOST_TEST(!c.find("big", 9, 1));  // too big to keep
}

// rfc3339() formats without gmtime/strftime for years 1000-9999 and falls
// back to them otherwise: the bytes are the same either way.
BOOST_AUTO_TEST_CASE(rfc3339_matches_strftime) {
  auto ref = [](int64_t v) {
    std::time_t t = static_cast<std::time_t>(v);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  // The reference is only as wide as time_t: 32 bits on Debian 12's armhf
  // (1901-2038), where the spread below shrinks to that range and the fixed
  // values outside it are left out.
  const bool wide = sizeof(std::time_t) >= 8;
  auto fits = [](int64_t v) { return static_cast<int64_t>(static_cast<std::time_t>(v)) == v; };
  int bad = 0, n = 0;
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{951782400}, int64_t{951868799}, int64_t{4107542400},
                    int64_t{253402300799}, int64_t{253402300800}, int64_t{-30610224000}, int64_t{-30610224001}}) {
    if (!fits(v)) continue;
    bad += resetd::rfc3339(v) != ref(v);
    ++n;
  }
  const uint64_t span = wide ? 600'000'000'000ull : 4'294'967'295ull;  // ±9,500 years, or time_t's range
  uint64_t x = 88172645463325252ull;  // xorshift
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const int64_t v = static_cast<int64_t>(x % span) - static_cast<int64_t>(span / 2);
    bad += resetd::rfc3339(v) != ref(v);
    ++n;
  }
  BOOST_TEST(bad == 0);
  BOOST_TEST(n > 200000);
}

// OpenSSL's lean start (crypto/src/openssl_config.cpp, linked here through
// tls.cpp): what cpp-httplib's constructor asks of OpenSSL no longer loads the
// crypto library's error texts or legacy name tables, while the self-signed
// certificate, the TLS context and the SSL error texts still work.
BOOST_AUTO_TEST_SUITE(OpensslInitTests)

BOOST_AUTO_TEST_CASE(lean_init_keeps_tls_and_ssl_error_texts) {
  char dir[] = "/tmp/resetd-tls-XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir) != nullptr);
  const std::string cert = std::string(dir) + "/cert.pem", key = std::string(dir) + "/key.pem";
  std::string error;
  BOOST_REQUIRE_MESSAGE(make_self_signed(cert, key, &error), error);
  ssl_ctx_st* ctx = make_tls_context(cert, key, &error);
  BOOST_TEST(ctx != nullptr, error);
  if (ctx) SSL_CTX_free(ctx);
  BOOST_TEST(make_tls_context(std::string(dir) + "/missing.pem", key, &error) == nullptr);
  // What cpp-httplib's library constructor asks for (it ran before main, too).
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr);
  const char* ssl_text = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_CERTIFICATE_VERIFY_FAILED));
  BOOST_TEST((ssl_text && std::string(ssl_text) == "certificate verify failed"));
  BOOST_TEST(ERR_reason_error_string(ERR_PACK(ERR_LIB_EVP, 0, EVP_R_BAD_DECRYPT)) == nullptr);
  std::remove(cert.c_str());
  std::remove(key.c_str());
  rmdir(dir);
}

BOOST_AUTO_TEST_SUITE_END()
