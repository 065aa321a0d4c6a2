#!/usr/bin/env bash
# Create (once) and reuse the project's virtual environment, then print its path.
#
# Used by run_all.sh and run_tests.sh so that both work on a fresh machine that has only
# Python 3.10+. Packages come from pyproject.toml (the single source of truth for pip);
# the environment is reinstalled only when pyproject.toml changes (hash stamp).
#   JDFD_VENV    where the environment lives (default: .venv in the repository root)
#   JDFD_PYTHON  the interpreter used to create it (default: first python3.1x found)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JDFD_VENV:-$ROOT/.venv}"

find_python() {
    if [[ -n "${JDFD_PYTHON:-}" ]]; then echo "$JDFD_PYTHON"; return; fi
    for cand in python3 python3.13 python3.12 python3.11 python3.10; do
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
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
    echo "bootstrap: installing jdfd and its dependencies into $VENV (first run: several minutes)" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    # torch and torchvision are installed together, from one registry, before the rest:
    # a torchvision built for another torch fails to load its operators.
    "$VENV/bin/python" -m pip install --quiet "torch>=2.2" "torchvision>=0.17" >&2
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]" >&2
    echo "$WANT" > "$STAMP"
fi
echo "$VENV"
