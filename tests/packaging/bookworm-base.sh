#!/usr/bin/env bash
# Prints the path of a tarball of a fresh `debootstrap --variant=minbase bookworm`
# (amd64 or whatever this machine is), making it first when it is missing or older than
# RESETD_CHROOT_MAX_AGE_DAYS (default 30). As root; needs deb.debian.org when it makes one
# (about 1-2 minutes). Used by tests/packaging/deb_install_test.sh and .ci/fresh-machine.sh.
#
#   base=$(bash tests/packaging/bookworm-base.sh)
#
# The cache lives OUTSIDE any source tree, in RESETD_CHROOT_CACHE (default
# /var/cache/resetd-ci), because CI runs in a fresh clone each time. It is shared by every
# checkout on the machine: making it is serialized with flock, and the tarball appears
# atomically (written to a temporary name, then renamed).
set -euo pipefail
cache=${RESETD_CHROOT_CACHE:-/var/cache/resetd-ci}
max_age=${RESETD_CHROOT_MAX_AGE_DAYS:-30}
arch=$(dpkg --print-architecture)
base="$cache/bookworm-minbase-$arch.tar"
mkdir -p "$cache"

fresh_enough() { [ -f "$base" ] && [ -z "$(find "$base" -mtime "+$max_age" 2>/dev/null)" ]; }

if ! fresh_enough; then
  exec 9>"$cache/.lock"
  flock 9                                   # another checkout may be making it right now
  if ! fresh_enough; then
    command -v debootstrap >/dev/null \
      || apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
    work=$(mktemp -d "$cache/make.XXXXXX")
    chmod 755 "$work"   # the tarball's "." becomes the chroot's /: not mktemp's 0700
    trap 'rm -rf "$work" "$work.log" "$base.tmp.$$"' EXIT
    echo "== debootstrap --variant=minbase bookworm into $work (cache: $base)" >&2
    debootstrap --variant=minbase bookworm "$work" http://deb.debian.org/debian >"$work.log" 2>&1 \
      || { tail -30 "$work.log" >&2; rm -f "$work.log"; exit 1; }
    rm -f "$work.log"
    tar -C "$work" --numeric-owner -cf "$base.tmp.$$" . && mv "$base.tmp.$$" "$base"
  fi
  exec 9>&-
fi
echo "$base"
