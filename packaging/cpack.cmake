# Debian package of resetd (CPack DEB), for amd64 (native) and for arm64 / armhf (cross:
# the toolchain file sets RESETD_DEB_ARCH). Included from the top CMakeLists.txt only
# with -DRESETD_PACKAGING=ON, so normal builds get no install rules outside bin/.
#
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DRESETD_PACKAGING=ON -DRESETD_BUILD_TESTS=OFF
#   cmake --build build-pkg -j2 && (cd build-pkg && cpack -G DEB)   -> resetd_<ver>_<arch>.deb
#
# Layout: /usr/bin/resetd, /etc/resetd/resetd.toml (conffile),
# /lib/systemd/system/resetd.service; postinst makes user resetd and runs first boot.
set(_pkg ${CMAKE_CURRENT_LIST_DIR})

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
set(CPACK_PACKAGE_CONTACT "resetd maintainers <resetd@appliance.local>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_pkg}/debian/conffiles ${_pkg}/debian/postinst ${_pkg}/debian/prerm ${_pkg}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Used by the maintainer scripts (adduser, runuser); init-system-helpers provides
# deb-systemd-helper.
set(_script_deps "adduser, util-linux (>= 2.32), init-system-helpers")
if(CMAKE_CROSSCOMPILING)
  # dpkg-shlibdeps cannot read a foreign architecture's binary here: the list below is
  # what it computes for the amd64 build (same Debian 12 libraries); keep them in step.
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${RESETD_DEB_ARCH})
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libcpp-httplib0.11 (>= 0.11.4+ds), libcurl4 (>= 7.16.2), libgcc-s1 (>= 3.0), libldap-2.5-0 (>= 2.5.4), libsodium23 (>= 1.0.14), libsqlite3-0 (>= 3.14.0), libssl3 (>= 3.0.0), libstdc++6 (>= 12), libtomlplusplus3 (>= 3.2.0), libutf8proc2 (>= 1.3), libzxcvbn0 (>= 0.20150103), zlib1g (>= 1:1.1.4), ${_script_deps}")
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # libcurl is dlopen()ed by the SMTP/webhook relays, so dpkg-shlibdeps does
  # not see it: name it here.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.16.2), ${_script_deps}")
endif()

include(CPack)

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
endif()
