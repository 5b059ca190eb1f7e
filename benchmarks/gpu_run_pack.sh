#!/usr/bin/env bash
# Put what benchmarks/gpu_run.sh needs on a bare GPU machine into the git-ignored folders data/ and wheels/ of
# this checkout, to be carried there (device tool: carry=["data", "wheels"]; 64 MiB in all with the repository).
#
#   bash benchmarks/gpu_run_pack.sh [HAM10000_DIR] [MEASURED_WORKDIR] [VAR]
#
# HAM10000_DIR     the HAM10000 copy (default ../shared/data/HAM10000), ~43 MB -> data/HAM10000
# MEASURED_WORKDIR a work directory `skinaug prepare --format ham10000` + `skinaug measure` made of that copy with
#                  the default split; made in /tmp/skinaug-pack-work when not given (measure: minutes)
#                  -> data/measurements (features.csv gzipped, ~10 MB; scaler, class means, summary)
# VAR              FoundationVision/VAR: a checkout, or a bare git directory (e.g. what the `fetch` tool gives)
#                  -> data/VAR (models/ and dist.py only; never committed)
# and wheels/: torch-fidelity 0.4.0, the one package skinaug imports that the GPU image lacks.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HAM=${1:-$ROOT/../shared/data/HAM10000}
MEASURED=${2:-}
VAR=${3:-}
PY=${PYTHON:-python3}
cd "$ROOT"
mkdir -p data/measurements data/VAR wheels
rm -rf data/HAM10000
cp -r "$HAM" data/HAM10000
if [ -z "$MEASURED" ]; then
    MEASURED=/tmp/skinaug-pack-work
    PYTHONPATH=$ROOT "$PY" -m skinaug prepare --format ham10000 data/HAM10000 --out "$MEASURED"
    PYTHONPATH=$ROOT "$PY" -m skinaug measure "$MEASURED"
fi
gzip -c "$MEASURED/measurements/features.csv" >data/measurements/features.csv.gz
cp "$MEASURED"/measurements/{scaler.json,class_means.json,summary.json} data/measurements/
if [ -n "$VAR" ] && [ -f "$VAR/models/var.py" ]; then
    cp -r "$VAR/models" "$VAR/dist.py" data/VAR/
elif [ -n "$VAR" ]; then
    git --git-dir="$VAR" archive HEAD models dist.py | tar -x -C data/VAR
else
    echo "gpu_run_pack: no VAR given: sample_speed on the GPU will time skinaug alone" >&2
fi
"$PY" -m pip download -q --no-deps -d wheels torch-fidelity==0.4.0
du -sh --apparent-size data wheels
echo "carry: data wheels (with the repository's files, at most 64 MiB)"
