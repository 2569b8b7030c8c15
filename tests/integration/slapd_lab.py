"""A throwaway OpenLDAP slapd for the directory tests (recipe from the lab notes,
copied here so CI runs nothing from outside the tree).

slapd 2.5 from Debian with a cn=config built by slapadd: ppolicy (pwdReset,
history, lockout after 3 failures), {ARGON2} hashing, TLS with a test CA on two
free 127.0.0.1 ports (ldap:// for StartTLS and ldaps://). The service account
resetd resetd uses, cn=resetd-w, has `write` on userPassword (so the directory's
own policy applies) and `manage` on the ppolicy state attributes. Runs as the
test's child; stopped by PID; everything lives in a temp dir.
"""
import os
import shutil
import signal
import subprocess
import time

from conftest import free_port, wait_until

BASE = "dc=example,dc=test"
ADMIN_DN = "cn=admin," + BASE
ADMIN_PW = "AdminPw-1"
SVC_DN = "cn=resetd-w,ou=services," + BASE
SVC_PW = "ResetdWPw-1"
PEOPLE = "ou=people," + BASE
HELPDESK_GROUP = "cn=helpdesk,ou=groups," + BASE


def dn(uid):
    return "uid=%s,%s" % (uid, PEOPLE)


def make_tls(t):
    os.makedirs(t, exist_ok=True)
    q = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", t + "/ca.key",
                    "-out", t + "/ca.pem", "-days", "2", "-subj", "/CN=resetd Test CA"], **q)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", t + "/server.key",
                    "-out", t + "/server.csr", "-subj", "/CN=localhost"], **q)
    with open(t + "/ext.cnf", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", t + "/server.csr", "-CA", t + "/ca.pem", "-CAkey",
                    t + "/ca.key", "-CAcreateserial", "-out", t + "/server.pem", "-days", "2",
                    "-extfile", t + "/ext.cnf"], **q)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", t + "/wrongca.key",
                    "-out", t + "/wrongca.pem", "-days", "2", "-subj", "/CN=Wrong CA"], **q)
    for k in ("ca.key", "server.key", "wrongca.key"):
        os.chmod(os.path.join(t, k), 0o600)


CONFIG = """dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {D}/slapd.pid
olcArgsFile: {D}/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: {D}/tls/ca.pem
olcTLSCertificateFile: {D}/tls/server.pem
olcTLSCertificateKeyFile: {D}/tls/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {{0}}back_mdb
olcModuleLoad: {{1}}ppolicy
olcModuleLoad: {{2}}argon2

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/nis.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcPasswordHash: {{ARGON2}}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {B}
olcDbDirectory: {D}/db
olcDbMaxSize: 268435456
olcRootDN: {ADM}
olcRootPW: {ADMPW}
olcLimits: {{0}}dn.exact="{RW}" size=unlimited size.pr=unlimited size.prtotal=unlimited
olcAccess: {{0}}to dn.subtree="ou=people,{B}" attrs=userPassword by dn.exact="{RW}" write by self write by anonymous auth by * none
olcAccess: {{1}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{2}}to dn.subtree="ou=people,{B}" attrs=pwdReset,pwdAccountLockedTime,pwdFailureTime by dn.exact="{RW}" manage by self read by * none
olcAccess: {{3}}to * by self read by users read by * none

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: cn=default,ou=policies,{B}
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"""

DATA = """dn: {B}
objectClass: dcObject
objectClass: organization
dc: example
o: Example Test

dn: ou=people,{B}
objectClass: organizationalUnit
ou: people

dn: ou=services,{B}
objectClass: organizationalUnit
ou: services

dn: ou=policies,{B}
objectClass: organizationalUnit
ou: policies

dn: ou=groups,{B}
objectClass: organizationalUnit
ou: groups

dn: cn=default,ou=policies,{B}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 8
pwdCheckQuality: 2
pwdMustChange: TRUE
pwdAllowUserChange: TRUE
pwdSafeModify: FALSE
pwdInHistory: 3
pwdLockout: TRUE
pwdMaxFailure: 3
pwdLockoutDuration: 0

dn: {RW}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: resetd-w
userPassword: {RWPW}

dn: uid=ayse,ou=people,{B}
objectClass: inetOrgPerson
uid: ayse
cn: Ayşe Yılmaz
sn: Yilmaz
mail: ayse@example.test
preferredLanguage: tr
userPassword: AyseInit-1

dn: uid=bob,ou=people,{B}
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@example.test
userPassword: BobInit-11

dn: uid=hana,ou=people,{B}
objectClass: inetOrgPerson
uid: hana
cn: Hana Helpdesk
sn: Helpdesk
mail: hana@example.test
userPassword: Hana-Staff-Pw-77

dn: cn=helpdesk,ou=groups,{B}
objectClass: groupOfNames
cn: helpdesk
member: uid=hana,ou=people,{B}
"""


