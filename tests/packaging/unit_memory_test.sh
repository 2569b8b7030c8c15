#!/usr/bin/env bash
# The systemd unit's memory ceiling matches the [hashing] defaults of the shipped
# resetd.toml (docs/memory-ceiling.md), and `systemd-analyze verify` accepts the
# unit with the built binary in place. Quick: no package, no chroot.
# Usage: unit_memory_test.sh SOURCE_DIR RESETD_BINARY
set -euo pipefail
src=$1
bin=$2
unit="$src/packaging/resetd.service"
toml="$src/packaging/resetd.toml"
fail() { echo "FAIL: $*" >&2; exit 1; }

num() { sed -n "/^\[hashing\]/,/^\[/s/^$1 *= *\([0-9]\+\).*/\1/p" "$toml"; }
mem=$(num memlimit_mib)
conc=$(num max_concurrent)
[ -n "$mem" ] && [ -n "$conc" ] || fail "no [hashing] memlimit_mib / max_concurrent in $toml"
headroom=64
want_high=$(( mem * conc + headroom ))
want_max=$(( want_high + 64 ))

mib() {  # value of a Memory*= key in MiB (accepts K/M/G suffixes)
  local v
  v=$(sed -n "s/^$1=//p" "$unit")
  [ -n "$v" ] || fail "$1= missing from resetd.service"
  case "$v" in
    *G) echo $(( ${v%G} * 1024 )) ;;
    *M) echo "${v%M}" ;;
    *K) echo $(( ${v%K} / 1024 )) ;;
    *) echo $(( v / 1048576 )) ;;
  esac
}
high=$(mib MemoryHigh)
max=$(mib MemoryMax)
[ "$high" -eq "$want_high" ] || fail "MemoryHigh=${high}M, want ${mem}×${conc}+${headroom} = ${want_high}M"
[ "$max" -eq "$want_max" ] || fail "MemoryMax=${max}M, want MemoryHigh+64 = ${want_max}M"
echo "ok: MemoryHigh=${high}M MemoryMax=${max}M for memlimit_mib=$mem × max_concurrent=$conc"

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (package systemd)"
vroot=$(mktemp -d)
trap 'rm -rf "$vroot"' EXIT
mkdir -p "$vroot/lib/systemd/system" "$vroot/usr/bin" "$vroot/etc/resetd"
cp -a /lib/systemd/system/. "$vroot/lib/systemd/system/"
cp "$unit" "$vroot/lib/systemd/system/resetd.service"
cp "$bin" "$vroot/usr/bin/resetd"
cp "$toml" "$vroot/etc/resetd/resetd.toml"
# --man=no: Documentation= names the man pages, which the host has not installed
# (the package test renders them from the .deb with man -l).
out=$(systemd-analyze verify --man=no --root="$vroot" resetd.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
echo "ok: systemd-analyze verify resetd.service: clean"
