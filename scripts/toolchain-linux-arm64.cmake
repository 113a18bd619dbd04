# Cross-compiles the addon for linux-arm64 (glibc) on an x86-64 Debian/Ubuntu machine with the
# aarch64-linux-gnu toolchain (apt-get install g++-aarch64-linux-gnu): used by
# `npm run build:prebuild -- --arch=arm64`. Node-API needs no target Node.js to link against.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# BOTH: Eigen (headers only, the same for every architecture) may come from the build machine.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
