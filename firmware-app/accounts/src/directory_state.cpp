// AccountService and account state the directory owns (issue 20): its
// lockout (shown, unlocked with a reset), OpenLDAP's must-change gap (a
// warning), and the expiry of temporary passwords of directory users.
//
// Expiry (spec §1): the directory has no notion of resetd's expires_at, and
// AD's pwdLastSet = 0 only forces a change (the password still signs in to
// change it). So at expiry resetd replaces a temporary password the user has
// not changed (AD pwdLastSet still 0, OpenLDAP pwdReset still TRUE) with a
// random one nobody knows, written under an intent like any reset and
// audited: sign-in stops at the directory itself, not only through resetd.
// Sign-in through resetd refuses it before then with its own code.
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "credentials.h"
#include "directory_intents.h"
#include "resetd/accounts/service.h"
#include "resetd/common/test_hooks.h"

namespace resetd::accounts {

using storage::UserRecord;

void AccountService::after_directory_reset(const Actor& a, const UserRecord& target,
                                           const ResetOptions& o, const directory::Answer& written,
                                           ResetOutcome& out) {
  if (!written.warning.empty()) out.warnings.push_back("must_change_not_enforced: " + written.warning);
  if (!o.unlock.value_or(target.directory_locked)) {
    // Not asked to unlock; OpenLDAP's ppolicy ends a lock on any password change itself.
    if (target.directory_locked) refresh_directory_lock(out.user);
    return;
  }
  directory::Answer u = unlock_with_reset(*directory(), a.username, a.client, target.id, target.username,
                                          target.directory_dn);
  if (u.ok()) out.user.directory_locked = false;
  else
    out.warnings.push_back("unlock_failed: the password was set, but the directory kept the account locked: " +
                           u.text);
}

directory::Answer AccountService::unlock_with_reset(directory::Directory& d, const std::string& actor,
                                                    const std::string& client, int64_t user_id,
                                                    const std::string& username, const std::string& dn) {
  directory::Answer u = d.unlock(dn);
  store_.write([&](storage::Writer& w) {
    if (u.ok()) {
      if (auto cur = w.user_by_id(user_id); cur && cur->directory_locked) {
        cur->directory_locked = false;
        w.update_user(*cur);
      }
    }
    audit(w, actor, client, "user_unlock", username, u.ok() ? "ok" : "failed",
          u.ok() ? "with the password reset" : "with the password reset; directory: " + u.text);
  });
  return u;
}

namespace {

// A live read of a user's directory entry, waited on at most `wait`: a slow or
// hung directory must not hold an admin's details page for timeout_s (a
// connect, a TLS handshake and a search could each take that long). The read
// itself keeps running on its own thread until the directory answers or its
// own timeouts end it (the call gate bounds how many run at once); only the
// shared state and the directory object are touched there, so a late answer
// is simply dropped. Nullopt when it did not answer in time or failed.
std::optional<directory::Entry> read_entry_bounded(std::shared_ptr<directory::Directory> d, const std::string& id,
                                                   std::chrono::milliseconds wait) {
  struct Probe {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::optional<directory::Entry> entry;
  };
  auto probe = std::make_shared<Probe>();
  try {
    std::thread([d = std::move(d), probe, id] {
      directory::Entry e;
      const bool ok = d->get_user(id, &e).ok();
      std::lock_guard<std::mutex> lock(probe->mu);
      if (ok) probe->entry = std::move(e);
      probe->done = true;
      probe->cv.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    return std::nullopt;  // no thread to spare: the stored state stands
  }
  std::unique_lock<std::mutex> lock(probe->mu);
  if (!probe->cv.wait_for(lock, wait, [&] { return probe->done; })) return std::nullopt;
  return probe->entry;
}

}  // namespace

void AccountService::refresh_directory_lock(UserRecord& u) {
  if (u.directory_id.empty() || !directory_mode()) return;
  // Not in time: the stored state (as of the last refresh, whose time the list shows) stands.
  auto got = read_entry_bounded(directory(), u.directory_id, std::chrono::milliseconds(kLiveLockWaitMs));
  if (!got || got->locked == u.directory_locked) return;
  const directory::Entry& e = *got;
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(u.id);
    if (!cur) return;
    cur->directory_locked = e.locked;
    w.update_user(*cur);
  });
  u.directory_locked = e.locked;
}

bool AccountService::directory_temp_still_set(const UserRecord& u) {
  bool pending = true;
  // Unreadable: fail closed, the expired password stays refused.
  if (!directory()->change_pending(u.directory_dn, &pending).ok()) return true;
  return pending;
}

bool AccountService::expired_temp_still_current(const UserRecord& u) {
  // The expiry sweep may be replacing this very password right now: between
  // the caller's bind (the old password) and the check below it writes a random
  // one, and the directory no longer says "change pending". So the check runs
  // under the user's one writer, and only when the record is still the one the
  // bind was checked against; otherwise (busy, or replaced) it fails closed:
  // the password is refused, and the next sign-in sees the new record.
  std::shared_ptr<void> hold = try_hold_user(u.id);
  if (!hold) return true;
  bool same = false;
  store_.read([&](storage::Reader& r) {
    auto cur = r.user_by_id(u.id);
    same = cur && cur->temp_expires_at == u.temp_expires_at;
  });
  return !same || directory_temp_still_set(u);
}

int AccountService::expire_directory_temp_passwords() {
  auto d = directory();
  if (!d || d->local()) return 0;
  const int64_t now = clock_.now();
  std::vector<UserRecord> due;
  store_.read([&](storage::Reader& r) {
    for (auto& u : r.directory_users())
      if (u.temp_expires_at && *u.temp_expires_at <= now) due.push_back(std::move(u));
  });
  int replaced = 0;
  for (const auto& u : due) {
    // The user's one writer (as live resets and the resolver), held from the
    // check below through the write: a reset that completes after the check
    // can no longer be overwritten by the random password. Busy: next sweep.
    std::shared_ptr<void> hold = try_hold_user(u.id);
    if (!hold) continue;
    bool pending = false;
    directory::Answer a = d->change_pending(u.directory_dn, &pending);
    if (!a.ok()) {  // tried again after the next sync
      std::cerr << "resetd: directory: expiry of " << u.username << "'s temporary password waits: " << a.text
                << "\n";
      continue;
    }
    // Only while nothing newer happened to this user (a reset since, a write in flight).
    bool current = false;
    store_.read([&](storage::Reader& r) {
      auto cur = r.user_by_id(u.id);
      current = cur && cur->temp_expires_at == u.temp_expires_at;
      for (const auto& i : r.intents("open", kAllOpen))
        if (i.user_id == u.id) current = false;
    });
    if (!current) continue;
    if (!pending) {  // the user changed it at the directory: it is theirs now
      store_.write([&](storage::Writer& w) {
        auto cur = w.user_by_id(u.id);
        if (!cur || cur->temp_expires_at != u.temp_expires_at) return;
        cur->temp_expires_at.reset();
        cur->must_change = false;
        cur->updated_at = now;
        w.update_user(*cur);
      });
      continue;
    }
    // Test hook: pause_expiry_checked holds the sweep here (checked, not yet written).
    test_hooks::fault_point("expiry_checked");
    const std::string pw = crypto::generate_password(32);
    Status st = directory_set_password(u, pw, "temp_password_expired", "", [&](storage::Writer& w, UserRecord& cur) {
      set_password(cur, "", false, std::nullopt, clock_.now());
      w.update_user(cur);
      revoke_credentials(w, cur.id, clock_.now());
      audit(w, "system", "", "temp_password_expired", cur.username, "ok",
            "the temporary password expired; the directory now holds a random password nobody knows "
            "(reset again to give the user one)");
    }, std::move(hold));
    if (st) ++replaced;
    else std::cerr << "resetd: directory: expiry of " << u.username << "'s temporary password failed: "
                   << st.error().message << "\n";
  }
  return replaced;
}

}  // namespace resetd::accounts
