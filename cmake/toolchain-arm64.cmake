# Cross-builds Escucha for arm64 (aarch64) Linux with Debian's cross compiler
# (crossbuild-essential-arm64) against a sysroot of Debian 12 arm64 packages
# unpacked into a folder. scripts/cross-arm64 makes the sysroot and passes it
# as ESCUCHA_ARM64_SYSROOT; docs/decisions/0019-arm64-cross-build.md says why a
# sysroot rather than :arm64 packages installed beside the amd64 ones.
#
#   cmake -S . -B build/arm64 -G Ninja --toolchain cmake/toolchain-arm64.cmake \
#         -DESCUCHA_ARM64_SYSROOT=/abs/path/to/sysroot
#
# Test programs run under qemu-aarch64-static (CMAKE_CROSSCOMPILING_EMULATOR),
# called directly with -L to the sysroot: no binfmt registration is needed.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT ESCUCHA_ARM64_SYSROOT AND DEFINED ENV{ESCUCHA_ARM64_SYSROOT})
  set(ESCUCHA_ARM64_SYSROOT "$ENV{ESCUCHA_ARM64_SYSROOT}")
endif()
if(NOT ESCUCHA_ARM64_SYSROOT OR NOT EXISTS "${ESCUCHA_ARM64_SYSROOT}/usr/include")
  message(FATAL_ERROR "ESCUCHA_ARM64_SYSROOT must name an unpacked arm64 sysroot (scripts/cross-arm64 makes one)")
endif()
# try_compile projects read this file again: hand them the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ESCUCHA_ARM64_SYSROOT)
set(ENV{ESCUCHA_ARM64_SYSROOT} "${ESCUCHA_ARM64_SYSROOT}")

set(CMAKE_SYSROOT "${ESCUCHA_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${ESCUCHA_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads only the sysroot's .pc files and prefixes their paths with it.
set(ENV{PKG_CONFIG_LIBDIR}
    "${ESCUCHA_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${ESCUCHA_ARM64_SYSROOT}/usr/lib/pkgconfig:${ESCUCHA_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${ESCUCHA_ARM64_SYSROOT}")

find_program(ESCUCHA_QEMU_AARCH64 qemu-aarch64-static)
if(ESCUCHA_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${ESCUCHA_QEMU_AARCH64};-L;${ESCUCHA_ARM64_SYSROOT}")
endif()
