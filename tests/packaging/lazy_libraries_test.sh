#!/bin/bash
# docs/footprint.md: libcurl, libldap and libfido2 are dlopen()ed on first use, never
# linked: none may appear as NEEDED in the binary (each would be mapped by every start).
set -euo pipefail
bin=${1:?usage: lazy_libraries_test.sh path/to/resetd}
needed=$(readelf -d "$bin" | grep '(NEEDED)') || { echo "FAIL: readelf found no NEEDED in $bin"; exit 1; }
# the check must be able to see a library: libsodium is linked on purpose
grep -q 'libsodium' <<<"$needed" || { echo "FAIL: readelf output not understood:"; echo "$needed"; exit 1; }
bad=0
for lib in libcurl libldap liblber libfido2; do
  if grep -F "[$lib" <<<"$needed"; then
    echo "FAIL: $bin links $lib (it must be dlopen()ed on first use)"
    bad=1
  fi
done
[ $bad = 0 ] && echo "ok: no NEEDED entry for libcurl, libldap, liblber, libfido2"
exit $bad
