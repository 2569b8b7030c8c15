"""Relay faults and recovery (spec §6): 4xx retried, 5xx failed with the relay's
text, relay down at reset time, manual retry; STARTTLS required, never in clear."""
import os
import time

from conftest import (AioRelay, SmtpSink, assert_error_json, free_port, mail_text, make_cert, raw_header_block,
                      strong_password, wait_until)
from test_reset_flow import check_headers


def reset_one(admin, username, addr):
    uid = admin.create_user(username, password=strong_password()).json["user"]["id"]
    r = admin.reset(uid, notify=[addr], notify_user=False)
    assert r.status == 200, r
    assert len(r.json["notifications"]) == 1, r.json
    return uid, r.json["password"], r.json["notifications"][0]["id"]


def test_relay_4xx_then_recovers_is_delivered(server, sink, admin):
    sink.restart("-r", "RCPT", "-b", "451 4.7.1 Greylisted by test relay")
    addr = "grey@example.net"
    uid, pw, nid = reset_one(admin, "greta", addr)
    n = admin.wait_notification(nid, ("queued", "failed", "sent"), user_id=uid,
                                pred=lambda n: n["attempts"] >= 1 and n["last_answer"])
    assert n["state"] == "queued", "a 4xx must leave the message queued for retry: %r" % n
    assert "451" in n["last_answer"] and "Greylisted by test relay" in n["last_answer"], n
    assert not sink.messages_to(addr)

    sink.restart()
    r = admin.retry(nid)
    assert r.status in (200, 202, 204), r
    n = admin.wait_notification(nid, "sent", user_id=uid)
    assert n["attempts"] >= 2, n
    msgs = sink.wait_message_to(addr, contains=pw)
    assert len(msgs) == 1


def test_relay_5xx_fails_with_relay_text_then_manual_retry(server, sink, admin):
    sink.restart("-f", "RCPT", "-B", "554 5.7.1 Rejected by test relay policy")
    addr = "hard@example.net"
    uid, pw, nid = reset_one(admin, "harold", addr)
    n = admin.wait_notification(nid, "failed", user_id=uid)
    assert "554" in n["last_answer"] and "Rejected by test relay policy" in n["last_answer"], n
    assert n["attempts"] >= 1
    # a permanent failure is not retried on its own
    time.sleep(2)
    assert admin.notification(nid, uid)["attempts"] == n["attempts"]

    sink.restart()
    r = admin.retry(nid)
    assert r.status in (200, 202, 204), r
    admin.wait_notification(nid, "sent", user_id=uid)
    assert len(sink.wait_message_to(addr, contains=pw)) == 1


def test_relay_down_at_reset_then_delivered(make_resetd, workdir):
    relay_port = free_port()
    srv = make_resetd(relay_port=relay_port)
    admin = srv.admin()
    addr = "down@example.net"
    t0 = time.monotonic()
    uid, pw, nid = reset_one(admin, "dora", addr)
    assert time.monotonic() - t0 < 10, "reset waited for the relay"
    n = admin.wait_notification(nid, "queued", user_id=uid, pred=lambda n: n["attempts"] >= 1)
    assert n["last_answer"], "no answer recorded for a refused connection: %r" % n
    h = srv.healthz()
    assert h[0] == 200

    sink = SmtpSink(workdir, port=relay_port).start()
    try:
        r = admin.retry(nid)
        assert r.status in (200, 202, 204), r
        admin.wait_notification(nid, "sent", user_id=uid)
        assert len(sink.wait_message_to(addr, contains=pw)) == 1
        # the new password signs in, must change
        j = srv.client().must_sign_in("dora", pw)
        assert j["must_change_password"] is True
    finally:
        sink.stop()


def test_retry_unknown_notification_404(server, admin):
    from conftest import assert_error_json
    assert_error_json(admin.retry(987654), 404)


def test_starttls_required_relay_without_starttls_never_sends_in_clear(sink, make_resetd):
    srv = make_resetd(relay_port=sink.port, relay_extra={"security": "starttls"})
    admin = srv.admin()
    addr = "clear@example.net"
    uid, pw, nid = reset_one(admin, "clara", addr)
    n = admin.wait_notification(nid, ("queued", "failed"), user_id=uid,
                                pred=lambda n: n["attempts"] >= 1)
    assert "tls" in (n["last_answer"] or "").lower(), "answer doesn't mention STARTTLS: %r" % n
    admin.retry(nid)
    time.sleep(2)
    assert sink.messages() == [], "a message went out in clear"
    assert admin.notification(nid, uid)["state"] != "sent"


