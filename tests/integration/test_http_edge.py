"""Spec §7: security headers, cookie flags, /healthz shape."""
import re
import time

from conftest import (ADMIN_PW, ADMIN_USER, Client, assert_error_json, free_port, run_cli,
                      strong_password)


def check_security_headers(resp, where, api=True):
    h = resp.headers
    csp = h.get("content-security-policy")
    assert csp, "%s: no Content-Security-Policy" % where
    low = csp.lower()
    assert "unsafe-inline" not in low and "unsafe-eval" not in low, "%s: CSP %r" % (where, csp)
    assert "frame-ancestors 'none'" in low, "%s: CSP lacks frame-ancestors 'none': %r" % (where, csp)
    assert "default-src" in low or "script-src" in low, "%s: CSP %r" % (where, csp)
    assert not re.search(r"https?:|(^|[\s;])\*(?=[\s;]|$)", low), \
        "%s: CSP allows an external origin: %r" % (where, csp)
    assert h.get("x-content-type-options", "").lower() == "nosniff", where
    assert h.get("referrer-policy", "").lower() == "no-referrer", where
    if api:
        assert "no-store" in h.get("cache-control", "").lower(), "%s: Cache-Control %r" % (where, h.get("cache-control"))
    assert "server" not in h or "httplib" not in h["server"].lower(), "%s: server banner" % where


def test_security_headers_on_api_errors_and_ui(server, admin):
    anon = server.client()
    check_security_headers(anon.get("healthz"), "GET /healthz")
    check_security_headers(anon.get("users"), "401 GET /users")
    check_security_headers(admin.get("users"), "GET /users")
    check_security_headers(admin.get("/api/v1/nope"), "404")
    check_security_headers(admin.delete("healthz"), "405")
    r = anon.post("session", {"username": "nobody", "password": "x" * 12}, csrf=False)
    check_security_headers(r, "401 POST /session")
    root = anon.get("/")
    check_security_headers(root, "GET /", api=False)


def test_session_cookie_flags_and_sign_out(server, admin):
    c = server.client()
    r = c.sign_in(ADMIN_USER, ADMIN_PW)
    assert r.status == 200, r
    j = r.json
    assert set(j) >= {"user", "must_change_password", "csrf_token"}, j
    assert j["user"]["username"] == ADMIN_USER
    assert isinstance(j["csrf_token"], str) and len(j["csrf_token"]) >= 20
    sc = [v for k, v in r.header_list if k.lower() == "set-cookie"]
    assert len(sc) == 1, sc
    flags = [f.strip().lower() for f in sc[0].split(";")[1:]]
    assert "httponly" in flags, sc
    assert "samesite=strict" in flags, sc
    name, val = sc[0].split(";")[0].split("=", 1)
    assert len(val) >= 40, "session token too short: %r" % val
    who = c.get("session")
    assert who.status == 200 and who.json.get("csrf_token") == c.csrf, who
    # cookie without CSRF token can't sign out
    assert_error_json(c.delete("session", csrf=False), 403)
    out = c.delete("session")
    assert out.status in (200, 204), out
    c2 = Client(server.port)
    c2.cookies = {name.strip(): val}
    assert_error_json(c2.get("session"), 401)
    # wrong password answers the generic error
    bad1 = server.client().sign_in(ADMIN_USER, "wrong-password-123")
    bad2 = server.client().sign_in("no.such.user", "wrong-password-123")
    e1 = assert_error_json(bad1, 401)
    e2 = assert_error_json(bad2, 401)
    assert e1["code"] == e2["code"] and e1["message"] == e2["message"], (e1, e2)


def test_healthz_shape(server, admin):
    r = server.client().get("healthz")
    assert r.status == 200, r
    j = r.json
    assert set(j) >= {"status", "db", "outbox_pending", "clock", "version"}, j
    assert j["status"] == "ok", j
    assert isinstance(j["outbox_pending"], int) and not isinstance(j["outbox_pending"], bool)
    assert j["outbox_pending"] == 0, j
    assert isinstance(j["db"], (str, dict, bool)) and j["db"] not in ("", None, False), j
    assert isinstance(j["clock"], (str, dict)), j
    assert isinstance(j["version"], str) and j["version"], j
    v = run_cli("version")
    assert v.returncode == 0
    assert j["version"] in v.stdout, "healthz version %r not in `resetd version` %r" % (j["version"], v.stdout)


def test_healthz_counts_pending_outbox(make_resetd):
    srv = make_resetd(relay_port=free_port())  # relay down
    admin = srv.admin()
    uid = admin.create_user("pending", password=strong_password()).json["user"]["id"]
    r = admin.reset(uid, notify=["p1@example.net", "p2@example.net"], notify_user=False)
    assert r.status == 200, r
    j = srv.client().get("healthz").json
    assert j["outbox_pending"] == 2, j
    assert j["status"] in ("ok", "degraded"), j


def test_reads_write_nothing(server, admin):
    """Spec §9: requests that only read write nothing to flash (db/WAL unchanged)."""
    import glob
    import hashlib
    import os
    time.sleep(1.0)

    def digest():
        h = hashlib.sha256()
        paths = glob.glob(os.path.join(server.data_dir, "*.db")) + \
            glob.glob(os.path.join(server.data_dir, "*.db-wal"))  # -shm holds read marks
        assert paths, "no database file in the data dir"
        for p in sorted(paths):
            with open(p, "rb") as f:
                h.update(p.encode() + f.read())
        return h.hexdigest()
    d0 = digest()
    for _ in range(5):
        assert admin.get("users").status == 200
        assert admin.get("session").status == 200
        assert admin.get("notifications").status == 200
        assert server.client().get("healthz").status == 200
    time.sleep(0.5)
    assert digest() == d0, "read-only requests changed the database files"
