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
//
// Network faults (issue 20). A write that left without an answer (cut, late,
// lost) has an unknown outcome: its intent stays open, the admin is told so
// (503 directory_outcome_unknown), and the resolver settles it as above once
// its answer could no longer be on the way (settle_grace_ms; for an intent a
// dead process left open, counted from its creation). One writer per
// user at a time, live or resolver (claim_user_write / try_hold_user); a new
// write waits (409 reset_in_progress) while an earlier one of unknown outcome
// is open, and a write after one is proven by a bind with its password. The
// resolver asks "did a newer write complete?" right before each write. A
// commit that fails after the directory took the password (disk full) leaves
// the intent open, says so, and is settled as soon as the store writes again.
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

constexpr int64_t kAllOpen = 1000000;  // no open intent is ever left unread

// Whether intent `id` is open now (a resolver's list may be stale: the
// request carrying it out can finish between that read and the resolver's).
bool still_open(storage::Reader& r, int64_t id) {
  for (const auto& x : r.intents("open", kAllOpen))
    if (x.id == id) return true;
  return false;
}

int64_t mono_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The answer when the directory took the password but the store could not
// record it: the truth, not "nothing was changed". Codes of their own (not
// storage_full / busy, whose UI text says nothing changed), so the UI can say it.
Error unrecorded_error(const storage::StorageError& e) {
  const bool full = e.kind() == storage::StorageError::Kind::Full;
  Error err = make_error(full ? "unrecorded_storage_full" : "unrecorded_storage_busy",
                         std::string(full ? "The appliance's storage is full" : "The appliance's storage is busy") +
                             ": the directory took the new password, but resetd could not record the "
                             "reset yet. It keeps it open and finishes it (and sends its notifications) "
                             "as soon as it can write again; nothing is mailed until then.");
  err.retry_after_s = full ? 0 : 2;
  return err;
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

std::shared_ptr<void> AccountService::try_hold_user(int64_t user_id) {
  {
    std::lock_guard<std::mutex> lock(user_mu_);
    if (!busy_users_.insert(user_id).second) return nullptr;
  }
  return std::shared_ptr<void>(reinterpret_cast<void*>(1), [this, user_id](void*) {
    std::lock_guard<std::mutex> lock(user_mu_);
    busy_users_.erase(user_id);
  });
}

Result<std::shared_ptr<void>> AccountService::claim_user_write(const UserRecord& u, std::shared_ptr<void> held) {
  if (!held) held = try_hold_user(u.id);
  if (!held) {
    Error e = make_error("reset_in_progress",
                         "Another change of this user's password is being written to the directory "
                         "right now; nothing was changed. Try again in a few seconds.");
    e.retry_after_s = 5;
    return e;
  }
  bool earlier = false;
  store_.read([&](storage::Reader& r) {
    for (const auto& x : r.intents("open", kAllOpen))
      if (x.user_id && *x.user_id == u.id) earlier = true;
  });
  if (earlier) {
    settle_now_ = true;
    Error e = make_error("reset_in_progress",
                         "An earlier change of this user's password has not been confirmed by the "
                         "directory yet (its answer was late or lost); resetd is checking it. Nothing "
                         "was changed; try again in a minute (Settings → Directory shows open writes).");
    e.retry_after_s = static_cast<int>(settle_grace_ms() / 1000) + 5;
    return e;
  }
  return held;
}

int64_t AccountService::settle_grace_ms() const {
  auto d = directory();
  const int64_t t = d ? d->config().timeout_s : 10;
  return (2 * t + 2) * 1000;
}

void AccountService::note_unknown(int64_t intent_id, std::optional<int64_t> user_id) {
  const int64_t now = mono_now();
  std::lock_guard<std::mutex> lock(live_mu_);
  unknown_since_[intent_id] = now;
  if (user_id) recent_unknown_[*user_id] = now;
  settle_now_ = true;
}

int64_t AccountService::open_intent_count(uint64_t gen) {
  // Every list page shows it: counted again only after a commit.
  {
    std::lock_guard<std::mutex> lock(intents_mu_);
    if (open_intents_ && open_intents_->first == gen) return open_intents_->second;
  }
  int64_t n = 0;
  store_.read([&](storage::Reader& r) { n = static_cast<int64_t>(r.intents("open", kAllOpen).size()); });
  std::lock_guard<std::mutex> lock(intents_mu_);
  open_intents_ = std::make_pair(gen, n);
  return n;
}

// Writes `pw` to the directory for `u` under an intent; `finish` runs in the
// transaction that closes the intent (after the directory took the password).
Status AccountService::directory_set_password(
    const UserRecord& u, const std::string& pw, const std::string& action,
    const std::string& client,
    const std::function<void(storage::Writer&, UserRecord&)>& finish, std::shared_ptr<void> user_hold) {
  auto d = directory();
  auto claim = claim_user_write(u, std::move(user_hold));
  if (!claim) return claim.error();
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
  directory::Answer ans = write_checked(*d, u.id, u.directory_dn, pw, false);
  if (ans.outcome == directory::Outcome::Unknown) {
    note_unknown(in.id, u.id);
    store_.write([&](storage::Writer& w) {
      audit(w, u.username, client, action, u.username, "unknown",
            "directory: " + ans.text + "; kept open until the directory confirms it");
    });
    return directory_error(ans);
  }
  if (!ans.ok()) {
    store_.write([&](storage::Writer& w) {
      w.close_intent(in.id, "failed", directory::outcome_name(ans.outcome) + ": " + ans.text,
                     clock_.now());
      audit(w, u.username, client, action, u.username, "failed", "directory: " + ans.text);
    });
    return directory_error(ans);
  }
  fault_point("after_directory");
  try {
    store_.write([&](storage::Writer& w) {
      w.close_intent(in.id, "done", "", clock_.now());
      auto cur = w.user_by_id(u.id);
      if (cur) finish(w, *cur);
    });
  } catch (const storage::StorageError& e) {
    std::cerr << "resetd: directory intent " << in.id << " for " << u.username
              << ": the directory took the password; recording it failed: " << e.what() << "\n";
    settle_now_ = true;
    return unrecorded_error(e);
  }
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
                  {"generated", p.generated},
                  // the unlock this reset asks for, as decided now: a resolver
                  // that finishes it after a crash does it too
                  {"unlock", o.unlock.value_or(target.directory_locked)}};
  if (p.link_token) payload["link_token"] = *p.link_token;
  if (p.password) payload["password"] = *p.password;
  DirectoryIntentRecord in;
  in.user_id = target.id;
  in.username = target.username;
  in.directory_dn = target.directory_dn;
  auto claim = claim_user_write(target);
  if (!claim) return claim.error();
  in.action = "password_reset";
  in.actor = a.username;
  in.client = a.client;
  in.sealed = box_.seal(payload.dump());
  in.created_at = clock_.now();
  const std::shared_ptr<void> held = insert_held_intent(in);
  fault_point("after_intent");

  directory::Answer ans = write_checked(*d, target.id, target.directory_dn, pw, require_change);
  if (ans.outcome == directory::Outcome::Unknown) {
    note_unknown(in.id, target.id);
    store_.write([&](storage::Writer& w) {
      audit(w, a.username, a.client, "password_reset", target.username, "unknown",
            "directory: " + ans.text + "; kept open until the directory confirms it; nothing mailed yet");
    });
    return directory_error(ans);
  }
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
  try {
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
  } catch (const storage::StorageError& e) {
    std::cerr << "resetd: directory intent " << in.id << " for " << target.username
              << ": the directory took the password; recording it failed: " << e.what() << "\n";
    settle_now_ = true;
    return unrecorded_error(e);
  }
  after_directory_reset(a, target, o, ans, out);
  return out;
}

