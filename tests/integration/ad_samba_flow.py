"""Issue 10 against a real Samba AD DC (samba_lab.py), run by CTest inside a private
network namespace (label `samba`): the seed flow with unicodePwd over LDAPS,
pwdLastSet = 0 (data 773 at bind), the first change on the user's behalf, the
directory's policy (0000052D) mapped, lockout (775) and lockoutTime = 0, and a
delegated service account (Reset Password + pwdLastSet + lockoutTime only), and
LDAPS with a wrong CA through resetd: 503, nothing changed, queued or mailed."""
import socket
import time

import pytest

from conftest import assert_error_json, strong_password, wait_until
from samba_lab import LDAP, LDAPS, SambaDC, dn


def _port_busy(p):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", p)) == 0


@pytest.fixture(scope="module")
def dc(tmp_path_factory):
    if _port_busy(389) or _port_busy(636):
        pytest.fail("389/636 in use: run this file inside `unshare -n` (see tests/integration/CMakeLists.txt)")
    d = SambaDC(str(tmp_path_factory.mktemp("samba"))).provision().start().setup()
    yield d
    d.stop()


def synced(admin, names):
    def ok():
        r = admin.get("users?limit=200")
        m = {u["username"]: u for u in r.json["users"]}
        return all(n in m for n in names) and m
    return wait_until(ok, timeout=30, what="AD users listed")


def test_ad_seed_flow_policy_lockout(dc, sink, make_resetd):
    srv = make_resetd(relay_port=sink.port, extra_toml=dc.toml())
    admin = srv.admin()
    m = synced(admin, ["ayse", "resetd"])
    ayse = m["ayse"]
    assert ayse["source"] == "directory" and ayse["email"] == "ayse@example.test"
    r = admin.post("settings/directory/test", {})
    assert r.status == 200 and r.json["ok"] is True, r.json

    # reset (auto, require change) -> mail -> the mailed password is "must change" (773)
    t0 = time.monotonic()
    r = admin.reset(ayse["id"], mode="auto", require_change=True, notify=["ayse.home@example.test"])
    reset_ms = (time.monotonic() - t0) * 1000
    assert r.status == 200, r
    pw = r.json["password"]
    sink.wait_message_to("ayse.home@example.test", contains=pw)
    rc, out = dc.bind("ayse@example.test", pw)
    assert rc != 0 and "data 773" in out, out
    print("AD reset latency over the API: %.0f ms" % reset_ms)

    # the user's first change goes through resetd (delete old + add new on their behalf)
    u = srv.client()
    j = u.must_sign_in("ayse", pw)
    assert j.get("must_change_password") is True, j
    new = strong_password()
    r = u.change_password(pw, new)
    assert r.status in (200, 204), r
    rc, out = dc.bind("ayse@example.test", new)
    assert rc == 0, out

    # the directory's own policy (complexity) -> 422 directory_policy with 0000052D
    r = admin.reset(ayse["id"], mode="manual", password="correct horse battery staple lantern",
                    require_change=False, notify=["x@example.test"])
    e = assert_error_json(r, 422, "directory_policy")
    assert "0000052D" in e["message"], e
    rc, out = dc.bind("ayse@example.test", new)
    assert rc == 0, out

    # lockout (52e x3 -> 775) and unlock through resetd (lockoutTime = 0)
    for i in range(3):
        dc.bind("ayse@example.test", "bad-%d" % i)
    rc, out = dc.bind("ayse@example.test", new)
    assert "data 775" in out, out
    r = admin.post("users/%d/unlock" % ayse["id"])
    assert r.status in (200, 204), r
    rc, out = dc.bind("ayse@example.test", new)
    assert rc == 0, out

    # a reset without "require change" (pwdLastSet = -1): the user binds at once
    p2 = strong_password()
    r = admin.reset(ayse["id"], mode="manual", password=p2, require_change=False, notify_user=False)
    assert r.status == 200, r
    rc, out = dc.bind("ayse@example.test", p2)
    assert rc == 0, out


def test_ad_refused_service_account_and_plain_ldap(dc, sink, make_resetd):
    srv = make_resetd(relay_port=sink.port, extra_toml=dc.toml(password="Wrong-Service-Pw-1!"))
    admin = srv.admin()
    r = admin.post("settings/directory/test", {})
    assert r.status == 200 and r.json["ok"] is False, r.json
    assert r.json["category"] == "credentials_refused", r.json
    # ldap:// is always StartTLS: with the right CA it works, with a wrong one it is refused
    r = admin.post("settings/directory/test", {"url": LDAP, "bind_password": "Resetd-Pw-123!"})
    assert r.status == 200 and r.json["ok"] is True, r.json
    r = admin.post("settings/directory/test", {"url": LDAP, "bind_password": "Resetd-Pw-123!",
                                               "ca_file": dc.wrong_ca})
    assert r.json["ok"] is False and r.json["category"] == "certificate_not_trusted", r.json


