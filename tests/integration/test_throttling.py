"""Spec §5: sign-in throttling per account and per client, lockout cleared by an
admin's unlock, X-Forwarded-For ignored unless the peer is a trusted proxy.

Different clients are simulated by connecting from different loopback source
addresses (127.0.0.x); the server listens on 127.0.0.1 only."""
import secrets
import time

from conftest import Client, assert_error_json, strong_password

MAX_ATTEMPTS = 60
BUDGET_S = 60


def hammer(server, username, sources, headers_fn=None, stop_on_429=True):
    """Failed sign-ins until a 429 (bounded). Returns (attempts, last response)."""
    deadline = time.monotonic() + BUDGET_S
    r = None
    for i in range(MAX_ATTEMPTS):
        if time.monotonic() > deadline:
            break
        src = sources[i % len(sources)]
        c = Client(server.port, source=src)
        uname = username(i) if callable(username) else username
        r = c.post("session", {"username": uname, "password": "wrong-" + secrets.token_hex(6)},
                   csrf=False, headers=headers_fn(i) if headers_fn else None)
        assert r.status in (401, 429, 503), r
        if r.status == 429 and stop_on_429:
            return i + 1, r
    return MAX_ATTEMPTS, r


def check_429(r):
    assert r is not None and r.status == 429, "no 429 within %d attempts: %r" % (MAX_ATTEMPTS, r)
    assert_error_json(r, 429)
    ra = r.headers.get("retry-after")
    assert ra and ra.strip().isdigit() and int(ra) >= 1, "Retry-After %r" % ra


def test_account_lockout_and_admin_unlock(server, admin):
    pw = strong_password()
    uid = admin.create_user("victim", password=pw).json["user"]["id"]
    # failures from many client addresses: the per-account limit must kick in
    sources = ["127.0.0.%d" % i for i in range(10, 40)]
    n, r = hammer(server, "victim", sources)
    check_429(r)
    # keep failing, honouring Retry-After, until the account's wait is several
    # seconds (growing delay), bounded in time
    deadline = time.monotonic() + 25
    i = 0
    while not (r.status == 429 and int(r.headers.get("retry-after", "0")) >= 4) \
            and time.monotonic() < deadline:
        if r.status == 429:
            time.sleep(min(int(r.headers.get("retry-after", "1")), 8) + 0.2)
        i += 1
        r = Client(server.port, source=sources[i % len(sources)]).post(
            "session", {"username": "victim", "password": "wrong-%d-xyzzy" % i}, csrf=False)
        assert r.status in (401, 429), r
    assert r.status == 429 and int(r.headers["retry-after"]) >= 4, "the delay does not grow: %r" % r
    # even the right password from a fresh client is refused while throttled
    fresh = Client(server.port, source="127.0.0.200")
    rr = fresh.sign_in("victim", pw)
    assert_error_json(rr, 429)
    assert rr.headers.get("retry-after")

    ur = admin.post("users/%d/unlock" % uid, {})
    assert ur.status in (200, 204), ur
    u = admin.get("users/%d" % uid).json
    u = u.get("user", u)
    assert u["locked"] is False, u
    ok = Client(server.port, source="127.0.0.201").sign_in("victim", pw)
    assert ok.status == 200, "unlock did not clear the lockout: %r" % ok
    # unlocking an unknown user
    assert_error_json(admin.post("users/987654/unlock", {}), 404)


