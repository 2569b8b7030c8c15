"""Spec §6: the file relay (the default) and the webhook relay (HMAC-SHA256)."""
import glob
import hashlib
import hmac
import http.server
import json
import os
import stat
import threading
import time

from conftest import free_port, mail_text, parse_mail, strong_password, wait_until


def test_file_relay_writes_private_eml(make_resetd):
    srv = make_resetd(relay_extra={"kind": "file"})
    admin = srv.admin()
    uid = admin.create_user("fiona", locale="zh-TW", password=strong_password()).json["user"]["id"]
    r = admin.reset(uid, notify=["fiona.home@example.net"], notify_user=True)
    assert r.status == 200, r
    pw = r.json["password"]
    for n in r.json["notifications"]:
        admin.wait_notification(n["id"], "sent", user_id=uid)
    maildir = os.path.join(srv.data_dir, "mail")
    files = wait_until(lambda: [p for p in glob.glob(os.path.join(maildir, "*.eml"))] if
                       len(glob.glob(os.path.join(maildir, "*.eml"))) >= 2 else None, what=".eml files")
    assert len(files) == 2, files
    assert not [p for p in os.listdir(maildir) if not p.endswith(".eml")], "temp files left behind"
    found = {}
    for p in files:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
        raw = open(p, "rb").read()
        assert raw.count(b"\n") == raw.count(b"\r\n"), "bare LF in %s" % p
        m = parse_mail(raw)
        found[str(m["To"])] = mail_text(m)
    assert pw in found["fiona.home@example.net"]
    assert pw not in found["fiona@example.org"]


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        srv = self.server
        with srv.lock:
            srv.requests.append((dict(self.headers.items()), body))
            status = srv.statuses.pop(0) if srv.statuses else 200
        self.send_response(status)
        out = b'{"ok": true}' if status < 300 else b"test hook says no"
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def start_hook(statuses):
    s = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Hook)
    s.requests, s.statuses, s.lock = [], list(statuses), threading.Lock()
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    return s


def test_webhook_signed_retried_on_5xx_permanent_on_4xx(make_resetd, workdir):
    hook = start_hook([500])
    try:
        secret_file = os.path.join(workdir, "hook.secret")
        with open(secret_file, "w") as f:
            f.write("  test-hmac-key-0123456789 \n")
        url = "http://127.0.0.1:%d/hook" % hook.server_address[1]
        srv = make_resetd(relay_extra={"kind": "webhook", "url": url, "secret_file": secret_file})
        admin = srv.admin()
        uid = admin.create_user("wanda", password=strong_password()).json["user"]["id"]
        r = admin.reset(uid, notify=["wanda.home@example.net"], notify_user=False)
        assert r.status == 200, r
        pw, nid = r.json["password"], r.json["notifications"][0]["id"]
        n = admin.wait_notification(nid, "queued", user_id=uid, pred=lambda n: n["attempts"] >= 1)
        assert "500" in n["last_answer"], n
        assert admin.retry(nid).status in (200, 202, 204)
        admin.wait_notification(nid, "sent", user_id=uid)
        assert len(hook.requests) == 2
        for headers, body in hook.requests:
            h = {k.lower(): v for k, v in headers.items()}
            ts = h["x-resetd-timestamp"]
            assert ts.isdigit() and abs(int(ts) - time.time()) < 300, ts
            want = hmac.new(b"test-hmac-key-0123456789", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            assert h["x-resetd-signature"] == "sha256=" + want, "bad signature"
            assert h["content-type"].startswith("application/json")
            j = json.loads(body)
            assert set(j) >= {"id", "kind", "recipient", "subject", "body", "created_at"}, j
            assert j["recipient"] == "wanda.home@example.net"
            assert pw in j["body"]
        ids = {json.loads(b)["id"] for _, b in hook.requests}
        assert len(ids) == 1, "the retried delivery changed its id: %r" % ids

        # 400 is permanent; 429 is retried
        hook.statuses[:] = [400]
        r = admin.reset(uid, notify=["wanda.home@example.net"], notify_user=False)
        admin.wait_notification(r.json["notifications"][0]["id"], "failed", user_id=uid)
        hook.statuses[:] = [429]
        r = admin.reset(uid, notify=["wanda.home@example.net"], notify_user=False)
        n = admin.wait_notification(r.json["notifications"][0]["id"], "queued", user_id=uid,
                                    pred=lambda n: n["attempts"] >= 1)
        assert "429" in n["last_answer"], n
    finally:
        hook.shutdown()


class LeakyHook(http.server.BaseHTTPRequestHandler):
    """An internal service that answers 500 with something it should not show."""
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        out = b"INTERNAL db_password=hunter2 host=10.9.8.7\nTraceback ..."
        self.send_response(500)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def test_webhook_test_send_shows_status_and_fixed_phrase_not_the_body(make_resetd, workdir):
    """Issue 9 #9: "Send test message" (and the audit, and the outbox) must not
    echo what the webhook target answered."""
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), LeakyHook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/hook" % hook.server_address[1]
        srv = make_resetd()
        admin = srv.admin()
        r = admin.request("PUT", "settings/relay", {"kind": "webhook", "url": url, "secret": "k" * 32})
        assert r.status == 200, r
        t = admin.post("settings/relay/test", {"to": "probe@example.net"})
        assert t.status == 200, t
        assert t.json["ok"] is False
        assert t.json["answer"].startswith("HTTP 500 "), t.json
        assert "hunter2" not in t.json["answer"] and "INTERNAL" not in t.json["answer"], t.json
        audit = admin.get("audit?action=relay_test").json["entries"]
        assert audit and "HTTP 500" in audit[0]["detail"], audit
        assert not [a for a in audit if "hunter2" in a["detail"] or "INTERNAL" in a["detail"]], audit
        uid = admin.create_user("leaky", password=strong_password()).json["user"]["id"]
        r = admin.reset(uid, notify=["leaky.home@example.net"], notify_user=False)
        nid = r.json["notifications"][0]["id"]
        n = admin.wait_notification(nid, "queued", user_id=uid, pred=lambda n: n["attempts"] >= 1)
        assert n["last_answer"].startswith("HTTP 500 ") and "hunter2" not in n["last_answer"], n
    finally:
        hook.shutdown()
