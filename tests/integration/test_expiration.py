"""Spec §1, §5: temporary passwords expire (temp_password_ttl_h), set-password links are
single use and expire (link_ttl_min) and are built from public_url; the expiration
policy sends one reminder per password and sends expired passwords into a must-change
session. Time moves through the server's test clock (RESETD_TEST_CLOCK_OFFSET_FILE)."""
import time

from conftest import assert_error_json, strong_password, wait_until
from sitekit import clocked, fresh_admin, put_ok, sign_in_as  # noqa: F401

H = 3600
D = 86400


def test_expired_temporary_password(clocked):
    srv, clock = clocked
    admin = srv.admin()
    uid = admin.create_user("tara", password=strong_password()).json["user"]["id"]
    r = admin.reset(uid, notify=[], notify_user=False)  # auto, require_change, delivery password
    assert r.status == 200, r
    temp = r.json["password"]
    c, s = sign_in_as(srv, "tara", temp)
    assert s.status == 200 and s.json["must_change_password"] is True, s

    clock.set(srv, 71 * H)  # default temp_password_ttl_h = 72
    c, s = sign_in_as(srv, "tara", temp, source="127.0.0.21")
    assert s.status == 200 and s.json["must_change_password"] is True, \
        "temporary password refused before its 72 h were up: %r" % s

    clock.set(srv, 72 * H + 120)
    c, s = sign_in_as(srv, "tara", temp, source="127.0.0.22")
    assert_error_json(s, 401, "temporary_password_expired")
    # a wrong password still gets the generic answer (no hint that the account exists)
    c, w = sign_in_as(srv, "tara", "Wrong-" + strong_password(), source="127.0.0.23")
    assert_error_json(w, 401, "invalid_credentials")
    # the admin sees it expired and a new reset helps
    admin = fresh_admin(srv)
    u = admin.get("users/%d" % uid).json
    u = u.get("user", u)
    assert u["password_expires_at"], u
    es = admin.get("audit?action=sign_in&limit=50").json["entries"]
    assert any(e["target"] == "tara" and e["outcome"] == "failed" and "expired" in e["detail"] for e in es), es
    r = admin.reset(uid, notify=[], notify_user=False)
    c, s = sign_in_as(srv, "tara", r.json["password"], source="127.0.0.24")
    assert s.status == 200 and s.json["must_change_password"] is True, s


def test_temporary_password_ttl_from_config(sink, make_resetd, workdir):
    from sitekit import TestClock
    import os
    clock = TestClock(os.path.join(workdir, "clock-offset"))
    srv = make_resetd(relay_port=sink.port, start=False,
                      extra_toml="[accounts]\ntemp_password_ttl_h = 2\nlink_ttl_min = 5\n")
    srv.env = {"RESETD_TEST_CLOCK_OFFSET_FILE": clock.path}
    srv.start()
    admin = srv.admin()
    uid = admin.create_user("tobi", password=strong_password()).json["user"]["id"]
    temp = admin.reset(uid, notify=[], notify_user=False).json["password"]
    uid2 = admin.create_user("lina", password=strong_password()).json["user"]["id"]
    link = admin.reset(uid2, delivery="link", notify=[], notify_user=False).json["link"]
    clock.set(srv, 4 * 60)
    c, s = sign_in_as(srv, "tobi", temp)
    assert s.status == 200, s
    clock.set(srv, 5 * 60 + 30)
    r = srv.client().post("set-password", {"token": link.rsplit("token=", 1)[1],
                                           "new_password": strong_password()}, csrf=False)
    assert_error_json(r, 422, "token_expired")
    clock.set(srv, 2 * H + 60)
    c, s = sign_in_as(srv, "tobi", temp, source="127.0.0.25")
    assert_error_json(s, 401, "temporary_password_expired")


def test_link_expired_and_reused(clocked):
    srv, clock = clocked
    admin = srv.admin()
    uid = admin.create_user("lars", password=strong_password()).json["user"]["id"]
    r = admin.post("users/%d/password-reset" % uid, {"delivery": "link", "notify": [], "notify_user": False},
                   headers={"Host": "evil.example.com"})
    assert r.status == 200, r
    link = r.json["link"]
    assert link.startswith(srv.public_url + "/"), "link %r not built from public_url %r" % (link, srv.public_url)
    assert "evil.example.com" not in link
    token = link.rsplit("token=", 1)[1]

    anon = srv.client()
    clock.set(srv, 58 * 60)
    # still valid at 58 minutes: a policy-refused password proves the token was accepted
    r = anon.post("set-password", {"token": token, "new_password": "short"}, csrf=False)
    assert r.status == 422 and r.json["error"]["code"] not in ("token_expired", "token_used"), r
    clock.set(srv, 61 * 60)
    e = assert_error_json(anon.post("set-password", {"token": token, "new_password": strong_password()},
                                    csrf=False), 422, "token_expired")
    assert e.get("field") == "token", e

    admin = fresh_admin(srv)
    token2 = admin.reset(uid, delivery="link", notify=[], notify_user=False).json["link"].rsplit("token=", 1)[1]
    pw = strong_password()
    r = anon.post("set-password", {"token": token2, "new_password": pw}, csrf=False)
    assert r.status == 200 and r.json.get("ok") is True, r
    assert sign_in_as(srv, "lars", pw)[1].status == 200
    r = anon.post("set-password", {"token": token2, "new_password": strong_password()}, csrf=False)
    assert_error_json(r, 422, "token_used")
    assert sign_in_as(srv, "lars", pw, source="127.0.0.26")[1].status == 200, "reused link changed the password"
    assert_error_json(anon.post("set-password", {"token": "x" * 43, "new_password": pw}, csrf=False), 422,
                      "invalid_token")


