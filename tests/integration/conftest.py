"""Harness for resetd integration tests.

Starts the real `resetd` binary (RESETD_BIN, default build/firmware-app/resetd) on a
free 127.0.0.1 port with a temporary data dir, and real SMTP relays: postfix's
`smtp-sink` (dump files, fault injection) and a python3-aiosmtpd relay
(smtp_relay.py: raw bytes, STARTTLS). Every wait is bounded.

Run with Debian's /usr/bin/python3 -m pytest.
"""
import email
import email.policy
import glob
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RESETD_BIN = os.environ.get("RESETD_BIN", os.path.join(REPO, "build", "firmware-app", "resetd"))
SYSTEM_PYTHON = "/usr/bin/python3"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

ADMIN_USER = "admin"
ADMIN_INITIAL_PW = "Adm1n-Passw0rd-Tr0ub4dor!"
ADMIN_PW = "Quartz-Lantern-Meadow-7391!"
FROM_HEADER = "IT Helpdesk <it-helpdesk@appliance.local>"

USER_FIELDS = {"id", "username", "display_name", "email", "alternate_email", "role", "locale",
               "disabled", "locked", "must_change_password", "password_expires_at",
               "created_at", "updated_at"}
NOTIFICATION_FIELDS = {"id", "user_id", "kind", "recipient", "state", "attempts", "last_answer",
                       "created_at", "sent_at"}
NOTIFICATION_STATES = {"queued", "sending", "sent", "failed", "superseded", "expired"}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")


def strong_password(tag="pw"):
    """A password that passes any sane policy (long, random, no context words)."""
    return "Vx9-" + secrets.token_urlsafe(12).replace("-", "q").replace("_", "z") + "-Lm4!"


