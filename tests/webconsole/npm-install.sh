#!/usr/bin/env bash
# npm-install.sh DEST — installs the browser tests' npm packages
# (puppeteer-core, @axe-core/puppeteer, axe-core; exact versions and hashes
# in package-lock.json) into DEST/node_modules with `npm ci`, once per lock
# file: ctest runs it as the browser tests' setup (webconsole_npm), in the
# build tree, never in the source tree. No browser is downloaded: the tests
# drive Debian's chromium (puppeteer-core has no download step, and
# .npmrc's legacy-peer-deps keeps npm from adding the full puppeteer that
# @axe-core/puppeteer names as a peer).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:?usage: npm-install.sh DEST}
stamp="$dest/node_modules/.vigil-package-lock.json"
if [ -f "$stamp" ] && cmp -s "$src/package-lock.json" "$stamp"; then
  echo "npm: $dest/node_modules is up to date with package-lock.json"
  exit 0
fi
command -v npm >/dev/null || { echo "npm: not found (bash deploy/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$dest/"
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
cp "$src/package-lock.json" "$stamp"
echo "npm: installed $(cd "$dest" && node -e 'const l=require("./package-lock.json");console.log(Object.keys(l.packages).length-1)') packages into $dest/node_modules"
