#!/usr/bin/env bash
# One prepared GPU run of the paper's downstream experiment (issue 13 point 4), <= 9 minutes on one H100/H200
# from a bare machine, and the same steps at tiny sizes on CPU with --smoke (tests/benchmarks/test_gpu_run_smoke.py).
#
#   bash benchmarks/gpu_run.sh            # on the GPU machine; results in $OUT (default ./gpu-run-out)
#   bash benchmarks/gpu_run.sh --smoke    # CPU, embedded phantoms, minutes
#
# Steps: install carried wheels -> sample_speed (VAR side by side) -> prepare HAM10000 -> measure -> train_speed
# rows (on that work directory) -> train-generator `small` --time-budget -> augment 500 per class (intra) ->
# bench-classifier (ResNet-50, the 11 arms of the evidence run, 1 seed, --time-budget) -> evaluate. Every step is
# timed and capped; a step that fails is recorded and the run goes on where the next steps can (the summary says
# which failed). The log is written straight into $OUT, so it comes back even if the call is cut off.
#
# What travels to the GPU machine (the device tool's `carry`; 64 MiB in all with the repository's files, 14.7 MB
# of them tracked; gpu_run_pack.sh prints the total):
# (benchmarks/gpu_run_pack.sh puts all of it in place)
#   data/HAM10000/                 the HAM10000 copy, ~43 MB:  cp -r ../shared/data/HAM10000 data/
#   data/measurements/             features.csv.gz, scaler.json, class_means.json, summary.json of `skinaug measure`
#                                  on that copy, made here (7 significant digits, 5.1 MB gzipped). The GPU image has no pyradiomics and
#                                  SimpleITK's wheel alone is ~50 MB (264 MB installed): it cannot travel beside
#                                  the data, so `measure` runs on the device only where radiomics imports.
#   data/VAR/                      FoundationVision/VAR's models/ and dist.py (never committed here), for
#                                  sample_speed --against-var:  git archive HEAD models dist.py | tar -x -C data/VAR
#   wheels/                        what the GPU image lacks, as wheels: torch-fidelity, imbalanced-learn (arm d)
#                                  and sklearn-compat (pure Python, pip download --no-deps); torch, torchvision,
#                                  timm, numpy, scipy, pandas, scikit-learn, pillow, matplotlib, click, safetensors
#                                  are in the image (/work/.library/device/KINDS.md): torch wheels (GBs) need not
#                                  and could not travel.
# data/ and wheels/ are git-ignored. Call: run(command="bash benchmarks/gpu_run.sh", carry=["data", "wheels"],
# timeout_s=600).
set -uo pipefail

MODE=gpu
case "${1:-}" in
    --smoke) MODE=smoke ;;
    "") ;;
    *) echo "usage: bash benchmarks/gpu_run.sh [--smoke]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$ROOT/gpu-run-out}
WORK=${GPU_RUN_WORK:-/tmp/skinaug-gpu-run}
PY=${PYTHON:-python3}
DATA=${GPU_RUN_DATA:-$ROOT/data}
VAR_CHECKOUT=${VAR_CHECKOUT:-$DATA/VAR}
ARMS="a,b,c,d,c-copies,topup,topup-copies,topup-sampler,topup-selected,share0.25,share0.25-copies"
mkdir -p "$OUT" "$WORK"
LOG="$OUT/gpu_run.log" # in $OUT from the start: what is there comes back even from a call cut short
STEPS="$WORK/steps.tsv"
: >"$LOG"
: >"$STEPS"
touch "$WORK/.start"
START=$(date +%s)

if [ "$MODE" = gpu ]; then
    # sizes for <= 9 minutes on one H100/H200 (estimates: no GPU was lent when this was written; the step
    # timeouts below keep the whole run inside TOTAL_S whatever the steps take)
    TOTAL_S=540
    CAP_SCALE=1
    DEVICE=auto
    KIND=cuda
    # step counts an H200 may reach in the budget (estimated: ~4 TFLOP a `small` step, a fifth of the bf16 peak),
    # so the cosine schedules end; the budget stops them cleanly where the estimate is wrong
    GEN_ARGS=(--config small --tokenizer-steps 1500 --transformer-steps 2000)
    GEN_MAX_S=90 # the generator's --time-budget, less where the steps before took longer than planned
    AUG_ARGS=(--per-class 500 --batch-size 64)
    TOP_UP=500
    BENCH_ARGS=(--arch resnet50 --image-size 224 --epochs 2 --batch-size 128 --shortcut-steps 100 --workers 12)
    EVAL_ARGS=(--judge-epochs 4 --bootstrap 20)
    SPEED_ARGS=(--configs small --batches 64 --repeats 3 --var-batches 2 64)
    TRAIN_SPEED_ARGS=(--configs small --steps 5)
