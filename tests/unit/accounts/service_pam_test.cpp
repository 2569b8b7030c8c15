// AccountService with [pam] on: names the OS keeps for itself (a fake
// os_reserved here) cannot be created and PAM never vouches for them; PAM
// names match exactly.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <set>

#include "resetd/accounts/service.h"
#include "resetd/crypto/totp.h"
#include "resetd/notify/templates.h"

using namespace resetd;
using namespace resetd::accounts;
namespace fs = std::filesystem;

namespace {
struct PamFixture {
  fs::path dir;
  ManualClock clock;
  std::unique_ptr<storage::Store> store;
  crypto::PasswordHasher hasher{1, 8, 2};
  crypto::SecretBox box{std::string(32, 'k')};
  std::unique_ptr<AccountService> svc;
  std::set<std::string> os_names = {"root", "backup"};
  Actor admin;

  PamFixture() {
    BOOST_REQUIRE(crypto::init());
    dir = fs::temp_directory_path() / ("resetd-pam-" + crypto::random_token(6));
    fs::create_directories(dir);
    store = storage::Store::open(dir.string());
    AccountSettings s;
    s.os_reserved = [this](const std::string& n) -> std::optional<std::string> {
      if (os_names.count(n)) return "an OS system account";
      return std::nullopt;
    };
    svc = std::make_unique<AccountService>(
        *store, clock, hasher, box,
        [](const std::string& k, const std::string& l, const std::map<std::string, std::string>& v) {
          auto r = notify::render(k, l, v);
          return std::make_pair(r.subject, r.body);
        },
        s);
    auto a = svc->console_add_user({"boss", "Boss", "boss@example.com", "", "global_admin", "en"},
                                   "violet-tractor-moonbeam-42");
    BOOST_REQUIRE(a.ok());
    admin = {a->id, "boss", Role::GlobalAdmin, 1, false, "127.0.0.1", "", ""};
  }
  ~PamFixture() { fs::remove_all(dir); }

  std::vector<storage::AuditRecord> sign_in_rows() {
    std::vector<storage::AuditRecord> rows;
    store->read([&](storage::Reader& r) {
      storage::AuditQuery q;
      q.action = "sign_in";
      q.limit = 100;
      rows = r.audit_list(q);
    });
    return rows;
  }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(AccountServicePamTests, PamFixture)

BOOST_AUTO_TEST_CASE(create_user_osReservedName_refused422WithField) {
  for (const char* name : {"root", "ROOT", "backup"}) {
    BOOST_TEST_CONTEXT(name) {
      NewUser nu{name, "", "x@example.com", "", "user", "en"};
      ResetOptions o;
      o.mode = "manual";
      o.password = "quiet-lantern-harbor-97";
      o.notify_user = false;
      auto r = svc->create_user(admin, nu, o);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().code == "reserved_username");
      BOOST_TEST(r.error().field == "username");
      auto c = svc->console_add_user(nu, "quiet-lantern-harbor-97");
      BOOST_REQUIRE(!c.ok());
      BOOST_TEST(c.error().code == "reserved_username");
    }
  }
  NewUser ok{"ann", "", "ann@example.com", "", "user", "en"};
  BOOST_TEST(svc->console_add_user(ok, "quiet-lantern-harbor-97").ok());
}

BOOST_AUTO_TEST_CASE(check_service_password_reservedOrNotExactName_refusedWithoutCountingAFailure) {
  BOOST_REQUIRE(svc->console_add_user({"ann", "", "ann@example.com", "", "user", "en"}, "quiet-lantern-harbor-97").ok());
  BOOST_REQUIRE(svc->console_set_password("ann", "quiet-lantern-harbor-98", false).ok());
  // made before [pam] was on (or by the directory): the OS's name is still the OS's
  os_names.erase("backup");
  BOOST_REQUIRE(svc->console_add_user({"backup", "", "b@example.com", "", "user", "en"}, "quiet-lantern-harbor-97").ok());
  BOOST_REQUIRE(svc->console_set_password("backup", "quiet-lantern-harbor-98", false).ok());
  os_names.insert("backup");

  auto r = svc->check_service_password("backup", "quiet-lantern-harbor-98", "pam:login", "pam:login@tty:tty1", "uid 0");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "reserved_username");
  for (const char* name : {"ANN", "Ann", "ann "}) {
    BOOST_TEST_CONTEXT(name) {
      auto x = svc->check_service_password(name, "quiet-lantern-harbor-98", "pam:login", "pam:login@tty:tty1", "uid 0");
      BOOST_REQUIRE(!x.ok());
      BOOST_TEST(x.error().code == "invalid_credentials");
    }
  }
  // none of these was a guess at a password: the accounts carry no failure
  std::optional<storage::UserRecord> ann, backup;
  store->read([&](storage::Reader& rd) {
    ann = rd.user_by_username("ann");
    backup = rd.user_by_username("backup");
  });
  BOOST_TEST(ann->failed_logins == 0);
  BOOST_TEST(backup->failed_logins == 0);
  BOOST_TEST(svc->check_service_password("ann", "quiet-lantern-harbor-98", "pam:login", "pam:login@tty:tty1", "uid 0").ok());
  // the web sign-in of such an account is not PAM's business
  BOOST_TEST(svc->sign_in("backup", "quiet-lantern-harbor-98", "127.0.0.2", "").ok());
  // audited, with who asked
  int reserved = 0, inexact = 0;
  for (const auto& a : sign_in_rows()) {
    if (a.outcome != "failed") continue;
    if (a.detail.find("reserved by the OS") == 0 && a.target == "backup") ++reserved;
    if (a.detail.find("username not exactly as stored") == 0) ++inexact;
    BOOST_TEST(a.detail.find("uid 0") != std::string::npos);
  }
  BOOST_TEST(reserved == 1);
  BOOST_TEST(inexact == 3);
}

