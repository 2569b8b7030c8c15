"""Issue 21, the admin's workbench, server side: a link reset neither sets nor
audits "must change" (item 5); the audit says "queued for", records a
superseded unsent mail and is searchable by recipient (item 2); "Send test
message" tests the values on screen under the same secret rule as Save
(item 4); generated passwords people can read aloud (item 12)."""
import os
import re
import urllib.parse

from conftest import AioRelay, free_port, make_cert, strong_password


def audit(admin, **q):
    r = admin.get("audit?" + urllib.parse.urlencode(dict(limit=200, **q)))
    assert r.status == 200, r
    return r.json["entries"]


def test_link_reset_never_sets_or_audits_must_change(server, admin):
    uid = admin.create_user("linka", password=strong_password()).json["user"]["id"]
    # The API's default require_change (true) and an explicit true alike.
    for body in ({}, {"require_change": True}):
        r = admin.reset(uid, delivery="link", notify=["linka.home@example.net"], notify_user=False, **body)
        assert r.status == 200, r
        assert r.json["user"]["must_change_password"] is False, r.json
        e = audit(admin, action="password_reset", target="linka")[0]
        assert "must change" not in e["detail"], e
    # A password reset still records it.
    r = admin.reset(uid, delivery="password", notify=[], notify_user=False)
    assert r.status == 200 and r.json["user"]["must_change_password"] is True, r
    assert "must change" in audit(admin, action="password_reset", target="linka")[0]["detail"]
