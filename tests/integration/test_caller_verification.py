"""Issue 23 item 2: the helpdesk verifies the caller before a reset.

End to end with smtp-sink: the code arrives in the mail (parsed with Python's
email module) and never in an answer to the admin nor in the audit; three
wrong tries end a verification; it expires; it is used up by one reset and
bound to that admin and that user; a role that must verify is refused
without it, and its override reason is audited and mailed to global admins.
The TOTP path uses codes computed by oathtool.
"""
import json
import re

from conftest import assert_error_json, strong_password, wait_until
from sitekit import audit, clocked, sign_in_as  # noqa: F401
from test_second_factor import enrol, totp
from test_directory_slapd import slapd  # noqa: F401

CODE6 = re.compile(r"\b(\d{6})\b")
REQUIRED = '[caller_verification]\nhelpdesk_admin = "required"\n'


class Seen:
    """Every answer body the admin got, to show the code was in none of them."""

    def __init__(self):
        self.bodies = []

    def __call__(self, r):
        self.bodies.append(r.body if isinstance(r.body, (bytes, bytearray)) else str(r.body).encode())
        return r

    def assert_never(self, code):
        for b in self.bodies:
            assert code.encode() not in b, "the code was in an answer to the admin: %r" % b


def site(sink, make_resetd, extra_toml=REQUIRED):
    srv = make_resetd(relay_port=sink.port, extra_toml=extra_toml)
    admin = srv.admin()
    admin.create_user("boss", email="boss@corp.example", role="global_admin", password=strong_password())
    admin.create_user("carol", email="carol@corp.example", alternate_email="carol.p@home.example",
                      password=strong_password())
    pw = strong_password()
    admin.create_user("hd", email="hd@corp.example", role="helpdesk_admin", password=pw)
    hd, r = sign_in_as(srv, "hd", pw, source="127.0.0.71")
    assert r.status == 200, r
    carol = [u for u in admin.all_users()["users"] if u["username"] == "carol"][0]
    return srv, admin, hd, carol["id"]


def mailed_code(sink, count=1):
    msgs = sink.wait_message_to("carol.p@home.example", count=count)
    codes = [CODE6.findall(m.get_body(preferencelist=("plain",)).get_content()) for _, _, m in msgs]
    assert all(len(c) == 1 for c in codes), codes
    return msgs, [c[0] for c in codes]


def start(hd, uid, seen):
    r = seen(hd.post("users/%d/caller-verification" % uid, {}))
    assert r.status == 201, r
    return r.json


def check(hd, uid, vid, code, seen):
    return seen(hd.post("users/%d/caller-verification/check" % uid, {"id": vid, "code": code}))


def wrong(code):
    return "%06d" % ((int(code) + 1) % 1000000)


def test_code_by_mail_verifies_one_reset(sink, make_resetd):
    srv, admin, hd, uid = site(sink, make_resetd)
    seen = Seen()
    assert seen(hd.get("caller-verification")).json["policy"] == "required"
    # required: no reset without a verification (nothing changes, nothing is mailed)
    assert_error_json(seen(hd.reset(uid, notify=[])), 409, "caller_verification_required")
    assert not [e for e in audit(admin, limit=1000) if e["action"] == "password_reset"]

    ch = start(hd, uid, seen)
    assert ch["method"] == "email" and ch["destination"] == "c***@home.example", ch
    assert ch["verified"] is False and ch["tries_left"] == 3, ch
    msgs, (code,) = mailed_code(sink)
    _, _, msg = msgs[0]
    assert msg["Subject"] == "Your verification code for the IT helpdesk"
    assert "hd at the IT helpdesk" in msg.get_body(preferencelist=("plain",)).get_content()
    # the code of one admin's verification is nothing to another admin
    assert_error_json(check(admin, uid, ch["id"], code, seen), 404, "not_found")
    r = check(hd, uid, ch["id"], wrong(code), seen)
    assert_error_json(r, 422, "wrong_caller_code")
    r = check(hd, uid, ch["id"], code, seen)
    assert r.status == 200 and r.json["verified"] is True, r
    # a used code does not verify twice
    assert_error_json(check(hd, uid, ch["id"], code, seen), 409, "caller_verification_done")
    # another admin cannot spend it
    assert_error_json(seen(admin.reset(uid, notify=[], caller_verification=ch["id"])), 409,
                      "caller_verification_required")

    r = seen(hd.reset(uid, notify=[], caller_verification=ch["id"]))
    assert r.status == 200, r
    rows = [e for e in audit(admin, limit=1000) if e["action"] == "password_reset" and e["target"] == "carol"]
    assert len(rows) == 1 and "caller verified by code to c***@home.example" in rows[0]["detail"], rows
    # the user's notice says so, and carries no secret
    notices = sink.wait_message_to("carol@corp.example", contains="verified with a one-time code")
    text = notices[-1][2].get_body(preferencelist=("plain",)).get_content()
    assert "c***@home.example" in text and code not in text, text
    # single use: the same verification does not carry a second reset
    assert_error_json(seen(hd.reset(uid, notify=[], caller_verification=ch["id"])), 409,
                      "caller_verification_required")

    seen(admin.get("notifications?limit=200"))
    every_audit = json.dumps(audit(admin, limit=1000))
    assert code not in every_audit
    seen.assert_never(code)
    assert code.encode() not in open(srv.stderr_path, "rb").read()


