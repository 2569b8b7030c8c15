// AccountService: open directory intents, listed, counted, and settled by the resolver.
//
// A reset's order (directory_ops.cpp): 1. intent committed, 2. password
// written to the directory, 3. intent closed with the outbox and audit rows in
// one transaction. A crash after 1 leaves an open intent; at start (before the
// API listens) and after every sync resolve_intents() binds with the sealed
// password: the directory took it -> step 3 is done now (the mail goes out
// late, not never). It did not -> the write may still be in flight on the
// server (the kill -9 loop showed exactly that), so "no" is not final: the
// password is written again and then step 3 is done. The directory and the
// mail always agree; an intent overtaken by a newer completed write is closed
// as superseded, one the directory refuses is closed as not applied, and one
// that cannot be checked (directory unreachable) stays open and is shown.
// An intent whose write left without an answer is settled the same way once
// that answer could no longer be on the way (settle_grace_ms(); for an intent
// a dead process left open, counted from its creation).
#include <iostream>
#include <nlohmann/json.hpp>

#include "credentials.h"
#include "directory_intents.h"
#include "resetd/accounts/service.h"

namespace resetd::accounts {

using nlohmann::json;
using storage::DirectoryIntentRecord;
using storage::UserRecord;

namespace {

// Whether intent `id` is open now (a resolver's list may be stale: the
// request carrying it out can finish between that read and the resolver's).
bool still_open(storage::Reader& r, int64_t id) {
  for (const auto& x : r.intents("open", kAllOpen))
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
  store_.read([&](storage::Reader& r) { n = static_cast<int64_t>(r.intents("open", kAllOpen).size()); });
  std::lock_guard<std::mutex> lock(intents_mu_);
  open_intents_ = std::make_pair(gen, n);
  return n;
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
