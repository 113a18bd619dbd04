#!/usr/bin/env bash
# Usage: scripts/apt-need.sh <debian-package>...
# Installs the given Debian/Ubuntu packages with apt-get (through sudo when not root); nothing to
# do without arguments. The callers (setup.sh, scripts/arm64-root.sh) decide what is missing.
set -euo pipefail
[ $# -gt 0 ] || exit 0
echo "apt-need: installing $*"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "apt-need: need root or sudo to install $*" >&2; exit 1; }
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
