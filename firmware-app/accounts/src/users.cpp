// AccountService: listing, reading, creating, editing, deleting, unlocking users,
// and the console (CLI) operations.
#include <algorithm>

#include "resetd/accounts/service.h"
#include "credentials.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::UserRecord;

namespace {
Error forbidden() { return make_error("forbidden", "You are not allowed to do this."); }
Error not_found() { return make_error("not_found", "No such user."); }

bool valid_locale(const std::string& l) { return l == "en" || l == "zh-TW" || l == "tr-TR"; }

Status check_display_name(const std::string& n) {
  if (!valid_utf8(n) || codepoints(n) > 128 || n.find_first_of("\r\n\t") != std::string::npos)
    return make_error("invalid_display_name", "Display name: up to 128 characters, one line.",
                      "display_name");
  return ok_status();
}
}  // namespace

Result<storage::UserPage> AccountService::list_users(const Actor& a, const std::string& q,
                                                     int64_t offset, int64_t limit,
                                                     const std::string& sort,
                                                     std::optional<bool> disabled,
                                                     const std::string& filter) {
  if (!is_admin(a.role)) return forbidden();
  if (!filter.empty() && filter != "must_change" && filter != "locked" && filter != "admins" &&
      filter != "temp_expiring")
    return make_error("invalid_filter", "filter must be must_change, locked, admins or temp_expiring.", "filter");
  storage::UserQuery uq;
  uq.q_folded = fold(q);
  uq.offset = offset;
  uq.limit = limit;
  uq.descending = !sort.empty() && sort[0] == '-';
  uq.sort = uq.descending ? sort.substr(1) : sort;
  if (uq.sort.empty()) uq.sort = "username";
  if (uq.sort != "username" && uq.sort != "display_name" && uq.sort != "created_at")
    return make_error("invalid_sort", "sort must be username, display_name or created_at, optionally with a leading -.", "sort");
  uq.disabled = disabled;
  uq.filter = filter;
  uq.now = clock_.now();
  uq.expiring_before = uq.now + kExpiringWithin;
  storage::UserPage page;
  store_.read([&](storage::Reader& r) { page = r.list_users(uq); });
  return page;
}

Result<UserRecord> AccountService::get_user(const Actor& a, int64_t id) {
  if (!is_admin(a.role) && a.user_id != id) return forbidden();
  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) { u = r.user_by_id(id); });
  if (!u) return not_found();
  // The details an admin opens of someone show the directory's lock live.
  if (is_admin(a.role) && a.user_id != id) refresh_directory_lock(*u);
  return *u;
}

Status AccountService::check_not_reserved(const std::string& username) const {
  if (!settings_.os_reserved) return ok_status();
  // The reason (uid, lookup error) stays out of the answer: it describes the OS.
  if (settings_.os_reserved(username))
    return make_error("reserved_username",
                      "That username is a system account of the appliance and cannot be used while "
                      "PAM sign-in is on.",
                      "username");
  return ok_status();
}

Result<ResetOutcome> AccountService::create_user(const Actor& a, const NewUser& nu,
                                                 const ResetOptions& o) {
  auto role = parse_role(nu.role.empty() ? "user" : nu.role);
  if (!role) return make_error("invalid_role", "Unknown role.", "role");
  if (!may_manage(a.role, *role) || !may_assign(a.role, *role)) return forbidden();
  UserRecord u;
  u.username = ascii_lower(nu.username);
  if (!valid_username(u.username))
    return make_error("invalid_username", "Usernames are 1–64 characters of a-z 0-9 . _ -",
                      "username");
  if (auto s = check_not_reserved(u.username); !s) return s.error();
  if (!valid_email(nu.email)) return make_error("invalid_email", "Not a valid email address.", "email");
  if (!nu.alternate_email.empty() && !valid_email(nu.alternate_email))
    return make_error("invalid_email", "Not a valid email address.", "alternate_email");
  if (auto s = check_display_name(nu.display_name); !s) return s.error();
  u.locale = nu.locale.empty() ? settings_.default_locale : nu.locale;
  if (!valid_locale(u.locale)) return make_error("invalid_locale", "Locale must be en, zh-TW or tr-TR.", "locale");
  if (auto s = validate_options(o, false); !s) return s.error();
  u.display_name = nu.display_name;
  u.email = nu.email;
  u.alternate_email = nu.alternate_email;
  u.role = role_name(*role);
  u.created_at = u.updated_at = clock_.now();
  u.search_text = search_text(u);

  auto prep = prepare(u, o);
  if (!prep) return prep.error();
  std::optional<Error> err;
  ResetOutcome out;
  store_.write([&](storage::Writer& w) {
    if (w.user_by_username(u.username)) {
      err = make_error("username_taken", "That username is already in use.", "username");
      return;
    }
    u.id = w.insert_user(u);
    audit(w, a.username, a.client, "user_create", u.username, "ok", "role " + u.role);
    out = apply_reset(w, u, prep.value(), o, a.username, a.client, "user_create_password");
  });
  if (err) return *err;
  notify_outbox();
  return out;
}

