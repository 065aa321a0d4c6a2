#!/usr/bin/env bash
# Re-run the real-faces study (notebook 08, profile faces) on the DFDC face crops into a
# fresh folder, then compare its numbers with the committed results/faces/ within the spread
# the seeds show (the same check-results as ./run_tests.sh uses for the demo).
#
#   benchmarks/faces_study.sh DATA_ROOT      DATA_ROOT holds dfdc_faces/ (README, On real faces)
#   JDFD_RERUN_DIR=DIR                       where the re-run goes (default: a temp folder)
#
# About 90 minutes on 2 CPU cores (BENCHMARKS.md, real faces). Not a test: the data is not in
# the repository and a fresh clone has none.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ $# -ne 1 ]]; then
    echo "usage: benchmarks/faces_study.sh DATA_ROOT (the folder holding dfdc_faces/)" >&2
    exit 2
fi
if [[ ! -d "$1/dfdc_faces" ]]; then
    echo "benchmarks/faces_study.sh: $1/dfdc_faces: no such folder (expected the DFDC face" \
         "crops laid out as README, On real faces, says)" >&2
    exit 2
fi
OUT="${JDFD_RERUN_DIR:-$(mktemp -d)}"
echo "faces_study: re-running into $OUT"
./run_all.sh --profile faces --data-root "$1" --faces-root "$OUT/faces" --runs-dir "$OUT/runs" \
    --results-dir "$OUT/results"
VENV="$(scripts/bootstrap.sh)"
"$VENV/bin/python" -m jdfd_lib check-results --expected results/faces/metrics.json \
    --actual "$OUT/results/metrics.json"
