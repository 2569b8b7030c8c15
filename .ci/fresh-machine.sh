#!/usr/bin/env bash
# Fresh-machine stage of CI (.ci/run runs it after the host tests; alone:
# `bash .ci/fresh-machine.sh [COMMIT]`, default HEAD). As root on Debian 12.
#
# Does what a new user does on a minimal Debian 12, in a chroot:
#   1. base   a `debootstrap --variant=minbase bookworm` (cached as a tarball outside the
#             clone by tests/packaging/bookworm-base.sh), unpacked into a temporary dir,
#             with what the Debian installer would add: the bookworm-updates and
#             bookworm-security sources, /etc/hosts; and this machine's locally added CA
#             certificates, copied in before ca-certificates is installed there
#   2. clone  a clean `git clone` of COMMIT (not the working tree) into /root/resetd
#   3. test   the README's `bash build.sh test` as root, with SKIP_HOST_STAGES=1 (the stages
#             after ctest — packaging, ARM, ... — run on the CI host) and
#             CTEST_EXCLUDE_LABELS=$FRESH_CTEST_EXCLUDE_LABELS (default `samba|soak|bench`:
#             samba needs root network namespaces the chroot does not give; the kill -9
#             soak and the benchmark prove nothing about installing — all run on the host)
#   4. run    the README's `bash build.sh run` in the background with LISTEN on a free
#             loopback port and a temporary DATA_DIR, until /api/v1/healthz answers over
#             HTTPS (curl -k); then it is stopped with SIGTERM and must exit 0, and its
#             binary (the same build dir as test's) must have no test hooks
# Each stage's wall time is printed, and a summary at the end. Exit code non-zero when
# any stage fails. The chroot runs in a private mount namespace with proc, sys, dev,
# dev/pts and a fresh dev/shm (Chromium needs it); everything is unmounted and the chroot
# removed on exit, also on failure or interrupt (FRESH_KEEP=1 keeps the chroot dir).
#
# Nothing of the host leaks in: commands run through `chroot ... env -i` with the
# chroot's own PATH, HOME and no host variables; node/npm must be absent before the
# test stage and come from Debian's nodejs/npm packages after it.
#
# Environment: RESETD_CHROOT_CACHE (default /var/cache/resetd-ci: the base tarball, and
# apt's .debs of earlier runs in apt-archives/, hard-linked into the chroot — a download
# cache only, apt still resolves and installs everything), FRESH_DIR (parent of the chroot, default /var/tmp),
# FRESH_CTEST_EXCLUDE_LABELS (default samba|soak|bench), FRESH_HEALTHZ_TIMEOUT (s, default 600).
set -euo pipefail
{ # bash reads all of this before running any of it: an edit or a checkout during a run
  # cannot change what the run does
cd "$(dirname "$0")/.."
src=$(pwd)
commit=$(git rev-parse --verify "${1:-HEAD}^{commit}")
cache=${RESETD_CHROOT_CACHE:-/var/cache/resetd-ci}
exclude=${FRESH_CTEST_EXCLUDE_LABELS-samba|soak|bench}
healthz_timeout=${FRESH_HEALTHZ_TIMEOUT:-600}
[ "$(id -u)" = 0 ] || { echo "fresh-machine: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }

summary=()
t_all=$(date +%s)
t_stage=$t_all
stage_done() {  # name result
  local now; now=$(date +%s)
  summary+=("$(printf 'fresh-machine %-6s %-6s %5d s' "$1" "$2" $((now - t_stage)))")
  echo "== fresh-machine: $1 $2 in $((now - t_stage)) s"
  t_stage=$now
}
# The inner script reports its stages through fd 3 into $C.stages.
fold_stages() {
  [ -s "$C.stages" ] || return 0
  local _ name result secs
  while read -r _ name result secs; do
    summary+=("$(printf 'fresh-machine %-6s %-6s %5d s' "$name" "$result" "$secs")")
    t_stage=$((t_stage + secs))
  done <"$C.stages"
  : >"$C.stages"
}
printed=0
print_summary() {
  printed=1
  echo "== fresh-machine summary (commit ${commit:0:12})"
  local l; for l in "${summary[@]}"; do echo "$l"; done
  echo "fresh-machine total        $(( $(date +%s) - t_all )) s"
}

# ------------------------------------------------------------------------ 1. base
echo "== fresh-machine: commit $commit"
base=$(RESETD_CHROOT_CACHE=$cache bash tests/packaging/bookworm-base.sh)
mkdir -p "${FRESH_DIR:-/var/tmp}"
C=$(mktemp -d "${FRESH_DIR:-/var/tmp}/resetd-fresh.XXXXXX")
ns_pid=
# The .debs this run downloaded go to the cache (hard links, or copies renamed into place).
save_debs() {
  local f n
  for f in "$C"/var/cache/apt/archives/*.deb; do
    [ -f "$f" ] || continue
    n=$cache/apt-archives/${f##*/}
    [ -e "$n" ] && continue
    ln "$f" "$n" 2>/dev/null || { cp "$f" "$n.tmp.$$" && mv "$n.tmp.$$" "$n"; } || true
  done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # unshare ignores INT/TERM; killing it sends TERM to the namespace's first process
  # (--kill-child), whose trap unmounts; when it ends, the kernel ends every process
  # left in the namespace. They all hold the lock until the last of them is gone.
  [ -n "$ns_pid" ] && kill -KILL "$ns_pid" 2>/dev/null
  if [ -f "$C.lock" ] && ! flock -w 60 "$C.lock" true; then
    echo "fresh-machine: processes in $C still running; left in place" >&2
    exit "$rc"
  fi
  save_debs
  # The mounts exist only in the namespace's own table and went with it; never rm -rf
  # through a live mount all the same.
  if grep -q " $C[/ ]" /proc/mounts; then
    echo "fresh-machine: $C still has mounts; left in place" >&2
  elif [ "${FRESH_KEEP:-0}" = 1 ]; then
    echo "fresh-machine: chroot kept in $C"
  else
    rm -rf "$C"
  fi
  if [ "$printed" = 0 ]; then   # a failure in base or clone, or an interrupt: say where
    fold_stages
    stage_done "${stage:-?}" FAILED >/dev/null
    print_summary
  fi
  rm -f "$C.lock" "$C.stages"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "fresh-machine: interrupted" >&2; exit 130' INT TERM

stage=base
tar -C "$C" --numeric-owner -xf "$base"
chmod 755 "$C"   # it is /: a 0700 would shut out every user but root (_apt, nobody)
# What the Debian installer writes and debootstrap does not.
cat >"$C/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$C/etc/hosts"
# A chroot runs no init: packages' maintainer scripts must not start their daemons
# (nginx, smbd, winbind ... would bind the host's ports from inside the chroot). Debian's
# way to say so is policy-rc.d exiting 101; the tests start every server they need.
printf '#!/bin/sh\nexit 101\n' >"$C/usr/sbin/policy-rc.d"
chmod 0755 "$C/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$C/etc/resolv.conf"
# This machine's own CAs (package clients reach the registries only when they trust
# them), in place before build.sh installs ca-certificates, whose postinst
# adds them to the system store, as on the host.
mkdir -p "$C/usr/local/share/ca-certificates"
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
  cp -a /usr/local/share/ca-certificates/. "$C/usr/local/share/ca-certificates/"
fi
# apt's downloads of earlier runs, hard-linked in (apt never changes a .deb in place;
# a download goes to partial/ and is renamed); new ones go back at the end. Not a shared
# bind mount: apt locks its archives dir, so two runs at once would fail.
mkdir -p "$cache/apt-archives"
find "$cache/apt-archives" -maxdepth 1 -name '*.deb' -mtime +60 -delete
find "$cache/apt-archives" -maxdepth 1 -name '*.deb' -exec cp -l -n -t "$C/var/cache/apt/archives/" {} + 2>/dev/null \
  || find "$cache/apt-archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "$C/var/cache/apt/archives/" {} +
# apt's partial/ dirs belong to _apt as on an installed system.
apt_uid=$(awk -F: '$1 == "_apt" { print $3 }' "$C/etc/passwd")
chown "${apt_uid:-0}:0" "$C/var/lib/apt/lists/partial" "$C/var/cache/apt/archives/partial"
chmod 700 "$C/var/lib/apt/lists/partial" "$C/var/cache/apt/archives/partial"
# dpkg without an fsync per file, as Debian's container images do: the chroot is thrown
# away after the run, and on a busy 2-core machine the fsyncs double the install time.
echo force-unsafe-io >"$C/etc/dpkg/dpkg.cfg.d/resetd-ci-unsafe-io"
stage_done base ok

# ----------------------------------------------------------------------- 2. clone
stage=clone
git clone --quiet --no-checkout "file://$src" "$C/root/resetd"
git -C "$C/root/resetd" fetch --quiet origin "$commit" 2>/dev/null || true
git -C "$C/root/resetd" checkout --quiet --detach "$commit"
[ -z "$(git -C "$C/root/resetd" status --porcelain)" ] || { echo "clone is not clean" >&2; exit 1; }
stage_done clone ok

# ------------------------------------------------- 3. + 4. inside the chroot
# One private mount namespace for both stages: its mounts are invisible to the host
# and disappear with it, whatever happens to this script.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
inner=$(cat <<'INNER'
set -euo pipefail
C=$1 cache=$2 exclude=$3 port=$4 healthz_timeout=$5
exec 8>>"$C.lock"; flock 8       # held by this namespace's processes until the last ends
mounted=()
child=
on_exit() {
  local rc=$? i
  trap - EXIT INT TERM
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null
  for (( i=${#mounted[@]}-1; i>=0; i-- )); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  exit "$rc"
}
trap on_exit EXIT
trap 'echo "fresh-machine: interrupted" >&2; exit 130' INT TERM
mnt() { mount "$@"; mounted+=("${@: -1}"); }
mnt -t proc proc "$C/proc"
mnt -t sysfs sysfs "$C/sys"
mnt --bind /dev "$C/dev"
mnt --bind /dev/pts "$C/dev/pts"
mnt -t tmpfs -o mode=1777,nosuid,nodev shm "$C/dev/shm"

# A root login's environment on a fresh Debian, nothing from this host.
chroot_env=(chroot "$C" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash
  TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
in_chroot() { "${chroot_env[@]}" "$@" 3>&-; }
# In the background and waited for, so that INT/TERM reach the trap at once.
in_chroot_wait() { in_chroot "$@" & child=$!; local rc=0; wait "$child" || rc=$?; child=; return "$rc"; }
stamp() { date +%s; }
report() {  # stage result start
  echo "== fresh-machine: $1 $2 in $(( $(stamp) - $3 )) s"
  echo "STAGE $1 $2 $(( $(stamp) - $3 ))" >&3
}

# ---- 3. test
t=$(stamp)
if in_chroot sh -c 'command -v node || command -v nodejs || command -v npm'; then
  echo "fresh-machine: node/npm visible in the chroot before build.sh installed anything" >&2
  report test failed "$t"; exit 1
fi
echo "== fresh-machine: PATH in the chroot: $(in_chroot sh -c 'echo "$PATH"')"
echo "== fresh-machine: bash build.sh test (SKIP_HOST_STAGES=1 CTEST_EXCLUDE_LABELS=${exclude:-<none>})"
if ! in_chroot_wait SKIP_HOST_STAGES=1 CTEST_EXCLUDE_LABELS="$exclude" \
     bash -c 'cd /root/resetd && exec bash build.sh test'; then
  report test failed "$t"; exit 1
fi
# Node.js must be Debian's own (the point of this stage), nothing from this host.
if ! in_chroot bash -c 'set -e
  pkg() { dpkg -S "$(readlink -f "$(command -v "$1")")" | cut -d: -f1; }
  pw=$(node -p "require(\"/root/resetd/tests/browser/node_modules/playwright-core/package.json\").version")
  echo "== fresh-machine: node $(node --version) (package $(pkg node)), npm $(npm --version) (package $(pkg npm)), $(chromium --version 2>/dev/null), playwright-core $pw"
  [ "$(pkg node)" = nodejs ] && [ "$(pkg npm)" = npm ]'; then
  echo "fresh-machine: node/npm in the chroot are not Debian's nodejs/npm" >&2
  report test failed "$t"; exit 1
fi
report test ok "$t"

# ---- 4. run
t=$(stamp)
data=$(in_chroot mktemp -d /tmp/resetd-data.XXXXXX)
echo "== fresh-machine: bash build.sh run (LISTEN=127.0.0.1:$port DATA_DIR=$data)"
# A simple command, not the function: so $! is chroot itself, and chroot, env, bash and
# build.sh all exec, so this pid ends as resetd (a function would run in a subshell).
"${chroot_env[@]}" LISTEN="127.0.0.1:$port" DATA_DIR="$data" \
  bash -c 'cd /root/resetd && exec bash build.sh run' >"$C/tmp/run.log" 2>&1 3>&- &
child=$!
ok=0
for _ in $(seq 1 $((healthz_timeout * 2))); do
  if body=$(curl -ksS --max-time 5 "https://127.0.0.1:$port/api/v1/healthz" 2>/dev/null); then ok=1; break; fi
  kill -0 "$child" 2>/dev/null || break
  sleep 0.5
done
if [ "$ok" != 1 ]; then
  echo "fresh-machine: no HTTPS answer from /api/v1/healthz on 127.0.0.1:$port" >&2
  tail -40 "$C/tmp/run.log" >&2; report run failed "$t"; exit 1
fi
echo "== fresh-machine: https://127.0.0.1:$port/api/v1/healthz -> $body"
grep -i "fingerprint" "$C/tmp/run.log" | head -1 || true
kill -TERM "$child"
rc=0; wait "$child" || rc=$?
child=
if [ "$rc" != 0 ]; then
  echo "fresh-machine: resetd exited $rc after SIGTERM" >&2
  tail -40 "$C/tmp/run.log" >&2; report run failed "$t"; exit 1
fi
echo "== fresh-machine: resetd stopped (SIGTERM, exit 0)"
# `build.sh test` built the test hooks in, `build.sh run` must have rebuilt without them.
v=$(in_chroot /root/resetd/build/firmware-app/resetd version)
if [[ $v == *"test hooks"* ]]; then
  echo "fresh-machine: build.sh run left the test hooks in: $v" >&2; report run failed "$t"; exit 1
fi
echo "== fresh-machine: build.sh run's binary has no test hooks ($v)"
report run ok "$t"
INNER
)
: >"$C.stages"
stage=test/run
rc=0
# --pid --fork: the inner script is the namespace's first process; when it ends, every
# process left in the chroot (a server, a browser) ends with it.
unshare --mount --propagation private --pid --fork --kill-child=TERM \
  bash -c "$inner" fresh-inner "$C" "$cache" "$exclude" "$port" "$healthz_timeout" 3>"$C.stages" &
ns_pid=$!
wait "$ns_pid" || rc=$?
ns_pid=
fold_stages
print_summary
[ "$rc" = 0 ] || echo "fresh-machine: FAILED (exit $rc)" >&2
exit "$rc"
}
