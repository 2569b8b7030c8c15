"""Issue 23 item 1: security keys (WebAuthn, ES256) as a second factor beside TOTP.

The key is softkey.SoftKey (Python `cryptography`); the server checks it with
libfido2. The pages are "opened" on the host name resetd.test (Host header): a
browser refuses WebAuthn on an IP address, and so does resetd. Covers:
enrolment behind the current password, sign-in with password + key, a replayed
answer, another sign-in's challenge, a wrong origin, another key, the counter,
and falling back to TOTP only when TOTP is enrolled.
"""
import os
import time

import pytest

from conftest import Client, assert_error_json, strong_password
from sitekit import audit
from softkey import SoftKey, b64u

HOST = "resetd.test"


@pytest.fixture
def server(sink, make_resetd):
    """No public_url: the page's origin is the Host it was opened on (a name or an IP)."""
    return make_resetd(relay_port=sink.port, public_url="")


class HostClient(Client):
    """A client whose requests name `host` in Host, as a browser on that name would."""

    def __init__(self, port, host_name, **kw):
        super().__init__(port, **kw)
        self.host_header = "%s:%d" % (host_name, port)

    def request(self, method, path, body=None, headers=None, **kw):
        h = {"Host": self.host_header}
        h.update(headers or {})
        return super().request(method, path, body, headers=h, **kw)


def origin(srv):
    return "http://%s:%d" % (HOST, srv.port)


def staff(srv, admin, name, source):
    pw = strong_password()
    admin.create_user(name, password=pw, role="helpdesk_admin")
    c = HostClient(srv.port, HOST, source=source)
    c.must_sign_in(name, pw)
    c.password = pw
    return c


def enrol_key(srv, c, key, name="blue key"):
    r = c.post("session/second-factor/security-key", {"current_password": c.password, "name": name})
    assert r.status == 200, r
    opts = r.json
    assert opts["rp_id"] == HOST and len(opts["challenge"]) == 43, opts
    r = c.post("session/second-factor/security-key/confirm", key.register(opts, origin(srv)))
    assert r.status == 200, r
    return r.json["security_key"]


def password_step(srv, name, pw, source):
    c = HostClient(srv.port, HOST, source=source)
    for _ in range(10):  # after wrong answers the account's delays apply here too
        r = c.post("session", {"username": name, "password": pw}, csrf=False)
        if r.status != 429:
            break
        time.sleep(int(r.headers.get("retry-after", "2")))
    assert r.status == 200 and r.json.get("second_factor_required") is True, r
    return c, r.json


def challenge(c, pending):
    r = c.post("session/second-factor/security-key/challenge", {"pending_token": pending}, csrf=False)
    assert r.status == 200, r
    return r.json


def key_step(c, pending, answer):
    return c.post("session/second-factor", {"pending_token": pending, "security_key": answer}, csrf=False)


def attempt(c, pending, make_answer):
    """A fresh challenge and the answer make_answer(challenge) gives, waiting out
    the sign-in delays (after three failures each try waits 1, 2, 4 ... s)."""
    for _ in range(10):
        r = key_step(c, pending, make_answer(challenge(c, pending)))
        if r.status != 429:
            return r
        time.sleep(int(r.headers.get("retry-after", "2")))
    raise AssertionError("still throttled")


