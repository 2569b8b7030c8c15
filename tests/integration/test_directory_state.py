"""Issue 20 items 8-11 against a real OpenLDAP slapd (slapd_lab.py): the
directory's own lockout is shown and unlocked with a reset, temporary
passwords of directory users expire (also at the directory), a ppolicy
without pwdMustChange is reported, and nested groups give roles."""
import pytest

from conftest import assert_error_json, strong_password, wait_until
from sitekit import TestClock, fresh_admin
from slapd_lab import BASE, Slapd, dn

HELPDESK = "cn=helpdesk,ou=groups," + BASE
TIER2 = "cn=tier2,ou=groups," + BASE
TIER3 = "cn=tier3,ou=groups," + BASE
ROLES_TOML = '[directory.roles]\n"%s" = "helpdesk_admin"\n' % HELPDESK


@pytest.fixture
def slapd(workdir):
    s = Slapd(workdir).start()
    yield s
    s.stop()


def users_by_name(admin):
    r = admin.get("users?limit=200")
    assert r.status == 200, r
    return {u["username"]: u for u in r.json["users"]}


def synced(admin, names):
    return wait_until(lambda: all(n in users_by_name(admin) for n in names) and users_by_name(admin),
                      timeout=20, what="directory users %s listed" % (names,))


def lock_out(slapd, uid):
    for i in range(3):
        slapd.whoami(uid, "bad-guess-%d" % i)
    rc, out = slapd.whoami(uid, "anything")
    assert "Account locked" in out, out


def audit_details(admin, action):
    r = admin.get("audit?limit=200&action=" + action)
    assert r.status == 200, r
    return r.json.get("entries", r.json.get("audit", r.json))


def test_directory_lock_is_shown_and_a_reset_unlocks_it(slapd, sink, make_resetd):
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml())
    admin = srv.admin()
    m = synced(admin, ["bob", "ayse"])
    assert m["bob"]["locked"] is False and m["bob"]["directory_locked"] is False
    lock_out(slapd, "bob")
    # the next refresh shows it in the list: locked, and locked by the directory
    assert admin.post("directory/sync").status == 200
    bob = users_by_name(admin)["bob"]
    assert bob["locked"] is True and bob["directory_locked"] is True, bob
    # a lock set since the last refresh shows when an admin opens the user
    lock_out(slapd, "ayse")
    ayse = users_by_name(admin)["ayse"]
    assert ayse["directory_locked"] is False
    r = admin.get("users/%d" % ayse["id"])
    assert r.status == 200, r
    u = r.json.get("user", r.json)
    assert u["locked"] is True and u["directory_locked"] is True, u
    assert users_by_name(admin)["ayse"]["directory_locked"] is True  # stored, so the list says so too

    # a reset of a locked account unlocks it by default: the mailed password works
    r = admin.reset(bob["id"], mode="auto", require_change=False, notify=["bob.home@example.test"])
    assert r.status == 200, r
    assert r.json["user"]["directory_locked"] is False and r.json["user"]["locked"] is False, r.json
    rc, out = slapd.whoami("bob", r.json["password"])
    assert rc == 0, out
    assert "pwdAccountLockedTime" not in slapd.attr("bob", "pwdAccountLockedTime")

    # unlock: false asks for no unlock; slapd's ppolicy itself ends a lock on a
    # password change, and the answer says what the directory now holds
    r = admin.reset(ayse["id"], mode="auto", require_change=False, unlock=False, notify=["a@example.test"])
    assert r.status == 200, r
    rc, out = slapd.whoami("ayse", r.json["password"])
    assert rc == 0, out
    assert r.json["user"]["directory_locked"] is False, r.json
    # Unlock clears a lock in the directory and on the record
    lock_out(slapd, "ayse")
    assert admin.post("directory/sync").status == 200
    assert users_by_name(admin)["ayse"]["directory_locked"] is True
    r = admin.post("users/%d/unlock" % ayse["id"])
    assert r.status in (200, 204), r
    assert users_by_name(admin)["ayse"]["directory_locked"] is False
    assert "pwdAccountLockedTime" not in slapd.attr("ayse", "pwdAccountLockedTime")


