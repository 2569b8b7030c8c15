"""Spec §4: who may reset whom; refusals are 403 with error JSON and change nothing."""
import pytest

from conftest import ADMIN_PW, ADMIN_USER, assert_error_json, strong_password

ROLES = ["user", "helpdesk_admin", "password_admin", "user_admin", "global_admin"]
ALLOWED = {
    "global_admin": {"user", "helpdesk_admin", "password_admin", "user_admin", "global_admin"},
    "user_admin": {"user", "helpdesk_admin", "password_admin", "user_admin"},
    "helpdesk_admin": {"user", "helpdesk_admin"},
    "password_admin": {"user", "password_admin"},
    "user": set(),
}


@pytest.fixture
def population(server, admin):
    """Two accounts per role (actor + target), each with a known ordinary password."""
    people = {}
    for role in ROLES:
        for kind in ("actor", "target"):
            name = "%s.%s" % (kind, role.replace("_", ""))
            pw = strong_password()
            uid = admin.create_user(name, role=role, password=pw).json["user"]["id"]
            people[(kind, role)] = (name, pw, uid)
    return people


def test_reset_permissions_matrix(server, admin, population):
    for actor_role in ROLES:
        aname, apw, aid = population[("actor", actor_role)]
        ac = server.client()
        ac.must_sign_in(aname, apw)
        for target_role in ROLES:
            tname, tpw, tid = population[("target", target_role)]
            before = admin.get("users/%d" % tid).json
            r = ac.reset(tid, notify=[], notify_user=False)
            if target_role in ALLOWED[actor_role]:
                assert r.status == 200, "%s resetting %s: %r" % (actor_role, target_role, r)
                assert r.json.get("password"), r.json
                # give the target an ordinary known password again for the next actor
                fresh = strong_password()
                r2 = admin.reset(tid, mode="manual", password=fresh, require_change=False,
                                 notify=[], notify_user=False)
                assert r2.status == 200, r2
                population[("target", target_role)] = (tname, fresh, tid)
            else:
                assert_error_json(r, 403)
                after = admin.get("users/%d" % tid).json
                assert after == before, "refused reset changed the user"
                assert server.client().sign_in(tname, tpw).status == 200, \
                    "%s's refused reset of %s changed the password" % (actor_role, target_role)
        # nobody resets their own password through the admin reset
        r = ac.reset(aid, notify=[], notify_user=False)
        assert_error_json(r, 403)
        assert server.client().sign_in(aname, apw).status == 200


def test_admin_resetting_own_password_403(server, admin):
    me = admin.get("session").json
    my_id = me.get("user", me).get("id")
    r = admin.reset(my_id, notify=[], notify_user=False)
    assert_error_json(r, 403)
    assert server.client().sign_in(ADMIN_USER, ADMIN_PW).status == 200


def test_plain_user_cannot_list_or_reset(server, admin):
    pw = strong_password()
    admin.create_user("penny", password=pw)
    tpw = strong_password()
    tid = admin.create_user("tom", password=tpw).json["user"]["id"]
    users_before = admin.all_users()
    pc = server.client()
    pc.must_sign_in("penny", pw)
    assert_error_json(pc.get("users"), 403)
    assert_error_json(pc.get("notifications"), 403)
    assert_error_json(pc.reset(tid, notify=["evil@example.net"]), 403)
    bulk = pc.post("users/password-reset", {"ids": [tid], "notify": ["evil@example.net"]})
    if bulk.status == 200:  # per-id refusals are acceptable for the bulk endpoint
        assert all(x.get("error") and not x.get("password") for x in bulk.json["results"]), bulk
    else:
        assert_error_json(bulk, 403)
    assert_error_json(pc.post("users/%d/unlock" % tid, {}), 403)
    assert_error_json(pc.patch("users/%d" % tid, {"email": "evil@example.net"}), 403)
    assert admin.all_users() == users_before
    assert server.client().sign_in("tom", tpw).status == 200


def test_user_admin_may_not_create_global_admin(server, admin):
    pw = strong_password()
    admin.create_user("uadmin", role="user_admin", password=pw)
    uc = server.client()
    uc.must_sign_in("uadmin", pw)
    before = admin.all_users()
    r = uc.post("users", {"username": "sneaky", "display_name": "Sneaky", "email": "s@example.org",
                          "role": "global_admin", "notify_user": False})
    assert_error_json(r, 403)
    assert admin.all_users() == before
    # but may create a helpdesk admin
    r = uc.post("users", {"username": "helper", "display_name": "Helper", "email": "h@example.org",
                          "role": "helpdesk_admin", "notify_user": False})
    assert r.status == 201, r


def test_not_signed_in_401(server):
    c = server.client()
    assert_error_json(c.get("users"), 401)
    assert_error_json(c.post("users/1/password-reset", {}), (401, 403))
