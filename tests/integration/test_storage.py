"""Spec §5/§9 as seen in the database file: WAL, Argon2id hashes re-hashed to the
configured parameters at sign-in, no clear secrets."""
import glob
import os
import re
import sqlite3

from conftest import ADMIN_PW, ADMIN_USER, run_cli, strong_password


def db_path(data_dir):
    dbs = glob.glob(os.path.join(data_dir, "*.db"))
    assert len(dbs) == 1, dbs
    return dbs[0]


def argon_hashes(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        out = []
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            cols = [r[1] for r in con.execute('PRAGMA table_info("%s")' % name)]
            for row in con.execute('SELECT * FROM "%s"' % name):
                for col, v in zip(cols, row):
                    if isinstance(v, str) and v.startswith("$argon2"):
                        out.append((name, col, v))
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        return out, mode
    finally:
        con.close()


def test_wal_argon2id_and_rehash_at_sign_in(make_resetd):
    # init hashes the admin with the defaults (t=2, m=64 MiB); serve runs with t=1, m=8 MiB
    srv = make_resetd(start=False)
    rita_pw = strong_password()
    r = run_cli("user", "add", "--data-dir", srv.data_dir, "--username", "rita", "--email", "rita@example.org",
                "--password-stdin", stdin=rita_pw + "\n")
    assert r.returncode == 0, r
    hashes, mode = argon_hashes(db_path(srv.data_dir))
    assert mode.lower() == "wal", mode
    admin_hashes = [h for t, c, h in hashes if "user" in t]
    assert admin_hashes and all(h.startswith("$argon2id$") for h in admin_hashes), hashes
    assert len(admin_hashes) >= 2 and all("m=65536,t=2," in h for h in admin_hashes), admin_hashes
    srv.start()
    srv.admin()  # signs in (and changes the initial password)
    c = srv.client()
    j = c.must_sign_in("rita", rita_pw)  # rita keeps her password: only a rehash changes it
    assert srv.client().sign_in("rita", rita_pw).status == 200
    srv.stop()
    hashes, _ = argon_hashes(db_path(srv.data_dir))
    user_hashes = [h for t, c, h in hashes if "user" in t]
    assert user_hashes and all(re.search(r"\$m=8192,t=1,", h) for h in user_hashes), \
        "hash not made with [hashing] opslimit=1 memlimit_mib=8: %r" % user_hashes