def test_starttls_delivery_to_aiosmtpd_relay(workdir, make_resetd):
    cert, key = make_cert(workdir)
    relay = AioRelay(workdir, mode="starttls", cert=cert, key=key).start()
    try:
        srv = make_resetd(relay_port=relay.port, relay_extra={"security": "starttls", "ca_file": cert})
        admin = srv.admin()
        addr = "tls.user@example.net"
        uid = admin.create_user("tessa", locale="zh-TW", password=strong_password()).json["user"]["id"]
        r = admin.reset(uid, notify=[addr], notify_user=False)
        assert r.status == 200, r
        pw = r.json["password"]
        admin.wait_notification(r.json["notifications"][0]["id"], "sent", user_id=uid)
        msgs = relay.wait_message_to(addr)
        assert len(msgs) == 1
        meta, raw, msg = msgs[0]
        assert meta["tls"] is True, "delivered without TLS: %r" % meta
        assert meta["mail_from"] == "it-helpdesk@appliance.local", meta
        check_headers(raw, msg, addr)
        assert pw in mail_text(msg)
        # CRLF line ends throughout, no bare LF or CR; lines within RFC 5322's 998
        assert b"\n" in raw
        assert raw.count(b"\n") == raw.count(b"\r\n"), "bare LF in the message"
        assert raw.count(b"\r") == raw.count(b"\r\n"), "bare CR in the message"
        assert all(len(l) <= 998 for l in raw.split(b"\r\n")), "line longer than 998"
        assert all(b < 128 for b in raw_header_block(raw)), "8-bit header bytes"
    finally:
        relay.stop()


def test_starttls_with_untrusted_certificate_is_not_delivered(workdir, make_resetd):
    cert, key = make_cert(workdir)
    relay = AioRelay(workdir, mode="starttls", cert=cert, key=key).start()
    try:
        # no ca_file: the self-signed relay certificate must not be trusted
        srv = make_resetd(relay_port=relay.port, relay_extra={"security": "starttls"})
        admin = srv.admin()
        uid, pw, nid = reset_one(admin, "ulrich", "untrusted@example.net")
        n = admin.wait_notification(nid, ("queued", "failed"), user_id=uid,
                                    pred=lambda n: n["attempts"] >= 1)
        assert n["last_answer"], n
        time.sleep(1)
        assert relay.messages() == [], "delivered to a relay with an untrusted certificate"
    finally:
        relay.stop()


def test_implicit_tls_delivery(workdir, make_resetd):
    cert, key = make_cert(workdir)
    relay = AioRelay(workdir, mode="tls", cert=cert, key=key).start()
    try:
        srv = make_resetd(relay_port=relay.port, relay_extra={"security": "tls", "ca_file": cert})
        admin = srv.admin()
        uid, pw, nid = reset_one(admin, "ivan", "implicit@example.net")
        admin.wait_notification(nid, "sent", user_id=uid)
        msgs = relay.wait_message_to("implicit@example.net")
        assert msgs[0][0]["tls"] is True
        assert pw in mail_text(msgs[0][2])
    finally:
        relay.stop()


def test_relay_421_disconnect_is_retried(server, sink, admin):
    sink.restart("-Q", "MAIL")
    addr = "q421@example.net"
    uid, pw, nid = reset_one(admin, "quentin", addr)
    n = admin.wait_notification(nid, ("queued", "failed", "sent"), user_id=uid,
                                pred=lambda n: n["attempts"] >= 1)
    assert n["state"] == "queued", "421 must be retried: %r" % n
    assert "421" in n["last_answer"] and "Server closing connection" in n["last_answer"], n
    sink.restart()
    assert admin.retry(nid).status in (200, 202, 204)
    admin.wait_notification(nid, "sent", user_id=uid)
    assert len(sink.wait_message_to(addr, contains=pw)) == 1


