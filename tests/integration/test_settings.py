"""Spec §3, §4, §5, §6, §7: site settings through the API — password policy, expiration,
self-service, retention, relay — validated with field-level errors, global_admin only,
relay secrets write-only, a relay change applied without a restart, and the relay test
returning the relay's exact answer."""
import json

from conftest import assert_error_json, free_port, mail_text, strong_password, wait_until
from sitekit import put, put_ok, sign_in_as


def expect_field_error(r, field, status=422, code="invalid_setting"):
    e = assert_error_json(r, status, code)
    assert e.get("field") == field, "expected field %r, got %r" % (field, e)
    return e


def test_password_policy_edge_values(admin):
    g = admin.get("settings/password-policy")
    assert g.status == 200, g
    assert g.json["min_length"] == 12 and g.json["min_strength_bits"] == 30, g.json  # spec defaults
    assert isinstance(g.json["banned_words"], list)

    for bad in (7, 65, 0, -1):
        expect_field_error(put(admin, "password-policy", {"min_length": bad}), "min_length")
    for bad in (81, -1, 1000):
        expect_field_error(put(admin, "password-policy", {"min_strength_bits": bad}), "min_strength_bits")
    # a refused PUT changes nothing
    assert admin.get("settings/password-policy").json["min_length"] == 12

    for ok in (8, 64):
        assert put_ok(admin, "password-policy", {"min_length": ok})["min_length"] == ok
        assert admin.get("settings/password-policy").json["min_length"] == ok
    for ok in (0, 80):
        assert put_ok(admin, "password-policy", {"min_strength_bits": ok})["min_strength_bits"] == ok
        assert admin.get("settings/password-policy").json["min_strength_bits"] == ok

    # the settings take effect: 8 code points accepted, 7 refused
    put_ok(admin, "password-policy", {"min_length": 8, "min_strength_bits": 0})
    pc = admin.post("password-check", {"password": "qz7wkpxr"})
    assert pc.status == 200 and pc.json["ok"] is True, pc
    pc = admin.post("password-check", {"password": "qz7wkpx"})
    assert pc.status == 200 and pc.json["ok"] is False and "password_too_short" in pc.json["reasons"], pc
    put_ok(admin, "password-policy", {"min_length": 64})
    pw64 = (strong_password() + strong_password() + strong_password())[:64]
    pc = admin.post("password-check", {"password": pw64})
    assert pc.json["ok"] is True, pc.json
    pc = admin.post("password-check", {"password": pw64[:63]})
    assert pc.json["ok"] is False and "password_too_short" in pc.json["reasons"], pc.json

    # banned words: 3–64 characters each, wrong type is 400 with the field
    put_ok(admin, "password-policy", {"min_length": 12, "min_strength_bits": 30})
    expect_field_error(put(admin, "password-policy", {"banned_words": ["ok", "zebracorn"]}), "banned_words")
    assert_error_json(put(admin, "password-policy", {"banned_words": "zebracorn"}), 400, "invalid_type")
    assert_error_json(put(admin, "password-policy", {"min_length": "12"}), 400, "invalid_type")
    j = put_ok(admin, "password-policy", {"banned_words": ["zebracorn"]})
    assert j["banned_words"] == ["zebracorn"], j
    pc = admin.post("password-check", {"password": "Vx9-Zebracorn-Lm4!q7"})
    assert pc.json["ok"] is False and pc.json["reasons"], pc.json


def test_expiration_edge_values(admin):
    g = admin.get("settings/expiration")
    assert g.status == 200 and g.json["never_expires"] is True, g  # default: never
    for body, field in (({"never_expires": False, "days": 13, "reminder_days": 5}, "days"),
                        ({"never_expires": False, "days": 731, "reminder_days": 5}, "days"),
                        ({"never_expires": False, "days": 90, "reminder_days": 0}, "reminder_days"),
                        ({"never_expires": False, "days": 90, "reminder_days": 31}, "reminder_days"),
                        ({"never_expires": False, "days": 14, "reminder_days": 14}, "reminder_days"),
                        ({"never_expires": False, "days": 20, "reminder_days": 20}, "reminder_days"),
                        ({"never_expires": False, "days": 20, "reminder_days": 25}, "reminder_days")):
        expect_field_error(put(admin, "expiration", body), field)
    assert admin.get("settings/expiration").json["never_expires"] is True, "refused PUT applied"
    assert_error_json(put(admin, "expiration", {"never_expires": "no"}), 400, "invalid_type")

    for days, rem in ((14, 13), (14, 1), (730, 30), (20, 19)):
        j = put_ok(admin, "expiration", {"never_expires": False, "days": days, "reminder_days": rem})
        assert (j["never_expires"], j["days"], j["reminder_days"]) == (False, days, rem), j
        g = admin.get("settings/expiration").json
        assert (g["never_expires"], g["days"], g["reminder_days"]) == (False, days, rem), g
    j = put_ok(admin, "expiration", {"never_expires": True})
    assert j["never_expires"] is True


