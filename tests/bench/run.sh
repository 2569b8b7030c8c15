#!/usr/bin/env bash
# Measures resetd's footprint and speed on this machine:
#   stripped binary size, idle RSS after start, one admin reset (API round trip,
#   default Argon2id parameters) next to one bare crypto_pwhash_str.
# Usage: bash tests/bench/run.sh [BUILD_DIR]   (default ./build, already built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bin=$build/firmware-app/resetd
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

strip -o "$work/resetd.stripped" "$bin"
echo "binary: $(stat -c %s "$bin") bytes, stripped $(stat -c %s "$work/resetd.stripped") bytes"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" --no-tls >"$work/out.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v1/healthz" >/dev/null && break; sleep 0.2; done
sleep 2
echo "idle RSS after start: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status) (default hashing: opslimit 2, 64 MiB)"

/usr/bin/python3 - "$port" "$work/data/initial-admin-password" <<'PY'
import http.client, json, statistics, sys, time
port, pwfile = int(sys.argv[1]), sys.argv[2]
cookie = None
def call(method, path, body=None, csrf=None):
    global cookie
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"}
    if cookie: h["Cookie"] = cookie
    if csrf: h["X-CSRF-Token"] = csrf
    data = json.dumps(body).encode() if body is not None else None
    c.request(method, "/api/v1" + path, body=data, headers=h)
    r = c.getresponse(); raw = r.read()
    sc = r.getheader("Set-Cookie")
    if sc: cookie = sc.split(";")[0]
    return r.status, (json.loads(raw) if raw else None)
pw = open(pwfile).read().strip()
st, s = call("POST", "/session", {"username": "admin", "password": pw})
new = "bench-violet-tractor-moonbeam-42"
call("POST", "/session/password", {"current_password": pw, "new_password": new}, s["csrf_token"])
st, s = call("POST", "/session", {"username": "admin", "password": new})
csrf = s["csrf_token"]
st, u = call("POST", "/users", {"username": "bench", "email": "bench@example.com", "notify_user": False}, csrf)
uid = u["user"]["id"]
times = []
for i in range(10):
    t0 = time.perf_counter()
    st, r = call("POST", f"/users/{uid}/password-reset", {"notify": ["bench.home@example.net"], "notify_user": False}, csrf)
    times.append((time.perf_counter() - t0) * 1000)
    assert st == 200, r
print(f"reset (POST /users/{{id}}/password-reset, auto, 1 notification) n=10 median_ms={statistics.median(times):.1f} min_ms={min(times):.1f}")
PY
"$build/tests/bench/pwhash_bench" 2 64 10
