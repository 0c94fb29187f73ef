#!/usr/bin/env bash
# The README's "run" command, for a fresh Debian 12 machine: installs what
# is missing, builds the release preset, creates a local network in ./net
# (once: it is kept between runs) and checks it end to end with
# 'vigilctl check' (keys, configs, and a sealed demo alert between every pair
# of agencies). Later issues make it start the broker and the agents.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/deps.sh
source deploy/deps.sh

vg_install_deps
cmake --preset release -DVG_BUILD_TESTS=OFF  # the run needs no tests
cmake --build build/release -j"$(nproc)" --target vigilctl

vigilctl=build/release/bin/vigilctl
if [ -e net ]; then
  echo "run: using the existing network in ./net (remove ./net to start afresh)"
else
  "$vigilctl" init net --agencies police,licensing,childrens-services,home-office \
    --oversight oversight
fi
"$vigilctl" check net
