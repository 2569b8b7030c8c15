// /users: list, create, read, edit, delete, reset, unlock, bulk reset.
#include <algorithm>
#include <cstdint>

#include "api.h"

namespace resetd::http {

namespace {
json outcome_json(const accounts::ResetOutcome& o, const Services& s) {
  json j = {{"user", user_json(o.user, s)}, {"notifications", json::array()}};
  if (o.password) j["password"] = *o.password;
  if (o.link) j["link"] = *o.link;
  if (o.expires_at) j["expires_at"] = rfc3339(*o.expires_at);
  for (const auto& m : o.notifications) j["notifications"].push_back(notification_json(m));
  if (!o.warnings.empty()) {
    j["warnings"] = json::array();
    for (const auto& w : o.warnings) {
      const auto colon = w.find(": ");
      j["warnings"].push_back({{"code", w.substr(0, colon)}, {"message", w.substr(colon + 2)}});
    }
  }
  return j;
}
}  // namespace

void add_user_routes(std::vector<Route>& r, Services& s) {
  r.push_back({"GET", PathPattern("/users"), Auth::Session, [&s](Ctx& c) {
                 const std::string q = c.req.has_param("q") ? c.req.get_param_value("q") : "";
                 if (q.size() > 256) fail(422, "invalid_query", "q is too long.", "q");
                 const int64_t offset = query_int(c.req, "offset", 0, 0, 1'000'000'000);
                 const int64_t limit = query_int(c.req, "limit", 50, 1, 200);
                 const std::string sort = c.req.has_param("sort") ? c.req.get_param_value("sort") : "username";
                 const std::optional<bool> disabled = query_bool(c.req, "disabled");
                 const std::string filter = c.req.has_param("filter") ? c.req.get_param_value("filter") : "";
                 const auto expiry = s.accounts.expiration();
                 // Every input of the bytes after "directory" (see list_cache.h).
                 // The strings as sent, length-prefixed: no two requests share a key.
                 const std::string key = std::to_string(offset) + ' ' + std::to_string(limit) + ' ' +
                                         (disabled ? (*disabled ? "1" : "0") : "-") + ' ' +
                                         (expiry.never_expires ? "n" : "e") + std::to_string(expiry.days) + ' ' +
                                         std::to_string(sort.size()) + ':' + sort + std::to_string(q.size()) + ':' + q;
                 // Only an admin's request gets that far (list_users refuses the rest).
                 const uint64_t gen = c.actor->generation;  // taken before this request's reads (0: none)
                 // A filter's answer is not kept: who is locked or expiring
                 // changes with the clock alone.
                 const bool may_reuse = accounts::is_admin(c.actor->role) && gen != 0 && filter.empty();
                 const int64_t now = s.clock.now();
                 const std::string dir = directory_status_json(s.accounts, may_reuse ? std::optional<uint64_t>(gen) : std::nullopt).dump();
                 // The answer after "directory": kept, or built from the database.
                 const auto hit = may_reuse ? s.list_cache->find(key, gen, now) : nullptr;
                 std::string built;
                 int64_t valid_until = INT64_MAX;  // until the first lock shown runs out
                 if (!hit) {
                   auto page = take(s.accounts.list_users(*c.actor, q, offset, limit, sort, disabled, filter));
                   built = ",\"total\":" + std::to_string(page.total) + ",\"users\":[";
                   built.reserve(page.users.size() * 400 + 64);
                   for (size_t i = 0; i < page.users.size(); ++i) {
                     if (i) built += ',';
                     const auto& u = page.users[i];
                     append_user_json(built, u, now, expiry);
                     if (u.locked_until && *u.locked_until > now) valid_until = std::min(valid_until, *u.locked_until);
                   }
                   built += "]}";
                 }
                 const std::string& tail = hit ? *hit : built;
                 std::string out;
                 out.reserve(dir.size() + tail.size() + 16);
                 out += "{\"directory\":";
                 out += dir;
                 out += tail;
                 if (!hit && may_reuse) s.list_cache->put(key, gen, now, valid_until, std::move(built));
                 c.res.status = 200;
                 set_body(c.res, std::move(out), "application/json; charset=utf-8");
               }});
  r.push_back({"POST", PathPattern("/users"), Auth::Session, [&s](Ctx& c) {
                 accounts::NewUser nu;
                 nu.username = req_string(c.body, "username");
                 nu.display_name = opt_string(c.body, "display_name").value_or("");
                 nu.email = req_string(c.body, "email");
                 nu.alternate_email = opt_string(c.body, "alternate_email").value_or("");
                 nu.role = opt_string(c.body, "role").value_or("user");
                 nu.locale = opt_string(c.body, "locale").value_or("");
                 auto o = reset_options(c.body);
                 auto out = take(s.accounts.create_user(*c.actor, nu, o));
                 send_json(c.res, 201, outcome_json(out, s));
               }});
  r.push_back({"POST", PathPattern("/users/password-reset"), Auth::Session, [&s](Ctx& c) {
                 auto it = c.body.find("ids");
                 if (it == c.body.end() || !it->is_array())
                   fail(400, "invalid_type", "ids must be an array of user ids.", "ids");
                 if (it->empty()) fail(422, "invalid_ids", "ids must not be empty.", "ids");
                 if (it->size() > 40) fail(422, "too_many_ids", "At most 40 users at once.", "ids");
                 std::vector<int64_t> ids;
                 for (const auto& e : *it) {
                   if (!e.is_number_integer()) fail(400, "invalid_type", "ids must be integers.", "ids");
                   ids.push_back(e.get<int64_t>());
                 }
                 auto o = reset_options(c.body);
                 if (o.mode != "auto") fail(422, "invalid_mode", "A bulk reset must use mode \"auto\".", "mode");
                 take(accounts::AccountService::validate_options(o, true));
                 auto outs = take(s.accounts.bulk_reset_password(*c.actor, ids, o));
                 json results = json::array();
                 for (size_t i = 0; i < ids.size(); ++i) {
                   json item = {{"id", ids[i]}};
                   const auto& out = outs[i];
                   if (out) {
                     item["status"] = 200;
                     if (out->password) item["password"] = *out->password;
                     if (out->link) item["link"] = *out->link;
                     // The record after the reset: the slip needs the new expiry.
                     item["user"] = user_json(out->user, s);
                     if (out->expires_at) item["expires_at"] = rfc3339(*out->expires_at);
                     item["notifications"] = json::array();
                     for (const auto& m : out->notifications)
                       item["notifications"].push_back(notification_json(m));
                   } else {
                     item["status"] = status_for(out.error().code);
                     item["error"] = {{"code", out.error().code}, {"message", out.error().message}};
                   }
                   results.push_back(item);
                 }
                 send_json(c.res, 200, {{"results", results}});
               }});
  r.push_back({"GET", PathPattern("/users/(\\d+)"), Auth::Session, [&s](Ctx& c) {
                 // The record plus what the details pane shows: last sign-in,
                 // who last set the password, open sessions.
                 auto d = take(s.accounts.user_details(*c.actor, path_id(c)));
                 json j = user_json(d.user, s);
                 const auto t = [](const std::optional<int64_t>& v) { return v ? json(rfc3339(*v)) : json(nullptr); };
                 j["last_sign_in_at"] = t(d.last_sign_in_at);
                 j["password_changed_at"] = t(d.user.password_changed_at);
                 j["temporary_password_expires_at"] = t(d.user.temp_expires_at);
                 j["password_set"] = d.password_set ? json{{"by", d.password_set->actor},
                                                           {"action", d.password_set->action},
                                                           {"at", rfc3339(d.password_set->at)}}
                                                    : json(nullptr);
                 j["active_sessions"] = d.active_sessions;
                 send_json(c.res, 200, j);
               }});
  r.push_back({"DELETE", PathPattern("/users/(\\d+)/sessions"), Auth::Session, [&s](Ctx& c) {
                 const int64_t n = take(s.accounts.end_user_sessions(*c.actor, path_id(c)));
                 send_json(c.res, 200, {{"ended", n}});
               }});
  r.push_back({"PATCH", PathPattern("/users/(\\d+)"), Auth::Session, [&s](Ctx& c) {
                 accounts::UserPatch p;
                 p.display_name = opt_string(c.body, "display_name");
                 p.email = opt_string(c.body, "email");
                 p.alternate_email = opt_string(c.body, "alternate_email");
                 p.role = opt_string(c.body, "role");
                 p.disabled = opt_bool(c.body, "disabled");
                 p.locale = opt_string(c.body, "locale");
                 p.current_password = opt_string(c.body, "current_password");
                 auto u = take(s.accounts.patch_user(*c.actor, path_id(c), p));
                 send_json(c.res, 200, user_json(u, s));
               }});
  r.push_back({"DELETE", PathPattern("/users/(\\d+)"), Auth::Session, [&s](Ctx& c) {
                 take(s.accounts.delete_user(*c.actor, path_id(c)));
                 c.res.status = 204;
               }});
  r.push_back({"POST", PathPattern("/users/(\\d+)/password-reset"), Auth::Session, [&s](Ctx& c) {
                 auto o = reset_options(c.body);
                 auto out = take(s.accounts.reset_password(*c.actor, path_id(c), o));
                 send_json(c.res, 200, outcome_json(out, s));
               }});
  r.push_back({"POST", PathPattern("/users/(\\d+)/unlock"), Auth::Session, [&s](Ctx& c) {
                 const int64_t id = path_id(c);
                 take(s.accounts.unlock_user(*c.actor, id));
                 send_json(c.res, 200, user_json(take(s.accounts.get_user(*c.actor, id)), s));
               }});
}

}  // namespace resetd::http
