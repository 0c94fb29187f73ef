#!/usr/bin/env bash
# Checks the systemd units with systemd-analyze verify, pointing ExecStart at
# the binaries in BIN_DIR (the installed path /usr/local/bin need not exist on
# a build machine). Any diagnostic fails the check. Usage: verify.sh BIN_DIR
set -euo pipefail
bin_dir=$(cd "${1:?usage: verify.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify: systemd-analyze not found (Debian package systemd): cannot check the units" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in vigil-broker.service vigil-broker@.service vigil-agent@.service vigil-gateway@.service; do
  sed "s|/usr/local/bin/|$bin_dir/|g" "$here/$unit" >"$tmp/$unit"
done
out=$(systemd-analyze verify --man=no "$tmp/vigil-broker.service" "$tmp/vigil-broker@a.service" \
  "$tmp/vigil-agent@licensing.service" "$tmp/vigil-gateway@licensing.service" 2>&1 || true)
if [ -n "$out" ]; then
  printf 'verify: systemd-analyze reported:\n%s\n' "$out" >&2
  exit 1
fi
echo "verify: vigil-broker.service, vigil-broker@.service, vigil-agent@.service and vigil-gateway@.service are valid"
