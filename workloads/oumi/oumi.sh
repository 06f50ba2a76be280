#!/bin/sh
# Runs the Oumi CLI in the suite's jobs: sh oumi.sh <oumi executable> <oumi arguments...>
# - Nothing downloads at run time, Oumi sends no telemetry (DO_NOT_TRACK, the HF *_OFFLINE switches), and
#   no __pycache__ lands in the uploaded tree (mlv_eval.py is imported from it).
# - An executable given by path puts its folder first on PATH: `oumi distributed torchrun` looks up
#   `torchrun` (or `python`) on PATH, and needs the ones of Oumi's own environment.
# - MLV_OUMI_CPU_DDP=1 with MLV_OUMI_PROCESSES=N (a CPU-only target such as the lab): N processes on
#   this node through Oumi's SkyPilot variables (Oumi counts CUDA devices otherwise, and finds none),
#   and cpu-ddp/ on PYTHONPATH for gloo (see cpu-ddp/sitecustomize.py).
set -eu
if [ "$#" -lt 1 ]; then echo "usage: oumi.sh <oumi executable> <arguments...>" >&2; exit 2; fi
oumi=$1
shift
export DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONDONTWRITEBYTECODE=1
case $oumi in */*) PATH=$(dirname "$oumi"):$PATH; export PATH ;; esac
if [ "${MLV_OUMI_CPU_DDP:-}" = 1 ]; then
  here=$(cd "$(dirname "$0")" && pwd)
  PYTHONPATH=$here/cpu-ddp${PYTHONPATH:+:$PYTHONPATH}
  export PYTHONPATH
  if [ -n "${MLV_OUMI_PROCESSES:-}" ] && [ -z "${SKYPILOT_NODE_RANK:-}" ]; then
    export SKYPILOT_NODE_RANK=0 SKYPILOT_NODE_IPS=127.0.0.1 SKYPILOT_NUM_GPUS_PER_NODE="$MLV_OUMI_PROCESSES"
  fi
fi
exec "$oumi" "$@"
