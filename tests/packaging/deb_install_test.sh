#!/usr/bin/env bash
# Packaging test: builds the .deb of BUILD_DIR (configured with -DRESETD_PACKAGING=ON),
# checks its control data and files, verifies the systemd unit, installs it with
# dpkg -i into a fresh Debian 12 chroot, checks the user, files and modes and that
# nothing printed the initial password, starts the service by hand as user resetd with
# a READ-ONLY root (only /var/lib/resetd writable, like ProtectSystem=strict +
# StateDirectory=), checks /api/v1/healthz, measures idle RSS, stops it and purges.
#
#   bash tests/packaging/deb_install_test.sh BUILD_DIR          (as root)
#
# Why a chroot and not this machine: an installed /etc/resetd/resetd.toml becomes the
# default configuration of every resetd command (config.cpp), so installing on a
# machine shared with other engineers would change their test runs. The chroot is a
# debootstrap --variant=minbase of bookworm, made once and cached as a tarball in
# /var/cache/resetd-ci by bookworm-base.sh (needs deb.debian.org the first time, about
# 2 minutes).
set -euo pipefail
BUILD_DIR=$(realpath "${1:?usage: deb_install_test.sh BUILD_DIR}")
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
t0=$(date +%s)

# --------------------------------------------------------------- build and inspect
cd "$BUILD_DIR"
rm -f resetd_*.deb
cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; fail "cpack"; }
DEB=$(ls "$BUILD_DIR"/resetd_*.deb)
arch=$(dpkg --print-architecture)
[ "$(dpkg-deb -f "$DEB" Architecture)" = "$arch" ] || fail "Architecture is not $arch"
deps=$(dpkg-deb -f "$DEB" Depends)
depnames=$(sed -E 's/ \([^)]*\)//g; s/, */\n/g' <<<"$deps")
for d in libc6 libsodium23 libsqlite3-0 libcurl4 libcpp-httplib0.11 libssl3 libstdc++6 adduser; do
  grep -qxF "$d" <<<"$depnames" || fail "Depends lacks $d: $deps"
done
# libldap is dlopen()ed by the directory: named through dpkg-shlibdeps (cpack.cmake), never by hand
grep -qE '^libldap-[0-9.]+-[0-9]+$' <<<"$depnames" || fail "Depends lacks libldap: $deps"
# libfido2 (security keys) likewise
grep -qE '^libfido2-[0-9]+$' <<<"$depnames" || fail "Depends lacks libfido2: $deps"
ok "Depends: $deps"
[ "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)" = "/etc/resetd/resetd.toml" ] || fail "conffiles"
listing=$(dpkg-deb -c "$DEB")
for want in "-rwxr-xr-x root/root .* ./usr/bin/resetd" "-rw-r--r-- root/root .* ./etc/resetd/resetd.toml" \
            "-rw-r--r-- root/root .* ./lib/systemd/system/resetd.service"; do
  grep -qE -- "^$want\$" <<<"$listing" || fail "package lacks '$want':\n$listing"
done
ok "package $(basename "$DEB"): $(stat -c %s "$DEB") bytes, files and modes as expected"

# --------------------------------------------------- Debian's conventions: lintian, man
# Every error and every warning fails; info and pedantic tags are printed only.
command -v lintian >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq lintian >/dev/null
lint=$(lintian --no-cfg --display-info "$DEB" 2>&1) || true
echo "$lint" | sed 's/^/  lintian: /'
if grep -qE '^[EW]: ' <<<"$lint"; then fail "lintian reports errors or warnings (above)"; fi
ok "lintian: 0 errors, 0 warnings"
mandir=$(mktemp -d)
dpkg-deb -x "$DEB" "$mandir"
for page in man8/resetd.8.gz man5/resetd.toml.5.gz; do
  f="$mandir/usr/share/man/$page"
  [ -f "$f" ] || { rm -rf "$mandir"; fail "package lacks /usr/share/man/$page"; }
  out=$(MANWIDTH=80 man -l --warnings=all "$f" 2>&1 >/dev/null) || true
  text=$(MANWIDTH=80 man -l "$f" 2>/dev/null)
  [ -z "$out" ] && [ "$(wc -l <<<"$text")" -gt 40 ] || { rm -rf "$mandir"; fail "man -l $page: ${out:-too short}"; }