else
    TOTAL_S=1200
    CAP_SCALE=3 # CPU steps: the caps are only there to end a hung run
    DEVICE=cpu
    KIND=cpu
    GEN_ARGS=(--config tiny --tokenizer-steps 4 --transformer-steps 4 --batch-size 8)
    GEN_MAX_S=120
    AUG_ARGS=(--per-class 6 --batch-size 6)
    TOP_UP=6
    BENCH_ARGS=(--arch resnet18 --image-size 32 --epochs 1 --batch-size 16 --shortcut-steps 3 --workers 0)
    EVAL_ARGS=(--judge-size 32 --judge-epochs 1 --judge-min-steps 0 --bootstrap 10)
    SPEED_ARGS=(--configs tiny --batches 2 --repeats 1 --var-batches 2)
    TRAIN_SPEED_ARGS=(--smoke)
fi

say() { echo "gpu_run: $*" | tee -a "$LOG" >&2; }
left() { echo $((TOTAL_S - ($(date +%s) - START))); }

# step NAME MAX_SECONDS COMMAND...: run, log, time; never longer than MAX_SECONDS nor past the end of TOTAL_S
step() {
    local name=$1 cap=$2 rc t0
    shift 2
    local remaining
    cap=$((cap * CAP_SCALE))
    remaining=$(left)
    if [ "$cap" -gt "$remaining" ]; then cap=$remaining; fi
    if [ "$cap" -le 5 ]; then
        say "$name: skipped (no time left)"
        printf '%s\t%s\t%s\n' "$name" "skipped" "0" >>"$STEPS"
        return 1
    fi
    say "$name (at most ${cap}s): $*"
    t0=$(date +%s)
    timeout --kill-after=10 "$cap" "$@" >>"$LOG" 2>&1
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$STEPS"
    say "$name: exit $rc after $(($(date +%s) - t0))s"
    return $rc
}

SKINAUG=("$PY" -m skinaug)

# 1. install: the carried wheels into a private folder (the image's own packages stay as they are)
if compgen -G "$ROOT/wheels/*.whl" >/dev/null; then
    step install 120 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$WORK/site" "$ROOT"/wheels/*.whl
    export PYTHONPATH="$WORK/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$ROOT:${PYTHONPATH:-}"
MACHINE=$("$PY" -c "import torch; from skinaug.machine import describe_hardware; print(describe_hardware(), '; torch', torch.__version__)" 2>>"$LOG")
say "mode $MODE on $MACHINE"
if ! "$PY" -c "import imblearn" 2>>"$LOG"; then
    ARMS=$(tr ',' '\n' <<<"$ARMS" | grep -vx d | paste -sd, -)
    say "imbalanced-learn does not import here: arm d (random oversampling) left out"
fi
{ df -h /dev/shm; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; } >>"$LOG" 2>&1 || true

# 2. sampling speed first (cheap, and what issue 13 measures), with FoundationVision/VAR side by side where its code
# travelled; written after the VAR rows too, so a cut-short step keeps them
mkdir -p "$WORK/speed"
SPEED_VAR=()
if [ -f "$VAR_CHECKOUT/models/var.py" ]; then SPEED_VAR=(--against-var "$VAR_CHECKOUT"); else say "sample_speed: no VAR checkout at $VAR_CHECKOUT: skinaug rows only"; fi
step sample-speed 60 "$PY" "$ROOT/benchmarks/sample_speed.py" "${SPEED_ARGS[@]}" ${SPEED_VAR[@]+"${SPEED_VAR[@]}"} \
    --out "$WORK/speed/sample_speed_$KIND.md"

# 3. prepare: the carried HAM10000 copy (GPU) or embedded phantoms (smoke)
if [ "$MODE" = gpu ]; then
    SOURCE=$DATA/HAM10000
else
    SOURCE=$WORK/phantoms
    [ -f "$SOURCE/HAM10000_metadata.csv" ] || step phantoms 120 "${SKINAUG[@]}" phantom "$SOURCE" --n 84 --size 64x48
