#!/usr/bin/env bash
# Issue 11 figures, measured in one run on this machine:
#   forward-auth GET /api/v1/auth/verify (signed in: 200 + Remote-* headers; signed
#   out: 401) requests per second next to GET /api/v1/healthz, with wrk;
#   `resetd auth-check` (PAM path: process start, Unix socket, Argon2id verify,
#   audit commit) latency next to one bare Argon2id verification, default
#   hashing parameters (opslimit 2, 64 MiB).
# Usage: bash tests/bench/fwdauth.sh [BUILD_DIR]   (default ./build, already built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bin=$build/firmware-app/resetd
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/resetd.toml" <<TOML
[server]
public_url = "http://127.0.0.1:$port"
[forward_auth]
enabled = true
allowed_redirect_origins = ["http://127.0.0.1:9"]
[pam]
enabled = true
socket = "$work/run/auth.sock"
TOML
"$bin" serve --config "$work/resetd.toml" --data-dir "$work/data" --listen "127.0.0.1:$port" --no-tls >"$work/out.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v1/healthz" >/dev/null && break; sleep 0.2; done

cookie=$(/usr/bin/python3 - "$port" "$work/data/initial-admin-password" <<'PY'
import http.client, json, sys
port, pw = int(sys.argv[1]), open(sys.argv[2]).read().strip()
new = "bench-violet-tractor-moonbeam-42"
def call(method, path, body, cookie=None, csrf=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"}
    if cookie: h["Cookie"] = cookie
    if csrf: h["X-CSRF-Token"] = csrf
    c.request(method, "/api/v1" + path, body=json.dumps(body).encode(), headers=h)
    r = c.getresponse(); raw = r.read()
    return r.status, json.loads(raw) if raw else None, (r.getheader("Set-Cookie") or "").split(";")[0]
st, s, ck = call("POST", "/session", {"username": "admin", "password": pw})
call("POST", "/session/password", {"current_password": pw, "new_password": new}, ck, s["csrf_token"])
st, s, ck = call("POST", "/session", {"username": "admin", "password": new})
print(ck)
PY
)
url=http://127.0.0.1:$port/api/v1
rps() { wrk -t1 -c4 -d5s "$@" | awk '/Requests\/sec/ {print $2}'; }
echo "GET /healthz:                 $(rps "$url/healthz") req/s"
echo "GET /auth/verify (signed in): $(rps -H "Cookie: $cookie" -H 'X-Original-URL: http://127.0.0.1:9/x' "$url/auth/verify") req/s"
echo "GET /auth/verify (signed out):$(rps "$url/auth/verify") req/s"
echo "GET /healthz (again):         $(rps "$url/healthz") req/s"
curl -s -o /dev/null -w 'verify status check: %{http_code}\n' -H "Cookie: $cookie" "$url/auth/verify"

/usr/bin/python3 - "$bin" "$work/run/auth.sock" <<'PY'
import statistics, subprocess, sys, time, os
bin_, sock = sys.argv[1], sys.argv[2]
env = dict(os.environ, PAM_USER="admin", PAM_SERVICE="bench", PAM_TYPE="auth")
ts = []
for i in range(15):
    t0 = time.perf_counter()
    r = subprocess.run([bin_, "auth-check", "--socket", sock], input=b"bench-violet-tractor-moonbeam-42\0", env=env, capture_output=True)
    ts.append((time.perf_counter() - t0) * 1000)
    assert r.returncode == 0, r
print("resetd auth-check (right password): median %.1f ms, min %.1f ms (n=15)" % (statistics.median(ts), min(ts)))
PY
"$build/tests/bench/pwhash_bench" 2 64 15
