#!/usr/bin/env bash
# The whole test suite: unit tests, then the nbval checks of the executed demo notebooks,
# then every notebook run in JupyterLab in a headless browser.
#   ./run_tests.sh            everything (what CI runs)
#   ./run_tests.sh -k align   extra arguments go to the unit-test pytest run only
# The fast lane while coding, without the slow tests (rule in tests/conftest.py), ~40 s:
#   .venv/bin/python -m pytest tests -m "not slow" -n 2
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
VENV="$(scripts/bootstrap.sh)"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg PYTHONHASHSEED=0

echo "== lint (ruff)"
"$VENV/bin/ruff" check jdfd_lib tests benchmarks scripts notebooks

echo "== unit tests"
# two processes (CI has 2 cores); JDFD_TEST_WORKERS=0 runs them in this process.
# tests/browser/ is collected only when named (its conftest.py): the last step runs it.
"$VENV/bin/python" -m pytest tests -n "${JDFD_TEST_WORKERS:-2}" "$@"

if [[ $# -eq 0 ]]; then
    echo "== nbval: re-executing the demo notebooks and comparing their checked outputs"
    # Only cells tagged nbval-check-output (tables and metric summaries) are compared;
    # timings, progress bars and paths are not. The notebooks re-run the demo profile
    # end to end where its outputs are missing (fresh clone) and reuse them otherwise.
    # Progress bars are off here (TQDM_DISABLE, see jdfd_lib/core/progress.py): nbval reads a
    # cell's messages only once the cell has finished, and the widget messages of the bars of
    # a minutes-long cell overflow the kernel's message queue, dropping its final 'idle'
    # ("Timeout of 5 seconds exceeded waiting for output"). Per-epoch lines still show progress.
    #
    # nbval compares exactly only the machine-independent cells (data and extraction
    # summaries, which reproduce byte for byte). Trained numbers differ between processors
    # (CPU kernels round differently), so a fresh machine that retrains rewrites
    # results/demo/metrics.json with other values: those are compared after nbval against the
    # committed copy, within the spread the seeds show (jdfd_lib/reporting/reproduce.py).
    TMP="$(mktemp -d)"
    trap 'rm -rf "$TMP"' EXIT
    # the committed copy (./run_all.sh may have rewritten the file on disk already)
    git show HEAD:results/demo/metrics.json > "$TMP/metrics.json" 2>/dev/null ||
        cp results/demo/metrics.json "$TMP/metrics.json"
    NBVAL=0
    TQDM_DISABLE=1 "$VENV/bin/python" -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
        --nbval-cell-timeout=1800 results/demo/notebooks || NBVAL=$?

    echo "== check-results: demo metrics against the committed ones, within the seeds' spread"
    CHECK=0
    "$VENV/bin/python" -m jdfd_lib check-results --expected "$TMP/metrics.json" \
        --actual results/demo/metrics.json || CHECK=$?
    if [[ $NBVAL -ne 0 || $CHECK -ne 0 ]]; then
        echo "run_tests: nbval exit $NBVAL, check-results exit $CHECK" >&2
        exit 1
    fi

    echo "== browser: every notebook run, saved and reopened in JupyterLab (headless Chromium)"
    # As a researcher meets them (issue 11): no tracebacks, no "Error displaying widget",
    # tables as HTML, every figure (tests/browser/test_jupyterlab.py). The demo's stages are
    # complete by now, so each notebook reuses them and takes seconds to a minute. The
    # browser is Debian's chromium with its chromedriver, installed here when missing.
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        SUDO=""
        [[ $(id -u) -eq 0 ]] || SUDO=sudo
        if ! { $SUDO apt-get update -qq &&
               $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
             } >&2; then
            echo "run_tests: the browser test needs chromium and chromedriver:" \
                 "apt-get install chromium chromium-driver (Debian/Ubuntu), then run again" >&2
            exit 1
        fi
    fi
    "$VENV/bin/python" -m pytest -p no:cacheprovider tests/browser -m browser
fi
