"""Spec §5 self-service reset: always the same 202, an 8-digit code to the alternate
address (10 minutes, single use, 5 tries), per-client 429 alike for every username,
per-account code limit, sessions revoked and a secret-free notice afterwards; the audit
says what happened (also for unknown users)."""
import time

from conftest import assert_error_json, mail_text, strong_password, wait_until
from sitekit import (audit, clocked, codes_in, enable_self_service, put_ok, sign_in_as, ss_request,  # noqa: F401
                     ss_reset, wait_audit, wait_code)


def make_user(admin, name, alt=True):
    opts = {"alternate_email": "%s.alt@home.example.net" % name} if alt else {}
    r = admin.create_user(name, email="%s@corp.example.org" % name, password=strong_password(), **opts)
    return r.json["user"]["id"]


def test_request_answer_is_the_same_for_everyone_and_unknown_user_gets_nothing(server, sink, admin):
    enable_self_service(admin)
    make_user(admin, "ulla")
    known = ss_request(server, "ulla", source="127.0.0.41")
    assert known.status == 202, known
    code = wait_code(sink, "ulla.alt@home.example.net")
    assert len(code) == 8
    n_before = len(sink.messages())

    unknown = ss_request(server, "ghost-user", source="127.0.0.42")
    assert unknown.status == 202, unknown
    assert unknown.body == known.body, "answers differ: %r vs %r" % (known.body, unknown.body)
    assert unknown.headers.get("content-type") == known.headers.get("content-type")
    invalid = ss_request(server, "Not A Valid Name!", source="127.0.0.43")
    assert invalid.status == 202 and invalid.body == known.body, invalid

    e = wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["target"] == "ghost-user",
                   "self-service request for an unknown user")[0]
    assert e["outcome"] != "ok" and "unknown" in e["detail"].lower(), e
    assert e["client"] == "127.0.0.42", e
    ok = wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["target"] == "ulla",
                    "self-service request for ulla")[0]
    assert ok["outcome"] == "ok", ok
    time.sleep(1.5)
    assert len(sink.messages()) == n_before, "something was mailed for an unknown user"

    # self-service off: the same 202, nothing mailed, reset refused
    enable_self_service(admin, False)
    off = ss_request(server, "ulla", source="127.0.0.44")
    assert off.status == 202 and off.body == known.body, off
    wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["client"] == "127.0.0.44",
               "request while self-service is off")
    time.sleep(1.0)
    assert len(sink.messages()) == n_before, "a code was mailed while self-service is off"
    r = ss_reset(server, "ulla", code, strong_password(), source="127.0.0.45")
    assert_error_json(r, (403, 422), "self_service_disabled")
    # missing username
    assert_error_json(server.client().post("self-service/requests", {}, csrf=False), (400, 422))


