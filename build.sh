#!/usr/bin/env bash
# resetd's two commands (see README "Quick start"), for a fresh Debian 12 as root:
#   bash build.sh run    install what is missing, build, run the service on its defaults
#   bash build.sh test   install what is missing, build, run the whole test suite
# Options via environment: BUILD_DIR (default ./build), JOBS (default: nproc),
# DATA_DIR for run (default ./data), LISTEN for run (default 127.0.0.1:8443).
# test also builds and checks the Debian package (build-pkg, PKG_BUILD_DIR) and runs the
# ARM stage (toolchains/ci-arm.sh: build-arm64, build-armhf); SKIP_ARM=1 leaves both out.
# SKIP_HOST_STAGES=1 stops test right after ctest: every heavier stage after it (packaging,
# ARM, and whatever is added after ctest) is left out; .ci/fresh-machine.sh sets it, since
# those stages run on the CI host. CTEST_EXCLUDE_LABELS=REGEX is passed to ctest -LE,
# CTEST_LABELS=REGEX to ctest -L (only those labels).
# After the host tests, test also runs the sanitizer builds (tests/sanitize/run.sh:
# build-asan, build-tsan) and a short run of every fuzz target (tests/fuzz/run.sh,
# build-fuzz; FUZZ_SECONDS each, default 20). SKIP_HOST_STAGES=1 stops after the host
# tests (no sanitizer, fuzz, packaging or ARM stage).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
cmd=${1:-}
BUILD_DIR=${BUILD_DIR:-$here/build}
JOBS=${JOBS:-$(nproc)}

build_pkgs=(build-essential cmake pkgconf libcpp-httplib-dev libsqlitecpp-dev libsqlite3-dev
  libsodium-dev libboost-test-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev
  libcli11-dev libtomlplusplus-dev libzxcvbn-dev libutf8proc-dev zlib1g-dev ca-certificates
  libldap-dev libbrotli-dev libfido2-dev)
test_pkgs=(postfix python3 python3-pytest python3-aiosmtpd python3-cryptography openssl chromium fonts-wqy-zenhei faketime curl
  nginx caddy pamtester libpam-modules libpam-runtime passwd util-linux wrk strace clang libclang-rt-14-dev slapd ldap-utils
  samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind krb5-user python3-samba iproute2
  oathtool zbar-tools rsyslog rsyslog-gnutls ccache)
# Only the packaging stage (CI host) needs these: the fresh machine's test run leaves them out.
pkg_pkgs=(systemd-container lintian man-db)

# Installs the Debian packages that are not installed yet (one apt-get update).
install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # postfix: we only use its smtp-sink test relay, never the daemon
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  # slapd: only the binary for the directory tests (they build their own
  # cn=config in a temp dir); no system configuration, no daemon.
  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build ON|OFF: the test hooks (RESETD_TEST_HOOKS) only in the test build; run builds
# without them. Both ways explicit, so one BUILD_DIR switches (one file recompiles).
# ccache, where installed (test installs it), keeps a rebuild short; .ci/run points it at a
# cache kept on the CI machine (CCACHE_DIR, CCACHE_BASEDIR). Same objects either way.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
build() {
  echo "== building in $BUILD_DIR (test hooks $1)"
  cmake -S "$here" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" -DRESETD_TEST_HOOKS="$1" >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "$cmd" in
  run)
    install_missing "${build_pkgs[@]}"
    build OFF
    DATA_DIR=${DATA_DIR:-$here/data}
    echo "== starting resetd (data dir $DATA_DIR); stop with Ctrl-C"
    exec "$BUILD_DIR/firmware-app/resetd" serve --data-dir "$DATA_DIR" --listen "${LISTEN:-127.0.0.1:8443}"
    ;;
  test)
    # Node.js: a node and npm already on the machine are used (newer is fine); otherwise
    # Debian's nodejs (18.x) and npm (a separate package), which the pinned browser test
    # packages accept. One install, one apt-get update.
    node_pkgs=()
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then node_pkgs=(nodejs npm); fi
    install_missing "${build_pkgs[@]}" "${test_pkgs[@]}" "${node_pkgs[@]}"
    (cd tests/browser && npm install --no-audit --no-fund --loglevel=error)
    build ON
    echo "== running the tests"
    sel=()
    [ -n "${CTEST_EXCLUDE_LABELS:-}" ] && sel+=(-LE "$CTEST_EXCLUDE_LABELS")
    [ -n "${CTEST_LABELS:-}" ] && sel+=(-L "$CTEST_LABELS")
    (cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" --timeout 900 "${sel[@]}")
    # Every stage after ctest goes below this line (SKIP_HOST_STAGES leaves them all out).
    [ "${SKIP_HOST_STAGES:-0}" = 1 ] && { echo "== SKIP_HOST_STAGES=1: stages after ctest left out"; exit 0; }
    t=$(date +%s)
    echo "== sanitizers: ASan+UBSan and TSan builds (build-asan, build-tsan)"
    JOBS=$JOBS bash tests/sanitize/run.sh all
    echo "== sanitizers done in $(( $(date +%s) - t )) s"
    t=$(date +%s)
    echo "== fuzz: every target ${FUZZ_SECONDS:-20} s (build-fuzz)"
    JOBS=$JOBS bash tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"
    echo "== fuzz done in $(( $(date +%s) - t )) s"
    [ "${SKIP_ARM:-0}" = 1 ] && exit 0
    t=$(date +%s)
    PKG_BUILD_DIR=${PKG_BUILD_DIR:-$here/build-pkg}
    install_missing "${pkg_pkgs[@]}"
    echo "== packaging: amd64 .deb: lintian, a chroot, and a live systemd in systemd-nspawn ($PKG_BUILD_DIR)"
    cmake -S "$here" -B "$PKG_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DRESETD_BUILD_TESTS=OFF "${launcher[@]}" \
      -DRESETD_PACKAGING=ON -DRESETD_TEST_HOOKS=OFF >/dev/null
    cmake --build "$PKG_BUILD_DIR" -j "$JOBS" >"$PKG_BUILD_DIR/build.log" 2>&1 \
      || { tail -50 "$PKG_BUILD_DIR/build.log"; exit 1; }
    (cd "$PKG_BUILD_DIR" && ctest -L packaging --output-on-failure --timeout 900)
    echo "== packaging done in $(( $(date +%s) - t )) s"
    JOBS=$JOBS bash toolchains/ci-arm.sh
    ;;
  *)
    echo "usage: bash build.sh run|test" >&2
    exit 2
    ;;
esac
