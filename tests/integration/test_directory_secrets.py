"""Issue 18 (items 2, 3 and 8) against a real slapd (slapd_lab.py): the
service account's password — and a staff member's at sign-in — never leaves
in clear nor for a destination it was not typed for, and "Test connection"
answers with a stable category, the server's own text kept for the audit.

Listeners that must never see a password record every byte they receive:
a plaintext one that even answers StartTLS with "success", and a TLS one with
the lab CA's certificate at an address resetd was never given the password for.
"""
import os
import socket
import ssl
import threading
import time

import pytest

from conftest import assert_error_json, free_port, wait_until
from slapd_lab import PEOPLE, SVC_PW, Slapd

HANA_PW = "Hana-Staff-Pw-77"
HELPDESK = "cn=helpdesk,ou=groups,dc=example,dc=test"


class Listener:
    """Accepts on 127.0.0.1 and records what each connection sends. mode:
    "plain" answers an LDAP StartTLS request with success (then keeps reading:
    a client that believed it would send its bind in clear); "silent" accepts
    and never answers; "tls" is an LDAPS server with the lab CA's certificate
    that answers nothing after the handshake."""

    def __init__(self, mode, cert=None, key=None):
        self.mode = mode
        self.data = bytearray()
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.ctx = None
        if mode == "tls":
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert, key)
        self.held = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(c)
            if self.mode != "silent":
                threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(15)
            if self.ctx:
                c = self.ctx.wrap_socket(c, server_side=True)
                self.held.append(c)
            while True:
                b = c.recv(65536)
                if not b:
                    return
                self.data += b
                if self.mode == "plain" and b"1.3.6.1.4.1.1466.20037" in b and b[:1] == b"\x30":
                    mid = b[2:4 + b[3]]  # INTEGER tag, length, value: the request's message id
                    body = b"\x0a\x01\x00\x04\x00\x04\x00"  # success, no DN, no message
                    op = b"\x78" + bytes([len(body)]) + body
                    msg = mid + op
                    c.sendall(b"\x30" + bytes([len(msg)]) + msg)
        except (OSError, ssl.SSLError, IndexError):
            return

    def saw(self, secret):
        return secret.encode() in bytes(self.data)

    def url(self, scheme):
        return "%s://127.0.0.1:%d/" % (scheme, self.port)

    def stop(self):
        self.stopped = True
        self.sock.close()
        for c in self.held:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def slapd(workdir):
    s = Slapd(workdir).start()
    yield s
    s.stop()


@pytest.fixture
def listeners():
    made = []

    def make(mode, **kw):
        made.append(Listener(mode, **kw))
        return made[-1]
    yield make
    for x in made:
        x.stop()


def closed_port():
    p = free_port()
    return p


def staff_dir(slapd, sink, make_resetd, extra=""):
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(
        extra=extra + '[directory.roles]\n"%s" = "helpdesk_admin"\n' % HELPDESK))
    admin = srv.admin()
    wait_until(lambda: "hana" in {u["username"] for u in admin.get("users?limit=200").json["users"]},
               timeout=20, what="hana synced")
    return srv, admin


def test_url_list_is_refused_and_no_password_reaches_a_plaintext_server(slapd, sink, make_resetd, listeners):
    """Item 2: `ldaps://dead/,ldap://x/` made libldap fall through to ldap://x
    without StartTLS; the service account's password, and staff passwords at
    sign-in, went there in clear."""
    fake = listeners("plain")
    srv, admin = staff_dir(slapd, sink, make_resetd)
    listed = "ldaps://127.0.0.1:%d/,%s" % (closed_port(), fake.url("ldap"))
    for body in ({"url": listed, "bind_password": SVC_PW},
                 {"url": "ldaps://127.0.0.1:%d/ %s" % (closed_port(), fake.url("ldap")), "bind_password": SVC_PW}):
        e = assert_error_json(admin.post("settings/directory/test", body), 422)
        assert e["field"] == "directory.url" and "failover_urls" in e["message"], e
        e = assert_error_json(admin.request("PUT", "settings/directory", body), 422)
        assert e["field"] == "directory.url", e
    assert admin.get("settings/directory").json["url"] == slapd.ldaps_url
    # a staff sign-in binds as the user: it still goes to the configured, trusted server only
    c = srv.client()
    c.must_sign_in("hana", HANA_PW)
    assert c.get("users").status == 200
    assert not fake.saw(SVC_PW) and not fake.saw(HANA_PW), bytes(fake.data)

    # the same list in the config file: resetd does not start, and says why
    bad = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(url=listed), start=False)
    bad.start(wait=False)
    bad.proc.wait(15)
    assert bad.proc.returncode != 0
    assert "directory.url" in bad.stderr() and "failover_urls" in bad.stderr(), bad.stderr()
    bad.proc = None
    assert fake.connections == 0 or not fake.saw(SVC_PW)


