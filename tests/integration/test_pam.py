"""Issue 11 / spec §12: PAM through pam_exec (expose_authtok) -> `resetd auth-check` -> the
running service's local Unix socket, driven by the real `pamtester` (Debian package).

Each test writes its own /etc/pam.d/resetd-it-<random> service file and removes it after.
The socket's group is `adm` (present on every Debian); a process of `nobody` without that
group must not be able to connect, with it it may."""
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import RESETD_BIN, assert_error_json, strong_password, wait_until
from sitekit import TestClock, fresh_admin

PAMTESTER = shutil.which("pamtester") or "/usr/bin/pamtester"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
SOCKET_GROUP = "adm"


@contextlib.contextmanager
def pam_service(make_resetd, workdir, extra_toml="", **kw):
    """(resetd with [pam] on (plus extra_toml) and a test clock, PAM service name, socket
    path, TestClock); the service file is removed afterwards."""
    sock = os.path.join(workdir, "run", "auth.sock")
    clock = TestClock(os.path.join(workdir, "clock-offset"))
    srv = make_resetd(start=False, **kw)
    srv.extra_toml = '[pam]\nenabled = true\nsocket = "%s"\ngroup = "%s"\n' % (sock, SOCKET_GROUP) + extra_toml
    srv.write_config()
    srv.env = {"RESETD_TEST_CLOCK_OFFSET_FILE": clock.path}
    srv.start()
    service = "resetd-it-" + secrets.token_hex(4)
    path = os.path.join("/etc/pam.d", service)
    assert not os.path.exists(path)
    with open(path, "w") as f:
        f.write("auth required pam_exec.so expose_authtok stdout quiet %s auth-check --socket %s\n"
                "account required pam_permit.so\n" % (RESETD_BIN, sock))
    try:
        yield srv, service, sock, clock
    finally:
        os.unlink(path)


@pytest.fixture
def pam(make_resetd, workdir):
    """(resetd with [pam] on and a test clock, PAM service name, socket path, TestClock)."""
    with pam_service(make_resetd, workdir) as p:
        yield p