BOOST_AUTO_TEST_CASE(check_service_password_failure_auditsWhoAsked) {
  BOOST_REQUIRE(svc->console_add_user({"ann", "", "ann@example.com", "", "user", "en"}, "quiet-lantern-harbor-97").ok());
  BOOST_REQUIRE(svc->check_service_password("ann", "wrong-password-1", "pam:sudo", "k", "uid 1000 (peer 0), tty pts/1").error().code ==
                "invalid_credentials");
  BOOST_REQUIRE(svc->check_service_password("nosuch", "wrong-password-1", "pam:sudo", "k", "uid 1000 (peer 0), tty pts/1").error().code ==
                "invalid_credentials");
  int with_context = 0;
  for (const auto& a : sign_in_rows())
    if (a.outcome == "failed" && a.detail.find("uid 1000 (peer 0), tty pts/1") != std::string::npos) ++with_context;
  BOOST_TEST(with_context == 2);
}

// Issue 23: the password alone was enough over PAM for an account with an app.
BOOST_AUTO_TEST_CASE(check_service_password_totpAccount_passwordThenCodeOnlyOnce) {
  const std::string pw = "quiet-lantern-harbor-123456";  // ends in six digits itself
  auto a = svc->console_add_user({"ann", "", "ann@example.com", "", "user", "en"}, "quiet-lantern-harbor-97");
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE(svc->console_set_password("ann", pw, false).ok());
  Actor ann{a->id, "ann", Role::User, 7, false, "127.0.0.1", "", ""};
  auto e = svc->begin_totp(ann, pw);
  BOOST_REQUIRE(e.ok());
  const std::string secret = *crypto::base32_decode(e->secret);
  const int64_t step = crypto::totp_step(clock.now());
  BOOST_REQUIRE(svc->confirm_totp(ann, crypto::totp_code(secret, step)).ok());
  auto check = [&](const std::string& typed) {
    return svc->check_service_password("ann", typed, "pam:sshd", "pam:sshd@192.0.2.1", "uid 0");
  };
  auto failures = [&] {
    std::optional<storage::UserRecord> u;
    store->read([&](storage::Reader& r) { u = r.user_by_username("ann"); });
    return u->failed_logins;
  };
  // the password alone (its own last six digits taken as the code): no
  BOOST_TEST(check(pw).error().code == "invalid_credentials");
  BOOST_TEST(failures() == 1);
  const std::string next = crypto::totp_code(secret, step + 1);
  BOOST_TEST(check(pw + next).ok());
  BOOST_TEST(failures() == 0);
  // never twice (the confirming code's step neither)
  BOOST_TEST(check(pw + next).error().code == "invalid_second_factor");
  BOOST_TEST(check(pw + crypto::totp_code(secret, step)).error().code == "invalid_second_factor");
  BOOST_TEST(failures() == 2);  // wrong codes count like wrong passwords
  // the web's second step shares the used step
  clock.advance(30);
  const std::string web = crypto::totp_code(secret, crypto::totp_step(clock.now()) + 1);
  auto s = svc->sign_in("ann", pw, "127.0.0.3", "");
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE(svc->sign_in_second_factor(s->pending_token, web, "", "127.0.0.3").ok());
  BOOST_TEST(check(pw + web).error().code == "invalid_second_factor");
}

BOOST_AUTO_TEST_SUITE_END()
