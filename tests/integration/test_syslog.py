"""Issue 22 item 5: the audit in the site's syslog. With [audit] syslog = true each
committed audit row also goes out as an RFC 5424 message with structured data. A real
rsyslogd (run as nobody, its own config in a temp dir) takes it on the socket that
docs/syslog.md sets up, with the rsyslog lines copied out of docs/syslog.md itself
(between `<!-- test:rsyslog-audit -->` and the end of its fenced block), keeps it in a
file and forwards it over TLS to a second rsyslogd, whose file must show every audit
row's fields parsed as RFC 5424 (APP-NAME, MSGID, structured data) and no secret.
syslog down: requests go on, resetd says it drops, and sending resumes."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import ADMIN_INITIAL_PW, ADMIN_PW, REPO, free_port, port_open, run_cli, strong_password, wait_until
from sitekit import audit, sign_in_as

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
NOBODY = 65534
SD = re.compile(r'\[resetd@32473((?: [a-z]+="(?:[^"\\\]]|\\.)*")*)\]')
LINE = re.compile(r'^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[.*)$')
PARAM = re.compile(r' ([a-z]+)="((?:[^"\\\]]|\\.)*)"')


def doc_block():
    text = open(os.path.join(REPO, "docs", "syslog.md"), encoding="utf-8").read()
    assert "<!-- test:rsyslog-audit -->" in text, "docs/syslog.md lost its test marker"
    after = text.split("<!-- test:rsyslog-audit -->", 1)[1]
    m = re.match(r"\s*```[^\n]*\n(.*?)\n```", after, re.S)
    assert m, "no fenced block after the marker in docs/syslog.md"
    return m.group(1)


class Rsyslogd:
    """One rsyslogd in the foreground with its own config, as nobody when we are root."""

    def __init__(self, base, name, conf_text):
        self.dir = os.path.join(base, name)
        os.makedirs(os.path.join(self.dir, "work"))
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write('global(workDirectory="%s")\n' % os.path.join(self.dir, "work") + conf_text)
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.out = os.path.join(self.dir, "rsyslogd.out")
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(self.dir):
                for p in [root] + [os.path.join(root, x) for x in files]:
                    os.chown(p, NOBODY, NOBODY)
        self.proc = None

    def start(self):
        cmd = [RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + cmd
        check = subprocess.run(cmd[:-4] + ["-N1", "-f", self.conf], capture_output=True, text=True)
        assert check.returncode == 0, "rsyslogd refuses %s:\n%s%s" % (self.conf, check.stdout, check.stderr)
        self.proc = subprocess.Popen(cmd, stdout=open(self.out, "ab"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def parse(line):
    m = LINE.match(line)
    assert m, "not an RFC 5424 line (rsyslog did not parse it as one): %r" % line
    pri, ts, host, app, procid, msgid, rest = m.groups()
    sd = SD.match(rest)
    assert sd, "no resetd@32473 structured data in %r" % line
    params = {k: re.sub(r"\\(.)", r"\1", v) for k, v in PARAM.findall(sd.group(1))}
    return {"pri": int(pri), "ts": ts, "host": host, "app": app, "procid": procid, "msgid": msgid,
            "params": params, "msg": rest[sd.end():].strip()}


def make_certs(d):
    """A site CA and the log host's certificate for loghost.example, signed by it."""
    def ossl(*args):
        r = subprocess.run(["openssl"] + list(args), cwd=d, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
         "-out", "ca.pem", "-days", "2", "-subj", "/CN=resetd test site CA")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "host.key",
         "-out", "host.csr", "-subj", "/CN=loghost.example")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:loghost.example\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "host.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "host.pem", "-days", "2", "-extfile", "ext")
    return [os.path.join(d, x) for x in ("ca.pem", "host.pem", "host.key")]


@pytest.fixture
def rsyslog_pair(workdir):
    """(socket path, local file, remote file, sender): the doc's rsyslog lines forwarding
    over TLS to a receiver that shows the certificate of loghost.example."""
    base = os.path.join(workdir, "syslog")
    os.makedirs(base)
    ca, cert, key = make_certs(base)
    if os.geteuid() == 0:
        for p in (base, ca, cert, key):
            os.chown(p, NOBODY, NOBODY)
    sock = os.path.join(base, "run", "resetd-audit.sock")  # CreatePath makes run/
    local = os.path.join(base, "local.log")
    remote = os.path.join(base, "remote.log")
    port = free_port()
    block = doc_block()
    swaps = {'"/run/resetd-audit.sock"': '"%s"' % sock, '"/var/log/resetd-audit.log"': '"%s"' % local,
             '"/etc/ssl/certs/site-ca.pem"': '"%s"' % ca,
             # only where to connect: the certificate must still name loghost.example
             'Target="loghost.example"': 'Target="127.0.0.1"', 'Port="6514"': 'Port="%d"' % port}
    for old, new in swaps.items():
        assert old in block, "docs/syslog.md's rsyslog lines no longer hold %s" % old
        block = block.replace(old, new)
    receiver = Rsyslogd(base, "receiver", (
        'global(DefaultNetstreamDriverCAFile="%s" DefaultNetstreamDriverCertFile="%s" '
        'DefaultNetstreamDriverKeyFile="%s")\n'
        'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")\n'
        'input(type="imtcp" address="127.0.0.1" port="%d" ruleset="in")\n'
        'ruleset(name="in") { action(type="omfile" file="%s" template="RSYSLOG_SyslogProtocol23Format") }\n')
        % (ca, cert, key, port, remote)).start()
    # the sender: nothing but the doc's lines (its own system socket off)
    sender = Rsyslogd(base, "sender", 'module(load="imuxsock" SysSock.Use="off")\n' + block + "\n")
    try:
        wait_until(lambda: port_open(port), timeout=15, what="receiving rsyslogd on :%d" % port)
        sender.start()
        wait_until(lambda: os.path.exists(sock), timeout=15, what="rsyslogd's socket %s" % sock)
        yield sock, local, remote, sender
    finally:
        sender.stop()
        receiver.stop()


