"""Names the directory moves between its entries, against a real slapd.

Two entries that swap usernames between two refreshes were both skipped at
every refresh, for good: each new name stayed held by the other's record. So
the old name kept signing in the person the directory no longer gives it to,
and forward auth (Remote-User) and PAM answered for the wrong person.
"""
import pytest

from conftest import wait_until
from slapd_lab import PEOPLE, Slapd

BOB_PW = "BobInit-11"


@pytest.fixture
def slapd(workdir):
    s = Slapd(workdir).start()
    yield s
    s.stop()


def set_number(slapd, uid, value, op="replace"):
    r = slapd.ldapmodify("dn: uid=%s,%s\nchangetype: modify\n%s: employeeNumber\nemployeeNumber: %s\n"
                         % (uid, PEOPLE, op, value))
    assert r.returncode == 0, r.stderr


def test_swapped_usernames_follow_the_directory_in_one_refresh(slapd, sink, make_resetd):
    set_number(slapd, "bob", "zed", op="add")
    set_number(slapd, "ayse", "yan", op="add")
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(extra='username_attribute = "employeeNumber"\n'))
    admin = srv.admin()

    def emails():
        return {u["username"]: u["email"] for u in admin.get("users?limit=200").json["users"]}
    wait_until(lambda: "zed" in emails(), timeout=20, what="first sync")
    assert emails()["zed"] == "bob@example.test" and emails()["yan"] == "ayse@example.test"
    # the directory swaps the two names between refreshes
    set_number(slapd, "bob", "yan")
    set_number(slapd, "ayse", "zed")
    r = admin.post("directory/sync", {})
    assert r.status == 200 and r.json["updated"] == 2 and r.json["skipped"] == 0, r.json
    assert emails() == {"admin": "", "zed": "ayse@example.test", "yan": "bob@example.test"}, emails()
    # Bob's password opens "yan" now, not "zed" (Ayşe's name)
    assert srv.client().post("session", {"username": "zed", "password": BOB_PW}, csrf=False).status == 401
    c = srv.client()
    r = c.post("session", {"username": "yan", "password": BOB_PW}, csrf=False)
    assert r.status == 200 and r.json["user"]["email"] == "bob@example.test", r
