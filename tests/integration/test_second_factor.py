"""Issue 23 item 1: a second factor (TOTP) for staff accounts.

Codes come from `oathtool` (oath-toolkit), never from resetd's own code; the
enrolment QR code is decoded by `zbarimg` (zbar-tools). Covers: enrolment
confirmed by a current code, the password step yielding no session, a pending
token refused everywhere else, replay of a used code, wrong codes throttled on
the sign-in counters, recovery codes used once, and the console's break-glass.
"""
import base64
import os
import re
import subprocess
import time

from conftest import assert_error_json, run_cli, strong_password
from sitekit import audit, sign_in_as

OATHTOOL = "/usr/bin/oathtool"
ZBARIMG = "/usr/bin/zbarimg"


def totp(secret, offset_s=0):
    """The code oathtool computes for now + offset_s (RFC 6238, 6 digits, 30 s, SHA-1)."""
    now = int(time.time()) + offset_s
    r = subprocess.run([OATHTOOL, "--totp", "-b", "--now", "@%d" % now, secret],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r
    code = r.stdout.strip()
    assert len(code) == 6 and code.isdigit(), code
    return code


def decode_qr(rows, path):
    """Draws the page's module rows as a PBM (4 px a module, 4-module quiet zone) and
    has zbarimg read it."""
    n = len(rows)
    assert all(len(r) == n for r in rows), "QR matrix is not square"
    scale, side = 4, (n + 8) * 4
    with open(path, "w") as f:
        f.write("P1\n%d %d\n" % (side, side))
        for y in range(side):
            my = y // scale - 4
            f.write(" ".join(
                "1" if 0 <= my < n and 0 <= x // scale - 4 < n and rows[my][x // scale - 4] == "1" else "0"
                for x in range(side)) + "\n")
    r = subprocess.run([ZBARIMG, "-q", "--raw", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "zbarimg found no QR code: %r" % r
    return r.stdout.strip()


def enrol(srv, client, workdir):
    """Enrols TOTP for the signed-in `client`; returns (secret, recovery codes)."""
    pw = {"current_password": client.password}
    r = client.post("session/second-factor/totp", pw, csrf=False)
    assert_error_json(r, 403, "csrf_failed")
    # a borrowed session cannot tie the account to another phone
    assert_error_json(client.post("session/second-factor/totp"), 422, "current_password_required")
    assert_error_json(client.post("session/second-factor/totp", {"current_password": "not-" + client.password}),
                      422, "wrong_current_password")
    r = client.post("session/second-factor/totp", pw)
    assert r.status == 200, r
    e = r.json
    assert e["uri"].startswith("otpauth://totp/resetd:%s?" % client.user["username"]), e["uri"]
    assert "secret=%s&" % e["secret"] in e["uri"] and "digits=6" in e["uri"] and "period=30" in e["uri"]
    assert len(e["secret"]) == 32  # 160 bits
    assert decode_qr(e["qr"], os.path.join(workdir, "enrol.pbm")) == e["uri"]
    # not active before a code confirms it
    st = client.get("session/second-factor").json
    assert st == {"totp": False, "enrolling": True, "recovery_codes_left": 0, "policy": "optional",
                  "security_keys": [], "security_key_rp_id": None}, st
    assert sign_in_as(srv, client.user["username"], client.password)[1].json.get("csrf_token")
    wrong = "%06d" % ((int(totp(e["secret"])) + 500000) % 1000000)
    assert_error_json(client.post("session/second-factor/totp/confirm", {"code": wrong}), 422, "wrong_totp_code")
    r = client.post("session/second-factor/totp/confirm", {"code": totp(e["secret"])})
    assert r.status == 200, r
    codes = r.json["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    assert all(re.fullmatch(r"%d-[a-z0-9]{5}-[a-z0-9]{5}" % i, x) for i, x in enumerate(codes)), codes
    assert client.get("session/second-factor").json == {"totp": True, "enrolling": False,
                                                        "recovery_codes_left": 10, "policy": "optional",
                                                        "security_keys": [], "security_key_rp_id": None}
    # a second enrolment is refused while this one is active
    assert_error_json(client.post("session/second-factor/totp", pw), 409, "second_factor_enrolled")
    return e["secret"], codes


def staff(srv, admin, name, source):
    pw = strong_password()
    admin.create_user(name, password=pw, role="helpdesk_admin")
    c, r = sign_in_as(srv, name, pw, source=source)
    assert r.status == 200, r
    c.password = pw
    return c


def password_step(srv, name, pw, source):
    c, r = sign_in_as(srv, name, pw, source=source)
    assert r.status == 200, r
    assert r.json.get("second_factor_required") is True, r.json
    assert "csrf_token" not in r.json and "user" not in r.json, r.json
    assert not c.cookies, "the password step set cookies: %r" % c.cookies
    return c, r.json["pending_token"]


def second_step(c, pending, **kw):
    body = {"pending_token": pending}
    body.update(kw)
    r = c.post("session/second-factor", body, csrf=False)
    if r.status == 200:
        c.csrf = r.json["csrf_token"]
        c.user = r.json["user"]
    return r


def test_enrol_sign_in_replay_and_pending_token(server, admin, workdir):
    c = staff(server, admin, "tf-alice", "127.0.0.61")
    secret, codes = enrol(server, c, workdir)
    assert c.get("session").status == 200  # the enrolling session goes on
    # at rest: neither the secret (as text or raw bytes) nor a recovery code
    raw = base64.b32decode(secret)
    for name in os.listdir(server.data_dir):
        if name.startswith("resetd.db"):
            with open(os.path.join(server.data_dir, name), "rb") as f:
                data = f.read()
            assert secret.encode() not in data and raw not in data, name
            assert not any(x.encode() in data for x in codes), name

    d, pending = password_step(server, "tf-alice", c.password, "127.0.0.62")
    # the pending token is no session: as the cookie, anywhere, it gets 401
    d.cookies = {"resetd_session": pending}
    for path in ("session", "users", "session/second-factor", "sessions"):
        assert_error_json(d.get(path), 401, "not_signed_in")
    d.csrf = pending
    assert_error_json(d.post("session/second-factor/totp", {"current_password": c.password}), 401, "not_signed_in")
    d.cookies = {}
    # only from the address that typed the password
    other = server.client(source="127.0.0.63")
    assert_error_json(second_step(other, pending, code=totp(secret, 30)), 401, "sign_in_expired")

    # the next step's code (the confirming one is used up); window +1
    code = totp(secret, 30)
    r = second_step(d, pending, code=code)
    assert r.status == 200, r
    assert r.json["user"]["username"] == "tf-alice" and "resetd_session" in d.cookies
    assert d.get("session").status == 200
    # the pending token was single use
    assert_error_json(second_step(d, pending, code=code), 401, "sign_in_expired")

    # replay: the same code, and an older one, with a fresh password step
    e, pending2 = password_step(server, "tf-alice", c.password, "127.0.0.64")
    assert_error_json(second_step(e, pending2, code=code), 401, "invalid_second_factor")
    assert_error_json(second_step(e, pending2, code=totp(secret, -30)), 401, "invalid_second_factor")
    assert "resetd_session" not in e.cookies

    rows = [x for x in audit(admin, limit=200) if x["target"] == "tf-alice"]
    details = [(x["action"], x["outcome"], x.get("detail", "")) for x in rows]
    assert ("second_factor_enrol", "ok") in [(a, o) for a, o, _ in details], details
    assert any(a == "sign_in" and o == "ok" and "second factor: totp" in dt for a, o, dt in details), details
    assert any(a == "sign_in" and o == "failed" and "already used" in dt for a, o, dt in details), details
    for x in rows:  # no code or secret in the trail
        assert code not in str(x) and secret not in str(x), x


def test_wrong_codes_are_throttled_and_end_the_pending_sign_in(server, admin, workdir):
    c = staff(server, admin, "tf-bob", "127.0.0.71")
    secret, _ = enrol(server, c, workdir)
    d, pending = password_step(server, "tf-bob", c.password, "127.0.0.72")
    good = totp(secret, 30)
    wrong = "%06d" % ((int(good) + 1) % 1000000)
    for _ in range(3):
        assert_error_json(second_step(d, pending, code=wrong), 401, "invalid_second_factor")
    # the sign-in throttle's delay now covers both steps
    r = second_step(d, pending, code=wrong)
    assert_error_json(r, 429, "too_many_attempts")
    assert_error_json(sign_in_as(server, "tf-bob", c.password, source="127.0.0.73")[1], 429, "too_many_attempts")
    time.sleep(1.2)
    assert_error_json(second_step(d, pending, code=wrong), 401, "invalid_second_factor")
    time.sleep(2.2)
    assert_error_json(second_step(d, pending, code=wrong), 401, "invalid_second_factor")
    # five wrong codes: this pending sign-in is over, even with the right code
    assert_error_json(second_step(d, pending, code=good), 401, "sign_in_expired")
    failed = [x for x in audit(admin, limit=200)
              if x["target"] == "tf-bob" and x["action"] == "sign_in" and x["outcome"] == "failed"]
    assert len(failed) == 5 and all("wrong TOTP code" in x["detail"] for x in failed), failed


def test_wrong_codes_behind_the_right_password_meet_the_sign_in_delays(server, admin, workdir):
    # A borrowed session that knows the password: each factor route checks the
    # password, then the code. The right password must not end the account's run
    # of failures, or every wrong code is the first and the delays (after 3) and
    # the lockout (after 10) never come; nor may editing one's own address with
    # the password end it.
    c = staff(server, admin, "tf-gus", "127.0.0.91")
    secret, _ = enrol(server, c, workdir)
    wrong = "%06d" % ((int(totp(secret)) + 500000) % 1000000)
    body = {"current_password": c.password, "code": wrong}
    assert_error_json(c.post("session/second-factor/recovery-codes", body), 422, "wrong_second_factor")
    assert_error_json(c.post("session/second-factor/remove", body), 422, "wrong_second_factor")
    r = c.patch("users/%d" % c.user["id"], {"email": "tf-gus@example.org", "current_password": c.password})
    assert r.status == 200, r
    assert_error_json(c.post("session/second-factor/recovery-codes", body), 422, "wrong_second_factor")
    # three wrong codes in a row: the fourth waits, wherever it is sent from
    assert_error_json(c.post("session/second-factor/totp", body), 429, "too_many_attempts")
    assert_error_json(sign_in_as(server, "tf-gus", c.password, source="127.0.0.92")[1], 429, "too_many_attempts")
    assert c.get("session/second-factor").json["recovery_codes_left"] == 10


def test_recovery_codes_are_single_use(server, admin, workdir):
    c = staff(server, admin, "tf-carol", "127.0.0.81")
    secret, codes = enrol(server, c, workdir)
    d, pending = password_step(server, "tf-carol", c.password, "127.0.0.82")
    r = second_step(d, pending, recovery_code=codes[3].upper().replace("-", " "))
    assert r.status == 200, r
    st = d.get("session/second-factor").json
    assert st["totp"] is True and st["recovery_codes_left"] == 9, st
    e, pending2 = password_step(server, "tf-carol", c.password, "127.0.0.83")
    assert_error_json(second_step(e, pending2, recovery_code=codes[3]), 401, "invalid_second_factor")
    # another slot's number with this code: wrong as well
    assert_error_json(second_step(e, pending2, recovery_code="5" + codes[3][1:]), 401, "invalid_second_factor")
    r = second_step(e, pending2, recovery_code=codes[7])
    assert r.status == 200, r
    assert e.get("session/second-factor").json["recovery_codes_left"] == 8
    assert_error_json(second_step(e, pending2, code=totp(secret, 30)), 401, "sign_in_expired")


def test_console_break_glass_removes_the_second_factor(server, admin, workdir):
    c = staff(server, admin, "tf-dave", "127.0.0.91")
    enrol(server, c, workdir)
    password_step(server, "tf-dave", c.password, "127.0.0.92")
    r = run_cli("user", "reset-2fa", "--data-dir", server.data_dir, "--username", "TF-Dave")
    assert r.returncode == 0, r
    assert "second factor of tf-dave removed" in r.stdout
    d, r = sign_in_as(server, "tf-dave", c.password, source="127.0.0.93")
    assert r.status == 200 and "second_factor_required" not in r.json and r.json["csrf_token"], r
    assert d.get("session/second-factor").json["totp"] is False
    rows = [x for x in audit(admin, limit=200) if x["action"] == "second_factor_reset"]
    assert rows and rows[0]["actor"] == "console" and rows[0]["target"] == "tf-dave", rows
    r = run_cli("user", "reset-2fa", "--data-dir", server.data_dir, "--username", "nobody-here")
    assert r.returncode == 1 and "No such user" in r.stderr, r


def required_with_app(make_resetd, sink, name, source):
    """A server whose helpdesk_admin role requires a factor, and a helpdesk admin
    `name` signed in from `source` with an authenticator app set up: (server, admin
    client, the user's client, password, TOTP secret, recovery codes)."""
    srv = make_resetd(relay_port=sink.port, start=False)
    srv.extra_toml = '[second_factor]\nenabled = true\nglobal_admin = "optional"\nhelpdesk_admin = "required"\n'
    srv.write_config()
    srv.start()
    admin = srv.admin()
    pw = strong_password()
    admin.create_user(name, password=pw, role="helpdesk_admin")
    c, r = sign_in_as(srv, name, pw, source=source)
    assert r.status == 200 and r.json["second_factor_enrolment_required"] is True, r
    secret = c.post("session/second-factor/totp", {"current_password": pw}).json["secret"]
    r = c.post("session/second-factor/totp/confirm", {"code": totp(secret)})
    assert r.status == 200 and len(r.json["recovery_codes"]) == 10, r
    return srv, admin, c, pw, secret, r.json["recovery_codes"]


def test_replace_a_required_app_in_one_step(make_resetd, sink):
    """Issue 23: a new phone for an account whose role requires a factor. The old app
    keeps signing in until the new secret's first code is confirmed; then one write
    swaps them, and the account is never without a factor in between."""
    srv, admin, c, pw, old, old_codes = required_with_app(make_resetd, sink, "tf-rita", "127.0.0.91")
    # removing it is refused (the role requires it); the password alone starts no new one
    assert_error_json(c.post("session/second-factor/remove", {"current_password": pw, "code": totp(old, 30)}),
                      409, "second_factor_required_by_policy")
    assert_error_json(c.post("session/second-factor/totp", {"current_password": pw}), 409, "second_factor_enrolled")
    # the old factor proves the owner (here a recovery code, a lost phone's way; the app's
    # own code in the test below): a wrong code or a wrong password starts nothing
    wrong = "%06d" % ((int(totp(old, 30)) + 500000) % 1000000)
    assert_error_json(c.post("session/second-factor/totp", {"current_password": pw, "code": wrong}),
                      422, "wrong_second_factor")
    assert_error_json(c.post("session/second-factor/totp", {"current_password": "not-" + pw,
                                                            "recovery_code": old_codes[0]}),
                      422, "wrong_current_password")
    r = c.post("session/second-factor/totp", {"current_password": pw, "recovery_code": old_codes[0]})
    assert r.status == 200, r
    new = r.json["secret"]
    assert new != old and "secret=%s&" % new in r.json["uri"]
    # until the new app's first code: the old app is the factor, the new one signs nobody in
    assert c.get("session/second-factor").json["totp"] is True
    d, pending = password_step(srv, "tf-rita", pw, "127.0.0.92")
    assert_error_json(second_step(d, pending, code=totp(new, 30)), 401, "invalid_second_factor")
    assert second_step(d, pending, code=totp(old, 30)).status == 200
    assert d.get("users").status == 200
    # a wrong first code keeps both as they are
    bad = "%06d" % ((int(totp(new)) + 500000) % 1000000)
    assert_error_json(c.post("session/second-factor/totp/confirm", {"code": bad}), 422, "wrong_totp_code")
    r = c.post("session/second-factor/totp/confirm", {"code": totp(new)})
    assert r.status == 200, r
    new_codes = r.json["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert c.get("session/second-factor").json == {"totp": True, "enrolling": False, "recovery_codes_left": 10,
                                                   "policy": "required", "security_keys": [],
                                                   "security_key_rp_id": None}
    assert c.get("users").status == 200  # never confined in between
    assert_error_json(d.get("session"), 401, "not_signed_in")  # the other session ended
    # now the old app and the old recovery codes are out, the new app in
    e, pending = password_step(srv, "tf-rita", pw, "127.0.0.93")
    assert_error_json(second_step(e, pending, code=totp(old, 30)), 401, "invalid_second_factor")
    assert_error_json(second_step(e, pending, recovery_code=old_codes[3]), 401, "invalid_second_factor")
    assert second_step(e, pending, code=totp(new, 30)).status == 200
    rows = audit(admin, action="second_factor_replace", target="tf-rita")
    assert [x["outcome"] for x in rows if x["outcome"] in ("started", "ok")] == ["ok", "started"], rows
    # the confirm that finished it is used up: nothing left to confirm
    assert_error_json(c.post("session/second-factor/totp/confirm", {"code": totp(new, 30)}), 409, "no_enrolment")


def test_replace_proven_by_the_old_apps_code(make_resetd, sink):
    """The usual move: the old phone's current code proves the owner, and is used up."""
    srv, admin, c, pw, old, codes = required_with_app(make_resetd, sink, "tf-rosa", "127.0.0.94")
    r = c.post("session/second-factor/totp", {"current_password": pw, "code": totp(old, 30)})
    assert r.status == 200, r
    new = r.json["secret"]
    # the code that started it is used up
    assert_error_json(c.post("session/second-factor/totp", {"current_password": pw, "code": totp(old, 30)}),
                      422, "wrong_second_factor")
    r = c.post("session/second-factor/totp/confirm", {"code": totp(new)})
    assert r.status == 200 and len(r.json["recovery_codes"]) == 10, r
