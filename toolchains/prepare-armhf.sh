#!/usr/bin/env bash
# Prepares a 32-bit ARM (Debian armhf) cross build of resetd, as root on Debian 12:
# installs crossbuild-essential-armhf and qemu-user on the host, then downloads the
# armhf .debs resetd builds and links against (with their dependencies) through a
# PRIVATE apt state and unpacks them with dpkg-deb -x into a sysroot.
#
#   bash toolchains/prepare-armhf.sh [SYSROOT]     (default: build-armhf/sysroot)
#
# armhf is deliberately NOT added as a dpkg foreign architecture: the armhf security
# index does not download cleanly here, which would make every apt-get update on the
# machine fail (seen on this project's CI machines). The private apt below touches nothing of the
# host's apt/dpkg state. Idempotent: a sysroot whose stamp matches the package list is
# kept as is.
set -euo pipefail
cd "$(dirname "$0")/.."
SYSROOT=$(realpath -m "${1:-build-armhf/sysroot}")
APTDIR=$(dirname "$SYSROOT")/apt-armhf

# What resetd needs at build time (dev packages) and run time (their libraries);
# apt adds every dependency (curl: nghttp2, idn2, ssh2, psl, rtmp, gssapi, ldap, ...).
pkgs=(libsodium-dev libsqlite3-dev libsqlitecpp-dev libcpp-httplib-dev libssl-dev
  libbrotli-dev zlib1g-dev libcurl4-openssl-dev libboost-test-dev libtomlplusplus-dev
  libzxcvbn-dev libutf8proc-dev nlohmann-json3-dev libcli11-dev libldap-dev libfido2-dev)
# Provided by crossbuild-essential-armhf under /usr/arm-linux-gnueabihf; a second copy
# in the sysroot would mix two C/C++ runtimes.
skip='^(libc6|libc6-dev|libc-dev-bin|libgcc-s1|libgcc-12-dev|libstdc\+\+6|libstdc\+\+-12-dev|gcc-12-base|linux-libc-dev|libcrypt1|libcrypt-dev|libnsl-dev|libnsl2|libtirpc.*|rpcsvc-proto|libasan8|libubsan1|libgomp1|libatomic1)$'

stamp="$SYSROOT/.resetd-sysroot"
want="$(printf '%s\n' "${pkgs[@]}" | sort | tr '\n' ' ') skip=$skip"

host_missing=()
for p in crossbuild-essential-armhf qemu-user; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || host_missing+=("$p")
done
if [ ${#host_missing[@]} -gt 0 ]; then
  echo "== armhf: installing ${host_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${host_missing[@]}" >/dev/null
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "== armhf: sysroot $SYSROOT is ready"
  exit 0
fi

echo "== armhf: downloading .debs into $APTDIR"
mkdir -p "$APTDIR"/{sources.list.d,state/lists/partial,cache/archives/partial,preferences.d}
: > "$APTDIR/status"
# Same mirror as the host, minus the security suite (its armhf index fails here).
cat > "$APTDIR/sources.list.d/debian.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_priv=(-o APT::Architecture=armhf -o APT::Architectures::=armhf
  -o Dir::State="$APTDIR/state" -o Dir::State::status="$APTDIR/status"
  -o Dir::Cache="$APTDIR/cache" -o Dir::Etc::SourceList=/dev/null
  -o Dir::Etc::SourceParts="$APTDIR/sources.list.d" -o Dir::Etc::Preferences=/dev/null
  -o Dir::Etc::PreferencesParts="$APTDIR/preferences.d"
  -o APT::Install-Recommends=false -o Debug::NoLocking=true)
apt-get "${apt_priv[@]}" update -qq
# With an empty status file apt resolves the whole dependency closure.
apt-get "${apt_priv[@]}" install -y -qq --download-only "${pkgs[@]}" >/dev/null

echo "== armhf: unpacking into $SYSROOT"
rm -rf "$SYSROOT"
mkdir -p "$SYSROOT"
n=0
for deb in "$APTDIR"/cache/archives/*.deb; do
  name=$(dpkg-deb -f "$deb" Package)
  if [[ $name =~ $skip ]]; then continue; fi
  dpkg-deb -x "$deb" "$SYSROOT"
  n=$((n + 1))
done
# -dev symlinks that point at absolute paths (/lib/...) must point into the sysroot.
find "$SYSROOT" -type l -lname '/*' | while read -r l; do
  ln -sfn "$SYSROOT$(readlink "$l")" "$l"
done
echo "$want" > "$stamp"
echo "== armhf: $n packages unpacked; sysroot $(du -sh "$SYSROOT" | cut -f1)"
