#!/usr/bin/env bash
# Create (once) and reuse the project's virtual environment, then print its path.
#
# Used by run_all.sh and run_tests.sh so that both work on a fresh machine that has only
# Python 3.11 (3.10+ with JDFD_CONSTRAINTS=). Packages come from pyproject.toml (the single
# source of truth for pip), at the exact versions of constraints.txt (the environment that
# produced the committed results; pip install -c). The environment is reinstalled only when
# pyproject.toml, constraints.txt or this script changes (hash stamp).
#   JDFD_VENV         where the environment lives (default: .venv in the repository root)
#   JDFD_PYTHON       the interpreter used to create it (default: python3.11, else the first
#                     python3.1x found; the pins in constraints.txt were resolved for 3.11)
#   JDFD_CONSTRAINTS  pip constraints file (default: constraints.txt in the repository root;
#                     set it empty to take the newest versions pyproject.toml allows)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JDFD_VENV:-$ROOT/.venv}"
CONSTRAINTS="${JDFD_CONSTRAINTS-$ROOT/constraints.txt}"
PIN=()
if [[ -n "$CONSTRAINTS" ]]; then PIN=(-c "$CONSTRAINTS"); fi

find_python() {
    if [[ -n "${JDFD_PYTHON:-}" ]]; then echo "$JDFD_PYTHON"; return; fi
    for cand in python3.11 python3 python3.13 python3.12 python3.10; do
        if command -v "$cand" >/dev/null 2>&1 &&
            "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
            echo "$cand"; return
        fi
    done
    echo "bootstrap: no Python >= 3.10 found (set JDFD_PYTHON)" >&2
    exit 1
}

if [[ ! -x "$VENV/bin/python" ]]; then
    PY="$(find_python)"
    echo "bootstrap: creating virtual environment $VENV with $PY" >&2
    "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.jdfd-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/bootstrap.sh" ${CONSTRAINTS:+"$CONSTRAINTS"} |
    sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
    echo "bootstrap: installing jdfd and its dependencies into $VENV (first run: several minutes)" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade "${PIN[@]}" pip >&2
    # torch and torchvision are installed together, from one registry, before the rest:
    # a torchvision built for another torch fails to load its operators.
    "$VENV/bin/python" -m pip install --quiet "${PIN[@]}" "torch>=2.2" "torchvision>=0.17" >&2
    "$VENV/bin/python" -m pip install --quiet "${PIN[@]}" -e "$ROOT[dev]" >&2
    echo "$WANT" > "$STAMP"
fi
echo "$VENV"
