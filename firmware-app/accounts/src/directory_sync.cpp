// AccountService and the site's directory: a sync reads its users into
// resetd (added, updated, removed), and staff roles follow directory groups
// (re-read at every sync, and live for the checks that protect an admin).
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "credentials.h"
#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::UserRecord;

namespace {

std::string map_locale(const std::string& v, const std::string& fallback) {
  std::string l = ascii_lower(v);
  if (l.rfind("tr", 0) == 0) return "tr-TR";
  if (l.rfind("zh", 0) == 0) return "zh-TW";
  if (l.rfind("en", 0) == 0) return "en";
  return fallback;
}

// A directory user's name while its own is not free: '~' keeps it out of every
// valid username (sign-in, PAM, the API), the id keeps it unique.
std::string stand_in_name(int64_t id) { return "~" + std::to_string(id); }

}  // namespace

Result<SyncReport> AccountService::sync_directory(const std::string& actor,
                                                  const std::string& client) {
  auto d = directory();
  if (!d || d->local())
    return make_error("directory_not_configured", "No directory is configured (directory.kind = \"none\").");
  std::lock_guard<std::mutex> one(sync_mu_);
  SyncReport rep;
  const int64_t t0 = clock_.mono_ms();
  rep.at = clock_.now();
  std::vector<directory::Entry> entries;
  directory::Answer ans = d->list_users([&](const directory::Entry& e) { entries.push_back(e); });
  if (!ans.ok()) {
    rep.error = ans.text;
    rep.ms = clock_.mono_ms() - t0;
    {
      std::lock_guard<std::mutex> lock(dir_mu_);
      // keep the last good sync time; record the failure
      SyncReport failed = last_sync_.value_or(SyncReport{});
      failed.error = ans.text;
      failed.ok = false;
      last_sync_ = failed;
    }
    return directory_error(ans);
  }
  // Staff roles are re-read at every sync, not only at sign-in: someone taken
  // out of the admin group loses the role (and their sessions) within one
  // sync_interval_min, and a new admin is protected like one before signing in.
  const bool map_roles = !d->config().roles.empty();
  std::map<std::string, std::vector<std::string>> groups_of;  // dn_key -> mapped groups
  bool roles_known = false;
  if (map_roles) {
    std::map<std::string, std::vector<std::string>> members;
    directory::Answer g = d->group_members(&members);
    if (g.ok()) {
      roles_known = true;
      for (const auto& [group, dns] : members)
        for (const auto& k : dns) groups_of[k].push_back(group);
    } else {
      rep.roles_error = g.text;
      std::cerr << "resetd: directory: roles not refreshed: " << g.text << "\n";
    }
  }
  auto mapped_role = [&](const directory::Entry& e) {
    auto it = groups_of.find(directory::dn_key(e.dn));
    return role_from_groups(d->config(), it == groups_of.end() ? std::vector<std::string>{} : it->second);
  };
  const int64_t now = clock_.now();
  const std::string fallback = settings_.default_locale;
  rep.total = static_cast<int64_t>(entries.size());
  store_.write([&](storage::Writer& w) {
    std::map<std::string, UserRecord> existing;
    for (auto& u : w.directory_users()) existing.emplace(u.directory_id, std::move(u));
    // Names the directory moved between its entries since the last refresh (two
    // swapped, or a chain) could never be taken one at a time: each stays held by
    // the record still waiting to move, for good, and whoever signs in under the
    // old name is answered as (Remote-User, PAM) the person the directory now
    // gives it to. So every record whose name changes first steps aside to a
    // stand-in no one can sign in with (not a valid username), freeing its name.
    std::map<int64_t, std::string> stepped_aside;  // user id -> the name it had
    {
      std::set<std::string> first;
      for (const auto& e : entries) {
        if (!first.insert(e.id).second) continue;
        auto it = existing.find(e.id);
        const std::string uname = ascii_lower(e.username);
        if (it == existing.end() || !valid_username(uname) || !valid_utf8(e.display_name) ||
            it->second.username == uname)
          continue;
        stepped_aside.emplace(it->second.id, it->second.username);
        UserRecord aside = it->second;
        aside.username = stand_in_name(aside.id);
        w.update_user(aside);
      }
    }
    std::set<std::string> seen;
    for (const auto& e : entries) {
      if (!seen.insert(e.id).second) continue;
      const std::string uname = ascii_lower(e.username);
      if (!valid_username(uname) || !valid_utf8(e.display_name)) {
        ++rep.skipped;
        continue;
      }
      auto it = existing.find(e.id);
      if (it != existing.end()) {
        UserRecord u = it->second;
        UserRecord before = u;
        if (u.username != uname) {
          if (!w.user_by_username(uname)) {
            u.username = uname;
          } else {
            ++rep.skipped;
            // Its new name stays taken (a local account keeps its name): back to
            // the old one, unless this refresh gave that to the entry the
            // directory now names so; then the stand-in, until a refresh frees it.
            if (stepped_aside.count(u.id) && w.user_by_username(u.username)) u.username = stand_in_name(u.id);
          }
        }
        u.display_name = nfc(e.display_name);
        u.email = valid_email(e.email) ? e.email : "";
        u.alternate_email = valid_email(e.alternate_email) ? e.alternate_email : "";
        u.directory_dn = e.dn;
        if (!e.locale.empty()) u.locale = map_locale(e.locale, u.locale);
        u.disabled = e.disabled;
        u.directory_locked = e.locked;
        u.search_text = search_text(u);
        if (roles_known && apply_directory_role(w, u, mapped_role(e), actor, client)) ++rep.roles_changed;
        const bool changed = u.role != before.role || u.username != before.username ||
                             u.display_name != before.display_name || u.email != before.email ||
                             u.alternate_email != before.alternate_email || u.directory_dn != before.directory_dn ||
                             u.locale != before.locale || u.disabled != before.disabled ||
                             u.directory_locked != before.directory_locked;
        if (changed || stepped_aside.count(u.id)) {  // a record that stepped aside is written back either way
          if (changed) u.updated_at = now, ++rep.updated;
          w.update_user(u);
        }
        continue;
      }
      if (w.user_by_username(uname)) {  // a local account (e.g. break-glass admin) keeps its name
        ++rep.skipped;
        continue;
      }
      UserRecord u;
      u.username = uname;
      u.display_name = nfc(e.display_name);
      u.email = valid_email(e.email) ? e.email : "";
      u.alternate_email = valid_email(e.alternate_email) ? e.alternate_email : "";
      u.role = roles_known ? mapped_role(e) : "user";
      if (u.role != "user") ++rep.roles_changed;
      u.locale = map_locale(e.locale, fallback);
      u.disabled = e.disabled;
      u.directory_locked = e.locked;
      u.directory_id = e.id;
      u.directory_dn = e.dn;
      u.created_at = u.updated_at = now;
      u.search_text = search_text(u);
      u.id = w.insert_user(u);
      if (u.role != "user")
        audit(w, actor, client, "directory_role", u.username, "ok", "user -> " + u.role + " (group membership)");
      ++rep.added;
    }
    for (const auto& [id, u] : existing) {
      if (seen.count(id)) continue;
      // The audit keeps the username; outbox rows keep their text (user_id -> NULL).
      w.delete_user(u.id);
      audit(w, actor, client, "directory_user_removed", u.username, "ok",
            "no longer in the directory");
      ++rep.removed;
    }
    if (rep.added || rep.updated || rep.removed || rep.skipped || !rep.roles_error.empty())
      audit(w, actor, client, "directory_sync", "", rep.roles_error.empty() ? "ok" : "failed",
            std::to_string(rep.total) + " entries, " + std::to_string(rep.added) + " added, " +
                std::to_string(rep.updated) + " updated, " + std::to_string(rep.removed) +
                " removed, " + std::to_string(rep.skipped) + " skipped" +
                (rep.roles_error.empty() ? "" : "; roles left unchanged: " + rep.roles_error));
  });
  rep.ok = true;
  rep.ms = clock_.mono_ms() - t0;
  {
    std::lock_guard<std::mutex> lock(dir_mu_);
    last_sync_ = rep;
  }
  return rep;
}