def pamtester(service, user, password, rhost=None, tty=None, ruser=None):
    """Runs pamtester authenticate; returns (ok, output)."""
    args = [PAMTESTER, "-v"]
    if rhost:
        args += ["-I", "rhost=%s" % rhost]
    if tty:
        args += ["-I", "tty=%s" % tty]
    if ruser:
        args += ["-I", "ruser=%s" % ruser]
    r = subprocess.run(args + [service, user, "authenticate"], input=password + "\n",
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0, r.stdout + r.stderr


def audit_rows(admin, target):
    r = admin.get("audit?action=sign_in&limit=1000")
    assert r.status == 200, r
    return [e for e in r.json["entries"] if e["target"] == target]


def delay_after_s(failures):
    """The throttle's schedule (accounts/throttle.cpp): none for the first 3, then 1, 2, 4 ... 60 s."""
    return 0 if failures < 3 else min(2 ** min(failures - 3, 6), 60)


def failures_until_throttled(attempt):
    """Calls attempt(i) (True = the throttle answered) until the throttle answers. Returns the
    number of failures counted before that, after checking each answer against the schedule
    with the test's own timestamps: a failure past the third was counted only when the delay
    owed for the one before had passed, and the throttled attempt came inside the delay. A
    loaded machine may thus move the count (a slow attempt arrives after its delay), but a
    throttle that counts or waits differently fails here."""
    spans = []
    for i in range(1, 20):
        t0 = time.monotonic()
        throttled = attempt(i)
        t1 = time.monotonic()
        if throttled:
            k = len(spans)
            assert k >= 3, "throttled after only %d failures" % k
            for j in range(3, k):
                assert spans[j][1] - spans[j - 1][0] >= delay_after_s(j), (
                    "failure %d counted before the %d s owed after failure %d" % (j + 1, delay_after_s(j), j))
            assert t0 - spans[-1][1] < delay_after_s(k), "throttled after its delay had passed"
            return k
        spans.append((t0, t1))
    pytest.fail("never throttled")


def web_failures_until_throttled(srv, username):
    def attempt(i):
        r = srv.client().post("session", {"username": username, "password": "wrong-%d" % i}, csrf=False)
        assert r.status in (401, 429), r
        return r.status == 429
    return failures_until_throttled(attempt)


def test_right_password_succeeds_wrong_fails_and_is_throttled_like_the_web(pam):
    srv, service, sock, clock = pam
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("pam.ann", password=pw)
    admin.create_user("web.ann", password=strong_password())

    ok, out = pamtester(service, "pam.ann", pw, rhost="192.0.2.7")
    assert ok, out
    assert "successfully authenticated" in out, out
    # PAM hands the name to the OS as typed: only resetd's exact (lower-case) name is resetd's
    ok, out = pamtester(service, "PAM.Ann", pw)
    assert not ok and "The username or password is incorrect." in out, out

    # the account throttle counts PAM failures exactly like web sign-in failures: the same
    # schedule (3 free failures, then growing delays); on an idle machine both stop at 3
    k_web = web_failures_until_throttled(srv, "web.ann")

    def pam_attempt(i):
        ok, out = pamtester(service, "pam.ann", "wrong-%d" % i)
        assert not ok, out
        throttled = "Too many sign-in attempts" in out
        assert throttled or "The username or password is incorrect." in out, out
        return throttled
    k_pam = failures_until_throttled(pam_attempt)
    # while throttled even the right password is refused: more failures (the clock moved past
    # each delay, as in the lockout test) make the delay 60 s, far longer than one pamtester run
    for i in range(k_pam, 9):
        clock.advance(srv, 70)
        assert not pam_attempt(100 + i)
    ok, out = pamtester(service, "pam.ann", pw)
    assert not ok and "Too many sign-in attempts" in out, out

    admin = fresh_admin(srv)  # the clock moved past the admin's idle limit
    rows = audit_rows(admin, "pam.ann")
    assert [e for e in rows if e["outcome"] == "ok" and e["client"] == "pam:" + service
            and "rhost 192.0.2.7" in e["detail"]], rows
    fails = [e for e in rows if e["outcome"] == "failed" and e["client"] == "pam:" + service]
    assert len(fails) == max(k_pam, 9), rows  # every counted failure, none of the throttled
    web_fails = [e for e in audit_rows(admin, "web.ann") if e["outcome"] == "failed"]
    assert len(web_fails) == k_web, web_fails
    assert not [e for e in rows if e["client"] != "pam:" + service], rows


def test_disabled_locked_and_must_change_are_refused_with_their_message(pam):
    srv, service, sock, clock = pam
    admin = srv.admin()
    pw_d, pw_l, pw_m = strong_password(), strong_password(), strong_password()
    uid_d = admin.create_user("pam.dis", password=pw_d).json["user"]["id"]
    admin.create_user("pam.lock", password=pw_l)
    uid_m = admin.create_user("pam.mc", password=strong_password()).json["user"]["id"]

    # disabled: the same generic answer the web gives; the audit says why
    assert admin.patch("users/%d" % uid_d, {"disabled": True}).status == 200
    ok, out = pamtester(service, "pam.dis", pw_d)
    assert not ok and "The username or password is incorrect." in out, out
    assert [e for e in audit_rows(admin, "pam.dis") if e["detail"].startswith("account disabled; uid 0")
            and e["client"] == "pam:" + service]

    # must change (admin reset with "require change"): refused, told where to change it
    r = admin.reset(uid_m, mode="manual", password=pw_m, require_change=True, notify=[], notify_user=False)
    assert r.status == 200, r
    ok, out = pamtester(service, "pam.mc", pw_m)
    assert not ok, out
    assert "must be changed" in out and srv.public_url + "/#/password" in out, out
    assert [e for e in audit_rows(admin, "pam.mc") if e["outcome"] == "failed"
            and e["detail"].startswith("password change required")], audit_rows(admin, "pam.mc")
    # after the change on the web page, PAM lets the user in
    c = srv.client()
    c.must_sign_in("pam.mc", pw_m)
    pw_m2 = strong_password()
    assert c.change_password(pw_m, pw_m2).status == 200
    ok, out = pamtester(service, "pam.mc", pw_m2)
    assert ok, out

    # locked: ten failures (the clock moved past each growing delay) lock the account
    for i in range(10):
        ok, out = pamtester(service, "pam.lock", "wrong-%d" % i)
        assert not ok and "incorrect" in out, (i, out)
        clock.advance(srv, 70)
    ok, out = pamtester(service, "pam.lock", pw_l)
    assert not ok and "Too many sign-in attempts" in out, out
    admin = fresh_admin(srv)
    rows = audit_rows(admin, "pam.lock")
    assert [e for e in rows if e["detail"].startswith("locked out; uid 0") and e["client"] == "pam:" + service], rows
    u = [x for x in admin.all_users()["users"] if x["username"] == "pam.lock"][0]
    assert u["locked"] is True
    # the admin's unlock lets the right password in again
    assert admin.post("users/%d/unlock" % u["id"], {}).status in (200, 204)
    ok, out = pamtester(service, "pam.lock", pw_l)
    assert ok, out


def connect_as_nobody(sock, groups):
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(sys.argv[1]); print('connected')\n"
            "except PermissionError: print('denied')\n")
    args = [SETPRIV, "--reuid=nobody", "--regid=nogroup"]
    args += ["--groups=" + groups] if groups else ["--clear-groups"]
    r = subprocess.run(args + ["/usr/bin/python3", "-c", code, sock], capture_output=True, text=True, timeout=30)
    return r.stdout.strip() + r.stderr.strip()


