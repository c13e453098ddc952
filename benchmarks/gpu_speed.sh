#!/usr/bin/env bash
# On the lent GPU machine, from the repo root, with .whl carried (benchmarks/gpu_wheels.sh
# fetched it here): install the wheels the image lacks, then run benchmarks/gpu_speed.py.
# Through the device tool: run(command="bash benchmarks/gpu_speed.sh", carry=[".whl"]).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD/workflow/scripts PYTHONUNBUFFERED=1
python3 benchmarks/gpu_speed.py "$@" 2>&1 | tee "${OUT:-/tmp}/gpu_speed.log"
