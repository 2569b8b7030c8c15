"""Issue 23 item 1 (policy, one's own factor) and item 3 (two factors for forward auth).

`[second_factor]` makes a role's factor off / optional / required; an account the policy
requires a factor of and that has none gets a session good for enrolment only (every
other staff route: 403 second_factor_required). One's own factor is removed (not while
required) or given new recovery codes with the current password and a current code.
A `[forward_auth] two_factor` host refuses password-only sessions; verify answers
Remote-Factors. Codes come from `oathtool` (test_second_factor.totp), never from resetd.
Attacks: calling staff routes directly to skip enrolment, CSRF on remove, removing with
someone else's code, and downgrades (own role, remove under a required policy).
"""
import time

from conftest import ADMIN_PW, ADMIN_USER, assert_error_json, strong_password
from sitekit import audit, sign_in_as
from test_second_factor import password_step, second_step, totp

POLICY_ON = "[second_factor]\nenabled = true\n"


def start(make_resetd, sink, toml):
    srv = make_resetd(relay_port=sink.port, start=False)
    srv.extra_toml = toml
    srv.write_config()
    srv.start()
    return srv


def enrol(c, password):
    """Sets up TOTP for the signed-in client; returns (secret, recovery codes)."""
    r = c.post("session/second-factor/totp", {"current_password": password})
    assert r.status == 200, r
    secret = r.json["secret"]
    r = c.post("session/second-factor/totp/confirm", {"code": totp(secret)})
    assert r.status == 200, r
    return secret, r.json["recovery_codes"]


def test_required_policy_confines_a_global_admin_to_enrolment(make_resetd, sink):
    srv = start(make_resetd, sink, POLICY_ON)
    admin = srv.admin()  # the initial password changed (a must-change session may do that)
    j = admin.must_sign_in(ADMIN_USER, ADMIN_PW)
    assert j["second_factor_enrolment_required"] is True, j
    me = admin.get("session")
    assert me.status == 200 and me.json["second_factor_enrolment_required"] is True, me
    # skipping enrolment by calling routes directly: every staff route refuses
    for method, path, body in [("GET", "users", None), ("GET", "audit", None), ("GET", "settings/relay", None),
                               ("POST", "users", {"username": "x1", "display_name": "X", "email": "x@example.org"}),
                               ("PATCH", "users/1", {"role": "user"}),  # downgrade of one's own role
                               ("POST", "session/second-factor/remove", {"code": "123456"})]:
        r = admin.request(method, path, body)
        assert_error_json(r, 403, "second_factor_required")
        assert "/session/second-factor/totp" in r.json["error"]["message"], r.json
    st = admin.get("session/second-factor")
    assert st.status == 200 and st.json["policy"] == "required" and st.json["totp"] is False, st
    secret, codes = enrol(admin, ADMIN_PW)
    assert len(codes) == 10
    assert admin.get("users").status == 200
    assert admin.get("session").json["second_factor_enrolment_required"] is False
    # removing a required factor is refused (replace it instead), the factor stays
    r = admin.post("session/second-factor/remove", {"current_password": ADMIN_PW, "code": totp(secret, 30)})
    assert_error_json(r, 409, "second_factor_required_by_policy")
    assert admin.get("session/second-factor").json["totp"] is True
    # an optional role is not confined; sign-out still works for a confined one
    pw = strong_password()
    admin.create_user("pol.helen", password=pw, role="helpdesk_admin")
    h, r = sign_in_as(srv, "pol.helen", pw, source="127.0.0.71")
    assert r.status == 200 and r.json["second_factor_enrolment_required"] is False, r
    assert h.get("users").status == 200
    rows = [x for x in audit(admin, limit=50) if x["action"] == "sign_in" and x["target"] == "admin"]
    assert any("enrolment only" in (x.get("detail") or "") for x in rows), rows


def test_sign_out_and_password_change_still_work_while_confined(make_resetd, sink):
    srv = start(make_resetd, sink, POLICY_ON + 'helpdesk_admin = "required"\n')
    admin = srv.admin()
    enrol(admin, ADMIN_PW)
    pw = strong_password()
    admin.create_user("pol.hal", password=pw, role="helpdesk_admin")
    c, r = sign_in_as(srv, "pol.hal", pw, source="127.0.0.72")
    assert r.status == 200 and r.json["second_factor_enrolment_required"] is True, r
    assert_error_json(c.get("users"), 403, "second_factor_required")
    assert c.delete("session").status == 204
    assert_error_json(c.get("session"), 401, "not_signed_in")


def test_policy_off_refuses_enrolment_and_config_is_checked(make_resetd, sink):
    srv = start(make_resetd, sink, POLICY_ON + 'user = "off"\n')
    admin = srv.admin()
    enrol(admin, ADMIN_PW)
    pw = strong_password()
    admin.create_user("pol.ursula", password=pw)
    c, r = sign_in_as(srv, "pol.ursula", pw, source="127.0.0.73")
    assert r.status == 200
    assert_error_json(c.post("session/second-factor/totp", {"current_password": pw}), 403, "second_factor_off")
    srv.stop()
    for bad, key in [('[second_factor]\nuser_admin = "required"\n', "second_factor.user_admin"),
                     (POLICY_ON + 'global_admin = "maybe"\n', "second_factor.global_admin"),
                     (POLICY_ON + 'root = "required"\n', "second_factor.root"),
                     ('[forward_auth]\ntwo_factor = ["wiki.example:443"]\n', "forward_auth.two_factor")]:
        srv.extra_toml = bad
        srv.write_config()
        srv.start(wait=False)
        assert srv.proc.wait(20) != 0
        assert key in srv.stderr(), (key, srv.stderr())
        srv.proc = None


