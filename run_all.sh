#!/usr/bin/env bash
# Regenerate the paper's Tables 2-3 and Figs 3-4 by executing notebooks/ in order (papermill).
#
#   ./run_all.sh                                   demo profile on the embedded demo data (CPU)
#   ./run_all.sh --profile paper --data-root DIR   paper profile on the real datasets (GPU)
#   ./run_all.sh --profile faces --data-root DIR   real DFDC face crops, DIR/dfdc_faces (CPU)
#
# The profile and folders come from the flags, else the JDFD_* environment variables, else the
# settings file jdfd.env at the repository root (the one every notebook reads), else the
# profile's defaults; `python -m jdfd_lib settings` shows what is in force (README: Settings).
#   --profile demo|paper|faces JDFD_PROFILE training/extraction profile (default: demo)
#   --data-root DIR        JDFD_DATA_ROOT   folder holding FaceForensics++/, Celeb-DF-v2/, UADFV/
#                                           (demo default: data/demo, generated)
#   --faces-root DIR       JDFD_FACES_ROOT  where face crops go (default: data/<profile>_faces)
#   --runs-dir DIR         JDFD_RUNS_DIR    checkpoints and logs (default: runs)
#   --results-dir DIR      JDFD_RESULTS_DIR tables and figures (default: results/<profile>)
#   --force                                 re-execute stages whose outputs are complete
#   --only NAME                             run one notebook (e.g. 03_cross_dataset)
#   JDFD_JOBS=N                             trainings at once (default: 2 on a CPU, 4 per GPU)
# Executed notebooks are kept in <results>/notebooks/; timings in <results>/run_record.json.
# A failing notebook stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

SETTINGS_ARGS=()
FORCE=0
ONLY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile|--data-root|--faces-root|--runs-dir|--results-dir)
            [[ $# -ge 2 ]] || { echo "run_all.sh: $1 needs a value" >&2; exit 2; }
            SETTINGS_ARGS+=("$1" "$2"); shift 2 ;;
        --force) FORCE=1; shift ;;
        --only) ONLY="$2"; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "run_all.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

VENV="$(scripts/bootstrap.sh)"
PY="$VENV/bin/python"
# PROFILE, DATA_ROOT, FACES_ROOT, RUNS_DIR, RESULTS_DIR (shell-quoted by jdfd_lib.core.settings);
# refuses e.g. the paper profile without a data folder, or a results folder of another profile
SETTINGS="$("$PY" -m jdfd_lib settings --shell ${SETTINGS_ARGS[@]+"${SETTINGS_ARGS[@]}"})" || exit 2
eval "$SETTINGS"
STAGES_DIR="$RUNS_DIR/.stages/$PROFILE"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-$([[ $PROFILE == paper ]] && echo 0 || echo 1)}"
export MPLBACKEND=Agg PYTHONHASHSEED=0
mkdir -p "$RESULTS_DIR/notebooks" "$STAGES_DIR"

echo "jdfd: profile=$PROFILE data=$DATA_ROOT faces=$FACES_ROOT runs=$RUNS_DIR results=$RESULTS_DIR"
TOTAL_START=$(date +%s)
# the profile's notebooks: 00-07 for demo and paper, 08 for faces (jdfd_lib.core.settings)
NAMES="$("$PY" -m jdfd_lib settings --notebooks ${SETTINGS_ARGS[@]+"${SETTINGS_ARGS[@]}"})" || exit 2
for NAME in $NAMES; do
    NB="notebooks/$NAME.ipynb"
    [[ -n "$ONLY" && "$NAME" != "$ONLY" ]] && continue
    OUT="$RESULTS_DIR/notebooks/$NAME.ipynb"
    # a stage is complete when it finished with the same notebook, parameters and library
    KEY="$(cat "$NB" $(find jdfd_lib -name '*.py' | LC_ALL=C sort) | sha256sum | cut -c1-16)-$PROFILE-$DATA_ROOT-$FACES_ROOT-$RUNS_DIR-$RESULTS_DIR"
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
