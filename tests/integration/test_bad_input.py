"""Spec §7 HTTP edge: every bad request gets the right 4xx error JSON and changes
nothing in the database (GET /users before == after; the target's password works)."""
import gzip
import json

import pytest

from conftest import assert_error_json, raw_http, strong_password


@pytest.fixture
def target(server, admin):
    pw = strong_password()
    uid = admin.create_user("target", password=pw).json["user"]["id"]
    return uid, pw


def raw_post(admin, path, body, extra_headers=(), content_length=True, csrf=True,
             content_type="application/json"):
    """Builds a raw HTTP/1.1 request with the admin's cookie (and CSRF token)."""
    lines = ["POST %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % admin.port, "Connection: close"]
    if admin.cookies:
        lines.append("Cookie: " + "; ".join("%s=%s" % kv for kv in admin.cookies.items()))
    if csrf and admin.csrf:
        lines.append("X-CSRF-Token: " + admin.csrf)
    if content_type:
        lines.append("Content-Type: " + content_type)
    if content_length:
        lines.append("Content-Length: %d" % len(body))
    lines += list(extra_headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def snapshot(admin, server, target):
    users = admin.all_users()
    notes = admin.notifications()
    return users, notes


def assert_unchanged(admin, server, target, snap):
    users, notes = snap
    assert admin.all_users() == users, "the user list changed"
    assert admin.notifications() == notes, "the outbox changed"


def test_bad_requests_get_error_json_and_change_nothing(server, admin, target):
    uid, tpw = target
    path = "/api/v1/users/%d/password-reset" % uid
    good = {"mode": "manual", "password": strong_password(), "require_change": False,
            "notify": ["x@example.net"], "notify_user": True}
    snap = snapshot(admin, server, target)
    failures = []

    def expect(name, resp, statuses, code=None):
        try:
            if resp is None:
                raise AssertionError("connection closed without an answer")
            assert_error_json(resp, statuses, code)
            assert_unchanged(admin, server, target, snap)
        except AssertionError as e:
            failures.append("%s: %s" % (name, str(e).splitlines()[0]))

    # malformed JSON
    expect("truncated JSON", admin.post(path, raw=b'{"mode": "manual", "password": '), 400)
    expect("not JSON", admin.post(path, raw=b"mode=manual"), 400)
    expect("JSON with trailing garbage", admin.post(path, raw=json.dumps(good).encode() + b"}}"), 400)
    expect("invalid UTF-8", admin.post(path, raw=b'{"mode":"manual","password":"\xff\xfe\xfdabc"}'), (400, 422))
    expect("array body", admin.post(path, raw=b"[1,2,3]"), (400, 422))
    # wrong types
    expect("mode number", admin.reset(uid, mode=5, notify=[]), (400, 422))
    expect("mode unknown", admin.reset(uid, mode="psychic", notify=[]), (400, 422))
    expect("notify string", admin.reset(uid, notify="x@example.net"), (400, 422))
    expect("notify number item", admin.reset(uid, notify=[5]), (400, 422))
    expect("require_change string", admin.reset(uid, require_change="yes", notify=[]), (400, 422))
    expect("password number", admin.reset(uid, mode="manual", password=12345678901234, notify=[]), (400, 422))
    expect("delivery unknown", admin.reset(uid, delivery="pigeon", notify=[]), (400, 422))
    expect("notify_user string", admin.reset(uid, notify_user="no", notify=[]), (400, 422))
    # rejected values
    expect("manual without password", admin.reset(uid, mode="manual", notify=[]), (400, 422))
    expect("manual weak password", admin.reset(uid, mode="manual", password="password", notify=[]), 422)
    expect("manual too short", admin.reset(uid, mode="manual", password="Ab1!x", notify=[]), 422)
    expect("manual contains username",
           admin.reset(uid, mode="manual", password="Target-" + strong_password(), notify=[]), 422)
    expect("invalid address", admin.reset(uid, notify=["not-an-address"]), 422)
    expect("header injection address", admin.reset(uid, notify=["a@example.net\r\nBcc: b@example.net"]), 422)
    expect("six addresses", admin.reset(uid, notify=["n%d@example.net" % i for i in range(6)]), 422)
    expect("manual + link", admin.reset(uid, mode="manual", password=strong_password(),
                                        delivery="link", notify=[]), 422)
    # users endpoint types
    expect("create username number", admin.post("users", {"username": 42, "display_name": "x",
                                                           "email": "a@example.org"}), (400, 422))
    expect("create bad username", admin.post("users", {"username": "Bad Name!", "display_name": "x",
                                                       "email": "a@example.org", "notify_user": False}), 422)
    expect("create bad role", admin.post("users", {"username": "newbie", "display_name": "x",
                                                   "email": "a@example.org", "role": "emperor",
                                                   "notify_user": False}), (400, 422))
    expect("create duplicate", admin.post("users", {"username": "TARGET", "display_name": "x",
                                                    "email": "a@example.org", "notify_user": False}), 409)
    expect("patch disabled string", admin.patch("users/%d" % uid, {"disabled": "no"}), (400, 422))
    expect("patch bad locale", admin.patch("users/%d" % uid, {"locale": "xx-YY"}), (400, 422))
    # size and framing
    big = json.dumps(dict(good, pad="a" * 70000)).encode()
    expect("body > 64 KiB", raw_http(server.port, raw_post(admin, path, big)), 413)
    body = json.dumps(good).encode()
    chunked = raw_post(admin, path, b"", content_length=False,
                       extra_headers=["Transfer-Encoding: chunked"])
    chunked += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    expect("chunked body", raw_http(server.port, chunked), (411, 400))
    gz = gzip.compress(body)
    expect("gzip body", raw_http(server.port, raw_post(admin, path, gz, extra_headers=["Content-Encoding: gzip"])),
           (415, 400))
    expect("no Content-Length", raw_http(server.port, raw_post(admin, path, body, content_length=False)), 411)
    expect("text/plain", admin.post(path, raw=body, content_type="text/plain"), 415)
    expect("form content type", admin.post(path, raw=body, content_type="application/x-www-form-urlencoded"), 415)
    expect("no content type", raw_http(server.port, raw_post(admin, path, body, content_type=None)), 415)
    expect("missing CSRF", admin.post(path, good, csrf=False), 403)
    expect("wrong CSRF", admin.post(path, good, csrf=False, headers={"X-CSRF-Token": "x" * 43}), 403)
    # routing
    expect("unknown API path", admin.get("/api/v1/no-such-thing"), 404)
    expect("unknown user", admin.reset(987654, notify=[]), 404)
    expect("non-numeric id", admin.get("users/abc"), (400, 404))
    expect("wrong method PUT user", admin.request("PUT", "users/%d" % uid, {"display_name": "x"}), 405)
    expect("wrong method DELETE healthz", admin.delete("healthz"), 405)
    expect("wrong method GET reset", admin.get(path), 405)

    assert not failures, "bad requests handled wrongly:\n" + "\n".join(failures)
    assert_unchanged(admin, server, target, snap)
    assert server.client().sign_in("target", tpw).status == 200
    # the well-formed request is accepted (the cases above could fail for the right reason)
    r = admin.reset(uid, **good)
    assert r.status == 200, r


def test_unauthenticated_post_needs_json_content_type(server, admin, target):
    uid, tpw = target
    c = server.client()
    r = c.post("session", raw=json.dumps({"username": "target", "password": tpw}).encode(),
               content_type="text/plain", csrf=False)
    assert_error_json(r, 415)
    r = c.post("session", {"username": "target", "password": tpw}, csrf=False,
               headers={"Origin": "http://evil.example"})
    assert_error_json(r, 403)
    r = c.post("session", raw=b'{"username": ', csrf=False)
    assert_error_json(r, 400)
    r = c.post("session", {"username": ["target"], "password": tpw}, csrf=False)
    assert_error_json(r, (400, 422))
    assert c.post("session", {"username": "target", "password": tpw}, csrf=False,
                  headers={"Origin": server.url}).status == 200


def test_many_headers_or_huge_header_is_refused_not_crash(server, admin):
    # huge header line: the server must answer 4xx or close, and keep serving
    req = b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\nConnection: close\r\n\r\n"
    r = raw_http(server.port, req)
    assert r is None or 400 <= r.status < 500 or r.status == 200
    st, _ = server.healthz()
    assert st == 200


def test_content_length_beyond_32_bits_is_refused_before_the_body(server):
    """2^32 + 1 must not wrap to 1 on a 32-bit board (armhf)."""
    for length in ("4294967297", "18446744073709551617", "99999999999999999999"):
        req = ("POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
               "Content-Length: %s\r\n\r\n{}" % (server.port, length)).encode()
        r = raw_http(server.port, req)
        assert r is not None, "server closed without an answer for Content-Length %s" % length
        assert_error_json(r, (400, 413))