def test_three_wrong_tries_end_it(sink, make_resetd):
    srv, admin, hd, uid = site(sink, make_resetd)
    seen = Seen()
    ch = start(hd, uid, seen)
    _, (code,) = mailed_code(sink)
    assert check(hd, uid, ch["id"], wrong(code), seen).json["error"]["message"].endswith("2 tries left.")
    assert_error_json(check(hd, uid, ch["id"], wrong(code), seen), 422, "wrong_caller_code")
    assert_error_json(check(hd, uid, ch["id"], wrong(code), seen), 409, "caller_verification_ended")
    # ended: the right code now verifies nothing, and no reset rides on it
    assert_error_json(check(hd, uid, ch["id"], code, seen), 404, "not_found")
    assert_error_json(seen(hd.reset(uid, notify=[], caller_verification=ch["id"])), 409,
                      "caller_verification_required")
    fails = [e for e in audit(admin, limit=1000) if e["action"] == "caller_verification" and e["outcome"] == "failed"]
    assert len(fails) == 3 and "verification ended" in fails[0]["detail"], fails
    seen.assert_never(code)


def test_a_verification_expires(clocked, sink):
    srv, clock = clocked
    admin = srv.admin()
    admin.create_user("carol", email="carol@corp.example", alternate_email="carol.p@home.example",
                      password=strong_password())
    uid = [u for u in admin.all_users()["users"] if u["username"] == "carol"][0]["id"]
    seen = Seen()
    ch = start(admin, uid, seen)
    _, (code,) = mailed_code(sink)
    clock.set(srv, 11 * 60)
    admin = srv.admin()
    assert_error_json(check(admin, uid, ch["id"], code, seen), 409, "caller_verification_expired")
    # a verified one goes stale too: the reset must follow within ten minutes
    ch = start(admin, uid, seen)
    _, codes = mailed_code(sink, count=2)
    fresh = [c for c in codes if c != code]
    assert check(admin, uid, ch["id"], fresh[0], seen).status == 200
    clock.set(srv, 22 * 60)
    admin = srv.admin()
    assert_error_json(seen(admin.reset(uid, notify=[], caller_verification=ch["id"])), 409,
                      "caller_verification_required")


def test_override_is_audited_and_mailed_to_global_admins(sink, make_resetd):
    srv, admin, hd, uid = site(sink, make_resetd)
    r = hd.reset(uid, notify=[], override_reason="x" * 501)
    assert_error_json(r, 422, "invalid_override_reason")
    # nothing that breaks the line or reorders it in the audit or the mail
    for bad in ("a\u2028b", "a\u0085b", "a\u202eb", "a\nb"):
        assert_error_json(hd.reset(uid, notify=[], override_reason=bad), 422, "invalid_override_reason")
    r = hd.reset(uid, notify=[], override_reason="Caller's phone lost; manager Dana confirmed in person")
    assert r.status == 200, r
    es = audit(admin, limit=1000)
    ov = [e for e in es if e["action"] == "caller_verification_override"]
    assert len(ov) == 1 and ov[0]["actor"] == "hd" and ov[0]["target"] == "carol", ov
    assert "manager Dana confirmed" in ov[0]["detail"]
    reset = [e for e in es if e["action"] == "password_reset" and e["target"] == "carol"][0]
    assert "caller not verified, override: Caller's phone lost" in reset["detail"], reset
    m = sink.wait_message_to("boss@corp.example", contains="manager Dana confirmed")
    assert m[-1][2]["Subject"] == "A password was reset without verifying the caller"
    assert "hd reset the password of carol" in m[-1][2].get_body(preferencelist=("plain",)).get_content()
    note = sink.wait_message_to("carol@corp.example", contains="did not verify the caller")
    assert "hd did not verify the caller" in note[-1][2].get_body(preferencelist=("plain",)).get_content()


def test_optional_role_unverified_reset_says_so(sink, make_resetd):
    srv, admin, hd, uid = site(sink, make_resetd, extra_toml='[caller_verification]\nhelpdesk_admin = "optional"\n')
    assert hd.get("caller-verification").json["policy"] == "optional"
    r = hd.reset(uid, notify=[])
    assert r.status == 200, r
    reset = [e for e in audit(admin, limit=1000) if e["action"] == "password_reset" and e["target"] == "carol"][0]
    assert reset["detail"].endswith(", caller not verified"), reset
    assert not [e for e in audit(admin, limit=1000) if e["action"] == "caller_verification_override"]


