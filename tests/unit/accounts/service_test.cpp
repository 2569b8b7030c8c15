// AccountService against a real Store in a temp dir, a ManualClock and cheap hashing.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "resetd/accounts/service.h"
#include "resetd/notify/templates.h"

using namespace resetd;
using namespace resetd::accounts;
namespace fs = std::filesystem;

namespace {
struct Fixture {
  fs::path dir;
  ManualClock clock;
  std::unique_ptr<storage::Store> store;
  crypto::PasswordHasher hasher{1, 8, 2};
  crypto::SecretBox box{std::string(32, 'k')};
  std::unique_ptr<AccountService> svc;
  Actor admin;

  Fixture() {
    BOOST_REQUIRE(crypto::init());
    dir = fs::temp_directory_path() / ("resetd-acct-" + crypto::random_token(6));
    fs::create_directories(dir);
    store = storage::Store::open(dir.string());
    AccountSettings s;
    s.public_url = "https://appliance.local";
    svc = std::make_unique<AccountService>(
        *store, clock, hasher, box,
        [](const std::string& k, const std::string& l, const std::map<std::string, std::string>& v) {
          auto r = notify::render(k, l, v);
          return std::make_pair(r.subject, r.body);
        },
        s);
    auto a = svc->console_add_user({"root", "Root", "root@example.com", "", "global_admin", "en"},
                                    "violet-tractor-moonbeam-42");
    BOOST_REQUIRE(a.ok());
    admin = {a->id, "root", Role::GlobalAdmin, 1, false, "127.0.0.1", "", ""};
  }
  ~Fixture() { fs::remove_all(dir); }

  int64_t add(const std::string& name, const std::string& role) {
    auto u = svc->console_add_user({name, "", name + "@example.com", "", role, "en"},
                                   "quiet-lantern-harbor-97");
    BOOST_REQUIRE(u.ok());
    return u->id;
  }
  int64_t count_audit(const std::string& action) {
    int64_t n = 0;
    store->read([&](storage::Reader& r) {
      storage::AuditQuery q;
      q.action = action;
      n = r.audit_count(q);
    });
    return n;
  }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(AccountServiceTests, Fixture)

BOOST_AUTO_TEST_CASE(reset_auto_commitsHashOutboxAndAuditTogether) {
  int64_t id = add("ayse", "user");
  ResetOptions o;
  o.notify = {"ayse.home@example.net"};
  auto r = svc->reset_password(admin, id, o);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->password.has_value());
  BOOST_TEST(r->notifications.size() == 2u);  // the password + the secret-free notice
  BOOST_TEST(count_audit("password_reset") == 1);
  std::vector<storage::OutboxRecord> rows;
  store->read([&](storage::Reader& rd) { rows = rd.outbox_list({}); });
  BOOST_REQUIRE(rows.size() == 2u);
  for (const auto& m : rows) {
    if (m.kind == "password") {
      BOOST_TEST(m.carries_secret);
      BOOST_TEST(m.body.find(*r->password) == std::string::npos);  // encrypted at rest
      BOOST_TEST(box.open(m.body)->find(*r->password) != std::string::npos);
    } else {
      BOOST_TEST(m.kind == "notice");
      BOOST_TEST(!m.carries_secret);
      BOOST_TEST(m.body.find(*r->password) == std::string::npos);
    }
  }
  auto in = svc->sign_in("ayse", *r->password, "127.0.0.2", "");
  BOOST_REQUIRE(in.ok());
  BOOST_TEST(in->must_change);
}

BOOST_AUTO_TEST_CASE(reset_temporaryPassword_expiresAfterTtl) {
  int64_t id = add("temp", "user");
  auto r = svc->reset_password(admin, id, ResetOptions{});
  BOOST_REQUIRE(r.ok());
  clock.advance(72 * 3600 + 1);
  auto in = svc->sign_in("temp", *r->password, "127.0.0.3", "");
  BOOST_REQUIRE(!in.ok());
  BOOST_TEST(in.error().code == "temporary_password_expired");
}

BOOST_AUTO_TEST_CASE(reset_newerReset_supersedesUnsentSecretMessages) {
  int64_t id = add("sup", "user");
  ResetOptions o;
  o.notify = {"a@example.com"};
  o.notify_user = false;
  BOOST_REQUIRE(svc->reset_password(admin, id, o).ok());
  BOOST_REQUIRE(svc->reset_password(admin, id, o).ok());
  std::vector<storage::OutboxRecord> rows;
  store->read([&](storage::Reader& rd) { rows = rd.outbox_list({}); });
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[1].state == "superseded");  // list is newest first
  BOOST_TEST(rows[1].body.empty());
  BOOST_TEST(rows[0].state == "queued");
}

