"""Spec §2/§3: the command line — exit codes 0 / 1 / 2, messages, first boot, bad config."""
import os
import re
import stat
import subprocess
import time

import pytest

from conftest import (ADMIN_INITIAL_PW, RESETD_BIN, Client, Resetd, free_port, run_cli,
                      strong_password, wait_until)


@pytest.fixture
def data_dir(workdir):
    d = os.path.join(workdir, "data")
    r = run_cli("init", "--data-dir", d, "--admin", "admin", "--password-stdin", stdin=ADMIN_INITIAL_PW + "\n")
    assert r.returncode == 0, (r.stdout, r.stderr)
    return d


def test_version_and_help():
    r = run_cli("version")
    assert r.returncode == 0, r
    assert re.search(r"\d+\.\d+", r.stdout), r.stdout
    assert "resetd" in r.stdout.lower()
    h = run_cli("--help")
    assert h.returncode == 0
    for sub in ("serve", "init", "user", "check", "version"):
        assert sub in h.stdout, "%s missing from --help" % sub
    assert run_cli("user", "add", "--help").returncode == 0
    u = run_cli("frobnicate")
    assert u.returncode == 2, u
    assert u.stderr.strip(), "no message for an unknown command"


def test_init_creates_private_data_dir(workdir):
    d = os.path.join(workdir, "fresh")
    r = run_cli("init", "--data-dir", d, "--admin", "root.admin", "--password-stdin",
                stdin=ADMIN_INITIAL_PW + "\n")
    assert r.returncode == 0, r
    assert ADMIN_INITIAL_PW not in r.stdout + r.stderr
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    key = os.path.join(d, "secret.key")
    assert os.path.exists(key) and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    again = run_cli("init", "--data-dir", d, "--admin", "root.admin", "--password-stdin",
                    stdin=ADMIN_INITIAL_PW + "\n")
    assert again.returncode == 1, "init over an existing database must fail: %r" % again
    assert run_cli("init", "--data-dir", os.path.join(workdir, "x")).returncode == 2  # no --admin


def test_init_without_password_writes_file(workdir):
    d = os.path.join(workdir, "gen")
    r = run_cli("init", "--data-dir", d, "--admin", "admin")
    assert r.returncode == 0, r
    f = os.path.join(d, "initial-admin-password")
    assert os.path.exists(f)
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    pw = open(f).read().strip()
    assert len(pw) >= 12
    assert pw not in r.stdout + r.stderr, "init printed the password"
    assert "initial-admin-password" in r.stdout + r.stderr, "init did not print the file's path"


def test_user_commands_exit_codes(data_dir):
    pw = strong_password()
    add = run_cli("user", "add", "--data-dir", data_dir, "--username", "bob", "--email", "bob@example.org",
                  "--display-name", "Bob Builder", "--role", "helpdesk_admin", "--locale", "tr-TR",
                  "--password-stdin", stdin=pw + "\n")
    assert add.returncode == 0, add
    assert pw not in add.stdout + add.stderr
    dup = run_cli("user", "add", "--data-dir", data_dir, "--username", "BOB", "--email", "b2@example.org",
                  "--password-stdin", stdin=strong_password() + "\n")
    assert dup.returncode == 1, dup
    assert dup.stderr.strip()
    missing = run_cli("user", "add", "--data-dir", data_dir, "--username", "carl")
    assert missing.returncode == 2, missing  # --email is required
    assert "email" in (missing.stderr + missing.stdout).lower()
    weak = run_cli("user", "add", "--data-dir", data_dir, "--username", "dave", "--email", "d@example.org",
                   "--password-stdin", stdin="dave\n")
    assert weak.returncode in (1, 2) and weak.returncode != 0, weak
    badrole = run_cli("user", "add", "--data-dir", data_dir, "--username", "erin", "--email", "e@example.org",
                      "--role", "emperor", "--password-stdin", stdin=strong_password() + "\n")
    assert badrole.returncode in (1, 2), badrole
    assert "role" in (badrole.stderr + badrole.stdout).lower()

    ls = run_cli("user", "list", "--data-dir", data_dir)
    assert ls.returncode == 0, ls
    assert "bob" in ls.stdout and "admin" in ls.stdout and "helpdesk_admin" in ls.stdout
    assert "dave" not in ls.stdout and "erin" not in ls.stdout

    sr = run_cli("user", "set-role", "--data-dir", data_dir, "--username", "bob", "--role", "user_admin")
    assert sr.returncode == 0, sr
    assert "user_admin" in run_cli("user", "list", "--data-dir", data_dir).stdout
    nouser = run_cli("user", "set-role", "--data-dir", data_dir, "--username", "nobody.here", "--role", "user")
    assert nouser.returncode == 1, nouser
    last = run_cli("user", "set-role", "--data-dir", data_dir, "--username", "admin", "--role", "user")
    assert last.returncode == 1, "demoting the last global admin must fail: %r" % last
    lastd = run_cli("user", "disable", "--data-dir", data_dir, "--username", "admin")
    assert lastd.returncode == 1, "disabling the last global admin must fail: %r" % lastd

    new = strong_password()
    rp = run_cli("user", "reset-password", "--data-dir", data_dir, "--username", "bob", "--password-stdin",
                 stdin=new + "\n")
    assert rp.returncode == 0, rp
    assert new not in rp.stdout + rp.stderr
    rpx = run_cli("user", "reset-password", "--data-dir", data_dir, "--username", "ghost", "--password-stdin",
                  stdin=new + "\n")
    assert rpx.returncode == 1, rpx

    dis = run_cli("user", "disable", "--data-dir", data_dir, "--username", "bob")
    assert dis.returncode == 0, dis
    assert run_cli("user", "disable", "--data-dir", data_dir).returncode == 2  # no --username
    assert run_cli("user", "list", "--data-dir", os.path.join(data_dir, "missing")).returncode == 1

    chk = run_cli("check", "--data-dir", data_dir)
    assert chk.returncode == 0, chk

    # the console changes are visible to the service: bob has the new password but is disabled
    base = os.path.dirname(data_dir)
    srv = Resetd(base)
    srv.data_dir = data_dir
    srv.start()
    try:
        c = Client(srv.port)
        assert c.sign_in("bob", new).status in (401, 403), "disabled user signed in"
        en = run_cli("user", "list", "--data-dir", data_dir)
        assert en.returncode == 0
    finally:
        srv.stop()


