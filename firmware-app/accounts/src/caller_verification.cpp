// AccountService: caller verification at the helpdesk (issue 23 item 2). The
// admin starts a check for a user; resetd mails a one-time code to the
// user's alternate address (or, with TOTP enrolled, asks for the app's
// code); the admin types what the caller reads out. A verified check is
// bound to that admin and that user and is used up by one reset. The code
// is kept only as a keyed hash, in memory, and appears in no answer, log or
// audit row.
#include <algorithm>
#include <iostream>

#include "credentials.h"
#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::UserRecord;

namespace {
constexpr size_t kMaxEntries = 1000;
constexpr size_t kMaxReason = 500;

Error not_found_check() {
  return make_error("not_found", "No such caller verification; start a new one.", "id");
}
Error ended() {
  return make_error("caller_verification_ended",
                    "Three wrong codes ended this verification. Start a new one.", "code");
}
Error expired() {
  return make_error("caller_verification_expired", "This verification has expired. Start a new one.", "code");
}
std::string challenge_mac(const crypto::SecretBox& box, const std::string& id, const std::string& code) {
  return box.mac_hex("caller-verification-code\n" + id + "\n" + code);
}
CallerChallenge view(const std::string& id, const CallerEntry& e) {
  return CallerChallenge{id, e.method, e.destination, e.expires_at,
                         std::max(0, AccountService::kCallerTries - e.tries), e.verified};
}
// One line of text: no control characters (the audit and the mail stay one row each).
std::string trim_spaces(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}
}  // namespace

std::optional<CallerPolicy> parse_caller_policy(const std::string& s) {
  if (s == "off") return CallerPolicy::Off;
  if (s == "optional") return CallerPolicy::Optional;
  if (s == "required") return CallerPolicy::Required;
  return std::nullopt;
}

const char* caller_policy_name(CallerPolicy p) {
  switch (p) {
    case CallerPolicy::Off: return "off";
    case CallerPolicy::Required: return "required";
    case CallerPolicy::Optional: break;
  }
  return "optional";
}

std::string mask_address(const std::string& email) {
  const auto at = email.rfind('@');
  if (at == std::string::npos || at == 0) return "***";
  return email.substr(0, 1) + "***" + email.substr(at);
}

CallerPolicy AccountService::caller_policy(Role actor) const {
  auto it = settings_.caller_policy.find(role_name(actor));
  return it == settings_.caller_policy.end() ? CallerPolicy::Optional : it->second;
}

