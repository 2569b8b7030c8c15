"""Helpers for the issue-4 tests (settings, self-service, expiration, audit, sessions):
a movable test clock (RESETD_TEST_CLOCK_OFFSET_FILE), self-service mail codes, audit
queries. Not a test file (no test_ prefix); tests import what they need."""
import datetime
import os
import re
import time

import pytest

from conftest import ADMIN_PW, Client, assert_error_json, mail_text, wait_until

CODE_RE = re.compile(r"(?<!\d)\d{8}(?!\d)")


class TestClock:
    """Seconds added to resetd's wall and monotonic clocks (absolute offset)."""
    __test__ = False

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.write(0)

    def write(self, seconds):
        with open(self.path + ".tmp", "w") as f:
            f.write("%d\n" % seconds)
        os.rename(self.path + ".tmp", self.path)

    def set(self, srv, seconds):
        """Moves the server's clocks to real time + seconds and waits until it uses them."""
        assert seconds >= self.offset, "the test clock only moves forward"
        self.offset = seconds
        self.write(seconds)
        want = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds - 5)

        def applied():
            st, body = srv.healthz()
            if st != 200:
                return False
            import json
            t = json.loads(body).get("time")
            if not t:
                return False
            at = datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
            return at >= want
        wait_until(applied, timeout=10, interval=0.1, what="server clock moved by %d s" % seconds)
        time.sleep(0.3)  # let the sweeper thread act on the jump

    def advance(self, srv, seconds):
        self.set(srv, self.offset + seconds)


@pytest.fixture
def clocked(sink, make_resetd, workdir):
    """(server relaying to smtp-sink, TestClock) with the test clock hook enabled."""
    clock = TestClock(os.path.join(workdir, "clock-offset"))
    srv = make_resetd(relay_port=sink.port, start=False)
    srv.env = {"RESETD_TEST_CLOCK_OFFSET_FILE": clock.path}
    srv.start()
    wait_until(lambda: "TEST CLOCK ENABLED" in srv.stderr(), timeout=5, what="TEST CLOCK ENABLED log line")
    return srv, clock


def fresh_admin(srv):
    """A signed-in global admin, also after clock jumps (idle timeout, expired password)."""
    c = srv.admin()
    if c.get("session").json.get("must_change_password"):
        tmp = "Tmp-" + ADMIN_PW[::-1] + "-9"
        assert c.change_password(ADMIN_PW, tmp).status in (200, 204)
        assert c.change_password(tmp, ADMIN_PW).status in (200, 204)
        c.must_sign_in("admin", ADMIN_PW)
    return c


def put(admin, what, body):
    return admin.request("PUT", "settings/" + what, body)


def put_ok(admin, what, body):
    r = put(admin, what, body)
    assert r.status == 200, "PUT settings/%s %r: %r" % (what, body, r)
    return r.json


def enable_self_service(admin, on=True):
    j = put_ok(admin, "self-service", {"enabled": on})
    assert j["enabled"] is on, j


def anon(srv, source=None):
    return srv.client(source=source)


def ss_request(srv, username, source=None):
    return anon(srv, source).post("self-service/requests", {"username": username}, csrf=False)


def ss_reset(srv, username, code, new_password, source=None):
    return anon(srv, source).post("self-service/reset",
                                  {"username": username, "code": code, "new_password": new_password},
                                  csrf=False)


def codes_in(msg):
    return sorted(set(CODE_RE.findall(mail_text(msg))))


def wait_code(sink, addr, count=1, known=(), timeout=20):
    """The code in the message to addr that carries none of the `known` codes, once
    `count` messages arrived (dump file names don't order messages of one second)."""
    msgs = sink.wait_message_to(addr, count=count, timeout=timeout)
    fresh = []
    for _, _, msg in msgs:
        codes = codes_in(msg)
        assert len(codes) == 1, "expected one 8-digit code in the mail, found %r:\n%s" % (codes, mail_text(msg))
        if codes[0] not in known:
            fresh.append(codes[0])
    assert len(fresh) == 1, "expected one new code among %d mails, got %r (known %r)" % (len(msgs), fresh, known)
    return fresh[0]


def audit(admin, **params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    r = admin.get("audit" + ("?" + q if q else ""))
    assert r.status == 200, r
    j = r.json
    assert set(j) >= {"entries", "total"}, j
    return j["entries"]


def wait_audit(admin, pred, what, timeout=15):
    def check():
        es = [e for e in audit(admin, limit=1000) if pred(e)]
        return es or None
    return wait_until(check, timeout=timeout, interval=0.2, what="audit entry: " + what)


def sign_in_as(srv, username, password, source=None, user_agent=None):
    c = srv.client(source=source)
    r = c.post("session", {"username": username, "password": password}, csrf=False,
               headers={"User-Agent": user_agent} if user_agent else None)
    if r.status == 200:
        c.csrf = r.json.get("csrf_token")
        c.user = r.json.get("user")
    return c, r
