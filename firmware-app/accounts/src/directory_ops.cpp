// AccountService and the site's directory (issue 10): resets that land in the
// directory under an intent journal, crash-safe ordering, and recovery of open
// intents. (Sync and roles: directory_sync.cpp; settings: directory_settings.cpp.)
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

}  // namespace

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
  after_directory_reset(a, target, o, ans, out);
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
}  // namespace resetd::accounts
