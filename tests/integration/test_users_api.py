"""Spec §4/§5/§7: the users API — search, sort, paging, edits, the last global
admin, session revocation, case-insensitive usernames, the 5-address limit."""
import urllib.parse

from conftest import ADMIN_PW, ADMIN_USER, assert_error_json, run_cli, strong_password


def usernames(j):
    return [u["username"] for u in j["users"]]


def test_list_search_sort_page(server, admin):
    for name, disp in [("anna", "Anna Zed"), ("bert", "Bert Young"), ("carla", "Carla Xu"),
                       ("dmitri", "Dmitri Wolf"), ("emre", "Emre Işık")]:
        admin.create_user(name, display_name=disp, password=strong_password())
    all_ = admin.list_users(sort="username")
    assert all_["total"] == 6, all_
    assert usernames(all_) == sorted(usernames(all_))
    desc = admin.list_users(sort="-username")
    assert usernames(desc) == sorted(usernames(all_), reverse=True)
    byname = admin.list_users(sort="display_name")
    assert usernames(byname)[:2] == ["admin", "anna"] or usernames(byname)[0] == "anna", usernames(byname)
    p1 = admin.list_users(sort="username", limit=2, offset=0)
    p2 = admin.list_users(sort="username", limit=2, offset=2)
    assert len(p1["users"]) == 2 and len(p2["users"]) == 2
    assert p1["total"] == p2["total"] == 6
    assert usernames(p1) + usernames(p2) == usernames(all_)[:4]
    q = admin.list_users(q="carl")
    assert usernames(q) == ["carla"] and q["total"] == 1, q
    q2 = admin.list_users(q="wolf")  # display name
    assert usernames(q2) == ["dmitri"], q2
    q3 = admin.list_users(q=urllib.parse.quote("Işık"))  # UTF-8 in the query
    assert usernames(q3) == ["emre"], q3
    # limit bounds
    r = admin.get("users?limit=201")
    assert r.status == 422 or (r.status == 200 and len(r.json["users"]) <= 200), r
    assert_error_json(admin.get("users?sort=password_hash"), (400, 422))
    assert_error_json(admin.get("users?limit=abc"), (400, 422))
    # disabled filter
    carla = [u for u in all_["users"] if u["username"] == "carla"][0]
    r = admin.patch("users/%d" % carla["id"], {"disabled": True})
    assert r.status == 200, r
    d = admin.list_users(disabled="true")
    assert usernames(d) == ["carla"], d
    nd = admin.list_users(disabled="false")
    assert "carla" not in usernames(nd) and nd["total"] == 5


def test_edit_disable_delete_and_last_global_admin(server, admin):
    pw = strong_password()
    uid = admin.create_user("frank", password=pw).json["user"]["id"]
    fc = server.client()
    fc.must_sign_in("frank", pw)
    r = admin.patch("users/%d" % uid, {"display_name": "Frank Ötzi", "email": "frank2@example.org",
                                        "locale": "tr-TR", "role": "helpdesk_admin"})
    assert r.status == 200, r
    u = admin.get("users/%d" % uid).json
    u = u.get("user", u)
    assert (u["display_name"], u["email"], u["locale"], u["role"]) == \
        ("Frank Ötzi", "frank2@example.org", "tr-TR", "helpdesk_admin"), u
    assert u["updated_at"] >= u["created_at"]
    r = admin.patch("users/%d" % uid, {"disabled": True})
    assert r.status == 200, r
    assert fc.get("session").status == 401, "a disabled user's session survived"
    assert server.client().sign_in("frank", pw).status in (401, 403)
    r = admin.delete("users/%d" % uid)
    assert r.status in (200, 204), r
    assert_error_json(admin.get("users/%d" % uid), 404)

    me = admin.get("session").json
    my_id = me.get("user", me)["id"]
    assert_error_json(admin.delete("users/%d" % my_id), (409, 403))
    assert_error_json(admin.patch("users/%d" % my_id, {"role": "user_admin"}), (409, 403))
    assert_error_json(admin.patch("users/%d" % my_id, {"disabled": True}), (409, 403))
    assert server.client().sign_in(ADMIN_USER, ADMIN_PW).status == 200
    # with a second global admin, the first may be demoted by the second
    gpw = strong_password()
    gid = admin.create_user("grace", role="global_admin", password=gpw).json["user"]["id"]
    gc = server.client()
    gc.must_sign_in("grace", gpw)
    assert gc.patch("users/%d" % my_id, {"role": "user_admin"}).status == 200
    assert_error_json(gc.patch("users/%d" % gid, {"role": "user"}), (409, 403))


def test_sessions_revoked_on_reset_and_on_password_change(server, admin):
    pw = strong_password()
    uid = admin.create_user("hank", password=pw).json["user"]["id"]
    s1, s2 = server.client(), server.client()
    s1.must_sign_in("hank", pw)
    s2.must_sign_in("HANK", pw)  # usernames are case-insensitive
    new = strong_password()
    r = s1.change_password(pw, new)
    assert r.status in (200, 204), r
    assert s2.get("session").status == 401, "other session survived a password change"
    s3 = server.client()
    s3.must_sign_in("hank", new)
    r = admin.reset(uid, notify=[], notify_user=False)
    assert r.status == 200, r
    assert s3.get("session").status == 401, "session survived an admin reset"
    # same new password as the current one is refused
    s4 = server.client()
    s4.must_sign_in("hank", r.json["password"])
    assert_error_json(s4.change_password(r.json["password"], r.json["password"]), 422)


