#!/usr/bin/env bash
# Checks that C sources match the tree's .clang-format, or with --fix
# reformats them in place.
#
#   deploy/format.sh [--fix] [PATH...]
#
# PATHs are files or directories; without any, the whole tree. Only files in
# git are looked at (build/ is not in git, and generated code -- protoc-c's
# -- is never committed); paths in VG_FORMAT_EXCLUDE below are skipped
# (nothing is vendored today: add it there when something is). The check
# is `clang-format --dry-run -Werror` per file and fails listing every file
# that differs, with the command that fixes them. Formatting differs between
# clang-format versions: CI uses Debian 12's (14); the version in use is
# printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VG_FORMAT_EXCLUDE=()

fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi
if ! command -v clang-format >/dev/null 2>&1; then
  echo "format: clang-format not found: install it (Debian: apt-get install clang-format)" >&2
  exit 1
fi
if [ "$#" -eq 0 ]; then
  set -- .
fi

files=()
while IFS= read -r f; do
  skip=0
  for x in "${VG_FORMAT_EXCLUDE[@]}"; do
    case "$f" in "$x" | "$x"/*) skip=1 ;; esac
  done
  if [ "$skip" -eq 0 ]; then
    files+=("$f")
  fi
done < <(git ls-files -- "$@" | grep -E '\.[ch]$' || true)

if [ "${#files[@]}" -eq 0 ]; then
  echo "format: no C files in git under: $*" >&2
  exit 1
fi

version="$(clang-format --version | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p')"
if [ "$fix" -eq 1 ]; then
  clang-format -i "${files[@]}"
  echo "format: ${#files[@]} files formatted with clang-format ${version}"
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "format: ${#bad[@]} of ${#files[@]} files do not match .clang-format" \
    "(clang-format ${version}):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "format: fix them with: deploy/format.sh --fix ${bad[*]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files match .clang-format (clang-format ${version})"
