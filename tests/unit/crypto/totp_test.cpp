// TOTP against RFC 6238's own test vectors (Appendix B, SHA-1, secret
// "12345678901234567890"; the last 6 of the 8 digits) and RFC 4648 base32.
#include <boost/test/unit_test.hpp>

#include "resetd/crypto/totp.h"

using namespace resetd::crypto;

BOOST_AUTO_TEST_CASE(totp_rfc6238_vectors) {
  const std::string key = "12345678901234567890";
  const std::pair<int64_t, const char*> v[] = {{59, "287082"},         {1111111109, "081804"},
                                               {1111111111, "050471"}, {1234567890, "005924"},
                                               {2000000000, "279037"}, {20000000000, "353130"}};
  for (const auto& [t, code] : v) BOOST_TEST(totp_code(key, totp_step(t)) == code);
}

BOOST_AUTO_TEST_CASE(totp_window_is_one_step_each_way) {
  const std::string key = "12345678901234567890";
  const int64_t now = totp_step(1111111111);
  BOOST_TEST(*totp_match(key, totp_code(key, now), now) == now);
  BOOST_TEST(*totp_match(key, totp_code(key, now - 1), now) == now - 1);
  BOOST_TEST(*totp_match(key, totp_code(key, now + 1), now) == now + 1);
  BOOST_TEST(!totp_match(key, totp_code(key, now - 2), now).has_value());
  BOOST_TEST(!totp_match(key, totp_code(key, now + 2), now).has_value());
  BOOST_TEST(!totp_match(key, "12345", now).has_value());
  BOOST_TEST(!totp_match(key, "", now).has_value());
}

BOOST_AUTO_TEST_CASE(base32_rfc4648) {
  BOOST_TEST(base32_encode("foobar") == "MZXW6YTBOI");
  BOOST_TEST(base32_encode("f") == "MY");
  BOOST_TEST(*base32_decode("mzxw 6ytb oi======") == "foobar");
  BOOST_TEST(!base32_decode("MZXW1").has_value());
  const std::string s = totp_new_secret();
  BOOST_TEST(s.size() == 20u);
  BOOST_TEST(*base32_decode(base32_encode(s)) == s);
  BOOST_TEST(base32_encode(s).size() == 32u);
}