Result<UserRecord> AccountService::patch_user(const Actor& a, int64_t id, const UserPatch& p) {
  if (p.role && !parse_role(*p.role)) return make_error("invalid_role", "Unknown role.", "role");
  if (p.email && !valid_email(*p.email)) return make_error("invalid_email", "Not a valid email address.", "email");
  if (p.alternate_email && !p.alternate_email->empty() && !valid_email(*p.alternate_email))
    return make_error("invalid_email", "Not a valid email address.", "alternate_email");
  if (p.display_name)
    if (auto s = check_display_name(*p.display_name); !s) return s.error();
  if (p.locale && !valid_locale(*p.locale))
    return make_error("invalid_locale", "Locale must be en, zh-TW or tr-TR.", "locale");
  std::optional<UserRecord> before;
  store_.read([&](storage::Reader& r) { before = r.user_by_id(id); });
  if (!before) return not_found();
  const bool dir_target = directory_mode() && !before->directory_id.empty();
  if (dir_target && !(a.user_id == id && !p.role && !p.disabled)) {
    // Who may touch whom comes first (403, as for local users); a directory
    // user's role is checked against the directory's groups too.
    auto tr = checked_target_role(a.role, *before, may_manage);
    if (!tr) return tr.error();
    if (!may_manage(a.role, *tr)) return forbidden();
  }
  if (p.role && dir_target && directory() && !directory()->config().roles.empty())
    return make_error("directory_managed",
                      "This user's role comes from their groups in the directory "
                      "([directory.roles]); change the group membership there.");
  if ((p.display_name || p.email || p.alternate_email || p.disabled) && dir_target) {
    // Names, addresses and the enabled state of a directory user live in the
    // directory; a local edit would be undone by the next refresh.
    return make_error("directory_managed",
                      "This user comes from the directory: change the name, addresses or "
                      "enabled state there; resetd shows them after the next refresh.");
  }
  // One's own addresses are where self-service codes and notices go: changing
  // them from a session alone would let whoever holds it take the account.
  const auto addresses_changed = [&p](const UserRecord& u) {
    return (p.email && *p.email != u.email) || (p.alternate_email && *p.alternate_email != u.alternate_email);
  };
  const bool own_addresses = a.user_id == id && addresses_changed(*before);
  if (own_addresses)
    if (auto s = confirm_own_password(a, *before, p.current_password, "user_update"); !s) return s.error();
  std::optional<Error> err;
  UserRecord out;
  bool queued = false;
  store_.write([&](storage::Writer& w) {
    auto u = w.user_by_id(id);
    if (!u) {
      err = not_found();
      return;
    }
    Role target = parse_role(u->role).value_or(Role::User);
    const bool self_profile_only = a.user_id == id && !p.role && !p.disabled;
    if (!self_profile_only && !may_manage(a.role, target)) {
      err = forbidden();
      return;
    }
    if (p.role && !may_assign(a.role, *parse_role(*p.role))) {
      err = forbidden();
      return;
    }
    const bool loses_ga = u->role == "global_admin" && !u->disabled &&
                          ((p.role && *p.role != "global_admin") || (p.disabled && *p.disabled));
    if (loses_ga && w.count_enabled_global_admins() <= 1) {
      err = make_error("last_global_admin", "The last enabled global admin can't be demoted or disabled.");
      return;
    }
    const UserRecord old = *u;
    const bool self_addresses = a.user_id == id && addresses_changed(old);
    if (self_addresses && !own_addresses) {  // changed between the check and now
      err = make_error("account_changed", "The account changed meanwhile. Try again.");
      return;
    }
    std::string changes;
    auto note = [&](const char* f) { changes += std::string(changes.empty() ? "" : ",") + f; };
    if (p.display_name) u->display_name = *p.display_name, note("display_name");
    if (p.email) u->email = *p.email, note("email");
    if (p.alternate_email) u->alternate_email = *p.alternate_email, note("alternate_email");
    if (p.role) u->role = *p.role, note("role");
    if (p.locale) u->locale = *p.locale, note("locale");
    if (p.disabled) u->disabled = *p.disabled, note(*p.disabled ? "disabled" : "enabled");
    u->search_text = search_text(*u);
    u->updated_at = clock_.now();
    w.update_user(*u);
    if (p.disabled && *p.disabled) w.delete_sessions_for_user(u->id, 0);
    if (self_addresses) {
      const int64_t now = clock_.now();
      // Codes mailed to the old alternate address must not outlive it.
      w.invalidate_codes(u->id, now);
      // A secret-free notice to each old address, so the owner learns of it.
      std::vector<std::string> to;
      for (const std::string* addr : {&old.email, &old.alternate_email})
        if (!addr->empty() && std::find(to.begin(), to.end(), *addr) == to.end()) to.push_back(*addr);
      for (const auto& addr : to) {
        w.insert_outbox(make_message(*u, "address_change", addr,
                                     {{"username", u->username}, {"display_name", display_or_username(*u)},
                                      {"actor", a.username}, {"when", rfc3339(now)}},
                                     std::nullopt));
        queued = true;
      }
      changes += " (current password confirmed; notice to the old addresses; codes cancelled)";
    }
    audit(w, a.username, a.client, "user_update", u->username, "ok", changes);
    out = *u;
  });
  if (err) return *err;
  if (queued) notify_outbox();
  return out;
}