def test_resolver_finishing_a_reset_does_its_unlock_too(slapd, sink, make_resetd):
    """A reset of a locked account asks for an unlock; killed right after its
    intent, the resolver that finishes it at the next start does the unlock
    too (AD keeps a lock through a password reset: the mailed password would
    not sign in), clears the stored lock and audits it."""
    from test_directory_faults import _crash_intent
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml())
    admin = srv.admin()
    bob = synced(admin, ["bob"])["bob"]
    lock_out(slapd, "bob")
    assert admin.post("directory/sync").status == 200
    assert users_by_name(admin)["bob"]["directory_locked"] is True
    pw = "Unlock-After-Crash-Kite-4821"
    _crash_intent(srv, slapd, bob, pw)  # a reset with the default unlock, killed after its intent
    srv.start()
    admin = srv.admin()
    st = wait_until(lambda: (lambda i: i if i and i[0]["state"] != "open" else None)(
        admin.get("directory/status").json["intents"]), timeout=25, what="the intent settled")
    assert st[0]["state"] == "recovered", st
    rc, out = slapd.whoami("bob", pw)
    assert rc == 0, out
    sink.wait_message_to("x.bob@example.test", contains=pw)
    rows = [x for x in audit_details(admin, "user_unlock") if "bob" in str(x)]
    assert rows and "with the password reset" in str(rows[0]), rows
    assert users_by_name(admin)["bob"]["directory_locked"] is False


def test_must_change_without_pwdMustChange_is_reported(slapd, sink, make_resetd):
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml())
    admin = srv.admin()
    bob = synced(admin, ["bob"])["bob"]
    r = admin.post("settings/directory/test", {})
    assert r.status == 200 and r.json["ok"] is True and "warning" not in r.json, r
    r = admin.reset(bob["id"], mode="auto", require_change=True, notify=["b@example.test"])
    assert r.status == 200 and not r.json.get("warnings"), r
    # the policy stops enforcing it: resetd says so, naming what to set
    r = slapd.ldapmodify("dn: cn=default,ou=policies,%s\nchangetype: modify\nreplace: pwdMustChange\n"
                         "pwdMustChange: FALSE\n" % BASE)
    assert r.returncode == 0, r.stderr
    r = admin.post("settings/directory/test", {})
    assert r.status == 200 and r.json["ok"] is True, r
    assert r.json["warning"]["code"] == "must_change_not_enforced", r.json
    assert "pwdMustChange: TRUE" in r.json["warning"]["message"] and "cn=default,ou=policies" in r.json["warning"]["message"]
    r = admin.reset(bob["id"], mode="auto", require_change=True, notify=["b@example.test"])
    assert r.status == 200, r
    assert [w["code"] for w in r.json["warnings"]] == ["must_change_not_enforced"], r.json
    # a reset without must-change has nothing to warn about
    r = admin.reset(bob["id"], mode="auto", require_change=False, notify=["b@example.test"])
    assert r.status == 200 and not r.json.get("warnings"), r


def _group(slapd, cn, *members):
    slapd.ldapadd("dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n%s"
                  % (cn, BASE, cn, "".join("member: %s\n" % m for m in members)))


def test_nested_groups_give_roles_and_cycles_end(slapd, sink, make_resetd):
    # bob -> tier3 -> tier2 -> helpdesk (mapped); tier2 also holds helpdesk: a cycle
    _group(slapd, "tier3", dn("bob"))
    _group(slapd, "tier2", TIER3, HELPDESK)
    r = slapd.ldapmodify("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n" % (HELPDESK, TIER2))
    assert r.returncode == 0, r.stderr
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(extra=ROLES_TOML))
    admin = srv.admin()
    m = synced(admin, ["bob", "hana", "ayse"])
    assert m["hana"]["role"] == "helpdesk_admin"
    assert m["bob"]["role"] == "helpdesk_admin", m["bob"]
    assert m["ayse"]["role"] == "user"
    # the live check at sign-in follows nesting too
    c = srv.client()
    j = c.must_sign_in("bob", "BobInit-11")
    me = c.get("session").json
    assert (me.get("user") or me)["role"] == "helpdesk_admin", me
    # taken out of the nested group: the role goes at the next refresh
    r = slapd.ldapmodify("dn: %s\nchangetype: modify\ndelete: member\nmember: %s\n" % (TIER3, dn("bob"))
                         + "-\nadd: member\nmember: cn=placeholder,%s\n" % BASE)
    assert r.returncode == 0, r.stderr
    assert admin.post("directory/sync").status == 200
    assert users_by_name(admin)["bob"]["role"] == "user"


