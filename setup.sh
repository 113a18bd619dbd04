#!/usr/bin/env bash
# Set-up of a checkout on a fresh Debian/Ubuntu machine: installs the system packages the native
# build needs (with sudo when not root), then installs and builds the package (npm ci runs the
# addon build and tsc). `./setup.sh && npm start` runs the default job; `npm test` runs the tests.
# CI (.ci/run) runs this same script, so the two cannot drift apart.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)   # node-gyp (check:gyp, check:package)
[ -f /usr/share/eigen3/cmake/Eigen3Config.cmake ] || [ -f /usr/lib/cmake/eigen3/Eigen3Config.cmake ] || need+=(libeigen3-dev)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)   # the distributed tests start their own
command -v openssl >/dev/null 2>&1 || need+=(openssl)             # a certificate for the TLS test
scripts/apt-need.sh ${need[@]+"${need[@]}"}

command -v node >/dev/null 2>&1 || { echo "setup: Node.js >= 20 with npm is required (https://nodejs.org)" >&2; exit 1; }
node --version
npm ci --no-audit --no-fund
