// AccountService with [pam] on: names the OS keeps for itself (a fake
// os_reserved here) cannot be created and PAM never vouches for them; PAM
// names match exactly.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <set>

#include "resetd/accounts/service.h"
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

BOOST_AUTO_TEST_SUITE_END()
