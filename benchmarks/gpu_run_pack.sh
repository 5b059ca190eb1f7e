#!/usr/bin/env bash
# Put what benchmarks/gpu_run.sh needs on a bare GPU machine into the git-ignored folders data/ and wheels/ of
# this checkout, to be carried there (device tool: carry=["data", "wheels"]; 64 MiB in all with the repository).
#
#   bash benchmarks/gpu_run_pack.sh [HAM10000_DIR] [MEASURED_WORKDIR] [VAR]
#
# HAM10000_DIR     the HAM10000 copy (default ../shared/data/HAM10000), ~43 MB -> data/HAM10000
# MEASURED_WORKDIR a work directory `skinaug prepare --format ham10000` + `skinaug measure` made of that copy with
#                  the default split; made in /tmp/skinaug-pack-work when not given (measure: minutes)
#                  -> data/measurements (features.csv at 7 significant digits, gzipped, 5.1 MB; scaler, class
#                  means, summary)
# VAR              FoundationVision/VAR: a checkout, or a bare git directory (e.g. what the `fetch` tool gives)
#                  -> data/VAR (models/ and dist.py only; never committed)
# and wheels/: torch-fidelity 0.4.0, imbalanced-learn 0.14.2 and its sklearn-compat 0.1.6 (pure Python), what
# skinaug imports that the GPU image lacks. Ends with the size of what travels against the device tool's 64 MiB
# (tracked and untracked-not-ignored files plus data/ and wheels/), and fails when it is over.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HAM=${1:-$ROOT/../shared/data/HAM10000}
MEASURED=${2:-}
VAR=${3:-}
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON; elif [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python; else PY=python3; fi
cd "$ROOT"
mkdir -p data/measurements data/VAR wheels
rm -rf data/HAM10000
cp -r "$HAM" data/HAM10000
if [ -z "$MEASURED" ]; then
    MEASURED=/tmp/skinaug-pack-work
    PYTHONPATH=$ROOT "$PY" -m skinaug prepare --format ham10000 data/HAM10000 --out "$MEASURED"
    PYTHONPATH=$ROOT "$PY" -m skinaug measure "$MEASURED"
fi
# 7 significant digits: half the size of the full text (room under 64 MiB); ids, strings and integer columns
# unchanged, the scaled conditioning vectors within 3.3e-5 of those of the full-precision file (measured)
"$PY" -c "import pandas as pd, sys; pd.read_csv(sys.argv[1], low_memory=False).to_csv(sys.argv[2], index=False, \
float_format='%.7g', compression={'method': 'gzip', 'compresslevel': 9, 'mtime': 0})" \
    "$MEASURED/measurements/features.csv" data/measurements/features.csv.gz
cp "$MEASURED"/measurements/{scaler.json,class_means.json,summary.json} data/measurements/
if [ -n "$VAR" ] && [ -f "$VAR/models/var.py" ]; then
    cp -r "$VAR/models" "$VAR/dist.py" data/VAR/
elif [ -n "$VAR" ]; then
    git --git-dir="$VAR" archive HEAD models dist.py | tar -x -C data/VAR
else
    echo "gpu_run_pack: no VAR given: sample_speed on the GPU will time skinaug alone" >&2
fi
"$PY" -m pip download -q --no-deps -d wheels torch-fidelity==0.4.0 imbalanced-learn==0.14.2 sklearn-compat==0.1.6
du -sh --apparent-size data wheels
# every "total" line summed (xargs may split the list over several du calls; a deleted tracked file is no error)
REPO_BYTES=$({ git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null || true; } |
    awk '$2 == "total" { s += $1 } END { print s + 0 }')
CARRY_BYTES=$(du -cb data wheels | tail -1 | cut -f1)
TOTAL=$((REPO_BYTES + CARRY_BYTES))
LIMIT=$((64 * 1024 * 1024))
echo "travels: repository files $REPO_BYTES + data, wheels $CARRY_BYTES = $TOTAL bytes of at most $LIMIT"
if [ "$TOTAL" -gt "$LIMIT" ]; then
    echo "gpu_run_pack: $TOTAL bytes would travel, over the device tool's 64 MiB: the run would be refused" >&2
    exit 1
fi
echo "carry: data wheels"