Result<CallerChallenge> AccountService::start_caller_verification(const Actor& a, int64_t user_id) {
  if (!is_admin(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  if (caller_policy(a.role) == CallerPolicy::Off)
    return make_error("caller_verification_off", "Caller verification is turned off for your role.");
  std::optional<UserRecord> u;
  std::optional<storage::SecondFactorRecord> f;
  store_.read([&](storage::Reader& r) {
    u = r.user_by_id(user_id);
    if (u) f = r.second_factor(user_id);
  });
  if (!u) return make_error("not_found", "No such user.");
  if (a.user_id == user_id)
    return make_error("cannot_reset_self", "You cannot verify yourself as a caller.");
  // Verifying is the first step of a reset: the same table decides.
  Role target_role = parse_role(u->role).value_or(Role::User);
  if (!u->directory_id.empty() && directory_mode()) {
    auto live = checked_target_role(a.role, *u, may_reset);
    if (!live) return live.error();
    target_role = *live;
  }
  if (!may_reset(a.role, target_role))
    return make_error("forbidden", "You are not allowed to reset this user's password.");
  const bool totp = f && f->confirmed_at.has_value();
  if (!totp && u->alternate_email.empty())
    return make_error("no_caller_factor",
                      "This user has no alternate address or authenticator app on file; verify the caller another way.");
  const int64_t now = clock_.now();
  CallerEntry e;
  e.user_id = user_id;
  e.admin_id = a.user_id;
  e.method = totp ? "totp" : "email";
  e.destination = totp ? "" : mask_address(u->alternate_email);
  e.expires_at = now + kCallerTtlS;
  const std::string id = crypto::random_token(16);
  std::string code;
  {
    std::lock_guard<std::mutex> lock(caller_mu_);
    // Bounded: mails to one user per hour (no mail bombing through the helpdesk).
    auto& starts = caller_starts_[user_id];
    std::erase_if(starts, [now](int64_t t) { return t <= now - 3600; });
    if (starts.size() >= static_cast<size_t>(kCallerStartsPerHour)) {
      Error err = make_error("rate_limited", "Too many verifications for this user. Try again later.");
      err.retry_after_s = static_cast<int>(std::max<int64_t>(1, starts.front() + 3600 - now));
      return err;
    }
    starts.push_back(now);
    std::erase_if(callers_, [&](const auto& kv) {
      return kv.second.expires_at <= now || (kv.second.user_id == user_id && kv.second.admin_id == a.user_id);
    });
    if (callers_.size() >= kMaxEntries) return make_error("rate_limited", "Too many open verifications. Try again later.");
    if (!totp) {
      code = crypto::random_digits(6);
      e.code_mac = challenge_mac(box_, id, code);
    }
    callers_.emplace(id, e);
  }
  store_.write([&](storage::Writer& w) {
    if (!totp) {
      auto m = make_message(*u, "caller_code", u->alternate_email,
                            {{"username", u->username}, {"display_name", display_or_username(*u)},
                             {"code", code}, {"actor", a.username}, {"expires_at", rfc3339(e.expires_at)}},
                            e.expires_at);
      w.insert_outbox(m);
    }
    audit(w, a.username, a.client, "caller_verification_start", u->username, "ok",
          totp ? "caller asked for the code of their authenticator app" : "code sent to " + e.destination);
  });
  if (!totp) notify_outbox();
  return view(id, e);
}

Result<CallerChallenge> AccountService::check_caller_verification(const Actor& a, int64_t user_id,
                                                                  const std::string& id,
                                                                  const std::string& code) {
  if (!is_admin(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  const int64_t now = clock_.now();
  CallerEntry e;
  {
    std::lock_guard<std::mutex> lock(caller_mu_);
    auto it = callers_.find(id);
    // Another admin's verification does not exist for this one.
    if (it == callers_.end() || it->second.user_id != user_id || it->second.admin_id != a.user_id)
      return not_found_check();
    if (it->second.expires_at <= now) {
      callers_.erase(it);
      return expired();
    }
    if (it->second.verified)
      return make_error("caller_verification_done", "This caller is verified already; go on with the reset.");
    e = it->second;
  }
  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) { u = r.user_by_id(user_id); });
  if (!u) return make_error("not_found", "No such user.");
  if (code.size() != 6 || code.find_first_not_of("0123456789") != std::string::npos)
    return make_error("invalid_code_format", "Enter the 6 digits the caller reads out.", "code");
  bool ok = false;
  std::string detail;
  if (e.method == "email") {
    ok = crypto::equal_ct(e.code_mac, challenge_mac(box_, id, code));
    detail = "by code to " + e.destination;
  } else {
    // The app's code: accepted once, like at sign-in (the step is recorded,
    // so the admin who heard it cannot sign in with it).
    store_.write([&](storage::Writer& w) {
      auto f = w.second_factor(user_id);
      if (!f || !f->confirmed_at) return;
      std::string how;  // not audited: the row below says what the admin may know
      ok = use_totp_code(w, *f, code, now, how);
    });
    detail = "by the code of their authenticator app";
  }
  bool over = false;
  int tries = 0;
  {
    std::lock_guard<std::mutex> lock(caller_mu_);
    auto it = callers_.find(id);
    if (it == callers_.end() || it->second.verified) return not_found_check();  // raced: ended meanwhile
    if (ok) {
      it->second.verified = true;
      it->second.code_mac.clear();
      it->second.expires_at = now + kCallerTtlS;  // the reset must follow within this time
      e = it->second;
    } else {
      tries = ++it->second.tries;
      e = it->second;
      if (tries >= kCallerTries) {
        callers_.erase(it);
        over = true;
      }
    }
  }
  store_.write([&](storage::Writer& w) {
    if (ok)
      audit(w, a.username, a.client, "caller_verification", u->username, "ok", "caller verified " + detail);
    else
      audit(w, a.username, a.client, "caller_verification", u->username, "failed",
            "wrong code, try " + std::to_string(tries) + (over ? "; verification ended" : ""));
  });
  if (over) return ended();
  if (!ok) {
    const int left = kCallerTries - tries;
    return make_error("wrong_caller_code",
                      "The code is not right. " + std::to_string(left) + (left == 1 ? " try" : " tries") + " left.",
                      "code");
  }
  return view(id, e);
}

Status AccountService::caller_check(const Actor& a, const UserRecord& target, ResetOptions& o,
                                    std::optional<CallerEntry>* taken) {
  const CallerPolicy pol = caller_policy(a.role);
  o.caller_audit.clear();
  o.caller_notice.clear();
  o.caller_override = false;
  if (!o.caller_verification.empty()) {
    const int64_t now = clock_.now();
    std::lock_guard<std::mutex> lock(caller_mu_);
    auto it = callers_.find(o.caller_verification);
    if (it == callers_.end() || it->second.user_id != target.id || it->second.admin_id != a.user_id ||
        !it->second.verified || it->second.expires_at <= now)
      return make_error("caller_verification_required",
                        "This caller verification is not valid for this reset (not verified, expired or used). "
                        "Verify the caller again.",
                        "caller_verification");
    const CallerEntry e = it->second;
    if (taken) {
      *taken = e;
      callers_.erase(it);
    }
    if (e.method == "email") {
      o.caller_audit = "caller verified by code to " + e.destination;
      o.caller_notice["caller_code_to"] = e.destination;
    } else {
      o.caller_audit = "caller verified by the code of their authenticator app";
      o.caller_notice["caller_app_of"] = display_or_username(target);
    }
    return ok_status();
  }
  if (pol == CallerPolicy::Off) return ok_status();
  std::string reason = trim_spaces(o.override_reason);
  if (reason.size() > kMaxReason || !one_line_text(reason))
    return make_error("invalid_override_reason", "Give the reason on one line, at most 500 characters.",
                      "override_reason");
  if (pol == CallerPolicy::Required) {
    if (reason.empty())
      return make_error("caller_verification_required",
                        "Your role must verify the caller before a reset. Verify the caller, or give a reason to override.",
                        "caller_verification");
    o.override_reason = reason;
    o.caller_override = true;
    o.caller_audit = "caller not verified, override: " + reason;
  } else {
    o.caller_audit = "caller not verified";
  }
  o.caller_notice["caller_unverified_by"] = a.username;
  return ok_status();
}

Status AccountService::bulk_caller_check(const Actor& a, const ResetOptions& o) const {
  const CallerPolicy pol = caller_policy(a.role);
  if (pol == CallerPolicy::Off) return ok_status();
  std::string reason = trim_spaces(o.override_reason);
  if (reason.size() > kMaxReason || !one_line_text(reason))
    return make_error("invalid_override_reason", "Give the reason on one line, at most 500 characters.",
                      "override_reason");
  if (pol == CallerPolicy::Required && reason.empty())
    return make_error("caller_verification_required",
                      "Your role must verify the caller before a reset, and a bulk reset cannot verify each caller: "
                      "give a reason to override (audited for each user and sent to global admins).",
                      "override_reason");
  return ok_status();
}

void AccountService::caller_give_back(const std::string& id, const std::optional<CallerEntry>& taken) {
  if (!taken) return;
  std::lock_guard<std::mutex> lock(caller_mu_);
  callers_.emplace(id, *taken);  // nothing was reset: the verification still stands
}

void AccountService::caller_override_notices(storage::Writer& w, const UserRecord& u, const ResetOptions& o,
                                             const std::string& actor_name, const std::string& client) {
  if (!o.caller_override) return;
  audit(w, actor_name, client, "caller_verification_override", u.username, "ok", "reason: " + o.override_reason);
  if (o.caller_override_batched) return;  // announced once for the batch (announce_bulk_override)
  mail_global_admins(w, "caller_override",
                     {{"actor", actor_name}, {"username", u.username}, {"reason", o.override_reason},
                      {"when", rfc3339(clock_.now())}});
}

void AccountService::mail_global_admins(storage::Writer& w, const std::string& kind,
                                        const std::map<std::string, std::string>& vars) {
  storage::UserQuery q;
  q.filter = "admins";
  q.limit = 1000;
  q.now = clock_.now();
  for (const auto& admin : w.list_users(q).users) {
    if (admin.role != "global_admin" || admin.disabled || admin.email.empty()) continue;
    auto v = vars;
    v["display_name"] = display_or_username(admin);
    w.insert_outbox(make_message(admin, kind, admin.email, v, std::nullopt));
  }
}

void AccountService::announce_bulk_override(const Actor& a, const std::string& reason,
                                            const std::vector<std::string>& usernames) {
  if (usernames.empty()) return;
  // Bounded: the first names, then how many more (the audit has a row for each).
  std::string list;
  const size_t shown = std::min(usernames.size(), kBulkOverrideNamesShown);
  for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + usernames[i];
  if (usernames.size() > shown) list += ", ... (+" + std::to_string(usernames.size() - shown) + ")";
  try {
    store_.write([&](storage::Writer& w) {
      mail_global_admins(w, "caller_override_bulk",
                         {{"actor", a.username}, {"count", std::to_string(usernames.size())}, {"usernames", list},
                          {"reason", trim_spaces(reason)}, {"when", rfc3339(clock_.now())}});
    });
  } catch (const storage::StorageError& e) {
    // The resets are done and audited (an override row each); their answer,
    // with the new passwords, must still reach the admin.
    std::cerr << "resetd: bulk reset by " << a.username << ": announcing " << usernames.size()
              << " caller verification overrides to global admins failed: " << e.what() << "\n";
    return;
  }
  notify_outbox();
}

}  // namespace resetd::accounts
