"""Spec §1/§2/§9: a secret waiting in the outbox is encrypted at rest; passwords,
tokens and links never reach the logs; the secret key file is private."""
import glob
import os
import stat
import time

from conftest import ADMIN_INITIAL_PW, ADMIN_PW, free_port, strong_password


def files_containing(root, needle):
    hits = []
    for p in glob.glob(os.path.join(root, "**", "*"), recursive=True):
        if os.path.isfile(p):
            with open(p, "rb") as f:
                if needle in f.read():
                    hits.append(p)
    return hits


def test_outbox_secrets_encrypted_at_rest_and_not_logged(make_resetd):
    srv = make_resetd(relay_port=free_port())  # relay down: messages wait in the outbox
    admin = srv.admin()
    manual = "Manual-" + strong_password()
    uid = admin.create_user("sara", password=manual).json["user"]["id"]
    r = admin.reset(uid, notify=["sara.home@example.net"], notify_user=True)
    assert r.status == 200, r
    pw = r.json["password"]
    uid2 = admin.create_user("sven", password=strong_password()).json["user"]["id"]
    r2 = admin.reset(uid2, delivery="link", notify=["sven.home@example.net"])
    assert r2.status == 200, r2
    link = r2.json["link"]
    token = link.rsplit("token=", 1)[-1]
    r3 = admin.reset(uid, mode="manual", password=manual + "2", require_change=True,
                     notify=["sara.home@example.net"])
    assert r3.status == 200, r3
    cookie_values = list(admin.cookies.values()) + [admin.csrf]
    time.sleep(1.0)  # let the worker try (and fail) at least once
    srv.stop()       # checkpoint the WAL into the database file
    for v in cookie_values:
        assert not files_containing(srv.data_dir, v.encode()), "session token/CSRF stored in clear"

    for secret in (pw, manual, manual + "2", token, ADMIN_INITIAL_PW, ADMIN_PW):
        assert not files_containing(srv.data_dir, secret.encode()), \
            "secret %r stored in clear in %s" % (secret[:4] + "…", files_containing(srv.data_dir, secret.encode()))
        out = srv.stderr()
        assert secret not in out, "secret %r went to the log" % (secret[:4] + "…")
    key = os.path.join(srv.data_dir, "secret.key")
    assert os.path.exists(key) and stat.S_IMODE(os.stat(key).st_mode) == 0o600

    # after the restart the queued, encrypted messages still go out intact
    from conftest import SmtpSink, mail_text
    sink = SmtpSink(srv.base, port=srv.relay_port).start()
    try:
        srv.start()
        admin = srv.admin()
        for n in admin.notifications():
            if n["state"] == "queued":
                admin.retry(n["id"])
        sent = sink.wait_message_to("sven.home@example.net")
        assert link in mail_text(sent[0][2])
        mails = sink.wait_message_to("sara.home@example.net")
        # the first secret message was superseded by the manual reset: not sent
        assert not any(pw in mail_text(m) for _, _, m in mails), "superseded password was mailed"
    finally:
        srv.stop()
        sink.stop()
