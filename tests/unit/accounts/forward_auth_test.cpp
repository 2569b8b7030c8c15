#include <boost/test/unit_test.hpp>

#include "resetd/accounts/forward_auth.h"

using namespace resetd::accounts;

namespace {
ForwardAuthPolicy policy() {
  ForwardAuthSettings s;
  s.enabled = true;
  s.allowed_redirect_origins = {"https://wiki.example", "http://127.0.0.1:8080"};
  s.rules = {{"wiki.example", {"global_admin", "user"}}, {"tools.example", {"global_admin"}}};
  return ForwardAuthPolicy(s);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ForwardAuthPolicyTests)

BOOST_AUTO_TEST_CASE(return_url_listedOrigin_isReturnedAsIs) {
  const auto p = policy();
  for (const char* ok : {"https://wiki.example", "https://wiki.example/", "https://wiki.example/a/b?c=d#e",
                         "https://WIKI.example/x", "https://wiki.example:443/x", "http://127.0.0.1:8080/x",
                         "HTTPS://wiki.example/", "https://wiki.example//double/slash"}) {
    BOOST_TEST_CONTEXT(ok) {
      auto r = p.return_url(ok);
      BOOST_REQUIRE(r.has_value());
      BOOST_TEST(*r == ok);
    }
  }
}

BOOST_AUTO_TEST_CASE(return_url_anythingElse_isRefused) {
  const auto p = policy();
  for (const char* bad :
       {"", "/", "/local", "relative", "//evil.example", "///evil.example", "//wiki.example/x",
        "https:/wiki.example", "https:wiki.example", "https://evil.example/", "http://wiki.example/",
        "https://wiki.example.evil.example/", "https://wiki.example@evil.example/",
        "https://user:pw@wiki.example/", "https://evil.example\\@wiki.example/", "https:\\\\wiki.example",
        "/\\evil.example", "https://wiki.example\\evil", "https://wiki%2eexample/", "https%3A%2F%2Fwiki.example",
        "https://wiki.example%40evil.example/", "https://wiki.example:8443/", "https://wiki.example:/",
        "https://wiki.example:99999/", "javascript:alert(1)", "data:text/html,x", "ftp://wiki.example/",
        "https://wiki.example/\r\nSet-Cookie:x", " https://wiki.example/", "https://wiki.example/ x",
        "https://wiki.example/\x7f", "https://wiki.\xc3\xa9xample/", "http://127.0.0.1:80/",
        "http://127.0.0.1:8080@evil/", "http://[::1]:8080/"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!p.return_url(bad).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(origin_of_normalisesCaseAndDefaultPort) {
  BOOST_TEST(*ForwardAuthPolicy::origin_of("HTTPS://Wiki.Example:443/a") == "https://wiki.example");
  BOOST_TEST(*ForwardAuthPolicy::origin_of("http://x.example:08080") == "http://x.example:8080");
  BOOST_TEST(*ForwardAuthPolicy::origin_of("http://[::1]:81/") == "http://[::1]:81");
  BOOST_TEST(*ForwardAuthPolicy::host_of("https://a.example:8443/p") == "a.example:8443");
  BOOST_TEST(!ForwardAuthPolicy::origin_of("http://[::1/").has_value());
}

BOOST_AUTO_TEST_CASE(may_enter_followsRulesAndFailsClosedWithoutHost) {
  const auto p = policy();
  BOOST_TEST(p.may_enter("wiki.example", Role::User));
  BOOST_TEST(p.may_enter("WIKI.example:443", Role::GlobalAdmin));  // host rule covers any port
  BOOST_TEST(!p.may_enter("wiki.example", Role::HelpdeskAdmin));
  BOOST_TEST(p.may_enter("tools.example:8443", Role::GlobalAdmin));
  BOOST_TEST(!p.may_enter("tools.example:8443", Role::UserAdmin));
  BOOST_TEST(!p.may_enter("tools.example", Role::User));
  BOOST_TEST(!p.may_enter("", Role::GlobalAdmin));
  const ForwardAuthPolicy none(ForwardAuthSettings{});
  BOOST_TEST(none.may_enter("", Role::User));
}

// Issue 18 item 4: once any rule exists, a host without one admits nobody — an IP
// literal, [::1], a name that merely contains or extends a ruled one — not everybody.
BOOST_AUTO_TEST_CASE(may_enter_hostWithoutRule_admitsNobodyOnceRulesExist) {
  const auto p = policy();
  for (const char* h : {"127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:443", "other.example", "x.wiki.example",
                        "wiki.example.evil", "wiki.exampl", "wiki-example", "[", "[]", ":443", "."}) {
    BOOST_TEST_CONTEXT(h) {
      BOOST_TEST(!p.may_enter(h, Role::User));
      BOOST_TEST(!p.may_enter(h, Role::GlobalAdmin));
    }
  }
}

BOOST_AUTO_TEST_CASE(may_enter_starRule_isTheDefaultForHostsWithoutARule) {
  ForwardAuthSettings s;
  s.enabled = true;
  s.rules = {{"admin.example", {"global_admin"}}, {"*", {"user", "global_admin"}}};
  const ForwardAuthPolicy p(s);
  BOOST_TEST(!p.may_enter("admin.example", Role::User));  // a host's own rule wins over "*"
  BOOST_TEST(!p.may_enter("Admin.Example.:8443", Role::User));
  BOOST_TEST(p.may_enter("admin.example", Role::GlobalAdmin));
  BOOST_TEST(p.may_enter("127.0.0.1", Role::User));
  BOOST_TEST(p.may_enter("[::1]:80", Role::User));
  BOOST_TEST(!p.may_enter("other.example", Role::HelpdeskAdmin));
  BOOST_TEST(!p.may_enter("", Role::GlobalAdmin));  // unknown host: still nobody
  BOOST_TEST(!p.may_enter("*", Role::HelpdeskAdmin));
}

// nginx and browsers treat "wiki.example." as "wiki.example" (nginx strips the dot from
// $host and matches server_name without it), while $http_host keeps it: the rule must
// still hold, or a trailing dot walks past it.
BOOST_AUTO_TEST_CASE(may_enter_trailingDotOrUppercase_stillFollowsTheRule) {
  const auto p = policy();
  for (const char* h : {"wiki.example.", "WIKI.EXAMPLE.", "wiki.example.:443", "wiki.example..", "tools.example.:8443"}) {
    BOOST_TEST_CONTEXT(h) { BOOST_TEST(!p.may_enter(h, Role::HelpdeskAdmin)); }
  }
  BOOST_TEST(p.may_enter("wiki.example.", Role::User));
  BOOST_TEST(*ForwardAuthPolicy::host_of("https://Wiki.Example./x") == "wiki.example");
}


// Issue 23 item 3: two_factor hosts, matched like rules; "*" = every host; an
// unknown host wants two factors whenever any host does.
BOOST_AUTO_TEST_CASE(wants_two_factors_listedHostsStarAndUnknownHost) {
  ForwardAuthSettings s;
  s.enabled = true;
  s.two_factor_hosts = {"secure.example"};
  const ForwardAuthPolicy p(s);
  BOOST_TEST(p.wants_two_factors("secure.example"));
  BOOST_TEST(p.wants_two_factors("Secure.Example.:8443"));
  BOOST_TEST(!p.wants_two_factors("wiki.example"));
  BOOST_TEST(p.wants_two_factors(""));
  s.two_factor_hosts = {"*"};
  BOOST_TEST(ForwardAuthPolicy(s).wants_two_factors("wiki.example"));
  BOOST_TEST(!ForwardAuthPolicy(ForwardAuthSettings{}).wants_two_factors(""));
}
BOOST_AUTO_TEST_SUITE_END()