def reminders(admin, uid):
    return [n for n in admin.notifications(user_id=uid) if n["kind"] == "reminder"]


def test_reminder_sent_once_per_password_and_expired_password_must_change(clocked, sink):
    srv, clock = clocked
    admin = srv.admin()
    put_ok(admin, "expiration", {"never_expires": False, "days": 14, "reminder_days": 3})
    pw = strong_password()
    uid = admin.create_user("rita", email="rita@corp.example.org", password=pw).json["user"]["id"]
    u = admin.get("users/%d" % uid).json
    u = u.get("user", u)
    assert u["password_expires_at"], "password_expires_at not set under an expiration policy: %r" % u

    clock.set(srv, 10 * D)  # daily sweep; reminder due only at day 11
    time.sleep(1.5)
    admin = fresh_admin(srv)
    assert reminders(admin, uid) == [], "reminder sent 4 days before expiry with reminder_days=3"
    assert not sink.messages_to("rita@corp.example.org")

    clock.set(srv, 11 * D + H)
    admin = fresh_admin(srv)
    wait_until(lambda: reminders(admin, uid), timeout=10, what="reminder notification")
    sink.wait_message_to("rita@corp.example.org")
    admin = fresh_admin(srv)
    rem = reminders(admin, uid)
    assert len(rem) == 1 and rem[0]["recipient"] == "rita@corp.example.org", rem

    clock.set(srv, 11 * D + 2 * H + 60)  # the hourly check
    time.sleep(1.5)
    clock.set(srv, 12 * D + 3 * H)  # and a daily sweep
    time.sleep(1.5)
    admin = fresh_admin(srv)
    assert len(reminders(admin, uid)) == 1, "reminder sent twice for one password"
    assert len(sink.messages_to("rita@corp.example.org")) == 1

    # not yet expired at day 12: ordinary session
    c, s = sign_in_as(srv, "rita", pw)
    assert s.status == 200 and s.json["must_change_password"] is False, s
    pw2 = strong_password()
    assert c.change_password(pw, pw2).status in (200, 204)  # a new password at day 12 + 3 h

    clock.set(srv, 12 * D + 3 * H + 10 * D)  # new password 10 days old
    time.sleep(1.5)
    admin = fresh_admin(srv)
    assert len(reminders(admin, uid)) == 1, "reminder for the new password came too early"
    clock.set(srv, 12 * D + 3 * H + 11 * D + H)  # new password 11 days 1 h old
    admin = fresh_admin(srv)
    wait_until(lambda: len(reminders(admin, uid)) == 2, timeout=10,
               what="second reminder for the new password")
    sink.wait_message_to("rita@corp.example.org", count=2)

    # past 14 days: signs in, but only into a must-change session
    clock.set(srv, 12 * D + 3 * H + 14 * D + H)
    c, s = sign_in_as(srv, "rita", pw2, source="127.0.0.27")
    assert s.status == 200, "an expired password must still sign in: %r" % s
    assert s.json["must_change_password"] is True, s.json
    me = c.get("session")
    assert me.status == 200 and me.json["must_change_password"] is True, me
    assert_error_json(c.get("users"), 403, "password_change_required")
    assert_error_json(c.get("sessions"), 403, "password_change_required")
    pw3 = strong_password()
    assert c.change_password(pw2, pw3).status in (200, 204)
    assert c.get("session").json["must_change_password"] is False
    c, s = sign_in_as(srv, "rita", pw3, source="127.0.0.28")
    assert s.status == 200 and s.json["must_change_password"] is False, s
    admin = fresh_admin(srv)
    es = admin.get("audit?action=expiry_reminder&limit=50").json["entries"]
    assert len([e for e in es if e["target"] == "rita"]) == 2, es


def test_policy_change_applies_to_existing_passwords(clocked):
    srv, clock = clocked
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("olaf", password=pw)
    clock.set(srv, 20 * D)
    c, s = sign_in_as(srv, "olaf", pw)
    assert s.status == 200 and s.json["must_change_password"] is False, "never-expires is the default"
    admin = fresh_admin(srv)
    put_ok(admin, "expiration", {"never_expires": False, "days": 14, "reminder_days": 3})
    c, s = sign_in_as(srv, "olaf", pw, source="127.0.0.29")
    assert s.status == 200 and s.json["must_change_password"] is True, \
        "a 20-day-old password under a 14-day policy: %r" % s.json
    admin = fresh_admin(srv)
    put_ok(admin, "expiration", {"never_expires": True})
    c, s = sign_in_as(srv, "olaf", pw, source="127.0.0.30")
    assert s.status == 200 and s.json["must_change_password"] is False, s.json


def test_daily_sweep_applies_audit_retention(clocked):
    srv, clock = clocked
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("old-entry", password=pw)
    assert sign_in_as(srv, "old-entry", pw)[1].status == 200
    put_ok(admin, "retention", {"audit_days": 30})
    old = admin.get("audit?limit=1000").json["entries"]
    assert any(e["target"] == "old-entry" for e in old)
    clock.set(srv, 29 * D)  # sweep: nothing is 30 days old yet
    admin = fresh_admin(srv)
    es = admin.get("audit?limit=1000").json["entries"]
    assert {e["id"] for e in old} <= {e["id"] for e in es}, "entries younger than 30 days were purged"
    clock.set(srv, 31 * D)  # the next daily sweep purges entries older than 30 days
    admin = fresh_admin(srv)

    def purged():
        es = admin.get("audit?limit=1000").json["entries"]
        return not ({e["id"] for e in old} & {e["id"] for e in es})
    wait_until(purged, timeout=10, what="audit entries older than audit_days purged by the daily sweep")
    es = admin.get("audit?limit=1000").json["entries"]
    assert es, "the sweep purged the new entries too"