done
rm -rf "$mandir"
ok "man pages resetd(8) and resetd.toml(5) shipped gzipped, render with man -l without warnings"

# ---------------------------------------------------------- systemd-analyze verify
command -v systemd-analyze >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq systemd >/dev/null
vroot=$(mktemp -d)
trap 'rm -rf "$vroot"' EXIT
mkdir -p "$vroot/lib/systemd/system"
cp -a /lib/systemd/system/. "$vroot/lib/systemd/system/"   # targets the unit refers to
dpkg-deb -x "$DEB" "$vroot"
# --man=no: Documentation= names the man pages, which the host has not installed
# (the package test renders them from the .deb with man -l).
out=$(systemd-analyze verify --man=no --root="$vroot" resetd.service 2>&1) || fail "systemd-analyze verify: $out"
# unknown keys and the like are warnings with exit code 0: refuse them too
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
ok "systemd-analyze verify resetd.service: clean"

# ------------------------------------------------------------------- the chroot
base=$(bash "$HERE/bookworm-base.sh")   # cached outside the tree, shared with .ci/fresh-machine.sh
C="$BUILD_DIR/pkg-chroot"
cleanup() {
  [ -n "${srv_pid:-}" ] && kill "$srv_pid" 2>/dev/null || true
  umount "$C/proc" 2>/dev/null || true
  rm -rf "$vroot"
  # never rm -rf through a live mount
  if ! grep -q " $C/" /proc/mounts; then rm -rf "$C"; fi
}
trap cleanup EXIT
umount "$C/proc" 2>/dev/null || true
rm -rf "$C" && mkdir -p "$C" && tar -C "$C" -xf "$base"
cp /etc/resolv.conf "$C/etc/resolv.conf"
mount -t proc proc "$C/proc"
cp "$DEB" "$C/tmp/resetd.deb"
in_chroot() { chroot "$C" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

# Depends must be installable from Debian 12 alone; then the exact dpkg -i.
pkgdeps=$(tr '\n' ' ' <<<"$depnames")
# shellcheck disable=SC2086
in_chroot apt-get install -y -qq --no-install-recommends $pkgdeps >"$BUILD_DIR/pkg-deps.log" 2>&1 || {
  in_chroot apt-get update -qq >/dev/null
  in_chroot apt-get install -y -qq --no-install-recommends $pkgdeps >"$BUILD_DIR/pkg-deps.log" 2>&1 \
    || { cat "$BUILD_DIR/pkg-deps.log"; fail "Depends not installable"; }
}
in_chroot dpkg -i /tmp/resetd.deb >"$BUILD_DIR/pkg-install.log" 2>&1 || { cat "$BUILD_DIR/pkg-install.log"; fail "dpkg -i"; }
cat "$BUILD_DIR/pkg-install.log"
ok "dpkg -i into a fresh bookworm chroot"

# ------------------------------------------------------------ what install made
D="$C/var/lib/resetd"
[ "$(in_chroot dpkg-query -W -f='${Status}' resetd)" = "install ok installed" ] || fail "not installed"
in_chroot dpkg-query -W -f='${Conffiles}\n' resetd | grep -q "/etc/resetd/resetd.toml" || fail "conffile not registered"
pw=$(in_chroot getent passwd resetd) || fail "no user resetd"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] && [ "$home" = /var/lib/resetd ] && [ "$shell" = /usr/sbin/nologin ] || fail "user resetd: $pw"
in_chroot getent group resetd >/dev/null || fail "no group resetd"
# stat resolves names on the host; compare numeric ids for the chroot's user
owner_of() { stat -c '%u:%g' "$1"; }
[ "$(owner_of "$D")" = "$uid:$gid" ] || fail "$D owner $(owner_of "$D")"
[ "$(stat -c %a "$D")" = 700 ] || fail "$D mode $(stat -c %a "$D")"
for f in resetd.db secret.key initial-admin-password; do
  [ -f "$D/$f" ] || fail "first boot did not make $f"
  [ "$(owner_of "$D/$f")" = "$uid:$gid" ] || fail "$f owner $(owner_of "$D/$f")"
