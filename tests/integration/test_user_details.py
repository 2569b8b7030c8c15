"""Issue 21 items 6 and 8: the user's details (last sign-in, who set the
password, open sessions, "Sign out of all sessions") and the list filters of
Active users (blocked, must change, locked, admins, temporary password
expiring within 24 h)."""
from conftest import Client, assert_error_json, strong_password
from sitekit import clocked, fresh_admin  # noqa: F401 (fixture)


def names(admin, **params):
    r = admin.get("users?" + "&".join("%s=%s" % kv for kv in params.items()))
    assert r.status == 200, r
    return sorted(u["username"] for u in r.json["users"]), r.json["total"]


def test_list_filters(server, admin):
    admin.create_user("mc", mode="auto", delivery="password", require_change=True, notify=[], notify_user=False)
    admin.create_user("hd", role="helpdesk_admin", password=strong_password())
    bl = admin.create_user("bl", password=strong_password()).json["user"]["id"]
    admin.create_user("plain", password=strong_password())
    assert admin.patch("users/%d" % bl, {"disabled": True}).status == 200

    assert names(admin, filter="must_change") == (["mc"], 1)
    assert names(admin, filter="admins") == (["admin", "hd"], 2)
    assert names(admin, filter="locked") == ([], 0)  # see the clocked test
    assert names(admin, disabled="true") == (["bl"], 1)
    # mc's temporary password runs 72 h (the default): not within 24 h.
    assert names(admin, filter="temp_expiring") == ([], 0)
    # With the search, the other choices and paging on top.
    assert names(admin, filter="admins", q="hd") == (["hd"], 1)
    assert names(admin, filter="admins", disabled="true") == ([], 0)
    assert names(admin, filter="admins", limit=1, offset=1, sort="-username") == (["admin"], 2)
    r = admin.get("users?filter=everyone")
    assert_error_json(r, 422, "invalid_filter")
    assert r.json["error"]["field"] == "filter"
    # Not for a plain user.
    pw = strong_password()
    admin.create_user("nobody", password=pw)
    c = server.client()
    c.must_sign_in("nobody", pw)
    assert_error_json(c.get("users?filter=admins"), 403)