def test_failover_urls_are_tried_in_order_and_each_must_be_tls(slapd, sink, make_resetd, listeners):
    """Item 2: failover is a list key; every entry gets TLS (ldaps://, or
    ldap:// with StartTLS) verified before any password is sent, also through
    a server that claims StartTLS worked and one that is not TLS at all."""
    starttls_liar = listeners("plain")
    not_tls = listeners("plain")
    srv, admin = staff_dir(slapd, sink, make_resetd)
    cfg = {"url": "ldaps://127.0.0.1:%d/" % closed_port(),
           "failover_urls": [starttls_liar.url("ldap"), not_tls.url("ldaps"), slapd.ldaps_url],
           "bind_password": SVC_PW, "timeout_s": 3}
    r = admin.post("settings/directory/test", cfg)
    assert r.status == 200 and r.json["ok"] is True, r.json
    r = admin.request("PUT", "settings/directory", cfg)
    assert r.status == 200 and r.json["failover_urls"] == cfg["failover_urls"], r
    assert admin.get("settings/directory").json["failover_urls"] == cfg["failover_urls"]
    # sign-in and a sync go the same way: past the refusing, lying and plain servers
    c = srv.client()
    c.must_sign_in("hana", HANA_PW)
    assert c.get("users").status == 200
    r = admin.post("directory/sync")
    assert r.status == 200 and r.json["ok"] is True, r
    assert starttls_liar.connections >= 1 and not_tls.connections >= 1
    for fake in (starttls_liar, not_tls):
        assert not fake.saw(SVC_PW) and not fake.saw(HANA_PW), bytes(fake.data)
    # a list inside the list is refused like one in url
    e = assert_error_json(admin.request("PUT", "settings/directory", {
        "failover_urls": ["%s,%s" % (slapd.ldaps_url, not_tls.url("ldap"))], "bind_password": SVC_PW}), 422)
    assert e["field"] == "directory.failover_urls", e


def test_stored_password_does_not_follow_a_new_destination(slapd, sink, make_resetd, listeners):
    """Item 3: Test connection and PUT reused the sealed password when only
    url/ca_file changed; an LDAPS listener at a new address received it."""
    tls_dir = os.path.join(slapd.dir, "tls")
    thief = listeners("tls", cert=os.path.join(tls_dir, "server.pem"), key=os.path.join(tls_dir, "server.key"))
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml())
    admin = srv.admin()
    moved = {"url": thief.url("ldaps")}
    for change in (moved, {"url": thief.url("ldaps"), "ca_file": slapd.ca},
                   {"failover_urls": [thief.url("ldaps")]}, {"bind_dn": "cn=other,dc=example,dc=test"},
                   {"ca_file": slapd.wrong_ca}, {"kind": "ad"}):
        for method, path in (("POST", "settings/directory/test"), ("PUT", "settings/directory")):
            e = assert_error_json(admin.request(method, path, dict(change, timeout_s=2)), 422, "bind_password_required")
            assert e["field"] == "bind_password" and "again" in e["message"], (change, e)
    assert thief.connections == 0 and not thief.saw(SVC_PW)
    cur = admin.get("settings/directory").json
    assert cur["url"] == slapd.ldaps_url and cur["bind_password_set"] is True, cur
    # the same destination keeps it; a change elsewhere too
    r = admin.post("settings/directory/test", {"url": slapd.ldaps_url, "ca_file": slapd.ca})
    assert r.status == 200 and r.json["ok"] is True, r.json
    r = admin.request("PUT", "settings/directory", {"users_base": PEOPLE, "timeout_s": 4})
    assert r.status == 200 and r.json["bind_password_set"] is True, r
    # retyped in the same request: that password, and only it, goes to the new address
    r = admin.post("settings/directory/test", dict(moved, bind_password="Typed-For-The-New-One-1", timeout_s=2))
    assert r.status == 200 and r.json["ok"] is False, r.json
    wait_until(lambda: thief.saw("Typed-For-The-New-One-1"), timeout=5, what="the retyped password at the new server")
    assert not thief.saw(SVC_PW)
    text = admin.get("audit?limit=200").body.decode()
    assert SVC_PW not in text and "Typed-For-The-New-One-1" not in text


