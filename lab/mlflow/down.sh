#!/usr/bin/env bash
# Stop the lab's MLflow tracking server (real or stand-in). Idempotent.
# `--purge` also removes its state (/var/lib/mlops-lab/mlflow: databases, artifacts, the
# pip-failure stamp) and the real MLflow's venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
for a in "$@"; do [[ $a == --purge ]] && purge=true; done

mkdir -p /run/lock "$RUN_DIR"
exec 9>/run/lock/mlops-lab-mlflow.lock
flock -w 120 9 || { log "another lab/mlflow/up.sh or down.sh has held the lock for 120 s"; exit 1; }

stop_pidfile mlflow 10
rm -f "$MLFLOW_KIND"
if $purge; then
  rm -rf "$MLFLOW_STATE" "$MLFLOW_VENV"
  log "removed $MLFLOW_STATE and $MLFLOW_VENV"
fi
log "mlflow down"