def test_nesting_is_bounded_at_8_levels(slapd, sink, make_resetd):
    # ayse is 8 levels below helpdesk (g1 is in helpdesk, ..., ayse in g8): counted;
    # bob 9 levels below: not.
    prev = HELPDESK
    chain = []
    for i in range(1, 10):
        g = "cn=g%d,ou=groups,%s" % (i, BASE)
        chain.append(g)
    for i, g in enumerate(chain):
        members = [chain[i + 1]] if i + 1 < len(chain) else []
        if i == 6:
            members.append(dn("ayse"))  # g7: member at level 8 (helpdesk > g1 > ... > g7 > ayse)
        if i == 8:
            members.append(dn("bob"))   # g9: level 10
        _group(slapd, "g%d" % (i + 1), *(members or [dn("hana")]))
    r = slapd.ldapmodify("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n" % (HELPDESK, chain[0]))
    assert r.returncode == 0, r.stderr
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(extra=ROLES_TOML))
    admin = srv.admin()
    m = synced(admin, ["bob", "ayse"])
    assert m["ayse"]["role"] == "helpdesk_admin", m["ayse"]
    assert m["bob"]["role"] == "user", m["bob"]


def test_temporary_password_of_a_directory_user_expires(slapd, sink, make_resetd, workdir):
    clock = TestClock(workdir + "/clock-offset")
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(), start=False)
    srv.env = {"RESETD_TEST_CLOCK_OFFSET_FILE": clock.path}
    srv.start()
    admin = srv.admin()
    m = synced(admin, ["bob", "ayse"])
    r = admin.reset(m["bob"]["id"], mode="auto", require_change=True, notify=["b@example.test"])
    assert r.status == 200 and r.json["expires_at"], r
    bob_pw = r.json["password"]
    r = admin.reset(m["ayse"]["id"], mode="auto", require_change=True, notify=["a@example.test"])
    assert r.status == 200, r
    ayse_tmp = r.json["password"]
    # ayse changes hers at the directory herself (not through resetd)
    ayse_own = strong_password()
    p = slapd.run("ldappasswd", "-x", "-H", slapd.ldaps_url, "-D", dn("ayse"), "-w", ayse_tmp,
                  "-a", ayse_tmp, "-s", ayse_own, dn("ayse"))
    assert p.returncode == 0, p.stderr

    clock.set(srv, 73 * 3600)
    # sign-in through resetd refuses the expired temporary password with its own code
    # (until the refresh below has replaced it at the directory)
    r = srv.client().sign_in("bob", bob_pw)
    assert r.status in (401, 403) and r.json["error"]["code"] in ("temporary_password_expired", "invalid_credentials"), r
    # at the directory it stops working too: replaced by a random one nobody knows
    wait_until(lambda: "Invalid credentials" in slapd.whoami("bob", bob_pw)[1], timeout=30,
               what="the expired temporary password refused by slapd")
    admin = fresh_admin(srv)
    rows = audit_details(admin, "temp_password_expired")
    assert any(x.get("target") == "bob" or "bob" in str(x) for x in rows), rows
    assert not any("ayse" in str(x) for x in rows), rows
    # the password ayse chose herself is untouched, also through resetd
    rc, out = slapd.whoami("ayse", ayse_own)
    assert rc == 0, out
    assert srv.client().sign_in("ayse", ayse_own).status == 200


