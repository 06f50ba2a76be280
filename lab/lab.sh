#!/usr/bin/env bash
# Local lab for the validation suite: a real SLURM cluster (two slurmd nodes in network
# namespaces, fake GPUs through GRES, slurmdbd accounting, sshd on 127.0.0.1:2222), plus
# an optional cloud lab from lab/cloud/ when that exists, the e2e side's object store (lab/s3) and
# MLflow (lab/mlflow), then the tiny LLM (lab/llm/build.sh).
# See lab/README.md.
#
#   bash lab/lab.sh up            bring everything up (idempotent; fast when already up)
#   bash lab/lab.sh down [--purge] stop everything the lab started (--purge: also its data)
#   bash lab/lab.sh status        component states + sinfo; non-zero exit if anything is down
#   bash lab/lab.sh env           print the path of the target file (.env for the suite)
#   bash lab/lab.sh fault <name> on|off | list | clear   the fault battery (lab/fault.sh)
set -euo pipefail
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TARGET_ENV=/var/lib/mlops-lab/target.env

# Runs lab/<part>/<step>.sh when it exists (executable): the cloud lab, the e2e side's object
# store (lab/s3) and MLflow (lab/mlflow).
part() {
  local script=$LAB/$1/$2.sh; shift 2
  if [[ -x $script ]]; then "$script" "$@"; fi
}
cloud() { part cloud "$@"; }

cmd=${1:-}
shift || true
case $cmd in
  up)
    "$LAB/slurm/up.sh" "$@"
    cloud up "$@"
    part s3 up "$@"
    part mlflow up "$@"
    "$LAB/llm/build.sh" # the tiny causal LM + its venv on the shared path (lab/llm/)
    part oumi up        # Oumi on the shared path, where the package index has it (lab/oumi/)
    ;;
  down)
    "$LAB/slurm/down.sh" "$@"
    part mlflow down "$@"
    part s3 down "$@"
    cloud down "$@"
    ;;
  status)
    rc=0
    echo "== SLURM lab"
    "$LAB/slurm/status.sh" || rc=1
    if [[ -x $LAB/cloud/status.sh ]]; then
      echo; echo "== cloud lab"
      "$LAB/cloud/status.sh" || rc=1
    fi
    for p in s3 mlflow; do
      if [[ -x $LAB/$p/status.sh ]]; then "$LAB/$p/status.sh" || rc=1; fi
    done
    on=$(find /var/lib/mlops-lab/faults -maxdepth 1 -type f -printf '%f ' 2>/dev/null || true)
    if [[ -n $on ]]; then
      echo; echo "== FAULTS ON (bash lab/lab.sh fault clear undoes them): $on"
      rc=1
    fi
    exit "$rc"
    ;;
  fault)
    exec "$LAB/fault.sh" "$@"
    ;;
  env)
    echo "$TARGET_ENV"
    ;;
  *)
    echo "usage: bash lab/lab.sh up|down [--purge]|status|env|fault" >&2
    exit 2
    ;;
esac