done
for f in secret.key initial-admin-password; do
  [ "$(stat -c %a "$D/$f")" = 600 ] || fail "$f mode $(stat -c %a "$D/$f")"
done
[ "$(stat -c '%a %u' "$C/usr/bin/resetd")" = "755 0" ] || fail "/usr/bin/resetd mode"
[ "$(stat -c '%a %u' "$C/etc/resetd/resetd.toml")" = "644 0" ] || fail "resetd.toml mode"
initial=$(cat "$D/initial-admin-password")
[ ${#initial} -ge 12 ] || fail "initial password too short"
grep -qF -- "$initial" "$BUILD_DIR/pkg-install.log" && fail "dpkg -i printed the initial admin password"
grep -q "/var/lib/resetd/initial-admin-password" "$BUILD_DIR/pkg-install.log" || fail "install did not name the password file"
ok "user resetd ($uid), data dir 0700, key and password file 0600, password not printed"

# ------------------------------------- start by hand, root read-only, as resetd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$BUILD_DIR/pkg-serve.log"
# A private mount namespace: the chroot is bind-mounted read-only except the data dir,
# /tmp included (the unit's PrivateTmp would give a writable one; resetd needs none).
unshare -m --propagation private sh -c '
  set -e
  C=$1; shift
  mount --bind "$C" "$C"
  mount --bind "$C/var/lib/resetd" "$C/var/lib/resetd"
  mount -o remount,bind,ro "$C"
  mount -t proc proc "$C/proc"
  umask 077
  exec chroot --userspec="$1:$2" --groups="$2" "$C" /usr/bin/resetd serve \
    --config /etc/resetd/resetd.toml --data-dir /var/lib/resetd --listen "127.0.0.1:$3" --no-tls
' sh "$C" "$uid" "$gid" "$port" >"$log" 2>&1 &
srv_pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/api/v1/healthz" >"$BUILD_DIR/pkg-healthz.json" 2>/dev/null && break
  kill -0 "$srv_pid" 2>/dev/null || { cat "$log"; fail "resetd exited at start"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/api/v1/healthz" >/dev/null || { cat "$log"; fail "no healthz"; }
ok "healthz on 127.0.0.1:$port with a read-only root: $(cat "$BUILD_DIR/pkg-healthz.json")"
sleep 3
rpid=$(pgrep -P "$srv_pid" -x resetd || echo "$srv_pid")   # unshare exec'd chroot exec'd resetd
# numeric: the chroot's uid means another name (or none) on the host
[ "$(ps -o uid= -p "$rpid" | tr -d ' ')" = "$uid" ] && [ "$(ps -o comm= -p "$rpid")" = resetd ] \
  || fail "server not running as resetd: $(ps -o uid=,comm= -p "$rpid")"
echo "idle RSS (host, amd64): $(grep VmRSS /proc/"$rpid"/status | awk '{print $2, $3}')"
kill -TERM "$srv_pid"
rc=0; wait "$srv_pid" || rc=$?
srv_pid=
[ "$rc" = 0 ] || { cat "$log"; fail "resetd exit code $rc after SIGTERM"; }
grep -qi "read-only" "$log" && { cat "$log"; fail "something tried to write outside the data dir"; }
grep -qF -- "$initial" "$log" && fail "serve printed the initial admin password"
ok "stopped cleanly (SIGTERM, exit 0)"

# --------------------------------------------------------------------- purge
in_chroot dpkg --purge resetd >"$BUILD_DIR/pkg-purge.log" 2>&1 || { cat "$BUILD_DIR/pkg-purge.log"; fail "purge"; }
for p in /usr/bin/resetd /etc/resetd /lib/systemd/system/resetd.service /var/lib/resetd; do
  [ ! -e "$C$p" ] || fail "$p left after purge"
done
ok "purged: binary, config, unit and data dir gone"
echo "packaging test passed in $(( $(date +%s) - t0 )) s"
