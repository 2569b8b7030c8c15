// Site administration (global_admin): settings, relay test, audit, backup;
// the caller's own sessions; the unauthenticated self-service endpoints.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iomanip>
#include <sstream>

#include "api.h"
#include "resetd/accounts/csv.h"
#include "resetd/notify/templates.h"

namespace resetd::http {

namespace {

void require_site_admin(const Ctx& c) {
  if (!accounts::may_administer_site(c.actor->role))
    fail(403, "forbidden", "Only a global admin may do this.");
}

json relay_json(const notify::RelayConfig& r) {
  return {{"kind", r.kind},         {"host", r.host},
          {"port", r.port},         {"security", r.security},
          {"username", r.username}, {"password_set", !r.password.empty()},
          {"from", r.from},         {"ca_file", r.ca_file},
          {"timeout_s", r.timeout_s}, {"url", r.url},
          {"secret_set", !r.secret.empty()}};
}

json policy_json(const accounts::PolicySettings& p) {
  return {{"min_length", p.min_length},
          {"max_length", accounts::kMaxPasswordLength},
          {"min_strength_bits", p.min_strength_bits},
          {"banned_words", p.banned}};
}

json self_service_json(const accounts::SelfServiceSettings& ss) {
  return {{"enabled", ss.enabled}, {"admins_enabled", ss.admins_enabled}};
}

json expiration_json(const accounts::ExpirationSettings& e) {
  return {{"never_expires", e.never_expires}, {"days", e.days}, {"reminder_days", e.reminder_days}};
}

// "2026-11-22T01:02:03Z" or Unix seconds.
std::optional<int64_t> parse_time(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 12)
    return std::stoll(s);
  std::tm tm{};
  std::istringstream in(s);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) {
    std::istringstream d(s);
    tm = {};
    d >> std::get_time(&tm, "%Y-%m-%d");
    if (d.fail()) return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm));
}

// RFC 4180 field with the spreadsheet formula guard (accounts/csv.h).
std::string csv_field(const std::string& v) { return accounts::csv::field(v); }

// The relay settings `b` asks for, on top of `was` (the saved ones); shared by
// Save and "Send test message", so a test of unsaved values follows the same
// rules. A stored secret only ever goes where it was typed for: when the
// destination changes it must be typed again, or a borrowed session could
// point the relay at a listener and read it off the wire (`dropped` says so).
notify::RelayConfig relay_from_body(const json& b, const notify::RelayConfig& was, std::string& dropped) {
  notify::RelayConfig cfg = was;
  if (auto v = opt_string(b, "kind")) cfg.kind = *v;
  if (auto v = opt_string(b, "host")) cfg.host = *v;
  if (auto v = opt_int(b, "port")) {
    if (*v < 1 || *v > 65535) fail(422, "invalid_setting", "port must be 1–65535.", "port");
    cfg.port = static_cast<int>(*v);
  }
  if (auto v = opt_string(b, "security")) cfg.security = *v;
  if (auto v = opt_string(b, "username")) cfg.username = *v;
  if (auto v = opt_string(b, "password")) cfg.password = *v;
  if (auto v = opt_string(b, "from")) cfg.from = *v;
  if (auto v = opt_string(b, "ca_file")) cfg.ca_file = *v;
  if (auto v = opt_int(b, "timeout_s")) {
    if (*v < 1 || *v > 300) fail(422, "invalid_setting", "timeout_s must be 1–300.", "timeout_s");
    cfg.timeout_s = static_cast<int>(*v);
  }
  if (auto v = opt_string(b, "url")) cfg.url = *v;
  if (auto v = opt_string(b, "secret")) cfg.secret = *v;
  const bool smtp_moved = cfg.kind != was.kind || cfg.host != was.host ||
                          cfg.port != was.port || cfg.security != was.security ||
                          cfg.username != was.username || cfg.ca_file != was.ca_file;
  const bool hook_moved = cfg.kind != was.kind || cfg.url != was.url ||
                          cfg.ca_file != was.ca_file;
  if (smtp_moved && !opt_string(b, "password") && !cfg.password.empty()) {
    cfg.password.clear();
    dropped += ", stored password dropped (destination changed)";
  }
  if (hook_moved && !opt_string(b, "secret") && !cfg.secret.empty()) {
    cfg.secret.clear();
    dropped += ", stored secret dropped (destination changed)";
  }
  for (auto [name, value] : {std::pair{"host", &cfg.host}, std::pair{"username", &cfg.username},
                             std::pair{"from", &cfg.from}, std::pair{"url", &cfg.url},
                             std::pair{"ca_file", &cfg.ca_file}})
    if (value->find_first_of("\r\n") != std::string::npos)
      fail(422, "invalid_setting", "Values must be one line.", name);
  if (!cfg.ca_file.empty() && ::access(cfg.ca_file.c_str(), R_OK) != 0)
    fail(422, "invalid_setting", "ca_file is not a readable file on the appliance.", "ca_file");
  return cfg;
}

}  // namespace