def wait_until(pred, timeout=20.0, interval=0.1, what="condition"):
    """Polls pred() until it returns a truthy value; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    pytest.fail("timed out after %.1fs waiting for %s (last value: %r)" % (timeout, what, last))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def assert_error_json(resp, statuses, code=None):
    """Checks status in `statuses` and the exact error shape of spec §7."""
    if isinstance(statuses, int):
        statuses = (statuses,)
    assert resp.status in statuses, "expected %s, got %d: %r" % (statuses, resp.status, resp.body[:500])
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/json"), "error Content-Type %r (body %r)" % (ctype, resp.body[:200])
    j = resp.json
    assert isinstance(j, dict) and set(j.keys()) == {"error"}, "error body not {\"error\":…}: %r" % (resp.body[:500],)
    e = j["error"]
    assert isinstance(e, dict), e
    assert isinstance(e.get("code"), str) and SNAKE.match(e["code"]), "code not snake_case: %r" % (e,)
    assert isinstance(e.get("message"), str) and e["message"].strip(), "message missing: %r" % (e,)
    if "field" in e:
        assert e["field"] is None or isinstance(e["field"], str), e
    if code is not None:
        codes = (code,) if isinstance(code, str) else code
        assert e["code"] in codes, "code %r not in %r" % (e["code"], codes)
    return e


# --------------------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased name -> value (last wins); see header_list
        self.header_list = []
        self.body = body

    @property
    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:
            return None

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def _read_response(conn_or_sock_resp):
    r = conn_or_sock_resp
    body = r.read()
    resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    resp.header_list = r.getheaders()
    return resp


class Client:
    """JSON API client keeping the session cookie and the CSRF token.

    source: local address to connect from (127.0.0.x) so tests can act as
    different clients for per-client throttling.
    """

    def __init__(self, port, host="127.0.0.1", tls=False, source=None, timeout=30):
        self.port = port
        self.host = host
        self.tls = tls
        self.source = source
        self.timeout = timeout
        self.cookies = {}
        self.csrf = None
        self.user = None
        self.last_set_cookie = None

    def _conn(self):
        src = (self.source, 0) if self.source else None
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=ctx, source_address=src)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                          source_address=src)

    def request(self, method, path, body=None, headers=None, csrf=True, raw=None,
                content_type="application/json"):
        if not path.startswith("/"):
            path = "/api/v1/" + path
        h = {}
        data = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
        elif method in ("POST", "PUT", "PATCH"):
            data = b"{}"
        if data is not None and content_type:
            h["Content-Type"] = content_type
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        if headers:
            h.update(headers)
        h = {k: v for k, v in h.items() if v is not None}
        c = self._conn()
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            resp = _read_response(r)
        finally:
            c.close()
        for k, v in resp.header_list:
            if k.lower() == "set-cookie":
                self.last_set_cookie = v
                nv = v.split(";", 1)[0]
                if "=" in nv:
                    name, val = nv.split("=", 1)
                    name = name.strip()
                    low = v.lower()
                    if val == "" or "max-age=0" in low or "expires=thu, 01 jan 1970" in low:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = val
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # ---- session helpers
    def sign_in(self, username, password):
        """POST /session; on 200 keeps cookie + csrf_token. Returns the Response."""
        self.cookies = {}
        self.csrf = None
        r = self.post("session", {"username": username, "password": password}, csrf=False)
        if r.status == 200:
            j = r.json
            self.csrf = j.get("csrf_token")
            self.user = j.get("user")
        return r

    def must_sign_in(self, username, password):
        r = self.sign_in(username, password)
        assert r.status == 200, "sign-in %s failed: %r" % (username, r)
        assert self.csrf, "no csrf_token in sign-in answer %r" % (r.json,)
        return r.json

    def change_password(self, current, new):
        return self.post("session/password", {"current_password": current, "new_password": new})

    # ---- domain helpers
    def list_users(self, **params):
        q = "&".join("%s=%s" % (k, v) for k, v in params.items())
        r = self.get("users" + ("?" + q if q else ""))
        assert r.status == 200, r
        return r.json

    def all_users(self):
        return self.list_users(limit=200, sort="username")

    def create_user(self, username, email=None, display_name=None, role="user", locale="en",
                    password=None, expect=201, **opts):
        """Creates a user. With password: manual, require_change false, no mail."""
        body = {"username": username, "display_name": display_name or username.title(),
                "email": email or "%s@example.org" % username, "role": role, "locale": locale}
        if password is not None:
            body.update({"mode": "manual", "password": password, "require_change": False,
                         "notify": [], "notify_user": False})
        body.update(opts)
        r = self.post("users", body)
        if expect is not None:
            assert r.status == expect, "create %s: %r" % (username, r)
        return r

    def reset(self, user_id, **opts):
        return self.post("users/%d/password-reset" % user_id, opts)

    def notifications(self, user_id=None, state=None):
        params = []
        if user_id is not None:
            params.append("user_id=%d" % user_id)
        if state is not None:
            params.append("state=%s" % state)
        r = self.get("notifications" + ("?" + "&".join(params) if params else ""))
        assert r.status == 200, r
        j = r.json
        if isinstance(j, dict):
            j = j.get("notifications", j.get("items"))
        assert isinstance(j, list), "GET /notifications shape: %r" % (r.json,)
        return j

    def notification(self, nid, user_id=None):
        for n in self.notifications(user_id=user_id):
            if n.get("id") == nid:
                return n
        return None

    def wait_notification(self, nid, states, user_id=None, timeout=25, pred=None):
        """Waits until notification nid is in one of `states` (and pred(n) holds)."""
        if isinstance(states, str):
            states = (states,)

        def check():
            n = self.notification(nid, user_id=user_id)
            if n and n.get("state") in states and (pred is None or pred(n)):
                return n
            return None
        return wait_until(check, timeout=timeout, interval=0.2,
                          what="notification %s in %s (now: %r)" % (nid, states, self.notification(nid, user_id)))

    def retry(self, nid):
        return self.post("notifications/%d/retry" % nid, {})


def raw_http(port, data, timeout=15, source=None, send_in_parts=None):
    """Sends raw bytes to the server and parses the HTTP response (or returns None
    if the server closed without answering)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    try:
        parts = send_in_parts or [data]
        for p in parts:
            try:
                s.sendall(p)
            except (BrokenPipeError, ConnectionResetError):
                break
        # no half-close (SHUT_WR): browsers don't, and httplib drops such requests
        r = http.client.HTTPResponse(s)
        try:
            r.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return None
        return _read_response(r)
    finally:
        s.close()


