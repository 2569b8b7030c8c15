"""Spec §11, §7, §9: the audit trail records every sign-in (ok/failed), reset, unlock,
user change, setting change, notification outcome, backup and self-service request;
GET /audit filters and pages; the CSV export quotes per RFC 4180 and guards against
formula injection; GET /backup is a consistent SQLite snapshot for global admins."""
import csv
import datetime
import io
import os
import sqlite3
import tempfile

from conftest import RFC3339_UTC, assert_error_json, strong_password, wait_until
from sitekit import audit, enable_self_service, sign_in_as, ss_request, wait_audit

AUDIT_FIELDS = {"id", "at", "actor", "client", "action", "target", "outcome", "detail"}
CSV_HEADER = ["id", "at", "actor", "client", "action", "target", "outcome", "detail"]


def has(entries, action, target=None, outcome=None):
    return [e for e in entries if e["action"] == action and (target is None or e["target"] == target)
            and (outcome is None or e["outcome"] == outcome)]


def test_every_event_is_audited(server, sink, admin):
    pw = strong_password()
    uid = admin.create_user("aud-user", password=pw, alternate_email="aud.alt@home.example.net").json["user"]["id"]
    # sign-in ok / failed
    assert sign_in_as(server, "aud-user", pw, source="127.0.0.131")[1].status == 200
    assert sign_in_as(server, "aud-user", "Wrong-" + pw, source="127.0.0.132")[1].status == 401
    # reset with a mailed password (notification sent)
    r = admin.reset(uid, notify=["aud.home@example.net"], notify_user=False)
    assert r.status == 200, r
    sent_id = r.json["notifications"][0]["id"]
    admin.wait_notification(sent_id, "sent", user_id=uid)
    # a permanently failed notification
    sink.restart("-f", "RCPT", "-B", "554 5.7.1 Audit test refusal")
    r = admin.reset(uid, notify=["aud.fail@example.net"], notify_user=False)
    failed_id = r.json["notifications"][0]["id"]
    admin.wait_notification(failed_id, "failed", user_id=uid)
    sink.restart()
    # unlock, user change, setting change, backup, self-service request
    assert admin.post("users/%d/unlock" % uid, {}).status in (200, 204)
    assert admin.patch("users/%d" % uid, {"display_name": "Audit User"}).status == 200
    assert admin.request("PUT", "settings/password-policy", {"min_length": 13}).status == 200
    enable_self_service(admin)
    assert admin.get("backup").status == 200
    assert ss_request(server, "aud-user", source="127.0.0.133").status == 202
    wait_audit(admin, lambda e: e["action"] == "self_service_request", "self-service request")

    r = admin.get("audit?limit=1000")
    assert r.status == 200, r
    j = r.json
    assert set(j) == {"entries", "total"}, j
    es = j["entries"]
    assert j["total"] == len(es), j["total"]
    for e in es:
        assert set(e) == AUDIT_FIELDS, e
        assert isinstance(e["id"], int) and RFC3339_UTC.match(e["at"]), e
    ids = [e["id"] for e in es]
    assert ids == sorted(ids, reverse=True), "entries not newest first"

    ok = has(es, "sign_in", "aud-user", "ok")
    assert ok and ok[0]["client"] == "127.0.0.131" and ok[0]["actor"] == "aud-user", ok
    bad = has(es, "sign_in", "aud-user", "failed")
    assert bad and bad[0]["client"] == "127.0.0.132", bad
    assert has(es, "sign_in", "admin", "ok")
    rs = has(es, "password_reset", "aud-user", "ok")
    assert len(rs) == 2 and all(e["actor"] == "admin" and e["client"] == "127.0.0.1" for e in rs), rs
    assert has(es, "user_unlock", "aud-user", "ok"), "unlock not audited"
    up = has(es, "user_update", "aud-user", "ok")
    assert up and "display_name" in up[0]["detail"], up
    assert has(es, "user_create", "aud-user", "ok")
    assert has(es, "setting_change", "password_policy", "ok")
    assert has(es, "setting_change", "self_service", "ok")
    assert has(es, "backup", None, "ok") and has(es, "backup")[0]["actor"] == "admin"
    sr = has(es, "self_service_request", "aud-user")
    assert sr and sr[0]["client"] == "127.0.0.133", sr
    # notification outcomes (sent / failed), with the relay's answer
    ns = [e for e in es if e["action"].startswith("notification") and "aud.home@example.net" in
          (e["target"] + e["detail"]) and e["outcome"] == "ok"]
    assert ns, "no audit entry for the sent notification: %r" % [e for e in es if "notification" in e["action"]]
    nf = [e for e in es if e["action"].startswith("notification") and "aud.fail@example.net" in
          (e["target"] + e["detail"]) and e["outcome"] == "failed"]
    assert nf and "554" in nf[0]["detail"], "no audit entry for the failed notification: %r" % \
        [e for e in es if "notification" in e["action"]]
    # never a secret
    assert pw not in r.body.decode()