def test_self_service_and_retention_settings(server, admin):
    g = admin.get("settings/self-service")
    # off until an admin turns it on, and off for admin roles unless the site says so
    assert g.status == 200 and g.json == {"enabled": False, "admins_enabled": False}, g
    assert put_ok(admin, "self-service", {"enabled": True}) == {"enabled": True, "admins_enabled": False}
    assert admin.get("settings/self-service").json == {"enabled": True, "admins_enabled": False}
    assert_error_json(put(admin, "self-service", {"enabled": "yes"}), 400, "invalid_type")
    assert_error_json(put(admin, "self-service", {"admins_enabled": 1}), 400, "invalid_type")
    assert admin.get("settings/self-service").json == {"enabled": True, "admins_enabled": False}
    assert put_ok(admin, "self-service", {"enabled": False}) == {"enabled": False, "admins_enabled": False}

    g = admin.get("settings/retention")
    assert g.status == 200 and g.json["audit_days"] == 365, g  # spec §9 default
    for bad in (29, 3651, 0, -5):
        expect_field_error(put(admin, "retention", {"audit_days": bad}), "audit_days")
    for ok in (30, 3650, 365):
        assert put_ok(admin, "retention", {"audit_days": ok})["audit_days"] == ok
        assert admin.get("settings/retention").json["audit_days"] == ok


def test_relay_settings_validation_field_errors(server, admin):
    before = admin.get("settings/relay")
    assert before.status == 200, before
    cases = [({"port": 0}, "port"), ({"port": 65536}, "port"),
             ({"timeout_s": 0}, "timeout_s"), ({"timeout_s": 301}, "timeout_s"),
             ({"kind": "carrier-pigeon"}, "kind"), ({"security": "maybe"}, "security"),
             ({"from": "not an address"}, "from"), ({"ca_file": "/nonexistent/ca.pem"}, "ca_file"),
             ({"host": "bad host"}, "host"),
             ({"kind": "webhook", "url": "ftp://x", "secret": "s3cr3t-hook"}, "url"),
             ({"kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": ""}, "secret")]
    for body, field in cases:
        e = expect_field_error(put(admin, "relay", body), field)
        assert e["message"].strip()
    assert_error_json(put(admin, "relay", {"port": "25"}), 400, "invalid_type")
    after = admin.get("settings/relay")
    assert after.json == before.json, "a refused relay PUT changed the settings: %r -> %r" % (before.json, after.json)


def test_relay_secrets_are_write_only(server, admin):
    relay_pw = "RelayPw-" + strong_password()
    hook_secret = "HookSecret-" + strong_password()
    g = admin.get("settings/relay")
    assert g.status == 200
    assert set(g.json) >= {"kind", "host", "port", "security", "username", "from", "ca_file",
                           "timeout_s", "url", "password_set", "secret_set"}, g.json
    assert g.json["password_set"] is False and g.json["secret_set"] is False, g.json
    r = put(admin, "relay", {"password": relay_pw, "secret": hook_secret})
    assert r.status == 200, r
    for resp in (r, admin.get("settings/relay")):
        assert relay_pw.encode() not in resp.body and hook_secret.encode() not in resp.body, \
            "a relay secret was returned: %r" % resp.body
        j = resp.json
        assert "password" not in j and "secret" not in j, j
        assert j["password_set"] is True and j["secret_set"] is True, j
        assert j["kind"] == "smtp" and j["port"] == server.relay_port, j
    # a PUT without the secrets keeps them
    j = put_ok(admin, "relay", {"timeout_s": 7})
    assert j["password_set"] is True and j["secret_set"] is True and j["timeout_s"] == 7, j
    # empty string clears
    j = put_ok(admin, "relay", {"password": ""})
    assert j["password_set"] is False and j["secret_set"] is True, j
    # not in the audit trail either
    a = admin.get("audit?limit=1000")
    assert a.status == 200
    assert relay_pw.encode() not in a.body and hook_secret.encode() not in a.body
    assert any(e["action"] == "setting_change" and e["target"] == "relay" for e in a.json["entries"]), \
        "relay change not audited"
    assert relay_pw not in server.stderr() and hook_secret not in server.stderr()


