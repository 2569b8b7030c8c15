// /password-check, /set-password, /notifications, /healthz.
#include <map>

#include "resetd/notify/templates.h"

#include "api.h"

namespace resetd::http {

void add_misc_routes(std::vector<Route>& r, Services& s) {
  static accounts::RateLimiter check_limit(s.clock, 120, 60);
  r.push_back({"POST", PathPattern("/password-check"), Auth::None, [&s](Ctx& c) {
                 if (int64_t wait = check_limit.take(c.client); wait > 0)
                   throw ApiError{429, Error{"rate_limited", "Too many checks; slow down.", "",
                                             static_cast<int>(wait)}};
                 const std::string pw = req_string(c.body, "password");
                 if (pw.size() > 4096) fail(422, "password_too_long", "The password is too long.", "password");
                 auto uid = opt_int(c.body, "user_id");
                 const accounts::Actor* a = c.actor ? &*c.actor : nullptr;
                 auto pr = s.accounts.check_policy(pw, uid, a);
                 send_json(c.res, 200,
                           {{"ok", pr.ok}, {"reasons", pr.reasons}, {"strength_bits", pr.strength_bits},
                            {"min_length", s.accounts.policy().min_length},
                            {"min_strength_bits", s.accounts.policy().min_strength_bits}});
               }});
  r.push_back({"POST", PathPattern("/set-password"), Auth::None, [&s](Ctx& c) {
                 const std::string token = req_string(c.body, "token");
                 const std::string pw = req_string(c.body, "new_password");
                 take(s.accounts.set_password_with_link(token, pw, c.client));
                 send_json(c.res, 200, {{"ok", true}});
               }});
  r.push_back({"GET", PathPattern("/notifications"), Auth::Session, [&s](Ctx& c) {
                 storage::OutboxQuery q;
                 if (c.req.has_param("state")) {
                   q.state = c.req.get_param_value("state");
                   static const char* kStates[] = {"queued", "sending", "sent", "failed", "superseded", "expired"};
                   bool ok = false;
                   for (const char* st : kStates) ok = ok || q.state == st;
                   if (!ok) fail(422, "invalid_query", "Unknown state.", "state");
                 }
                 if (c.req.has_param("user_id"))
                   q.user_id = query_int(c.req, "user_id", 0, 1, 1'000'000'000'000);
                 q.offset = query_int(c.req, "offset", 0, 0, 1'000'000'000);
                 q.limit = query_int(c.req, "limit", 100, 1, 500);
                 // Not a structured binding: clang 14 (the fuzz build) cannot
                 // capture one in the lambda below.
                 auto page = take(s.accounts.list_notifications(*c.actor, q));
                 const auto& list = page.first;
                 const auto total = page.second;
                 // Whose message it is: two rows to the same helpdesk address after a
                 // bulk reset are otherwise alike.
                 std::map<int64_t, std::string> names;
                 s.store.read([&](storage::Reader& rd) {
                   for (const auto& m : list)
                     if (m.user_id && !names.count(*m.user_id))
                       if (auto u = rd.user_by_id(*m.user_id)) names[*m.user_id] = u->username;
                 });
                 json out = json::array();
                 for (const auto& m : list) {
                   json j = notification_json(m);
                   auto it = m.user_id ? names.find(*m.user_id) : names.end();
                   j["username"] = it != names.end() ? json(it->second) : json(nullptr);
                   out.push_back(j);
                 }
                 send_json(c.res, 200, {{"notifications", out}, {"total", total}});
               }});
  r.push_back({"POST", PathPattern("/notifications/(\\d+)/retry"), Auth::Session, [&s](Ctx& c) {
                 auto m = take(s.accounts.retry_notification(*c.actor, path_id(c)));
                 send_json(c.res, 200, notification_json(m));
               }});
  r.push_back({"GET", PathPattern("/healthz"), Auth::None, [&s](Ctx& c) {
                 std::string db = "ok";
                 int64_t pending = 0;
                 try {
                   s.store.read([&](storage::Reader& rd) { pending = rd.outbox_pending_count(); });
                 } catch (const std::exception&) {
                   db = "error";
                 }
                 const bool clock_ok = wall_clock_plausible(s.clock.now());
                 json j = {{"status", db == "ok" ? "ok" : "degraded"},
                           {"db", db},
                           {"outbox_pending", pending},
                           {"clock", clock_ok ? "ok" : "unset"},
                           {"version", s.opts.version},
                           {"time", rfc3339(s.clock.now())}};
                 // The zone the mails show times in, so the UI shows the same hours.
                 const auto zone = notify::appliance_zone();
                 j["time_zone"] = {{"name", zone.name}, {"offset_s", zone.offset_s}};
                 if (!s.opts.tls_fingerprint.empty()) j["tls_fingerprint"] = s.opts.tls_fingerprint;
                 if (db == "ok") j["self_service"] = s.accounts.self_service().enabled;
                 send_json(c.res, db == "ok" ? 200 : 503, j);
               }});
}

}  // namespace resetd::http
