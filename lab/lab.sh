#!/usr/bin/env bash
# Local lab for the validation suite: a real SLURM cluster (two slurmd nodes in network
# namespaces, fake GPUs through GRES, slurmdbd accounting, sshd on 127.0.0.1:2222), plus
# an optional cloud lab from lab/cloud/ when that exists, then the tiny LLM (lab/llm/build.sh).
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

# Runs lab/cloud/<step>.sh when someone has provided it (executable).
cloud() {
  local script=$LAB/cloud/$1.sh; shift
  if [[ -x $script ]]; then "$script" "$@"; fi
}

cmd=${1:-}
shift || true
case $cmd in
  up)
    "$LAB/slurm/up.sh" "$@"
    cloud up "$@"
    "$LAB/llm/build.sh" # the tiny causal LM + its venv on the shared path (lab/llm/)
    ;;
  down)
    "$LAB/slurm/down.sh" "$@"
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
