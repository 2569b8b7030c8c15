// AccountService: WebAuthn security keys (issue 23) — enrolment and the
// sign-in's second step. The checks themselves are webauthn/'s (libfido2);
// this file issues the challenges, binds each to its session or pending
// sign-in, uses each once, and keeps the keys.
#include <algorithm>

#include "credentials.h"
#include "resetd/accounts/service.h"
#include "resetd/crypto/crypto.h"
#include "resetd/webauthn/webauthn.h"

namespace resetd::accounts {

using storage::SecurityKeyRecord;

namespace {

Error unavailable() {
  return make_error("webauthn_unavailable",
                    "Security keys work only when this page is opened by its host name, not by an IP address.");
}
Error wrong_key() { return make_error("invalid_second_factor", "The security key was not accepted.", "security_key"); }

// The rp id of "https://host[:port]": its host name, none for an IP address.
std::optional<std::string> rp_id_of(const std::string& origin) {
  const size_t sep = origin.find("://");
  if (sep == std::string::npos) return std::nullopt;
  return webauthn::rp_id_for_host(std::string_view(origin).substr(sep + 3));
}

std::string new_challenge() {
  // 32 random bytes; random_token's base64url text decodes back to them.
  return webauthn::base64url_decode(crypto::random_token(32)).value_or("");
}

std::optional<std::string> b64(const std::string& text, size_t max) {
  if (text.empty() || text.size() > max) return std::nullopt;
  return webauthn::base64url_decode(text);
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  return std::none_of(n.begin(), n.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

std::optional<std::string> AccountService::security_key_rp_id(const std::string& origin) { return rp_id_of(origin); }

Result<SecurityKeyChallenge> AccountService::begin_security_key(const Actor& a,
                                                                const std::optional<std::string>& password,
                                                                const std::string& name_in,
                                                                const std::string& origin) {
  const auto rp_id = rp_id_of(origin);
  if (!rp_id) return unavailable();
  // libfido2 loads here (the first key request): missing, the browser is never asked.
  if (auto st = webauthn::available(); !st) return st.error();
  std::string name = name_in;
  name.erase(0, name.find_first_not_of(' '));
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (!valid_name(name))
    return make_error("invalid_name", "Give the key a name of 1 to 64 characters.", "name");
  std::optional<storage::UserRecord> u;
  std::vector<SecurityKeyRecord> keys;
  store_.read([&](storage::Reader& r) {
    u = r.user_by_id(a.user_id);
    keys = r.security_keys(a.user_id);
  });
  if (!u) return make_error("not_signed_in", "Sign in first.");
  if (settings_.second_factor.rule(a.role) == FactorRule::Off)
    return make_error("second_factor_off", "The site's policy gives your role no second factor.");
  if (static_cast<int>(keys.size()) >= kMaxSecurityKeys)
    return make_error("too_many_security_keys", "This account has the most security keys it may have.");
  // As for an app: a borrowed session must not tie the account to someone else's key.
  if (auto st = confirm_own_password(a, *u, password, "second_factor_enrol"); !st) {
    if (st.error().code == "current_password_required")
      return make_error("current_password_required", "Enter your current password to add a security key.",
                        "current_password");
    return st.error();
  }
  KeyCeremony k{new_challenge(), *rp_id, origin, name, clock_.mono_ms() + kKeyCeremonyS * 1000};
  if (k.challenge.size() != 32) return make_error("internal_error", "No random challenge.");
  SecurityKeyChallenge out;
  out.challenge = webauthn::base64url_encode(k.challenge);
  out.rp_id = *rp_id;
  out.user_id = webauthn::base64url_encode("resetd-user-" + std::to_string(a.user_id));
  for (const auto& key : keys)
    if (key.rp_id == *rp_id) out.credentials.push_back(key.credential_id);
  out.timeout_ms = kKeyCeremonyS * 1000;
  std::lock_guard<std::mutex> lock(pending_mu_);
  const int64_t mono = clock_.mono_ms();
  std::erase_if(key_enrolments_, [mono](const auto& kv) { return kv.second.expires_ms <= mono; });
  key_enrolments_[a.session_id] = std::move(k);  // a new one replaces the session's old one
  return out;
}

Result<SecurityKeyInfo> AccountService::confirm_security_key(const Actor& a, const std::string& client_data_json,
                                                             const std::string& authenticator_data,
                                                             const std::string& origin) {
  std::optional<KeyCeremony> k;
  {
    // Single use: taken out whatever the answer turns out to be.
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = key_enrolments_.find(a.session_id);
    if (it != key_enrolments_.end()) {
      if (it->second.expires_ms > clock_.mono_ms()) k = it->second;
      key_enrolments_.erase(it);
    }
  }
  if (!k) return make_error("no_enrolment", "Start adding the security key again.");
  if (origin != k->origin) return make_error("webauthn_invalid", "The page's address changed; start again.");
  const auto cdj = b64(client_data_json, 4096);
  const auto auth = b64(authenticator_data, 4096);
  if (!cdj || !auth) return make_error("webauthn_invalid", "The browser's answer is malformed.");
  auto key = webauthn::verify_registration({k->rp_id, k->origin, k->challenge}, *cdj, *auth);
  if (!key) {
    store_.write([&](storage::Writer& w) {
      audit(w, a.username, a.client, "second_factor_enrol", a.username, "failed",
            "security key \"" + k->name + "\": " + key.error().message);
    });
    return key.error();
  }
  SecurityKeyRecord r;
  r.user_id = a.user_id;
  r.name = k->name;
  r.credential_id = webauthn::base64url_encode(key->credential_id);
  r.public_key = webauthn::base64url_encode(key->public_key);
  r.rp_id = k->rp_id;
  r.sign_count = key->sign_count;
  r.created_at = clock_.now();
  std::optional<Error> err;
  store_.write([&](storage::Writer& w) {
    const auto keys = w.security_keys(a.user_id);
    if (static_cast<int>(keys.size()) >= kMaxSecurityKeys) {
      err = make_error("too_many_security_keys", "This account has the most security keys it may have.");
      return;
    }
    if (std::any_of(keys.begin(), keys.end(), [&](const auto& x) { return x.credential_id == r.credential_id; })) {
      err = make_error("security_key_enrolled", "This security key is already added.");
      return;
    }
    r.id = w.insert_security_key(r);
    if (r.id == 0) {  // another account's key: the same answer as one's own
      err = make_error("security_key_enrolled", "This security key is already added.");
      return;
    }
    const int64_t ended = w.delete_sessions_for_user(a.user_id, a.session_id);
    audit(w, a.username, a.client, "second_factor_enrol", a.username, "ok",
          "security key \"" + r.name + "\" for " + r.rp_id + "; " + std::to_string(ended) + " other sessions ended");
  });
  if (err) return *err;
  return SecurityKeyInfo{r.id, r.name, r.rp_id, r.created_at, std::nullopt};
}

Result<SecurityKeyChallenge> AccountService::security_key_challenge(const std::string& pending,
                                                                    const std::string& client,
                                                                    const std::string& origin) {
  if (pending.empty() || pending.size() > 128) return sign_in_expired();
  const std::string key = crypto::sha256_hex(pending);
  int64_t uid = 0;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = pending_.find(key);
    if (it == pending_.end() || it->second.expires_ms <= clock_.mono_ms() || it->second.client != client)
      return sign_in_expired();
    uid = it->second.checked.user.id;
  }
  const auto rp_id = rp_id_of(origin);
  if (!rp_id) return unavailable();
  // Before any key is asked and before the sign-in counters: a missing libfido2 is
  // the server's fault, never a wrong key.
  if (auto st = webauthn::available(); !st) return st.error();
  std::vector<SecurityKeyRecord> keys;
  store_.read([&](storage::Reader& r) { keys = r.security_keys(uid); });
  SecurityKeyChallenge out;
  for (const auto& k : keys)
    if (k.rp_id == *rp_id) out.credentials.push_back(k.credential_id);
  if (out.credentials.empty())
    return make_error("no_security_key", "No security key of this account works on " + *rp_id + ".");
  KeyCeremony c{new_challenge(), *rp_id, origin, "", clock_.mono_ms() + kKeyCeremonyS * 1000};
  if (c.challenge.size() != 32) return make_error("internal_error", "No random challenge.");
  out.challenge = webauthn::base64url_encode(c.challenge);
  out.rp_id = *rp_id;
  out.timeout_ms = kKeyCeremonyS * 1000;
  std::lock_guard<std::mutex> lock(pending_mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return sign_in_expired();
  it->second.key = std::move(c);
  return out;
}

Result<SignIn> AccountService::sign_in_security_key(const std::string& pending, const SecurityKeyAssertion& answer,
                                                    const std::string& client, const std::string& origin) {
  if (pending.empty() || pending.size() > 128) return sign_in_expired();
  const std::string key = crypto::sha256_hex(pending);
  std::optional<PendingSignIn> p;
  std::optional<KeyCeremony> c;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = pending_.find(key);
    if (it != pending_.end() && it->second.expires_ms <= clock_.mono_ms()) {
      pending_.erase(it);
      it = pending_.end();
    }
    if (it != pending_.end() && it->second.client == client) {
      p = it->second;
      // The challenge is used once, whatever the answer: a replayed answer finds none.
      c = std::move(it->second.key);
      it->second.key.reset();
    }
  }
  if (!p) return sign_in_expired();
  if (!c || c->expires_ms <= clock_.mono_ms())
    return make_error("no_challenge", "Ask for a new security-key challenge first.", "security_key");
  const std::string& username = p->checked.user.username;
  const int64_t uid = p->checked.user.id;
  auto attempt = take_attempt(client_failures_, account_failures_, client, username);
  if (!attempt) return attempt.error();
  const auto slot = *attempt;
  const int64_t now = clock_.now();
  std::vector<SecurityKeyRecord> keys;
  store_.read([&](storage::Reader& r) { keys = r.security_keys(uid); });
  const auto stored = std::find_if(keys.begin(), keys.end(), [&](const auto& k) {
    return k.credential_id == answer.credential_id && k.rp_id == c->rp_id;
  });
  std::string detail;
  std::optional<uint32_t> count;
  const auto cdj = b64(answer.client_data_json, 4096);
  const auto auth = b64(answer.authenticator_data, 4096);
  const auto sig = b64(answer.signature, 512);
  const auto pk = stored == keys.end() ? std::nullopt : webauthn::base64url_decode(stored->public_key);
  if (stored == keys.end()) {
    detail = "second factor: unknown security key";
  } else if (origin != c->origin || !cdj || !auth || !sig || !pk) {
    detail = "second factor: malformed security-key answer";
  } else {
    auto v = webauthn::verify_assertion({c->rp_id, c->origin, c->challenge},
                                        {*pk, static_cast<uint32_t>(stored->sign_count)}, *cdj, *auth, *sig);
    if (v) count = *v;
    else detail = "second factor: security key \"" + stored->name + "\": " + v.error().message;
  }
  if (count) {
    bool ok = false;
    store_.write([&](storage::Writer& w) {
      // Counted by a parallel sign-in in the meantime: the counter decides again.
      for (const auto& k : w.security_keys(uid)) {
        if (k.id != stored->id) continue;
        if (*count != 0 && static_cast<int64_t>(*count) <= k.sign_count) return;
        w.touch_security_key(k.id, *count, now);
        ok = true;
      }
    });
    if (ok) detail = "second factor: security key \"" + stored->name + "\"";
    else {
      count.reset();
      detail = "second factor: security key counter went backwards";
    }
  }
  if (!count) return second_step_failed(key, uid, username, client, slot, now, detail, wrong_key());
  client_failures_.give_back(client);
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    if (pending_.erase(key) == 0) return sign_in_expired();
  }
  return finish_sign_in(p->checked, client, p->user_agent, detail);
}

}  // namespace resetd::accounts