def test_off_role_is_not_offered(sink, make_resetd):
    srv, admin, hd, uid = site(sink, make_resetd, extra_toml='[caller_verification]\nhelpdesk_admin = "off"\n')
    assert_error_json(hd.post("users/%d/caller-verification" % uid, {}), 409, "caller_verification_off")
    assert hd.reset(uid, notify=[]).status == 200


def test_totp_path_with_oathtool(sink, make_resetd, workdir):
    srv = make_resetd(relay_port=sink.port)
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("tina", email="tina@corp.example", role="helpdesk_admin", password=pw)
    tina, r = sign_in_as(srv, "tina", pw, source="127.0.0.72")
    tina.password = pw
    secret, _ = enrol(srv, tina, workdir)
    uid = tina.user["id"]
    seen = Seen()
    ch = start(admin, uid, seen)
    assert ch["method"] == "totp" and ch["destination"] is None, ch
    code = totp(secret, 30)  # the next step: enrolment just used the current one
    assert_error_json(check(admin, uid, ch["id"], wrong(code), seen), 422, "wrong_caller_code")
    r = check(admin, uid, ch["id"], code, seen)
    assert r.status == 200 and r.json["verified"], r
    # the admin who heard the code cannot use it to sign in as tina (accepted once)
    c, r = sign_in_as(srv, "tina", pw, source="127.0.0.73")
    r2 = c.post("session/second-factor", {"pending_token": r.json["pending_token"], "code": code}, csrf=False)
    assert_error_json(r2, 401, "invalid_second_factor")
    r = seen(admin.reset(uid, notify=[], caller_verification=ch["id"]))
    assert r.status == 200, r
    reset = [e for e in audit(admin, limit=1000) if e["action"] == "password_reset" and e["target"] == "tina"][0]
    assert "caller verified by the code of their authenticator app" in reset["detail"], reset
    text = sink.wait_message_to("tina@corp.example", contains="authenticator app")[-1][2]
    assert code not in text.get_body(preferencelist=("plain",)).get_content()


def test_directory_user_verified_by_the_address_its_attribute_names(slapd, sink, make_resetd):
    """A directory user's alternate address comes from the attribute that
    [directory] alternate_email_attribute names; the code goes there."""
    from test_directory_slapd import synced
    from slapd_lab import dn
    r = slapd.ldapmodify("dn: %s\nchangetype: modify\nadd: description\ndescription: bob.cell@mobile.example\n"
                         % dn("bob"))
    assert r.returncode == 0, r.stderr
    toml = slapd.toml(extra='alternate_email_attribute = "description"\n') + \
        '\n[caller_verification]\nglobal_admin = "required"\n'
    srv = make_resetd(relay_port=sink.port, extra_toml=toml)
    admin = srv.admin()
    bob = synced(admin, ["bob"])["bob"]
    assert bob["source"] == "directory", bob
    assert bob["alternate_email"] == "bob.cell@mobile.example", bob
    uid = bob["id"]
    seen = Seen()
    assert_error_json(seen(admin.reset(uid, notify=[])), 409, "caller_verification_required")
    ch = start(admin, uid, seen)
    assert ch["method"] == "email" and ch["destination"] == "b***@mobile.example", ch
    msgs = sink.wait_message_to("bob.cell@mobile.example")
    (code,) = CODE6.findall(msgs[-1][2].get_body(preferencelist=("plain",)).get_content())
    assert not sink.messages_to("bob@example.test"), "the code went to the directory's primary address"
    r = check(admin, uid, ch["id"], code, seen)
    assert r.status == 200 and r.json["verified"] is True, r
    r = seen(admin.reset(uid, notify=[], caller_verification=ch["id"]))
    assert r.status == 200, r
    # the reset reached the directory
    rc, out = slapd.whoami("bob", r.json["password"])
    assert rc == 0, out
    rows = [e for e in audit(admin, limit=1000) if e["action"] == "password_reset" and e["target"] == "bob"]
    assert len(rows) == 1 and "caller verified by code to b***@mobile.example" in rows[0]["detail"], rows
    seen.assert_never(code)
    assert code not in json.dumps(audit(admin, limit=1000))