Status AccountService::delete_user(const Actor& a, int64_t id) {
  std::optional<Error> err;
  if (directory_mode()) {
    std::optional<UserRecord> t;
    store_.read([&](storage::Reader& r) { t = r.user_by_id(id); });
    if (t && !t->directory_id.empty()) {
      auto tr = checked_target_role(a.role, *t, may_manage);
      if (!tr) return tr.error();
      if (!may_manage(a.role, *tr)) return forbidden();
      return make_error("directory_managed",
                        "This user comes from the directory: remove them there; resetd drops "
                        "them at the next refresh and keeps their audit.");
    }
  }
  store_.write([&](storage::Writer& w) {
    auto u = w.user_by_id(id);
    if (!u) {
      err = not_found();
      return;
    }
    if (!may_manage(a.role, parse_role(u->role).value_or(Role::User))) {
      err = forbidden();
      return;
    }
    if (a.user_id == id) {
      err = make_error("cannot_delete_self", "You can't delete your own account.");
      return;
    }
    if (u->role == "global_admin" && !u->disabled && w.count_enabled_global_admins() <= 1) {
      err = make_error("last_global_admin", "The last enabled global admin can't be deleted.");
      return;
    }
    w.supersede_secret_messages(u->id);
    w.delete_user(id);
    audit(w, a.username, a.client, "user_delete", u->username, "ok");
  });
  if (err) return *err;
  return ok_status();
}

Status AccountService::unlock_user(const Actor& a, int64_t id) {
  std::optional<Error> err;
  if (directory_mode()) {
    std::optional<UserRecord> t;
    store_.read([&](storage::Reader& r) { t = r.user_by_id(id); });
    if (t && !t->directory_id.empty()) {
      auto tr = checked_target_role(a.role, *t, may_reset);
      if (!tr) return tr.error();
      if (!may_reset(a.role, *tr) || a.user_id == id) return forbidden();
      directory::Answer ans = directory()->unlock(t->directory_dn);
      if (ans.outcome == directory::Outcome::Policy) ans.outcome = directory::Outcome::Refused;
      if (!ans.ok()) {
        store_.write([&](storage::Writer& w) {
          audit(w, a.username, a.client, "user_unlock", t->username, "failed", "directory: " + ans.text);
        });
        return directory_error(ans);
      }
    }
  }
  std::string username;
  store_.write([&](storage::Writer& w) {
    auto u = w.user_by_id(id);
    if (!u) {
      err = not_found();
      return;
    }
    if (!may_reset(a.role, parse_role(u->role).value_or(Role::User)) || a.user_id == id) {
      err = forbidden();
      return;
    }
    clear_failures(*u);
    u->directory_locked = false;  // a directory user's lock was cleared there above
    u->updated_at = clock_.now();
    w.update_user(*u);
    audit(w, a.username, a.client, "user_unlock", u->username, "ok");
    username = u->username;
  });
  if (err) return *err;
  account_failures_.clear(username);
  return ok_status();
}