def test_remove_own_factor_and_new_recovery_codes(server, admin):
    pw_a, pw_b = strong_password(), strong_password()
    admin.create_user("own.amy", password=pw_a, role="helpdesk_admin")
    admin.create_user("own.ben", password=pw_b, role="helpdesk_admin")
    a, _ = sign_in_as(server, "own.amy", pw_a, source="127.0.0.81")
    b, _ = sign_in_as(server, "own.ben", pw_b, source="127.0.0.82")
    sa, codes_a = enrol(a, pw_a)
    sb, _ = enrol(b, pw_b)
    # a second session of amy's (two steps), to see it end
    c2, pending = password_step(server, "own.amy", pw_a, "127.0.0.83")
    r = second_step(c2, pending, recovery_code=codes_a[9])
    assert r.status == 200, r
    # CSRF: no token, no removal
    r = a.post("session/second-factor/remove", {"current_password": pw_a, "code": totp(sa, 30)}, csrf=False)
    assert_error_json(r, 403, "csrf_failed")
    assert_error_json(a.post("session/second-factor/remove", {"current_password": pw_a}), 400,
                      "second_factor_code_required")
    assert_error_json(a.post("session/second-factor/remove", {"code": totp(sa, 30)}), 422,
                      "current_password_required")
    assert_error_json(a.post("session/second-factor/remove", {"current_password": "x" + pw_a, "code": totp(sa, 30)}),
                      422, "wrong_current_password")
    # someone else's current code is no proof of one's own factor
    r = a.post("session/second-factor/remove", {"current_password": pw_a, "code": totp(sb, 30)})
    if totp(sb, 30) != totp(sa, 30):
        assert_error_json(r, 422, "wrong_second_factor")
    assert a.get("session/second-factor").json["totp"] is True
    # new recovery codes (with a recovery code): the old ones stop working
    r = a.post("session/second-factor/recovery-codes", {"current_password": pw_a, "recovery_code": codes_a[0]})
    assert r.status == 200, r
    new = r.json["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(codes_a), new
    assert a.get("session/second-factor").json["recovery_codes_left"] == 10
    c3, pending = password_step(server, "own.amy", pw_a, "127.0.0.84")
    assert_error_json(second_step(c3, pending, recovery_code=codes_a[1]), 401, "invalid_second_factor")
    # removal with the app's code: audited, other sessions end, the password alone signs in
    code = totp(sa, 30)
    r = a.post("session/second-factor/remove", {"current_password": pw_a, "code": code})
    assert r.status == 200, r
    assert a.get("session/second-factor").json["totp"] is False
    assert_error_json(c2.get("session"), 401, "not_signed_in")
    d, r = sign_in_as(server, "own.amy", pw_a, source="127.0.0.85")
    assert r.status == 200 and r.json.get("csrf_token"), r
    rows = [x for x in audit(admin, limit=100) if x["target"] == "own.amy"]
    acts = [(x["action"], x["outcome"]) for x in rows]
    assert ("second_factor_remove", "ok") in acts and ("recovery_codes_renew", "ok") in acts, acts
    assert ("second_factor_remove", "failed") in acts, acts  # the wrong code was audited
    for x in rows:
        assert code not in (x.get("detail") or "") and pw_a not in (x.get("detail") or ""), x


def verify(c, host):
    return c.get("auth/verify", headers={"X-Original-URL": "https://%s/" % host})


def test_two_factor_host_refuses_a_password_only_session(make_resetd, sink):
    srv = start(make_resetd, sink, '[forward_auth]\nenabled = true\nallowed_redirect_origins = '
                '["https://wiki.example"]\ntwo_factor = ["secure.example"]\n')
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("fa.fran", password=pw)
    c, r = sign_in_as(srv, "fa.fran", pw, source="127.0.0.91")
    assert r.status == 200
    r = verify(c, "wiki.example")
    assert r.status == 200 and r.headers["remote-factors"] == "password", r
    assert_error_json(verify(c, "secure.example"), 403, "second_factor_required")
    assert_error_json(verify(c, "Secure.Example.:8443"), 403, "second_factor_required")
    # the host named twice (a proxy that appends the client's copy): unknown, so
    # refused, whichever copy comes first (before, the first one counted)
    for first, second in (("wiki.example", "secure.example"), ("secure.example", "wiki.example")):
        for name, val in (("X-Forwarded-Host", lambda h: h), ("X-Original-URL", lambda h: "https://%s/" % h)):
            # two header lines: http.client sends each key of the dict, and the
            # two spellings are two keys
            r = c.get("auth/verify", headers={name: val(first), name.lower(): val(second)})
            assert_error_json(r, 403, "second_factor_required")
    secret, codes = enrol(c, pw)
    r = verify(c, "secure.example")
    assert r.status == 200 and r.headers["remote-factors"] == "password,totp", r
    # a fresh two-step session passes too; after removal the host refuses again
    d, pending = password_step(srv, "fa.fran", pw, "127.0.0.92")
    assert second_step(d, pending, code=totp(secret, 30)).status == 200
    assert verify(d, "secure.example").status == 200
    r = d.post("session/second-factor/remove", {"current_password": pw, "recovery_code": codes[3]})
    assert r.status == 200, r
    assert_error_json(verify(d, "secure.example"), 403, "second_factor_required")
    j = admin.get("settings/integrations").json["forward_auth"]
    assert j["two_factor"] == ["secure.example"], j