def test_code_resets_password_once_revokes_sessions_and_sends_notice(server, sink, admin):
    enable_self_service(admin)
    uid = make_user(admin, "sofia")
    old_pw = strong_password()
    admin.reset(uid, mode="manual", password=old_pw, require_change=False, notify_user=False)
    s1, r = sign_in_as(server, "sofia", old_pw, source="127.0.0.51")
    assert r.status == 200, r
    s2, r = sign_in_as(server, "sofia", old_pw, source="127.0.0.52")
    assert r.status == 200, r

    assert ss_request(server, "Sofia", source="127.0.0.53").status == 202  # case-insensitive
    msgs = sink.wait_message_to("sofia.alt@home.example.net")
    assert len(msgs) == 1
    code = wait_code(sink, "sofia.alt@home.example.net")
    assert not sink.messages_to("sofia@corp.example.org"), "the code went to the primary address"

    wrong = "%08d" % ((int(code) + 1) % 10 ** 8)
    e = assert_error_json(ss_reset(server, "sofia", wrong, strong_password(), source="127.0.0.54"),
                          422, "invalid_code")
    assert e.get("field") == "code"
    assert_error_json(ss_reset(server, "sofia", "12ab", strong_password(), source="127.0.0.54"), 422,
                      "invalid_code")
    # a policy failure does not use the code up
    r = ss_reset(server, "sofia", code, "short", source="127.0.0.54")
    assert r.status == 422 and r.json["error"]["code"] != "invalid_code", r

    new_pw = strong_password()
    r = ss_reset(server, "sofia", code, new_pw, source="127.0.0.54")
    assert r.status == 200 and r.json.get("ok") is True, r

    # single use
    r = ss_reset(server, "sofia", code, strong_password(), source="127.0.0.55")
    assert_error_json(r, 422, ("invalid_code", "code_used"))
    # old password gone, new one works
    assert sign_in_as(server, "sofia", old_pw, source="127.0.0.56")[1].status == 401
    c, r = sign_in_as(server, "sofia", new_pw, source="127.0.0.57")
    assert r.status == 200 and r.json["must_change_password"] is False, r
    # every earlier session revoked
    for s in (s1, s2):
        assert_error_json(s.get("session"), 401)
    # secret-free notice to the address on file
    notice = sink.wait_message_to("sofia@corp.example.org")
    assert len(notice) == 1, notice
    body = mail_text(notice[0][2])
    assert code not in body and new_pw not in body and old_pw not in body, body
    assert "sofia" in body.lower()
    es = audit(admin, action="self_service_reset")
    assert any(e["target"] == "sofia" and e["outcome"] == "ok" for e in es), es
    assert any(e["target"] == "sofia" and e["outcome"] == "failed" for e in es), es


def test_too_many_tries_and_newer_code_replaces_older(server, sink, admin):
    enable_self_service(admin)
    make_user(admin, "tomas")
    assert ss_request(server, "tomas", source="127.0.0.61").status == 202
    code1 = wait_code(sink, "tomas.alt@home.example.net", count=1)
    assert ss_request(server, "tomas", source="127.0.0.61").status == 202
    code2 = wait_code(sink, "tomas.alt@home.example.net", count=2, known=[code1])
    assert code1 != code2
    # the superseded code is refused, and is the first of the 5 tries
    assert_error_json(ss_reset(server, "tomas", code1, strong_password(), source="127.0.0.62"),
                      422, ("invalid_code", "code_used", "code_superseded"))
    wrongs = ["%08d" % ((int(code2) + k) % 10 ** 8) for k in range(1, 5)]
    codes = []
    for w in wrongs[:3]:
        r = ss_reset(server, "tomas", w, strong_password(), source="127.0.0.63")
        codes.append(assert_error_json(r, 422)["code"])
    assert codes == ["invalid_code"] * 3, codes
    r5 = ss_reset(server, "tomas", wrongs[3], strong_password(), source="127.0.0.64")
    c5 = assert_error_json(r5, 422, ("invalid_code", "too_many_tries"))["code"]
    # the right code after 5 wrong tries is refused
    pw = strong_password()
    r6 = ss_reset(server, "tomas", code2, pw, source="127.0.0.65")
    c6 = assert_error_json(r6, 422, ("invalid_code", "too_many_tries"))["code"]
    assert "too_many_tries" in (c5, c6), "no too_many_tries after 5 wrong codes: %s, %s" % (c5, c6)
    assert sign_in_as(server, "tomas", pw, source="127.0.0.66")[1].status == 401, \
        "the code worked after 5 wrong tries"


def test_per_client_rate_limit_is_alike_for_every_username(server, sink, admin):
    enable_self_service(admin)
    make_user(admin, "rasmus")
    src = "127.0.0.71"
    for i in range(5):
        r = ss_request(server, "nobody-%d" % i, source=src)
        assert r.status == 202, (i, r)
    r_known = ss_request(server, "rasmus", source=src)
    r_unknown = ss_request(server, "nobody-x", source=src)
    for r in (r_known, r_unknown):
        assert_error_json(r, 429)
        assert r.headers.get("retry-after", "").isdigit(), r.headers
    assert r_known.json["error"] == r_unknown.json["error"], (r_known.json, r_unknown.json)
    # another client is not affected
    assert ss_request(server, "rasmus", source="127.0.0.72").status == 202
    sink.wait_message_to("rasmus.alt@home.example.net")
    time.sleep(1.0)
    assert len(sink.messages_to("rasmus.alt@home.example.net")) == 1, "a 429'd request sent a code"