// A write, proven by a bind when this user had a write of unknown outcome
// lately: such a write can land after ours, and then ours is written again.
directory::Answer AccountService::write_checked(directory::Directory& d, int64_t user_id, const std::string& dn,
                                                const std::string& pw, bool require_change) {
  directory::Answer ans = d.reset_password(dn, pw, require_change);
  bool check = false;
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    auto it = recent_unknown_.find(user_id);
    if (it != recent_unknown_.end()) {
      if (mono_now() - it->second < 3600 * 1000) check = true;
      else recent_unknown_.erase(it);
    }
  }
  if (!ans.ok() || !check) return ans;
  using directory::Outcome;
  for (int i = 0; i < 2; ++i) {
    directory::Answer b = d.bind_check(dn, pw);
    if (b.outcome == Outcome::Ok || b.outcome == Outcome::MustChange || b.outcome == Outcome::Unavailable) break;
    std::cerr << "resetd: a bind with the password just written failed (" << b.text
              << "); an earlier write landed after it: writing it again\n";
    directory::Answer again = d.reset_password(dn, pw, require_change);
    if (!again.ok()) return again;
  }
  return ans;
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
  store_.read([&](storage::Reader& r) { all = r.intents("open", kAllOpen); });
  std::vector<DirectoryIntentRecord> open;
  {
    const int64_t now = mono_now(), grace = settle_grace_ms(), wall = clock_.now();
    std::lock_guard<std::mutex> lock(live_mu_);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {  // oldest first
      if (live_intents_.count(it->id)) continue;
      auto u = unknown_since_.find(it->id);
      if (u != unknown_since_.end() && now - u->second < grace) {
        settle_now_ = true;  // its answer could still be on the way: later
        continue;
      }
      // Left open by a process that died while its write was on the way (a
      // kill -9, a crash): that request can still reach the directory, and
      // settling it now would let a newer reset through, which the late
      // request then overwrites. So the same grace, counted from the
      // intent's creation; and that user's next write is proven by a bind.
      if (u == unknown_since_.end() && wall - it->created_at < grace / 1000) {
        if (it->user_id) recent_unknown_.emplace(*it->user_id, now);
        settle_now_ = true;
        continue;
      }
      open.push_back(*it);
    }
  }
  if (open.empty()) return 0;
  int resolved = 0;
  for (const auto& in : open) {
    // The user's one writer: a live request writing this user's password now
    // goes first; this intent is tried again at the next call.
    std::shared_ptr<void> user_hold;
    if (in.user_id && !(user_hold = try_hold_user(*in.user_id))) {
      settle_now_ = true;
      continue;
    }
    try {
      if (settle_one(d.get(), in)) ++resolved;
    } catch (const storage::StorageError& e) {
      std::cerr << "resetd: directory intent " << in.id << " for " << in.username
                << " checked, but could not be recorded: " << e.what() << "\n";
    }
  }
  if (resolved) notify_outbox();
  return resolved;
}

