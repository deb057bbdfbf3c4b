#!/bin/sh
# The pipeline's Setup stage: `release` installed from this checkout into a workspace venv,
# which the Jenkinsfile puts on PATH for the later stages.
#
#   scripts/agent-venv.sh [VENV]            (default .release-venv; run from the checkout)
#   scripts/agent-venv.sh --check [VENV]    say whether VENV would be reused; change nothing
#
# The venv is reused while pyproject.toml is unchanged (its sha256 is kept in a stamp file
# inside the venv): the dependencies stay, only the package itself is reinstalled, since
# its code changes with every commit. A changed pyproject.toml, a missing or unreadable
# stamp, or a venv without `release` means a new venv. Python: $RELEASE_PYTHON or python3.11.
set -eu

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
    shift
fi
venv="${1:-.release-venv}"
python="${RELEASE_PYTHON:-python3.11}"
stamp="$venv/.pyproject.sha256"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"

current() {
    [ -x "$venv/bin/release" ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]
}

if $check; then
    if current; then echo "current"; else echo "stale"; fi
    exit 0
fi

if current; then
    echo "setup: $venv is current (pyproject.toml unchanged): reinstalling the package only"
    "$venv/bin/pip" install --quiet --no-deps --force-reinstall .
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup: $python is needed on the agent (Python 3.11; set RELEASE_PYTHON to its path)" >&2
    exit 1
fi
echo "setup: creating $venv with $python (pyproject.toml ${want%"${want#????????????}"})"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet .
printf '%s\n' "$want" > "$stamp"
"$venv/bin/release" --help >/dev/null