BOOST_AUTO_TEST_CASE(reset_ownAccount_forbidden) {
  auto r = svc->reset_password(admin, admin.user_id, ResetOptions{});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "cannot_reset_self");
}

BOOST_AUTO_TEST_CASE(reset_helpdeskOnUserAdmin_forbiddenAndNothingChanges) {
  int64_t hd = add("hd", "helpdesk_admin");
  int64_t ua = add("ua", "user_admin");
  Actor a{hd, "hd", Role::HelpdeskAdmin, 2, false, "127.0.0.1", "", ""};
  auto r = svc->reset_password(a, ua, ResetOptions{});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "forbidden");
  BOOST_TEST(svc->sign_in("ua", "quiet-lantern-harbor-97", "127.0.0.4", "").ok());
}

BOOST_AUTO_TEST_CASE(reset_link_oldPasswordStopsAndLinkWorksOnce) {
  int64_t id = add("linky", "user");
  ResetOptions o;
  o.delivery = "link";
  o.notify = {"l@example.com"};
  auto r = svc->reset_password(admin, id, o);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!r->password.has_value());
  BOOST_REQUIRE(r->link.has_value());
  BOOST_TEST(r->link->rfind("https://appliance.local/#/set-password?token=", 0) == 0u);
  BOOST_TEST(!svc->sign_in("linky", "quiet-lantern-harbor-97", "127.0.0.5", "").ok());
  const std::string token = r->link->substr(r->link->find("token=") + 6);
  BOOST_TEST(svc->set_password_with_link(token, "amber-falcon-meadow-31", "x").ok());
  auto again = svc->set_password_with_link(token, "amber-falcon-meadow-32", "x");
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().code == "token_used");
  BOOST_TEST(svc->sign_in("linky", "amber-falcon-meadow-31", "127.0.0.6", "").ok());
}

BOOST_AUTO_TEST_CASE(reset_link_expiresAfterTtl) {
  int64_t id = add("late", "user");
  ResetOptions o;
  o.delivery = "link";
  auto r = svc->reset_password(admin, id, o);
  BOOST_REQUIRE(r.ok());
  clock.advance(61 * 60);
  auto s = svc->set_password_with_link(r->link->substr(r->link->find("token=") + 6), "amber-falcon-meadow-31", "x");
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().code == "token_expired");
}

BOOST_AUTO_TEST_CASE(validate_options_manualWithLink_refused) {
  ResetOptions o;
  o.mode = "manual";
  o.password = "amber-falcon-meadow-31";
  o.delivery = "link";
  BOOST_TEST(AccountService::validate_options(o, false).error().code == "manual_link_conflict");
  ResetOptions six;
  six.notify = {"a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io", "f@x.io"};
  BOOST_TEST(AccountService::validate_options(six, false).error().code == "too_many_recipients");
  ResetOptions bad;
  bad.notify = {"not an address"};
  BOOST_TEST(AccountService::validate_options(bad, false).error().code == "invalid_email");
}

BOOST_AUTO_TEST_CASE(sign_in_repeatedFailures_lockAndUnlockClears) {
  int64_t id = add("lock", "user");
  int throttled = 0;
  for (int i = 0; i < 40 && throttled == 0; ++i) {
    auto r = svc->sign_in("lock", "wrong-password-123", "127.0.0.7", "");
    BOOST_REQUIRE(!r.ok());
    if (r.error().code == "too_many_attempts") ++throttled;
    clock.advance(61);  // past the growing delay, so only the lockout stops us
  }
  BOOST_TEST(throttled == 1);
  BOOST_TEST(!svc->sign_in("lock", "quiet-lantern-harbor-97", "127.0.0.8", "").ok());
  BOOST_TEST(svc->unlock_user(admin, id).ok());
  BOOST_TEST(svc->sign_in("lock", "quiet-lantern-harbor-97", "127.0.0.9", "").ok());
}

