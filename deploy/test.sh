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

# Format: clang-format --dry-run -Werror (deploy/format.sh). For now over the
# paths already reformatted; broker/ and some tests are being reshaped on
# other branches, and reformatting them now would only make conflicts. After
# the tree-wide reformat (deploy/format.sh --fix), call it with no paths.
VG_FORMAT_PATHS=(
  agents/cli agents/ctl agents/console agents/common agents/lib
  lib/include/vigil/clock.h lib/src/clock.c
  tests/unit/agents tests/unit/lib/test_clock.c tests/fuzz/fuzz_alert_json.c
  tests/integration/test_agent_cli.c tests/integration/test_agent_ack_cli.c
  tests/integration/test_agent_exec.c tests/integration/test_agent_toolkit.c
  tests/integration/test_ctl_init.c
  tests/integration/test_ctl_network.c tests/integration/test_ctl_check.c
)
echo "=== format ==="
bash deploy/format.sh "${VG_FORMAT_PATHS[@]}"

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
