"""Directory figures (issue 10), after a build: reset latency over the API against a
real slapd next to a local account in the same resetd, and the sync time for 10,000
directory users. Starts its own slapd and resetd on free 127.0.0.1 ports.

    /usr/bin/python3 tests/bench/directory_bench.py [users=10000] [resets=15]

Timings on a shared machine are noisy: read them as ratios within one run."""
import os
import statistics
import sys
import tempfile
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import conftest  # noqa: E402
from conftest import Resetd, SmtpSink  # noqa: E402
from slapd_lab import Slapd, PEOPLE  # noqa: E402


def main():
    n_users = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    n_resets = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    work = tempfile.mkdtemp(prefix="resetd-dirbench-")
    os.chmod(work, 0o755)
    slapd = Slapd(work).start()
    sink = SmtpSink(work).start()
    srv = None
    try:
        t = time.monotonic()
        chunks = []
        for i in range(n_users):
            chunks.append("dn: uid=u%05d,%s\nobjectClass: inetOrgPerson\nuid: u%05d\ncn: User %05d\nsn: U\n"
                          "mail: u%05d@example.test\n" % (i, PEOPLE, i, i, i))
        slapd.ldapadd("\n".join(chunks))
        print("ldapadd %d entries: %.1f s" % (n_users, time.monotonic() - t))
        base = os.path.join(work, "r")
        os.makedirs(base)
        srv = Resetd(base, relay_port=sink.port, extra_toml=slapd.toml())
        srv.init()
        srv.start()
        admin = srv.admin()
        # the start-up sync ran already (its time is in the log); measure on-demand ones
        times = []
        for _ in range(3):
            t = time.monotonic()
            r = admin.post("directory/sync")
            assert r.status == 200, r
            times.append((time.monotonic() - t) * 1000)
        with open(srv.stdout_path) as f:
            first = [l.strip() for l in f if "directory sync:" in l]
        print("first sync (inserts):", first[0] if first else "?")
        print("on-demand sync of %d users (no changes): median %.0f ms (%s)" %
              (r.json["total"], statistics.median(times), ", ".join("%.0f" % x for x in times)))
        users = {u["username"]: u for u in admin.get("users?q=ayse").json["users"]}
        ayse = users["ayse"]
        local = admin.create_user("localbench", email="lb@example.test")
        lid = (local.json.get("user") or local.json)["id"]

        def bench(uid):
            ts = []
            for i in range(n_resets):
                pw = "Bench-%d-Lantern-%d-Quartz" % (uid, i)
                t = time.monotonic()
                r = admin.reset(uid, mode="manual", password=pw, require_change=False, notify_user=False)
                ts.append((time.monotonic() - t) * 1000)
                assert r.status == 200, r
            return ts
        ld = bench(ayse["id"])
        lo = bench(lid)
        print("reset latency, slapd (exop + pwdReset): median %.0f ms" % statistics.median(ld))
        print("reset latency, local (Argon2id 8 MiB/1 op in this config): median %.0f ms" % statistics.median(lo))
        print("ratio slapd/local: %.2f" % (statistics.median(ld) / statistics.median(lo)))
    finally:
        if srv:
            srv.stop()
        sink.stop()
        slapd.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