def test_console_reset_password_signs_in_and_clears_lockout(data_dir, workdir):
    pw = strong_password()
    assert run_cli("user", "add", "--data-dir", data_dir, "--username", "lou", "--email", "lou@example.org",
                   "--password-stdin", stdin=pw + "\n").returncode == 0
    srv = Resetd(workdir)
    srv.data_dir = data_dir
    srv.start()
    try:
        assert Client(srv.port).sign_in("lou", pw).status == 200
        new = strong_password()
        rp = run_cli("user", "reset-password", "--data-dir", data_dir, "--username", "lou", "--password-stdin",
                     stdin=new + "\n")
        assert rp.returncode == 0, rp
        assert Client(srv.port).sign_in("lou", pw).status == 401
        assert Client(srv.port).sign_in("lou", new).status == 200
    finally:
        srv.stop()


def test_check_detects_damaged_database(data_dir):
    assert run_cli("check", "--data-dir", data_dir).returncode == 0
    dbs = [f for f in os.listdir(data_dir) if f.endswith(".db") and os.path.isfile(os.path.join(data_dir, f))]
    assert dbs, os.listdir(data_dir)
    p = os.path.join(data_dir, dbs[0])
    with open(p, "r+b") as f:
        f.write(b"This is not SQLite")
    r = run_cli("check", "--data-dir", data_dir)
    assert r.returncode == 1, r
    assert r.stderr.strip() or r.stdout.strip()
    # serve refuses to start and does not overwrite the file
    with open(p, "rb") as f:
        damaged = f.read()
    proc = subprocess.run([RESETD_BIN, "serve", "--data-dir", data_dir, "--listen",
                           "127.0.0.1:%d" % free_port(), "--no-tls"], capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    with open(p, "rb") as f:
        assert f.read() == damaged, "the damaged database was overwritten"


def test_serve_first_boot_on_empty_data_dir(workdir):
    base = os.path.join(workdir, "fb")
    os.makedirs(base)
    srv = Resetd(base)
    srv.start()
    try:
        f = os.path.join(srv.data_dir, "initial-admin-password")
        assert os.path.exists(f), os.listdir(srv.data_dir)
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
        pw = open(f).read().strip()
        assert len(pw) >= 12
        out = srv.stderr()
        assert pw not in out, "the initial password went to stdout/stderr"
        assert stat.S_IMODE(os.stat(srv.data_dir).st_mode) == 0o700
        c = Client(srv.port)
        j = c.must_sign_in("admin", pw)
        assert j["must_change_password"] is True
        new = strong_password()
        ch = c.change_password(pw, new)
        assert ch.status in (200, 204), ch
        wait_until(lambda: not os.path.exists(f), timeout=5, what="initial-admin-password deleted")
        assert Client(srv.port).sign_in("admin", new).status == 200
    finally:
        srv.stop()
    # a restart doesn't recreate the file
    srv.start()
    try:
        assert not os.path.exists(os.path.join(srv.data_dir, "initial-admin-password"))
    finally:
        srv.stop()


@pytest.mark.parametrize("section,key,value,shown", [
    ("hashing", "opslimit", "99", "99"),
    ("hashing", "memlimit_mib", "5", "5"),
    ("relay", "kind", '"carrier-pigeon"', "carrier-pigeon"),
    ("relay", "security", '"maybe"', "maybe"),
    ("server", "tls", '"sometimes"', "sometimes"),
    ("ui", "default_locale", '"xx"', "xx"),
    ("accounts", "link_ttl_min", '"sixty"', "sixty"),
])
def test_bad_config_value_stops_start(workdir, section, key, value, shown):
    base = os.path.join(workdir, "bc")
    os.makedirs(base)
    srv = Resetd(base, relay_port=2525)
    srv.init()
    with open(srv.config) as f:
        text = f.read()
    lines = [l for l in text.splitlines() if not l.startswith(key + " ")]
    text = "\n".join(lines) + "\n"
    if "[%s]" % section in text:
        text = text.replace("[%s]\n" % section, "[%s]\n%s = %s\n" % (section, key, value))
    else:
        text += "\n[%s]\n%s = %s\n" % (section, key, value)
    with open(srv.config, "w") as f:
        f.write(text)
    # no --no-tls: flags override the file, and server.tls is one of the cases
    proc = subprocess.run([RESETD_BIN, "serve", "--config", srv.config, "--data-dir", srv.data_dir,
                           "--listen", "127.0.0.1:%d" % srv.port],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode != 0, "started with %s.%s = %s" % (section, key, value)
    msg = proc.stderr + proc.stdout
    assert key in msg and shown in msg, "message doesn't name key and value: %r" % msg


def test_flag_errors_are_usage_errors(workdir):
    r = run_cli("serve", "--listen", "not-an-address:xx", "--data-dir", os.path.join(workdir, "d"), "--no-tls",
                timeout=20)
    assert r.returncode in (1, 2), r
    r = run_cli("serve", "--bogus-flag")
    assert r.returncode == 2, r


def test_database_newer_than_binary_is_refused(data_dir):
    import sqlite3
    v = run_cli("version").stdout
    m = re.search(r"schema (\d+)", v)
    known = m.group(1) if m else None
    dbs = [f for f in os.listdir(data_dir) if f.endswith(".db")]
    assert dbs
    con = sqlite3.connect(os.path.join(data_dir, dbs[0]))
    con.execute("PRAGMA user_version = 97")
    con.commit()
    con.close()
    proc = subprocess.run([RESETD_BIN, "serve", "--data-dir", data_dir, "--listen",
                           "127.0.0.1:%d" % free_port(), "--no-tls"], capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0, "started on a database newer than the binary"
    msg = proc.stderr + proc.stdout
    assert "97" in msg, msg
    if known:
        assert known in msg.replace("97", ""), "message doesn't name the binary's version: %r" % msg
    con = sqlite3.connect(os.path.join(data_dir, dbs[0]))
    assert con.execute("PRAGMA user_version").fetchone()[0] == 97, "the newer database was modified"
    con.close()


def test_backup_file_and_journal_are_private_from_the_first_byte(data_dir, workdir):
    """Issue 9 #7: the snapshot (and SQLite's journal next to it) must never be
    readable by others, not even while it is being written — whatever the
    caller's umask. strace slows every write so the watcher sees each file."""
    import shutil
    import threading
    assert shutil.which("strace"), "strace is needed (build.sh installs it)"
    # a database with some pages to copy
    for i in range(40):
        r = run_cli("user", "add", "--data-dir", data_dir, "--username", "bulk%02d" % i,
                    "--email", "bulk%02d@example.org" % i, "--display-name", "x" * 100,
                    "--password-stdin", stdin=strong_password() + "\n")
        assert r.returncode == 0, r
    target_dir = os.path.join(workdir, "media")
    os.makedirs(target_dir)
    target = os.path.join(target_dir, "snap.db")
    seen, stop = {}, threading.Event()

    def watch():
        while not stop.is_set():
            for name in os.listdir(target_dir):
                try:
                    mode = stat.S_IMODE(os.lstat(os.path.join(target_dir, name)).st_mode)
                except FileNotFoundError:
                    continue
                seen.setdefault(name, set()).add(mode)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null",
                            "-e", "inject=pwrite64,write:delay_exit=20000",
                            RESETD_BIN, "backup", "--data-dir", data_dir, "--to", target],
                           capture_output=True, text=True, timeout=120,
                           preexec_fn=lambda: os.umask(0o022))
    finally:
        stop.set()
        t.join()
    assert r.returncode == 0, r
    assert "snap.db" in seen, seen
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    loose = {n: sorted(oct(m) for m in modes) for n, modes in seen.items() if any(m & 0o077 for m in modes)}
    assert not loose, "files readable by others while the backup ran: %r" % loose
    assert run_cli("check", "--data-dir", data_dir).returncode == 0


def _usernames(data_dir):
    r = run_cli("user", "list", "--data-dir", data_dir)
    assert r.returncode == 0, r
    return {line.split()[0] for line in r.stdout.splitlines()[1:] if line.strip()}


def test_data_dir_lock_keeps_restore_init_and_check_out_while_serve_runs(data_dir, workdir):
    """Issue 18 item 10: restore deleted the -wal/-shm of the database a running serve held
    open. serve, restore, init and check share the data dir's lock; the second is refused
    naming the holder, and nothing stored is lost."""
    snap = os.path.join(workdir, "before.db")
    assert run_cli("backup", "--data-dir", data_dir, "--to", snap).returncode == 0
    srv = Resetd(workdir)
    srv.data_dir = data_dir
    srv.start()
    try:
        admin = srv.admin()
        admin.create_user("lateuser", password=strong_password())  # stored after the snapshot
        pid = srv.proc.pid
        holder = "%s is in use by `resetd serve` (pid %d); stop it first" % (data_dir, pid)
        for args in (("restore", "--data-dir", data_dir, "--from", snap),
                     ("init", "--data-dir", data_dir, "--admin", "other", "--password-stdin"),
                     ("check", "--data-dir", data_dir)):
            r = run_cli(*args, stdin=strong_password() + "\n")
            assert r.returncode == 1, "%s beside a running serve: %r" % (args[0], r)
            assert holder in r.stderr, "%s: %r" % (args[0], r.stderr)
        # a second serve on another port is refused the same way
        other = subprocess.run([RESETD_BIN, "serve", "--data-dir", data_dir, "--listen",
                                "127.0.0.1:%d" % free_port(), "--no-tls"], capture_output=True, text=True,
                               timeout=30)
        assert other.returncode == 1 and holder in other.stderr, other
        # the service kept its data and keeps working; backup and the user commands run beside it
        assert srv.proc.poll() is None
        assert "lateuser" in {u["username"] for u in admin.all_users()["users"]}
        admin.create_user("lateruser", password=strong_password())
        assert run_cli("backup", "--data-dir", data_dir, "--to", os.path.join(workdir, "online.db")).returncode == 0
        assert {"lateuser", "lateruser"} <= _usernames(data_dir)
    finally:
        srv.stop()
    assert {"lateuser", "lateruser"} <= _usernames(data_dir), "a stored user was lost"
    assert run_cli("check", "--data-dir", data_dir).returncode == 0
    # once serve has stopped, restore works (and takes the data dir back to the snapshot)
    r = run_cli("restore", "--data-dir", data_dir, "--from", snap)
    assert r.returncode == 0, r
    assert "lateuser" not in _usernames(data_dir)
    assert run_cli("check", "--data-dir", data_dir).returncode == 0


def test_init_refused_by_the_policy_leaves_nothing_behind(workdir):
    """Issue 18 item 8: an init the policy refused left a database without users behind,
    and the next init said "already initialized"."""
    d = os.path.join(workdir, "fresh")
    r = run_cli("init", "--data-dir", d, "--admin", "admin", "--password-stdin", stdin="short\n")
    assert r.returncode == 2, r
    assert "policy" in r.stderr, r.stderr
    assert not os.path.exists(d), "a refused init left %r" % os.listdir(d)
    # in a data dir that exists already (the package makes it): nothing but the lock file
    os.mkdir(d, 0o700)
    r = run_cli("init", "--data-dir", d, "--admin", "admin", "--password-stdin", stdin="short\n")
    assert r.returncode == 2, r
    assert set(os.listdir(d)) <= {".lock"}, os.listdir(d)
    ok = run_cli("init", "--data-dir", d, "--admin", "admin", "--password-stdin", stdin=ADMIN_INITIAL_PW + "\n")
    assert ok.returncode == 0, ok
    assert _usernames(d) == {"admin"}


def test_init_gives_a_database_without_users_its_first_admin(workdir):
    """A database with no user (an older version's refused init) is not "already
    initialized": init creates the first admin in it, as serve's first start would."""
    import sqlite3
    d = os.path.join(workdir, "empty")
    assert run_cli("init", "--data-dir", d, "--admin", "admin", "--password-stdin",
                   stdin=ADMIN_INITIAL_PW + "\n").returncode == 0
    con = sqlite3.connect(os.path.join(d, "resetd.db"))
    con.execute("DELETE FROM users")
    con.commit()
    con.close()
    assert _usernames(d) == set()
    r = run_cli("init", "--data-dir", d, "--admin", "chief", "--password-stdin", stdin=ADMIN_INITIAL_PW + "\n")
    assert r.returncode == 0, r
    assert _usernames(d) == {"chief"}
    again = run_cli("init", "--data-dir", d, "--admin", "chief", "--password-stdin", stdin=ADMIN_INITIAL_PW + "\n")
    assert again.returncode == 1 and "already initialized" in again.stderr, again