def test_enrol_and_sign_in_with_a_key(server, admin):
    c = staff(server, admin, "wa-alice", "127.0.0.71")
    key = SoftKey()
    # the current password first, as for an app
    assert_error_json(c.post("session/second-factor/security-key", {"name": "k"}), 422, "current_password_required")
    assert_error_json(c.post("session/second-factor/security-key",
                             {"current_password": "not-" + c.password, "name": "k"}), 422, "wrong_current_password")
    assert_error_json(c.post("session/second-factor/security-key", {"current_password": c.password, "name": ""}),
                      422, "invalid_name")
    # an answer without a challenge of this session
    assert_error_json(c.post("session/second-factor/security-key/confirm",
                             key.register({"challenge": "AAAA", "rp_id": HOST}, origin(server))), 409, "no_enrolment")
    # an answer for another origin is refused, and the challenge is used up
    r = c.post("session/second-factor/security-key", {"current_password": c.password, "name": "k"})
    opts = r.json
    assert_error_json(c.post("session/second-factor/security-key/confirm",
                             key.register(opts, "https://evil.test")), 422, "webauthn_invalid")
    assert_error_json(c.post("session/second-factor/security-key/confirm", key.register(opts, origin(server))),
                      409, "no_enrolment")
    info = enrol_key(server, c, key)
    assert info["name"] == "blue key" and info["rp_id"] == HOST, info
    st = c.get("session/second-factor").json
    assert st["totp"] is False and [k["name"] for k in st["security_keys"]] == ["blue key"], st
    assert st["security_key_rp_id"] == HOST
    rows = audit(admin, action="second_factor_enrol", target="wa-alice")
    assert any(x["outcome"] == "ok" and "security key \"blue key\"" in x["detail"] for x in rows), rows

    # the password alone opens nothing now; the key is offered
    d, j = password_step(server, "wa-alice", c.password, "127.0.0.72")
    assert j["methods"] == ["security_key"], j
    pending = j["pending_token"]
    # TOTP is not enrolled: no downgrade to a code or a recovery code
    for kw in ({"code": "123456"}, {"recovery_code": "0-aaaaa-bbbbb"}):
        body = {"pending_token": pending}
        body.update(kw)
        assert_error_json(d.post("session/second-factor", body, csrf=False), 401, "invalid_second_factor")
    ch = challenge(d, pending)
    assert ch["credentials"] == [b64u(key.cred_id)] and ch["rp_id"] == HOST, ch
    answer = key.assert_(ch, origin(server))
    r = key_step(d, pending, answer)
    assert r.status == 200 and r.json["csrf_token"], r
    d.csrf = r.json["csrf_token"]
    assert d.get("session").status == 200
    # replayed: the pending sign-in is gone
    assert_error_json(key_step(d, pending, answer), 401, "sign_in_expired")
    rows = audit(admin, action="sign_in", target="wa-alice")
    assert any(x["outcome"] == "ok" and "security key" in x["detail"] for x in rows), rows


def test_key_attacks(server, admin):
    c = staff(server, admin, "wa-bob", "127.0.0.73")
    key = SoftKey()
    enrol_key(server, c, key)
    d, j = password_step(server, "wa-bob", c.password, "127.0.0.74")
    pending = j["pending_token"]
    e, j2 = password_step(server, "wa-bob", c.password, "127.0.0.74")
    pending2 = j2["pending_token"]

    # an answer to another sign-in's challenge
    other = challenge(e, pending2)
    challenge(d, pending)
    assert_error_json(key_step(d, pending, key.assert_(other, origin(server))), 401, "invalid_second_factor")
    # wrong origin in clientData (a phishing page relaying), signed by the right key
    ch = challenge(d, pending)
    good = key.assert_(ch, origin(server))
    assert_error_json(key_step(d, pending, key.assert_(ch, "https://evil.test")), 401, "invalid_second_factor")
    # the challenge was used by that wrong answer: the right answer to it is refused
    assert_error_json(key_step(d, pending, good), 409, "no_challenge")
    # another key (not enrolled), the right key for another rp id, a tampered signature
    assert_error_json(attempt(d, pending, lambda ch: SoftKey().assert_(ch, origin(server))),
                      401, "invalid_second_factor")
    assert_error_json(attempt(d, pending, lambda ch: key.assert_(ch, origin(server), rp_id="evil.test")),
                      401, "invalid_second_factor")

    def tampered(ch):
        a = key.assert_(ch, origin(server))
        a["authenticator_data"] = b64u(b"\x00" * 37)
        return a
    assert_error_json(attempt(d, pending, tampered), 401, "invalid_second_factor")
    # five wrong answers end the pending sign-in
    assert_error_json(d.post("session/second-factor/security-key/challenge", {"pending_token": pending},
                             csrf=False), 401, "sign_in_expired")

    # the counter: a clone that answers with an older count is refused
    e2, j3 = password_step(server, "wa-bob", c.password, "127.0.0.75")
    r = attempt(e2, j3["pending_token"], lambda ch: key.assert_(ch, origin(server), count=50))
    assert r.status == 200, r
    e3, j4 = password_step(server, "wa-bob", c.password, "127.0.0.75")
    assert_error_json(attempt(e3, j4["pending_token"], lambda ch: key.assert_(ch, origin(server), count=49)),
                      401, "invalid_second_factor")
    rows = audit(admin, action="sign_in", target="wa-bob")
    assert any("counter" in x["detail"] for x in rows), rows


