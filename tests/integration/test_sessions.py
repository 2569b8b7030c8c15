"""Spec §7 sessions: GET /sessions lists my sessions, DELETE /sessions/{id} ends one,
DELETE /sessions?others=true ends all but this one; an admin reset (password or link)
and a self-service reset revoke every session of the target."""
from conftest import RFC3339_UTC, assert_error_json, strong_password
from sitekit import enable_self_service, sign_in_as, ss_request, ss_reset, wait_code

SESSION_FIELDS = {"id", "created_at", "expires_at", "client", "user_agent", "current"}


def alive(c):
    return c.get("session").status == 200


def test_list_end_one_and_end_others(server, admin):
    pw = strong_password()
    admin.create_user("sess-a", password=pw)
    admin.create_user("sess-b", password=pw)
    a1, r = sign_in_as(server, "sess-a", pw, source="127.0.0.151", user_agent="agent-one/1.0")
    assert r.status == 200
    a2, _ = sign_in_as(server, "sess-a", pw, source="127.0.0.152", user_agent="agent-two/2.0")
    b1, _ = sign_in_as(server, "sess-b", pw, source="127.0.0.153")

    r = a1.get("sessions")
    assert r.status == 200, r
    ss = r.json["sessions"]
    assert len(ss) == 2, "sess-a sees %r" % ss
    for s in ss:
        assert set(s) >= SESSION_FIELDS, s
        assert isinstance(s["id"], int) and isinstance(s["current"], bool)
        assert RFC3339_UTC.match(s["created_at"]) and RFC3339_UTC.match(s["expires_at"]), s
        assert s["expires_at"] > s["created_at"]
        for k in s:
            assert "token" not in k and "hash" not in k, s
    cur = [s for s in ss if s["current"]]
    assert len(cur) == 1 and cur[0]["client"] == "127.0.0.151" and cur[0]["user_agent"] == "agent-one/1.0", ss
    other = [s for s in ss if not s["current"]][0]
    assert other["client"] == "127.0.0.152" and other["user_agent"] == "agent-two/2.0", other
    assert a2.get("sessions").json["sessions"] and \
        [s for s in a2.get("sessions").json["sessions"] if s["current"]][0]["id"] == other["id"]

    # someone else's session: 404, and it lives on
    b_id = [s for s in b1.get("sessions").json["sessions"] if s["current"]][0]["id"]
    assert_error_json(a1.delete("sessions/%d" % b_id), 404)
    assert alive(b1)
    assert_error_json(a1.delete("sessions/999999"), 404)
    # CSRF required
    assert_error_json(a1.delete("sessions/%d" % other["id"], csrf=False), 403, "csrf_failed")
    assert alive(a2)

    d = a1.delete("sessions/%d" % other["id"])
    assert d.status in (200, 204), d
    assert_error_json(a2.get("session"), 401)
    assert alive(a1)
    assert [s["id"] for s in a1.get("sessions").json["sessions"]] == [cur[0]["id"]]

    a3, _ = sign_in_as(server, "sess-a", pw, source="127.0.0.154")
    a4, _ = sign_in_as(server, "sess-a", pw, source="127.0.0.155")
    assert len(a1.get("sessions").json["sessions"]) == 3
    assert_error_json(a1.delete("sessions"), (400, 422))  # without others=true
    assert alive(a3) and alive(a4)
    d = a1.delete("sessions?others=true")
    assert d.status in (200, 204), d
    assert not alive(a3) and not alive(a4)
    assert alive(a1) and alive(b1)
    ss = a1.get("sessions").json["sessions"]
    assert len(ss) == 1 and ss[0]["current"] is True, ss
    # signed out: the list is gone too
    assert a1.delete("session").status in (200, 204)
    assert_error_json(a1.get("sessions"), 401)
    assert_error_json(server.client().get("sessions"), 401)


def test_admin_reset_revokes_target_sessions(server, admin):
    pw = strong_password()
    uid = admin.create_user("rev-a", password=pw).json["user"]["id"]
    uid2 = admin.create_user("rev-b", password=pw).json["user"]["id"]
    s1, _ = sign_in_as(server, "rev-a", pw, source="127.0.0.161")
    s2, _ = sign_in_as(server, "rev-a", pw, source="127.0.0.162")
    other, _ = sign_in_as(server, "rev-b", pw, source="127.0.0.163")
    assert alive(s1) and alive(s2) and alive(other)
    r = admin.reset(uid, notify=[], notify_user=False)
    assert r.status == 200, r
    assert_error_json(s1.get("session"), 401)
    assert_error_json(s2.get("session"), 401)
    assert alive(other), "a reset of rev-a ended rev-b's session"
    assert alive(admin)

    # link delivery: the old password stops at once and the sessions end
    t1, _ = sign_in_as(server, "rev-b", pw, source="127.0.0.164")
    r = admin.reset(uid2, delivery="link", notify=[], notify_user=False)
    assert r.status == 200, r
    assert_error_json(t1.get("session"), 401)
    assert_error_json(other.get("session"), 401)
    assert sign_in_as(server, "rev-b", pw, source="127.0.0.165")[1].status == 401


def test_self_service_reset_revokes_sessions(server, sink, admin):
    enable_self_service(admin)
    pw = strong_password()
    admin.create_user("rev-c", password=pw, alternate_email="revc.alt@home.example.net")
    s1, _ = sign_in_as(server, "rev-c", pw, source="127.0.0.171")
    assert alive(s1)
    assert ss_request(server, "rev-c", source="127.0.0.172").status == 202
    code = wait_code(sink, "revc.alt@home.example.net")
    assert alive(s1), "the request alone (by anyone) must not end the user's sessions"
    assert ss_reset(server, "rev-c", code, strong_password(), source="127.0.0.173").status == 200
    assert_error_json(s1.get("session"), 401)
