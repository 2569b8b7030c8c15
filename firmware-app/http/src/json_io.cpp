// Error mapping and JSON shapes of spec §7.
#include <map>

#include "api.h"

namespace resetd::http {

int status_for(const std::string& code) {
  static const std::map<std::string, int> kStatus = {
      {"malformed_json", 400},        {"invalid_type", 400},
      {"bad_request", 400},           {"not_signed_in", 401},
      {"invalid_credentials", 401},   {"temporary_password_expired", 401},
      {"forbidden", 403},             {"csrf_failed", 403},
      {"origin_mismatch", 403},       {"cannot_reset_self", 403},
      {"cannot_delete_self", 403},    {"password_change_required", 403},
      {"not_found", 404},             {"method_not_allowed", 405},
      {"username_taken", 409},        {"last_global_admin", 409},
      {"not_retryable", 409},         {"length_required", 411},
      {"payload_too_large", 413},     {"unsupported_media_type", 415},
      {"unsupported_encoding", 415},  {"too_many_attempts", 429},
      {"rate_limited", 429},          {"busy", 503},
      {"storage_full", 507},          {"internal_error", 500},
  };
  auto it = kStatus.find(code);
  return it == kStatus.end() ? 422 : it->second;
}

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const Error& e) {
  json err = {{"code", e.code}, {"message", e.message}};
  if (!e.field.empty()) err["field"] = e.field;
  if (e.retry_after_s > 0 || status == 429 || status == 503)
    res.set_header("Retry-After", std::to_string(e.retry_after_s > 0 ? e.retry_after_s : 5));
  send_json(res, status, json{{"error", err}});
}

void send_error(httplib::Response& res, const Error& e) { send_error(res, status_for(e.code), e); }

namespace {
json opt_time(const std::optional<int64_t>& t) {
  return t ? json(rfc3339(*t)) : json(nullptr);
}
}  // namespace

json user_json(const storage::UserRecord& u, const Services& s) {
  return user_json(u, s, s.accounts.expiration());
}

json user_json(const storage::UserRecord& u, const Services& s, const accounts::ExpirationSettings& e) {
  const int64_t now = s.clock.now();
  return {
      {"id", u.id},
      {"username", u.username},
      {"display_name", u.display_name},
      {"email", u.email},
      {"alternate_email", u.alternate_email},
      {"role", u.role},
      {"locale", u.locale},
      {"disabled", u.disabled},
      {"locked", u.locked_until.has_value() && *u.locked_until > now},
      {"must_change_password", u.must_change},
      {"password_expires_at", opt_time(accounts::AccountService::password_expires_at(u, e))},
      {"created_at", rfc3339(u.created_at)},
      {"updated_at", rfc3339(u.updated_at)},
  };
}

json notification_json(const storage::OutboxRecord& m) {
  return {
      {"id", m.id},
      {"user_id", m.user_id ? json(*m.user_id) : json(nullptr)},
      {"kind", m.kind},
      {"recipient", m.recipient},
      {"state", m.state},
      {"attempts", m.attempts},
      {"last_answer", m.last_answer},
      {"created_at", rfc3339(m.created_at)},
      {"sent_at", opt_time(m.sent_at)},
  };
}

json body_object(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) fail(400, "malformed_json", "The request body is not valid JSON.");
  if (!j.is_object()) fail(400, "malformed_json", "The request body must be a JSON object.");
  return j;
}

std::optional<std::string> opt_string(const json& b, const char* key) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) fail(400, "invalid_type", std::string(key) + " must be a string.", key);
  return it->get<std::string>();
}

std::optional<bool> opt_bool(const json& b, const char* key) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) fail(400, "invalid_type", std::string(key) + " must be true or false.", key);
  return it->get<bool>();
}

std::optional<int64_t> opt_int(const json& b, const char* key) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) fail(400, "invalid_type", std::string(key) + " must be an integer.", key);
  return it->get<int64_t>();
}

std::string req_string(const json& b, const char* key) {
  auto v = opt_string(b, key);
  if (!v) fail(422, "missing_field", std::string(key) + " is required.", key);
  return *v;
}

accounts::ResetOptions reset_options(const json& b) {
  accounts::ResetOptions o;
  if (auto v = opt_string(b, "mode")) o.mode = *v;
  o.password = opt_string(b, "password");
  if (auto v = opt_bool(b, "require_change")) o.require_change = *v;
  if (auto v = opt_string(b, "delivery")) o.delivery = *v;
  if (auto v = opt_bool(b, "notify_user")) o.notify_user = *v;
  if (auto it = b.find("notify"); it != b.end() && !it->is_null()) {
    if (!it->is_array()) fail(400, "invalid_type", "notify must be an array of addresses.", "notify");
    for (const auto& e : *it) {
      if (!e.is_string()) fail(400, "invalid_type", "notify must be an array of addresses.", "notify");
      o.notify.push_back(e.get<std::string>());
    }
  }
  return o;
}

int64_t query_int(const httplib::Request& req, const char* key, int64_t def, int64_t lo, int64_t hi) {
  if (!req.has_param(key)) return def;
  const std::string v = req.get_param_value(key);
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos)
    fail(422, "invalid_query", std::string(key) + " must be a whole number.", key);
  int64_t n = std::stoll(v);
  if (n < lo || n > hi)
    fail(422, "invalid_query",
         std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ".",
         key);
  return n;
}

int64_t path_id(const Ctx& c, int group) {
  const std::string s = c.m[static_cast<size_t>(group)].str();
  if (s.empty() || s.size() > 15) fail(404, "not_found", "No such resource.");
  return std::stoll(s);
}

}  // namespace resetd::http
