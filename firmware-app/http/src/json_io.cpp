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
      {"not_retryable", 409},         {"account_changed", 409},
      {"length_required", 411},
      {"payload_too_large", 413},     {"csv_too_large", 413},
      {"unsupported_media_type", 415},
      {"unsupported_encoding", 415},  {"too_many_attempts", 429},
      {"rate_limited", 429},          {"busy", 503},
      {"storage_full", 507},          {"internal_error", 500},
      {"directory_policy", 422},      {"directory_unavailable", 503},
      {"directory_error", 502},       {"directory_not_configured", 409},
      {"directory_managed", 409},     {"directory_busy", 503},
      {"directory_outcome_unknown", 503}, {"reset_in_progress", 409},
      {"unrecorded_storage_full", 507}, {"unrecorded_storage_busy", 503},
      {"sign_in_expired", 401},       {"invalid_second_factor", 401},
      {"second_factor_enrolled", 409}, {"no_enrolment", 409},
      {"caller_verification_required", 409}, {"caller_verification_off", 409},
      {"caller_verification_ended", 409}, {"caller_verification_expired", 409},
      {"caller_verification_done", 409}, {"no_caller_factor", 409},
      {"second_factor_required", 403}, {"second_factor_off", 403},
      {"second_factor_required_by_policy", 409}, {"no_second_factor", 409},
      {"second_factor_code_required", 400},
      {"webauthn_unavailable", 409}, {"security_keys_unavailable", 503},
      {"no_security_key", 409}, {"no_challenge", 409},
      {"security_key_enrolled", 409}, {"too_many_security_keys", 409},
      {"last_required_factor", 409},
  };
  auto it = kStatus.find(code);
  return it == kStatus.end() ? 422 : it->second;
}

void set_body(httplib::Response& res, std::string&& body, const char* content_type) {
  // What Response::set_content does, with the body moved in.
  res.body = std::move(body);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", content_type);
}

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  set_body(res, j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json; charset=utf-8");
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
  return user_json_at(u, s.clock.now(), e);
}

json user_json_at(const storage::UserRecord& u, int64_t now, const accounts::ExpirationSettings& e) {
  return {
      {"id", u.id},
      {"username", u.username},
      {"display_name", u.display_name},
      {"email", u.email},
      {"alternate_email", u.alternate_email},
      {"role", u.role},
      {"locale", u.locale},
      {"disabled", u.disabled},
      {"locked", (u.locked_until.has_value() && *u.locked_until > now) || u.directory_locked},
      {"directory_locked", u.directory_locked},
      {"locked_until", u.locked_until.has_value() && *u.locked_until > now ? json(rfc3339(*u.locked_until)) : json(nullptr)},
      {"must_change_password", u.must_change},
      {"password_expires_at", opt_time(accounts::AccountService::password_expires_at(u, e))},
      {"source", u.directory_id.empty() ? "local" : "directory"},
      {"created_at", rfc3339(u.created_at)},
      {"updated_at", rfc3339(u.updated_at)},
  };
}

namespace {
// A JSON string exactly as nlohmann's dump() writes it (UTF-8 kept, control
// characters escaped); invalid UTF-8 goes through nlohmann's replacement.
void append_string(std::string& out, const std::string& v) {
  size_t i = 0;
  const size_t n = v.size();
  bool valid = true;
  while (i < n) {
    const auto c = static_cast<unsigned char>(v[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) { valid = false; break; }
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(v[i + k]) & 0xc0) != 0x80) valid = false;
    if (!valid) break;
    i += len;
  }
  if (!valid) {
    out += json(v).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied: copied in spans, not byte by byte
  for (size_t k = 0; k < n; ++k) {
    const auto c = static_cast<unsigned char>(v[k]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(v, run, k - run);
    run = k + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static const char* kHex = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      }
    }
  }
  out.append(v, run, n - run);
  out += '"';
}
void append_key(std::string& out, const char* k) {
  out += '"';
  out += k;
  out += "\":";
}
}  // namespace

