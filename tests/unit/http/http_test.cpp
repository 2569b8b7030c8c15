#define BOOST_TEST_MODULE http
#include <boost/test/unit_test.hpp>

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
    if (variant == 2) u.display_name = std::string("bad \xff utf-8");
    if (variant == 3) u.directory_id = "6f1c2a8e-0d7b-4c1e-9a52-3b9e1f0c7d44";  // "source": "directory"
    std::string fast;
    append_user_json(fast, u, 1'850'000'000, e);
    BOOST_TEST(fast == user_json_at(u, 1'850'000'000, e).dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

BOOST_AUTO_TEST_SUITE_END()