def audit_toml(sock):
    return ('[audit]\nsyslog = true\nsyslog_facility = "local3"\nsyslog_app_name = "resetd-it"\n'
            'syslog_socket = "%s"\n' % sock)


def test_each_audit_row_arrives_forwarded_with_its_fields_and_no_secret(sink, make_resetd, rsyslog_pair):
    sock, local, remote, _ = rsyslog_pair
    srv = make_resetd(relay_port=sink.port, extra_toml=audit_toml(sock))
    admin = srv.admin()
    wrong = "Wrong-" + strong_password("nope")
    assert sign_in_as(srv, "admin", wrong, source="127.0.0.77")[1].status == 401
    pw = strong_password("sys")
    uid = admin.create_user("sys-user", password=pw).json["user"]["id"]
    r = admin.reset(uid, notify=["sys.home@example.net"], notify_user=False)
    assert r.status == 200, r
    temp = r.json["password"]
    assert sign_in_as(srv, "sys-user", temp, source="127.0.0.78")[1].status == 200

    entries = [e for e in audit(admin, limit=200) if e["actor"] != "console"]  # init ran without --config
    assert any(e["action"] == "password_reset" for e in entries), entries
    want = sorted((e["actor"], e["action"], e["target"], e["client"], e["outcome"], e["detail"]) for e in entries)

    def arrived():
        got = [parse(l) for l in lines(remote)]
        have = sorted((p["params"].get("actor"), p["params"].get("action"), p["params"].get("target"),
                       p["params"].get("client"), p["params"].get("outcome"), p["params"].get("detail"))
                      for p in got)
        return all(w in have for w in want)
    wait_until(arrived, timeout=20, what="every audit row at the receiving rsyslogd")

    got = [parse(l) for l in lines(remote)]
    for p in got:
        assert p["app"] == "resetd-it" and p["procid"] == str(srv.proc.pid), p
        assert p["msgid"] == p["params"]["action"], p
        assert set(p["params"]) == {"actor", "action", "target", "client", "outcome", "detail"}, p
        # local3 = 19: info for ok, warning otherwise; the audit row's own time, in UTC
        assert p["pri"] == 19 * 8 + (6 if p["params"]["outcome"] == "ok" else 4), p
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", p["ts"]), p
    failed = [p for p in got if p["msgid"] == "sign_in" and p["params"]["client"] == "127.0.0.77"]
    assert failed and failed[0]["params"]["outcome"] == "failed", got
    # kept locally by the first rsyslogd, the same lines it forwarded
    assert sorted(lines(local)) == sorted(lines(remote))
    for path in (local, remote):
        text = open(path, encoding="utf-8", errors="replace").read()
        for secret in (wrong, pw, temp, ADMIN_PW, ADMIN_INITIAL_PW):
            assert secret not in text, "a password reached syslog (%s)" % path


def test_syslog_down_requests_go_on_drops_said_and_sending_resumes(make_resetd, rsyslog_pair):
    sock, local, remote, sender = rsyslog_pair
    srv = make_resetd(extra_toml=audit_toml(sock))
    admin = srv.admin()
    wait_until(lambda: any('action="sign_in"' in l for l in lines(remote)), timeout=20, what="first row")
    sender.stop()
    if os.path.exists(sock):
        os.unlink(sock)
    t = time.monotonic()
    for i in range(5):
        assert sign_in_as(srv, "admin", ADMIN_PW, source="127.0.0.%d" % (90 + i))[1].status == 200
    assert time.monotonic() - t < 10
    assert admin.get("users").status == 200
    wait_until(lambda: "audit: syslog: cannot send to " + sock in srv.stderr(), timeout=5, what="drop said")
    sender.start()
    wait_until(lambda: os.path.exists(sock), timeout=15, what="rsyslogd's socket again")
    assert sign_in_as(srv, "admin", ADMIN_PW, source="127.0.0.99")[1].status == 200
    wait_until(lambda: any('client="127.0.0.99"' in l for l in lines(remote)), timeout=20,
               what="a row after syslog came back")
    assert "works again; 5 audit message(s) dropped so far" in srv.stderr()
    assert not any('client="127.0.0.9%d"' % i in l for i in range(5) for l in lines(remote))



def test_console_command_sends_its_audit_row_too(workdir):
    sock = os.path.join(workdir, "console.sock")
    conf = os.path.join(workdir, "console.toml")
    with open(conf, "w") as f:
        f.write(audit_toml(sock))
    data = os.path.join(workdir, "cdata")
    r = run_cli("init", "--data-dir", data, "--admin", "admin", "--password-stdin", stdin=ADMIN_INITIAL_PW + "\n")
    assert r.returncode == 0, r
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock)
    s.settimeout(10)
    try:
        pw = strong_password("cons")
        r = run_cli("user", "add", "--config", conf, "--data-dir", data, "--username", "cons-user",
                    "--email", "cons@example.org", "--password-stdin", stdin=pw + "\n")
        assert r.returncode == 0, r
        p = parse(s.recv(4096).decode())
    finally:
        s.close()
    assert p["app"] == "resetd-it" and p["msgid"] == "user_create", p
    assert p["params"]["actor"] == "console" and p["params"]["target"] == "cons-user", p
    assert pw not in str(p)
