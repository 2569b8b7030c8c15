// AccountService and the site's directory (issue 10): sync, resets that land
// in the directory, crash-safe ordering, and recovery of open intents.
//
// Order of an admin reset for a directory user (never mail a password the
// directory did not take, never lose one it took):
//   1. commit an intent row holding the new password and the options, sealed
//      with the data dir's key;
//   2. write the password to the directory;
//   3. in one transaction: close the intent (erasing the sealed payload),
//      queue the outbox rows, write the audit row.
// A crash after 1 leaves an open intent; at start (before the API listens)
// and after every sync resolve_intents() binds with the sealed password: the
// directory took it -> step 3 is done now (the mail goes out late, not
// never). It did not -> the write may still be in flight on the server (the
// kill -9 loop showed exactly that), so "no" is not final: the password is
// written again and then step 3 is done. The directory and the mail always
// agree; an intent overtaken by a newer completed write is closed as
// superseded, one the directory refuses is closed as not applied, and one
// that cannot be checked (directory unreachable) stays open and is shown.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "credentials.h"
#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"
#include "resetd/common/test_hooks.h"

namespace resetd::accounts {

using nlohmann::json;
using storage::DirectoryIntentRecord;
using storage::UserRecord;

namespace {

// Test hook (test builds only, test_hooks.h): RESETD_TEST_FAULT=<point> kills
// the process at that point as kill -9 would, so tests can prove the recovery;
// RESETD_TEST_FAULT=pause_<point> holds the request there for 1.5 s, so a test
// can run something else (a sync) while a write is in flight.
void fault_point(const char* name) { test_hooks::fault_point(name); }

// Whether intent `id` is open now (a resolver's list may be stale: the
// request carrying it out can finish between that read and the resolver's).
bool still_open(storage::Reader& r, int64_t id) {
  for (const auto& x : r.intents("open", 1000))
    if (x.id == id) return true;
  return false;
}

std::string map_locale(const std::string& v, const std::string& fallback) {
  std::string l = ascii_lower(v);
  if (l.rfind("tr", 0) == 0) return "tr-TR";
  if (l.rfind("zh", 0) == 0) return "zh-TW";
  if (l.rfind("en", 0) == 0) return "en";
  return fallback;
}

}  // namespace

void AccountService::set_directory(std::shared_ptr<directory::Directory> d) {
  std::lock_guard<std::mutex> lock(dir_mu_);
  dir_ = std::move(d);
  last_sync_.reset();
}

std::shared_ptr<directory::Directory> AccountService::directory() const {
  std::lock_guard<std::mutex> lock(dir_mu_);
  return dir_;
}

bool AccountService::directory_mode() const {
  auto d = directory();
  return d && !d->local();
}

std::optional<SyncReport> AccountService::last_sync() const {
  std::lock_guard<std::mutex> lock(dir_mu_);
  return last_sync_;
}

Error AccountService::directory_error(const directory::Answer& ans) {
  using directory::Outcome;
  switch (ans.outcome) {
    case Outcome::Policy:
      return make_error("directory_policy",
                        "The directory's own password policy refused this password (too short, "
                        "too simple, or used before). Choose another one. The directory said: " +
                            ans.text,
                        "password");
    case Outcome::Unavailable: {
      Error e = make_error("directory_unavailable",
                           "The directory cannot be reached, is not trusted, or refused resetd's "
                           "service account; nothing was changed, queued or mailed. Check "
                           "Settings → Directory → Test connection. The directory said: " +
                               ans.text);
      e.retry_after_s = 30;
      return e;
    }
    case Outcome::WrongPassword:
      return make_error("wrong_current_password", "The current password is incorrect.",
                        "current_password");
    case Outcome::NotFound:
      return make_error("directory_error",
                        "The directory no longer has this user; refresh the user list. The "
                        "directory said: " + ans.text);
    default:
      return make_error("directory_error",
                        "The directory refused the change; nothing was changed, queued or "
                        "mailed. The directory said: " + ans.text);
  }
}

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
          auto other = w.user_by_username(uname);
          if (!other) u.username = uname;
          else ++rep.skipped;
        }
        u.display_name = nfc(e.display_name);
        u.email = valid_email(e.email) ? e.email : "";
        u.alternate_email = valid_email(e.alternate_email) ? e.alternate_email : "";
        u.directory_dn = e.dn;
        if (!e.locale.empty()) u.locale = map_locale(e.locale, u.locale);
        u.disabled = e.disabled;
        u.search_text = search_text(u);
        if (roles_known && apply_directory_role(w, u, mapped_role(e), actor, client)) ++rep.roles_changed;
        if (u.role != before.role || u.username != before.username || u.display_name != before.display_name ||
            u.email != before.email || u.alternate_email != before.alternate_email ||
            u.directory_dn != before.directory_dn || u.locale != before.locale ||
            u.disabled != before.disabled) {
          u.updated_at = now;
          w.update_user(u);
          ++rep.updated;
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

Result<std::vector<DirectoryIntentRecord>> AccountService::list_intents(const Actor& a) {
  if (!may_administer_site(a.role) && !is_admin(a.role))
    return make_error("forbidden", "You are not allowed to do this.");
  std::vector<DirectoryIntentRecord> v;
  store_.read([&](storage::Reader& r) { v = r.intents("", 100); });
  for (auto& i : v) i.sealed.clear();
  return v;
}

int64_t AccountService::open_intent_count() { return open_intent_count(store_.data_generation()); }

int64_t AccountService::open_intent_count(uint64_t gen) {
  // Every list page shows it: counted again only after a commit.
  {
    std::lock_guard<std::mutex> lock(intents_mu_);
    if (open_intents_ && open_intents_->first == gen) return open_intents_->second;
  }
  int64_t n = 0;
  store_.read([&](storage::Reader& r) { n = static_cast<int64_t>(r.intents("open", 1000).size()); });
  std::lock_guard<std::mutex> lock(intents_mu_);
  open_intents_ = std::make_pair(gen, n);
  return n;
}

// Writes `pw` to the directory for `u` under an intent; `finish` runs in the
// transaction that closes the intent (after the directory took the password).
Status AccountService::directory_set_password(
    const UserRecord& u, const std::string& pw, const std::string& action,
    const std::string& client,
    const std::function<void(storage::Writer&, UserRecord&)>& finish) {
  auto d = directory();
  DirectoryIntentRecord in;
  in.user_id = u.id;
  in.username = u.username;
  in.directory_dn = u.directory_dn;
  in.action = action;
  in.actor = u.username;
  in.client = client;
  in.sealed = box_.seal(json{{"pw", pw}, {"require_change", false}}.dump());
  in.created_at = clock_.now();
  const std::shared_ptr<void> held = insert_held_intent(in);
  fault_point("after_intent");
  directory::Answer ans = d->reset_password(u.directory_dn, pw, false);
  if (!ans.ok()) {
    store_.write([&](storage::Writer& w) {
      w.close_intent(in.id, "failed", directory::outcome_name(ans.outcome) + ": " + ans.text,
                     clock_.now());
      audit(w, u.username, client, action, u.username, "failed", "directory: " + ans.text);
    });
    return directory_error(ans);
  }
  fault_point("after_directory");
  store_.write([&](storage::Writer& w) {
    w.close_intent(in.id, "done", "", clock_.now());
    auto cur = w.user_by_id(u.id);
    if (cur) finish(w, *cur);
  });
  return ok_status();
}

Result<ResetOutcome> AccountService::directory_reset(const Actor& a, const UserRecord& target,
                                                     const Prepared& p, const ResetOptions& o) {
  auto d = directory();
  // Delivery "link": the old password stops working at once (as for local
  // accounts): the directory gets a random one nobody knows until the link is used.
  const std::string pw = p.link_token ? crypto::generate_password(32) : *p.password;
  const bool require_change = p.link_token ? false : o.require_change;
  json payload = {{"pw", pw},
                  {"require_change", require_change},
                  {"mode", o.mode},
                  {"delivery", o.delivery},
                  {"notify", o.notify},
                  {"notify_user", o.notify_user},
                  {"generated", p.generated}};
  if (p.link_token) payload["link_token"] = *p.link_token;
  if (p.password) payload["password"] = *p.password;
  DirectoryIntentRecord in;
  in.user_id = target.id;
  in.username = target.username;
  in.directory_dn = target.directory_dn;
  in.action = "password_reset";
  in.actor = a.username;
  in.client = a.client;
  in.sealed = box_.seal(payload.dump());
  in.created_at = clock_.now();
  const std::shared_ptr<void> held = insert_held_intent(in);
  fault_point("after_intent");

  directory::Answer ans = d->reset_password(target.directory_dn, pw, require_change);
  if (!ans.ok()) {
    store_.write([&](storage::Writer& w) {
      w.close_intent(in.id, "failed", directory::outcome_name(ans.outcome) + ": " + ans.text,
                     clock_.now());
      audit(w, a.username, a.client, "password_reset", target.username, "failed",
            "directory: " + ans.text);
    });
    return directory_error(ans);
  }
  fault_point("after_directory");

  ResetOutcome out;
  store_.write([&](storage::Writer& w) {
    w.close_intent(in.id, "done", "", clock_.now());
    auto cur = w.user_by_id(target.id);
    if (!cur) {  // removed by a sync meanwhile: the directory has the password; say so
      audit(w, a.username, a.client, "password_reset", target.username, "ok",
            "directory updated; user no longer listed, nothing mailed");
      out.user = target;
      return;
    }
    Prepared local = p;
    local.hash.clear();  // the directory holds the password, not resetd
    out = apply_reset(w, *cur, local, o, a.username, a.client, "password_reset");
  });
  return out;
}

std::shared_ptr<void> AccountService::insert_held_intent(DirectoryIntentRecord& in) {
  auto release = [this](int64_t id) {
    std::lock_guard<std::mutex> lock(live_mu_);
    live_intents_.erase(id);
  };
  try {
    store_.write([&](storage::Writer& w) {
      in.id = w.insert_intent(in);
      std::lock_guard<std::mutex> lock(live_mu_);
      live_intents_.insert(in.id);  // before the row commits: no resolver sees it unheld
    });
  } catch (...) {
    release(in.id);  // the row did not commit
    throw;
  }
  return std::shared_ptr<void>(nullptr, [release, id = in.id](void*) { release(id); });
}

int AccountService::resolve_intents() {
  // One resolver at a time (the start-up sync and "Refresh" may overlap), and
  // never on an intent a request of this process is still carrying out: it
  // is open because its write is in flight, not because a crash left it.
  std::lock_guard<std::mutex> one(resolve_mu_);
  auto d = directory();
  std::vector<DirectoryIntentRecord> all;
  store_.read([&](storage::Reader& r) { all = r.intents("", 1000); });
  std::vector<DirectoryIntentRecord> open;
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    for (auto it = all.rbegin(); it != all.rend(); ++it)  // oldest first
      if (it->state == "open" && !live_intents_.count(it->id)) open.push_back(*it);
  }
  if (open.empty()) return 0;
  int resolved = 0;
  for (const auto& in : open) {
    auto plain = box_.open(in.sealed);
    json pl = plain ? json::parse(*plain, nullptr, false) : json();
    if (!plain || pl.is_discarded() || !pl.contains("pw")) {
      store_.write([&](storage::Writer& w) {
        if (!still_open(w, in.id)) return;  // finished meanwhile by its request
        w.close_intent(in.id, "failed", "sealed payload unreadable (secret key changed?)", clock_.now());
        audit(w, "system", "", in.action, in.username, "failed",
              "interrupted reset could not be checked: sealed payload unreadable; nothing mailed");
      });
      ++resolved;
      continue;
    }
    if (!d || d->local()) continue;  // shown as open until a directory is configured again
    bool newer = false;
    for (const auto& o : all)
      if (o.id > in.id && o.user_id == in.user_id && (o.state == "done" || o.state == "recovered"))
        newer = true;
    if (newer) {  // a later write for this user already landed and was recorded
      store_.write([&](storage::Writer& w) {
        if (!still_open(w, in.id)) return;  // finished meanwhile by its request
        w.close_intent(in.id, "superseded", "a newer password write for this user completed", clock_.now());
        audit(w, "system", in.client, in.action, in.username, "failed",
              "interrupted write superseded by a newer one; nothing mailed");
      });
      ++resolved;
      continue;
    }
    bool current = false;
    store_.read([&](storage::Reader& r) { current = still_open(r, in.id); });
    {
      std::lock_guard<std::mutex> lock(live_mu_);
      if (live_intents_.count(in.id)) current = false;
    }
    if (!current) continue;
    const std::string pw = pl["pw"].get<std::string>();
    const bool require_change = pl.value("require_change", false);
    using directory::Outcome;
    // Ask the directory first. A "no" cannot be trusted as final: the old
    // process's write may still be in flight on the server. So an interrupted
    // write is rolled forward — written again — and only then finished; the
    // directory and the mail always end up agreeing.
    directory::Answer ans = d->bind_check(in.directory_dn, pw);
    std::string how = "the directory had the new password";
    if (ans.outcome == Outcome::InvalidCredentials || ans.outcome == Outcome::Locked) {
      directory::Answer wr = d->reset_password(in.directory_dn, pw, require_change);
      // A refusal here may come from the old process's write landing meanwhile,
      // not from the password: the history rule (the password is now current),
      // or "No such attribute (16)" when the server's delete of the value it
      // replaces finds it already gone (the 250-kill loop hit this 4 times).
      // Either way that write has committed by now, so ask again; then write
      // once more before calling it not applied. (Two checks at most: each
      // wrong one counts as a failed bind in the directory's lockout.)
      if (!wr.ok() && wr.outcome != Outcome::MustChange && wr.outcome != Outcome::Unavailable) {
        directory::Answer again = d->bind_check(in.directory_dn, pw);
        if (again.outcome == Outcome::Ok || again.outcome == Outcome::MustChange) wr = again;
        else if (again.outcome != Outcome::Unavailable) wr = d->reset_password(in.directory_dn, pw, require_change);
      }
      if (wr.ok() || wr.outcome == Outcome::MustChange) {
        ans = wr;
        ans.outcome = Outcome::Ok;
        how = "written to the directory again at start";
      } else if (wr.outcome == Outcome::Unavailable) {
        ans = wr;
      } else {
        store_.write([&](storage::Writer& w) {
          if (!still_open(w, in.id)) return;  // finished meanwhile by its request
          w.close_intent(in.id, "not_applied", "the directory refused it at start: " + wr.text, clock_.now());
          audit(w, "system", in.client, in.action, in.username, "failed",
                "interrupted write refused by the directory at start; nothing mailed: " + wr.text);
        });
        ++resolved;
        continue;
      }
    }
    if (ans.outcome == Outcome::Ok || ans.outcome == Outcome::MustChange) {
      store_.write([&](storage::Writer& w) {
        if (!still_open(w, in.id)) return;  // finished meanwhile by its request
        w.close_intent(in.id, "recovered", how + "; finished at start", clock_.now());
        std::optional<UserRecord> cur = in.user_id ? w.user_by_id(*in.user_id) : std::nullopt;
        if (!cur) {
          audit(w, "system", in.client, in.action, in.username, "ok",
                "recovered (" + how + "); user gone, nothing mailed");
          return;
        }
        if (in.action != "password_reset") {
          set_password(*cur, "", false, std::nullopt, clock_.now());
          w.update_user(*cur);
          revoke_credentials(w, cur->id, clock_.now());
          audit(w, in.actor, in.client, in.action, in.username, "ok",
                "recovered after an interruption (" + how + ")");
          return;
        }
        ResetOptions o;
        o.mode = pl.value("mode", "auto");
        o.delivery = pl.value("delivery", "password");
        o.require_change = pl.value("require_change", true);
        o.notify = pl.value("notify", std::vector<std::string>{});
        o.notify_user = pl.value("notify_user", true);
        Prepared p;
        if (pl.contains("link_token")) p.link_token = pl["link_token"].get<std::string>();
        if (pl.contains("password")) p.password = pl["password"].get<std::string>();
        p.generated = pl.value("generated", false);
        apply_reset(w, *cur, p, o, in.actor, in.client, "password_reset");
        audit(w, "system", in.client, "password_reset_recovered", in.username, "ok",
              "interrupted reset finished at start (" + how + ")");
      });
      ++resolved;
    } else {
      std::cerr << "resetd: directory intent " << in.id << " for " << in.username
                << " still open: " << ans.text << "\n";
    }
  }
  if (resolved) notify_outbox();
  return resolved;
}

