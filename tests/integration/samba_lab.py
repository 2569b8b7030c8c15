"""A throwaway Samba AD DC for the directory tests (recipe from the lab notes, copied
here). Samba's LDAP ports are fixed (389/636), so the CTest entry runs the tests in a
private network namespace (`unshare -n`, loopback only). Needs root."""
import os
import shutil
import subprocess

from conftest import wait_until
from slapd_lab import make_tls

REALM = "EXAMPLE.TEST"
BASE = "DC=example,DC=test"
USERS = "CN=Users," + BASE
ADMIN_PW = "Admin-Pass-123!"
SVC_UPN = "resetd@example.test"
SVC_PW = "Resetd-Pw-123!"
LDAPS = "ldaps://127.0.0.1:636/"
LDAP = "ldap://127.0.0.1:389/"


def dn(cn):
    return "CN=%s,%s" % (cn, USERS)


class SambaDC:
    def __init__(self, base_dir):
        self.dir = os.path.join(base_dir, "ad")
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "etc", "smb.conf")
        self.proc = None

    def tool(self, *args, check=True):
        r = subprocess.run(["samba-tool"] + list(args) + ["-s", self.conf], capture_output=True, text=True,
                           timeout=120)
        if check:
            assert r.returncode == 0, "samba-tool %s: %s %s" % (args[:2], r.stdout, r.stderr)
        return r

    def provision(self):
        empty = os.path.join(self.dir, "empty.conf")
        open(empty, "w").close()
        r = subprocess.run(["samba-tool", "domain", "provision", "-s", empty, "--targetdir=" + self.dir,
                            "--realm=" + REALM, "--domain=EXAMPLE", "--server-role=dc", "--dns-backend=NONE",
                            "--adminpass=" + ADMIN_PW, "--use-rfc2307", "--option=interfaces=lo",
                            "--option=bind interfaces only=yes", "--option=server services=ldap",
                            "--option=dns forwarder=127.0.0.1"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        t = os.path.join(self.dir, "tls")
        make_tls(t)
        self.ca = os.path.join(t, "ca.pem")
        self.wrong_ca = os.path.join(t, "wrongca.pem")
        pt = os.path.join(self.dir, "private", "tls")
        os.makedirs(pt, exist_ok=True)
        shutil.copy(self.ca, os.path.join(pt, "ca.pem"))
        shutil.copy(os.path.join(t, "server.pem"), os.path.join(pt, "cert.pem"))
        shutil.copy(os.path.join(t, "server.key"), os.path.join(pt, "key.pem"))
        os.chmod(os.path.join(pt, "key.pem"), 0o600)
        return self

    def start(self):
        self.proc = subprocess.Popen(["samba", "-i", "-M", "single", "-s", self.conf],
                                     stdout=open(os.path.join(self.dir, "samba.log"), "ab"),
                                     stderr=subprocess.STDOUT)
        wait_until(lambda: self.search_base().returncode == 0, timeout=90, interval=0.3, what="samba ldaps")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def env(self):
        e = dict(os.environ)
        e["LDAPTLS_CACERT"] = self.ca
        e["LDAPTLS_REQCERT"] = "demand"
        return e

    def search_base(self, who=None, pw=None):
        args = ["ldapsearch", "-x", "-H", LDAPS, "-s", "base", "-b", "", "dn"]
        if who:
            args += ["-D", who, "-w", pw]
        return subprocess.run(args, capture_output=True, text=True, env=self.env(), timeout=60)

    def bind(self, upn, pw):
        """A simple bind as the user (no WhoAmI exop on Samba): (rc, output)."""
        r = self.search_base(upn, pw)
        return r.returncode, r.stdout + r.stderr

    def setup(self):
        self.tool("user", "create", "ayse", "Ayse-Init-123!", "--use-username-as-cn", "--given-name=Ayse",
                  "--surname=Yilmaz", "--mail-address=ayse@example.test")
        self.tool("user", "create", "resetd", SVC_PW, "--use-username-as-cn")
        self.tool("domain", "passwordsettings", "set", "--min-pwd-age=0", "--account-lockout-threshold=3")
        out = self.tool("user", "show", "resetd", "--attributes=objectSid").stdout
        sid = [l.split()[1] for l in out.splitlines() if l.startswith("objectSid:")][0]
        u = "bf967aba-0de6-11d0-a285-00aa003049e2"
        self.tool("dsacl", "set", "--objectdn=" + USERS, "--sddl=" +
                  "(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;%s;%s)" % (u, sid) +
                  "(OA;CIIO;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;%s;%s)" % (u, sid) +
                  "(OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;%s;%s)" % (u, sid))
        return self

    def toml(self, password=SVC_PW, url=LDAPS):
        return ('[directory]\nkind = "ad"\nurl = "%s"\nca_file = "%s"\nbind_dn = "%s"\n'
                'bind_password = "%s"\nusers_base = "%s"\ntimeout_s = 10\n' % (url, self.ca, SVC_UPN, password, USERS))
