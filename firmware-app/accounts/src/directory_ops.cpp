// AccountService: a password written to the site's directory under an intent journal (issues 10, 20).
//
// Order of an admin reset for a directory user (never mail a password the
// directory did not take, never lose one it took):
//   1. commit an intent row holding the new password and the options, sealed
//      with the data dir's key;
//   2. write the password to the directory;
//   3. in one transaction: close the intent (erasing the sealed payload),
//      queue the outbox rows, write the audit row.
// A crash after 1 leaves an open intent, which resolve_intents() settles
// (directory_recovery.cpp). (Sync and roles: directory_sync.cpp; settings and
// how the directory's answers read as API errors: directory_settings.cpp.)
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
#include <iostream>
#include <nlohmann/json.hpp>

#include "credentials.h"
#include "directory_intents.h"
#include "resetd/accounts/service.h"
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

}  // namespace resetd::accounts