void AccountService::set_directory_file_config(directory::Config c) {
  std::lock_guard<std::mutex> lock(dir_mu_);
  dir_file_config_ = std::move(c);
}

directory::Config AccountService::directory_config() const {
  directory::Config c;
  {
    std::lock_guard<std::mutex> lock(dir_mu_);
    c = dir_file_config_;
  }
  std::optional<std::string> saved;
  store_.read([&](storage::Reader& r) { saved = r.setting("directory"); });
  if (!saved) return c;
  json j = json::parse(*saved, nullptr, false);
  if (!j.is_object()) return c;
  for (const auto& k : directory::string_keys()) {
    std::string& v = directory::value_of(c, k);
    if (j.contains(k.key) && j[k.key].is_string()) v = j[k.key].get<std::string>();
  }
  for (const auto& k : directory::int_keys())
    if (j.contains(k.key) && j[k.key].is_number_integer()) c.*k.field = j[k.key].get<int>();
  if (j.contains("roles") && j["roles"].is_object()) {
    c.roles.clear();
    for (auto& [k, v] : j["roles"].items())
      if (v.is_string()) c.roles[k] = v.get<std::string>();
  }
  if (j.contains("bind_password_sealed") && j["bind_password_sealed"].is_string()) {
    if (auto pw = box_.open_hex(j["bind_password_sealed"].get<std::string>())) c.bind_password = *pw;
  }
  return c;
}

