#!/usr/bin/env bash
# Settings and helpers shared by lab/cloud/{up,down,status}.sh. Sourced, not run.
# Overridable for tests: MLV_LAB_ROOT (default /var/lib/mlops-lab), MLV_APISERVER_LISTEN
# (127.0.0.1:6443), MLV_INGRESS_LISTEN (127.0.0.1:8443, passed to the controller as --ingress),
# MLV_CLOUD_SKIP_CONTROLLER=1 (up/status ignore the controller).

CLOUD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CLOUD_DIR/../.." && pwd)
LAB_ROOT=${MLV_LAB_ROOT:-/var/lib/mlops-lab}
STATE_DIR=$LAB_ROOT/cloud
LOG_DIR=$LAB_ROOT/log
RUN_DIR=$LAB_ROOT/run
TARGET_ENV=$LAB_ROOT/target.env
APISERVER_LISTEN=${MLV_APISERVER_LISTEN:-127.0.0.1:6443}
APISERVER_URL=https://${APISERVER_LISTEN}
KUBECONFIG_FILE=$STATE_DIR/kubeconfig
INGRESS_LISTEN=${MLV_INGRESS_LISTEN:-127.0.0.1:8443}
INGRESS_URL=https://${INGRESS_LISTEN}

log() { printf '[cloud] %s\n' "$*"; }

# pid_alive <pidfile>: the pid in the file is a live process (not a zombie).
pid_alive() {
  local f=$1 pid state
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

# api_ok: a real authenticated request to the API server answers 200.
api_ok() {
  [[ -s $STATE_DIR/token && -s $STATE_DIR/ca.crt ]] || return 1
  curl -sf -o /dev/null --max-time 3 --cacert "$STATE_DIR/ca.crt" \
    -H "Authorization: Bearer $(<"$STATE_DIR/token")" \
    "$APISERVER_URL/api/v1/namespaces/default"
}

apiserver_up() { pid_alive "$RUN_DIR/apiserver.pid" && api_ok; }

# ingress_ok: the controller's ingress router answers HTTPS (any HTTP status) with a cert from the lab CA.
ingress_ok() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert "$STATE_DIR/ca.crt" "$INGRESS_URL/" 2>/dev/null) || true
  [[ -n $code && $code != 000 ]]
}

# start_detached <name> <cmd...>: run in its own session from the repo root, stdin closed,
# output appended to $LOG_DIR/<name>.log, pid in $RUN_DIR/<name>.pid.
start_detached() {
  local name=$1; shift
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  (
    cd "$REPO_DIR"
    setsid "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 &
    echo $! >"$RUN_DIR/$name.pid"
  )
}

# stop_pidfile <name> [timeout_s]: TERM, wait, then KILL; removes the pidfile.
stop_pidfile() {
  local name=$1 timeout=${2:-10} f="$RUN_DIR/$1.pid" pid i
  if pid_alive "$f"; then
    pid=$(<"$f")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "$name stopped"
  fi
  rm -f "$f"
}

# set_env_keys <file> KEY=VALUE...: replace exactly those keys' lines, keep every other line.
set_env_keys() {
  local file=$1; shift
  mkdir -p "$(dirname "$file")"
  touch "$file"
  local tmp keys
  tmp=$(mktemp "$file.XXXXXX")
  keys=$(printf '%s\n' "$@" | sed 's/=.*//' | paste -sd'|' -)
  grep -vE "^(${keys})=" "$file" >"$tmp" || true
  printf '%s\n' "$@" >>"$tmp"
  chmod 600 "$tmp" # the target file holds the lab object store's secret key
  mv "$tmp" "$file"
}

# wait_started <name> <seconds> <what> <check...>: wait until the check passes while the process
# of $RUN_DIR/<name>.pid lives. If it exits or the time runs out, say so with the last lines of
# $LOG_DIR/<name>.log and return 1 (the caller cleans up and exits).
wait_started() {
  local name=$1 secs=$2 what=$3 i; shift 3
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    if ! pid_alive "$RUN_DIR/$name.pid"; then
      log "$name exited; last log lines:"; tail -n 20 "$LOG_DIR/$name.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  "$@" && return 0
  log "$what did not answer within $secs s; last log lines:"; tail -n 20 "$LOG_DIR/$name.log" >&2 || true
  return 1
}
