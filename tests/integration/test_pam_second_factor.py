"""Issue 23: PAM (`resetd auth-check`) was a way around the second factor: it vouched for an
account on its password alone while the web sign-in asked for a code.

Now an account with a confirmed authenticator app is accepted over PAM only with the
password immediately followed by the current 6-digit code in the same prompt
("password123456", the FreeIPA / LinOTP convention), on the same used-step record as the
web (a code used on one is refused on the other) and the same failure counters. An account
with only security keys, or whose role requires a factor it has not set up, is refused.
Driven by the real `pamtester`; codes come from `oathtool` (test_second_factor.totp)."""
import time

from conftest import strong_password
from sitekit import fresh_admin, sign_in_as
from softkey import SoftKey
from test_pam import audit_rows, pam_service, pamtester
from test_second_factor import password_step, second_step, totp
from test_second_factor_policy import enrol
from test_security_keys import enrol_key, staff as key_staff


def totp_user(srv, admin, name, pw, source):
    admin.create_user(name, password=pw, role="helpdesk_admin")
    c, r = sign_in_as(srv, name, pw, source=source)
    assert r.status == 200, r
    secret, codes = enrol(c, pw)  # confirmed with the code of the current step
    return secret, codes


def test_totp_account_needs_password_and_code_in_one_prompt(make_resetd, workdir):
    with pam_service(make_resetd, workdir) as (srv, service, sock, clock):
        admin = srv.admin()
        # a password that itself ends in six digits: with an app the last six are the code
        pw = strong_password() + "987654"
        secret, codes = totp_user(srv, admin, "pam.tf", pw, "127.0.0.41")

        # the password alone no longer opens PAM
        ok, out = pamtester(service, "pam.tf", pw)
        assert not ok, out
        # the code before the password, a recovery code: refused (wrong passwords, counted)
        code = totp(secret, 30)
        for typed in (code + pw, pw + codes[0]):
            ok, out = pamtester(service, "pam.tf", typed)
            assert not ok and "incorrect" in out, (typed, out)
        clock.advance(srv, 70)  # past the delays of three failures; a newer step than the confirming one
        # password immediately followed by the current code: accepted
        code = totp(secret, clock.offset)
        ok, out = pamtester(service, "pam.tf", pw + code)
        assert ok and "successfully authenticated" in out, out
        # never twice: the same code again, an older one, and the same code on the web
        ok, out = pamtester(service, "pam.tf", pw + code)
        assert not ok and "already used" in out, out
        ok, out = pamtester(service, "pam.tf", pw + totp(secret, clock.offset - 30))
        assert not ok, out
        c, pending = password_step(srv, "pam.tf", pw, "127.0.0.42")
        r = second_step(c, pending, code=code)
        assert r.status == 401 and r.json["error"]["code"] == "invalid_second_factor", r

        # and the other way: a code used on the web is refused over PAM
        clock.advance(srv, 70)
        web_code = totp(secret, clock.offset)
        c, pending = password_step(srv, "pam.tf", pw, "127.0.0.43")
        time.sleep(1.5)  # three failures so far: the code step waits 1 s after the password step
        r = second_step(c, pending, code=web_code)
        assert r.status == 200, r
        ok, out = pamtester(service, "pam.tf", pw + web_code)
        assert not ok and "already used" in out, out
        ok, out = pamtester(service, "pam.tf", pw + totp(secret, clock.offset + 30))
        assert ok, out

        admin = fresh_admin(srv)
        rows = [e for e in audit_rows(admin, "pam.tf") if e["client"] == "pam:" + service]
        oks = [e for e in rows if e["outcome"] == "ok"]
        assert len(oks) == 2 and all(e["detail"].startswith("second factor: totp; uid 0") for e in oks), rows
        fails = [e["detail"] for e in rows if e["outcome"] == "failed"]
        assert sum("TOTP code already used" in d for d in fails) >= 3, fails
        for e in rows:  # neither code nor password in the trail
            assert code not in str(e) and web_code not in str(e) and pw not in str(e), e


def test_wrong_codes_count_toward_the_lockout(make_resetd, workdir):
    with pam_service(make_resetd, workdir) as (srv, service, sock, clock):
        admin = srv.admin()
        pw = strong_password()
        secret, _ = totp_user(srv, admin, "pam.lockout", pw, "127.0.0.51")
        # the right password with a wrong code, ten times (the clock moved past each delay)
        for i in range(10):
            clock.advance(srv, 70)
            good = totp(secret, clock.offset)
            wrong = "%06d" % ((int(good) + 500000) % 1000000)
            ok, out = pamtester(service, "pam.lockout", pw + wrong)
            assert not ok and "incorrect" in out, (i, out)
        ok, out = pamtester(service, "pam.lockout", pw + totp(secret, clock.offset))
        assert not ok and "Too many sign-in attempts" in out, out
        admin = fresh_admin(srv)
        u = [x for x in admin.all_users()["users"] if x["username"] == "pam.lockout"][0]
        assert u["locked"] is True, u
        fails = [e["detail"] for e in audit_rows(admin, "pam.lockout") if e["outcome"] == "failed"]
        assert len(fails) == 10 and all("wrong TOTP code" in d for d in fails), fails
        assert "locked out" in fails[0], fails  # newest first
        # the web's second step is locked out as well
        c, r = sign_in_as(srv, "pam.lockout", pw, source="127.0.0.52")
        assert r.status == 429, r


def test_security_keys_only_and_required_but_missing_are_refused(make_resetd, workdir):
    policy = '[second_factor]\nenabled = true\nglobal_admin = "optional"\nuser_admin = "required"\n'
    with pam_service(make_resetd, workdir, extra_toml=policy, public_url="") as (srv, service, sock, clock):
        admin = srv.admin()
        # security keys only: PAM cannot ask for a key, so no
        k = key_staff(srv, admin, "pam.key", "127.0.0.61")
        enrol_key(srv, k, SoftKey())
        ok, out = pamtester(service, "pam.key", k.password)
        assert not ok and "security key" in out, out
        # the role requires a factor the account has not set up
        pw_req = strong_password()
        admin.create_user("pam.req", password=pw_req, role="user_admin")
        ok, out = pamtester(service, "pam.req", pw_req)
        assert not ok and "second factor" in out, out
        # a wrong password stays the generic answer (no hint about the account's factors)
        for name in ("pam.key", "pam.req"):
            ok, out = pamtester(service, name, "wrong-" + pw_req)
            assert not ok and "The username or password is incorrect." in out, out
        # an account without a factor (role optional): unchanged, six trailing digits included
        pw_plain = strong_password() + "123456"
        admin.create_user("pam.plain", password=pw_plain, role="helpdesk_admin")
        ok, out = pamtester(service, "pam.plain", pw_plain)
        assert ok, out

        rows = audit_rows(admin, "pam.key") + audit_rows(admin, "pam.req")
        refused = [e for e in rows if e["client"] == "pam:" + service and e["outcome"] == "failed"
                   and e["detail"].startswith("second factor required")]
        assert len(refused) == 2, rows
        # a right password is not a failed guess: neither account is any nearer a lockout
        for _ in range(3):
            assert not pamtester(service, "pam.req", pw_req)[0]
        users = {x["username"]: x for x in admin.all_users()["users"]}
        assert users["pam.req"]["locked"] is False
        r = srv.client(source="127.0.0.62").post("session", {"username": "pam.req", "password": pw_req}, csrf=False)
        assert r.status == 200, r