def test_per_account_code_limit(server, sink, admin):
    enable_self_service(admin)
    make_user(admin, "paula")
    for i in range(4):
        assert ss_request(server, "paula", source="127.0.0.%d" % (80 + i)).status == 202
    sink.wait_message_to("paula.alt@home.example.net", count=3)
    wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["target"] == "paula"
               and e["outcome"] != "ok", "denied 4th code request")
    time.sleep(1.0)
    assert len(sink.messages_to("paula.alt@home.example.net")) == 3, "more than 3 codes in an hour"


def test_user_without_alternate_address_or_disabled_gets_no_code(server, sink, admin):
    enable_self_service(admin)
    make_user(admin, "noalt", alt=False)
    did = make_user(admin, "dora")
    assert admin.patch("users/%d" % did, {"disabled": True}).status == 200
    assert ss_request(server, "noalt", source="127.0.0.91").status == 202
    assert ss_request(server, "dora", source="127.0.0.92").status == 202
    wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["target"] == "noalt", "noalt")
    wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["target"] == "dora", "dora")
    time.sleep(1.0)
    assert not sink.messages(), "mail sent: %r" % [str(m["To"]) for _, _, m in sink.messages()]


def test_expired_code(clocked, sink):
    srv, clock = clocked
    admin = srv.admin()
    enable_self_service(admin)
    make_user(admin, "erik")
    assert ss_request(srv, "erik", source="127.0.0.101").status == 202
    code = wait_code(sink, "erik.alt@home.example.net")
    clock.advance(srv, 9 * 60)
    # at 9 minutes the code has not expired: a wrong code is just wrong
    wrong = "%08d" % ((int(code) + 7) % 10 ** 8)
    assert_error_json(ss_reset(srv, "erik", wrong, strong_password(), source="127.0.0.102"), 422, "invalid_code")
    clock.advance(srv, 90)  # 10.5 minutes after the request
    pw = strong_password()
    e = assert_error_json(ss_reset(srv, "erik", code, pw, source="127.0.0.102"), 422, "code_expired")
    assert e.get("field") == "code"
    assert sign_in_as(srv, "erik", pw, source="127.0.0.103")[1].status == 401
    # a fresh code still works
    assert ss_request(srv, "erik", source="127.0.0.104").status == 202
    code2 = wait_code(sink, "erik.alt@home.example.net", count=2, known=[code])
    r = ss_reset(srv, "erik", code2, pw, source="127.0.0.105")
    assert r.status == 200, r
    assert sign_in_as(srv, "erik", pw, source="127.0.0.106")[1].status == 200


def test_fifth_try_with_the_right_code_still_works(server, sink, admin):
    enable_self_service(admin)
    make_user(admin, "fiona")
    assert ss_request(server, "fiona", source="127.0.0.111").status == 202
    code = wait_code(sink, "fiona.alt@home.example.net")
    for k in range(1, 5):
        assert_error_json(ss_reset(server, "fiona", "%08d" % ((int(code) + k) % 10 ** 8), strong_password(),
                                   source="127.0.0.112"), 422, "invalid_code")
    pw = strong_password()
    r = ss_reset(server, "fiona", code, pw, source="127.0.0.113")
    assert r.status == 200, "the 5th try (right code) was refused: %r" % r
    assert sign_in_as(server, "fiona", pw, source="127.0.0.114")[1].status == 200


def make_admin(admin, name, pw):
    r = admin.create_user(name, email="%s@corp.example.org" % name, password=pw, role="global_admin",
                          alternate_email="%s.alt@home.example.net" % name)
    return r.json["user"]["id"]