fi
step prepare 120 "${SKINAUG[@]}" prepare --format ham10000 "$SOURCE" --out "$WORK/work"

# 4. measure: pyradiomics where it imports; else the measurements made of the same copy before the run
if "$PY" -c "import radiomics, SimpleITK" 2>/dev/null; then
    step measure 300 "${SKINAUG[@]}" measure "$WORK/work"
elif [ -f "$DATA/measurements/features.csv.gz" ]; then
    step measure-carried 60 "$PY" - "$DATA/measurements" "$WORK/work/measurements" <<'PY'
import gzip, shutil, sys
from pathlib import Path

source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
for name in ("scaler.json", "class_means.json", "summary.json"):
    shutil.copyfile(source / name, target / name)
with gzip.open(source / "features.csv.gz") as read, open(target / "features.csv.tmp", "wb") as write:
    shutil.copyfileobj(read, write)
(target / "features.csv.tmp").replace(target / "features.csv")
PY
else
    say "measure: no pyradiomics here and no carried $DATA/measurements/features.csv.gz"
    printf '%s\t%s\t%s\n' "measure" "missing" "0" >>"$STEPS"
fi

# 5. training speed on that work directory (real images, carried measurements: no pyradiomics needed)
step train-speed 45 "$PY" "$ROOT/benchmarks/train_speed.py" --workdir "$WORK/work" "${TRAIN_SPEED_ARGS[@]}" \
    --device "$DEVICE" --out "$WORK/speed/train_speed_$KIND.md"

# 6. train-generator with a wall-clock budget (stops cleanly and checkpoints when it is spent): GEN_MAX_S, or less
# so that augment, bench-classifier and evaluate keep 290 s; the step's cap leaves 45 s for start-up and saving
GEN_S=$(($(left) / CAP_SCALE - 290))
if [ "$GEN_S" -gt "$GEN_MAX_S" ]; then GEN_S=$GEN_MAX_S; fi
if [ "$GEN_S" -lt 30 ]; then GEN_S=30; fi
step train-generator $((GEN_S + 45)) "${SKINAUG[@]}" train-generator "$WORK/work" "${GEN_ARGS[@]}" \
    --time-budget "$(awk -v s="$GEN_S" 'BEGIN { printf "%.2f", s / 60 }')" --out "$WORK/generator" --device "$DEVICE"

# 7. augment: intra-class in-painting, per class
step augment 60 "${SKINAUG[@]}" augment "$WORK/work" --generator "$WORK/generator" "${AUG_ARGS[@]}" \
    --out "$WORK/synthetic" --device "$DEVICE"

# 8. bench-classifier: the arms of the evidence run, one seed; 90 s kept for evaluate. Its own --time-budget
# starts no new arm once (cap - 60 s) are spent, so it writes its report for the arms done before the cap hits
BENCH_CAP=$(($(left) - 90))
if [ "$BENCH_CAP" -gt 240 ]; then BENCH_CAP=240; fi
BENCH_BUDGET=$(awk -v c="$((BENCH_CAP * CAP_SCALE - 60))" 'BEGIN { printf "%.2f", (c > 6 ? c : 6) / 60 }')
step bench-classifier "$BENCH_CAP" "${SKINAUG[@]}" bench-classifier "$WORK/work" --synthetic "$WORK/synthetic" \
    --arms "$ARMS" --seeds 1 --top-up-to "$TOP_UP" "${BENCH_ARGS[@]}" --time-budget "$BENCH_BUDGET" \
    --out "$WORK/bench" --device "$DEVICE"

# 9. evaluate: the domain features of a real-trained classifier, arm a's (b's where the time budget ended the
# bench before a: arms with classifier-selected images make b run first; both seed-0 models are always saved)
JUDGE=$WORK/bench/runs/a_seed0
[ -f "$JUDGE/model.safetensors" ] || JUDGE=$WORK/bench/runs/b_seed0
step evaluate 90 "${SKINAUG[@]}" evaluate "$WORK/work" --synthetic "$WORK/synthetic" \
    --classifier "$JUDGE" "${EVAL_ARGS[@]}" --out "$WORK/evaluation" --device "$DEVICE"

# 10. results: at most 8 files of at most 16 MB in $OUT
"$PY" "$ROOT/benchmarks/gpu_run_results.py" --mode "$MODE" --machine "$MACHINE" --work "$WORK" --out "$OUT" \
    --steps "$STEPS" --log "$LOG" --total-s "$(($(date +%s) - START))"
