#!/usr/bin/env sh
# Set up Sontra in ./.venv (creating it if needed) and then either serve or test.
#   ./bootstrap.sh serve [sontra serve options]   run the single-node service on embedded defaults
#   ./bootstrap.sh test  [pytest options]         run the whole test suite
set -eu
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV="${SONTRA_VENV:-.venv}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: Python 3.11 or newer is required as '$PYTHON' (set PYTHON=...)" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        # Debian ships venv/ensurepip separately; install it when we are allowed to.
        rm -rf "$VENV"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            apt-get update -qq && (apt-get install -y -qq "python${ver}-venv" || apt-get install -y -qq python3-venv)
            "$PYTHON" -m venv "$VENV"
        else
            echo "bootstrap: '$PYTHON -m venv' failed; install Debian's python3-venv (apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi
stamp="$VENV/.sontra-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[test]'
    touch "$stamp"
fi

mode="${1:-}"
[ $# -gt 0 ] && shift
case "$mode" in
    serve) exec "$VENV/bin/sontra" serve "$@" ;;
    test)  exec "$VENV/bin/python" -m pytest "$@" ;;
    *) echo "usage: ./bootstrap.sh serve|test [options]" >&2; exit 2 ;;
esac