BOOST_AUTO_TEST_CASE(check_service_password_sharesThrottleAndRefusesMustChange) {
  add("svc", "user");  // console_add_user: must change at first sign-in
  auto mc = svc->check_service_password("svc", "quiet-lantern-harbor-97", "pam:sshd", "pam:sshd@", "uid 0");
  BOOST_REQUIRE(!mc.ok());
  BOOST_TEST(mc.error().code == "password_change_required");
  BOOST_TEST(mc.error().message.find("https://appliance.local/#/password") != std::string::npos);
  BOOST_REQUIRE(svc->console_set_password("svc", "quiet-lantern-harbor-98", false).ok());
  auto ok = svc->check_service_password("svc", "quiet-lantern-harbor-98", "pam:sshd", "pam:sshd@", "uid 0");
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->username == "svc");
  // No session is made: PAM is not a web sign-in.
  std::vector<storage::SessionRecord> sessions;
  store->read([&](storage::Reader& r) { sessions = r.sessions_for_user(ok->id); });
  BOOST_TEST(sessions.empty());
  // Failures through PAM and the web count together on the account.
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(svc->check_service_password("svc", "wrong-password-123", "pam:sshd", "pam:sshd@", "").error().code ==
               "invalid_credentials");
  auto web = svc->sign_in("svc", "quiet-lantern-harbor-98", "127.0.2.1", "");
  BOOST_REQUIRE(!web.ok());
  BOOST_TEST(web.error().code == "too_many_attempts");
  std::vector<storage::AuditRecord> rows;
  store->read([&](storage::Reader& r) {
    storage::AuditQuery q;
    q.action = "sign_in";
    q.limit = 100;
    rows = r.audit_list(q);
  });
  int pam_rows = 0;
  for (const auto& a : rows) pam_rows += a.client == "pam:sshd" ? 1 : 0;
  BOOST_TEST(pam_rows == 5);  // must-change, ok, three failures
}

BOOST_AUTO_TEST_CASE(sign_in_unknownUser_sameGenericError) {
  add("known", "user");
  auto a = svc->sign_in("known", "wrong-password-123", "127.0.1.1", "");
  auto b = svc->sign_in("nobody", "wrong-password-123", "127.0.1.2", "");
  BOOST_TEST(a.error().code == "invalid_credentials");
  BOOST_TEST(b.error().code == "invalid_credentials");
  BOOST_TEST(a.error().message == b.error().message);
}

BOOST_AUTO_TEST_CASE(patch_lastGlobalAdmin_cannotBeDemotedOrDisabled) {
  int64_t ua = add("boss", "user_admin");
  (void)ua;
  UserPatch p;
  p.role = "user";
  auto r = svc->patch_user(admin, admin.user_id, p);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "last_global_admin");
  BOOST_TEST(svc->console_disable("root").error().code == "last_global_admin");
}

BOOST_AUTO_TEST_CASE(authenticate_idleSession_expires) {
  add("idle", "user");
  auto in = svc->sign_in("idle", "quiet-lantern-harbor-97", "127.0.2.1", "");
  BOOST_REQUIRE(in.ok());
  BOOST_TEST(svc->authenticate(in->token, "c", true).has_value());
  clock.advance_ms(AccountService::kSessionIdleMs + 1);
  BOOST_TEST(!svc->authenticate(in->token, "c", true).has_value());
}

BOOST_AUTO_TEST_CASE(authenticate_backgroundRequests_doNotKeepSessionAlive) {
  add("bg", "user");
  auto in = svc->sign_in("bg", "quiet-lantern-harbor-97", "127.0.2.2", "");
  BOOST_REQUIRE(in.ok());
  clock.advance_ms(AccountService::kSessionIdleMs - 1000);
  BOOST_TEST(svc->authenticate(in->token, "c", false).has_value());
  clock.advance_ms(2000);
  BOOST_TEST(!svc->authenticate(in->token, "c", false).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
