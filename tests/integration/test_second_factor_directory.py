"""A directory user's second factor, against a real slapd (slapd_lab.py).

Setting up an authenticator app ends the account's other sessions, so a
borrowed session that may enrol without the owner's password ties the account
to someone else's phone and locks its owner out. Directory users skipped the
password step ("their password is the directory's"); it is now checked with a
bind to the directory, as at sign-in.
"""
import pytest

from conftest import assert_error_json, wait_until
from slapd_lab import Slapd

HANA_PW = "Hana-Staff-Pw-77"
HELPDESK = "cn=helpdesk,ou=groups,dc=example,dc=test"


@pytest.fixture
def slapd(workdir):
    s = Slapd(workdir).start()
    yield s
    s.stop()


def test_directory_user_needs_the_directory_password_to_enrol(slapd, sink, make_resetd):
    srv = make_resetd(relay_port=sink.port, extra_toml=slapd.toml(
        extra='[directory.roles]\n"%s" = "helpdesk_admin"\n' % HELPDESK))
    admin = srv.admin()
    wait_until(lambda: "hana" in {u["username"] for u in admin.get("users?limit=200").json["users"]},
               timeout=20, what="hana synced")
    owner = srv.client()
    owner.must_sign_in("hana", HANA_PW)
    borrowed = srv.client()
    borrowed.must_sign_in("hana", HANA_PW)
    # the borrowed session, without the password or with a guess: no secret, owner still in
    assert_error_json(borrowed.post("session/second-factor/totp", {}), 422, "current_password_required")
    assert_error_json(borrowed.post("session/second-factor/totp", {"current_password": "Guess-Pw-1234"}),
                      422, "wrong_current_password")
    assert borrowed.get("session/second-factor").json == {"totp": False, "enrolling": False,
                                                          "recovery_codes_left": 0, "policy": "optional",
                                                          "security_keys": [], "security_key_rp_id": None}
    assert owner.get("session").status == 200
    # the directory's password starts it
    r = borrowed.post("session/second-factor/totp", {"current_password": HANA_PW})
    assert r.status == 200 and len(r.json["secret"]) == 32, r
    text = admin.get("audit?limit=200").body.decode()
    assert "wrong current password" in text and HANA_PW not in text