def test_export_honours_the_list_filter(server, admin):
    """GET /users/export with filter= exports what the filtered list shows (it
    ignored filter= and exported everybody)."""
    import csv
    import io
    admin.create_user("ex.mc", mode="auto", delivery="password", require_change=True, notify=[], notify_user=False)
    admin.create_user("ex.hd", role="helpdesk_admin", password=strong_password())
    admin.create_user("ex.plain", password=strong_password())

    def exported(query):
        r = admin.get("users/export?" + query)
        assert r.status == 200, r
        return sorted(x[0] for x in list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"), newline="")))[1:])

    for query, params in (("filter=must_change", {"filter": "must_change"}),
                          ("filter=admins", {"filter": "admins"}),
                          ("filter=admins&q=ex.", {"filter": "admins", "q": "ex."})):
        listed, total = names(admin, limit=200, **params)
        assert exported(query) == listed and len(listed) == total, query
    assert exported("filter=must_change") == ["ex.mc"]
    assert exported("filter=admins&q=ex.") == ["ex.hd"]
    assert exported("q=ex.") == ["ex.hd", "ex.mc", "ex.plain"]
    r = admin.get("users/export?filter=everyone")
    assert_error_json(r, 422, "invalid_filter")
    assert r.json["error"]["field"] == "filter"


def lock_out(srv, clock, username):
    """Failed sign-ins (the test clock skips each growing delay) until the
    account is locked."""
    for i in range(40):
        c = Client(srv.port, source="127.0.0.%d" % (10 + i))
        r = c.post("session", {"username": username, "password": "wrong-%d-xyzzy" % i}, csrf=False)
        assert r.status in (401, 429), r
        wait = int(r.headers.get("retry-after", "0")) if r.status == 429 else 0
        if wait > 120:  # the 15-minute lockout, not a growing delay
            return
        if wait:
            clock.set(srv, clock.offset + wait + 1)
    raise AssertionError("%s never locked" % username)


def test_locked_and_temp_expiring_follow_the_clock(clocked):  # noqa: F811
    srv, clock = clocked
    admin = fresh_admin(srv)
    lk = admin.create_user("lk", password=strong_password()).json["user"]["id"]
    lock_out(srv, clock, "lk")
    admin = fresh_admin(srv)
    assert admin.get("users/%d" % lk).json["locked"] is True
    assert names(admin, filter="locked") == (["lk"], 1)
    # The lock runs out by the clock alone: out of the filter, nothing written.
    clock.set(srv, clock.offset + 16 * 60)
    admin = fresh_admin(srv)
    assert names(admin, filter="locked") == ([], 0)
    admin.create_user("early", mode="auto", delivery="password", require_change=True, notify=[], notify_user=False)
    admin.create_user("steady", password=strong_password())
    assert names(admin, filter="temp_expiring") == ([], 0)
    base = clock.offset
    clock.set(srv, base + 50 * 3600)  # 22 h left of early's 72 h
    admin = fresh_admin(srv)
    admin.create_user("late", mode="auto", delivery="password", require_change=True, notify=[], notify_user=False)
    assert names(admin, filter="temp_expiring") == (["early"], 1)
    clock.set(srv, base + 73 * 3600)  # early's has expired; late's has 49 h left
    admin = fresh_admin(srv)
    assert names(admin, filter="temp_expiring") == ([], 0)


def test_details_show_sign_in_password_and_sessions(server, admin):
    uid = admin.create_user("dora", mode="auto", delivery="password", require_change=True,
                            notify=[], notify_user=False).json["user"]["id"]
    d = admin.get("users/%d" % uid).json
    assert d["last_sign_in_at"] is None and d["active_sessions"] == 0, d
    assert d["password_set"]["by"] == "admin" and d["password_set"]["action"] == "user_create_password", d
    assert d["temporary_password_expires_at"] and d["must_change_password"] is True, d
    pw = strong_password()
    r = admin.reset(uid, mode="manual", password=pw, require_change=False, notify=[], notify_user=False)
    assert r.status == 200, r
    d = admin.get("users/%d" % uid).json
    assert d["password_set"]["action"] == "password_reset" and d["temporary_password_expires_at"] is None, d
    assert "detail" not in d["password_set"]
    # A failed sign-in is no "last sign-in"; two good ones from two places are two sessions.
    assert Client(server.port).sign_in("dora", "wrong-" + pw).status == 401
    assert admin.get("users/%d" % uid).json["last_sign_in_at"] is None
    a, b = server.client(), server.client()
    a.must_sign_in("dora", pw)
    b.must_sign_in("dora", pw)
    d = admin.get("users/%d" % uid).json
    assert d["last_sign_in_at"] and d["active_sessions"] == 2, d

    r = admin.delete("users/%d/sessions" % uid)
    assert r.status == 200 and r.json == {"ended": 2}, r
    assert_error_json(a.get("session"), 401)
    assert_error_json(b.get("session"), 401)
    assert admin.get("users/%d" % uid).json["active_sessions"] == 0
    e = admin.get("audit?action=session_end&target=dora").json["entries"]
    assert e and e[0]["actor"] == "admin" and e[0]["detail"] == "all 2 session(s)", e
    assert_error_json(admin.delete("users/987654/sessions"), 404)


def test_sign_out_all_follows_the_reset_table(server, admin):
    pw = strong_password()
    admin.create_user("hd", role="helpdesk_admin", password=pw)
    ga = admin.create_user("boss", role="global_admin", password=strong_password()).json["user"]["id"]
    us = admin.create_user("ulla", password=pw).json["user"]["id"]
    hd = server.client()
    hd.must_sign_in("hd", pw)
    assert_error_json(hd.delete("users/%d/sessions" % ga), 403)
    assert hd.delete("users/%d/sessions" % us).status == 200
    u = server.client()
    u.must_sign_in("ulla", pw)
    assert_error_json(u.delete("users/%d/sessions" % ga), 403)
    # Helpdesk may read a global admin's details but not see more than the record's facts.
    d = hd.get("users/%d" % ga).json
    assert d["username"] == "boss" and "password_set" in d


def test_own_record_signs_out_only_the_others(server, admin):
    me = admin.get("session").json["user"]["id"]
    other = server.admin()
    d = admin.get("users/%d" % me).json
    assert d["active_sessions"] >= 2, d
    r = admin.delete("users/%d/sessions" % me)
    assert r.status == 200 and r.json["ended"] >= 1, r
    assert admin.get("session").status == 200
    assert_error_json(other.get("session"), 401)
    assert admin.get("users/%d" % me).json["active_sessions"] == 1
