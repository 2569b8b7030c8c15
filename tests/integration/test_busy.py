"""Spec §5: at most max_concurrent hashes run at once; a request that would wait
more than 5 s for a slot gets 503 with Retry-After; peak memory stays bounded."""
import concurrent.futures
import secrets
import time

from conftest import Client, assert_error_json

MEM_MIB = 256


def vm_hwm_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def test_hash_slots_bounded_busy_answers_503(make_resetd):
    srv = make_resetd(start=False)
    with open(srv.config) as f:
        text = f.read()
    text = text.replace("opslimit = 1", "opslimit = 10").replace("memlimit_mib = 8", "memlimit_mib = %d" % MEM_MIB)
    text = text.replace("max_concurrent = 4", "max_concurrent = 1")
    with open(srv.config, "w") as f:
        f.write(text)
    srv.start()
    srv.wait_healthy(timeout=30)

    def one(i):
        c = Client(srv.port, source="127.0.2.%d" % (i + 1), timeout=120)
        t = time.monotonic()
        r = c.post("session", {"username": "ghost%d.%s" % (i, secrets.token_hex(3)), "password": "x" * 16},
                   csrf=False)
        return r, time.monotonic() - t

    t0 = time.monotonic()
    one(99)  # warm up and measure one hash
    single = time.monotonic() - t0
    n = min(40, max(16, int(14 / max(single, 0.05))))
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        results = list(ex.map(one, range(n)))
    statuses = [r.status for r, _ in results]
    assert set(statuses) <= {401, 503}, statuses
    busy = [r for r, _ in results if r.status == 503]
    assert busy, "no 503 although %d hashes of %.2f s each queued on one slot: %s" % (n, single, statuses)
    for r in busy:
        assert_error_json(r, 503)
        assert r.headers.get("retry-after", "").isdigit(), r.headers
    hwm = vm_hwm_mib(srv.proc.pid)
    assert hwm is not None and hwm < MEM_MIB + 160, "peak RSS %.0f MiB with one %d MiB hash slot" % (hwm, MEM_MIB)
    st, _ = srv.healthz()
    assert st == 200