def test_settings_audit_backup_are_global_admin_only(server, admin):
    pw = strong_password()
    for role in ("user_admin", "helpdesk_admin", "password_admin", "user"):
        admin.create_user("ua-" + role.replace("_", "-"), role=role, password=pw)
    for role in ("user_admin", "helpdesk_admin", "password_admin", "user"):
        c, r = sign_in_as(server, "ua-" + role.replace("_", "-"), pw)
        assert r.status == 200, r
        for what in ("relay", "password-policy", "expiration", "self-service", "retention"):
            assert_error_json(c.get("settings/" + what), 403)
        assert_error_json(put(c, "password-policy", {"min_length": 8}), 403)
        assert_error_json(put(c, "expiration", {"never_expires": False, "days": 30, "reminder_days": 5}), 403)
        assert_error_json(put(c, "self-service", {"enabled": True}), 403)
        assert_error_json(put(c, "retention", {"audit_days": 30}), 403)
        assert_error_json(put(c, "relay", {"port": 2525}), 403)
        assert_error_json(c.post("settings/relay/test", {"to": "x@example.org"}), 403)
        assert_error_json(c.get("audit"), 403)
        assert_error_json(c.get("audit?format=csv"), 403)
        assert_error_json(c.get("backup"), 403)
    # nothing changed
    assert admin.get("settings/password-policy").json["min_length"] == 12
    assert admin.get("settings/self-service").json["enabled"] is False
    assert admin.get("settings/relay").json["port"] == server.relay_port
    # and signed out: 401
    anon = server.client()
    assert_error_json(anon.get("settings/relay"), 401)
    assert_error_json(anon.get("backup"), 401)


def test_relay_change_takes_effect_without_restart(sink, make_resetd):
    dead = free_port()
    srv = make_resetd(relay_port=dead)  # nothing listens there
    pid = srv.proc.pid
    admin = srv.admin()
    uid = admin.create_user("rolf", password=strong_password()).json["user"]["id"]
    r = admin.reset(uid, notify=["rolf.home@example.net"], notify_user=False)
    assert r.status == 200, r
    nid = r.json["notifications"][0]["id"]
    n = admin.wait_notification(nid, ("queued", "failed"), user_id=uid, pred=lambda n: n["attempts"] >= 1)
    assert n["last_answer"], n
    assert not sink.messages(), "mail reached smtp-sink through a relay on another port?"

    t = admin.post("settings/relay/test", {"to": "probe@example.net"})
    assert t.status == 200 and t.json["ok"] is False and t.json["answer"], t

    j = put_ok(admin, "relay", {"port": sink.port})
    assert j["port"] == sink.port
    r2 = admin.reset(uid, notify=["rolf.home@example.net"], notify_user=False)
    assert r2.status == 200, r2
    pw2 = r2.json["password"]
    msgs = sink.wait_message_to("rolf.home@example.net", contains=pw2, timeout=20)
    assert len(msgs) == 1
    n2 = admin.wait_notification(r2.json["notifications"][0]["id"], "sent", user_id=uid)
    assert n2["state"] == "sent"
    assert srv.proc.pid == pid and srv.proc.poll() is None, "the server restarted"
    # survives a restart too (kept in the database, overrides the file)
    srv.restart()
    admin = srv.admin()
    assert admin.get("settings/relay").json["port"] == sink.port


