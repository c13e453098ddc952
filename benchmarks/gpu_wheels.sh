#!/usr/bin/env bash
# Fetch, here, the wheels that benchmarks/gpu_speed.py needs on the lent GPU machine, whose
# image (Python 3.12, torch 2.11, torchvision 0.26, pandas, scipy, matplotlib, ...) lacks
# fastai, snakemake and soundfile. They land in .whl/ (git-ignored), about 30 MB; a run
# there carries .whl and installs them with --no-deps (benchmarks/gpu_speed.sh).
# The list is the resolution of fastai==2.8.12 snakemake==9.27.1 soundfile==0.14.0 for
# CPython 3.12 (`pip install --dry-run --report`), less what the image has, less spaCy's
# stack (only fastai.text imports it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WHEELS=(
  annotated-types==0.8.0 argparse-dataclass==2.0.0 beartype==0.23.1 cffi==2.1.1
  conda-inject==1.3.2 configargparse==1.9.0 docutils==0.22.4 dpath==2.2.0 fastai==2.8.12
  fastcore==2.2.41 fastdownload==0.0.8 fastjsonschema==2.22.3 fastprogress==1.1.6
  fasttransform==0.0.5 gitdb==4.0.12 gitpython==3.2.1 greenlet==3.5.6 httpcore2==2.16.2
  httptools==0.9.0 httpx2==2.16.2 humanfriendly==10.0 immutables==0.21 itsdangerous==2.2.0
  jsonschema==4.26.0 jsonschema-specifications==2025.9.1 jupyter-core==5.9.1
  nbformat==5.11.1 oauthlib==4.0.1 platformdirs==4.14.9 plum-dispatch==2.9.0 pulp==3.3.2
  pycparser==3.12 pydantic==2.14.4 pydantic-core==2.50.5 python-dotenv==1.2.4
  python-fasthtml==0.14.14 python-multipart==0.0.34 referencing==0.37.0 rpds-py==2026.9.1
  smart-open==7.7.1 smmap==5.0.3 snakemake==9.27.1 snakemake-interface-common==1.23.0
  snakemake-interface-executor-plugins==9.4.0 snakemake-interface-logger-plugins==2.1.0
  snakemake-interface-report-plugins==1.3.0 snakemake-interface-scheduler-plugins==2.0.2
  snakemake-interface-storage-plugins==4.4.1 soundfile==0.14.0 beautifulsoup4==4.15.0
  soupsieve==4.1.3 sqlalchemy==2.0.58 sqlmodel==0.0.37 starlette==1.10.0 tenacity==9.2.1
  throttler==1.2.3 traitlets==5.16.1 truststore==0.10.5 typing-inspection==0.4.5
  uvicorn==0.54.0 watchfiles==1.3.0 websockets==17.4 yte==1.9.4
)
mkdir -p .whl
# connection_pool is published as a source archive only: build its (pure-Python) wheel
"$PY" -m pip wheel -q --no-deps -w .whl connection_pool==0.0.3
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 --platform any -d .whl "${WHEELS[@]}"
du -sh .whl