def test_ip_address_has_no_keys(server, admin):
    pw = strong_password()
    admin.create_user("wa-carol", password=pw, role="helpdesk_admin")
    c = server.client(source="127.0.0.76")  # Host: 127.0.0.1:port
    c.must_sign_in("wa-carol", pw)
    assert c.get("session/second-factor").json["security_key_rp_id"] is None
    assert_error_json(c.post("session/second-factor/security-key", {"current_password": pw, "name": "k"}),
                      409, "webauthn_unavailable")


def test_key_and_totp_both(server, admin):
    from test_second_factor import totp
    c = staff(server, admin, "wa-dave", "127.0.0.77")
    key = SoftKey()
    enrol_key(server, c, key)
    # TOTP added beside the key (enrolling ends other sessions; this one goes on)
    r = c.post("session/second-factor/totp", {"current_password": c.password})
    assert r.status == 200, r
    secret = r.json["secret"]
    r = c.post("session/second-factor/totp/confirm", {"code": totp(secret)})
    assert r.status == 200, r
    recovery = r.json["recovery_codes"]
    d, j = password_step(server, "wa-dave", c.password, "127.0.0.78")
    assert j["methods"] == ["totp", "recovery_code", "security_key"], j
    # the key's way and the app's way both open a session
    r = d.post("session/second-factor", {"pending_token": j["pending_token"], "code": totp(secret, 30)}, csrf=False)
    assert r.status == 200, r
    e, j = password_step(server, "wa-dave", c.password, "127.0.0.79")
    ch = challenge(e, j["pending_token"])
    assert key_step(e, j["pending_token"], key.assert_(ch, origin(server))).status == 200
    # on an IP address the same account signs in with its app (no key there)
    f = server.client(source="127.0.0.80")
    r = f.post("session", {"username": "wa-dave", "password": c.password}, csrf=False)
    assert r.json["second_factor_required"] is True
    assert_error_json(f.post("session/second-factor/security-key/challenge",
                             {"pending_token": r.json["pending_token"]}, csrf=False), 409, "webauthn_unavailable")
    r = f.post("session/second-factor", {"pending_token": r.json["pending_token"], "recovery_code": recovery[0]},
               csrf=False)
    assert r.status == 200 and r.json["csrf_token"], r


def remove_key(c, key_id, password):
    body = {} if password is None else {"current_password": password}
    return c.post("session/second-factor/security-key/%d/remove" % key_id, body)