def test_relay_test_returns_the_relays_exact_answer(server, sink, admin):
    r = admin.post("settings/relay/test", {"to": "relaytest@example.net"})
    assert r.status == 200, r
    assert r.json == {"ok": True, "answer": "250 2.0.0 Ok"} or \
        (r.json["ok"] is True and r.json["answer"] == "250 2.0.0 Ok"), \
        "smtp-sink answers '250 2.0.0 Ok' to the message; got %r" % r.json
    msgs = sink.wait_message_to("relaytest@example.net")
    assert len(msgs) == 1
    assert str(msgs[0][2]["To"]).strip().endswith("relaytest@example.net")

    text = "550 5.7.1 Rejected by relay test rule 42-xq"
    sink.restart("-f", ".", "-B", text)
    r = admin.post("settings/relay/test", {"to": "relaytest2@example.net"})
    assert r.status == 200, r
    assert r.json["ok"] is False and r.json["answer"] == text, \
        "expected the relay's exact answer %r, got %r" % (text, r.json)

    sink.restart("-r", "RCPT", "-b", "452 4.5.3 Too many recipients today")
    r = admin.post("settings/relay/test", {"to": "relaytest3@example.net"})
    assert r.status == 200 and r.json["ok"] is False, r
    assert r.json["answer"] == "452 4.5.3 Too many recipients today", r.json
    sink.restart()

    for bad in ("no-at-sign", "a b@example.org", "@example.org", "x@y,z@w"):
        e = assert_error_json(admin.post("settings/relay/test", {"to": bad}), 422)
        assert e.get("field") == "to", e
    assert_error_json(admin.post("settings/relay/test", {}), 422)
    # the tests are audited with the answer
    es = [e for e in admin.get("audit?action=relay_test&limit=100").json["entries"]]
    assert any(e["target"] == "relaytest2@example.net" and e["outcome"] == "failed" and text in e["detail"]
               for e in es), es


def test_relay_secret_is_dropped_when_the_destination_changes(server, admin):
    """Issue 9 #5: a stored SMTP password / webhook secret never follows the relay
    to a new destination unless it is typed again in the same request."""
    pw = "RelayPw-" + strong_password()
    base = {"kind": "smtp", "host": "127.0.0.1", "port": server.relay_port, "security": "starttls",
            "username": "resetd-relay"}
    for change in ({"host": "localhost"}, {"port": server.relay_port + 1}, {"security": "tls"},
                   {"username": "someone-else"}, {"kind": "file"}):
        j = put_ok(admin, "relay", dict(base, password=pw))
        assert j["password_set"] is True, j
        j = put_ok(admin, "relay", change)
        assert j["password_set"] is False, "password kept after %r: %r" % (change, j)
        a = admin.get("audit?action=setting_change&limit=1").json["entries"][0]
        assert "password dropped" in a["detail"], a
    # typed again in the same request: kept
    put_ok(admin, "relay", dict(base, password=pw))
    j = put_ok(admin, "relay", {"host": "localhost", "password": pw})
    assert j["password_set"] is True, j
    # the same destination sent again (a form that posts every field): kept
    j = put_ok(admin, "relay", {"kind": "smtp", "host": "localhost", "port": server.relay_port,
                                "security": "starttls", "username": "resetd-relay", "timeout_s": 9})
    assert j["password_set"] is True, j

    # webhook: a new url without the secret is refused (the secret is required) and
    # nothing changes; with the secret typed again it is saved
    j = put_ok(admin, "relay", {"kind": "webhook", "url": "http://127.0.0.1:9/a", "secret": "hook-secret-1"})
    assert j["secret_set"] is True
    expect_field_error(put(admin, "relay", {"url": "http://127.0.0.1:9/b"}), "secret")
    assert admin.get("settings/relay").json["url"] == "http://127.0.0.1:9/a"
    j = put_ok(admin, "relay", {"url": "http://127.0.0.1:9/b", "secret": "hook-secret-2"})
    assert j["secret_set"] is True and j["url"].endswith("/b"), j
    assert j["password_set"] is False


def test_relay_auth_without_tls_is_refused(server, admin):
    """Issue 9 #5: a username (AUTH) with security "none" would send credentials in clear."""
    before = admin.get("settings/relay").json
    e = expect_field_error(put(admin, "relay", {"kind": "smtp", "security": "none", "username": "resetd-relay",
                                                "password": "RelayPw-" + strong_password()}), "security")
    assert e["message"].strip()
    assert admin.get("settings/relay").json == before
    # with TLS it is fine; switching that relay back to "none" is refused too
    put_ok(admin, "relay", {"security": "starttls", "username": "resetd-relay", "password": "x" * 20})
    expect_field_error(put(admin, "relay", {"security": "none"}), "security")
