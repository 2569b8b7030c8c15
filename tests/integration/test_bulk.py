"""Spec §7: bulk reset, at most 40 ids, mode auto only, results per id."""
from conftest import assert_error_json, strong_password


def test_bulk_reset_results_per_id(server, sink, admin):
    users = {}
    for name in ("bulk.a", "bulk.b", "bulk.c"):
        pw = strong_password()
        users[admin.create_user(name, password=pw).json["user"]["id"]] = (name, pw)
    me = admin.get("session").json
    my_id = me.get("user", me)["id"]
    ids = list(users) + [987654, my_id]
    r = admin.post("users/password-reset", {"ids": ids, "notify_user": True})
    assert r.status == 200, r
    results = r.json["results"]
    assert isinstance(results, list) and len(results) == len(ids), results
    by_id = {x["id"]: x for x in results}
    assert set(by_id) == set(ids), results
    for uid, (name, old) in users.items():
        x = by_id[uid]
        assert isinstance(x["status"], (str, int)) and x.get("password") and not x.get("error"), x
        assert x["status"] in ("ok", "reset", "done", "success", 200), x
        assert server.client().sign_in(name, old).status == 401
        j = server.client().must_sign_in(name, x["password"])
        assert j["must_change_password"] is True
        # notify_user: a secret-free notice to the address on file
        notes = x.get("notifications") or []
        assert [n["recipient"] for n in notes] == ["%s@example.org" % name], x
    for bad in (987654, my_id):
        x = by_id[bad]
        assert not x.get("password"), x
        assert x.get("error"), "no error for id %s: %r" % (bad, x)
        assert x["status"] != by_id[next(iter(users))]["status"], x
    # the notices go out and carry no password
    for uid, (name, _) in users.items():
        msgs = sink.wait_message_to("%s@example.org" % name)
        assert by_id[uid]["password"] not in str(msgs[0][2].get_body(("plain", "html")).get_content())


def test_bulk_limits(server, admin):
    pw = strong_password()
    uid = admin.create_user("bulk.d", password=pw).json["user"]["id"]
    before = admin.all_users()
    ids41 = [uid] + list(range(900001, 900041))
    assert len(ids41) == 41
    assert_error_json(admin.post("users/password-reset", {"ids": ids41}), 422)
    assert_error_json(admin.post("users/password-reset", {"ids": [uid], "mode": "manual",
                                                          "password": strong_password()}), 422)
    assert_error_json(admin.post("users/password-reset", {"ids": "1,2"}), (400, 422))
    assert_error_json(admin.post("users/password-reset", {"ids": ["a"]}), (400, 422))
    assert admin.all_users() == before
    assert server.client().sign_in("bulk.d", pw).status == 200
    ids40 = [uid] + list(range(900001, 900040))
    r = admin.post("users/password-reset", {"ids": ids40, "notify_user": False})
    assert r.status == 200, r
    assert len(r.json["results"]) == 40
    assert server.client().sign_in("bulk.d", pw).status == 401
