#!/usr/bin/python3
"""Two resetd binaries measured side by side in one run (issue 19: "no worse than the
old code's within noise"): the list throughput ratio (table.py's wrk pairs against the
trivial httplib server), the start time after a clean stop at 100 users, idle RSS
plain and TLS, and burst.py plain and TLS. Old and new alternate figure by figure, so
both see the same load; every row carries the load average (1 min) at its start and
end. Each binary makes its own data dirs (`init`, then users created through its API:
gen_users writes the current schema, which an older binary refuses), 100 users
(a create hashes a password: ~1 s each on a loaded machine).

usage: /usr/bin/python3 tests/bench/side_by_side.py OLD_RESETD NEW_BIN_DIR [--small]
  NEW_BIN_DIR: a Release build tree with resetd, gen_users and trivial_server
  (cmake --build DIR --target resetd gen_users trivial_server).
Prints the log, then a markdown table whose first line is "| figure | old | new | load |";
pipe it to write_result.sh for the dated file.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import table  # noqa: E402  (Bench, wait_healthz, stop)


def load():
    return "%.1f" % os.getloadavg()[0]


def make_db_api(b, n):
    """A data dir made by the binary's own init, with n users created through its API
    (gen_users writes the current schema, which an older binary refuses)."""
    d = os.path.join(b.work, "data-%d" % n)
    subprocess.run([b.bin, "init", "--data-dir", d, "--admin", "admin", "--password-stdin"],
                   input=table.ADMIN_INITIAL.encode(), check=True, stdout=subprocess.DEVNULL)
    p, port = b.serve(d)
    table.wait_healthz(port, p)
    api = table.Api(port)
    api.sign_in(True)
    t0 = time.perf_counter()
    for i in range(n):
        st, r = api.call("POST", "/users", {"username": "bench%06d" % i, "email": "b%06d@example.com" % i,
                                            "display_name": "Bench User %d" % i, "notify_user": False})
        assert st == 201, (st, r)
    table.stop(p)
    print("  %s: %d users through the API in %.1f s" % (b.bin, n, time.perf_counter() - t0), flush=True)
    return d


def main():
    old_bin, new_dir = sys.argv[1], sys.argv[2]
    small = "--small" in sys.argv[3:]
    sizes = [100]
    new = table.Bench(new_dir, small)
    old = table.Bench(new_dir, small)
    old.bin = os.path.abspath(old_bin)
    benches = (("old", old), ("new", new))
    rows = []  # (figure, old, new, load)
    print("side by side: old %s, new %s; %d cores, load %s" % (
        old.bin, new.bin, os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    try:
        dbs = {name: {n: make_db_api(b, n) for n in sizes} for name, b in benches}
        # Throughput ratio per size; old and new one after the other, each with its
        # own interleaved yardstick pairs.
        for n in sizes:
            l0 = load()
            vals = {}
            for name, b in benches:
                p, port, api = b.throughput(n, dbs[name][n], False)
                table.stop(p)
                vals[name] = b.rows[-1][1]
            rows.append(("GET /users?limit=50 ÷ trivial httplib, %d users" % n, vals["old"], vals["new"],
                         "%s → %s" % (l0, load())))
        # Start after a clean stop, alternating old/new: each data dir was started (its first
        # start after the bulk insert) and stopped with SIGTERM above, and each timed start
        # follows the previous one's clean stop, so none runs the full quick_check.
        big = sizes[-1]
        runs = 3 if small else 9
        starts = {"old": [], "new": []}
        l0 = load()
        for i in range(runs):
            for name, b in benches:
                t0 = time.perf_counter()
                p, port = b.serve(dbs[name][big])
                table.wait_healthz(port, p)
                starts[name].append((time.perf_counter() - t0) * 1000)
                table.stop(p)
        rows.append(("start after a clean stop, %d users (exec → first 200 on /healthz)" % big,
                     *["%.0f ms (median of %d; min %.0f)" % (statistics.median(starts[k]), runs, min(starts[k]))
                       for k in ("old", "new")], "%s → %s" % (l0, load())))
        # Idle RSS, 1.5 s after start, plain and self-signed TLS.
        l0 = load()
        vals = {}
        for name, b in benches:
            b.idle_rss(dbs[name][sizes[0]])
            vals[name] = b.rows[-1][1]
        rows.append(("idle RSS: tls off / TLS; trivial httplib plain / TLS", vals["old"], vals["new"],
                     "%s → %s" % (l0, load())))
        # Burst: 200 resets from 16 back-to-back clients, default hashing.
        for tls in (False, True):
            l0 = load()
            res = {}
            for name, b in benches:
                env = dict(os.environ, RESETD_BIN=b.bin)
                out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "burst.py")] + (["--tls"] if tls else [])
                                     + (["-n", "32"] if small else []),
                                     env=env, capture_output=True, text=True, check=True).stdout
                res[name] = json.loads(out)
                print("  burst %s %s: %s" % ("tls" if tls else "plain", name, json.dumps(res[name])), flush=True)
            kind = "TLS" if tls else "plain"
            rows.append(("burst %s: p50 / p99 / max" % kind,
                         *["%.2f / %.2f / %.2f s" % (res[k]["p50_s"], res[k]["p99_s"], res[k]["max_s"])
                           for k in ("old", "new")], "%s → %s" % (l0, load())))
            rows.append(("burst %s: hash alone / in burst; mean vs Little's law K/X; floor K·h/2 if all hashed" % kind,
                         *["%.2f / %.2f s; %.2f vs %.2f s; %.2f s" % (res[k]["one_hash_s"], res[k]["hash_in_burst_s"],
                                                                      res[k]["mean_s"], res[k]["littles_law_mean_s"],
                                                                      res[k]["all_hashed_mean_floor_s"])
                           for k in ("old", "new")], ""))
            rows.append(("burst %s: bound 5 s + h, answers past it, pass; statuses" % kind,
                         *["%.2f s, %d, %s; %s" % (res[k]["bound_s"], res[k]["later_than_bound"],
                                                   "pass" if res[k]["bound_pass"] else "FAIL",
                                                   ", ".join("%s×%d" % (s, c) for s, c in sorted(res[k]["statuses"].items())))
                           for k in ("old", "new")], ""))
        print("\n| figure | old | new | load |\n|---|---|---|---|")
        for r in rows:
            print("| %s | %s | %s | %s |" % r)
    finally:
        for _, b in benches:
            b.close()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
