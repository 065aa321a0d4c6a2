#!/usr/bin/env bash
# The paper recipe on a GPU: every CUDA path run end to end, then measured (benchmarks/gpu_check.py).
#
#   benchmarks/gpu_check.sh make-faces DIR
#       here, with the project's environment (dlib): 80 synthetic aligned faces prepared at
#       299 px by the real 'prepare --aligned' into DIR/faces (12 MB), to carry to the GPU
#   benchmarks/gpu_check.sh run DIR OUT [BUDGET_S [OPTION...]]
#       on the GPU machine: checks and figures into OUT (gpu_check.json, gpu_check.md,
#       cli.log); BUDGET_S (default 420) bounds the measurements, which are skipped, saying
#       so, when it runs short. Exit 1 if a check or a measurement broke. OPTIONs go to
#       gpu_check.py run: '--quick --device cpu' rehearses the whole run on a CPU (~8 min).
#   JDFD_WHEELS=DIR  wheels to install first (the GPU machine lacks dlib-bin; nothing else
#       of the extraction stack is needed there). JDFD_PYTHON: the interpreter (default:
#       .venv/bin/python for make-faces, python3 for run).
#
# What the GPU machine of this project ran, and the figures it gave: BENCHMARKS.md, GPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
usage() {
    echo "usage: benchmarks/gpu_check.sh make-faces DIR | run DIR OUT [BUDGET_S [OPTION...]]" >&2
    exit 2
}
[[ $# -ge 1 ]] || usage
case "$1" in
    make-faces)
        [[ $# -eq 2 ]] || usage
        exec "${JDFD_PYTHON:-.venv/bin/python}" benchmarks/gpu_check.py make-faces --out "$2"
        ;;
    run)
        [[ $# -ge 3 ]] || usage
        PY="${JDFD_PYTHON:-python3}"
        if [[ -n "${JDFD_WHEELS:-}" ]]; then
            "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
                --upgrade --target /tmp/jdfd-site "$JDFD_WHEELS"/*.whl
            export PYTHONPATH="/tmp/jdfd-site${PYTHONPATH:+:$PYTHONPATH}"
        fi
        export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
        mkdir -p "$3"
        { nvidia-smi || echo "no nvidia-smi"; } > "$3/nvidia-smi.txt" 2>&1
        exec "$PY" benchmarks/gpu_check.py run --faces "$2/faces" --out "$3" --budget "${4:-420}" \
            "${@:5}"
        ;;
    *) usage ;;
esac