# --------------------------------------------------------------------------- mail

def parse_mail(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def mail_text(msg):
    """Decoded text of all text/* parts."""
    out = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            out.append(part.get_content())
    return "\n".join(out)


def raw_header_block(raw):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            return raw[:i]
    return raw


class SmtpSink:
    """postfix smtp-sink dumping each message to DIR/%Y%m%d/%H%M%S.<rand>."""

    def __init__(self, base_dir, port=None):
        self.dir = os.path.join(base_dir, "sink")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(base_dir, 0o755)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
        self.port = port or free_port()
        self.proc = None
        self.args = []
        self.log = os.path.join(base_dir, "smtp-sink.log")

    def start(self, *args):
        assert self.proc is None
        self.args = list(args)
        cmd = [SMTP_SINK, "-4"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        cmd += self.args + ["-d", os.path.join(self.dir, "%Y%m%d/%H%M%S."),
                            "127.0.0.1:%d" % self.port, "10"]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.port) or self.proc.poll() is not None, timeout=10,
                   what="smtp-sink listening")
        assert self.proc.poll() is None, "smtp-sink exited: %s" % open(self.log).read()
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        wait_until(lambda: not port_open(self.port), timeout=5, what="smtp-sink port closed")

    def restart(self, *args):
        self.stop()
        return self.start(*args)

    def files(self):
        return sorted(p for p in glob.glob(os.path.join(self.dir, "*", "*")) if os.path.isfile(p))

    def messages(self):
        """[(path, raw bytes, parsed message)] of complete dump files."""
        out = []
        for p in self.files():
            with open(p, "rb") as f:
                raw = f.read()
            # a dump is complete once the message end (empty line after body) is there
            if not raw.endswith(b"\n"):
                continue
            out.append((p, raw, parse_mail(raw)))
        return out

    def messages_to(self, addr, contains=None):
        res = []
        for p, raw, m in self.messages():
            to = str(m.get("To", ""))
            rcpts = " ".join(str(v) for v in (m.get_all("X-Rcpt-Args") or []))
            if addr.lower() in to.lower() or addr.lower() in rcpts.lower():
                if contains is None or contains in mail_text(m):
                    res.append((p, raw, m))
        return res

    def wait_message_to(self, addr, contains=None, timeout=20, count=1):
        def check():
            ms = self.messages_to(addr, contains)
            return ms if len(ms) >= count else None
        ms = wait_until(check, timeout=timeout, interval=0.2,
                        what="mail to %s%s in smtp-sink" % (addr, " containing %r" % contains if contains else ""))
        time.sleep(0.2)  # let a just-finished dump settle
        return self.messages_to(addr, contains)


class AioRelay:
    """smtp_relay.py (python3-aiosmtpd) as a subprocess."""

    def __init__(self, base_dir, mode="plain", cert=None, key=None, port=None, reject_rcpt=None,
                 auth=None):
        self.auth = auth  # (user, password) required via AUTH
        self.dir = os.path.join(base_dir, "aio-%s" % mode)
        self.port = port or free_port()
        self.mode, self.cert, self.key, self.reject_rcpt = mode, cert, key, reject_rcpt
        self.proc = None
        self.log = os.path.join(base_dir, "aio-relay-%s.log" % mode)

    def start(self):
        cmd = [SYSTEM_PYTHON, os.path.join(HERE, "smtp_relay.py"), "--port", str(self.port),
               "--out", self.dir, "--mode", self.mode]
        if self.cert:
            cmd += ["--cert", self.cert, "--key", self.key]
        if self.reject_rcpt:
            cmd += ["--reject-rcpt", self.reject_rcpt]
        if self.auth:
            cmd += ["--auth-user", self.auth[0], "--auth-pass", self.auth[1]]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: (os.path.exists(self.log) and b"READY" in open(self.log, "rb").read())
                   or self.proc.poll() is not None, timeout=15, what="aiosmtpd relay ready")
        assert self.proc.poll() is None, "relay exited: %s" % open(self.log).read()
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def messages(self):
        out = []
        for mp in sorted(glob.glob(os.path.join(self.dir, "*.json"))):
            with open(mp) as f:
                meta = json.load(f)
            with open(mp[:-5] + ".eml", "rb") as f:
                raw = f.read()
            out.append((meta, raw, parse_mail(raw)))
        return out

    def wait_message_to(self, addr, timeout=20):
        def check():
            return [x for x in self.messages() if addr.lower() in [r.lower() for r in x[0]["rcpt_tos"]]]
        return wait_until(check, timeout=timeout, interval=0.2, what="mail to %s at aiosmtpd relay" % addr)