def test_remove_one_key(server, admin):
    c = staff(server, admin, "wa-erin", "127.0.0.81")
    blue, red = SoftKey(), SoftKey()
    b = enrol_key(server, c, blue, "blue key")
    r_info = enrol_key(server, c, red, "red key")
    other = staff(server, admin, "wa-fred", "127.0.0.82")
    f_info = enrol_key(server, other, SoftKey(), "fred's key")
    # a second session of erin's, signed in with the red key
    d, j = password_step(server, "wa-erin", c.password, "127.0.0.83")
    assert key_step(d, j["pending_token"], red.assert_(challenge(d, j["pending_token"]), origin(server))).status == 200
    # the current password first; only one's own keys; CSRF as everywhere
    assert_error_json(remove_key(c, b["id"], None), 422, "current_password_required")
    assert_error_json(remove_key(c, b["id"], "not-" + c.password), 422, "wrong_current_password")
    assert_error_json(remove_key(c, f_info["id"], c.password), 404, "not_found")
    assert_error_json(remove_key(c, 999999, c.password), 404, "not_found")
    assert_error_json(c.post("session/second-factor/security-key/%d/remove" % b["id"],
                             {"current_password": c.password}, csrf=False), 403, "csrf_failed")
    r = remove_key(c, b["id"], c.password)
    assert r.status == 200, r
    assert [k["name"] for k in r.json["security_keys"]] == ["red key"], r.json
    assert [k["id"] for k in c.get("session/second-factor").json["security_keys"]] == [r_info["id"]]
    assert [k["name"] for k in other.get("session/second-factor").json["security_keys"]] == ["fred's key"]
    # the owner's other sessions ended, this one goes on
    assert_error_json(d.get("session"), 401, "not_signed_in")
    assert c.get("session").status == 200
    rows = audit(admin, action="second_factor_remove", target="wa-erin")
    assert any(x["outcome"] == "ok" and "security key \"blue key\"" in x["detail"] and "1 other sessions ended"
               in x["detail"] for x in rows), rows
    assert not any(c.password in (x.get("detail") or "") for x in rows)
    # the removed key signs nobody in; the other one still does
    e, j = password_step(server, "wa-erin", c.password, "127.0.0.84")
    ch = challenge(e, j["pending_token"])
    assert ch["credentials"] == [b64u(red.cred_id)], ch
    assert_error_json(key_step(e, j["pending_token"], blue.assert_(ch, origin(server))), 401, "invalid_second_factor")
    assert key_step(e, j["pending_token"], red.assert_(challenge(e, j["pending_token"]), origin(server))).status == 200
    # the last key of an optional role goes too: the password alone signs in again
    assert remove_key(c, r_info["id"], c.password).status == 200
    f = HostClient(server.port, HOST, source="127.0.0.85")
    assert f.post("session", {"username": "wa-erin", "password": c.password}, csrf=False).json.get("csrf_token")


def test_last_required_factor_is_not_removed(make_resetd, sink):
    from test_second_factor import totp
    srv = make_resetd(relay_port=sink.port, public_url="", start=False)
    srv.extra_toml = '[second_factor]\nenabled = true\nglobal_admin = "optional"\nhelpdesk_admin = "required"\n'
    srv.write_config()
    srv.start()
    admin = srv.admin()
    c = staff(srv, admin, "wa-gina", "127.0.0.86")
    assert c.get("session/second-factor").json["policy"] == "required"
    key = SoftKey()
    k = enrol_key(srv, c, key)  # the confined session may enrol a key
    assert c.get("users").status == 200
    # the only factor the role requires: refused, the key stays, audited
    r = remove_key(c, k["id"], c.password)
    assert_error_json(r, 409, "last_required_factor")
    assert "another" in r.json["error"]["message"]
    assert [x["id"] for x in c.get("session/second-factor").json["security_keys"]] == [k["id"]]
    rows = audit(admin, action="second_factor_remove", target="wa-gina")
    assert any(x["outcome"] == "failed" and "last required factor" in x["detail"] for x in rows), rows
    # with an app beside it, the key may go; then the app is the last one
    r = c.post("session/second-factor/totp", {"current_password": c.password})
    secret = r.json["secret"]
    assert c.post("session/second-factor/totp/confirm", {"code": totp(secret)}).status == 200
    assert remove_key(c, k["id"], c.password).status == 200
    assert_error_json(c.post("session/second-factor/remove", {"current_password": c.password,
                                                              "code": totp(secret, 30)}),
                      409, "second_factor_required_by_policy")
    # and with a key beside the app, the app may go (the key covers the role); the key is then last
    k2 = enrol_key(srv, c, SoftKey(), "spare")
    r = c.post("session/second-factor/remove", {"current_password": c.password, "code": totp(secret, 30)})
    assert r.status == 200, r
    assert_error_json(remove_key(c, k2["id"], c.password), 409, "last_required_factor")
    st = c.get("session/second-factor").json
    assert st["totp"] is False and [x["name"] for x in st["security_keys"]] == ["spare"], st
    assert c.get("users").status == 200



def mapped(srv, name):
    with open("/proc/%d/maps" % srv.proc.pid) as f:
        return name in f.read()


def test_libfido2_is_loaded_on_the_first_key_check(server, admin):
    """docs/footprint.md: libfido2 (and libcbor, libudev, ...) is dlopen()ed by the
    first security-key check, not mapped by every start."""
    c = staff(server, admin, "wa-lazy", "127.0.0.90")
    assert not mapped(server, "libfido2"), "libfido2 is mapped before any security-key check"
    enrol_key(server, c, SoftKey())
    assert mapped(server, "libfido2")