def test_own_address_change_needs_password_notifies_old_addresses_and_voids_codes(server, sink, admin):
    """Issue 9 #4: a borrowed session must not be able to redirect its owner's
    codes: changing one's own email/alternate_email needs the current password,
    the old addresses get a secret-free notice, outstanding codes die."""
    pw = strong_password()
    gid = make_admin(admin, "gail", pw)
    put_ok(admin, "self-service", {"enabled": True, "admins_enabled": True})
    assert ss_request(server, "gail").status == 202
    code = wait_code(sink, "gail.alt@home.example.net")

    c, r = sign_in_as(server, "gail", pw)
    assert r.status == 200, r
    e = assert_error_json(c.patch("users/%d" % gid, {"alternate_email": "thief@evil.example"}), 422,
                          "current_password_required")
    assert e.get("field") == "current_password", e
    e = assert_error_json(c.patch("users/%d" % gid, {"alternate_email": "thief@evil.example",
                                                     "current_password": "not-" + pw}), 422,
                          "wrong_current_password")
    assert e.get("field") == "current_password", e
    assert admin.get("users/%d" % gid).json["alternate_email"] == "gail.alt@home.example.net"
    # other fields of one's own account still need no password
    assert c.patch("users/%d" % gid, {"display_name": "Gail G."}).status == 200
    assert c.patch("users/%d" % gid, {"email": "gail@corp.example.org"}).status == 200  # unchanged value

    r = c.patch("users/%d" % gid, {"alternate_email": "gail.new@home.example.net", "current_password": pw})
    assert r.status == 200, r
    assert r.json["alternate_email"] == "gail.new@home.example.net"
    # a secret-free notice to both old addresses, none to the new one
    for addr in ("gail@corp.example.org", "gail.alt@home.example.net"):
        msgs = sink.wait_message_to(addr, contains="changed", timeout=20)
        text = mail_text(msgs[-1][2])
        assert not codes_in(msgs[-1][2]) and pw not in text, text
    assert not sink.messages_to("gail.new@home.example.net")
    # the code mailed to the old alternate address is void
    r = ss_reset(server, "gail", code, strong_password())
    assert r.status == 422, r
    assert sign_in_as(server, "gail", pw)[1].status == 200, "the password changed anyway"
    entry = wait_audit(admin, lambda e: e["action"] == "user_update" and e["target"] == "gail"
                       and "current password confirmed" in e["detail"], "address change")[0]
    assert "thief" not in entry["detail"]
    assert wait_audit(admin, lambda e: e["action"] == "user_update" and e["target"] == "gail"
                      and e["outcome"] == "failed", "wrong current password")

    # throttled like a sign-in: wrong guesses soon answer 429
    statuses = []
    for i in range(6):
        r = c.patch("users/%d" % gid, {"email": "x%d@evil.example" % i, "current_password": "guess-%d" % i})
        statuses.append(r.status)
        if r.status == 429:
            break
    assert statuses[-1] == 429 and statuses.count(422) <= 3, statuses
    assert admin.get("users/%d" % gid).json["email"] == "gail@corp.example.org"

    # an admin changing someone else's address: unchanged (no password asked)
    uid = make_user(admin, "otto")
    assert admin.patch("users/%d" % uid, {"alternate_email": "otto.new@home.example.net"}).status == 200


def test_self_service_is_off_for_admin_roles_unless_the_site_allows_it(server, sink, admin):
    """Issue 9 #4: admin roles get no code unless the site turns it on for them;
    the request answers 202 alike."""
    gid = make_admin(admin, "hera", strong_password())
    make_user(admin, "ulla")
    j = put_ok(admin, "self-service", {"enabled": True})
    assert j == {"enabled": True, "admins_enabled": False}, j
    assert ss_request(server, "hera").status == 202
    assert ss_request(server, "ulla").status == 202
    wait_code(sink, "ulla.alt@home.example.net")
    wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["target"] == "hera"
               and "admin roles" in e["detail"], "admin refused")
    assert not sink.messages_to("hera.alt@home.example.net")
    j = put_ok(admin, "self-service", {"admins_enabled": True})
    assert j == {"enabled": True, "admins_enabled": True}, j
    assert ss_request(server, "hera").status == 202
    code = wait_code(sink, "hera.alt@home.example.net")
    # switched off again: a code already mailed no longer works for an admin
    put_ok(admin, "self-service", {"admins_enabled": False})
    assert ss_reset(server, "hera", code, strong_password()).status == 422
    assert gid
