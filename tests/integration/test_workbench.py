"""Issue 21, the admin's workbench, server side: a link reset neither sets nor
audits "must change" (item 5); the audit says "queued for", records a
superseded unsent mail and is searchable by recipient (item 2); "Send test
message" tests the values on screen under the same secret rule as Save
(item 4); generated passwords people can read aloud (item 12)."""
import os
import re
import time
import urllib.parse

from conftest import AioRelay, assert_error_json, free_port, make_cert, strong_password


def audit(admin, **q):
    r = admin.get("audit?" + urllib.parse.urlencode(dict(limit=200, **q)))
    assert r.status == 200, r
    return r.json["entries"]


def test_link_reset_never_sets_or_audits_must_change(server, admin):
    uid = admin.create_user("linka", password=strong_password()).json["user"]["id"]
    # The API's default require_change (true) and an explicit true alike.
    for body in ({}, {"require_change": True}):
        r = admin.reset(uid, delivery="link", notify=["linka.home@example.net"], notify_user=False, **body)
        assert r.status == 200, r
        assert r.json["user"]["must_change_password"] is False, r.json
        e = audit(admin, action="password_reset", target="linka")[0]
        assert "must change" not in e["detail"], e
    # A password reset still records it.
    r = admin.reset(uid, delivery="password", notify=[], notify_user=False)
    assert r.status == 200 and r.json["user"]["must_change_password"] is True, r
    assert "must change" in audit(admin, action="password_reset", target="linka")[0]["detail"]


def test_queued_then_superseded_is_audited_and_found_by_recipient(make_resetd):
    srv = make_resetd(relay_port=free_port())  # relay down: mail stays queued
    admin = srv.admin()
    uid = admin.create_user("sam", password=strong_password()).json["user"]["id"]
    addr = "Sam.Home@Example.net"
    r1 = admin.reset(uid, notify=[addr], notify_user=True)
    assert r1.status == 200, r1
    first = [n for n in r1.json["notifications"] if n["kind"] == "password"][0]
    e1 = audit(admin, action="password_reset", target="sam")[0]
    assert "queued for " + addr in e1["detail"], e1
    assert "notice queued for sam@example.org" in e1["detail"], e1
    assert " sent" not in e1["detail"] and "password to" not in e1["detail"], e1
    r2 = admin.reset(uid, notify=[addr], notify_user=False)
    assert r2.status == 200, r2
    sup = audit(admin, action="notification_superseded")
    assert len(sup) == 1, sup
    assert sup[0]["target"] == addr and sup[0]["actor"] == "admin", sup
    assert "notification %d (password)" % first["id"] in sup[0]["detail"], sup
    # The secret-free notice is not superseded (it carries nothing).
    assert all(str(n["id"]) not in sup[0]["detail"] for n in r1.json["notifications"] if n["kind"] == "notice")
    # Searchable by recipient, any case, in part: both resets and the supersede.
    for q in ("sam.home@example.net", "SAM.HOME", "home@example"):
        hits = audit(admin, recipient=q)
        assert sorted(e["action"] for e in hits) == ["notification_superseded", "password_reset", "password_reset"], (q, hits)
    assert audit(admin, recipient="nobody@example.net") == []
    r = admin.get("audit?recipient=" + "a" * 300)
    assert r.status == 422 and r.json["error"]["field"] == "recipient", r


def test_relay_test_uses_the_values_given_and_saves_nothing(server, sink, admin):
    # Saved: a dead port. The test with the sink's port on screen reaches it.
    dead = free_port()
    r = admin.request("PUT", "settings/relay", {"port": dead})
    assert r.status == 200, r
    t = admin.post("settings/relay/test", {"to": "probe@example.net", "host": "127.0.0.1", "port": sink.port,
                                           "security": "none", "kind": "smtp"})
    assert t.status == 200 and t.json["ok"] is True, t
    sink.wait_message_to("probe@example.net")
    assert admin.get("settings/relay").json["port"] == dead, "the test saved its values"
    # Bad values on screen: the same field errors as Save.
    t = admin.post("settings/relay/test", {"to": "probe@example.net", "port": 70000})
    assert t.status == 422 and t.json["error"]["field"] == "port", t
    # Nothing on screen but the address: the saved (dead) relay, as before.
    t = admin.post("settings/relay/test", {"to": "probe2@example.net"})
    assert t.status == 200 and t.json["ok"] is False, t


def test_relay_test_of_unsaved_destination_never_gets_the_stored_password(workdir, make_resetd):
    cert, key = make_cert(workdir)
    relay_pw = "relay-Secret-" + strong_password()
    for sub in ("legit", "thief"):
        os.makedirs(os.path.join(workdir, sub))
    legit = AioRelay(os.path.join(workdir, "legit"), mode="starttls", cert=cert, key=key,
                     auth=("resetd-relay", relay_pw)).start()
    thief = AioRelay(os.path.join(workdir, "thief"), mode="starttls", cert=cert, key=key,
                     auth=("resetd-relay", relay_pw)).start()
    try:
        pwfile = os.path.join(workdir, "relay.pass")
        with open(pwfile, "w") as f:
            f.write(relay_pw + "\n")
        srv = make_resetd(relay_port=legit.port, relay_extra={
            "security": "starttls", "ca_file": cert, "username": "resetd-relay", "password_file": pwfile})
        admin = srv.admin()
        # Unsaved, unchanged destination: the stored password is used.
        t = admin.post("settings/relay/test", {"to": "probe@example.net", "port": legit.port})
        assert t.status == 200 and t.json["ok"] is True, t
        # Another port on screen, password not retyped: the listener never gets it.
        t = admin.post("settings/relay/test", {"to": "probe2@example.net", "port": thief.port})
        assert not [m for m, _, _ in thief.messages() if m.get("authenticated")], "password reached the listener"
        assert t.status == 200 and t.json["ok"] is False, t
        # Retyped for it: then it goes there, as Save would allow.
        t = admin.post("settings/relay/test", {"to": "probe3@example.net", "port": thief.port, "password": relay_pw})
        assert t.status == 200 and t.json["ok"] is True, t
        g = admin.get("settings/relay").json
        assert g["port"] == legit.port and g["password_set"] is True, g
    finally:
        legit.stop()
        thief.stop()


