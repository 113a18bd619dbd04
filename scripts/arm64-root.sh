#!/usr/bin/env bash
# Makes what testing the linux-arm64 addon on an x86-64 Debian/Ubuntu machine needs: the
# aarch64-linux-gnu cross compiler, qemu-user (registered with binfmt_misc, so that the arm64
# programs the tests start run emulated too) and an arm64 Debian root with Node.js 20 in
# $METAGRAD_ARM64_ROOT (default ~/.cache/metagrad/arm64-root; about 350 MB, made once in about a
# minute). The root is not a chroot: the emulated node runs with QEMU_LD_PREFIX pointing at it and
# sees this machine's files. So the packages are only unpacked (debootstrap's first stage, then
# dpkg-deb -x of the rest), never configured: configuring them would run every maintainer script
# under emulation, which takes half an hour here. Installing packages, debootstrap and
# registering binfmt need root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
root="${METAGRAD_ARM64_ROOT:-$HOME/.cache/metagrad/arm64-root}"
# Debian 13 (trixie): its nodejs is 20.19, which mocha 12 and the CLI's dependencies need.
suite=trixie
mirror="${METAGRAD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

need=()
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
command -v update-binfmts >/dev/null 2>&1 || need+=(binfmt-support)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
scripts/apt-need.sh ${need[@]+"${need[@]}"}

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || "${sudo[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  "${sudo[@]}" update-binfmts --enable qemu-aarch64
fi
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "arm64-root: qemu-aarch64 is not enabled in binfmt_misc" >&2; exit 1; }

if [ -x "$root/usr/bin/node" ]; then
  echo "arm64-root: $root has $(QEMU_LD_PREFIX="$root" "$root/usr/bin/node" --version) (arm64, emulated)"
  exit 0
fi
mkdir -p "$(dirname "$root")"
rm -rf "$root.partial"
echo "arm64-root: debootstrap $suite arm64 with nodejs into $root"
"${sudo[@]}" debootstrap --foreign --arch arm64 --variant=minbase --include=nodejs "$suite" "$root.partial" "$mirror" >"$root.log" 2>&1 \
  || { tail -20 "$root.log"; echo "arm64-root: debootstrap failed (log: $root.log)" >&2; exit 1; }
for deb in "$root.partial"/var/cache/apt/archives/*.deb; do "${sudo[@]}" dpkg-deb -x "$deb" "$root.partial"; done
[ -x "$root.partial/usr/bin/node" ] || { echo "arm64-root: no usr/bin/node after unpacking (log: $root.log)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || "${sudo[@]}" chown -R "$(id -u):$(id -g)" "$root.partial"
mv "$root.partial" "$root"
echo "arm64-root: $root has $(QEMU_LD_PREFIX="$root" "$root/usr/bin/node" --version) (arm64, emulated)"
