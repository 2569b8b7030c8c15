"""Issue 23 item 4: a plain user's own second factor, end to end.

A `user` account (optional by default) sets up an authenticator app on the users'
side, signs in with its code, renews its recovery codes; a `[forward_auth] two_factor`
host refuses it before and admits it after, and `GET /auth/redirect` tells the page
to send it to enrol first (the proxy's 403 is a dead end for a browser); the helpdesk
then verifies that user as a caller by the app's code. Codes come from `oathtool`
(test_second_factor.totp), never from resetd.
"""
import pytest

from conftest import assert_error_json, strong_password, wait_until
from sitekit import audit, sign_in_as
from test_caller_verification import Seen, check, start as start_check, wrong
from slapd_lab import Slapd
from test_second_factor import enrol, password_step, second_step, totp

SITE = "https://secure.example/wiki/page"
TOML = ('[forward_auth]\nenabled = true\nallowed_redirect_origins = ["https://secure.example", '
        '"https://plain.example"]\ntwo_factor = ["secure.example"]\n'
        '[caller_verification]\nhelpdesk_admin = "required"\n')


def verify(c, url):
    return c.get("auth/verify", headers={"X-Original-URL": url})


def redirect_for(c, url):
    r = c.get("auth/redirect?rd=" + url.replace(":", "%3A").replace("/", "%2F"))
    assert r.status == 200, r
    return r.json


def test_a_plain_user_enrols_signs_in_passes_a_two_factor_host_and_is_verified_by_the_helpdesk(
        make_resetd, sink, workdir):
    srv = make_resetd(relay_port=sink.port, extra_toml=TOML)
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("ulla", email="ulla@corp.example", password=pw)  # role user
    hd_pw = strong_password()
    admin.create_user("hd", email="hd@corp.example", role="helpdesk_admin", password=hd_pw)

    # the password alone: a session (optional for users), sent on to the site by sign-in ...
    u = srv.client(source="127.0.0.41")
    r = u.post("session", {"username": "ulla", "password": pw, "rd": SITE}, csrf=False)
    assert r.status == 200 and r.json["redirect"] == SITE, r
    assert r.json["user"]["role"] == "user" and r.json["second_factor_enrolment_required"] is False, r
    u.csrf, u.user, u.password = r.json["csrf_token"], r.json["user"], pw
    # ... where the proxy refuses it; the page asks first and is told to enrol
    assert_error_json(verify(u, SITE), 403, "second_factor_required")
    assert redirect_for(u, SITE) == {"redirect": SITE, "second_factor_required": True}
    assert redirect_for(u, "https://plain.example/")["second_factor_required"] is False
    assert redirect_for(srv.client(), SITE)["second_factor_required"] is False  # not signed in: sign in first
    assert verify(u, "https://plain.example/").headers["remote-factors"] == "password"

    # enrolment on the users' side: current password + a code (CSRF, wrong password checked in enrol())
    secret, codes = enrol(srv, u, workdir)
    assert u.get("session").json["second_factor"] is True
    assert redirect_for(u, SITE)["second_factor_required"] is False
    r = verify(u, SITE)
    assert r.status == 200 and r.headers["remote-factors"] == "password,totp", r
    assert r.headers["remote-user"] == "ulla" and r.headers["remote-groups"] == "user", r

    # sign-in now asks the code: password alone yields no session
    d, pending = password_step(srv, "ulla", pw, "127.0.0.42")
    assert_error_json(verify(d, SITE), 401, "not_signed_in")
    r = second_step(d, pending, recovery_code=codes[0])
    assert r.status == 200 and r.json["user"]["username"] == "ulla", r
    assert verify(d, SITE).status == 200
    # new recovery codes with a recovery code; the used and the old ones are gone
    r = d.post("session/second-factor/recovery-codes", {"current_password": pw, "recovery_code": codes[1]})
    assert r.status == 200 and len(r.json["recovery_codes"]) == 10, r
    e, pending = password_step(srv, "ulla", pw, "127.0.0.43")
    assert_error_json(second_step(e, pending, recovery_code=codes[2]), 401, "invalid_second_factor")

    # the helpdesk: ulla calls, reads her app's code; nothing is mailed, the admin never sees it
    hd, r = sign_in_as(srv, "hd", hd_pw, source="127.0.0.44")
    assert r.status == 200, r
    uid = u.user["id"]
    assert_error_json(hd.reset(uid, notify=[]), 409, "caller_verification_required")
    seen = Seen()
    ch = start_check(hd, uid, seen)
    assert ch["method"] == "totp" and ch["destination"] is None, ch
    code = totp(secret, 30)  # the next step: enrolment used the current one
    assert_error_json(check(hd, uid, ch["id"], wrong(code), seen), 422, "wrong_caller_code")
    r = check(hd, uid, ch["id"], code, seen)
    assert r.status == 200 and r.json["verified"] is True, r
    # the code the helpdesk heard does not sign in as ulla (accepted once)
    f, pending = password_step(srv, "ulla", pw, "127.0.0.45")
    assert_error_json(second_step(f, pending, code=code), 401, "invalid_second_factor")
    r = seen(hd.reset(uid, notify=[], caller_verification=ch["id"]))
    assert r.status == 200, r
    seen.assert_never(code)
    rows = [x for x in audit(admin, limit=500) if x["target"] == "ulla"]
    reset = [x for x in rows if x["action"] == "password_reset"][0]
    assert "caller verified by the code of their authenticator app" in reset["detail"], reset
    assert ("second_factor_enrol", "ok") in [(x["action"], x["outcome"]) for x in rows], rows
    for x in rows:
        assert code not in str(x) and secret not in str(x) and pw not in str(x), x
    assert not [p for p, raw, _ in sink.messages() if code.encode() in raw]  # nothing mailed the code


