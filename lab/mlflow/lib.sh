#!/usr/bin/env bash
# Settings and helpers shared by lab/mlflow/{up,down,status}.sh. Sourced, not run.
# Builds on lab/cloud/lib.sh (paths, start_detached, pid_alive, stop_pidfile).
# Overridable for tests: MLV_LAB_ROOT (default /var/lib/mlops-lab), MLV_MLFLOW_LISTEN
# (127.0.0.1:5050), MLV_MLFLOW_VERSION (the real MLflow tried first), MLV_MLFLOW_VENV
# (/srv/mlops-lab/shared/venvs/mlflow), MLV_MLFLOW_PIP_RETRY_S (3600: how long a failed
# `pip install` is not retried).

# shellcheck source=lab/cloud/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../cloud" && pwd)/lib.sh"

MLFLOW_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MLFLOW_VERSION=${MLV_MLFLOW_VERSION:-3.11.1}
MLFLOW_LISTEN=${MLV_MLFLOW_LISTEN:-127.0.0.1:5050}
MLFLOW_HOST=${MLFLOW_LISTEN%:*}
MLFLOW_PORT=${MLFLOW_LISTEN##*:}
MLFLOW_URL=http://$MLFLOW_LISTEN
MLFLOW_STATE=$LAB_ROOT/mlflow
MLFLOW_VENV=${MLV_MLFLOW_VENV:-/srv/mlops-lab/shared/venvs/mlflow}
MLFLOW_PIP_STAMP=$MLFLOW_STATE/pip-unavailable   # "<version> <epoch s> <reason>" of the last failed install
MLFLOW_PIP_RETRY_S=${MLV_MLFLOW_PIP_RETRY_S:-3600}
MLFLOW_PID=$RUN_DIR/mlflow.pid
MLFLOW_KIND=$RUN_DIR/mlflow.kind                 # "stand-in <code hash>" or "real MLflow <version>"
STANDIN_NAME=mlv-lab-standin

log() { printf '[mlflow] %s\n' "$*"; }

# mlflow_health: GET /health answers 200 "OK".
mlflow_health() {
  local body
  body=$(curl -s --max-time 2 "$MLFLOW_URL/health" 2>/dev/null) || return 1
  [[ $body == OK ]]
}

# mlflow_which: what answers /version: "stand-in", "real MLflow <version>", or nothing.
mlflow_which() {
  local v
  v=$(curl -sf --max-time 2 "$MLFLOW_URL/version" 2>/dev/null) || return 1
  if [[ $v == "$STANDIN_NAME"* ]]; then echo "stand-in"; else echo "real MLflow $v"; fi
}

mlflow_up() { pid_alive "$MLFLOW_PID" && mlflow_health; }

# standin_code_hash: the stand-in's code; a running stand-in older than it is restarted by up.
standin_code_hash() { cat "$MLFLOW_DIR"/standin/*.py | sha256sum | cut -c1-16; }

# real_mlflow_ready: the venv holds the pinned MLflow (stamped by a successful install).
real_mlflow_ready() { [[ -x $MLFLOW_VENV/bin/mlflow && $(cat "$MLFLOW_VENV/.mlv-stamp" 2>/dev/null) == "mlflow==$MLFLOW_VERSION" ]]; }