class Slapd:
    def __init__(self, base_dir):
        self.dir = os.path.join(base_dir, "slapd")
        os.makedirs(os.path.join(self.dir, "db"))
        os.makedirs(os.path.join(self.dir, "slapd.d"))
        make_tls(os.path.join(self.dir, "tls"))
        self.ca = os.path.join(self.dir, "tls", "ca.pem")
        self.wrong_ca = os.path.join(self.dir, "tls", "wrongca.pem")
        fmt = dict(D=self.dir, B=BASE, ADM=ADMIN_DN, ADMPW=ADMIN_PW, RW=SVC_DN, RWPW=SVC_PW)
        with open(os.path.join(self.dir, "config.ldif"), "w") as f:
            f.write(CONFIG.format(**fmt))
        with open(os.path.join(self.dir, "data.ldif"), "w") as f:
            f.write(DATA.format(**fmt))
        subprocess.run(["slapadd", "-n0", "-F", self.dir + "/slapd.d", "-l", self.dir + "/config.ldif"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.p1 = free_port()
        self.p2 = free_port()
        self.ldap_url = "ldap://127.0.0.1:%d/" % self.p1
        self.ldaps_url = "ldaps://127.0.0.1:%d/" % self.p2
        self.proc = None

    def env(self, ca=None):
        e = dict(os.environ)
        e["LDAPTLS_CACERT"] = ca or self.ca
        e["LDAPTLS_REQCERT"] = "demand"
        return e

    def start(self, load=True):
        self.proc = subprocess.Popen(["slapd", "-d", "0", "-h", "%s %s" % (self.ldap_url, self.ldaps_url),
                                      "-F", self.dir + "/slapd.d"],
                                     stdout=open(self.dir + "/slapd.log", "ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: subprocess.run(["ldapsearch", "-x", "-H", self.ldap_url, "-s", "base", "-b", "",
                                           "namingContexts"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL).returncode == 0,
                   timeout=20, what="slapd answering")
        if load:
            self.ldapadd(open(self.dir + "/data.ldif").read())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def run(self, *args, input=None, ca=None):
        return subprocess.run(list(args), input=input, capture_output=True, text=True, env=self.env(ca), timeout=60)

    def ldapadd(self, ldif):
        r = self.run("ldapadd", "-x", "-H", self.ldaps_url, "-D", ADMIN_DN, "-w", ADMIN_PW, input=ldif)
        assert r.returncode == 0, r.stderr
        return r

    def ldapmodify(self, ldif):
        return self.run("ldapmodify", "-x", "-H", self.ldaps_url, "-D", ADMIN_DN, "-w", ADMIN_PW, input=ldif)

    def ldapdelete(self, target):
        r = self.run("ldapdelete", "-x", "-H", self.ldaps_url, "-D", ADMIN_DN, "-w", ADMIN_PW, target)
        assert r.returncode == 0, r.stderr

    def whoami(self, uid, password):
        """ldapwhoami -e ppolicy as the user: stdout+stderr and the exit code."""
        r = self.run("ldapwhoami", "-x", "-H", self.ldaps_url, "-e", "ppolicy", "-D", dn(uid), "-w", password)
        return r.returncode, r.stdout + r.stderr

    def attr(self, uid, name):
        r = self.run("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", self.ldaps_url, "-D", ADMIN_DN,
                     "-w", ADMIN_PW, "-b", dn(uid), "-s", "base", name)
        return r.stdout

    def toml(self, url=None, ca=None, extra=""):
        return ('[directory]\nkind = "ldap"\nurl = "%s"\nca_file = "%s"\nbind_dn = "%s"\n'
                'bind_password = "%s"\nusers_base = "%s"\nlocale_attribute = "preferredLanguage"\n'
                'timeout_s = 5\n%s' % (url or self.ldaps_url, ca or self.ca, SVC_DN, SVC_PW, PEOPLE, extra))
