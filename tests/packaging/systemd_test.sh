#!/usr/bin/env bash
# The .deb under a live systemd: a Debian 12 tree booted with systemd-nspawn -b (systemd
# as PID 1), the package installed with dpkg as on an appliance, and then:
#   start      `systemctl start` returns only once /api/v1/healthz answers (Type=notify)
#   kill -9    systemd restarts it (Restart=on-failure), healthy again
#   watchdog   with WatchdogSec=3s (drop-in) a healthy resetd is left alone for 3 periods;
#              a SIGSTOPped one is killed by the watchdog and restarted
#   stop       clean exit (status 0)
#   upgrade    to the "next version" (RESETD_NEXT: one more migration, package version
#              +next1) over data: users, audit, outbox, secret key, TLS certificate and
#              fingerprint, the admin-edited conffile kept (no prompt); the migration
#              runs once; backups/pre-vN.db made
#   downgrade  back to this version: refused ("newer than this binary") in the journal,
#              nothing lost; the next version opens the data again
#   remove     data and conffile kept;  purge: both gone
#
#   bash tests/packaging/systemd_test.sh BUILD_DIR RESETD_NEXT      (as root)
#
# The tree: bookworm-base.sh's minbase plus systemd, systemd-sysv, dbus, the package's
# Depends and the test's tools (curl, sqlite3), cached as a tarball next to the base,
# keyed by that package list (remade when the list or the base changes).
# cgroup v1 hosts: the container's systemd runs, but MemoryMax= is shown, not enforced.
set -euo pipefail
BUILD_DIR=$(realpath "${1:?usage: systemd_test.sh BUILD_DIR RESETD_NEXT}")
NEXT_BIN=$(realpath "${2:?usage: systemd_test.sh BUILD_DIR RESETD_NEXT}")
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
command -v systemd-nspawn >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq systemd-container >/dev/null
fail() { echo "FAIL: $*" >&2; [ -n "${C:-}" ] && [ -n "${leader:-}" ] && in_c journalctl -u resetd --no-pager -n 40 >&2 || true; exit 1; }
ok() { echo "ok: $*"; }
t0=$(date +%s)