Result<UserRecord> AccountService::console_add_user(const NewUser& nu, const std::string& password) {
  auto role = parse_role(nu.role.empty() ? "user" : nu.role);
  if (!role) return make_error("invalid_role", "Unknown role: " + nu.role, "role");
  UserRecord u;
  u.username = ascii_lower(nu.username);
  if (!valid_username(u.username))
    return make_error("invalid_username", "Usernames are 1–64 characters of a-z 0-9 . _ -", "username");
  if (auto s = check_not_reserved(u.username); !s) return s.error();
  if (!nu.email.empty() && !valid_email(nu.email))
    return make_error("invalid_email", "Not a valid email address: " + nu.email, "email");
  u.locale = nu.locale.empty() ? settings_.default_locale : nu.locale;
  if (!valid_locale(u.locale)) return make_error("invalid_locale", "Locale must be en, zh-TW or tr-TR.", "locale");
  PolicyResult pr = check_password(password, {u.username, nu.email, nu.display_name}, policy());
  if (!pr.ok) return make_error(pr.reasons.front(), "The password does not meet the policy.", "password");
  auto h = hash_password(password);
  if (!h) return h.error();
  u.display_name = nu.display_name;
  u.email = nu.email;
  u.alternate_email = nu.alternate_email;
  u.role = role_name(*role);
  u.password_hash = h.value();
  u.must_change = true;
  u.password_changed_at = u.created_at = u.updated_at = clock_.now();
  u.search_text = search_text(u);
  std::optional<Error> err;
  store_.write([&](storage::Writer& w) {
    if (w.user_by_username(u.username)) {
      err = make_error("username_taken", "That username is already in use: " + u.username, "username");
      return;
    }
    u.id = w.insert_user(u);
    audit(w, "console", "console", "user_create", u.username, "ok", "role " + u.role);
  });
  if (err) return *err;
  return u;
}

Status AccountService::console_set_password(const std::string& username, const std::string& password,
                                            bool must_change) {
  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) { u = r.user_by_username(ascii_lower(username)); });
  if (!u) return make_error("not_found", "No such user: " + username);
  PolicyResult pr = check_password(password, {u->username, u->email, u->display_name}, policy());
  if (!pr.ok) return make_error(pr.reasons.front(), "The password does not meet the policy.", "password");
  auto h = hash_password(password);
  if (!h) return h.error();
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(u->id);
    if (!cur) return;
    set_password(*cur, h.value(), must_change, std::nullopt, clock_.now());
    w.update_user(*cur);
    revoke_credentials(w, cur->id, clock_.now());
    audit(w, "console", "console", "password_reset", cur->username, "ok", "break-glass console reset");
  });
  account_failures_.clear(u->username);
  return ok_status();
}

// The console acts as a global admin that is nobody's own account
// (physical access is the trust anchor); the rules of patch_user apply.
Status AccountService::console_patch(const std::string& username, const UserPatch& p) {
  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) { u = r.user_by_username(ascii_lower(username)); });
  if (!u) return make_error("not_found", "No such user: " + username);
  const Actor console{0, "console", Role::GlobalAdmin, 0, false, "console", "", ""};
  auto r = patch_user(console, u->id, p);
  if (!r) return r.error();
  return ok_status();
}

Status AccountService::console_set_role(const std::string& username, const std::string& role) {
  if (!parse_role(role)) return make_error("invalid_role", "Unknown role: " + role, "role");
  UserPatch p;
  p.role = role;
  return console_patch(username, p);
}

Status AccountService::console_disable(const std::string& username) {
  UserPatch p;
  p.disabled = true;
  return console_patch(username, p);
}

}  // namespace resetd::accounts
