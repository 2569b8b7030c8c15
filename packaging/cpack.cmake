# Debian package of resetd (CPack DEB), for amd64 (native) and for arm64 / armhf (cross:
# the toolchain file sets RESETD_DEB_ARCH). Included from the top CMakeLists.txt only
# with -DRESETD_PACKAGING=ON, so normal builds get no install rules outside bin/.
#
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DRESETD_PACKAGING=ON -DRESETD_BUILD_TESTS=OFF
#   cmake --build build-pkg -j2 && (cd build-pkg && cpack -G DEB)   -> resetd_<ver>_<arch>.deb
#
# Layout: /usr/bin/resetd, /etc/resetd/resetd.toml (conffile),
# /lib/systemd/system/resetd.service, man pages resetd(8) and resetd.toml(5),
# /usr/share/doc/resetd/{copyright,changelog.gz}; postinst makes user resetd and runs
# first boot. lintian: 0 errors, 0 warnings (tests/packaging/deb_install_test.sh).
set(_pkg ${CMAKE_CURRENT_LIST_DIR})
set(RESETD_DEB_MAINTAINER "resetd maintainers <resetd@example.org>" CACHE STRING
    "Maintainer field of the .deb (set your organisation's contact)")

# Man pages and the changelog, gzipped (-n: no name or time stamp, reproducible).
set(_man ${CMAKE_BINARY_DIR}/man)
string(TIMESTAMP _changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)  # SOURCE_DATE_EPOCH when set
configure_file(${_pkg}/debian/changelog.in ${_man}/changelog @ONLY)
set(_gz)
foreach(src resetd.8 resetd.toml.5 changelog)
  if(src STREQUAL changelog)
    set(_in ${_man}/changelog)
  else()
    set(_in ${_pkg}/man/${src})
  endif()
  add_custom_command(OUTPUT ${_man}/${src}.gz COMMAND gzip -9nc ${_in} > ${_man}/${src}.gz
                     DEPENDS ${_in} VERBATIM)
  list(APPEND _gz ${_man}/${src}.gz)