def make_cert(dirpath):
    cert = os.path.join(dirpath, "relay-cert.pem")
    key = os.path.join(dirpath, "relay-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


# --------------------------------------------------------------------------- resetd

def run_cli(*args, stdin=None, timeout=60, check_exe=True):
    """Runs `resetd ARGS`; returns CompletedProcess (text)."""
    if check_exe:
        require_binary()
    return subprocess.run([RESETD_BIN] + [str(a) for a in args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def require_binary():
    if not (os.path.isfile(RESETD_BIN) and os.access(RESETD_BIN, os.X_OK)):
        pytest.fail("resetd binary not found at %s (set RESETD_BIN)" % RESETD_BIN)


_hooks_checked = []


def require_test_hooks():
    """Fails (never skips) unless RESETD_BIN is a test build (-DRESETD_TEST_HOOKS=ON):
    without the hooks a RESETD_TEST_* variable does nothing, and a test relying on one
    would test something else."""
    if _hooks_checked:
        return
    v = run_cli("version")
    if "(test hooks)" not in v.stdout:
        pytest.fail("%s is built without test hooks (`resetd version`: %r); this test sets "
                    "RESETD_TEST_*: build with -DRESETD_TEST_HOOKS=ON (build.sh test does)"
                    % (RESETD_BIN, v.stdout.strip()))
    _hooks_checked.append(True)


class Resetd:
    """One resetd instance: data dir, config, process."""

    def __init__(self, base_dir, relay_port=None, relay_extra=None, extra_toml="", port=None, tls=False,
                 public_url=None):
        self.base = base_dir
        self.tls = tls
        self.data_dir = os.path.join(base_dir, "data")
        self.port = port or free_port()
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.public_url = self.url if public_url is None else public_url
        self.config = os.path.join(base_dir, "resetd.toml")
        self.proc = None
        self.stderr_path = os.path.join(base_dir, "resetd.stderr")
        self.stdout_path = os.path.join(base_dir, "resetd.stdout")
        self.relay_port = relay_port
        self.env = None  # extra environment for serve (e.g. libfaketime)
        self.relay_extra = relay_extra or {}
        self.extra_toml = extra_toml
        self.write_config()

    def write_config(self):
        relay = {"kind": "smtp", "host": "127.0.0.1", "port": self.relay_port or 25,
                 "security": "none", "from": FROM_HEADER, "timeout_s": 5}
        relay.update(self.relay_extra)

        def val(v):
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, int):
                return str(v)
            if isinstance(v, list):
                return "[" + ", ".join(val(x) for x in v) + "]"
            return json.dumps(v)
        lines = ["[server]", 'public_url = "%s"' % self.public_url, 'listen = "127.0.0.1:%d"' % self.port,
                 'tls = "%s"' % ("self-signed" if self.tls else "off"), "", "[relay]"]
        lines += ["%s = %s" % (k, val(v)) for k, v in relay.items()]
        lines += ["", "[hashing]", "opslimit = 1", "memlimit_mib = 8", "max_concurrent = 4", ""]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n" + self.extra_toml)

    def init(self, admin=ADMIN_USER, password=ADMIN_INITIAL_PW):
        r = run_cli("init", "--data-dir", self.data_dir, "--admin", admin, "--password-stdin",
                    stdin=password + "\n")
        assert r.returncode == 0, "resetd init failed (%d): %s %s" % (r.returncode, r.stdout, r.stderr)
        return r

    def start(self, wait=True, extra_args=()):
        require_binary()
        assert self.proc is None
        cmd = [RESETD_BIN, "serve", "--config", self.config, "--data-dir", self.data_dir,
               "--listen", "127.0.0.1:%d" % self.port] + ([] if self.tls else ["--no-tls"]) + list(extra_args)
        env = None
        if self.env:
            if any(k.startswith("RESETD_TEST_") for k in self.env):
                require_test_hooks()
            env = dict(os.environ)
            env.update(self.env)
        self.proc = subprocess.Popen(cmd, stdout=open(self.stdout_path, "ab"), env=env,
                                     stderr=open(self.stderr_path, "ab"), stdin=subprocess.DEVNULL)
        if wait:
            self.wait_healthy()
        return self

    def healthz(self):
        try:
            if self.tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=2, context=ctx)
            else:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/api/v1/healthz")
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, body
        except (OSError, http.client.HTTPException):
            return None, None

    def wait_healthy(self, timeout=15):
        def check():
            if self.proc.poll() is not None:
                return "exited"
            st, _ = self.healthz()
            return st == 200
        res = wait_until(check, timeout=timeout, interval=0.1, what="resetd /api/v1/healthz 200")
        if res == "exited":
            pytest.fail("resetd exited with %s during start:\n%s" % (self.proc.returncode, self.stderr()))

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            self.proc = None

    def kill9(self):
        self.proc.kill()
        self.proc.wait(5)
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def stderr(self):
        out = ""
        for p in (self.stdout_path, self.stderr_path):
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out += "--- %s ---\n%s\n" % (os.path.basename(p), f.read()[-20000:].decode("utf-8", "replace"))
        return out

    def client(self, **kw):
        kw.setdefault("tls", self.tls)
        return Client(self.port, **kw)

    def admin(self):
        """A signed-in global admin client (the initial password changed on first use)."""
        c = self.client()
        r = c.sign_in(ADMIN_USER, ADMIN_PW)
        if r.status == 200:
            return c
        j = c.must_sign_in(ADMIN_USER, ADMIN_INITIAL_PW)
        if j.get("must_change_password"):
            r = c.change_password(ADMIN_INITIAL_PW, ADMIN_PW)
            assert r.status in (200, 204), "initial admin password change: %r" % r
            c.must_sign_in(ADMIN_USER, ADMIN_PW)
        return c


# --------------------------------------------------------------------------- fixtures

_instances = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for inst in _instances:
            rep.sections.append(("resetd output (%s)" % inst.base, inst.stderr()))


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="resetd-it-")
    os.chmod(d, 0o755)  # smtp-sink runs as nobody and writes below it
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def sink(workdir):
    s = SmtpSink(workdir).start()
    yield s
    s.stop()


@pytest.fixture
def make_resetd(workdir):
    """Factory: make_resetd(relay_port=..., relay_extra=..., init=True, start=True)."""
    made = []

    def make(relay_port=None, relay_extra=None, extra_toml="", init=True, start=True, sub="r", **kw):
        base = os.path.join(workdir, sub + str(len(made)))
        os.makedirs(base)
        inst = Resetd(base, relay_port=relay_port, relay_extra=relay_extra, extra_toml=extra_toml, **kw)
        made.append(inst)
        _instances.append(inst)
        if init:
            inst.init()
        if start:
            inst.start()
        return inst
    yield make
    for inst in made:
        inst.stop()
        _instances.remove(inst)


@pytest.fixture
def server(sink, make_resetd):
    """resetd relaying to a running smtp-sink."""
    return make_resetd(relay_port=sink.port)


@pytest.fixture
def admin(server):
    return server.admin()