def test_per_client_limit_ignores_untrusted_x_forwarded_for(server, admin):
    # unknown usernames each time, so only the per-client limit can trigger; the
    # varying X-Forwarded-For must not spread the client over many addresses
    n, r = hammer(server, lambda i: "ghost%d.%s" % (i, secrets.token_hex(3)), ["127.0.0.50"],
                  headers_fn=lambda i: {"X-Forwarded-For": "10.9.%d.%d" % (i // 250, i % 250 + 1)})
    check_429(r)
    # the throttled peer stays throttled whatever it claims
    r2 = Client(server.port, source="127.0.0.50").post(
        "session", {"username": "whoever", "password": "x" * 14}, csrf=False,
        headers={"X-Forwarded-For": "192.0.2.77"})
    assert r2.status == 429, r2
    # another peer is not affected
    pw = strong_password()
    admin.create_user("bystander", password=pw)
    assert Client(server.port, source="127.0.0.51").sign_in("bystander", pw).status == 200


def test_unlock_needs_reset_permission(server, admin):
    pw = strong_password()
    tid = admin.create_user("locked.pa", role="password_admin", password=strong_password()).json["user"]["id"]
    admin.create_user("hd.unlocker", role="helpdesk_admin", password=pw)
    hc = server.client()
    hc.must_sign_in("hd.unlocker", pw)
    assert_error_json(hc.post("users/%d/unlock" % tid, {}), 403)


def test_trusted_proxy_last_x_forwarded_for_hop_is_used(sink, make_resetd):
    srv = make_resetd(relay_port=sink.port, extra_toml="")
    # rewrite [server] with trusted_proxies = ["127.0.0.60"], then restart
    srv.stop()
    with open(srv.config) as f:
        text = f.read()
    text = text.replace("[server]\n", '[server]\ntrusted_proxies = ["127.0.0.60"]\n', 1)
    with open(srv.config, "w") as f:
        f.write(text)
    srv.start()
    # through the trusted proxy, the client is the last XFF hop: 10.1.1.1
    n, r = hammer(srv, lambda i: "nobody%d.%s" % (i, secrets.token_hex(3)), ["127.0.0.60"],
                  headers_fn=lambda i: {"X-Forwarded-For": "198.51.100.9, 10.1.1.1"})
    check_429(r)
    # another client behind the same proxy is not throttled
    r2 = Client(srv.port, source="127.0.0.60").post(
        "session", {"username": "nobody.else", "password": "x" * 14}, csrf=False,
        headers={"X-Forwarded-For": "10.1.1.1, 10.1.1.2"})
    assert r2.status == 401, r2


def test_parallel_wrong_passwords_get_no_more_guesses_than_sequential(server, admin):
    """Issue 9 #6: 40 concurrent wrong passwords for one account must not get more
    verified guesses than one at a time (3 before the growing delay starts).
    A 401 is a verified guess; 429 (throttled) and 503 (hasher busy) are not."""
    from concurrent.futures import ThreadPoolExecutor
    admin.create_user("racer", password=strong_password())
    # sequential baseline: how many 401s before the first 429
    seq = []
    admin.create_user("walker", password=strong_password())
    for i in range(10):
        r = Client(server.port, source="127.0.0.%d" % (100 + i)).post(
            "session", {"username": "walker", "password": "wrong-%d-xyzzy" % i}, csrf=False)
        seq.append(r.status)
        if r.status == 429:
            break
    verified_seq = seq.index(429) if 429 in seq else len(seq)
    assert verified_seq == 3, seq

    def attempt(i):
        c = Client(server.port, source="127.0.0.%d" % (150 + i))
        return c.post("session", {"username": "racer", "password": "wrong-%d-" % i + secrets.token_hex(4)},
                      csrf=False).status

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(attempt, range(40)))
    elapsed = time.monotonic() - t0
    assert set(statuses) <= {401, 429, 503}, statuses
    verified = statuses.count(401)
    # What a sequential attacker gets in the same time: the 3 free guesses, then
    # one more after each delay of 1, 2, 4 ... s (a loaded machine may take >1 s).
    allowed, spent, delay = verified_seq, 0, 1
    while spent + delay <= elapsed:
        allowed, spent, delay = allowed + 1, spent + delay, delay * 2
    assert verified <= allowed, "%d verified guesses in parallel in %.1f s vs %d one at a time: %r" % (
        verified, elapsed, allowed, statuses)