void add_site_routes(std::vector<Route>& r, Services& s) {
  // ---- settings ----
  r.push_back({"GET", PathPattern("/settings/relay"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 send_json(c.res, 200, relay_json(s.hooks.relay_settings->current()));
               }});
  r.push_back({"PUT", PathPattern("/settings/relay"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 std::string dropped;
                 notify::RelayConfig cfg = relay_from_body(c.body, s.hooks.relay_settings->current(), dropped);
                 auto relay = s.hooks.relay_settings->save(cfg);
                 if (!relay) {
                   Error e = relay.error();
                   e.code = "invalid_setting";
                   throw ApiError{422, e};
                 }
                 std::shared_ptr<notify::Relay> shared(std::move(relay.value()));
                 if (s.hooks.relay_changed) s.hooks.relay_changed(shared, cfg.from);
                 s.accounts.audit_setting(*c.actor, "relay", shared->describe() + dropped);
                 send_json(c.res, 200, relay_json(cfg));
               }});
  r.push_back({"POST", PathPattern("/settings/relay/test"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 const std::string to = req_string(c.body, "to");
                 if (to.size() > 254 || to.find_first_of(" \r\n<>,;") != std::string::npos ||
                     to.find('@') == std::string::npos || to.front() == '@' || to.back() == '@')
                   fail(422, "invalid_email", "Not a valid email address.", "to");
                 // The values on screen, saved or not (none given: the saved relay).
                 std::string dropped;
                 notify::RelayConfig cfg = relay_from_body(c.body, s.hooks.relay_settings->current(), dropped);
                 auto relay = notify::make_relay(cfg);
                 if (!relay) {
                   send_json(c.res, 200, {{"ok", false}, {"answer", relay.error().message}});
                   return;
                 }
                 auto u = take(s.accounts.get_user(*c.actor, c.actor->user_id));
                 auto text = notify::render("test", u.locale, {});
                 notify::Envelope e;
                 e.kind = "test";
                 e.to = to;
                 e.subject = text.subject;
                 e.body = text.body;
                 e.message_id = crypto::random_token(18) + "@resetd";
                 e.created_at = e.date = s.clock.now();
                 auto res = relay.value()->deliver(e);
                 const bool ok = res.outcome == notify::Outcome::Sent;
                 s.accounts.audit_event(c.actor->username, c.client, "relay_test", to, ok ? "ok" : "failed",
                                        res.answer);
                 send_json(c.res, 200, {{"ok", ok}, {"answer", res.answer}});
               }});
  r.push_back({"GET", PathPattern("/settings/password-policy"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 send_json(c.res, 200, policy_json(s.accounts.policy()));
               }});
  r.push_back({"PUT", PathPattern("/settings/password-policy"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 accounts::PolicySettings p = s.accounts.policy();
                 if (auto v = opt_int(c.body, "min_length")) p.min_length = static_cast<int>(std::clamp<int64_t>(*v, -1, 1000));
                 if (auto v = opt_int(c.body, "min_strength_bits")) p.min_strength_bits = static_cast<int>(std::clamp<int64_t>(*v, -1, 1000));
                 if (auto it = c.body.find("banned_words"); it != c.body.end() && !it->is_null()) {
                   if (!it->is_array()) fail(400, "invalid_type", "banned_words must be an array of strings.", "banned_words");
                   p.banned.clear();
                   for (const auto& w : *it) {
                     if (!w.is_string()) fail(400, "invalid_type", "banned_words must be an array of strings.", "banned_words");
                     p.banned.push_back(w.get<std::string>());
                   }
                 }
                 take(s.accounts.put_policy(*c.actor, p));
                 send_json(c.res, 200, policy_json(s.accounts.policy()));
               }});
  r.push_back({"GET", PathPattern("/settings/expiration"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 send_json(c.res, 200, expiration_json(s.accounts.expiration()));
               }});
  r.push_back({"PUT", PathPattern("/settings/expiration"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 accounts::ExpirationSettings e = s.accounts.expiration();
                 if (auto v = opt_bool(c.body, "never_expires")) e.never_expires = *v;
                 if (auto v = opt_int(c.body, "days")) e.days = static_cast<int>(std::clamp<int64_t>(*v, -1, 100000));
                 if (auto v = opt_int(c.body, "reminder_days")) e.reminder_days = static_cast<int>(std::clamp<int64_t>(*v, -1, 100000));
                 take(s.accounts.put_expiration(*c.actor, e));
                 send_json(c.res, 200, expiration_json(s.accounts.expiration()));
               }});
  r.push_back({"GET", PathPattern("/settings/self-service"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 send_json(c.res, 200, self_service_json(s.accounts.self_service()));
               }});
  r.push_back({"PUT", PathPattern("/settings/self-service"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 accounts::SelfServiceSettings ss = s.accounts.self_service();
                 if (auto v = opt_bool(c.body, "enabled")) ss.enabled = *v;
                 if (auto v = opt_bool(c.body, "admins_enabled")) ss.admins_enabled = *v;
                 take(s.accounts.put_self_service(*c.actor, ss));
                 send_json(c.res, 200, self_service_json(s.accounts.self_service()));
               }});
  r.push_back({"GET", PathPattern("/settings/retention"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 send_json(c.res, 200, {{"audit_days", s.accounts.audit_retention_days()}, {"outbox_days", 30}});
               }});
  r.push_back({"PUT", PathPattern("/settings/retention"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 auto v = opt_int(c.body, "audit_days");
                 if (!v) fail(422, "missing_field", "audit_days is required.", "audit_days");
                 take(s.accounts.put_audit_retention(*c.actor, static_cast<int>(std::clamp<int64_t>(*v, -1, 100000))));
                 send_json(c.res, 200, {{"audit_days", s.accounts.audit_retention_days()}, {"outbox_days", 30}});
               }});

  // ---- audit ----
  r.push_back({"GET", PathPattern("/audit"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 storage::AuditQuery q;
                 const bool csv = c.req.has_param("format") && c.req.get_param_value("format") == "csv";
                 if (c.req.has_param("format") && !csv) fail(422, "invalid_query", "format must be csv.", "format");
                 q.offset = query_int(c.req, "offset", 0, 0, 1'000'000'000);
                 q.limit = query_int(c.req, "limit", csv ? 100000 : 100, 1, csv ? 100000 : 1000);
                 if (c.req.has_param("actor")) q.actor = c.req.get_param_value("actor");
                 if (c.req.has_param("target")) q.target = c.req.get_param_value("target");
                 if (c.req.has_param("recipient")) q.recipient = c.req.get_param_value("recipient");
                 if (q.actor.size() > 256 || q.target.size() > 256 || q.recipient.size() > 256)
                   fail(422, "invalid_query", "actor, target and recipient: at most 256 characters.",
                        q.recipient.size() > 256 ? "recipient" : q.target.size() > 256 ? "target" : "actor");
                 if (c.req.has_param("match")) {
                   const std::string m = c.req.get_param_value("match");
                   if (m != "exact" && m != "partial") fail(422, "invalid_query", "match must be exact or partial.", "match");
                   q.partial = m == "partial";
                 }
                 if (c.req.has_param("action")) q.action = c.req.get_param_value("action");
                 if (c.req.has_param("since")) {
                   q.since = parse_time(c.req.get_param_value("since"));
                   if (!q.since) fail(422, "invalid_query", "since must be an RFC 3339 time or a date.", "since");
                 }
                 std::vector<storage::AuditRecord> rows;
                 int64_t total = 0;
                 s.store.read([&](storage::Reader& rd) {
                   rows = rd.audit_list(q);
                   total = rd.audit_count(q);
                 });
                 if (csv) {
                   std::string out = "id,at,actor,client,action,target,outcome,detail\r\n";
                   for (const auto& a : rows)
                     out += std::to_string(a.id) + "," + rfc3339(a.at) + "," + csv_field(a.actor) + "," +
                            csv_field(a.client) + "," + csv_field(a.action) + "," + csv_field(a.target) +
                            "," + csv_field(a.outcome) + "," + csv_field(a.detail) + "\r\n";
                   c.res.set_header("Content-Disposition", "attachment; filename=\"resetd-audit.csv\"");
                   c.res.set_content(out, "text/csv; charset=utf-8");
                   return;
                 }
                 json entries = json::array();
                 for (const auto& a : rows)
                   entries.push_back({{"id", a.id}, {"at", rfc3339(a.at)}, {"actor", a.actor},
                                      {"client", a.client}, {"action", a.action}, {"target", a.target},
                                      {"outcome", a.outcome}, {"detail", a.detail}});
                 send_json(c.res, 200, {{"entries", entries}, {"total", total}});
               }});

  // ---- backup ----
  r.push_back({"GET", PathPattern("/backup"), Auth::Session, [&s](Ctx& c) {
                 require_site_admin(c);
                 namespace fs = std::filesystem;
                 fs::path dir = fs::path(s.hooks.data_dir) / "backups";
                 std::error_code ec;
                 fs::create_directories(dir, ec);
                 fs::path snap = dir / ("download-" + crypto::random_token(8) + ".db");
                 s.store.backup_to(snap.string());
                 std::ifstream in(snap, std::ios::binary);
                 std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                 fs::remove(snap, ec);
                 s.accounts.audit_event(c.actor->username, c.client, "backup", "database", "ok",
                                        std::to_string(data.size()) + " bytes");
                 c.res.set_header("Content-Disposition", "attachment; filename=\"resetd-" +
                                                             rfc3339(s.clock.now()).substr(0, 10) + ".db\"");
                 c.res.set_content(data, "application/vnd.sqlite3");
               }});

  // ---- my sessions ----
  r.push_back({"GET", PathPattern("/sessions"), Auth::Session, [&s](Ctx& c) {
                 auto list = take(s.accounts.list_sessions(*c.actor));
                 json out = json::array();
                 for (const auto& x : list)
                   out.push_back({{"id", x.id}, {"created_at", rfc3339(x.created_at)},
                                  {"expires_at", rfc3339(x.expires_at)}, {"client", x.client_addr},
                                  {"user_agent", x.user_agent}, {"current", x.id == c.actor->session_id}});
                 send_json(c.res, 200, {{"sessions", out}});
               }});
  r.push_back({"DELETE", PathPattern("/sessions"), Auth::Session, [&s](Ctx& c) {
                 if (!c.req.has_param("others") || c.req.get_param_value("others") != "true")
                   fail(422, "invalid_query", "Use ?others=true to end all your other sessions.", "others");
                 take(s.accounts.end_other_sessions(*c.actor));
                 c.res.status = 204;
               }});
  r.push_back({"DELETE", PathPattern("/sessions/(\\d+)"), Auth::Session, [&s](Ctx& c) {
                 take(s.accounts.end_session(*c.actor, path_id(c)));
                 c.res.status = 204;
               }});

  // ---- self-service (unauthenticated) ----
  r.push_back({"POST", PathPattern("/self-service/requests"), Auth::None, [&s](Ctx& c) {
                 auto username = opt_string(c.body, "username");
                 if (!username || username->empty())
                   fail(422, "missing_field", "username is required.", "username");
                 take(s.accounts.self_service_request(*username, c.client));
                 send_json(c.res, 202, {{"status", "accepted"},
                                        {"message", "If self-service is available for this account, a code "
                                                    "is on its way to the alternate address on file."}});
               }});
  r.push_back({"POST", PathPattern("/self-service/reset"), Auth::None, [&s](Ctx& c) {
                 const std::string username = req_string(c.body, "username");
                 const std::string code = req_string(c.body, "code");
                 const std::string pw = req_string(c.body, "new_password");
                 take(s.accounts.self_service_reset(username, code, pw, c.client));
                 send_json(c.res, 200, {{"ok", true}});
               }});
}

}  // namespace resetd::http
