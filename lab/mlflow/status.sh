#!/usr/bin/env bash
# One line: "mlflow  up|down  127.0.0.1:5050 (real MLflow X | stand-in)"; exit 1 when down.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if mlflow_up; then
  which=$(mlflow_which || true)
  echo "mlflow  up    $MLFLOW_LISTEN (${which:-unknown}) pid $(<"$MLFLOW_PID")"
  exit 0
fi
if pid_alive "$MLFLOW_PID"; then
  echo "mlflow  down  $MLFLOW_LISTEN (pid $(<"$MLFLOW_PID") alive, /health not answering; log: $LOG_DIR/mlflow.log)"
else
  echo "mlflow  down  $MLFLOW_LISTEN (log: $LOG_DIR/mlflow.log)"
fi
exit 1