# ------------------------------------------------ the two packages: this and "next"
cd "$BUILD_DIR"
DEB=$(ls "$BUILD_DIR"/resetd_*.deb 2>/dev/null | grep -v next | head -1 || true)
if [ -z "$DEB" ]; then cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; fail cpack; }; DEB=$(ls "$BUILD_DIR"/resetd_*.deb | grep -v next | head -1); fi
ver=$(dpkg-deb -f "$DEB" Version)
nextver="$ver+next1"
work=$(mktemp -d "$BUILD_DIR/nspawn-work.XXXXXX")
dpkg-deb -R "$DEB" "$work/next"
install -m 0755 "$NEXT_BIN" "$work/next/usr/bin/resetd"
strip --strip-unneeded "$work/next/usr/bin/resetd"
sed -i "s/^Version: .*/Version: $nextver/" "$work/next/DEBIAN/control"
(cd "$work/next" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
NEXT_DEB="$work/resetd_${nextver}.deb"
dpkg-deb --root-owner-group -Zxz -b "$work/next" "$NEXT_DEB" >/dev/null
dpkg --compare-versions "$nextver" gt "$ver" || fail "$nextver is not newer than $ver"

# ---------------------------------------------------------- the systemd tree (cached)
base=$(bash "$HERE/bookworm-base.sh")
depnames=$(dpkg-deb -f "$DEB" Depends | sed -E 's/ \([^)]*\)//g; s/, */\n/g' | sort -u | tr '\n' ' ')
pkgs="systemd systemd-sysv dbus curl sqlite3 ca-certificates $depnames"
key=$( (echo "$pkgs"; stat -c %Y "$base") | sha256sum | cut -c1-12)
cache=$(dirname "$base")
tree="$cache/bookworm-systemd-$(dpkg --print-architecture)-$key.tar"
if [ ! -f "$tree" ]; then
  exec 8>"$cache/.lock-systemd"
  flock 8
  if [ ! -f "$tree" ]; then
    echo "== making the systemd tree ($pkgs) -> $tree" >&2
    mk=$(mktemp -d "$cache/mk-systemd.XXXXXX"); chmod 755 "$mk"
    tar -C "$mk" -xf "$base"
    cp /etc/resolv.conf "$mk/etc/resolv.conf"
    mount -t proc proc "$mk/proc"
    # shellcheck disable=SC2086
    if ! chroot "$mk" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
         sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs && apt-get clean" \
         >"$mk.log" 2>&1; then
      umount "$mk/proc"; tail -30 "$mk.log" >&2; rm -rf "$mk" "$mk.log"; fail "apt-get install in the systemd tree"
    fi
    umount "$mk/proc"
    rm -rf "$mk/var/lib/apt/lists/"* "$mk.log"
    : >"$mk/etc/machine-id"   # made at each boot
    find "$cache" -maxdepth 1 -name 'bookworm-systemd-*.tar' -delete   # older keys
    tar -C "$mk" --numeric-owner -cf "$tree.tmp.$$" . && mv "$tree.tmp.$$" "$tree"
    rm -rf "$mk"
  fi
  exec 8>&-
fi
C="$BUILD_DIR/nspawn-root"
rm -rf "$C" && mkdir -p "$C" && tar -C "$C" -xf "$tree"
cp "$DEB" "$C/root/resetd-this.deb"
cp "$NEXT_DEB" "$C/root/resetd-next.deb"
ok "trees ready in $(( $(date +%s) - t0 )) s (cache $(basename "$tree"))"

# --------------------------------------------------------------------------- boot
# Its own cgroup: nspawn with --keep-unit makes the container's hierarchy (payload/,
# supervisor/) under the cgroup it runs in, so two runs (or another checkout's) must not
# share one. On a cgroup-v1 host without systemd it takes its place from the unified
# (v2) tree when mounted (hybrid) and from name=systemd: a child in each that exists.
cgs=()
for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
  [ -f "$h/cgroup.procs" ] || continue
  [ "$h" = /sys/fs/cgroup ] && [ ${#cgs[@]} -gt 0 ] && continue   # v1 root: a tmpfs, no cgroup.procs
  mkdir -p "$h/resetd-ci-$$"; cgs+=("$h/resetd-ci-$$")
done
[ ${#cgs[@]} -gt 0 ] || fail "no cgroup hierarchy to run the container in"
nspawn_pid=
leader=
cleanup() {
  set +e
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid"          # nspawn asks the container's systemd to power off
    for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$nspawn_pid" 2>/dev/null
    wait "$nspawn_pid" 2>/dev/null
  fi
  for cg in "${cgs[@]}"; do
    for p in $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  sleep 0.5
  for cg in "${cgs[@]}"; do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null; done
  if ! grep -q " $C/" /proc/mounts; then rm -rf "$C"; fi
  rm -rf "$work"
}
trap cleanup EXIT
( for cg in "${cgs[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
  exec systemd-nspawn -q -b -D "$C" --register=no --keep-unit --private-network \
    --machine="resetd-ci-$$" ) >"$BUILD_DIR/nspawn-console.log" 2>&1 </dev/null &
nspawn_pid=$!
for _ in $(seq 1 150); do   # the container's PID 1: nspawn's child, once it is systemd
  p=$(pgrep -P "$nspawn_pid" | head -1) || true
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] && { leader=$p; break; }
  kill -0 "$nspawn_pid" 2>/dev/null || { cat "$BUILD_DIR/nspawn-console.log"; fail "systemd-nspawn exited"; }
  sleep 0.2
done
[ -n "$leader" ] || { cat "$BUILD_DIR/nspawn-console.log"; fail "no systemd in the container"; }
in_c() { nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
# How many of resetd's journal lines hold PATTERN. grep -c reads the whole journal: with
# `grep -q`, journalctl got SIGPIPE once grep had its match and quit, and pipefail turned
# a found line into a failure whenever the journal went on past it.
journal_count() { in_c journalctl -u resetd --no-pager | grep -c -- "$1" || true; }
state=
for _ in $(seq 1 90); do   # the bus appears a moment after PID 1 has started
  state=$(timeout 90 nsenter -t "$leader" -a systemctl is-system-running --wait 2>&1) || true
  case "$state" in *"Failed to connect"*) sleep 0.5 ;; *) break ;; esac
done
case "$state" in running|degraded) ;; *) cat "$BUILD_DIR/nspawn-console.log"; fail "container state: $state"; esac
[ "$state" = running ] || in_c systemctl --failed --no-pager --no-legend | sed 's/^/  (failed unit in the container) /'
ok "systemd $(in_c systemctl --version | head -1 | cut -d' ' -f2) booted as PID 1 in the container ($state) after $(( $(date +%s) - t0 )) s"

healthz() { in_c curl -fsSk --max-time 5 https://127.0.0.1/api/v1/healthz; }
mainpid() { in_c systemctl show -P MainPID resetd; }
sql() { in_c sqlite3 -readonly /var/lib/resetd/resetd.db "$1"; }
wait_new_pid() {  # old_pid seconds: a new, active MainPID whose healthz answers
  local i p
  for i in $(seq 1 $(( $2 * 5 ))); do
    p=$(mainpid)
    if [ "$p" != 0 ] && [ "$p" != "$1" ] && [ "$(in_c systemctl is-active resetd)" = active ] && healthz >/dev/null 2>&1; then
      echo "$p"; return 0
    fi
    sleep 0.2
  done
  return 1
}

# ------------------------------------------------------------------------ install
out=$(in_c dpkg -i /root/resetd-this.deb 2>&1) || { echo "$out"; fail "dpkg -i"; }
[ "$(in_c systemctl is-active resetd)" = active ] || fail "not active after dpkg -i"
[ "$(in_c systemctl is-enabled resetd)" = enabled ] || fail "not enabled after dpkg -i"
h=$(healthz) || fail "no healthz right after install"
fp=$(sed -E 's/.*"tls_fingerprint":"([^"]*)".*/\1/' <<<"$h")
ok "dpkg -i: enabled, active, healthz $h"

# readiness: start returns only when the API answers (no retry, no sleep)
in_c systemctl stop resetd
in_c systemctl start resetd
healthz >/dev/null || fail "systemctl start returned before healthz answered (Type=notify, READY=1)"
status=$(in_c systemctl show -P StatusText resetd)
[[ "$status" == "listening on https://0.0.0.0:443" ]] || fail "StatusText: '$status'"
ok "systemctl start returns once healthz answers; StatusText: $status"

# kill -9
p1=$(mainpid)
in_c sh -c "kill -9 $p1"   # sh's kill: minbase has no procps
p2=$(wait_new_pid "$p1" 20) || fail "not restarted after kill -9"
ok "kill -9 $p1: restarted as $p2, healthy"

# watchdog: healthy resetd left alone, a SIGSTOPped one restarted
in_c mkdir -p /etc/systemd/system/resetd.service.d
in_c sh -c 'printf "[Service]\nWatchdogSec=3s\n" >/etc/systemd/system/resetd.service.d/ci-watchdog.conf'
in_c systemctl daemon-reload
in_c systemctl restart resetd
p3=$(mainpid)
sleep 9
[ "$(mainpid)" = "$p3" ] && [ "$(in_c systemctl is-active resetd)" = active ] \
  || fail "a healthy resetd was not kept alive by its own watchdog pings (WatchdogSec=3s)"
in_c sh -c "kill -STOP $p3"
p4=$(wait_new_pid "$p3" 30) || fail "a SIGSTOPped resetd was not restarted by the watchdog"
[ "$(journal_count "Watchdog timeout")" -gt 0 ] || fail "no 'Watchdog timeout' in the journal"
ok "watchdog: healthy for 3 periods; SIGSTOPped $p3 -> watchdog timeout, restarted as $p4"
in_c rm -r /etc/systemd/system/resetd.service.d
in_c systemctl daemon-reload

# stop
stops_before=$(journal_count "resetd: stopping")   # earlier restarts said it too
in_c systemctl stop resetd
[ "$(in_c systemctl show -P Result resetd)" = success ] && [ "$(in_c systemctl show -P ExecMainStatus resetd)" = 0 ] \
  || fail "stop: Result=$(in_c systemctl show -P Result resetd) status=$(in_c systemctl show -P ExecMainStatus resetd)"
for _ in $(seq 1 20); do   # journald reads the stdout stream on its own time
  [ "$(journal_count "resetd: stopping")" -gt "$stops_before" ] && break; sleep 0.2
done
[ "$(journal_count "resetd: stopping")" -gt "$stops_before" ] || fail "no 'stopping' line for this stop"
ok "systemctl stop: clean exit (status 0)"

# ----------------------------------------------------------------- data to keep
for u in alice bob; do
  in_c runuser -u resetd -- resetd user add --data-dir /var/lib/resetd --username $u --email $u@example.org >/dev/null \
    || fail "user add $u"
done
in_c sed -i 's/^opslimit = 2$/opslimit = 3  # edited by the admin/' /etc/resetd/resetd.toml
in_c grep -q "edited by the admin" /etc/resetd/resetd.toml || fail "could not edit the conffile"
in_c systemctl start resetd
healthz >/dev/null || fail "no healthz with the edited conffile"
snapshot() {  # one line: row counts, then the key, certificate and TLS key's sha256
  local sums
  sums=$(in_c sha256sum /var/lib/resetd/secret.key /var/lib/resetd/tls/cert.pem /var/lib/resetd/tls/key.pem | cut -c1-16 | tr '\n' ' ')
  echo "users=$(sql 'select count(*) from users') audit=$(sql 'select count(*) from audit') outbox=$(sql 'select count(*) from outbox') files=$sums"
}
before=$(snapshot)
schema_old=$(sql 'pragma user_version')
[ "$(sql 'select count(*) from users')" -ge 3 ] || fail "users not added"
ok "data: $before schema $schema_old; conffile edited"

# ------------------------------------------------------------------------ upgrade
out=$(in_c dpkg -i /root/resetd-next.deb </dev/null 2>&1) || { echo "$out"; fail "upgrade dpkg -i"; }
grep -qi "configuration file" <<<"$out" && { echo "$out"; fail "the upgrade asked about the conffile"; }
h2=$(healthz) || fail "no healthz after the upgrade (postinst's try-restart returns once it is ready)"
[ "$(in_c dpkg-query -W -f='${Version}' resetd)" = "$nextver" ] || fail "not upgraded"
in_c grep -q "edited by the admin" /etc/resetd/resetd.toml || fail "the admin's conffile edit was lost"
schema_new=$(sql 'pragma user_version')
[ "$schema_new" = $((schema_old + 1)) ] || fail "schema $schema_old -> $schema_new"
in_c test -f "/var/lib/resetd/backups/pre-v$schema_new.db" || fail "no backups/pre-v$schema_new.db"
[ "$(sql "select count(*) from sqlite_master where name='next_version_probe'")" = 1 ] || fail "migration not run"
after=$(snapshot)
# the audit may grow (service start rows); every other figure and file must be equal
strip_audit() { sed -E 's/audit=[0-9]+ //' <<<"$1"; }
[ "$(strip_audit "$after")" = "$(strip_audit "$before")" ] || fail "data changed by the upgrade: $before -> $after"
a0=$(grep -oE 'audit=[0-9]+' <<<"$before" | cut -d= -f2); a1=$(grep -oE 'audit=[0-9]+' <<<"$after" | cut -d= -f2)
[ "$a1" -ge "$a0" ] || fail "audit rows lost: $a0 -> $a1"
[ "$(sed -E 's/.*"tls_fingerprint":"([^"]*)".*/\1/' <<<"$h2")" = "$fp" ] || fail "TLS fingerprint changed"
snap_mtime=$(in_c stat -c %Y "/var/lib/resetd/backups/pre-v$schema_new.db")
in_c systemctl restart resetd
healthz >/dev/null || fail "no healthz after restarting the upgraded service"
[ "$(in_c stat -c %Y "/var/lib/resetd/backups/pre-v$schema_new.db")" = "$snap_mtime" ] && [ "$(sql 'pragma user_version')" = "$schema_new" ] \
  || fail "the migration ran again on restart"
ok "upgrade $ver -> $nextver: schema $schema_old -> $schema_new once, pre-v$schema_new.db, data, key, certificate, fingerprint and conffile kept, no prompt"

# ---------------------------------------------------------------------- downgrade
in_c systemctl stop resetd
dbsum=$(in_c sha256sum /var/lib/resetd/resetd.db | cut -d' ' -f1)
out=$(in_c dpkg -i /root/resetd-this.deb </dev/null 2>&1) || { echo "$out"; fail "downgrade dpkg -i"; }
# fails at once, or keeps failing through Restart=on-failure: never becomes active
timeout 20 nsenter -t "$leader" -a systemctl start resetd >/dev/null 2>&1 && fail "the older resetd started on a newer database"
healthz >/dev/null 2>&1 && fail "the older resetd answers on a newer database"
line=$(in_c journalctl -u resetd --no-pager | grep "newer than this binary" | tail -1)
[ -n "$line" ] || fail "no clear journal line for the newer database"
[ "$(in_c sha256sum /var/lib/resetd/resetd.db | cut -d' ' -f1)" = "$dbsum" ] || fail "the older resetd changed the database"
[ "$(sql 'pragma user_version')" = "$schema_new" ] || fail "schema changed by the downgrade"
ok "downgrade to $ver refused: ${line#*resetd\[*\]: }"
out=$(in_c dpkg -i /root/resetd-next.deb </dev/null 2>&1) || { echo "$out"; fail "re-upgrade dpkg -i"; }
in_c systemctl reset-failed resetd 2>/dev/null || true
in_c systemctl restart resetd
healthz >/dev/null || fail "the next version does not open the data again"
[ "$(strip_audit "$(snapshot)")" = "$(strip_audit "$before")" ] || fail "data lost across the downgrade"
ok "the next version opens the data again, nothing lost"

# ----------------------------------------------------------------- remove, purge
in_c dpkg -r resetd >/dev/null 2>&1 || fail "dpkg -r"
in_c test ! -e /usr/bin/resetd || fail "binary left after remove"
in_c test -f /var/lib/resetd/resetd.db || fail "remove deleted the data"
in_c test -f /etc/resetd/resetd.toml || fail "remove deleted the conffile"
[ "$(in_c systemctl is-active resetd)" != active ] || fail "still running after remove"
ok "dpkg -r: stopped, binary gone, data and conffile kept"
in_c dpkg -P resetd >/dev/null 2>&1 || fail "dpkg -P"
in_c test ! -e /var/lib/resetd || fail "purge left /var/lib/resetd"
in_c test ! -e /etc/resetd || fail "purge left /etc/resetd"
ok "dpkg -P: data and configuration gone"
echo "systemd packaging test passed in $(( $(date +%s) - t0 )) s"