def test_generated_passwords_readable_by_default_symbols_on_request(server, admin):
    uid = admin.create_user("reada", password=strong_password()).json["user"]["id"]
    seen = []
    for _ in range(5):
        r = admin.reset(uid, notify=[], notify_user=False)
        assert r.status == 200, r
        seen.append(r.json["password"])
    for pw in seen:
        assert re.fullmatch(r"[a-z0-9]{5}(-[a-z0-9]{5}){3}", pw), pw
        assert not set(pw) & set("%=+#@?"), pw
    assert server.client().sign_in("reada", seen[-1]).status == 200
    r = admin.reset(uid, notify=[], notify_user=False, password_style="symbols")
    assert r.status == 200 and len(r.json["password"]) == 16, r
    assert set(r.json["password"]) & set("#%+=?@"), r.json
    r = admin.reset(uid, notify=[], notify_user=False, password_style="fancy")
    assert r.status == 422 and r.json["error"]["field"] == "password_style", r
    # A longer minimum in the policy: the generated one is at least as long.
    assert admin.request("PUT", "settings/password-policy", {"min_length": 30}).status == 200
    r = admin.reset(uid, notify=[], notify_user=False)
    assert r.status == 200 and len(r.json["password"]) >= 30, r


def test_welcome_mails_are_welcome_kinds_and_a_failed_try_names_the_next(make_resetd):
    """Item 11: a new account's mails are kinds welcome_* (the list and the
    audit name them as a welcome, not "New password"/"Reset notice"), and a
    queued message after a failed try says when the next try is."""
    srv = make_resetd(relay_port=free_port())  # relay down: the first try fails
    admin = srv.admin()
    r = admin.create_user("wendy", mode="auto", require_change=True, delivery="password",
                          notify=["wendy.home@example.net"], notify_user=True)
    assert r.status == 201, r
    kinds = sorted(n["kind"] for n in r.json["notifications"])
    assert kinds == ["welcome_notice", "welcome_password"], kinds
    e = audit(admin, action="user_create_password", target="wendy")[0]
    assert "password queued for wendy.home@example.net" in e["detail"], e
    assert "notice queued for wendy@example.org" in e["detail"], e
    # A reset of the same user afterwards is a reset again.
    uid = r.json["user"]["id"]
    r = admin.reset(uid, notify=["wendy.home@example.net"], notify_user=True)
    assert sorted(n["kind"] for n in r.json["notifications"]) == ["notice", "password"], r.json
    # After the failed try the queued message carries its next try's time.
    for _ in range(100):
        ns = [n for n in admin.notifications(user_id=uid) if n["attempts"] > 0 and n["state"] == "queued"]
        if ns:
            break
        time.sleep(0.1)
    assert ns, admin.notifications(user_id=uid)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ns[0]["next_attempt_at"]), ns[0]
    assert ns[0]["next_attempt_at"] > ns[0]["created_at"], ns[0]
    assert ns[0]["last_answer"], ns[0]
    sent = [n for n in admin.notifications(user_id=uid) if n["state"] != "queued"]
    assert all(n["next_attempt_at"] is None for n in sent), sent


def test_directory_save_tests_first_and_refuses_an_unreachable_one(make_resetd):
    """Item 3: an unreachable directory was saved into live use ("Saved. The
    change is in effect now."). Save now tests first: 422 directory_test_failed
    with the Test connection category and the field at fault, nothing saved;
    "save_untested": true saves it anyway, on purpose."""
    srv = make_resetd()
    admin = srv.admin()
    cfg = {"kind": "ldap", "url": "ldaps://127.0.0.1:%d/" % free_port(), "bind_dn": "cn=resetd,dc=example,dc=test",
           "bind_password": "Service-Account-Pw-1", "users_base": "ou=people,dc=example,dc=test", "timeout_s": 3}
    e = assert_error_json(admin.request("PUT", "settings/directory", cfg), 422, "directory_test_failed")
    assert e["category"] == "refused" and e["field"] == "url", e
    assert "Service-Account-Pw-1" not in e["message"]
    assert admin.get("settings/directory").json["kind"] == "none"
    assert admin.get("directory/status").json["kind"] == "none"
    # An empty URL names the field, nothing is tried.
    e = assert_error_json(admin.request("PUT", "settings/directory", dict(cfg, url="")), 422, "invalid_config")
    assert e["field"] == "directory.url", e
    # Saved anyway, on purpose.
    r = admin.request("PUT", "settings/directory", dict(cfg, save_untested=True))
    assert r.status == 200 and r.json["kind"] == "ldap", r
    # Local accounts need no test.
    r = admin.request("PUT", "settings/directory", {"kind": "none"})
    assert r.status == 200, r
    e = assert_error_json(admin.request("PUT", "settings/directory", dict(cfg, save_untested="yes")), 400, "invalid_type")
