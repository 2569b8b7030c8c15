"""Issue 4 / spec §1, §2, §9, §11: a whole story — users created, resets with password
and link delivery, self-service with a code, sign-ins, password changes, relay settings
and a relay test — collecting every password, code, token, link and session secret it
used; then the server stops and every file of the data dir (database, -wal, -shm,
backups, anything else) and the server's stdout/stderr are searched for each of them.
smtp-sink is the relay, so the data dir holds no delivered .eml files."""
import glob
import os

from conftest import ADMIN_INITIAL_PW, ADMIN_PW, mail_text, strong_password
from sitekit import enable_self_service, put_ok, sign_in_as, ss_request, ss_reset, wait_code


def test_whole_story_leaves_no_secret_at_rest_or_in_logs(server, sink, admin):
    secrets_used = {"initial admin password": ADMIN_INITIAL_PW, "admin password": ADMIN_PW}
    srv = server

    def keep(name, value):
        assert value and len(value) >= 8, (name, value)
        secrets_used[name] = value
        return value

    for k, v in admin.cookies.items():
        keep("admin cookie " + k, v)
    keep("admin csrf", admin.csrf)

    # relay settings with write-only secrets, then a relay test
    relay_pw = keep("relay password", "RelayPw-" + strong_password())
    hook_secret = keep("webhook secret", "HookSecret-" + strong_password())
    put_ok(admin, "relay", {"password": relay_pw, "secret": hook_secret})
    t = admin.post("settings/relay/test", {"to": "story.test@example.net"})
    assert t.status == 200 and t.json["ok"] is True, t

    # users: one created with a mailed generated password, one with a manual password
    r = admin.post("users", {"username": "story-ann", "display_name": "Ann Story", "email": "ann@corp.example.org",
                             "alternate_email": "ann.alt@home.example.net", "notify": ["ann.home@example.net"]})
    assert r.status == 201, r
    ann_id = r.json["user"]["id"]
    ann_temp = keep("ann temporary password", r.json["password"])
    manual = keep("bob manual password", "Manual-" + strong_password())
    bob_id = admin.create_user("story-bob", email="bob@corp.example.org", password=manual).json["user"]["id"]
    ca = admin.create_user("story-cid", email="cid@corp.example.org", password=strong_password()).json["user"]["id"]

    # Ann: first sign-in with the temporary password, forced change
    a, s = sign_in_as(srv, "story-ann", ann_temp, source="127.0.0.181")
    assert s.status == 200 and s.json["must_change_password"] is True, s
    keep("ann csrf", a.csrf)
    for k, v in a.cookies.items():
        keep("ann cookie " + k, v)
    ann_pw = keep("ann chosen password", strong_password())
    assert a.change_password(ann_temp, ann_pw).status in (200, 204)
    wrong = keep("a wrong password typed", "Wrong-" + strong_password())
    assert sign_in_as(srv, "story-ann", wrong, source="127.0.0.182")[1].status == 401
    chk = keep("password-check input", "Checked-" + strong_password())
    assert srv.client().post("password-check", {"password": chk}, csrf=False).status == 200

    # Bob: admin reset with a link, set through the link; then an admin manual reset
    r = admin.reset(bob_id, delivery="link", notify=["bob.home@example.net"])
    assert r.status == 200, r
    link = keep("bob link", r.json["link"])
    token = keep("bob link token", link.rsplit("token=", 1)[1])
    sink.wait_message_to("bob.home@example.net", contains=token)
    bob_pw = keep("bob link password", strong_password())
    assert srv.client().post("set-password", {"token": token, "new_password": bob_pw}, csrf=False).status == 200
    b, s = sign_in_as(srv, "story-bob", bob_pw, source="127.0.0.183")
    assert s.status == 200
    manual2 = keep("bob manual reset password", "Manual2-" + strong_password())
    r = admin.reset(bob_id, mode="manual", password=manual2, require_change=True, notify=["bob.home@example.net"])
    assert r.status == 200, r
    b, s = sign_in_as(srv, "story-bob", manual2, source="127.0.0.184")
    assert s.status == 200 and s.json["must_change_password"] is True
    bob_pw2 = keep("bob second chosen password", strong_password())
    assert b.change_password(manual2, bob_pw2).status in (200, 204)

    # Cid: an auto reset mailed, superseded by a second one
    r1 = admin.reset(ca, notify=["cid.home@example.net"])
    keep("cid first temp", r1.json["password"])
    r2 = admin.reset(ca, notify=["cid.home@example.net"])
    keep("cid second temp", r2.json["password"])
    r3 = admin.reset(ca, delivery="link", notify=["cid.home@example.net"])
    keep("cid link", r3.json["link"])
    keep("cid token", r3.json["link"].rsplit("token=", 1)[1])

    # Ann: self-service with a code (one wrong try first)
    enable_self_service(admin)
    assert ss_request(srv, "story-ann", source="127.0.0.185").status == 202
    code = keep("ann code", wait_code(sink, "ann.alt@home.example.net"))
    wrong_code = keep("ann wrong code", "%08d" % ((int(code) + 3) % 10 ** 8))
    assert ss_reset(srv, "story-ann", wrong_code, strong_password(), source="127.0.0.186").status == 422
    ann_pw2 = keep("ann self-service password", strong_password())
    assert ss_reset(srv, "story-ann", code, ann_pw2, source="127.0.0.186").status == 200
    a, s = sign_in_as(srv, "story-ann", ann_pw2, source="127.0.0.187")
    assert s.status == 200
    ann_pw3 = keep("ann changed password", strong_password())
    assert a.change_password(ann_pw2, ann_pw3).status in (200, 204)

    # the secrets really went through the relay (so the search below can find them)
    assert sink.wait_message_to("ann.home@example.net", contains=ann_temp)
    assert sink.wait_message_to("bob.home@example.net", contains=manual2)
    # everything that goes out has gone out; then the API's own views
    admin = srv.admin()
    for n in admin.notifications():
        if n["state"] in ("queued", "sending"):
            admin.wait_notification(n["id"], ("sent", "superseded", "expired", "failed"))
    views = [admin.get("audit?limit=1000").body, admin.get("audit?format=csv").body,
             admin.get("notifications?limit=500").body, admin.get("settings/relay").body,
             admin.get("users?limit=200").body, admin.get("backup").body]
    for k, v in admin.cookies.items():
        keep("admin cookie 2 " + k, v)

    srv.stop()  # checkpoints the WAL
    files = [p for p in glob.glob(os.path.join(srv.data_dir, "**", "*"), recursive=True) if os.path.isfile(p)]
    assert any(p.endswith("resetd.db") or p.endswith(".db") for p in files), files
    mail_dir = os.path.join(srv.data_dir, "mail")
    assert not (os.path.isdir(mail_dir) and os.listdir(mail_dir)), "file relay mail in the data dir"
    contents = {}
    for p in files:
        with open(p, "rb") as f:
            contents[p] = f.read()
    logs = b""
    for p in (srv.stdout_path, srv.stderr_path):
        with open(p, "rb") as f:
            logs += f.read()
    found = []
    for name, value in secrets_used.items():
        needle = value.encode("utf-8")
        for p, data in contents.items():
            if needle in data:
                found.append("%s in %s" % (name, os.path.relpath(p, srv.data_dir)))
        if needle in logs:
            found.append("%s in the server output" % name)
        for i, v in enumerate(views):
            if needle in v:
                found.append("%s in API view #%d" % (name, i))
    assert not found, "secrets found: %s" % "; ".join(found)