def test_notify_at_most_five_addresses(server, sink, admin):
    uid = admin.create_user("ivy", password=strong_password()).json["user"]["id"]
    addrs = ["ivy%d@example.net" % i for i in range(5)]
    r = admin.reset(uid, notify=addrs, notify_user=False)
    assert r.status == 200, r
    ns = r.json["notifications"]
    assert sorted(n["recipient"] for n in ns) == sorted(addrs)
    for n in ns:
        admin.wait_notification(n["id"], "sent", user_id=uid)
    for a in addrs:
        msgs = sink.wait_message_to(a, contains=r.json["password"])
        assert len(msgs) == 1
        ids = {str(m["Message-ID"]) for _, _, m in sink.messages()}
    assert len(ids) == len(sink.messages()), "Message-IDs not unique per message"
    # retrying a delivered message is refused (its body is erased at delivery)
    rr = admin.retry(ns[0]["id"])
    assert_error_json(rr, (409, 422))


def test_notifications_list_has_total_and_pages(server, admin):
    uid = admin.create_user("paged", password=strong_password()).json["user"]["id"]
    r = admin.reset(uid, notify=["a@example.org", "b@example.org", "c@example.org"])
    assert r.status == 200, r
    first = admin.get("notifications?user_id=%d&limit=2" % uid)
    assert first.status == 200
    assert first.json["total"] == 4  # three addresses + the notice to the user
    assert len(first.json["notifications"]) == 2
    rest = admin.get("notifications?user_id=%d&limit=2&offset=2" % uid).json
    assert rest["total"] == 4 and len(rest["notifications"]) == 2
    ids = {n["id"] for n in first.json["notifications"]} | {n["id"] for n in rest["notifications"]}
    assert len(ids) == 4
    assert admin.get("notifications?user_id=%d&state=superseded" % uid).json["total"] == 0


def test_kept_list_answers_and_sessions_follow_every_write(server, admin):
    """Issue 12: GET /users answers and session look-ups are kept between
    commits. Every write shows at once: through the API, by another process
    (the console), and a sign-out."""
    admin.create_user("lou", password=strong_password())
    ada_pw = strong_password()
    admin.create_user("ada", role="global_admin", password=ada_pw)
    first = admin.list_users(sort="username")
    assert admin.list_users(sort="username") == first  # the kept answer, same bytes' meaning
    lou = [u for u in first["users"] if u["username"] == "lou"][0]
    assert lou["disabled"] is False

    # another process writes: the console disables lou
    r = run_cli("user", "disable", "--data-dir", server.data_dir, "--username", "lou")
    assert r.returncode == 0, r
    after = admin.list_users(sort="username")
    assert [u for u in after["users"] if u["username"] == "lou"][0]["disabled"] is True, after
    assert admin.list_users(disabled="true")["total"] == 1

    # an API write
    assert admin.patch("users/%d" % lou["id"], {"display_name": "Lou Renamed"}).status == 200
    assert [u for u in admin.list_users(sort="username")["users"] if u["username"] == "lou"][0][
        "display_name"] == "Lou Renamed"

    # a kept session: ada lists twice, then the console disables ada
    ada = server.client()
    ada.must_sign_in("ada", ada_pw)
    assert ada.list_users()["total"] == 3
    assert ada.list_users()["total"] == 3
    r = run_cli("user", "disable", "--data-dir", server.data_dir, "--username", "ada")
    assert r.returncode == 0, r
    assert_error_json(ada.get("users"), (401,), "not_signed_in")

    # signing out ends a kept session at once
    admin.list_users()
    assert admin.delete("session").status in (200, 204)
    assert_error_json(admin.get("users"), (401,), "not_signed_in")


def test_kept_list_answers_never_reach_someone_the_list_is_not_for(server, admin):
    """Issue 12 kept answers, attacked from inside: an answer kept for an admin is
    never served to a plain user, to a demoted admin's live session, nor under a
    query that only looks like the kept one."""
    bob_pw, hd_pw = strong_password(), strong_password()
    admin.create_user("bob", password=bob_pw)
    hd = admin.create_user("hd", role="helpdesk_admin", password=hd_pw).json["user"]
    kept = admin.list_users(sort="username")
    assert admin.list_users(sort="username") == kept

    bob = server.client()
    bob.must_sign_in("bob", bob_pw)
    assert_error_json(bob.get("users?sort=username"), (403,), "forbidden")

    hdc = server.client()
    hdc.must_sign_in("hd", hd_pw)
    assert hdc.list_users(sort="username")["total"] == kept["total"]
    assert admin.patch("users/%d" % hd["id"], {"role": "user"}).status == 200
    r = hdc.get("users?sort=username")
    assert r.status in (401, 403), r  # demoted: no list, kept or not

    # a query string built to share the kept one's key gives its own answer
    odd = admin.get("users?sort=username&q=%26sort%3Dusername")
    assert odd.status == 200 and odd.json["total"] == 0, odd
    assert_error_json(admin.get("users?sort=username%26q%3D"), (422,), None)