def test_failed_sign_in_of_unknown_username_is_audited(server, admin):
    """Spec §11: every sign-in, ok or failed, says when, who and from where."""
    r = sign_in_as(server, "no-such-user", "Some-" + strong_password(), source="127.0.0.134")[1]
    assert_error_json(r, 401, "invalid_credentials")
    es = audit(admin, action="sign_in", limit=100)
    assert [e for e in es if e["outcome"] == "failed" and e["client"] == "127.0.0.134"], \
        "a failed sign-in with an unknown username left no audit entry: %r" % es


def test_audit_filters_and_paging(server, admin):
    pw = strong_password()
    admin.create_user("flt-a", password=pw)
    admin.create_user("flt-b", password=pw, role="user_admin")
    for i in range(3):
        assert sign_in_as(server, "flt-a", pw)[1].status == 200
    c, _ = sign_in_as(server, "flt-b", pw)
    assert c.patch("users/%d" % admin.list_users(q="flt-a")["users"][0]["id"], {"locale": "tr-TR"}).status == 200

    all_ = admin.get("audit?limit=1000").json
    total = all_["total"]
    assert total == len(all_["entries"]) >= 8

    by_actor = admin.get("audit?actor=flt-b&limit=1000").json
    assert by_actor["entries"] and all(e["actor"] == "flt-b" for e in by_actor["entries"]), by_actor
    assert by_actor["total"] == len(by_actor["entries"])
    by_action = admin.get("audit?action=sign_in&limit=1000").json
    assert len([e for e in by_action["entries"] if e["target"] == "flt-a"]) == 3
    assert all(e["action"] == "sign_in" for e in by_action["entries"])
    both = admin.get("audit?actor=flt-a&action=sign_in").json
    assert both["total"] == 3 and len(both["entries"]) == 3, both
    assert admin.get("audit?actor=nobody-at-all").json == {"entries": [], "total": 0}

    future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert admin.get("audit?since=" + future).json["total"] == 0
    assert admin.get("audit?since=" + past + "&limit=1000").json["total"] == total
    # since in the middle: the later entries only
    mid_at = all_["entries"][2]["at"]
    s = admin.get("audit?since=%s&limit=1000" % mid_at).json
    assert all(e["at"] >= mid_at for e in s["entries"]) and s["total"] >= 3, s

    # paging: limit/offset cut the same list, total unchanged
    p1 = admin.get("audit?limit=3&offset=0").json
    p2 = admin.get("audit?limit=3&offset=3").json
    assert len(p1["entries"]) == 3 and len(p2["entries"]) == 3
    assert p1["total"] == p2["total"] >= total
    assert [e["id"] for e in p1["entries"] + p2["entries"]] == [e["id"] for e in all_["entries"][:6]]
    tail = admin.get("audit?limit=5&offset=%d" % (total - 2)).json
    assert len(tail["entries"]) == 2, tail

    for bad in ("limit=0", "limit=abc", "offset=-1", "since=yesterday", "format=xml"):
        assert_error_json(admin.get("audit?" + bad), (400, 422))


def parse_csv(body):
    text = body.decode("utf-8")
    assert "\r\n" in text, "CSV lines must end in CRLF (RFC 4180)"
    return list(csv.reader(io.StringIO(text, newline="")))