bool AccountService::settle_one(directory::Directory* d, const DirectoryIntentRecord& in) {
  auto done = [&] {
    std::lock_guard<std::mutex> lock(live_mu_);
    unknown_since_.erase(in.id);
    return true;
  };
  {
    auto plain = box_.open(in.sealed);
    json pl = plain ? json::parse(*plain, nullptr, false) : json();
    if (!plain || pl.is_discarded() || !pl.contains("pw")) {
      store_.write([&](storage::Writer& w) {
        if (!still_open(w, in.id)) return;  // finished meanwhile by its request
        w.close_intent(in.id, "failed", "sealed payload unreadable (secret key changed?)", clock_.now());
        audit(w, "system", "", in.action, in.username, "failed",
              "interrupted reset could not be checked: sealed payload unreadable; nothing mailed");
      });
      return done();
    }
    if (!d || d->local()) return false;  // shown as open until a directory is configured again
    // "Newer" is asked of the store right before each write, under the
    // user's write lock: a reset that completed since the list was read wins.
    auto superseded = [&] {
      bool newer = false, current = false;
      store_.read([&](storage::Reader& r) {
        current = still_open(r, in.id);
        newer = in.user_id && r.intent_completed_after(*in.user_id, in.id);
      });
      if (!current || !newer) return false;
      store_.write([&](storage::Writer& w) {
        if (!still_open(w, in.id)) return;  // finished meanwhile by its request
        w.close_intent(in.id, "superseded", "a newer password write for this user completed", clock_.now());
        audit(w, "system", in.client, in.action, in.username, "failed",
              "interrupted write superseded by a newer one; nothing mailed");
      });
      return true;
    };
    if (superseded()) return done();
    bool current = false;
    store_.read([&](storage::Reader& r) { current = still_open(r, in.id); });
    {
      std::lock_guard<std::mutex> lock(live_mu_);
      if (live_intents_.count(in.id)) current = false;
    }
    if (!current) return false;
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
      if (superseded()) return done();
      directory::Answer wr = d->reset_password(in.directory_dn, pw, require_change);
      if (wr.outcome == Outcome::Unknown) {  // this write too went unanswered: later
        note_unknown(in.id, in.user_id);
        return false;
      }
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
        if (wr.outcome == Outcome::Unknown) {
          note_unknown(in.id, in.user_id);
          return false;
        }
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
        return done();
      }
    }
    if (ans.outcome == Outcome::Ok || ans.outcome == Outcome::MustChange) {
      bool unlock = false;
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
        unlock = pl.value("unlock", false);
      });
      // The unlock the reset asked for (AD keeps a lock through a reset:
      // without it the mailed password would not sign in).
      if (unlock && in.user_id) unlock_with_reset(*d, in.actor, in.client, *in.user_id, in.username, in.directory_dn);
      return done();
    }
    std::cerr << "resetd: directory intent " << in.id << " for " << in.username
              << " still open: " << ans.text << "\n";
    return false;
  }
}
}  // namespace resetd::accounts