def test_test_connection_answers_with_a_category(slapd, sink, make_resetd, listeners):
    """Item 8: a stable category and no raw libldap text in the answer (any
    host:port can be typed there); the server's text is in the audit."""
    silent = listeners("silent")
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml())
    admin = srv.admin()

    def test(**body):
        if "url" in body or "ca_file" in body:
            body.setdefault("bind_password", SVC_PW)
        r = admin.post("settings/directory/test", body)
        assert r.status == 200, r
        return r.json

    cases = [
        ("refused", dict(url="ldaps://127.0.0.1:%d/" % closed_port())),
        ("name_not_found", dict(url="ldaps://no-such-host.invalid/")),
        ("timeout", dict(url=silent.url("ldaps"), timeout_s=1)),
        ("timeout", dict(url=silent.url("ldap"), timeout_s=1)),
        ("certificate_not_trusted", dict(url=slapd.ldaps_url, ca_file=slapd.wrong_ca)),
        ("certificate_not_trusted", dict(url=slapd.ldap_url, ca_file=slapd.wrong_ca)),
        ("tls_unavailable", dict(url="ldaps://127.0.0.1:%d/" % int(slapd.ldap_url.rsplit(":", 1)[1].strip("/")))),
        ("credentials_refused", dict(bind_password="Wrong-Service-Pw-1")),
        ("users_base_unreadable", dict(users_base="ou=nobody,dc=example,dc=test")),
    ]
    for want, body in cases:
        j = test(**body)
        assert j["ok"] is False and j["category"] == want, (want, body, j)
        assert set(j) == {"ok", "outcome", "category", "message"}, j
        for raw in ("Can't contact", "Connect error", "(-1)", "(-11)", "Invalid credentials", "(49)", "127.0.0.1"):
            assert raw not in j["message"], (want, j)
    j = test()
    assert j["ok"] is True and j["category"] == "ok", j
    # the directory's own words are kept for the audit only
    text = admin.get("audit?limit=200&action=directory_test").body.decode()
    assert "Invalid credentials (49)" in text and "credentials_refused" in text, text
    assert "Connect error (-11)" in text and "Wrong-Service-Pw-1" not in text


def test_no_password_reaches_a_server_it_was_not_typed_for_whatever_the_answer(slapd, sink, make_resetd, listeners):
    """Items 2 and 3 by their harm alone: whatever resetd answers (a refusal, or a failed
    test), the service account's password never arrives at the plaintext server behind a
    URL list, nor at a new LDAPS address when only the URL was changed."""
    plain = listeners("plain")
    tls_dir = os.path.join(slapd.dir, "tls")
    thief = listeners("tls", cert=os.path.join(tls_dir, "server.pem"), key=os.path.join(tls_dir, "server.key"))
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml())
    admin = srv.admin()
    listed = {"url": "ldaps://127.0.0.1:%d/,%s" % (closed_port(), plain.url("ldap")), "bind_password": SVC_PW,
              "timeout_s": 2}
    moved = {"url": thief.url("ldaps"), "timeout_s": 2}
    for body in (listed, moved):
        admin.post("settings/directory/test", body)
    # a bind still on its way when the answer came gets 3 s to arrive
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not (plain.saw(SVC_PW) or thief.saw(SVC_PW)):
        time.sleep(0.1)
    leaks = [what for what, to in (("in clear to the second URL of a list", plain),
                                   ("to the new URL it was not retyped for", thief)) if to.saw(SVC_PW)]
    assert not leaks, "the bind password went " + "; ".join(leaks)