def test_a_plain_user_removes_the_app_and_a_two_factor_host_refuses_again(make_resetd, sink, workdir):
    srv = make_resetd(relay_port=sink.port, extra_toml=TOML)
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("uwe", password=pw)
    u, r = sign_in_as(srv, "uwe", pw, source="127.0.0.51")
    assert r.status == 200, r
    u.password = pw
    secret, codes = enrol(srv, u, workdir)
    # removal needs the password and a code; without them the app stays
    assert_error_json(u.post("session/second-factor/remove", {"current_password": pw}), 400,
                      "second_factor_code_required")
    assert_error_json(u.post("session/second-factor/remove", {"current_password": pw, "code": wrong(totp(secret, 30))}),
                      422, "wrong_second_factor")
    r = u.post("session/second-factor/remove", {"current_password": pw, "code": totp(secret, 30)})
    assert r.status == 200, r
    assert_error_json(verify(u, SITE), 403, "second_factor_required")
    assert redirect_for(u, SITE)["second_factor_required"] is True
    c, r = sign_in_as(srv, "uwe", pw, source="127.0.0.52")
    assert r.status == 200 and r.json.get("csrf_token") and "pending_token" not in r.json, r


@pytest.fixture
def slapd(workdir):
    s = Slapd(workdir).start()
    yield s
    s.stop()


def test_a_directory_user_enrols_with_the_directory_password(slapd, sink, make_resetd, workdir):
    bob_pw = "BobInit-11"  # slapd_lab's plain directory user (no group: role user)
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml() + TOML)
    admin = srv.admin()
    wait_until(lambda: "bob" in {u["username"] for u in admin.get("users?limit=200").json["users"]},
               timeout=20, what="bob synced")
    b, r = sign_in_as(srv, "bob", bob_pw, source="127.0.0.61")
    assert r.status == 200 and r.json["user"]["role"] == "user", r
    b.password = bob_pw
    assert_error_json(verify(b, SITE), 403, "second_factor_required")
    assert redirect_for(b, SITE)["second_factor_required"] is True
    secret, codes = enrol(srv, b, workdir)  # the directory password, checked with a bind
    assert verify(b, SITE).headers["remote-factors"] == "password,totp"
    d, pending = password_step(srv, "bob", bob_pw, "127.0.0.62")
    r = second_step(d, pending, code=totp(secret, 30))
    assert r.status == 200 and r.json["user"]["username"] == "bob", r
    assert verify(d, SITE).status == 200


def test_no_enrol_detour_where_an_app_would_not_help(make_resetd, sink):
    """A host rule that keeps the role out, or a role whose policy is off: the page is
    not sent to "Second factor" (the proxy refuses either way)."""
    srv = make_resetd(relay_port=sink.port, extra_toml=TOML.replace(
        '[caller_verification]', '[forward_auth.rules]\n"secure.example" = ["helpdesk_admin"]\n'
        '"plain.example" = ["user", "helpdesk_admin"]\n[caller_verification]')
        + '[second_factor]\nenabled = true\nglobal_admin = "optional"\nhelpdesk_admin = "off"\n')
    admin = srv.admin()
    pw, hd_pw = strong_password(), strong_password()
    admin.create_user("ute", password=pw)
    admin.create_user("hod", role="helpdesk_admin", password=hd_pw)
    u, r = sign_in_as(srv, "ute", pw, source="127.0.0.71")
    assert r.status == 200, r
    assert_error_json(verify(u, SITE), 403, "forbidden")
    assert redirect_for(u, SITE)["second_factor_required"] is False
    h, r = sign_in_as(srv, "hod", hd_pw, source="127.0.0.72")
    assert r.status == 200, r
    assert_error_json(verify(h, SITE), 403, "second_factor_required")
    assert redirect_for(h, SITE)["second_factor_required"] is False
    assert_error_json(h.post("session/second-factor/totp", {"current_password": hd_pw}), 403, "second_factor_off")