def test_expired_temporary_password_is_refused_at_sign_in(slapd, sink, make_resetd, workdir):
    # Until the refresh has replaced it at the directory (held here 1.5 s by the
    # test hook right before that write), sign-in through resetd refuses the
    # expired temporary password with its own code, though slapd still takes it.
    clock = TestClock(workdir + "/clock-offset")
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(), start=False)
    srv.env = {"RESETD_TEST_CLOCK_OFFSET_FILE": clock.path, "RESETD_TEST_FAULT": "pause_after_intent"}
    srv.start()
    admin = srv.admin()
    bob = synced(admin, ["bob"])["bob"]
    r = admin.reset(bob["id"], mode="auto", require_change=True, notify=["b@example.test"])
    assert r.status == 200, r
    pw = r.json["password"]
    assert srv.client().sign_in("bob", pw).status == 200  # before expiry: a change-only session
    clock.set(srv, 73 * 3600)
    assert_error_json(srv.client().sign_in("bob", pw), 401, "temporary_password_expired")
    rc, out = slapd.whoami("bob", pw)
    assert "Password must be changed" in out, out
    # and then the directory refuses it too
    wait_until(lambda: "Invalid credentials" in slapd.whoami("bob", pw)[1], timeout=30,
               what="the expired temporary password refused by slapd")


def test_expiry_sweep_never_overwrites_a_reset_that_comes_while_it_checks(slapd, sink, make_resetd, workdir):
    """The sweep replacing an expired temporary password is the user's one
    writer from its check through its write: a reset arriving in between (held
    there 1.5 s by the test hook) waits (409 reset_in_progress) and then wins;
    it is never overwritten by the sweep's random password."""
    import time
    clock = TestClock(workdir + "/clock-offset")
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(), start=False)
    srv.env = {"RESETD_TEST_CLOCK_OFFSET_FILE": clock.path, "RESETD_TEST_FAULT": "pause_expiry_checked"}
    srv.start()
    admin = srv.admin()
    bob = synced(admin, ["bob"])["bob"]
    r = admin.reset(bob["id"], mode="auto", require_change=True, notify=["b@example.test"])
    assert r.status == 200, r
    clock.set(srv, 73 * 3600)

    def paused():
        with open(srv.stderr_path, "rb") as f:
            return b"TEST PAUSE at expiry_checked" in f.read()
    wait_until(paused, timeout=20, what="the sweep checked bob's expired password")
    admin = fresh_admin(srv)  # the session ended with the 73 h
    new = "Newer-Than-The-Sweep-Kite-4821"
    codes = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = admin.reset(bob["id"], mode="manual", password=new, require_change=False,
                        notify_user=False, notify=["bob.new@example.test"])
        codes.append(r.status)
        if r.status == 200:
            break
        assert_error_json(r, 409, "reset_in_progress")
        time.sleep(0.3)
    assert codes[-1] == 200, codes
    time.sleep(2)  # past the sweep's pause and write
    rc, out = slapd.whoami("bob", new)
    assert rc == 0, "the sweep overwrote the newer reset (answers %s): %s" % (codes, out)
    sink.wait_message_to("bob.new@example.test", contains=new)


def test_readme_directory_sample_is_valid_toml_that_resetd_runs(slapd, sink, make_resetd):
    """The directory guide's [directory] sample, every commented key uncommented, is valid
    TOML (one key a line), and resetd runs with it once the site's values
    (server, CA, account, base) are this slapd's."""
    import json
    import os
    import re
    import tomllib
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "directory.md"), encoding="utf-8").read()
    tag = "<!-- test:directory-toml -->"
    assert text.count(tag) == 1
    block = re.search(r"```toml\n(.*?)```", text[text.index(tag):], re.S).group(1)
    uncommented = re.sub(r"(?m)^# ([a-z_]+ = )", r"\1", block)
    cfg = tomllib.loads(uncommented)
    d = cfg["directory"]
    assert {"timeout_s", "page_size", "max_users", "sync_interval_min", "locale_attribute"} <= set(d), d
    site = tomllib.loads(slapd.toml())["directory"]
    for k in ("user_filter", "username_attribute", "display_name_attribute", "failover_urls",
              "bind_password_file", "alternate_email_attribute"):
        d.pop(k, None)  # AD's names; the ldap kind's defaults apply
    d.update(site)
    roles = d.pop("roles")
    out = "[directory]\n" + "".join("%s = %s\n" % (k, json.dumps(v)) for k, v in d.items())
    out += "[directory.roles]\n" + "".join("%s = %s\n" % (json.dumps(g), json.dumps(r)) for g, r in roles.items())
    srv = make_resetd(relay_port=sink.port, extra_toml=out)
    admin = srv.admin()
    synced(admin, ["bob"])
    r = admin.post("settings/directory/test", {})
    assert r.status == 200 and r.json["ok"] is True, r