def test_bulk_reset_of_a_required_role_needs_the_reason_and_audits_it_per_user(sink, make_resetd):
    srv, admin, hd, carol = site(sink, make_resetd)
    admin.create_user("dave", email="dave@corp.example", password=strong_password())
    dave = [u for u in admin.all_users()["users"] if u["username"] == "dave"][0]["id"]
    # a verification names one user: the batch is refused as a whole, before anyone
    r = hd.post("users/password-reset", {"ids": [carol, dave], "mode": "auto", "notify": []})
    assert_error_json(r, 409, "caller_verification_required")
    assert r.json["error"]["field"] == "override_reason" and "bulk" in r.json["error"]["message"], r.json
    assert not [e for e in audit(admin, limit=1000) if e["action"] == "password_reset"]
    r = hd.post("users/password-reset", {"ids": [carol, dave], "mode": "auto", "notify": [],
                                         "override_reason": "x" * 501})
    assert_error_json(r, 422, "invalid_override_reason")
    r = hd.post("users/password-reset", {"ids": [carol, dave], "mode": "auto", "notify": [],
                                         "override_reason": "Office move: all of floor 3 at once, signed off by Dana"})
    assert r.status == 200 and [x["status"] for x in r.json["results"]] == [200, 200], r.json
    es = audit(admin, limit=1000)
    ov = sorted(e["target"] for e in es if e["action"] == "caller_verification_override" and e["actor"] == "hd"
                and "floor 3" in e["detail"])
    assert ov == ["carol", "dave"], es
    resets = sorted(e["target"] for e in es if e["action"] == "password_reset"
                    and "caller not verified, override: Office move" in e["detail"])
    assert resets == ["carol", "dave"], es


def test_bulk_override_is_announced_once_per_global_admin_not_once_per_user(sink, make_resetd):
    srv, admin, hd, carol = site(sink, make_resetd)
    admin.create_user("boss2", email="boss2@corp.example", role="global_admin", password=strong_password())
    names = ["carol"] + ["floor3u%d" % i for i in range(4)]
    for n in names[1:]:
        admin.create_user(n, email="%s@corp.example" % n, password=strong_password())
    users = {u["username"]: u for u in admin.all_users()["users"]}
    ids = [users[n]["id"] for n in names]
    r = hd.post("users/password-reset", {"ids": ids, "mode": "auto", "notify": [],
                                         "override_reason": "Office move: all of floor 3 at once, signed off by Dana"})
    assert r.status == 200 and [x["status"] for x in r.json["results"]] == [200] * len(ids), r.json
    passwords = [x["password"] for x in r.json["results"]]
    # the audit keeps its row per user
    ov = sorted(e["target"] for e in audit(admin, limit=1000)
                if e["action"] == "caller_verification_override" and "floor 3" in e["detail"])
    assert ov == sorted(names), ov
    for boss in ("boss", "boss2"):
        bid = users[boss]["id"]
        # every mail queued for this global admin has gone out before counting
        rows = wait_until(lambda: (lambda ns: ns if ns and all(n["state"] == "sent" for n in ns) else None)(
            [n for n in admin.notifications(user_id=bid) if n["kind"].startswith("caller_override")]),
            timeout=30, interval=0.2, what="caller override mails to %s sent" % boss)
        mails = sink.wait_message_to("%s@corp.example" % boss)
        assert len(rows) == 1 and len(mails) == 1, (boss, [n["kind"] for n in rows], len(mails))
        text = mails[0][2].get_body(preferencelist=("plain",)).get_content()
        assert mails[0][2]["Subject"] == "Passwords were reset in bulk without verifying the callers"
        assert "hd reset the passwords of %d users" % len(names) in text, text
        assert "Users: " + ", ".join(names) in text, text
        assert "Reason given: Office move: all of floor 3 at once, signed off by Dana" in text, text
        # never a password in it
        assert not [p for p in passwords if p in text or p in mails[0][2]["Subject"]], text


def test_settings_show_each_roles_policies_read_only(sink, make_resetd):
    toml = ('[caller_verification]\nhelpdesk_admin = "required"\nuser_admin = "off"\n'
            '\n[second_factor]\nenabled = true\nglobal_admin = "optional"\npassword_admin = "required"\nuser = "off"\n')
    srv, admin, hd, _ = site(sink, make_resetd, extra_toml=toml)
    r = admin.get("settings/role-policies")
    assert r.status == 200, r
    assert r.json == {
        "caller_verification": {"helpdesk_admin": "required", "password_admin": "optional",
                                "user_admin": "off", "global_admin": "optional"},
        "second_factor": {"user": "off", "helpdesk_admin": "optional", "password_admin": "required",
                          "user_admin": "optional", "global_admin": "optional"}}, r.json
    assert_error_json(hd.get("settings/role-policies"), 403, "forbidden")
    # read-only: the config file sets them
    r = admin.request("PUT", "settings/role-policies", {"caller_verification": {"helpdesk_admin": "off"}})
    assert r.status in (404, 405), r
    assert hd.get("caller-verification").json["policy"] == "required"