std::string AccountService::role_from_groups(const directory::Config& c,
                                             const std::vector<std::string>& groups) {
  Role best = Role::User;
  for (const auto& g : groups) {
    auto it = c.roles.find(g);
    if (it == c.roles.end()) continue;
    auto r = parse_role(it->second);
    if (r && static_cast<int>(*r) > static_cast<int>(best)) best = *r;
  }
  return role_name(best);
}

bool AccountService::apply_directory_role(storage::Writer& w, UserRecord& u, const std::string& role,
                                          const std::string& actor, const std::string& client) {
  if (u.role == role || !parse_role(role)) return false;
  const Role from = parse_role(u.role).value_or(Role::User);
  const Role to = *parse_role(role);
  if (from == Role::GlobalAdmin && !u.disabled && w.count_enabled_global_admins() <= 1) {
    audit(w, actor, client, "directory_role", u.username, "failed",
          "kept global_admin: the last enabled global admin can't be demoted (directory says " + role + ")");
    return false;
  }
  const bool loses = !covers(to, from);
  audit(w, actor, client, "directory_role", u.username, "ok",
        u.role + " -> " + role + " (group membership)" + (loses ? "; sessions ended" : ""));
  u.role = role;
  u.updated_at = clock_.now();
  if (loses) w.delete_sessions_for_user(u.id, 0);
  return true;
}

Result<Role> AccountService::directory_target_role(const UserRecord& t) {
  const Role stored = parse_role(t.role).value_or(Role::User);
  auto d = directory();
  if (t.directory_id.empty() || !d || d->local() || d->config().roles.empty()) return stored;
  std::vector<std::string> groups;
  directory::Answer ans = d->member_of(t.directory_dn, &groups);
  if (!ans.ok()) return directory_error(ans);
  const Role live = *parse_role(role_from_groups(d->config(), groups));
  return static_cast<int>(live) > static_cast<int>(stored) ? live : stored;
}

Result<Role> AccountService::checked_target_role(Role actor, const UserRecord& t,
                                                bool (*may)(Role, Role)) {
  const Role stored = parse_role(t.role).value_or(Role::User);
  if (!may(actor, stored) || may(actor, Role::GlobalAdmin)) return stored;
  return directory_target_role(t);
}
}  // namespace resetd::accounts
