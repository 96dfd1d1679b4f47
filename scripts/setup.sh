#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install the package with its test
# tools. Re-running is cheap: nothing is reinstalled unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

is_suitable() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
    local candidates=()
    [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
    candidates+=(python3.13 python3.12 python3)
    # pyenv keeps versions outside PATH unless selected; look there too, newest first.
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    if [ -d "$root/versions" ]; then
        while IFS= read -r v; do candidates+=("$root/versions/$v/bin/python"); done \
            < <(ls "$root/versions" | grep -E '^3\.(1[2-9])(\.[0-9]+)*$' | sort -rV)
    fi
    for c in "${candidates[@]}"; do
        if command -v "$c" >/dev/null 2>&1 && is_suitable "$c"; then command -v "$c"; return 0; fi
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! is_suitable .venv/bin/python; then
    if ! py=$(find_python); then
        cat >&2 <<'MSG'
error: scaling-forecast needs Python >= 3.12, and none was found (tried $PYTHON, python3.13, python3.12, python3, ~/.pyenv/versions).
Install one, then run the same command again, for example:
  Debian/Ubuntu: sudo apt-get install python3.12 python3.12-venv
  pyenv:         pyenv install 3.12
  or name it:    PYTHON=/path/to/python3.12 make run
MSG
        exit 1
    fi
    echo "setup: creating .venv with $py ($("$py" --version))"
    rm -rf .venv
    "$py" -m venv .venv
fi

# The editable install is setuptools' strict mode: a tree of links to the source files under build/, which type
# checkers and editors follow (the default mode's import hook they cannot). It does not pick up modules added
# or removed later, so the stamp holds the list of package files and a changed list reinstalls.
stamp=.venv/.installed
files=$(find forecast models data -name '*.py' -o -name '*.toml' -o -name '*.csv' | sort | cksum)
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$(cat "$stamp")" != "$files" ]; then
    echo "setup: installing scaling-forecast and its test tools into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[test]" --config-settings editable_mode=strict
    echo "$files" > "$stamp"
fi