def test_ad_ldaps_wrong_ca_through_resetd_changes_nothing(dc, sink, make_resetd):
    dc.tool("user", "create", "wca", "Wca-Init-Pw-123!", "--use-username-as-cn", "--mail-address=wca@example.test")
    srv = make_resetd(relay_port=sink.port, extra_toml=dc.toml())
    admin = srv.admin()
    wca = synced(admin, ["wca"])["wca"]
    # resetd pointed at ldaps:// with a CA that did not sign the DC's certificate
    # (a new destination needs the password typed again: issue 18)
    # (Save tests first and refuses it; saved anyway on purpose)
    r = admin.request("PUT", "settings/directory", {"url": LDAPS, "ca_file": dc.wrong_ca,
                                                    "bind_password": "Resetd-Pw-123!"})
    assert r.status == 422 and r.json["error"]["category"] == "certificate_not_trusted", r
    r = admin.request("PUT", "settings/directory", {"url": LDAPS, "ca_file": dc.wrong_ca,
                                                    "bind_password": "Resetd-Pw-123!", "save_untested": True})
    assert r.status == 200 and r.json["url"] == LDAPS and r.json["ca_file"] == dc.wrong_ca, r
    r = admin.post("settings/directory/test", {})
    assert r.status == 200 and r.json["ok"] is False, r.json
    assert r.json["category"] == "certificate_not_trusted", r.json
    notes0 = len(admin.notifications())
    for opts in (dict(mode="manual", password="Wrong-Ca-Pw-5521!", require_change=True),
                 dict(mode="auto", delivery="link")):
        r = admin.reset(wca["id"], notify=["wca.home@example.test"], **opts)
        e = assert_error_json(r, 503, "directory_unavailable")
        # resetd makes the TLS connection itself now (issue 18): the reason is the certificate
        assert "nothing was changed" in e["message"] and "certificate is not trusted" in e["message"], e
    assert_error_json(admin.post("directory/sync"), 503, "directory_unavailable")
    assert_error_json(admin.post("users/%d/unlock" % wca["id"]), 503, "directory_unavailable")
    # nothing queued or mailed, no write left open, and the DC still has the old password
    assert len(admin.notifications()) == notes0
    st = admin.get("directory/status").json
    assert st["open_intents"] == 0 and all(i["state"] == "failed" for i in st["intents"]), st
    time.sleep(1)
    assert not sink.messages_to("wca.home@example.test") and not sink.messages_to("wca@example.test")
    rc, out = dc.bind("wca@example.test", "Wca-Init-Pw-123!")
    assert rc == 0, out
    rc, out = dc.bind("wca@example.test", "Wrong-Ca-Pw-5521!")
    assert rc != 0 and "data 52e" in out, out
    # the user is still listed (a failed refresh removes nobody)
    assert "wca" in {u["username"] for u in admin.get("users?limit=200").json["users"]}


def test_ad_nested_group_role_and_directory_lock(dc, sink, make_resetd):
    """Issue 20 items 8 and 11 on AD: a member of a group nested in a mapped group
    gets its role (in-chain rule), at the refresh and at sign-in; a lockout set by
    the DC (lockoutTime within lockoutDuration) shows as directory_locked, and a
    reset unlocks it by default, so the new password binds (no data 775)."""
    dc.tool("user", "create", "nesty", "Nesty-Init-Pw-123!", "--use-username-as-cn",
            "--mail-address=nesty@example.test")
    dc.tool("user", "create", "lok", "Lok-Init-Pw-123!", "--use-username-as-cn", "--mail-address=lok@example.test")
    for g in ("tier2", "staffall"):
        dc.tool("group", "add", g)
    dc.tool("group", "addmembers", "tier2", "nesty")
    dc.tool("group", "addmembers", "staffall", "tier2")
    outer = "CN=staffall,CN=Users,DC=example,DC=test"
    srv = make_resetd(relay_port=sink.port,
                      extra_toml=dc.toml() + '[directory.roles]\n"%s" = "helpdesk_admin"\n' % outer)
    admin = srv.admin()
    m = synced(admin, ["nesty", "lok", "ayse"])
    assert m["nesty"]["role"] == "helpdesk_admin", m["nesty"]
    assert m["lok"]["role"] == "user" and m["lok"]["directory_locked"] is False
    c = srv.client()
    c.must_sign_in("nesty", "Nesty-Init-Pw-123!")
    me = c.get("session").json
    assert (me.get("user") or me)["role"] == "helpdesk_admin", me

    for i in range(3):
        dc.bind("lok@example.test", "bad-%d" % i)
    rc, out = dc.bind("lok@example.test", "Lok-Init-Pw-123!")
    assert "data 775" in out, out
    assert admin.post("directory/sync").status == 200
    lok = {u["username"]: u for u in admin.get("users?limit=200").json["users"]}["lok"]
    assert lok["locked"] is True and lok["directory_locked"] is True, lok
    r = admin.reset(lok["id"], mode="auto", require_change=False, notify=["lok.home@example.test"])
    assert r.status == 200, r
    assert r.json["user"]["directory_locked"] is False and not r.json.get("warnings"), r.json
    rc, out = dc.bind("lok@example.test", r.json["password"])
    assert rc == 0, out
