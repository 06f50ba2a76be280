#!/usr/bin/env bash
# Bring up the lab's MLflow tracking server on 127.0.0.1:5050: the real MLflow when the package
# index has the pinned version, else the lab's MLflow-REST stand-in (lab/mlflow/standin).
# Idempotent: a server that is up is left alone (a stand-in older than its code is restarted).
# Writes MLFLOW_TRACKING_URI to the lab's target file. See lab/mlflow/README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$MLFLOW_STATE" "$LOG_DIR" "$RUN_DIR" /run/lock
exec 9>/run/lock/mlops-lab-mlflow.lock
flock -w 120 9 || { log "another lab/mlflow/up.sh or down.sh has held the lock for 120 s"; exit 1; }

# ---- 1. the real MLflow, when the package index provides it (a failure is retried once an hour)
try_install_real() {
  local pip_log=$LOG_DIR/mlflow-pip.log now ver last reason missing
  real_mlflow_ready && return 0
  now=$(date +%s)
  if [[ -s $MLFLOW_PIP_STAMP ]]; then
    read -r ver last reason <"$MLFLOW_PIP_STAMP" || true
    if [[ $ver == "$MLFLOW_VERSION" && $last =~ ^[0-9]+$ ]] && ((now - last < MLFLOW_PIP_RETRY_S)); then
      INSTALL_FAILURE=$reason
      return 1
    fi
  fi
  : >"$pip_log"
  reason=""
  rm -rf "$MLFLOW_VENV"
  mkdir -p "$(dirname "$MLFLOW_VENV")"
  if ! timeout 60 /usr/bin/python3 -m venv "$MLFLOW_VENV" >>"$pip_log" 2>&1; then
    reason="venv-failed"
  elif ! PIP_RETRIES=0 PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 300 "$MLFLOW_VENV/bin/pip" install --no-input \
      --timeout 15 "mlflow==$MLFLOW_VERSION" </dev/null >>"$pip_log" 2>&1; then
    missing=$(sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' "$pip_log")
    missing=${missing%%$'\n'*}
    if [[ $missing == mlflow==* ]]; then
      reason="no-such-version"
    elif [[ -n $missing ]]; then
      reason="missing-dependency:$missing"
    else
      reason="pip-failed"
    fi
  elif [[ ! -x $MLFLOW_VENV/bin/mlflow ]]; then
    reason="pip-failed"
  fi
  if [[ -n $reason ]]; then
    rm -rf "$MLFLOW_VENV"
    echo "$MLFLOW_VERSION $now $reason" >"$MLFLOW_PIP_STAMP"
    INSTALL_FAILURE=$reason
    return 1
  fi
  echo "mlflow==$MLFLOW_VERSION" >"$MLFLOW_VENV/.mlv-stamp"
  rm -f "$MLFLOW_PIP_STAMP"
  return 0
}

INSTALL_FAILURE=""
use_real=false
if [[ ${MLV_MLFLOW_STANDIN_ONLY:-0} == 1 ]]; then
  log "MLV_MLFLOW_STANDIN_ONLY=1: running the lab's MLflow-REST stand-in (lab/mlflow/standin), see lab/mlflow/README.md"
elif try_install_real; then
  use_real=true
else
  case $INSTALL_FAILURE in
    no-such-version) why="the package index has no mlflow==$MLFLOW_VERSION" ;;
    missing-dependency:*) why="mlflow==$MLFLOW_VERSION needs ${INSTALL_FAILURE#missing-dependency:}, which the package index does not have" ;;
    *) why="installing mlflow==$MLFLOW_VERSION failed ($INSTALL_FAILURE, see $LOG_DIR/mlflow-pip.log)" ;;
  esac
  log "$why: running the lab's MLflow-REST stand-in (lab/mlflow/standin), see lab/mlflow/README.md"
fi

if $use_real; then
  want="real MLflow $MLFLOW_VERSION"
else
  want="stand-in $(standin_code_hash)"
fi

# ---- 2. leave a matching server alone; restart one that is stale or of the other kind
if pid_alive "$MLFLOW_PID"; then
  have=$(cat "$MLFLOW_KIND" 2>/dev/null || true)
  if [[ $have != "$want" ]]; then
    log "running: ${have:-unknown}; wanted: $want; restarting"
    stop_pidfile mlflow 10
  elif mlflow_health; then
    log "already up (pid $(<"$MLFLOW_PID")): $(mlflow_which || echo "$have") on $MLFLOW_URL"
    set_env_keys "$TARGET_ENV" "MLFLOW_TRACKING_URI=$MLFLOW_URL"
    exit 0
  else
    log "pid $(<"$MLFLOW_PID") alive but $MLFLOW_URL/health does not answer; restarting"
    stop_pidfile mlflow 10
  fi
fi
rm -f "$MLFLOW_PID" "$MLFLOW_KIND"

# something else on the port (not ours): say so instead of starting a second server
if curl -s -o /dev/null --max-time 2 "$MLFLOW_URL/" 2>/dev/null; then
  log "$MLFLOW_LISTEN already answers, but not from a server this lab started (no live $MLFLOW_PID): $(mlflow_which || echo unknown)"
  log "stop it (or set MLV_MLFLOW_LISTEN) and rerun lab/mlflow/up.sh"
  exit 1
fi

# ---- 3. start it, detached (without our lock's fd 9), and wait for /health
if $use_real; then
  state=$MLFLOW_STATE/mlflow-$MLFLOW_VERSION
  mkdir -p "$state/artifacts"
  start_detached mlflow "$MLFLOW_VENV/bin/mlflow" server \
    --backend-store-uri "sqlite:///$state/mlflow.db" --serve-artifacts --artifacts-destination "$state/artifacts" \
    --host "$MLFLOW_HOST" --port "$MLFLOW_PORT" 9>&-
  wait_s=90
else
  state=$MLFLOW_STATE/standin
  mkdir -p "$state"
  start_detached mlflow /usr/bin/python3 "$MLFLOW_DIR/standin/server.py" \
    --host "$MLFLOW_HOST" --port "$MLFLOW_PORT" --state-dir "$state" --quiet 9>&-
  wait_s=10
fi
echo "$want" >"$MLFLOW_KIND"
if ! wait_started mlflow "$wait_s" "$MLFLOW_URL/health" mlflow_health; then
  stop_pidfile mlflow 5
  rm -f "$MLFLOW_KIND"
  exit 1
fi
log "up (pid $(<"$MLFLOW_PID")): $(mlflow_which || echo "$want") on $MLFLOW_URL, state $state"

# ---- 4. target file for the suite
set_env_keys "$TARGET_ENV" "MLFLOW_TRACKING_URI=$MLFLOW_URL"
log "wrote MLFLOW_TRACKING_URI to $TARGET_ENV"
