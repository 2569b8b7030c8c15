// libFuzzer target: every API route's handler with a fuzzed JSON body, as a
// signed-in global admin, against a real Store (temp dir under /dev/shm when
// present) and AccountService with cheap Argon2id parameters. No outbox
// worker runs, so nothing is sent anywhere; the relay test route (it would
// connect to a fuzzed host) and the backup download (file copies) are left
// out. Input: byte 0 picks the route, byte 1 the path id, the rest is the
// body. Handlers may answer anything or throw ApiError (a spec error); any
// other exception — a JSON type_error, a StorageError other than busy/full,
// std::out_of_range ... — would be a 500 in the server and crashes the target.
#include <httplib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "api.h"
#include "resetd/accounts/service.h"
#include "resetd/crypto/crypto.h"
#include "resetd/notify/relay_settings.h"
#include "resetd/notify/templates.h"

using namespace resetd;
using namespace resetd::http;
namespace fs = std::filesystem;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct World {
  fs::path dir;
  ManualClock clock;
  std::unique_ptr<storage::Store> store;
  crypto::PasswordHasher hasher{1, 8, 2};
  crypto::SecretBox box{std::string(32, 'k')};
  std::unique_ptr<accounts::AccountService> accounts;
  std::unique_ptr<notify::RelaySettings> relay;
  ServerOptions opts;
  ServerHooks hooks;
  std::unique_ptr<Services> svc;
  std::vector<Route> routes;
  accounts::Actor admin;

  World() {
    check(crypto::init());
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    dir = base / ("resetd-fuzz-routes-" + crypto::random_token(6));
    fs::create_directories(dir);
    store = storage::Store::open(dir.string());
    accounts::AccountSettings s;
    s.public_url = "https://appliance.local";
    s.data_dir = dir.string();
    accounts = std::make_unique<accounts::AccountService>(
        *store, clock, hasher, box,
        [](const std::string& k, const std::string& l, const std::map<std::string, std::string>& v) {
          auto r = notify::render(k, l, v);
          return std::make_pair(r.subject, r.body);
        },
        s);
    notify::RelayConfig rc;
    rc.mail_dir = (dir / "mail").string();
    relay = std::make_unique<notify::RelaySettings>(*store, box, rc);
    hooks.relay_settings = relay.get();
    hooks.data_dir = dir.string();
    svc = std::make_unique<Services>(Services{*accounts, *store, clock, opts, hooks, false,
                                                accounts::ForwardAuthPolicy(accounts::ForwardAuthSettings{})});
    add_session_routes(routes, *svc);
    add_user_routes(routes, *svc);
    add_misc_routes(routes, *svc);
    add_site_routes(routes, *svc);
    add_forward_auth_routes(routes, *svc);
    std::erase_if(routes, [](const Route& r) {
      return r.method == "GET" || r.method == "HEAD";  // no body to fuzz
    });
    auto a = accounts->console_add_user({"root", "Root", "root@example.com", "", "global_admin", "en"},
                                        "violet-tractor-moonbeam-42");
    check(a.ok());
    admin.user_id = a->id;
    admin.username = "root";
    admin.role = accounts::Role::GlobalAdmin;
    admin.session_id = 1;
    admin.client = "127.0.0.1";
    for (const char* u : {"alice", "bob", "carol"})
      check(accounts->console_add_user({u, u, std::string(u) + "@example.com", "", "user", "en"},
                                       "quiet-lantern-harbor-97")
                .ok());
  }
  ~World() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

World& world() {
  static World w;
  return w;
}

// A path matching the route's pattern, with `id` in place of its (\d+).
std::string path_for(const Route& r, const std::string& id, const std::vector<std::string>& known) {
  for (const std::string& p : known) {
    std::vector<std::string> caps;
    if (r.pattern.match(p, caps)) return p;
  }
  for (std::string p : {"/users/" + id, "/users/" + id + "/password-reset", "/users/" + id + "/unlock",
                        "/notifications/" + id + "/retry", "/sessions/" + id}) {
    std::vector<std::string> caps;
    if (r.pattern.match(p, caps)) return p;
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  World& w = world();
  const Route& r = w.routes[data[0] % w.routes.size()];
  static const std::vector<std::string> kFixed = {
      "/password-check", "/set-password", "/session", "/session/password", "/settings/relay",
      "/settings/password-policy", "/settings/expiration", "/settings/self-service",
      "/settings/retention", "/sessions", "/self-service/requests", "/self-service/reset", "/users",
      "/users/password-reset"};
  const std::string path = path_for(r, std::to_string(data[1] % 8), kFixed);
  if (path.empty() || path.find("/test") != std::string::npos) return 0;

  httplib::Request req;
  httplib::Response res;
  req.method = r.method;
  req.path = "/api/v1" + path;
  req.body.assign(reinterpret_cast<const char*>(data + 2), size - 2);
  Ctx c{req, res, {}, w.admin, "fuzz-session", "127.0.0.1", json::object()};
  check(r.pattern.match(path, c.m));
  try {
    if (!req.body.empty()) c.body = body_object(req.body);
    r.handler(c);
    check(res.status >= 200 && res.status < 300);
  } catch (const ApiError& e) {
    check(e.status >= 400 && e.status < 600 && e.status != 500);
    check(!e.error.code.empty() && !e.error.message.empty());
  } catch (const storage::StorageError& e) {
    check(e.kind() == storage::StorageError::Kind::Busy || e.kind() == storage::StorageError::Kind::Full);
  }
  return 0;
}
