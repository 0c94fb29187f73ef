#!/usr/bin/env bash
# The README's "test" command, for a fresh Debian 12 machine (and CI, via
# .ci/run): installs what is missing, checks the C formatting, then builds
# and runs the whole default test suite twice: the dev build, and the ASan +
# UBSan build (the web console's browser tests included: chromium, node and
# npm are installed too, the npm packages by the tests into the build tree).
# Benchmarks (label "bench") and the long fault variants (label "long") are
# not part of it: run them with `ctest --test-dir build/dev -L long` or
# `-L bench`.
# Last, the release preset (what the run command uses) is built as well.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/deps.sh
source deploy/deps.sh

VG_DEB_PACKAGES+=(clang-format) # the format check below; not needed to run vigil
vg_install_deps
vg_install_browser_deps

# Format: clang-format --dry-run -Werror (deploy/format.sh) over every C file
# in git; `bash deploy/format.sh --fix FILE...` fixes what it names.
echo "=== format ==="
bash deploy/format.sh

for preset in dev asan; do
  echo "=== $preset ==="
  cmake --preset "$preset"
  cmake --build "build/$preset" -j"$(nproc)"
  ctest --preset "$preset" --label-exclude 'bench|long'
done
# The run command builds the release preset: optimised builds warn about
# things -O0 does not see (-Wformat-truncation, -Wmaybe-uninitialized), and
# warnings are errors, so prove it builds too.
echo "=== release (build only) ==="
cmake --preset release
cmake --build build/release -j"$(nproc)"
echo "test: format checked; dev and asan suites passed; release builds"