bool AccountService::directory_password_saved() const { return !directory_config().bind_password.empty(); }

Result<directory::Config> AccountService::put_directory(const Actor& a, directory::Config c,
                                                        bool keep_password) {
  if (!may_administer_site(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  if (keep_password) c.bind_password = directory_config().bind_password;
  if (auto st = directory::validate(c); !st) return st.error();
  json j = json::object();
  for (const auto& k : directory::string_keys()) j[k.key] = directory::value_of(c, k);
  for (const auto& k : directory::int_keys()) j[k.key] = c.*k.field;
  j["roles"] = c.roles;
  if (!c.bind_password.empty()) j["bind_password_sealed"] = box_.seal_hex(c.bind_password);
  store_.write([&](storage::Writer& w) {
    w.put_setting("directory", j.dump());
    audit(w, a.username, a.client, "settings_change", "directory",
          "ok", "kind " + c.kind + (c.remote() ? ", " + c.url : ""));
  });
  set_directory(directory::make(c));
  return c;
}

Result<directory::Answer> AccountService::test_directory(const Actor& a, const directory::Config& c) {
  if (!may_administer_site(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  if (auto st = directory::validate(c); !st) return st.error();
  auto d = directory::make(c);
  directory::Answer ans = d->test_connection();
  store_.write([&](storage::Writer& w) {
    audit(w, a.username, a.client, "directory_test", c.url, ans.ok() ? "ok" : "failed", ans.text);
  });
  return ans;
}

}  // namespace resetd::accounts
