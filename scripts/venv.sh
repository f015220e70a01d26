#!/usr/bin/env bash
# Creates ./.venv when missing and installs the project into it (editable).
#   scripts/venv.sh          the app:               pip install -e .
#   scripts/venv.sh test     the app and test tools: pip install -e ".[test]"
# Reinstalls only when pyproject.toml changed since the last install of that kind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

kind="${1:-app}"
case "$kind" in
    app) target="." ;;
    test) target=".[test]" ;;
    *) die "usage: scripts/venv.sh [app|test]" ;;
esac
python="${PYTHON:-python3}"
venv=".venv"
stamp="$venv/.siyu-installed-$kind"

if [ ! -x "$venv/bin/python" ]; then
    command -v "$python" >/dev/null 2>&1 || die "$python not found: install Python 3.11 or newer"
    say "creating $venv"
    if ! "$python" -m venv "$venv"; then
        # Debian's Python ships venv without ensurepip; python3-venv brings it.
        rm -rf "$venv"
        say "python venv support missing; installing python3-venv"
        bash "$(dirname "$0")/system-deps.sh" python3-venv
        "$python" -m venv "$venv"
    fi
fi

is_fresh() { [ -f "$1" ] && [ ! pyproject.toml -nt "$1" ]; }
# The test install is a superset of the app install.
if ! is_fresh "$stamp" && ! { [ "$kind" = app ] && is_fresh "$venv/.siyu-installed-test"; }; then
    say "installing $target into $venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -e "$target"
    touch "$stamp"
fi
