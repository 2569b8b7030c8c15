"""Spec §9 "Clocks": timers (backoff, timeouts, throttling, idle) use the monotonic
clock; a wall clock earlier than the build date is "unset" in /healthz.

The wall clock of the resetd process is moved with libfaketime (Debian package
faketime) through a timestamp file read on every call; the monotonic clock is
left alone (FAKETIME_DONT_FAKE_MONOTONIC=1)."""
import os
import secrets
import time

import pytest

from conftest import Client, free_port, strong_password
from test_throttling import check_429, hammer

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


@pytest.fixture
def clocked(make_resetd, workdir):
    """make(…) -> (resetd, set_offset) with a movable wall clock."""
    if not os.path.exists(LIBFAKETIME):
        pytest.fail("libfaketime missing: apt-get install faketime")
    offset_file = os.path.join(workdir, "clock-offset")

    def set_offset(off):
        with open(offset_file + ".tmp", "w") as f:
            f.write(off + "\n")
        os.rename(offset_file + ".tmp", offset_file)

    def make(**kw):
        set_offset("+0")
        srv = make_resetd(start=False, **kw)
        srv.env = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": offset_file,
                   "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        srv.start()
        return srv, set_offset
    return make


def test_healthz_says_clock_unset_before_build_date(clocked):
    srv, set_offset = clocked()
    assert srv.client().get("healthz").json["clock"] == "ok"
    set_offset("-3650d")
    time.sleep(0.2)
    j = srv.client().get("healthz").json
    assert j["clock"] == "unset", j
    set_offset("+0")
    time.sleep(0.2)
    assert srv.client().get("healthz").json["clock"] == "ok"


def test_throttle_delay_not_stretched_by_wall_clock_going_back(clocked):
    srv, set_offset = clocked()
    admin = srv.admin()
    pw = strong_password()
    admin.create_user("tina", password=pw)
    n, r = hammer(srv, "tina", ["127.0.0.%d" % i for i in range(70, 99)])
    check_429(r)
    wait = int(r.headers["retry-after"])
    assert wait <= 10, r.headers
    set_offset("-1d")  # e.g. NTP corrects a clock that ran a day ahead
    time.sleep(wait + 1.5)
    ok = Client(srv.port, source="127.0.0.120").sign_in("tina", pw)
    assert ok.status == 200, "after the %d s delay the right password is still refused " \
                             "(Retry-After %s): throttling follows the wall clock" % (wait, ok.headers.get("retry-after"))


def test_backoff_not_given_up_when_wall_clock_jumps_forward(clocked):
    # an appliance that booted with a stale clock gets NTP time 49 h later;
    # a message queued seconds ago must not count as 48 h old
    srv, set_offset = clocked(relay_port=free_port())  # relay down
    admin = srv.admin()
    uid = admin.create_user("nora", password=strong_password()).json["user"]["id"]
    r = admin.reset(uid, notify=["nora@example.net"], notify_user=False)
    assert r.status == 200, r
    nid = r.json["notifications"][0]["id"]
    admin.wait_notification(nid, "queued", user_id=uid, pred=lambda n: n["attempts"] >= 1)
    set_offset("+49h")
    time.sleep(0.3)
    admin = srv.admin()  # sessions may end on a wall-clock jump; not what is tested here
    assert admin.retry(nid).status in (200, 202, 204)
    n = admin.wait_notification(nid, ("queued", "failed"), user_id=uid, pred=lambda n: n["attempts"] >= 2)
    assert n["state"] == "queued", "gave up a message queued seconds ago after a wall-clock jump: %r" % n