def test_socket_mode_group_and_other_users(pam):
    srv, service, sock, clock = pam
    st = os.stat(sock)
    import grp
    import stat
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert st.st_gid == grp.getgrnam(SOCKET_GROUP).gr_gid
    assert connect_as_nobody(sock, None) == "denied"
    assert connect_as_nobody(sock, SOCKET_GROUP) == "connected"


def test_socket_is_bounded(pam):
    srv, service, sock, clock = pam
    # an over-long line: answered bad_request and closed, without waiting for more
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock)
    try:
        s.sendall(b"resetd-auth 1\tx\t\tu\t" + b"A" * 100000)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = s.recv(4096)
    s.close()
    assert data.startswith(b"fail\tbad_request"), data
    # a silent client is cut off at the read deadline (5 s)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(15)
    s.connect(sock)
    t0 = time.monotonic()
    data = s.recv(4096)
    took = time.monotonic() - t0
    s.close()
    assert data.startswith(b"fail\tbad_request") and 4 <= took < 10, (data, took)
    # at most 16 connections at once: the 17th is told "busy" at once. On a loaded
    # machine the service may not have taken all 16 yet when the 17th comes (then
    # the 17th gets a slot and hears nothing): close everything and try again,
    # waiting longer each time; each try stays inside the 5 s read deadline, which
    # would otherwise free the held slots under it.
    answer = None
    tries = []
    for attempt in range(6):
        held = []
        for _ in range(16):
            h = socket.socket(socket.AF_UNIX)
            h.connect(sock)
            held.append(h)
        time.sleep(0.5 * (attempt + 1))
        extra = socket.socket(socket.AF_UNIX)
        extra.settimeout(1.5)
        extra.connect(sock)
        try:
            answer = extra.recv(4096)
        except TimeoutError:
            answer = None
        extra.close()
        for h in held:
            h.close()
        tries.append(answer)
        if answer is not None:
            break
        time.sleep(1)
    assert answer is not None and answer.startswith(b"fail\tbusy"), tries
    # and the service still answers afterwards
    wait_until(lambda: pamtester(service, "admin", "nope")[1].find("incorrect") >= 0, timeout=15,
               what="auth-check works again")


