"""Issue 18 item 1 (and the bounded wait of item 7): the PAM guide's stack, copied from
docs/pam.md (between `<!-- test:pam-stack -->` and the end of its fenced block) into a real
/etc/pam.d/<random> file, driven by the real `pamtester` against real OS accounts.

The test makes its own OS accounts (useradd; a person's account, a `useradd -r` system
account, a resetd user in the guide's group) with real OS passwords (chpasswd), and the
group `resetd-users` when it is missing; it removes all of them, and its PAM files,
afterwards. Root's OS password is never touched: root is only tried with a resetd password.
Runs as root (CI and the Debian chroot do)."""
import grp
import os
import pwd
import re
import secrets
import signal
import subprocess
import time

import pytest

from conftest import REPO, RESETD_BIN, strong_password
from test_pam import PAMTESTER, SOCKET_GROUP, audit_rows

GROUP = "resetd-users"  # the guide's group; the test checks the guide names it
GUIDE = "docs/pam.md"  # where the stack is documented, read as written


def readme_block(marker):
    with open(os.path.join(REPO, GUIDE), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- test:%s -->\s*```[a-z]*\n(.*?)```" % re.escape(marker), text, re.S)
    assert m, "%s has no <!-- test:%s --> block" % (GUIDE, marker)
    return m.group(1)


def run(*args, stdin=None):
    r = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def pamtester(service, user, password):
    """pamtester authenticate with one typed password: pam_exec asks for it and sets
    PAM_AUTHTOK, so common-auth's pam_unix checks the same one without asking again.
    Returns (ok, output, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run([PAMTESTER, "-v", service, user, "authenticate"], input=password + "\n",
                       capture_output=True, text=True, timeout=120)
    return r.returncode == 0, r.stdout + r.stderr, time.monotonic() - t0


class OsAccounts:
    """Throwaway OS accounts and the group; removed in cleanup()."""

    def __init__(self):
        self.users = []
        self.made_group = False

    def group(self):
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            run("groupadd", GROUP)
            self.made_group = True

    def add(self, prefix, password, system=False, in_group=False):
        name = prefix + secrets.token_hex(3)
        run(*(["useradd", "-M", "-s", "/usr/sbin/nologin"] + (["-r"] if system else []) +
              (["-G", GROUP] if in_group else []) + [name]))
        self.users.append(name)
        run("chpasswd", stdin="%s:%s\n" % (name, password))
        return name

    def cleanup(self):
        for u in self.users:
            subprocess.run(["userdel", u], capture_output=True, timeout=60)
        if self.made_group:
            subprocess.run(["groupdel", GROUP], capture_output=True, timeout=60)


@pytest.fixture
def stack(make_resetd, workdir):
    """A resetd with [pam] on and resetd accounts for root, a system account and a member
    of the group (the first two made while [pam] was still off, as an older install could
    have them); PAM services: the guide's stack and the bare pam_exec line."""
    block = readme_block("pam-stack")
    assert "ingroup %s" % GROUP in block and "@include common-auth" in block, block
    os_acc = OsAccounts()
    files = []
    srv = None
    try:
        os_acc.group()
        pw = {k: strong_password() for k in ("os_only", "sys_os", "member_os", "root_rd", "sys_rd", "member_rd")}
        os_only = os_acc.add("rdo", pw["os_only"])
        sys_acct = os_acc.add("rds", pw["sys_os"], system=True, in_group=True)
        member = os_acc.add("rdu", pw["member_os"], in_group=True)
        assert pwd.getpwnam(sys_acct).pw_uid < 1000 <= pwd.getpwnam(member).pw_uid

        srv = make_resetd()
        admin = srv.admin()
        admin.create_user("root", password=pw["root_rd"])
        admin.create_user(sys_acct, password=pw["sys_rd"])
        admin.create_user(member, password=pw["member_rd"])
        srv.stop()
        sock = os.path.join(workdir, "run", "auth.sock")
        srv.extra_toml = '[pam]\nenabled = true\nsocket = "%s"\ngroup = "%s"\n' % (sock, SOCKET_GROUP)
        srv.write_config()
        srv.start()

        def service_file(text):
            name = "resetd-it-" + secrets.token_hex(4)
            path = os.path.join("/etc/pam.d", name)
            assert not os.path.exists(path)
            files.append(path)
            with open(path, "w") as f:
                f.write(text)
            return name
        readme = service_file(block.replace("/usr/bin/resetd", RESETD_BIN).replace("/run/resetd/auth.sock", sock))
        bare = service_file("auth required pam_exec.so expose_authtok stdout quiet %s auth-check --socket %s\n"
                            % (RESETD_BIN, sock))
        yield dict(srv=srv, readme=readme, bare=bare, pw=pw, os_only=os_only, sys_acct=sys_acct, member=member)
    finally:
        if srv is not None and srv.proc is not None:
            srv.proc.send_signal(signal.SIGCONT)
        for f in files:
            os.unlink(f)
        os_acc.cleanup()


def test_readme_stack_keeps_os_accounts_and_never_vouches_for_root_or_system_accounts(stack):
    s = stack
    pw = s["pw"]
    # an OS-only account signs in with its OS password, not with anything else
    ok, out, _ = pamtester(s["readme"], s["os_only"], pw["os_only"])
    assert ok, out
    ok, out, _ = pamtester(s["readme"], s["os_only"], pw["member_rd"])
    assert not ok, out
    # root with the password a resetd admin chose: no, in the guide's stack and in the bare
    # pam_exec line alike (the service itself refuses uid 0)
    ok, out, _ = pamtester(s["readme"], "root", pw["root_rd"])
    assert not ok, out
    ok, out, _ = pamtester(s["bare"], "root", pw["root_rd"])
    assert not ok and "does not check passwords of this system account" in out, out
    # a system account (uid < 1000), even inside the group: resetd says no, the OS decides
    ok, out, _ = pamtester(s["readme"], s["sys_acct"], pw["sys_rd"])
    assert not ok, out
    ok, out, _ = pamtester(s["bare"], s["sys_acct"], pw["sys_rd"])
    assert not ok, out
    ok, out, _ = pamtester(s["readme"], s["sys_acct"], pw["sys_os"])
    assert ok, out
    # the group's member signs in with the resetd password; its OS password still works
    ok, out, _ = pamtester(s["readme"], s["member"], pw["member_rd"])
    assert ok, out
    ok, out, _ = pamtester(s["readme"], s["member"], pw["member_os"])
    assert ok, out
    # PAM's name is matched exactly: the upper-cased name is no resetd user
    ok, out, _ = pamtester(s["bare"], s["member"].upper(), pw["member_rd"])
    assert not ok, out

    rows = audit_rows(s["srv"].admin(), "root") + audit_rows(s["srv"].admin(), s["sys_acct"])
    refused = [e for e in rows if e["outcome"] == "failed" and e["detail"].startswith("reserved by the OS")]
    assert len(refused) == 4, rows  # root once (bare), the system account three times
    assert not [e for e in rows if e["outcome"] == "ok"], rows


def test_readme_stack_falls_back_to_the_os_when_resetd_is_down_or_frozen(stack):
    s = stack
    pw = s["pw"]
    srv = s["srv"]
    # frozen (SIGSTOP): auth-check gives up after its default timeout (5 s) and the OS decides
    srv.proc.send_signal(signal.SIGSTOP)
    try:
        ok, out, took = pamtester(s["readme"], s["member"], pw["member_os"])
        assert ok and took < 12, (took, out)
        ok, out, took = pamtester(s["readme"], s["member"], pw["member_rd"])
        assert not ok and took < 12, (took, out)
        ok, out, took = pamtester(s["readme"], s["os_only"], pw["os_only"])
        assert ok and took < 5, (took, out)  # never asks resetd
    finally:
        srv.proc.send_signal(signal.SIGCONT)
    # stopped: the socket is gone, the OS decides at once
    srv.stop()
    ok, out, _ = pamtester(s["readme"], s["os_only"], pw["os_only"])
    assert ok, out
    ok, out, took = pamtester(s["readme"], s["member"], pw["member_os"])
    assert ok and took < 5, (took, out)
    ok, out, _ = pamtester(s["readme"], s["member"], pw["member_rd"])
    assert not ok, out


def test_allow_system_accounts_lets_resetd_vouch_for_a_listed_system_account(stack):
    s = stack
    srv = s["srv"]
    ok, out, _ = pamtester(s["bare"], s["sys_acct"], s["pw"]["sys_rd"])
    assert not ok, out
    srv.stop()
    srv.extra_toml += 'allow_system_accounts = ["%s"]\n' % s["sys_acct"]
    srv.write_config()
    srv.start()
    ok, out, _ = pamtester(s["bare"], s["sys_acct"], s["pw"]["sys_rd"])
    assert ok, out
    ok, out, _ = pamtester(s["bare"], "root", s["pw"]["root_rd"])  # uid 0 stays refused
    assert not ok, out


def test_readme_stack_ignores_a_resetd_password_of_an_os_account_outside_the_group(stack):
    """Issue 18 item 1, the helpdesk path: a helpdesk admin resets the password of a resetd
    "user" whose name is an OS account (uid >= UID_MIN, so not refused by the uid guard; an
    OS administrator, say) that is not in the guide's group. Through the guide's stack that
    password must not sign the OS account in; its own OS password still does."""
    s = stack
    srv = s["srv"]
    admin = srv.admin()
    os_only = s["os_only"]
    assert os_only not in [m for m in grp.getgrnam(GROUP).gr_mem]
    uid = admin.create_user(os_only, password=strong_password()).json["user"]["id"]
    hd_pw = strong_password()
    admin.create_user("hd." + os_only, role="helpdesk_admin", password=hd_pw)
    hd = srv.client()
    hd.must_sign_in("hd." + os_only, hd_pw)
    chosen = strong_password()
    r = hd.reset(uid, mode="manual", password=chosen, require_change=False, notify=[], notify_user=False)
    assert r.status == 200, r
    srv.client().must_sign_in(os_only, chosen)  # the reset took: resetd would say yes
    ok, out, _ = pamtester(s["readme"], os_only, chosen)
    assert not ok, out
    ok, out, _ = pamtester(s["readme"], os_only, s["pw"]["os_only"])
    assert ok, out
