"""Issue 9 §1–3, §8, §10, §11 and issue 12's keep-alive target: hostile input at the
connection layer, against TLS (the default) and --no-tls. For each case: the answer,
resetd's RSS growth (bounded) and that another client was served meanwhile (how long
it waited). Bounds are generous for a loaded 2-core machine; lines starting with
FIGURE print the measured values (pytest -s)."""
import http.client
import io
import os
import secrets
import select
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import ADMIN_PW, ADMIN_USER, assert_error_json, raw_http, wait_until

MIB = 1024 * 1024

# tests/sanitize/run.sh sets it: under ASan/TSan, RSS is the sanitizer's (shadow memory,
# quarantine), so the memory bounds are not asserted there; the code paths still run.
SANITIZER = os.environ.get("RESETD_SANITIZER", "")


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def figure(name, value):
    print("FIGURE %s %s" % (name, value))


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(srv, source="127.0.0.1", timeout=20, handshake=True):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout, source_address=(source, 0))
    if srv.tls and handshake:
        s = tls_ctx().wrap_socket(s, server_hostname="localhost")
    return s


EARLY = {}  # fileno -> answer bytes read while checking whether the server answered


class _Prefixed(io.RawIOBase):
    """A socket's reader that first returns bytes already received."""

    def __init__(self, s, prefix):
        self.s, self.prefix = s, prefix

    def readable(self):
        return True

    def readinto(self, b):
        if self.prefix:
            n = min(len(b), len(self.prefix))
            b[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        data = self.s.recv(len(b))
        b[:len(data)] = data
        return len(data)

    def makefile(self, mode="rb"):
        return io.BufferedReader(self)


class _Shared:
    """One buffered reader for several answers on one connection (pipelining)."""

    class _File(io.BufferedReader):
        def close(self):
            pass

    def __init__(self, s):
        self.f = _Shared._File(_Prefixed(s, b""))

    def makefile(self, mode="rb"):
        return self.f


def read_response(s):
    src = _Prefixed(s, EARLY.pop(s.fileno(), b""))
    r = http.client.HTTPResponse(src)
    try:
        r.begin()
        body = r.read()
    except (http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError, socket.timeout, OSError) as e:
        print("read_response:", repr(e))
        return None, None, None
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def answered(s):
    """True when the server sent application data or closed; keeps what it read
    in EARLY (a TLS 1.3 session ticket makes the socket readable without any)."""
    if not select.select([s], [], [], 0.02)[0]:
        return False
    s.setblocking(False)
    try:
        data = s.recv(65536)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (OSError, ssl.SSLError):
        return True
    finally:
        s.setblocking(True)
    EARLY[s.fileno()] = EARLY.get(s.fileno(), b"") + data
    return True


def send_until_answer(s, chunks):
    """Sends chunks until the server answers (or closes); returns bytes sent."""
    sent = 0
    for c in chunks:
        if answered(s):
            break
        try:
            s.sendall(c)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            break
        sent += len(c)
    return sent


def timed_healthz(srv, source="127.0.0.1"):
    t = time.monotonic()
    try:
        s = connect(srv, source=source, timeout=60)
        s.sendall(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        st, _, _ = read_response(s)
        s.close()
    except OSError:
        st = None
    return st, time.monotonic() - t


class Probe:
    """Another client asking /healthz every 0.2 s while an attack runs."""

    def __init__(self, srv):
        self.srv, self.waits, self.statuses = srv, [], []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            st, dt = timed_healthz(self.srv)
            self.statuses.append(st)
            self.waits.append(dt)
            self.stop.wait(0.2)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        self.t.join(90)

    def check(self, name):
        assert self.statuses and all(st == 200 for st in self.statuses), self.statuses
        worst = max(self.waits)
        figure("%s.other_client_max_wait_s" % name, "%.3f" % worst)
        assert worst < 3.0, "another client waited %.1f s" % worst


@pytest.fixture(params=[True, False], ids=["tls", "plain"])
def srv(request, make_resetd):
    return make_resetd(tls=request.param)


def rss_guard(srv, name, limit_mib):
    class G:
        def __enter__(self):
            self.before = status_kib(srv.proc.pid, "VmRSS")
            return self

        def __exit__(self, *a):
            after = status_kib(srv.proc.pid, "VmRSS")
            growth = (after - self.before) / 1024
            figure("%s.rss_growth_mib" % name, "%.1f" % growth)
            figure("%s.vmhwm_mib" % name, "%.1f" % (status_kib(srv.proc.pid, "VmHWM") / 1024))
            assert growth < limit_mib, "RSS grew %.1f MiB" % growth
    return G()


def test_ten_thousand_headers_answer_431_and_close(srv):
    name = "headers10k." + ("tls" if srv.tls else "plain")
    with rss_guard(srv, name, 16), Probe(srv) as probe:
        for _ in range(4):
            s = connect(srv, source="127.0.3.1")
            head = [b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n"]
            head += [b"X-Pad-%d: %s\r\n" % (i, b"A" * 100) for i in range(10000)]
            chunks = [b"".join(head[i:i + 500]) for i in range(0, len(head), 500)]
            send_until_answer(s, chunks)
            st, h, body = read_response(s)
            s.close()
            assert st == 431, st
    probe.check(name)


def test_four_mib_header_line_answers_431(srv):
    name = "line4mib." + ("tls" if srv.tls else "plain")
    with rss_guard(srv, name, 16), Probe(srv) as probe:
        for _ in range(4):
            s = connect(srv, source="127.0.3.2")
            chunks = [b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "] + [b"B" * 65536] * 64 + [b"\r\n\r\n"]
            send_until_answer(s, chunks)
            st, h, body = read_response(s)
            s.close()
            assert st == 431, st
    probe.check(name)


def test_long_request_line_answers_414(srv):
    s = connect(srv)
    send_until_answer(s, [b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"])
    st, _, _ = read_response(s)
    s.close()
    assert st == 414, st


def test_stalled_clients_do_not_delay_others_and_are_closed(srv):
    """64 clients from one address send half a request line and stall; another
    client is served at once, and the server closes them by the head deadline."""
    name = "stalled64." + ("tls" if srv.tls else "plain")
    socks = []
    with rss_guard(srv, name, 16):
        for i in range(64):
            try:
                t = time.monotonic()
                s = connect(srv, source="127.0.4.1", timeout=30)
                s.sendall(b"GET /api/v1/heal")
                socks.append((s, t))
            except (OSError, ssl.SSLError):
                pass  # over the per-peer cap: refused
        waits = []
        for _ in range(5):
            st, dt = timed_healthz(srv)
            assert st == 200
            waits.append(dt)
        figure("%s.other_client_max_wait_s" % name, "%.3f" % max(waits))
        assert max(waits) < 3.0, waits
        # the head deadline (10 s from accept) closes every stalled connection
        closed_at = []
        pending = dict((s.fileno(), (s, t)) for s, t in socks)
        while pending:
            r, _, _ = select.select(list(pending), [], [], 1.0)
            now = time.monotonic()
            for fd in r:
                s, t = pending[fd]
                s.setblocking(False)
                try:
                    s.recv(100)
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue  # a TLS session ticket, not the end
                except OSError:
                    pass
                del pending[fd]
                closed_at.append(now - t)
                s.close()
            for fd, (s, t) in list(pending.items()):
                assert now - t < 25, "stalled connection still open 25 s after connect"
        figure("%s.stalled_closed_after_s" % name, "%.1f" % max(closed_at))
        assert max(closed_at) < 22


def test_connections_per_peer_are_capped(srv):
    held, refused = [], 0
    for _ in range(48):
        try:
            s = connect(srv, source="127.0.4.2", timeout=10, handshake=False)
            held.append(s)
        except OSError:
            refused += 1
    time.sleep(0.5)
    closed = 0
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(4096) is not None:
                closed += 1  # got 503 or EOF
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    for s in held:
        s.close()
    figure("per_peer.%s.closed_of_48" % ("tls" if srv.tls else "plain"), closed + refused)
    assert closed + refused >= 48 - 32, (closed, refused)
    st, dt = timed_healthz(srv)
    assert st == 200


def test_trickled_head_is_cut_at_the_deadline(srv):
    s = connect(srv, source="127.0.4.3", timeout=30)
    t0 = time.monotonic()
    line = b"GET /api/v1/healthz HTTP/1.1\r\nX-Slow: " + b"a" * 40
    gone = None
    for b in line:
        try:
            s.sendall(bytes([b]))
            r, _, _ = select.select([s], [], [], 0.5)
            if r and not s.recv(100):
                gone = time.monotonic() - t0
                break
        except (OSError, ssl.SSLError):
            gone = time.monotonic() - t0
            break
        if time.monotonic() - t0 > 25:
            break
    s.close()
    assert gone is not None and gone < 16, "a trickling client held its connection for %s s" % gone


def test_chunked_64_mib_body_is_refused_unread(srv):
    name = "chunked64mib." + ("tls" if srv.tls else "plain")
    with rss_guard(srv, name, 16), Probe(srv) as probe:
        s = connect(srv, source="127.0.3.3")
        head = b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"%x\r\n%s\r\n" % (65536, b"{" * 65536)
        sent = send_until_answer(s, [head] + [chunk] * 1024 + [b"0\r\n\r\n"])
        st, h, body = read_response(s)
        s.close()
        figure("%s.bytes_sent_before_answer" % name, sent)
        assert st == 411, st
        assert h.get("connection") == "close"
    probe.check(name)


def test_many_ranges_get_the_full_body(srv):
    name = "ranges200." + ("tls" if srv.tls else "plain")
    ranges = "bytes=" + ",".join(["0-"] * 200)
    with rss_guard(srv, name, 24):
        for path in ("/index.html", "/i18n/tr-TR.json"):
            s = connect(srv)
            s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
            st, _, full = read_response(s)
            s.close()
            assert st == 200
            bodies = []

            def one():
                c = connect(srv)
                c.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nRange: %s\r\nConnection: close\r\n\r\n" % (path.encode(), ranges.encode()))
                bodies.append(read_response(c))
                c.close()
            ts = [threading.Thread(target=one) for _ in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            assert len(bodies) == 8
            for st, h, body in bodies:
                assert st == 200 and body == full, (st, len(body or b""), len(full))
                assert "multipart" not in h.get("content-type", "")


def test_crlf_encoded_path_and_header_stay_data(srv):
    s = connect(srv)
    s.sendall(b"GET /%0D%0ASet-Cookie:%20evil=1 HTTP/1.1\r\nHost: x\r\nX-Note: a%0D%0ASet-Cookie: evil=2\r\nConnection: close\r\n\r\n")
    st, h, body = read_response(s)
    s.close()
    assert st == 404, st
    assert "set-cookie" not in h


def test_percent_encoded_header_values_are_not_decoded(make_resetd):
    """httplib 0.11.4 percent-decodes header values: a CSRF token sent as %XX
    escapes matched the real one. Header values must reach us as sent."""
    srv = make_resetd()
    admin = srv.admin()
    token = admin.csrf
    enc = "".join("%%%02X" % ord(ch) for ch in token)
    r = admin.post("users", {"username": "pct" + secrets.token_hex(3), "email": "p@example.org"},
                   headers={"X-CSRF-Token": enc})
    assert_error_json(r, 403, "csrf_failed")
    r = admin.post("users", {"username": "pct" + secrets.token_hex(3), "email": "p@example.org"})
    assert r.status in (200, 201), r


def test_idle_keep_alive_connections_hold_no_worker(srv):
    """16 keep-alive clients that sent one request and went quiet must not make
    a new client wait (with 8 workers each held for the 5 s keep-alive, it did)."""
    idle = []
    for i in range(16):
        s = connect(srv, source="127.0.5.%d" % (i + 1))
        s.sendall(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = http.client.HTTPResponse(s)
        r.begin()
        r.read()
        assert r.status == 200
        idle.append(s)
    st, dt = timed_healthz(srv)
    figure("idle16.%s.new_client_wait_s" % ("tls" if srv.tls else "plain"), "%.3f" % dt)
    for s in idle:
        s.close()
    assert st == 200 and dt < 2.5, dt


def test_pipelined_requests_and_expect_continue(srv):
    s = connect(srv)
    s.sendall(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/nope HTTP/1.1\r\nHost: x\r\n\r\n")
    shared = _Shared(s)
    r1 = http.client.HTTPResponse(shared)
    r1.begin()
    r1.read()
    r2 = http.client.HTTPResponse(shared)
    r2.begin()
    r2.read()
    assert (r1.status, r2.status) == (200, 404)
    body = b'{"username":"nobody","password":"wrong-password-123"}'
    s.sendall(b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    s.settimeout(10)
    first = b""
    while not first.endswith(b"\r\n\r\n") and len(first) < 200:
        first += s.recv(1)
    assert first.startswith(b"HTTP/1.1 100"), first
    s.sendall(body)
    st, _, _ = read_response(s)
    s.close()
    assert st == 401, st


GET_HEALTHZ = b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def thread_switches(pid, comm):
    """Context switches so far of the process's threads named `comm`."""
    total, found = 0, False
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if f.read().strip() != comm:
                    continue
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
            found = True
        except FileNotFoundError:
            pass
    assert found, "no thread named %s" % comm
    return total


def test_kept_alive_requests_skip_the_reactor(srv):
    """Issue 12: the next request on a kept-alive connection, sent right after the
    answer, is read and served by the worker that answered (the hold, edge.h)
    instead of going back through the reactor thread, which woke at least twice
    per request (hand-back, then the next request's bytes)."""
    s = connect(srv)
    answers = _Shared(s)

    def one():
        s.sendall(GET_HEALTHZ)
        r = http.client.HTTPResponse(answers)
        r.begin()
        r.read()
        assert r.status == 200

    one()
    n = 90  # under the 100 requests a connection may carry
    before = thread_switches(srv.proc.pid, "edge-reactor")
    for _ in range(n):
        one()
    woke = thread_switches(srv.proc.pid, "edge-reactor") - before
    s.close()
    figure("kept90.%s.reactor_switches" % ("tls" if srv.tls else "plain"), woke)
    assert woke < n / 2, "the reactor thread switched %d times for %d kept-alive requests" % (woke, n)


def test_held_connections_never_keep_another_client_waiting(srv):
    """8 keep-alive clients (as many as workers) that got an answer and went quiet,
    and 8 that sent part of their next request right after the answer, while a
    worker may hold the connection: another client is answered at once; the
    partial requests, once completed, and the next request on every connection too."""
    quiet, partial = [], []
    for i in range(16):
        s = connect(srv, source="127.0.6.%d" % (i + 1))
        s.sendall(GET_HEALTHZ)
        st, _, _ = read_response(s)
        assert st == 200, i
        if i % 2:
            s.sendall(b"GET /api/v1/healthz HTTP/1.1\r\nHo")
            partial.append(s)
        else:
            quiet.append(s)
    st, dt = timed_healthz(srv)
    figure("held16.%s.new_client_wait_s" % ("tls" if srv.tls else "plain"), "%.3f" % dt)
    assert st == 200 and dt < 2.5, dt
    for s in partial:
        s.sendall(b"st: x\r\n\r\n")
    assert [read_response(s)[0] for s in partial] == [200] * 8
    for s in quiet + partial:
        s.sendall(GET_HEALTHZ)
    assert [read_response(s)[0] for s in quiet + partial] == [200] * 16
    for s in quiet + partial:
        s.close()


def test_kept_connection_takes_split_and_pipelined_requests(srv):
    """Requests on a kept connection right after an answer, where a worker may be
    holding it (edge.h): a pipelined pair in one write; a head, and a body, split in
    two writes with pauses shorter and longer than the hold; each answered once and
    in order. A request then EOF is answered, a partial request then EOF is not."""
    s = connect(srv)
    answers = _Shared(s)

    def answer():
        r = http.client.HTTPResponse(answers)
        r.begin()
        return r.status, r.read()

    s.sendall(GET_HEALTHZ)
    assert answer()[0] == 200
    s.sendall(GET_HEALTHZ + b"GET /api/v1/nope HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (answer()[0], answer()[0]) == (200, 404)
    body = b'{"username":"nobody","password":"wrong-password-123"}'
    post = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    for pause in (0, 0.001, 0.05):
        s.sendall(b"GET /api/v1/healthz HTTP/1.1\r\nHo")
        time.sleep(pause)
        s.sendall(b"st: x\r\n\r\n")
        assert answer()[0] == 200, pause
        s.sendall(post)
        time.sleep(pause)
        s.sendall(body)
        assert answer()[0] == 401, pause
    s.sendall(GET_HEALTHZ)
    assert answer()[0] == 200
    s.close()
    if srv.tls:
        return  # a half-close under TLS needs close_notify, which Python's ssl can't send alone
    for tail, want in ((GET_HEALTHZ, 200), (b"GET /api/v1/healthz HTTP/1.1\r\nHo", None)):
        s = connect(srv)
        s.settimeout(10)
        s.sendall(GET_HEALTHZ)
        assert read_response(s)[0] == 200
        s.sendall(tail)
        s.shutdown(socket.SHUT_WR)
        st, _, _ = read_response(s)
        assert st == want, tail
        assert s.recv(100) == b"", "the connection stayed open after the client's EOF"
        s.close()


def test_duplicate_or_conflicting_lengths_close_the_connection(srv):
    for head in (b"Content-Length: 2\r\nContent-Length: 3\r\n",
                 b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
                 b"Transfer-Encoding: chunked\r\n",
                 b"Content-Length: -1\r\n"):
        s = connect(srv)
        s.sendall(b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + head +
                  b"\r\n{}GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        st, h, _ = read_response(s)
        assert st in (400, 411), (head, st)
        s.settimeout(5)
        try:
            rest = s.recv(4096)
        except (OSError, ssl.SSLError):
            rest = b""
        s.close()
        assert b"HTTP/1.1" not in rest, "a second answer after a refused framing: %r" % rest


def s_client(port, *args):
    return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost"]
                          + list(args), input=b"", capture_output=True, timeout=30)


def test_tls12_accepts_only_aead_suites(make_resetd):
    srv = make_resetd(tls=True)
    for cbc in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256"):
        r = s_client(srv.port, "-tls1_2", "-cipher", cbc)
        assert r.returncode != 0, "TLS 1.2 accepted %s" % cbc
    for aead in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES256-GCM-SHA384"):
        r = s_client(srv.port, "-tls1_2", "-cipher", aead)
        assert r.returncode == 0, "TLS 1.2 refused %s: %s" % (aead, r.stdout[-500:])
    r = s_client(srv.port, "-tls1_3")
    assert r.returncode == 0 and b"TLSv1.3" in r.stdout


def test_origin_is_checked_against_public_url(make_resetd):
    srv = make_resetd(public_url="https://reset.example.org")
    c = srv.client()
    body = {"username": "nobody", "password": "wrong-password-123"}
    own_host = "http://127.0.0.1:%d" % srv.port  # matches Host, but not public_url
    r = c.post("session", body, csrf=False, headers={"Origin": own_host})
    assert_error_json(r, 403, "origin_mismatch")
    r = c.post("session", body, csrf=False, headers={"Origin": "https://reset.example.org"})
    assert_error_json(r, 401)
    r = c.post("session", body, csrf=False, headers={"Origin": "https://evil.example.org"})
    assert_error_json(r, 403, "origin_mismatch")



def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class IdleTlsClients:
    """`per_source` keep-alive TLS connections from each of `sources`, each opened with
    one request; every connection asks again when its last answer is 1 s old, so the
    server's 5 s keep-alive deadline closes none of them however slow the machine."""

    def __init__(self, srv, sources, per_source):
        self.srv, self.sources, self.per_source = srv, sources, per_source
        self.socks, self.errors, self.opened = [], [], 0
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(src,), daemon=True) for src in sources]

    def ask(self, s):
        s.sendall(GET_HEALTHZ)
        st, _, _ = read_response(s)
        assert st == 200, st

    def run(self, source):
        mine = []
        try:
            while not self.stop.is_set():
                if len(mine) < self.per_source:
                    s = connect(self.srv, source=source, timeout=30)
                    self.ask(s)
                    mine.append([s, time.monotonic()])
                    with self.lock:
                        self.socks.append(s)
                        self.opened += 1
                for m in mine:
                    if time.monotonic() - m[1] > 1.0:
                        self.ask(m[0])
                        m[1] = time.monotonic()
                if len(mine) == self.per_source:
                    self.stop.wait(0.05)
        except Exception as e:  # reported by wait_open
            self.errors.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def wait_open(self, timeout=180):
        wait_until(lambda: self.errors or self.opened == len(self.sources) * self.per_source,
                   timeout=timeout, what="%d TLS connections open" % (len(self.sources) * self.per_source))
        assert not self.errors, self.errors

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join(60)
        for s in self.socks:
            s.close()


def test_idle_tls_connections_cost_little_memory(make_resetd):
    """Issue 19 item 8: an idle TLS connection kept OpenSSL's ~17 kB read and write
    record buffers (RSS +26.5 kB each measured here), and it stayed after they closed. RSS growth per kept-alive TLS
    connection, over 300 connections held open at once (10 addresses x 30); with the
    buffers released ~14 kB is left, most of it OpenSSL 3.0's SSL object (8.3 kB)."""
    srv = make_resetd(tls=True)
    pid = srv.proc.pid
    sources = ["127.0.7.%d" % (i + 1) for i in range(10)]
    # Warm-up: OpenSSL's lazy start-up and every worker's malloc arena are not a
    # connection's cost; 2 connections per address are, and are reused below.
    with IdleTlsClients(srv, sources, 2) as warm:
        warm.wait_open()
        time.sleep(1)
    time.sleep(0.5)
    fds0, rss0 = open_fds(pid), status_kib(pid, "VmRSS")
    with IdleTlsClients(srv, sources, 30) as idle:
        idle.wait_open()
        time.sleep(0.5)
        rss1, held = status_kib(pid, "VmRSS"), open_fds(pid) - fds0
    assert held >= 290, "only %d of 300 connections open when measured" % held
    per_conn_kb = (rss1 - rss0) * 1.024 / held
    figure("idle300.tls.rss_per_connection_kb", "%.1f" % per_conn_kb)
    if SANITIZER:  # its shadow memory and quarantine are not the product's RSS: paths only
        return
    assert per_conn_kb < 20, "an idle TLS connection costs %.1f kB" % per_conn_kb
    # ... and most of it goes back to the system once they close (malloc_trim).
    wait_until(lambda: status_kib(pid, "VmRSS") < rss0 + (rss1 - rss0) / 2, timeout=15,
               what="RSS back down after 300 TLS connections closed")
    figure("idle300.tls.rss_after_close_mb", "%.1f" % (status_kib(pid, "VmRSS") / 1000 * 1.024))


BIG_ASSET = "/i18n/tr-TR.json"  # ~30 KB


def test_clients_that_never_read_hold_no_worker(srv):
    """Issue 19 item 1: 16 clients with a 1 KiB receive buffer ask for a 30 KB asset
    (64 times, pipelined) and never read. Workers wrote answers themselves with a 10 s deadline, so these
    held all 8 (another client's healthz: 3 ms -> 9 s). Now a worker leaves what the
    socket does not take to the reactor: another client is answered at once, and a
    slow client that does read at last gets its whole answer."""
    name = "slowread16." + ("tls" if srv.tls else "plain")
    s = connect(srv)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % BIG_ASSET.encode())
    st, _, full = read_response(s)
    s.close()
    assert st == 200 and len(full) > 20000
    slow = []
    for _ in range(16):
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect: the window
        raw.settimeout(30)
        raw.bind(("127.0.9.1", 0))
        raw.connect(("127.0.0.1", srv.port))
        c = tls_ctx().wrap_socket(raw, server_hostname="localhost") if srv.tls else raw
        # On loopback the server's send buffer starts at ~1.3 MB (10 segments of
        # 64 KiB, doubled): 64 pipelined answers (1.9 MB) are needed to fill it.
        c.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % BIG_ASSET.encode() * 64)
        slow.append(c)
    time.sleep(1.0)  # every worker has met a full socket by now
    waits = []
    for _ in range(3):
        st, dt = timed_healthz(srv)
        assert st == 200
        waits.append(dt)
    figure("%s.other_client_max_wait_s" % name, "%.3f" % max(waits))
    st, _, body = read_response(slow[0])
    for c in slow:
        c.close()
    assert st == 200 and body == full, (st, len(body or b""))
    assert max(waits) < 2.0, "another client waited %.1f s behind clients that do not read" % max(waits)


def test_stalled_heads_from_17_addresses_leave_room_for_others(srv):
    """Issue 19 item 2: 17 addresses x 32 connections that send part of a head (plain)
    or never finish the TLS handshake filled all 512 slots; every new client got 503
    or a dead handshake until the 10 s deadline. Now the oldest incomplete connection
    of the address holding the most slots makes room, and silent ones go after 5 s."""
    name = "stalled17x32." + ("tls" if srv.tls else "plain")
    held = []
    try:
        for a in range(17):
            for _ in range(32):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10,
                                             source_address=("127.0.11.%d" % (a + 1), 0))
                if not srv.tls:
                    s.sendall(b"GET /api/v1/heal")
                held.append(s)
        st, dt = timed_healthz(srv, source="127.0.12.1")
        figure("%s.new_client_wait_s" % name, "%.3f" % dt)
        assert st == 200, "a new client got %s with 17 x 32 stalled connections" % st
        assert dt < 3.0, dt
    finally:
        for s in held:
            s.close()


def test_silent_connection_is_closed_at_the_first_byte_deadline(srv):
    """Issue 19 item 2: a connection that sends nothing (no TLS handshake, no request
    byte) holds its slot 5 s, not the 10 s a request gets once it has begun."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30, source_address=("127.0.12.2", 0))
    t = time.monotonic()
    r, _, _ = select.select([s], [], [], 20)
    gone = time.monotonic() - t
    s.close()
    figure("silent.%s.closed_after_s" % ("tls" if srv.tls else "plain"), "%.1f" % gone)
    assert r and 4.5 < gone < 8.5, gone


def test_per_address_refusal_says_why(make_resetd):
    """Issue 19 item 10: behind a reverse proxy every client is one address; the 503
    for the per-address cap names the cap and trusted_proxies."""
    srv = make_resetd(tls=False)
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10, source_address=("127.0.12.3", 0))
            for _ in range(32)]
    try:
        for s in held:
            s.sendall(b"GET /api/v1/heal")
        r = raw_http(srv.port, b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.12.3")
        assert r is not None
        e = assert_error_json(r, 503, "busy")
        assert "trusted_proxies" in e["message"] and "32" in e["message"], e
        assert r.headers.get("retry-after", "").isdigit(), r.headers
    finally:
        for s in held:
            s.close()


def test_unfinished_requests_hold_bounded_memory(make_resetd):
    """Issue 19 item 3: 480 connections each stalling 64 KB into a 65 KB body pinned
    ~77 MiB (the unit's MemoryHigh leaves 64 MiB beside the hash slots). Unfinished
    requests now hold at most 16 MiB together; past it the largest goes."""
    srv = make_resetd(tls=False)
    pid = srv.proc.pid
    rss0 = status_kib(pid, "VmRSS")
    head = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Pad: " + b"p" * 2000 + b"\r\nContent-Length: 65000\r\n\r\n")
    held = []
    try:
        for a in range(15):
            for _ in range(32):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10,
                                             source_address=("127.0.13.%d" % (a + 1), 0))
                try:
                    s.sendall(head + b"{" * 64000)
                except OSError:
                    pass  # shed
                held.append(s)
        time.sleep(1.0)
        growth = (status_kib(pid, "VmRSS") - rss0) / 1024
        figure("unfinished480.plain.rss_growth_mib", "%.1f" % growth)
        st, dt = timed_healthz(srv, source="127.0.13.99")
        assert st == 200, st
        assert SANITIZER or growth < 32, "480 unfinished requests pinned %.1f MiB" % growth
    finally:
        for s in held:
            s.close()


def test_non_reading_clients_from_17_addresses_leave_room_for_others(make_resetd):
    """Issue 19 items 1 and 2 together: 17 addresses x 32 connections that pipeline the
    big asset and never read fill every slot with answers waiting for their client;
    under pressure those of the address holding the most slots go too."""
    srv = make_resetd(tls=False)
    held = []
    try:
        for a in range(17):
            for _ in range(32):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                s.settimeout(10)
                s.bind(("127.0.15.%d" % (a + 1), 0))
                s.connect(("127.0.0.1", srv.port))
                try:
                    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % BIG_ASSET.encode() * 64)
                except OSError:
                    pass  # refused or evicted
                held.append(s)
        st, dt = timed_healthz(srv, source="127.0.15.99")
        figure("slowread17x32.plain.new_client_wait_s", "%.3f" % dt)
        assert st == 200, st
        assert dt < 3.0, dt
    finally:
        for s in held:
            s.close()