def test_audit_csv_export_quoting_and_formula_guard(server, sink, admin):
    pw = strong_password()
    uid = admin.create_user("csv-user", display_name="=cmd()", password=pw).json["user"]["id"]
    admin.patch("users/%d" % uid, {"display_name": "=cmd()|' /C calc'!A0", "locale": "tr-TR"})  # detail has a comma
    admin.request("PUT", "settings/expiration", {"never_expires": False, "days": 90, "reminder_days": 14})
    # values an outsider controls that start with formula characters
    t = admin.post("settings/relay/test", {"to": "=cmd()@example.org"})
    assert t.status == 200, t
    # an address with a double quote: the audit target needs CSV quoting
    q = admin.post("settings/relay/test", {"to": 'o"brien@example.org'})
    assert q.status == 200, q
    enable_self_service(admin)
    assert ss_request(server, "-2-3", source="127.0.0.141").status == 202
    assert ss_request(server, "+sum", source="127.0.0.142").status == 202
    assert ss_request(server, "@import", source="127.0.0.143").status == 202
    wait_audit(admin, lambda e: e["action"] == "self_service_request" and e["client"] == "127.0.0.143", "@import")

    r = admin.get("audit?format=csv")
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("text/csv"), r.headers
    assert "attachment" in r.headers.get("content-disposition", ""), r.headers
    rows = parse_csv(r.body)
    assert rows[0] == CSV_HEADER, rows[0]
    data = rows[1:]
    j = admin.get("audit?limit=1000").json
    assert len(data) == j["total"], (len(data), j["total"])
    for row in data:
        assert len(row) == 8, row
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", "unguarded formula cell %r in %r" % (cell, row)
    by_id = {int(row[0]): row for row in data}
    for e in j["entries"]:
        row = by_id[e["id"]]
        for k, cell in zip(CSV_HEADER[1:], row[1:]):
            want = str(e[k])
            if want and want[0] in "=+-@\t\r":
                want = "'" + want
            assert cell == want, "CSV %s %r != JSON %r" % (k, cell, e[k])
    flat = [c for row in data for c in row]
    assert "'=cmd()@example.org" in flat, "relay test target not exported with a leading quote"
    assert "'-2-3" in flat, [c for c in flat if "2-3" in c]
    # quoting: cells with commas or quotes round-trip
    exp = [row for row in data if row[4] == "setting_change" and row[5] == "expiration"]
    assert exp and "," in exp[0][7], exp
    raw = r.body.decode()
    assert 'o"brien@example.org' in flat, [c for c in flat if "brien" in c]
    assert '"o""brien@example.org"' in raw, "double quotes inside a quoted CSV cell not doubled"
    # the display name must not reach the export unguarded either
    assert not any(c.startswith("=cmd()") for c in flat)
    # filters apply to the export
    r2 = admin.get("audit?format=csv&action=self_service_request")
    rows2 = parse_csv(r2.body)
    assert rows2[0] == CSV_HEADER and len(rows2) - 1 == 3 and all(row[4] == "self_service_request" for row in rows2[1:])


def test_backup_is_a_valid_sqlite_snapshot_for_global_admins_only(server, admin, workdir):
    pw = strong_password()
    admin.create_user("bk-user", password=pw, display_name="Backup Person")
    admin.create_user("bk-uadmin", password=pw, role="user_admin")
    r = admin.get("backup")
    assert r.status == 200, r
    assert r.body[:16] == b"SQLite format 3\x00", r.body[:32]
    assert "attachment" in r.headers.get("content-disposition", ""), r.headers
    path = os.path.join(workdir, "backup.db")
    with open(path, "wb") as f:
        f.write(r.body)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "users" in tables, tables
        names = {row[0] for row in db.execute("SELECT username FROM users")}
        assert {"admin", "bk-user", "bk-uadmin"} <= names, names
    finally:
        db.close()
    assert pw.encode() not in r.body
    key = open(os.path.join(server.data_dir, "secret.key"), "rb").read()
    assert key not in r.body, "the backup holds the secrets key"
    # no temporary snapshot left behind in the data dir
    left = [p for p in os.listdir(os.path.join(server.data_dir, "backups"))
            if p.startswith("download")] if os.path.isdir(os.path.join(server.data_dir, "backups")) else []
    assert not left, left
    c, s = sign_in_as(server, "bk-uadmin", pw)
    assert s.status == 200
    assert_error_json(c.get("backup"), 403)
    assert_error_json(server.client().get("backup"), 401)
    es = audit(admin, action="backup")
    assert len(es) == 1 and es[0]["actor"] == "admin" and es[0]["outcome"] == "ok", es


def test_target_filter_partial_matching_and_where_the_secret_went(server, sink, admin):
    """Issue 13: "who reset John?" — target filter, match=partial for actor and
    target, reset details name the addresses (never the secret); exact stays the
    default so old callers get what they got."""
    uid = admin.create_user("john.tgt", alternate_email="john.tgt@home.example.net").json["user"]["id"]
    r = admin.reset(uid, notify=["john.tgt@home.example.net"], notify_user=True)
    assert r.status == 200, r
    pw = r.json["password"]
    assert r.json["expires_at"] and RFC3339_UTC.match(r.json["expires_at"]), r.json
    r = admin.reset(uid, notify=[], notify_user=False)
    assert r.status == 200, r

    def entries(q):
        r = admin.get("audit?action=password_reset&" + q)
        assert r.status == 200, r
        return r.json["entries"]

    assert entries("actor=adm") == []                       # exact, as before
    assert entries("target=john") == []
    both = entries("actor=ADM&target=N.TG&match=partial")
    assert len(both) == 2 and all(e["target"] == "john.tgt" for e in both), both
    assert len(entries("target=john.tgt")) == 2
    newest, older = both
    assert "password mailed to nobody" in newest["detail"], newest
    assert "password queued for john.tgt@home.example.net" in older["detail"], older
    assert "notice queued for " in older["detail"], older
    assert pw not in str(both)
    r = admin.get("audit?match=fuzzy")
    assert_error_json(r, 422, "invalid_query")