endforeach()
add_custom_target(resetd_docs ALL DEPENDS ${_gz})
install(FILES ${_man}/resetd.8.gz DESTINATION share/man/man8 PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_man}/resetd.toml.5.gz DESTINATION share/man/man5 PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_man}/changelog.gz ${_pkg}/debian/copyright DESTINATION share/doc/resetd
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(FILES ${_pkg}/resetd.toml DESTINATION /etc/resetd PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_pkg}/resetd.service DESTINATION /lib/systemd/system PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME resetd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "password-reset service for on-prem appliances")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "On-site IT resets a user's password on the appliance's local web page or\nJSON API and gets the new credentials to the user through the site's mail\nrelay. Argon2id hashes, one SQLite database in /var/lib/resetd.")
set(CPACK_PACKAGE_CONTACT "${RESETD_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_pkg}/debian/conffiles ${_pkg}/debian/postinst ${_pkg}/debian/prerm ${_pkg}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Used by the maintainer scripts (adduser, runuser). deb-systemd-helper comes from
# init-system-helpers, which is Essential: no dependency on it (lintian).
set(_script_deps "adduser, util-linux (>= 2.32)")
if(CMAKE_CROSSCOMPILING)
  # dpkg-shlibdeps cannot read a foreign architecture's binary here: the list below is
  # what it computes for the amd64 build (same Debian 12 libraries), with the probe's
  # libcurl4, libldap-2.5-0 and libfido2-1 (dlopen()ed, see below); keep them in step.
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${RESETD_DEB_ARCH})
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libbrotli1 (>= 0.6.0), libcpp-httplib0.11 (>= 0.11.4+ds), libcurl4 (>= 7.16.2), libfido2-1 (>= 1.6.0), libgcc-s1 (>= 3.0), libldap-2.5-0 (>= 2.5.4), libsodium23 (>= 1.0.14), libsqlite3-0 (>= 3.14.0), libssl3 (>= 3.0.0), libstdc++6 (>= 12), libtomlplusplus3 (>= 3.2.0), libutf8proc2 (>= 1.3), libzxcvbn0 (>= 0.20150103), zlib1g (>= 1:1.1.4), ${_script_deps}")
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # libcurl (the SMTP/webhook relays), libldap (the directory) and libfido2 (security
  # keys) are dlopen()ed, so dpkg-shlibdeps does not see them in resetd. It is asked
  # about a probe linked against all three instead: package names and versions come from the libraries' own
  # shlibs/symbols data, no soname or package name written here.
  set(_probe ${CMAKE_BINARY_DIR}/dlopen-deps)
  file(MAKE_DIRECTORY ${_probe}/debian)
  file(WRITE ${_probe}/debian/control "")
  # The probe refers to each libfido2 function resetd resolves (the table in
  # webauthn/src/fido_lazy.h), so the version is the one those functions need
  # (1.6.0), not the library's oldest.
  file(READ ${PROJECT_SOURCE_DIR}/firmware-app/webauthn/src/fido_lazy.h _fido_h)
  string(REGEX MATCHALL "X\\((fido|es256)_[a-z0-9_]+\\)" _fido_fns "${_fido_h}")
  list(TRANSFORM _fido_fns REPLACE "^X\\((.*)\\)$" "\\1")
  if(NOT _fido_fns)
    message(FATAL_ERROR "no libfido2 functions found in fido_lazy.h")
  endif()
  set(_probe_c "")
  foreach(fn ${_fido_fns})
    string(APPEND _probe_c "extern void ${fn}(void);\n")
  endforeach()
  list(JOIN _fido_fns ", " _fido_list)
  string(APPEND _probe_c "void (*const used[])(void) = {${_fido_list}};\n"
                         "int main(void) { return used[0] == 0; }\n")
  file(WRITE ${_probe}/probe.c "${_probe_c}")
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -x c probe.c -o probe -Wl,--no-as-needed -lcurl -lldap -lfido2 -Wl,--as-needed
                  WORKING_DIRECTORY ${_probe} RESULT_VARIABLE _rc ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "cannot link the libcurl/libldap/libfido2 probe: ${_err}")
  endif()
  execute_process(COMMAND dpkg-shlibdeps -O probe WORKING_DIRECTORY ${_probe}
                  OUTPUT_VARIABLE _shl RESULT_VARIABLE _rc ERROR_VARIABLE _err OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE "^shlibs:Depends=" "" _shl "${_shl}")
  string(REPLACE ", " ";" _shl "${_shl}")
  list(FILTER _shl EXCLUDE REGEX "^libc6 ")   # resetd's own shlibdeps names libc6
  list(JOIN _shl ", " _dlopen_deps)
  if(NOT _rc EQUAL 0 OR NOT _dlopen_deps MATCHES "libcurl" OR NOT _dlopen_deps MATCHES "libldap"
     OR NOT _dlopen_deps MATCHES "libfido2")
    message(FATAL_ERROR "dpkg-shlibdeps on the probe: '${_dlopen_deps}' ${_err}")
  endif()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_dlopen_deps}, ${_script_deps}")
endif()

include(CPack)

# The package test's "next version" (never installed by this package): resetd with one
# more schema migration (storage/CMakeLists.txt: migrations_next.cpp), linked from the
# same objects, so tests/packaging/systemd_test.sh can upgrade and downgrade over data
# across a real schema change. Its migrations() wins over the archive's: the archive
# member is never pulled in.
if(NOT CMAKE_CROSSCOMPILING)
  add_executable(resetd_next ${CMAKE_BINARY_DIR}/storage/migrations_next.cpp $<TARGET_OBJECTS:resetd>)
  target_include_directories(resetd_next PRIVATE ${PROJECT_SOURCE_DIR}/storage/src)
  target_link_libraries(resetd_next PRIVATE $<TARGET_PROPERTY:resetd,LINK_LIBRARIES>)
endif()

# tests/packaging: build this .deb, install it into a chroot, run it, purge it (root).
if(NOT CMAKE_CROSSCOMPILING)
  enable_testing()
  add_test(NAME packaging_deb
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/packaging/deb_install_test.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(packaging_deb PROPERTIES LABELS packaging TIMEOUT 900 RUN_SERIAL ON)
  # The packaged binary carries no test hook (RESETD_TEST_HOOKS stays OFF here).
  add_test(NAME packaging_no_test_hooks
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/packaging/no_test_hooks.sh $<TARGET_FILE:resetd>)
  set_tests_properties(packaging_no_test_hooks PROPERTIES LABELS packaging TIMEOUT 120)
  # The same package under a live systemd (systemd-nspawn -b): start, watchdog,
  # restart, upgrade/downgrade over data with resetd_next, remove, purge.
  add_test(NAME packaging_systemd
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/packaging/systemd_test.sh ${CMAKE_BINARY_DIR}
                   $<TARGET_FILE:resetd_next>)
  set_tests_properties(packaging_systemd PROPERTIES LABELS packaging TIMEOUT 900 RUN_SERIAL ON
                       DEPENDS packaging_deb)
endif()
