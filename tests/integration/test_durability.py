"""Spec §9: a reset the API reported done survives kill -9; nothing stays `sending`."""
from conftest import SmtpSink, free_port, strong_password


def test_kill9_after_answered_reset_relay_up(sink, make_resetd):
    srv = make_resetd(relay_port=sink.port)
    admin = srv.admin()
    uid = admin.create_user("kim", password=strong_password()).json["user"]["id"]
    addr = "kim.home@example.net"
    r = admin.reset(uid, notify=[addr], notify_user=False)
    assert r.status == 200, r
    srv.kill9()  # right after the answer
    pw = r.json["password"]
    nid = r.json["notifications"][0]["id"]

    srv.start()
    admin = srv.admin()
    j = srv.client().must_sign_in("kim", pw)
    assert j["must_change_password"] is True
    n = admin.wait_notification(nid, ("sent", "queued"), user_id=uid, timeout=20)
    if n["state"] == "queued":
        assert admin.retry(nid).status in (200, 202, 204)
        admin.wait_notification(nid, "sent", user_id=uid)
    msgs = sink.wait_message_to(addr, contains=pw)
    assert len(msgs) >= 1  # at-least-once
    ids = {str(m["Message-ID"]) for _, _, m in msgs}
    assert len(ids) == 1, "redelivery must keep the Message-ID: %r" % ids


def test_kill9_with_relay_down_keeps_queued_message(workdir, make_resetd):
    relay_port = free_port()
    srv = make_resetd(relay_port=relay_port)
    admin = srv.admin()
    uid = admin.create_user("kurt", password=strong_password()).json["user"]["id"]
    addr = "kurt.home@example.net"
    r = admin.reset(uid, notify=[addr], notify_user=False)
    assert r.status == 200, r
    pw, nid = r.json["password"], r.json["notifications"][0]["id"]
    admin.wait_notification(nid, "queued", user_id=uid, pred=lambda n: n["attempts"] >= 1)
    r2 = admin.reset(uid, notify=[addr], notify_user=False)
    assert r2.status == 200, r2
    srv.kill9()
    pw2, nid2 = r2.json["password"], r2.json["notifications"][0]["id"]

    srv.start()
    admin = srv.admin()
    assert srv.client().sign_in("kurt", pw).status == 401
    assert srv.client().must_sign_in("kurt", pw2)["must_change_password"] is True
    ns = {n["id"]: n for n in admin.notifications(user_id=uid)}
    assert nid2 in ns, "the notification of the answered reset was lost"
    assert ns[nid2]["state"] in ("queued", "sending")  # sending only while a worker tries now
    assert all(n["state"] != "sending" for n in admin.notifications()
               if n["id"] != nid2), "a message stayed in sending after restart"
    assert ns[nid]["state"] == "superseded", ns[nid]

    sink = SmtpSink(workdir, port=relay_port).start()
    try:
        assert admin.retry(nid2).status in (200, 202, 204)
        admin.wait_notification(nid2, "sent", user_id=uid)
        assert len(sink.wait_message_to(addr, contains=pw2)) == 1
        assert not sink.messages_to(addr, contains=pw), "superseded password was mailed"
    finally:
        sink.stop()
