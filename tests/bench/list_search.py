"""Issue 21 item 13: a page of GET /users whose search or filter matches most
users, at 100,000 and 1,000,000 users, read right after a write (every kept
answer gone), p50 and p99. Driven by list_search.sh; see docs/benchmarks.md.

Every user is marked must_change after generation (as after an import with
temporary passwords), so filter=must_change matches all of them; q=example
matches every address; q=YILDIZ one user in 16; q=0421 a few hundred at
1,000,000 (inside filter=must_change too); locked and temp_expiring match
nobody but are counted on every request (the clock decides them). Binds
127.0.0.1 only.
"""
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table import Api, Bench, stop, wait_healthz  # noqa: E402

KINDS = {
    "q=example (all match)": "/api/v1/users?limit=50&q=example",
    "q=example sort=display_name (all match)": "/api/v1/users?limit=50&q=example&sort=display_name",
    "filter=must_change (all match)": "/api/v1/users?limit=50&filter=must_change",
    "filter=must_change sort=display_name (all match)": "/api/v1/users?limit=50&filter=must_change&sort=display_name",
    "filter=must_change q=example sort=-display_name (all match)":
        "/api/v1/users?limit=50&filter=must_change&q=example&sort=-display_name",
    "q=YILDIZ (1 in 16)": "/api/v1/users?limit=50&q=YILDIZ",
    "filter=must_change q=yildiz sort=display_name (1 in 16)":
        "/api/v1/users?limit=50&filter=must_change&q=yildiz&sort=display_name",
    "q=0421 (few)": "/api/v1/users?limit=50&q=0421",
    "filter=must_change q=0421 (few)": "/api/v1/users?limit=50&filter=must_change&q=0421",
    "filter=admins (1 in 500)": "/api/v1/users?limit=50&filter=admins",
    "filter=locked (none)": "/api/v1/users?limit=50&filter=locked",
    "filter=temp_expiring (none)": "/api/v1/users?limit=50&filter=temp_expiring",
}


def p99(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def get(port, path, headers):
    """One GET on a fresh connection, with room for the slowest old answers."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    return r.status, r.read()


def make_db(b, n, keep):
    """A generated data dir of n users; with `keep`, generated once into
    keep/data-n and copied from there (before/after runs on the same users)."""
    if not keep:
        return b.make_db(n)
    kept = os.path.join(keep, "data-%d" % n)
    if not os.path.isdir(kept):
        d = b.make_db(n)
        shutil.copytree(d, kept)
        shutil.rmtree(d)
    d = os.path.join(b.work, "data-%d" % n)
    shutil.copytree(kept, d)
    print("  copied %s" % kept, flush=True)
    return d


def measure(b, n, reps, keep):
    d = make_db(b, n, keep)
    t0 = time.perf_counter()
    with sqlite3.connect(os.path.join(d, "resetd.db")) as db:
        # Room for the whole must_change index: with the default 2 MiB cache its
        # 1,000,000 inserts (in no key order) would each spill a page to the WAL.
        db.execute("PRAGMA cache_size = -2000000")
        db.execute("UPDATE users SET must_change = 1")
    print("  marked every user must_change in %.1f s" % (time.perf_counter() - t0), flush=True)
    p, port = b.serve(d)
    wait_healthz(port, p, timeout=600)
    api = Api(port)
    api.sign_in(True)
    st, r = api.call("POST", "/users", {"username": "bench-probe", "email": "probe@example.com",
                                        "notify_user": False})
    assert st == 201, (st, r)
    probe = r["user"]["id"]
    h = {"Cookie": api.cookie}
    first = {}
    for k, path in KINDS.items():  # the first time each is asked, before any write
        t0 = time.perf_counter()
        st, body = get(port, path, h)
        first[k] = (time.perf_counter() - t0) * 1000
        assert st == 200, (path, st, body[:200])
        b.row("%s at %d users: total" % (k, n), str(json.loads(body)["total"]))
    cold = {k: [] for k in KINDS}
    for i in range(reps):
        for k, path in KINDS.items():
            st, r = api.call("PATCH", "/users/%d" % probe, {"display_name": "Bench Probe %d" % (i % 2)})
            assert st == 200, (st, r)
            t0 = time.perf_counter()
            st, body = get(port, path, h)
            cold[k].append((time.perf_counter() - t0) * 1000)
            assert st == 200, (path, st, body[:200])
    for k in KINDS:
        b.row("%s at %d users, first after a write" % (k, n),
              "p50 %.1f ms, p99 %.1f ms (n=%d); very first ask %.1f ms"
              % (statistics.median(cold[k]), p99(cold[k]), reps, first[k]))
    stop(p)


def main():
    bin_dir = sys.argv[1]
    sizes = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "100000,1000000").split(",")]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    keep = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    b = Bench(bin_dir, small=False)
    try:
        print("resetd list search benchmark, %s, %d cores, load %s" % (
            os.uname().machine, os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
        for n in sizes:
            measure(b, n, reps, keep)
        print("\n| figure | measured |\n|---|---|")
        for k, v in b.rows:
            print("| %s | %s |" % (k, v))
    finally:
        b.close()


if __name__ == "__main__":
    main()
