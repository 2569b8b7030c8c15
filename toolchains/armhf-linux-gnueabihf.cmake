# Cross build for 32-bit ARM (Debian armhf, ARMv7 hard float) against a private
# sysroot of unpacked armhf .debs (toolchains/prepare-armhf.sh); the C/C++ runtime
# comes from crossbuild-essential-armhf in /usr/arm-linux-gnueabihf.
#
#   -DRESETD_ARMHF_SYSROOT=/abs/path/build-armhf/sysroot   (default: <build dir>/sysroot)
#
# Note: upstream cpp-httplib does not support 32-bit platforms; Debian builds it for
# armhf and we build and test against that anyway (docs/development.md, "ARM builds").
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)

set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_STRIP arm-linux-gnueabihf-strip CACHE FILEPATH "")

# try_compile projects re-read this file from another directory: pass the sysroot
# through the environment and the platform variables.
if(NOT RESETD_ARMHF_SYSROOT)
  if(DEFINED ENV{RESETD_ARMHF_SYSROOT})
    set(RESETD_ARMHF_SYSROOT "$ENV{RESETD_ARMHF_SYSROOT}")
  else()
    set(RESETD_ARMHF_SYSROOT "${CMAKE_BINARY_DIR}/sysroot")
  endif()
endif()
set(ENV{RESETD_ARMHF_SYSROOT} "${RESETD_ARMHF_SYSROOT}")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RESETD_ARMHF_SYSROOT)
if(NOT EXISTS "${RESETD_ARMHF_SYSROOT}/usr/include/sodium.h")
  message(FATAL_ERROR "armhf sysroot missing at ${RESETD_ARMHF_SYSROOT}: run toolchains/prepare-armhf.sh")
endif()
set(_sr "${RESETD_ARMHF_SYSROOT}")
set(_libdirs "${_sr}/usr/lib/arm-linux-gnueabihf" "${_sr}/lib/arm-linux-gnueabihf")

# Headers, libraries and CMake package configs from the sysroot (and the cross
# runtime); programs from the host.
set(CMAKE_FIND_ROOT_PATH "${_sr}" /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host's pkg-config, confined to the sysroot's .pc files, with paths rewritten.
set(PKG_CONFIG_EXECUTABLE /usr/bin/pkg-config CACHE FILEPATH "")
set(ENV{PKG_CONFIG_LIBDIR} "${_sr}/usr/lib/arm-linux-gnueabihf/pkgconfig:${_sr}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_sr}")

# Debian keeps architecture-specific headers (openssl/opensslconf.h, ...) in
# /usr/include/<triplet>, which only a native compiler searches on its own. -idirafter
# keeps them behind the C/C++ runtime's own headers.
set(CMAKE_C_FLAGS_INIT "-idirafter ${_sr}/usr/include/arm-linux-gnueabihf")
set(CMAKE_CXX_FLAGS_INIT "-idirafter ${_sr}/usr/include/arm-linux-gnueabihf")

# The linker must find the libraries' own dependencies (libcurl -> nghttp2, ...),
# which are not on the cross compiler's default paths.
set(_rpl "")
foreach(d IN LISTS _libdirs)
  string(APPEND _rpl " -Wl,-rpath-link,${d}")
endforeach()
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_rpl}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_rpl}")

# Tests run under qemu-arm with the cross runtime as the loader prefix and the
# sysroot's libraries on the library path.
string(REPLACE ";" ":" _ldpath "${_libdirs}")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L /usr/arm-linux-gnueabihf -E "LD_LIBRARY_PATH=${_ldpath}")

set(RESETD_DEB_ARCH armhf)