def test_without_libfido2_keys_are_unavailable_and_totp_works(server, admin, workdir, monkeypatch):
    """libfido2 unusable (an empty libfido2.so.1 first in the server's
    LD_LIBRARY_PATH, which the loader takes and refuses: what an unloadable or
    missing library gives, on the host and under qemu alike, with no root or mount
    namespace): the key steps answer security_keys_unavailable naming the library
    (before the browser is asked to touch a key), and the authenticator app still
    signs in."""
    from test_second_factor import totp
    c = staff(server, admin, "wa-nolib", "127.0.0.91")
    enrol_key(server, c, SoftKey())
    r = c.post("session/second-factor/totp", {"current_password": c.password})
    secret = r.json["secret"]
    assert c.post("session/second-factor/totp/confirm", {"code": totp(secret)}).status == 200
    nolib = os.path.join(workdir, "nolib")
    os.mkdir(nolib)
    open(os.path.join(nolib, "libfido2.so.1"), "w").close()
    server.stop()
    monkeypatch.setattr(server, "env", dict(server.env or {}, LD_LIBRARY_PATH=nolib))
    server.start()
    assert not mapped(server, "libfido2")
    d, j = password_step(server, "wa-nolib", c.password, "127.0.0.92")
    assert "security_key" in j["methods"], j
    for _ in range(2):  # the first check and the remembered answer
        r = d.post("session/second-factor/security-key/challenge", {"pending_token": j["pending_token"]},
                   csrf=False)
        assert_error_json(r, 503, "security_keys_unavailable")
        msg = r.json["error"]["message"]
        assert "libfido2" in msg and "install libfido2-1" in msg, msg
    r = d.post("session/second-factor", {"pending_token": j["pending_token"], "code": totp(secret, 30)}, csrf=False)
    assert r.status == 200 and r.json["csrf_token"], r
    d.csrf = r.json["csrf_token"]
    # enrolling another key is refused the same way, before the browser is asked for one
    assert_error_json(d.post("session/second-factor/security-key", {"current_password": c.password, "name": "k2"}),
                      503, "security_keys_unavailable")


def test_another_accounts_credential_id_is_refused_not_a_500(server, admin):
    # B registers a key of its own making that carries A's credential id: one
    # row per credential id, so it is refused as "already added" (409), nothing
    # stored for B, A's key untouched; before, the unique constraint ended the
    # write as 500 internal_error.
    a = staff(server, admin, "sk-dup-a", "127.0.0.111")
    b = staff(server, admin, "sk-dup-b", "127.0.0.112")
    ka = SoftKey()
    enrol_key(server, a, ka)
    kb = SoftKey()
    kb.cred_id = ka.cred_id
    r = b.post("session/second-factor/security-key", {"current_password": b.password, "name": "copy"})
    assert r.status == 200, r
    assert_error_json(b.post("session/second-factor/security-key/confirm", kb.register(r.json, origin(server))),
                      409, "security_key_enrolled")
    assert b.get("session/second-factor").json["security_keys"] == []
    assert len(a.get("session/second-factor").json["security_keys"]) == 1


def test_forward_auth_names_the_factors_the_account_has(make_resetd, sink):
    # Remote-Factors says which second factors the account has (every session of
    # it proved one): a key-only account is "password,webauthn", not "…,totp".
    srv = make_resetd(relay_port=sink.port, public_url="", start=False)
    srv.extra_toml = '[forward_auth]\nenabled = true\ntwo_factor = ["secure.example"]\n'
    srv.write_config()
    srv.start()
    admin = srv.admin()
    c = staff(srv, admin, "sk-fa", "127.0.0.121")
    fa = lambda: c.get("auth/verify", headers={"X-Original-URL": "https://secure.example/"})
    assert_error_json(fa(), 403, "second_factor_required")
    enrol_key(srv, c, SoftKey())
    r = fa()
    assert r.status == 200 and r.headers["remote-factors"] == "password,webauthn", r
