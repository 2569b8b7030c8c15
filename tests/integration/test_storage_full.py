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


def test_start_on_a_full_data_disk_says_so_and_starts_once_there_is_room(workdir):
    """Issue 9 #14: on a completely full data disk `serve` said only "sqlite: disk
    I/O error" (SQLite can't size its -shm). It must say the data disk is full,
    which directory, and what to do; nothing is lost and it starts once there is
    room. A size-limited tmpfs is filled to the brim (root only; CI runs as root)."""
    import pytest
    import shutil
    from conftest import ADMIN_INITIAL_PW, free_port, run_cli, wait_until
    from conftest import port_open
    require_binary()
    if os.geteuid() != 0:
        pytest.fail("this test mounts a tmpfs and must run as root (as build.sh test does)")
    mnt = os.path.join(workdir, "smalldisk")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", mnt], check=True)
    proc = None
    try:
        d = os.path.join(mnt, "data")
        r = run_cli("init", "--data-dir", d, "--admin", "admin", "--password-stdin", stdin=ADMIN_INITIAL_PW + "\n")
        assert r.returncode == 0, r
        before = sorted(os.listdir(d))
        fd = os.open(os.path.join(mnt, "fill"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # to the brim
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        assert shutil.disk_usage(mnt).free == 0
        port = free_port()
        cmd = [RESETD_BIN, "serve", "--data-dir", d, "--listen", "127.0.0.1:%d" % port, "--no-tls"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        assert r.returncode == 1, (r.returncode, out)
        assert "the data disk is full" in out and d in out, out
        assert "free some space" in out.lower() and "nothing stored was lost" in out.lower(), out
        assert "disk I/O error" not in out, out
        # nothing lost: free the space and it starts with the same database
        os.remove(os.path.join(mnt, "fill"))
        assert run_cli("check", "--data-dir", d).returncode == 0
        assert set(before) <= set(os.listdir(d))
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(port), timeout=15, what="resetd listening after space was freed")
        users = run_cli("user", "list", "--data-dir", d)
        assert users.returncode == 0 and "admin" in users.stdout, users
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=15)
        subprocess.run(["umount", mnt], check=False)
