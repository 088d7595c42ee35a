#!/usr/bin/env bash
# Verify every CUDA code path against the CPU and measure GPU throughput, in one short run.
#
#   bash bench/gpu_run.sh OUT_DIR
#
# Run from a checkout of the repository (it need not be pip-installed) on a machine with an
# NVIDIA GPU. Wheels in .whl/ (open_clip_torch, ftfy, wcwidth, regex, ... when the machine
# lacks them) are installed into /tmp/site first. Steps, each under a timeout and all within
# GPU_RUN_BUDGET_S seconds (default 330):
#
#   1. nvidia-smi, versions and an import check;
#   2. bench/cuda_check.py (CUDA against CPU: grounding, CLIP encoder, training);
#   3. bench/grounding_speed.py on CUDA, fp16 (what `ground` uses there) then fp32;
#   4. bench/encoder_speed.py on CUDA (fp32, fp16, fp16 autocast, bf16; batches 64 and 256);
#   5. CPU baselines on all cores: grounding at 75 clips and the CPU encoder modes.
#
# OUT_DIR receives at most eight files: log.txt (everything printed), summary.json (status and
# seconds of each step), cuda_check.json, grounding_speed-cuda-fp16.json,
# grounding_speed-cuda-fp32.json, encoder_speed-cuda.json, grounding_speed-cpu.json and
# encoder_speed-cpu.json. A failing step does not stop the others; the script exits non-zero
# when any step failed.
set -u -o pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: bash bench/gpu_run.sh OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
BUDGET_S=${GPU_RUN_BUDGET_S:-330}
CPU_THREADS=${GPU_RUN_CPU_THREADS:-$(getconf _NPROCESSORS_ONLN)}
START=$(date +%s)
STEPS=()
FAILURES=0

say() { echo "[gpu_run +$(($(date +%s) - START))s] $*"; }

# step NAME LIMIT_S STDOUT_FILE COMMAND...: run COMMAND under a timeout (cut to the time left),
# its stdout into OUT/STDOUT_FILE ("-": the log, "null": nowhere), its stderr into the log.
step() {
    local name=$1 limit=$2 target=$3
    shift 3
    local left=$((BUDGET_S - ($(date +%s) - START)))
    if ((left < 15)); then
        say "SKIP $name: only ${left}s of the budget left"
        STEPS+=("{\"step\": \"$name\", \"status\": \"skipped\", \"exit_code\": null, \"seconds\": 0}")
        FAILURES=$((FAILURES + 1))
        return
    fi
    ((limit > left)) && limit=$left
    local shown="$*"
    shown=${shown//$'\n'/ }
    ((${#shown} > 160)) && shown="${shown:0:160}..."
    say "START $name (timeout ${limit}s): $shown"
    local began=$(date +%s) rc
    if [[ $target == - ]]; then
        timeout -k 10 "$limit" "$@"
    elif [[ $target == null ]]; then
        timeout -k 10 "$limit" "$@" >/dev/null
    else
        timeout -k 10 "$limit" "$@" >"$OUT/$target"
    fi
    rc=$?
    local took=$(($(date +%s) - began)) status=ok
    if [[ $target != - && $target != null && ! -s $OUT/$target ]]; then
        rm -f "$OUT/$target"
    fi
    if ((rc == 124 || rc == 137)); then
        status=timeout
    elif ((rc != 0)); then
        status=failed
    fi
    [[ $status == ok ]] || FAILURES=$((FAILURES + 1))
    say "END $name: $status (exit $rc, ${took}s)"
    STEPS+=("{\"step\": \"$name\", \"status\": \"$status\", \"exit_code\": $rc, \"seconds\": $took}")
}

read -r -d '' PREFLIGHT <<'EOF'
import importlib
import platform
import warnings

import torch

warnings.simplefilter("ignore")

print(f"python {platform.python_version()}, torch {torch.__version__}, CUDA build "
      f"{torch.version.cuda}, cuda available {torch.cuda.is_available()}")
if torch.cuda.is_available():
    print(f"device {torch.cuda.get_device_name()}, capability {torch.cuda.get_device_capability()},"
          f" cudnn {torch.backends.cudnn.version()}, bf16 {torch.cuda.is_bf16_supported()}")
missing = []
for name in ("numpy", "safetensors", "huggingface_hub", "timm", "torchvision", "click", "tqdm",
             "regex", "ftfy", "wcwidth", "open_clip", "vsearch", "vsearch.grounding",
             "vsearch.encoder", "vsearch.research.training", "bench"):
    try:
        module = importlib.import_module(name)
        print(f"  import {name}: ok {getattr(module, '__version__', '')}")
    except Exception as error:  # report every missing piece, not just the first
        missing.append(name)
        print(f"  import {name}: FAILED {type(error).__name__}: {error}")
for name in ("av", "faiss", "sqlalchemy"):
    try:
        importlib.import_module(name)
        print(f"  optional {name}: present")
    except ImportError:
        print(f"  optional {name}: absent (not needed here)")
raise SystemExit(1 if missing or not torch.cuda.is_available() else 0)
EOF

main() {
    say "repository $(pwd), output $OUT, budget ${BUDGET_S}s"
    if [[ -d .whl ]] && compgen -G ".whl/*.whl" >/dev/null; then
        say "installing wheels: $(cd .whl && echo *.whl)"
        if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl; then
            export PYTHONPATH=/tmp/site:$PWD
            STEPS+=('{"step": "wheels", "status": "ok", "exit_code": 0, "seconds": null}')
        else
            say "wheel installation failed"
            FAILURES=$((FAILURES + 1))
            STEPS+=('{"step": "wheels", "status": "failed", "exit_code": 1, "seconds": null}')
            export PYTHONPATH=$PWD
        fi
    else
        export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
    fi
    say "PYTHONPATH=$PYTHONPATH, $(getconf _NPROCESSORS_ONLN) CPUs, CPU baselines on $CPU_THREADS threads"
    step nvidia-smi 30 - nvidia-smi -L
    timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
        --format=csv 2>&1
    step preflight 90 - "$PY" -c "$PREFLIGHT"

    step cuda_check 180 null "$PY" bench/cuda_check.py --out "$OUT"
    step grounding_speed-cuda-fp16 90 grounding_speed-cuda-fp16.json \
        "$PY" bench/grounding_speed.py --device cuda --precision fp16
    step encoder_speed-cuda 75 encoder_speed-cuda.json \
        "$PY" bench/encoder_speed.py --device cuda
    step grounding_speed-cuda-fp32 60 grounding_speed-cuda-fp32.json \
        "$PY" bench/grounding_speed.py --device cuda --precision fp32 \
        --plan 75x32x1,75x32x8,75x32x32,1800x4x4
    # CPU baselines of the same settings, on every core, where they are quick
    step grounding_speed-cpu 45 grounding_speed-cpu.json \
        "$PY" bench/grounding_speed.py --device cpu --threads "$CPU_THREADS" --plan 75x16x1,75x16x8
    step encoder_speed-cpu 45 encoder_speed-cpu.json \
        "$PY" bench/encoder_speed.py --device cpu --threads "$CPU_THREADS"

    local steps
    steps=$(printf '    %s,\n' "${STEPS[@]}")
    printf '{\n  "budget_s": %s,\n  "wall_s": %s,\n  "failures": %s,\n  "steps": [\n%s\n  ]\n}\n' \
        "$BUDGET_S" "$(($(date +%s) - START))" "$FAILURES" "${steps%,}" >"$OUT/summary.json"
    say "done: $FAILURES failed step(s); files in $OUT: $(cd "$OUT" && echo *)"
    ((FAILURES == 0))
}

main 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