def test_relay_timeout_is_retried_with_the_same_message_id(sink, make_resetd):
    """The relay accepts the data but answers "." too late: the message is retried
    (at-least-once) and every copy carries the same Message-ID."""
    srv = make_resetd(relay_port=sink.port, relay_extra={"timeout_s": 2})
    admin = srv.admin()
    sink.restart("-W", ".:6")
    addr = "slow@example.net"
    uid, pw, nid = reset_one(admin, "sloane", addr)
    n = admin.wait_notification(nid, ("queued", "failed", "sent"), user_id=uid, timeout=20,
                                pred=lambda n: n["attempts"] >= 1)
    assert n["state"] == "queued", "a timeout must be retried: %r" % n
    time.sleep(5)  # let the slow sink finish its dump
    sink.restart()
    assert admin.retry(nid).status in (200, 202, 204)
    admin.wait_notification(nid, "sent", user_id=uid)
    msgs = sink.wait_message_to(addr, contains=pw)
    assert len({str(m["Message-ID"]) for _, _, m in msgs}) == 1, "Message-ID changed on retry"


def test_smtp_auth_over_starttls(workdir, make_resetd):
    cert, key = make_cert(workdir)
    relay_pw = "relay-Secret-" + strong_password()
    relay = AioRelay(workdir, mode="starttls", cert=cert, key=key, auth=("resetd-relay", relay_pw)).start()
    try:
        pwfile = os.path.join(workdir, "relay.pass")
        with open(pwfile, "w") as f:
            f.write(relay_pw + "\n")
        os.chmod(pwfile, 0o600)
        srv = make_resetd(relay_port=relay.port, relay_extra={
            "security": "starttls", "ca_file": cert, "username": "resetd-relay", "password_file": pwfile})
        admin = srv.admin()
        uid, pw, nid = reset_one(admin, "august", "auth@example.net")
        admin.wait_notification(nid, "sent", user_id=uid)
        meta, raw, msg = relay.wait_message_to("auth@example.net")[0]
        assert meta["tls"] is True and meta["authenticated"] is True and meta["login"] == "resetd-relay", meta
        assert pw in mail_text(msg)

        # wrong relay password: 535 is permanent, the answer is kept, the secret is not
        with open(pwfile, "w") as f:
            f.write("not-the-password\n")
        srv.restart()
        admin = srv.admin()
        uid2, pw2, nid2 = reset_one(admin, "augusta", "auth2@example.net")
        n = admin.wait_notification(nid2, "failed", user_id=uid2)
        assert "535" in n["last_answer"], n
        assert "not-the-password" not in n["last_answer"] and relay_pw not in srv.stderr()
        assert "not-the-password" not in srv.stderr(), "relay password in the log"
    finally:
        relay.stop()


def test_backoff_no_immediate_retry_and_state_filter(server, sink, admin):
    sink.restart("-r", "RCPT")
    uid, pw, nid = reset_one(admin, "bianca", "backoff@example.net")
    admin.wait_notification(nid, "queued", user_id=uid, pred=lambda n: n["attempts"] >= 1)
    time.sleep(3)
    n = admin.notification(nid, uid)
    assert n["attempts"] == 1, "retried before the 30 s backoff: %r" % n
    sink.restart("-f", "RCPT")
    uid2, pw2, nid2 = reset_one(admin, "bruno", "failed@example.net")
    admin.wait_notification(nid2, "failed", user_id=uid2)
    failed = admin.notifications(state="failed")
    assert [x["id"] for x in failed] == [nid2], failed
    queued = admin.notifications(state="queued")
    assert [x["id"] for x in queued] == [nid], queued
    assert_error_json(admin.get("notifications?state=bogus"), (400, 422))


def test_moved_relay_gets_no_stored_password_through_test_send(workdir, make_resetd):
    """Issue 9 #5: pointing the saved relay at another listener and pressing
    "Send test message" handed it the stored AUTH password. The listener here
    would accept exactly that password: after the move it must not get it."""
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
        t = admin.post("settings/relay/test", {"to": "probe@example.net"})
        assert t.status == 200 and t.json["ok"] is True, t
        r = admin.request("PUT", "settings/relay", {"port": thief.port})
        assert r.status == 200, r
        t = admin.post("settings/relay/test", {"to": "probe2@example.net"})
        assert not [m for m, _, _ in thief.messages() if m.get("authenticated")], "password reached the listener"
        assert t.status == 200 and t.json["ok"] is False, "the moved relay authenticated: %r" % t.json
        assert r.json["password_set"] is False, r
    finally:
        legit.stop()
        thief.stop()
