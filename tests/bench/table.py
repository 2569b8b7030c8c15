"""The issue-12 benchmark table (driven by table.sh; see docs/benchmarks.md).

Every server listens on 127.0.0.1 only, every run is bounded in time and count.
Ratios are taken between runs interleaved in this same process, because the
machine is shared and absolute figures drift from minute to minute.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ADMIN_INITIAL = "Adm1n-Passw0rd-Tr0ub4dor!"
ADMIN_PW = "Quartz-Lantern-Meadow-7391!"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(port, path, headers=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    return r.status, r.read()


def wait_healthz(port, proc, timeout=60.0, interval=0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            st, _ = get(port, "/api/v1/healthz")
            if st == 200:
                return
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError("no 200 on /api/v1/healthz within %ss" % timeout)


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Api:
    def __init__(self, port):
        self.port, self.cookie, self.csrf = port, None, None

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Content-Type": "application/json"}
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        c.request(method, "/api/v1" + path, body=json.dumps(body).encode() if body is not None else None,
                  headers=h)
        r = c.getresponse()
        raw = r.read()
        sc = r.getheader("Set-Cookie")
        if sc:
            self.cookie = sc.split(";")[0]
        return r.status, (json.loads(raw) if raw else None)

    def sign_in(self, first):
        if first:
            st, s = self.call("POST", "/session", {"username": "admin", "password": ADMIN_INITIAL})
            assert st == 200, (st, s)
            self.csrf = s["csrf_token"]
            st, r = self.call("POST", "/session/password",
                              {"current_password": ADMIN_INITIAL, "new_password": ADMIN_PW})
            assert st in (200, 204), (st, r)
        self.cookie = self.csrf = None
        st, s = self.call("POST", "/session", {"username": "admin", "password": ADMIN_PW})
        assert st == 200, (st, s)
        self.csrf = s["csrf_token"]


class Bench:
    def __init__(self, bin_dir, small):
        self.bin = os.path.join(bin_dir, "firmware-app", "resetd")
        self.gen = os.path.join(bin_dir, "tests", "bench", "gen_users")
        self.trivial = os.path.join(bin_dir, "tests", "bench", "trivial_server")
        self.small = small
        self.work = tempfile.mkdtemp(prefix="resetd-bench-")
        self.rows = []
        self.procs = []

    def close(self):
        for p in self.procs:
            stop(p, signal.SIGKILL)
        shutil.rmtree(self.work, ignore_errors=True)

    def row(self, figure, value):
        self.rows.append((figure, value))
        print("  %-62s %s" % (figure, value), flush=True)

    def make_db(self, n):
        d = os.path.join(self.work, "data-%d" % n)
        subprocess.run([self.bin, "init", "--data-dir", d, "--admin", "admin", "--password-stdin"],
                       input=ADMIN_INITIAL.encode(), check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        subprocess.run([self.gen, d, str(n)], check=True, stdout=subprocess.DEVNULL)
        gen_s = time.perf_counter() - t0
        chk = subprocess.run([self.bin, "check", "--data-dir", d], capture_output=True, text=True)
        if chk.returncode != 0:
            raise RuntimeError("resetd check refused the generated database: " + chk.stderr)
        print("  generated %d users in %.1f s, resetd check: ok" % (n, gen_s), flush=True)
        return d

    def serve(self, data_dir, tls=False, port=None):
        port = port or free_port()
        args = [self.bin, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:%d" % port]
        if not tls:
            args.append("--no-tls")
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p, port

    def wrk(self, url, cookie, seconds):
        out = subprocess.run(["wrk", "-t2", "-c8", "-d%ds" % seconds, "--timeout", "10s",
                              "-H", "Cookie: " + cookie, url],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError("wrk saw %s non-2xx answers from %s" % (non2xx.group(1), url))
        return float(m.group(1))

    def throughput(self, n, data_dir, first_sign_in):
        p, port = self.serve(data_dir)
        wait_healthz(port, p)
        api = Api(port)
        api.sign_in(first_sign_in)
        path = "/api/v1/users?limit=50"
        st, body = get(port, path, {"Cookie": api.cookie})
        assert st == 200, st
        body_file = os.path.join(self.work, "body-%d.json" % n)
        with open(body_file, "wb") as f:
            f.write(body)
        tport = free_port()
        tp = subprocess.Popen([self.trivial, str(tport), body_file])
        self.procs.append(tp)
        wait_healthz_trivial(tport, tp)
        rounds, secs = (1, 1) if self.small else (3, 3)
        ratios, ours = [], []
        for _ in range(rounds):  # interleaved: resetd, yardstick, resetd, yardstick ...
            a = self.wrk("http://127.0.0.1:%d%s" % (port, path), api.cookie, secs)
            b = self.wrk("http://127.0.0.1:%d%s" % (tport, path), api.cookie, secs)
            ours.append(a)
            ratios.append(a / b)
        stop(tp)
        self.row("GET /users?limit=50 ÷ trivial httplib, %d users" % n,
                 "%.2f (%.0f req/s; body %d B; median of %d interleaved %ds wrk pairs)"
                 % (statistics.median(ratios), statistics.median(ours), len(body), rounds, secs))
        return p, port, api

    def latencies(self, n, port, api):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        h = {"Cookie": api.cookie}
        st, body = get(port, "/api/v1/users?limit=1", h, conn)
        total = json.loads(body)["total"]
        last = max(0, total - 50)
        kinds = {
            "first page (offset 0)": "/api/v1/users?limit=50",
            "last page (offset %d)" % last: "/api/v1/users?limit=50&offset=%d" % last,
            "search q=0421 (few matches)": "/api/v1/users?limit=50&q=0421",
            "search q=YILDIZ (1/16 of users, Turkish folding)": "/api/v1/users?limit=50&q=YILDIZ",
        }
        times = {k: [] for k in kinds}
        reps = 5 if self.small else 30
        for _ in range(reps):  # round-robin, so drift hits every kind alike
            for k, path in kinds.items():
                t0 = time.perf_counter()
                st, body = get(port, path, h, conn)
                times[k].append((time.perf_counter() - t0) * 1000)
                assert st == 200, (path, st, body[:200])
        for k in kinds:
            self.row("%s p50 at %d users" % (k, n), "%.1f ms (n=%d)" % (statistics.median(times[k]), reps))
        # The same right after a write (an edit of a probe user's display name,
        # not timed): every kept answer is gone, so this is the cost of reading
        # the page from the database.
        st, r = api.call("POST", "/users", {"username": "bench-probe", "email": "probe@example.com",
                                            "notify_user": False})
        assert st in (201, 409), (st, r)
        st, r = api.call("GET", "/users?q=bench-probe&limit=1")
        probe = r["users"][0]["id"]
        cold = {k: [] for k in kinds}
        for i in range(reps):
            for k, path in kinds.items():
                st, r = api.call("PATCH", "/users/%d" % probe, {"display_name": "Bench Probe %d" % (i % 2)})
                assert st == 200, (st, r)
                t0 = time.perf_counter()
                st, body = get(port, path, h, conn)
                cold[k].append((time.perf_counter() - t0) * 1000)
                assert st == 200, (path, st, body[:200])
        for k in kinds:
            self.row("%s p50 at %d users, first after a write" % (k, n),
                     "%.1f ms (n=%d)" % (statistics.median(cold[k]), reps))

    def start_times(self, n, data_dir):
        runs = 3 if self.small else 7
        clean, unclean = [], []
        for i in range(runs):
            t0 = time.perf_counter()
            p, port = self.serve(data_dir)
            wait_healthz(port, p)
            clean.append((time.perf_counter() - t0) * 1000)
            stop(p)
        # After an unclean stop (SIGKILL): the full integrity check runs.
        for i in range(max(1, runs // 2)):
            p, port = self.serve(data_dir)
            wait_healthz(port, p)
            stop(p, signal.SIGKILL)
            t0 = time.perf_counter()
            p, port = self.serve(data_dir)
            wait_healthz(port, p)
            unclean.append((time.perf_counter() - t0) * 1000)
            stop(p)
        self.row("start: exec → first 200 on /healthz, %d users, after clean stop" % n,
                 "%.0f ms (median of %d; min %.0f)" % (statistics.median(clean), runs, min(clean)))
        self.row("start: the same after an unclean stop (SIGKILL)",
                 "%.0f ms (median of %d)" % (statistics.median(unclean), len(unclean)))

    def idle_rss(self, data_dir):
        out = []
        # TLS twice: a first start in this data dir makes the certificate; the second is the idle server.
        for tls in (False, True, True):
            p, port = self.serve(data_dir, tls=tls)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # healthz over TLS without a client cert check
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.01)
            if not tls:
                wait_healthz(port, p)
            time.sleep(1.5)
            out.append(rss_kb(p.pid))
            stop(p)
        body_file = os.path.join(self.work, "idle.json")
        with open(body_file, "w") as f:
            f.write("{}")
        triv = []
        # The yardstick, plain and with TLS (httplib's SSLServer, resetd's own
        # self-signed certificate from the run above).
        tls_dir = os.path.join(data_dir, "tls")
        for extra in ([], [os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")]):
            tport = free_port()
            tp = subprocess.Popen([self.trivial, str(tport), body_file] + extra)
            self.procs.append(tp)
            wait_healthz_trivial(tport, tp)
            time.sleep(1.5)
            triv.append(rss_kb(tp.pid))
            stop(tp)
        self.row("idle RSS (tls off / self-signed TLS; trivial httplib server plain / TLS)",
                 "%.1f MB / %.1f MB; %.1f MB / %.1f MB"
                 % (out[0] / 1024, out[2] / 1024, triv[0] / 1024, triv[1] / 1024))

    def fsyncs(self, data_dir, first_sign_in):
        p, port = self.serve(data_dir)
        wait_healthz(port, p)
        api = Api(port)
        api.sign_in(first_sign_in)
        st, r = api.call("POST", "/users", {"username": "fsync-probe", "email": "probe@example.com",
                                            "notify_user": False})
        assert st == 201, (st, r)
        uid = r["user"]["id"]
        mail = os.path.join(data_dir, "mail")
        before = len(os.listdir(mail)) if os.path.isdir(mail) else 0
        trace = os.path.join(self.work, "strace.txt")
        st_proc = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", trace,
                                    "-p", str(p.pid)], stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        n = 3 if self.small else 5
        for _ in range(n):
            st, r = api.call("POST", "/users/%d/password-reset" % uid,
                             {"notify": ["probe.home@example.net"], "notify_user": False})
            assert st == 200, (st, r)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(os.listdir(mail)) < before + n:
            time.sleep(0.05)
        time.sleep(0.5)
        st_proc.send_signal(signal.SIGINT)
        st_proc.wait(timeout=30)
        stop(p)
        counts = {"fsync": 0, "fdatasync": 0}
        with open(trace) as f:
            for line in f:
                parts = line.split()
                if parts and parts[-1] in counts:
                    counts[parts[-1]] = int(parts[3])
        self.row("fsyncs per reset with one notification (file relay, strace -f -c)",
                 "%.1f fdatasync + %.1f fsync (n=%d resets)"
                 % (counts["fdatasync"] / n, counts["fsync"] / n, n))


def wait_healthz_trivial(port, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("trivial_server exited")
            time.sleep(0.01)
    raise RuntimeError("trivial_server did not listen")


def main():
    bin_dir = sys.argv[1]
    small = "--small" in sys.argv[2:]
    sizes = [100] if small else [100, 10_000, 100_000]
    b = Bench(bin_dir, small)
    try:
        print("resetd benchmark table (%s), %s, %d cores, load %s" % (
            "small" if small else "full", os.uname().machine, os.cpu_count(),
            " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
        dbs = {}
        for n in sizes:
            dbs[n] = b.make_db(n)
        big = sizes[-1]
        signed_in = set()
        for n in sizes:
            p, port, api = b.throughput(n, dbs[n], n not in signed_in)
            signed_in.add(n)
            if n == big:
                b.latencies(n, port, api)
            stop(p)
        b.start_times(big, dbs[big])
        b.idle_rss(dbs[sizes[0]])
        b.fsyncs(dbs[sizes[0]], sizes[0] not in signed_in)
        print("\n| figure | measured |\n|---|---|")
        for k, v in b.rows:
            print("| %s | %s |" % (k, v))
    finally:
        b.close()


if __name__ == "__main__":
    main()
