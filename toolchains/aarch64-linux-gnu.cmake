# Cross build for 64-bit ARM (Debian arm64) against the multiarch :arm64 -dev
# packages that toolchains/prepare-arm64.sh installs. Tests run under qemu-aarch64;
# no -L: libc6:arm64 is installed, and -L /usr/aarch64-linux-gnu would mix two libc
# builds (qemu hangs).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_STRIP aarch64-linux-gnu-strip CACHE FILEPATH "")
set(PKG_CONFIG_EXECUTABLE aarch64-linux-gnu-pkg-config CACHE FILEPATH "")

# Programs (cmake, python) come from the host; libraries, headers and CMake
# package configs only from the arm64 side.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)

# For CPack: the Debian architecture of the package
set(RESETD_DEB_ARCH arm64)