def test_auth_check_usage_and_unreachable_service(pam, workdir):
    srv, service, sock, clock = pam
    r = subprocess.run([RESETD_BIN, "auth-check", "--socket", os.path.join(workdir, "nope.sock")],
                       input="admin\nsecret\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "not running" in r.stdout, r
    r = subprocess.run([RESETD_BIN, "auth-check", "--socket", sock], input="", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "no username" in r.stdout, r
    # without PAM_USER: username and password as two stdin lines
    r = subprocess.run([RESETD_BIN, "auth-check", "--socket", sock], input="admin\nwrong\n",
                       capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 1 and "incorrect" in r.stdout, r


def test_pam_off_by_default_makes_no_socket(make_resetd, workdir):
    srv = make_resetd()
    out = open(srv.stdout_path).read()
    assert "listening on" in out and "PAM password checks" not in out, out
    j = srv.admin().get("settings/integrations").json
    assert j["pam"]["enabled"] is False, j


def test_expired_passwords_are_refused(pam):
    """An expired password (policy) and an expired temporary password: refused by PAM,
    as the web refuses them or sends them to the change page."""
    srv, service, sock, clock = pam
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("pam.old", password=pw)
    uid_t = admin.create_user("pam.tmp", password=strong_password()).json["user"]["id"]
    tmp = strong_password()
    assert admin.reset(uid_t, mode="manual", password=tmp, require_change=True, notify=[],
                       notify_user=False).status == 200
    r = admin.request("PUT", "settings/expiration", {"never_expires": False, "days": 14, "reminder_days": 7})
    assert r.status == 200, r
    ok, out = pamtester(service, "pam.old", pw)
    assert ok, out
    clock.advance(srv, 15 * 86400)
    ok, out = pamtester(service, "pam.old", pw)
    assert not ok and "must be changed" in out and "/#/password" in out, out
    ok, out = pamtester(service, "pam.tmp", tmp)
    assert not ok and "temporary password has expired" in out, out
    admin = fresh_admin(srv)
    details = [e["detail"] for e in audit_rows(admin, "pam.old") + audit_rows(admin, "pam.tmp")
               if e["client"] == "pam:" + service and e["outcome"] == "failed"]
    assert any(d.startswith("password change required") for d in details), details
    assert any(d.startswith("temporary password expired; uid 0") for d in details), details


# ---- issue 18: the OS's names, exact names, who asked, per-tty throttling, bounds ----

def test_names_of_os_accounts_cannot_be_created_while_pam_is_on(pam, workdir):
    srv, service, sock, clock = pam
    admin = srv.admin()
    for name in ("root", "ROOT", "daemon", "www-data", "nobody"):
        r = admin.create_user(name, password=strong_password(), expect=None)
        assert_error_json(r, 422, "reserved_username")
        assert r.json["error"]["field"] == "username", r
    admin.create_user("pam.not-an-os-account", password=strong_password())  # resetd-only names stay
    # the console's `resetd user add` reads the same [pam] from --config
    data = os.path.join(workdir, "console-data")
    r = subprocess.run([RESETD_BIN, "init", "--data-dir", data, "--admin", "boss", "--password-stdin"],
                       input=strong_password() + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    add = [RESETD_BIN, "user", "add", "--data-dir", data, "--config", srv.config, "--email", "x@example.org",
           "--password-stdin", "--username"]
    r = subprocess.run(add + ["root"], input=strong_password() + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "system account" in r.stdout + r.stderr, r
    r = subprocess.run(add + ["ann.console"], input=strong_password() + "\n", capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r


def test_a_csv_import_cannot_bring_in_names_of_os_accounts_while_pam_is_on(pam):
    """Issue 18 item 1 on the route added after it (users from a CSV file): the rows with
    an OS account's name are refused like POST /users, and the file creates nobody."""
    srv, service, sock, clock = pam
    admin = srv.admin()
    text = "\r\n".join(["username,display_name,email,alternate_email,locale,role",
                         "csv.fine,Fine,fine@example.org,,en,user",
                         "ROOT,Root,root@example.org,,en,user",
                         "daemon,Daemon,daemon@example.org,,en,global_admin"]) + "\r\n"
    r = admin.post("users/import", {"csv": text})
    assert_error_json(r, 422, "import_rows_invalid")
    got = [(x["row"], x.get("field"), x["code"]) for x in r.json["error"]["rows"]]
    assert got == [(3, "username", "reserved_username"), (4, "username", "reserved_username")], got
    names = {u["username"] for u in admin.all_users()["users"]}
    assert not names & {"csv.fine", "root", "daemon"}, names


def test_pam_matches_the_name_exactly(pam):
    """Issue 18 item 1: PAM_USER was case-folded, so `ROOT` was resetd's `root`; an OS
    name differing only in case must not borrow a resetd account's password."""
    srv, service, sock, clock = pam
    pw = strong_password()
    srv.admin().create_user("pam.case", password=pw)
    for name in ("PAM.CASE", "Pam.case"):
        ok, out = pamtester(service, name, pw)
        assert not ok, (name, out)
    ok, out = pamtester(service, "pam.case", pw)
    assert ok, out


def test_failed_pam_sign_ins_record_who_asked(pam):
    srv, service, sock, clock = pam
    admin = srv.admin()
    admin.create_user("pam.who", password=strong_password())
    ok, out = pamtester(service, "pam.who", "wrong-1", tty="/dev/pts/7", ruser="bob")
    assert not ok, out
    ok, out = pamtester(service, "pam.who", "wrong-2", rhost="192.0.2.9")
    assert not ok, out
    fails = [e["detail"] for e in audit_rows(admin, "pam.who") if e["outcome"] == "failed"]
    assert len(fails) == 2, fails
    # pamtester runs as root: the caller's uid and the socket peer's are 0
    assert any("uid 0 (peer 0)" in d and "ruser bob" in d and "tty /dev/pts/7" in d for d in fails), fails
    assert any("uid 0 (peer 0)" in d and "rhost 192.0.2.9" in d for d in fails), fails


def test_without_a_remote_host_each_tty_has_its_own_client_limit(pam):
    """30 failures in 5 minutes from one client; before, every login/su/sudo/screen lock was
    one client, so one person's 30 typos locked everyone out."""
    srv, service, sock, clock = pam
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("pam.tty", password=pw)
    for i in range(30):  # thirty different names: only the client limit counts them all
        ok, out = pamtester(service, "pam.nosuch%d" % i, "wrong", tty="tty1")
        assert not ok and "incorrect" in out, (i, out)
    ok, out = pamtester(service, "pam.tty", pw, tty="tty1")
    assert not ok and "Too many sign-in attempts" in out, out
    ok, out = pamtester(service, "pam.tty", pw, tty="tty2")
    assert ok, out


def cjk_password(n):
    """n random CJK ideographs (3 UTF-8 bytes each)."""
    return "".join(chr(0x4E00 + secrets.randbelow(0x5000)) for _ in range(n))


def test_passwords_pam_would_cut_are_refused_without_counting_a_failure(pam):
    """pam_exec hands on at most 512 bytes (a terminal conversation 511): a longer password
    arrives cut, could never match, and each try counted against the account."""
    srv, service, sock, clock = pam
    admin = srv.admin()
    fits, cut = cjk_password(170), cjk_password(171)  # 510 and 513 bytes, within the 256-character policy
    admin.create_user("pam.fits", password=fits)
    admin.create_user("pam.long", password=cut)
    ok, out = pamtester(service, "pam.fits", fits)
    assert ok, out
    for _ in range(4):
        ok, out = pamtester(service, "pam.long", cut)
        assert not ok and "too long to be checked here" in out, out
    assert not [e for e in audit_rows(admin, "pam.long") if e["outcome"] == "failed"]
    u = [x for x in admin.all_users()["users"] if x["username"] == "pam.long"][0]
    assert u["locked"] is False
    c = srv.client()
    c.must_sign_in("pam.long", cut)  # the web takes the whole password


def test_auth_check_timeout_bounds_the_wait_for_a_frozen_service(pam, workdir):
    srv, service, sock, clock = pam
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("pam.frozen", password=pw)
    path = os.path.join("/etc/pam.d", service)
    with open(path, "w") as f:
        f.write("auth required pam_exec.so expose_authtok stdout quiet %s auth-check --timeout 2 --socket %s\n"
                "account required pam_permit.so\n" % (RESETD_BIN, sock))
    srv.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        ok, out = pamtester(service, "pam.frozen", pw)
        took = time.monotonic() - t0
    finally:
        srv.proc.send_signal(signal.SIGCONT)
    assert not ok and "did not answer in time" in out, out
    assert 1.5 <= took < 5, took
    r = subprocess.run([RESETD_BIN, "auth-check", "--socket", sock, "--timeout", "0"], input="a\nb\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    ok, out = pamtester(service, "pam.frozen", pw)  # and once thawed, it answers
    assert ok, out
