#!/usr/bin/env bash
# Prepares this Debian 12 machine (as root) to cross-build resetd for arm64 and run
# the result under qemu: arm64 as a dpkg foreign architecture (multiarch), the cross
# compiler, qemu-user and the :arm64 -dev packages of build.sh's build_pkgs.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

pkgs=(crossbuild-essential-arm64 qemu-user pkgconf:arm64
  libcpp-httplib-dev:arm64 libsqlitecpp-dev:arm64 libsqlite3-dev:arm64 libsodium-dev:arm64
  libboost-test-dev:arm64 libcurl4-openssl-dev:arm64 libssl-dev:arm64
  libtomlplusplus-dev:arm64 libzxcvbn-dev:arm64 libutf8proc-dev:arm64 zlib1g-dev:arm64 libldap-dev:arm64
  libbrotli-dev:arm64 libfido2-dev:arm64
  nlohmann-json3-dev libcli11-dev)   # the last two are Architecture: all (headers only)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "== arm64: toolchain and packages already installed"; exit 0; }

echo "== arm64: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# other engineers share this machine: wait for their apt/dpkg instead of failing
apt_opts=(-o DPkg::Lock::Timeout=600)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "== arm64: ready"
