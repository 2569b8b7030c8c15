#!/usr/bin/python3
"""Kill -9 soak (issue 9, spec §9): the real resetd, a real smtp-sink relay,
concurrent resets and user creations, SIGKILL at random moments, restart.

Usage: /usr/bin/python3 tests/soak/kill9.py [--kills N] [--budget SECONDS] [--seed S]
       RESETD_BIN=build/firmware-app/resetd (default as the integration tests)

Each cycle: start resetd, let W client threads create users and reset their
passwords (each reset mails the new password to the user's own address), send
SIGKILL after a random 0.02–0.6 s, run `resetd check` on the dead server's data
dir, restart. A client owns its users, so every user's operations are in order.
A request with a whole answer is "acknowledged"; one that died with the
connection, also after the status line (IncompleteRead), is "unknown" (it may
or may not have committed).

Checked at the end, after a last restart and the outbox drained:
- every user whose last operation was acknowledged signs in with that
  password, and not with the acknowledged one before it (reset twice: only the
  last counts); users whose last operation is unknown are reported, not checked;
- `resetd check` passed after every kill;
- no notification is left `sending` or `queued`;
- every acknowledged reset's notification is `sent` with its password in a
  mail at smtp-sink, or `superseded` by a later reset of the same user;
  duplicates (same Message-ID more than once) are counted, not failed
  (delivery is at-least-once).
Exit status 0 when all hold; the last line is a one-line JSON summary.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from conftest import (ADMIN_PW, RESETD_BIN, Resetd, SmtpSink, mail_text,  # noqa: E402
                      strong_password)

WORKERS = 4


def loopback_source(n):
    """The n-th client address in 127.0.0.0/8 after 127.0.0.1 (the admin's): 127.0.0.2 …"""
    a, b = divmod(n + 1, 253)  # last octet 1..253
    return "127.%d.%d.%d" % ((a >> 8) & 255, a & 255, b + 1)


class Op:
    def __init__(self, kind, user, password, nids, addr):
        self.kind, self.user, self.password, self.nids, self.addr = kind, user, password, nids, addr


class User:
    def __init__(self, name, uid, addr):
        self.name, self.id, self.addr = name, uid, addr
        self.acked = []           # acknowledged Ops in order
        self.last_unknown = False  # an unanswered op after the last acknowledged one


class Soak:
    def __init__(self, base, kills, budget, seed):
        self.base = base
        self.kills = kills
        self.deadline = time.monotonic() + budget
        self.rng = random.Random(seed)
        self.users = {}  # name -> User
        self.lock = threading.Lock()
        self.counter = 0
        self.stats = Counter()
        self.check_failures = []
        self.sink = SmtpSink(base).start()
        os.makedirs(os.path.join(base, "r"))
        self.srv = Resetd(os.path.join(base, "r"), relay_port=self.sink.port)
        self.srv.init()
        self.srv.start()
        self.admin_pw = ADMIN_PW
        self.srv.admin()  # changes the initial password

    def next_name(self):
        with self.lock:
            self.counter += 1
            return "soak%05d" % self.counter

    def admin_client(self):
        for _ in range(50):
            c = self.srv.client(timeout=10)
            try:
                r = c.sign_in("admin", ADMIN_PW)
                if r.status == 200:
                    return c
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("admin cannot sign in")

    # ---- the load
    def worker(self, session, stop, mine):
        c = self.srv.client(timeout=10)
        c.cookies, c.csrf = dict(session.cookies), session.csrf
        rng = random.Random(self.rng.random())
        while not stop.is_set():
            if not mine or rng.random() < 0.3:
                name = self.next_name()
                addr = "%s@home.example" % name
                body = {"username": name, "display_name": name, "email": "%s@corp.example" % name,
                        "role": "user", "locale": "en", "notify": [addr], "notify_user": False}
                try:
                    r = c.post("users", body)
                except (OSError, http.client.HTTPException):  # also killed mid-answer
                    self.stats["unknown_creates"] += 1
                    # may exist now; found again at the end through the API
                    with self.lock:
                        self.users[name] = User(name, None, addr)
                        self.users[name].last_unknown = True
                    return
                if r.status in (200, 201):
                    j = r.json
                    u = User(name, j["user"]["id"], addr)
                    u.acked.append(Op("create", name, j["password"],
                                      [n["id"] for n in j["notifications"]], addr))
                    with self.lock:
                        self.users[name] = u
                    mine.append(u)
                    self.stats["acked_creates"] += 1
                else:
                    self.stats["refused_%d" % r.status] += 1
                    if r.status in (401, 403):
                        return
            else:
                u = rng.choice(mine)
                try:
                    r = c.post("users/%d/password-reset" % u.id, {"notify": [u.addr], "notify_user": False})
                except (OSError, http.client.HTTPException):  # also killed mid-answer
                    self.stats["unknown_resets"] += 1
                    u.last_unknown = True
                    return
                if r.status == 200:
                    j = r.json
                    u.acked.append(Op("reset", u.name, j["password"], [n["id"] for n in j["notifications"]],
                                      u.addr))
                    u.last_unknown = False
                    self.stats["acked_resets"] += 1
                else:
                    self.stats["refused_%d" % r.status] += 1
                    if r.status in (401, 403):
                        return

    def run_check(self):
        r = subprocess.run([RESETD_BIN, "check", "--data-dir", self.srv.data_dir], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            self.check_failures.append((r.returncode, r.stderr[-500:]))

    def cycle(self, owned):
        stop = threading.Event()
        session = self.admin_client()  # one session shared by the clients (saves an Argon2 each)
        threads = [threading.Thread(target=self.worker, args=(session, stop, owned[i]), daemon=True)
                   for i in range(WORKERS)]
        for t in threads:
            t.start()
        time.sleep(self.rng.uniform(0.02, 0.6))
        self.srv.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        self.run_check()
        self.srv.start()

    def soak(self):
        owned = [[] for _ in range(WORKERS)]
        done = 0
        while done < self.kills and time.monotonic() < self.deadline:
            self.cycle(owned)
            done += 1
            # keep each client's set of users small enough to reset a user twice often
            for lst in owned:
                del lst[:-6]
        self.stats["kills"] = done

    # ---- the checks
    def drain(self, admin, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            busy = 0
            for state in ("sending", "queued"):
                r = admin.get("notifications?state=%s&limit=1" % state)
                busy += r.json.get("total", len(r.json.get("notifications", [])))
            if busy == 0:
                return 0
            time.sleep(0.5)
        return busy

    def all_notifications(self, admin):
        out = {}
        offset = 0
        while True:
            r = admin.get("notifications?limit=200&offset=%d" % offset)
            assert r.status == 200, r
            page = r.json["notifications"]
            for n in page:
                out[n["id"]] = n
            if len(page) < 200:
                return out
            offset += 200

    def verify(self):
        admin = self.admin_client()
        stuck = self.drain(admin)
        notes = self.all_notifications(admin)
        by_state = Counter(n["state"] for n in notes.values())
        mails = self.sink.messages()
        ids = Counter(str(m["Message-ID"]) for _, _, m in mails)
        duplicates = sum(n - 1 for n in ids.values() if n > 1)
        texts = {}
        for _, _, m in mails:
            texts.setdefault(str(m["To"]).lower(), []).append(mail_text(m))

        lost, wrong_pw, old_pw_works, throttled, unchecked = [], [], [], [], 0
        source = 0
        for u in sorted(self.users.values(), key=lambda x: x.name):
            for i, op in enumerate(u.acked):
                later = i + 1 < len(u.acked) or u.last_unknown
                for nid in op.nids:
                    n = notes.get(nid)
                    ok_mail = any(op.password in t for t in texts.get(op.addr, []))
                    if n is not None and n["state"] == "sent" and ok_mail:
                        continue
                    if n is not None and n["state"] == "superseded" and later:
                        continue
                    lost.append((u.name, op.kind, nid, n and n["state"], ok_mail))
            if not u.acked:
                continue
            if u.last_unknown:
                unchecked += 1
                continue
            # The old-password checks are failed sign-ins, which the per-address throttle
            # counts: a fresh loopback address (127.0.0.0/8, never reused) every 10 users
            # keeps each address under its limit. A 429 is the throttle, not an answer about
            # the password: asked again from the next address (bounded), and counted apart.
            def ask(name, pw):
                nonlocal source
                for _ in range(3):
                    c = self.srv.client(source=loopback_source(source // 10), timeout=30)
                    st = c.sign_in(name, pw).status
                    if st != 429:
                        source += 1
                        return st
                    throttled.append(name)
                    source += 10 - source % 10
                return 429
            st = ask(u.name, u.acked[-1].password)
            if st != 200:
                wrong_pw.append((u.name, st))
            if len(u.acked) >= 2 and ask(u.name, u.acked[-2].password) == 200:
                old_pw_works.append(u.name)
        return {
            "kills": self.stats["kills"],
            "acked_creates": self.stats["acked_creates"],
            "acked_resets": self.stats["acked_resets"],
            "unknown_ops": self.stats["unknown_creates"] + self.stats["unknown_resets"],
            "users": len(self.users),
            "users_unchecked_last_op_unknown": unchecked,
            "acked_lost": len(lost),
            "wrong_password": len(wrong_pw),
            "old_password_still_works": len(old_pw_works),
            "check_sign_ins_throttled_and_asked_again": len(throttled),
            "check_failures": len(self.check_failures),
            "stuck_sending_or_queued": stuck,
            "notification_states": dict(by_state),
            "mails": len(mails),
            "duplicate_mails": duplicates,
            "refused": {k: v for k, v in self.stats.items() if k.startswith("refused_")},
            "examples": {"lost": lost[:5], "wrong_password": wrong_pw[:5], "old": old_pw_works[:5],
                         "check": self.check_failures[:2]},
        }

    def close(self):
        self.srv.stop()
        self.sink.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=int(os.environ.get("SOAK_KILLS", "200")))
    ap.add_argument("--budget", type=float, default=float(os.environ.get("SOAK_BUDGET_S", "330")),
                    help="seconds for the kill cycles (the checks come after)")
    ap.add_argument("--min-kills", type=int, default=None,
                    help="fail when fewer kills fit in the budget (default: --kills)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", str(int(time.time())))))
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    a = ap.parse_args()
    base = tempfile.mkdtemp(prefix="resetd-soak-")
    os.chmod(base, 0o755)  # smtp-sink runs as nobody
    t0 = time.monotonic()
    s = Soak(base, a.kills, a.budget, a.seed)
    try:
        s.soak()
        t1 = time.monotonic()
        res = s.verify()
    finally:
        s.close()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    res["seed"] = a.seed
    res["soak_s"] = round(t1 - t0, 1)
    res["total_s"] = round(time.monotonic() - t0, 1)
    min_kills = a.kills if a.min_kills is None else a.min_kills
    failed = []
    if res["kills"] < min_kills:
        failed.append("only %d kills in the budget (want %d)" % (res["kills"], min_kills))
    for k in ("acked_lost", "wrong_password", "old_password_still_works", "check_failures",
              "stuck_sending_or_queued"):
        if res[k]:
            failed.append("%s = %s" % (k, res[k]))
    if res["acked_creates"] + res["acked_resets"] == 0:
        failed.append("no acknowledged operation at all")
    for f in failed:
        print("FAIL: " + f, file=sys.stderr)
    print(json.dumps(res, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
