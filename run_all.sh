#!/usr/bin/env bash
# Regenerate the paper's Tables 2-3 and Figs 3-4 by executing notebooks/ in order (papermill).
#
#   ./run_all.sh                                   demo profile on the embedded demo data (CPU)
#   ./run_all.sh --profile paper --data-root DIR   paper profile on the real datasets (GPU)
#
# Options (or environment variables):
#   --profile demo|paper   JDFD_PROFILE    training/extraction profile (default: demo)
#   --data-root DIR        JDFD_DATA_ROOT  folder holding FaceForensics++/, Celeb-DF-v2/, UADFV/
#                                          (default for demo: data/demo, generated)
#   --faces-root DIR       JDFD_FACES_ROOT where face crops go (default: data/<profile>_faces)
#   --force                                re-execute stages whose outputs are complete
#   --only NAME                            run one notebook (e.g. 03_cross_dataset)
# Executed notebooks are kept in results/<profile>/notebooks/; timings in
# results/<profile>/run_record.json. A failing notebook stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PROFILE="${JDFD_PROFILE:-demo}"
DATA_ROOT="${JDFD_DATA_ROOT:-}"
FACES_ROOT="${JDFD_FACES_ROOT:-}"
FORCE=0
ONLY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) PROFILE="$2"; shift 2 ;;
        --data-root) DATA_ROOT="$2"; shift 2 ;;
        --faces-root) FACES_ROOT="$2"; shift 2 ;;
        --force) FORCE=1; shift ;;
        --only) ONLY="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "run_all.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$PROFILE" in
    demo) DATA_ROOT="${DATA_ROOT:-data/demo}" ;;
    paper)
        if [[ -z "$DATA_ROOT" ]]; then
            echo "run_all.sh: --profile paper needs --data-root DIR (see README: data layout)" >&2
            exit 2
        fi ;;
    *) echo "run_all.sh: --profile must be demo or paper, not '$PROFILE'" >&2; exit 2 ;;
esac
FACES_ROOT="${FACES_ROOT:-data/${PROFILE}_faces}"
RESULTS_DIR="results/$PROFILE"
RUNS_DIR="runs"
STAGES_DIR="runs/.stages/$PROFILE"

VENV="$(scripts/bootstrap.sh)"
PY="$VENV/bin/python"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-$([[ $PROFILE == demo ]] && echo 1 || echo 0)}"
export MPLBACKEND=Agg PYTHONHASHSEED=0
mkdir -p "$RESULTS_DIR/notebooks" "$STAGES_DIR"

echo "jdfd: profile=$PROFILE data=$DATA_ROOT faces=$FACES_ROOT results=$RESULTS_DIR"
TOTAL_START=$(date +%s)
for NB in notebooks/[0-9][0-9]_*.ipynb; do
    NAME="$(basename "$NB" .ipynb)"
    [[ -n "$ONLY" && "$NAME" != "$ONLY" ]] && continue
    OUT="$RESULTS_DIR/notebooks/$NAME.ipynb"
    # a stage is complete when it finished with the same notebook, parameters and library
    KEY="$(cat "$NB" $(find jdfd_lib -name '*.py' | LC_ALL=C sort) | sha256sum | cut -c1-16)-$PROFILE-$DATA_ROOT-$FACES_ROOT"
    if [[ $FORCE -eq 0 && -f "$STAGES_DIR/$NAME.done" && "$(cat "$STAGES_DIR/$NAME.done")" == "$KEY" && -f "$OUT" ]]; then
        echo "== $NAME: complete, skipped (--force to redo)"
        continue
    fi
    echo "== $NAME"
    START=$(date +%s)
    PARTIAL="$RESULTS_DIR/notebooks/.partial/$NAME.ipynb"  # moved into place only on success
    mkdir -p "$(dirname "$PARTIAL")"
    if ! "$VENV/bin/papermill" "$NB" "$PARTIAL" --kernel python3 --log-level WARNING \
        --progress-bar -p PROFILE "$PROFILE" -p DATA_ROOT "$DATA_ROOT" \
        -p FACES_ROOT "$FACES_ROOT" -p RUNS_DIR "$RUNS_DIR" -p RESULTS_DIR "$RESULTS_DIR"; then
        echo "run_all.sh: notebook $NB failed; the executed copy with the error is $PARTIAL" >&2
        exit 1
    fi
    mv "$PARTIAL" "$OUT"
    SECONDS_TAKEN=$(( $(date +%s) - START ))
    "$PY" -c "import sys; from jdfd_lib.core.runinfo import record_stage; \
record_stage(sys.argv[1], sys.argv[2], float(sys.argv[3]), profile=sys.argv[4])" \
        "$RESULTS_DIR/run_record.json" "$NAME" "$SECONDS_TAKEN" "$PROFILE"
    echo "$KEY" > "$STAGES_DIR/$NAME.done"
    echo "   $NAME took ${SECONDS_TAKEN}s"
done
echo "jdfd: done in $(( $(date +%s) - TOTAL_START ))s; tables and figures in $RESULTS_DIR/"
