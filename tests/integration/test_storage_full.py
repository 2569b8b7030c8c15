"""A full disk answers 507 and loses nothing already stored (spec §9).

The "disk" is made full with RLIMIT_FSIZE (the process may not grow any file
past a few hundred KiB beyond the database's size at start): SQLite's writes
then fail exactly as on a full flash device, without needing a mount."""
import os
import resource
import subprocess

from conftest import RESETD_BIN, assert_error_json, require_binary


def test_full_storage_answers_507_and_keeps_everything(sink, make_resetd):
    r = make_resetd(relay_port=sink.port, start=False)
    require_binary()
    sizes = [os.path.getsize(os.path.join(r.data_dir, f)) for f in os.listdir(r.data_dir)
             if os.path.isfile(os.path.join(r.data_dir, f))]
    limit = max(sizes) + 384 * 1024

    def limit_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    cmd = [RESETD_BIN, "serve", "--config", r.config, "--data-dir", r.data_dir,
           "--listen", "127.0.0.1:%d" % r.port, "--no-tls"]
    r.proc = subprocess.Popen(cmd, stdout=open(r.stdout_path, "ab"), stderr=open(r.stderr_path, "ab"),
                              stdin=subprocess.DEVNULL, preexec_fn=limit_files)
    r.wait_healthy()
    admin = r.admin()
    created = []
    full = None
    for i in range(3000):  # bounded: the limit is reached long before
        resp = admin.post("users", {"username": "fill%04d" % i, "email": "fill%04d@example.com" % i,
                                    "display_name": "Filler " + "x" * 112, "notify_user": False})
        if resp.status == 201:
            created.append(resp.json["user"]["id"])
            continue
        full = resp
        break
    assert full is not None, "the file-size limit was never reached"
    assert created, "nothing could be stored before the limit: %r %r" % (full, full.body[:300])
    assert_error_json(full, (507,), "storage_full")

    # Reads still work and show everything acknowledged before.
    lst = admin.get("users?limit=1&q=fill")
    assert lst.status == 200
    assert lst.json["total"] == len(created)

    # A restart without the limit keeps every acknowledged user and the database is sound.
    r.stop()
    check = subprocess.run([RESETD_BIN, "check", "--data-dir", r.data_dir], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    r.start()
    admin = r.admin()
    assert admin.get("users?limit=1&q=fill").json["total"] == len(created)
    # and writing works again once there is room
    ok = admin.post("users", {"username": "afterfull", "email": "after@example.com", "notify_user": False})
    assert ok.status == 201, ok