void append_user_json(std::string& out, const storage::UserRecord& u, int64_t now,
                      const accounts::ExpirationSettings& e) {
  // Keys in nlohmann's (sorted) order, so the bytes equal user_json_at().dump().
  out += '{';
  append_key(out, "alternate_email"), append_string(out, u.alternate_email), out += ',';
  append_key(out, "created_at"), append_string(out, rfc3339(u.created_at)), out += ',';
  append_key(out, "directory_locked"), out += u.directory_locked ? "true," : "false,";
  append_key(out, "disabled"), out += u.disabled ? "true," : "false,";
  append_key(out, "display_name"), append_string(out, u.display_name), out += ',';
  append_key(out, "email"), append_string(out, u.email), out += ',';
  append_key(out, "id"), out += std::to_string(u.id), out += ',';
  append_key(out, "locale"), append_string(out, u.locale), out += ',';
  append_key(out, "locked"), out += ((u.locked_until.has_value() && *u.locked_until > now) || u.directory_locked) ? "true," : "false,";
  append_key(out, "locked_until");
  if (u.locked_until.has_value() && *u.locked_until > now) append_string(out, rfc3339(*u.locked_until));
  else out += "null";
  out += ',';
  append_key(out, "must_change_password"), out += u.must_change ? "true," : "false,";
  append_key(out, "password_expires_at");
  if (auto t = accounts::AccountService::password_expires_at(u, e)) append_string(out, rfc3339(*t));
  else out += "null";
  out += ',';
  append_key(out, "role"), append_string(out, u.role), out += ',';
  append_key(out, "source"), out += u.directory_id.empty() ? "\"local\"," : "\"directory\",";
  append_key(out, "updated_at"), append_string(out, rfc3339(u.updated_at)), out += ',';
  append_key(out, "username"), append_string(out, u.username);
  out += '}';
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
      // When a queued message is tried next, so a failed try reads with the
      // hour of the next one; null once it is no longer waiting.
      {"next_attempt_at", m.state == "queued" ? json(rfc3339(m.next_attempt_at)) : json(nullptr)},
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
  if (auto v = opt_string(b, "password_style")) o.password_style = *v;
  o.unlock = opt_bool(b, "unlock");
  if (auto v = opt_string(b, "caller_verification")) o.caller_verification = *v;
  if (auto v = opt_string(b, "override_reason")) o.override_reason = *v;
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

std::optional<bool> query_bool(const httplib::Request& req, const char* key) {
  if (!req.has_param(key)) return std::nullopt;
  const std::string v = req.get_param_value(key);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  fail(422, "invalid_query", std::string(key) + " must be true or false.", key);
}

PathPattern::PathPattern(std::string_view pattern) {
  size_t i = 1;  // after the leading '/'
  while (i <= pattern.size()) {
    size_t j = pattern.find('/', i);
    if (j == std::string_view::npos) j = pattern.size();
    std::string_view seg = pattern.substr(i, j - i);
    segments_.emplace_back(seg == "(\\d+)" ? std::string_view() : seg);
    i = j + 1;
  }
}

bool PathPattern::match(std::string_view path, std::vector<std::string>& caps) const {
  if (path.empty() || path[0] != '/') return false;
  caps.assign(1, std::string(path));
  size_t i = 1;
  for (size_t k = 0; k < segments_.size(); ++k) {
    if (i > path.size()) return false;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view seg = path.substr(i, j - i);
    if (segments_[k].empty()) {
      if (seg.empty() || seg.find_first_not_of("0123456789") != std::string_view::npos) return false;
      caps.emplace_back(seg);
    } else if (seg != segments_[k]) {
      return false;
    }
    i = j + 1;
  }
  return i == path.size() + 1;  // every segment used, nothing left over
}

int64_t path_id(const Ctx& c, int group) {
  const size_t g = static_cast<size_t>(group);
  const std::string s = g < c.m.size() ? c.m[g] : std::string();
  if (s.empty() || s.size() > 15) fail(404, "not_found", "No such resource.");
  return std::stoll(s);
}

}  // namespace resetd::http
