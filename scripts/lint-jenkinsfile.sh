#!/usr/bin/env bash
# Lint the Jenkinsfile with a real Groovy linter: npm-groovy-lint (CodeNarc, and Groovy's own
# parser for syntax errors), failing on errors; warnings and infos are printed, not fatal.
#
#   scripts/lint-jenkinsfile.sh [FILE]   FILE defaults to the repository's Jenkinsfile
#
# What it needs is installed when missing, never skipped: Debian's nodejs, npm and
# openjdk-17-jre-headless (as root, like scripts/engine.sh; otherwise it says what to install
# and fails), and npm-groovy-lint 14 (version 15 on needs Node 22; 14 runs on Debian's Node 18
# and 20 and on the machine's Java 17) into $RELEASE_LINT_CACHE (default .state/npm-groovy-lint,
# git-ignored), once. The file is linted alone in a scratch folder (npm-groovy-lint lints the
# folder it runs in), and a run that linted no file is a failure: with --noserver some
# versions report "0 linted files" and pass (npm-groovy-lint issue 290).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${RELEASE_LINT_CACHE:-$here/.state/npm-groovy-lint}
version=14
file=${1:-$here/Jenkinsfile}

java_major() {
  # `openjdk version "17.0.15" 2025-04-15` → 17; `"1.8.0_392"` → 8
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -1)
  v=${v#1.}
  echo "${v%%[._]*}"
}

need_install() {
  local missing=()
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
    missing+=(openjdk-17-jre-headless)
  fi
  echo "${missing[@]:-}"
}

install_tools() {
  local missing
  missing=$(need_install)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "lint-jenkinsfile: missing Debian packages: $missing" >&2
    echo "install them as root: sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "lint-jenkinsfile: installing $missing" >&2
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

install_linter() {
  local installed="$cache/node_modules/npm-groovy-lint/package.json"
  if [ -f "$installed" ] && grep -q "\"version\": \"$version\." "$installed"; then
    return 0
  fi
  mkdir -p "$cache"
  echo "lint-jenkinsfile: installing npm-groovy-lint@$version into $cache" >&2
  (
    flock 9  # two runs at once install once
    [ -f "$installed" ] && grep -q "\"version\": \"$version\." "$installed" && exit 0
    npm install --prefix "$cache" --no-audit --no-fund --loglevel=error \
      "npm-groovy-lint@$version" >&2
  ) 9>"$cache.lock"
}

[ -f "$file" ] || { echo "lint-jenkinsfile: no such file: $file" >&2; exit 1; }
install_tools
install_linter

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$file" "$work/Jenkinsfile"
rc=0
out=$(cd "$work" && FORCE_COLOR=0 "$cache/node_modules/.bin/npm-groovy-lint" --noserver \
  --output txt --failon error --loglevel warning 2>&1) || rc=$?
printf '%s\n' "$out" | sed "s#$work/##"
if ! grep -q "results in 1 linted file" <<<"$out"; then
  echo "lint-jenkinsfile: npm-groovy-lint linted no file; treating that as a failure" >&2
  exit 1
fi
[ "$rc" -eq 0 ] || echo "lint-jenkinsfile: $(basename "$file") has errors (above)" >&2
exit "$rc"
