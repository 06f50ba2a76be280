#!/usr/bin/env bash
# The cloud lab's Prometheus (Debian's `prometheus` package, 2.42 on bookworm): settings and helpers
# for lab/cloud/{up,status,down}.sh. Sourced after lib.sh, not run.
# It listens on 127.0.0.1 only (MLV_PROMETHEUS_LISTEN, default 127.0.0.1:9090), scrapes every second,
# and finds the predictor pods in the targets file the controller writes
# (lab/cloud/controller/scrape-targets.ts), labelled as kubernetes_sd_configs + the usual
# relabeling label them on a cluster. Data: $STATE_DIR/prometheus/data (2 h retention);
# log: $LOG_DIR/prometheus.log; pid: $RUN_DIR/prometheus.pid.

PROM_LISTEN=${MLV_PROMETHEUS_LISTEN:-127.0.0.1:9090}
PROM_URL=http://${PROM_LISTEN}
PROM_DIR=$STATE_DIR/prometheus
PROM_CONFIG=$PROM_DIR/prometheus.yml
PROM_TARGETS_DIR=$PROM_DIR/targets

# prometheus_ok: it answers /-/ready (200 once the TSDB is open and the config loaded).
prometheus_ok() { curl -sf -o /dev/null --max-time 3 "$PROM_URL/-/ready"; }

prometheus_up() { pid_alive "$RUN_DIR/prometheus.pid" && prometheus_ok; }

# ensure_prometheus_package: install Debian's prometheus when missing (as lab/slurm/up.sh installs
# its packages: no recommends, no stdin). The package's own service is not used: the lab starts
# its own instance with its own config.
ensure_prometheus_package() {
  [[ $(dpkg-query -W -f='${Status}' prometheus 2>/dev/null) == 'install ok installed' ]] && return 0
  log "installing Debian's prometheus"
  DEBIAN_FRONTEND=noninteractive apt-get update </dev/null >>"$LOG_DIR/prometheus-install.log" 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus </dev/null >>"$LOG_DIR/prometheus-install.log" 2>&1 ||
    { log "apt-get install prometheus failed; last lines of $LOG_DIR/prometheus-install.log:"; tail -n 20 "$LOG_DIR/prometheus-install.log" >&2; return 1; }
}

# prometheus_config: the scrape config, on stdout. Under the lab fault prometheus-double-scrape
# (its marker in $LAB_ROOT/faults) a second job scrapes the same pods, as a PodMonitor beside an
# annotation-based kubernetes-pods job does on a cluster: every series twice, with another job label.
prometheus_config() {
  cat <<EOF
# Written by lab/cloud/up.sh (lab/cloud/prometheus.sh); rewritten at each start.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 15s
scrape_configs:
  # The predictor pods, as a "kubernetes-pods" job with kubernetes_sd_configs (role: pod) finds them
  # on a cluster; here the lab controller lists them (lab/cloud/controller/scrape-targets.ts).
  - job_name: kubernetes-pods
    file_sd_configs:
      - files: ["$PROM_TARGETS_DIR/*.json"]
        refresh_interval: 5s
EOF
  if [[ -e $LAB_ROOT/faults/prometheus-double-scrape ]]; then
    cat <<EOF
  # lab fault prometheus-double-scrape (lab/fault.sh)
  - job_name: podmonitor-duplicate
    file_sd_configs:
      - files: ["$PROM_TARGETS_DIR/*.json"]
        refresh_interval: 5s
EOF
  fi
}

# start_prometheus: (re)start it when its config changed or it is down; idempotent.
start_prometheus() {
  local want
  mkdir -p "$PROM_DIR/data" "$PROM_TARGETS_DIR"
  [[ -f $PROM_TARGETS_DIR/pods.json ]] || echo '[]' >"$PROM_TARGETS_DIR/pods.json"
  want=$(prometheus_config)
  if pid_alive "$RUN_DIR/prometheus.pid" && [[ $(cat "$PROM_CONFIG" 2>/dev/null) != "$want" ]]; then
    log "prometheus config changed; restarting it"
    stop_pidfile prometheus 10
  fi
  if prometheus_up; then
    log "prometheus already up (pid $(<"$RUN_DIR/prometheus.pid")), $PROM_URL"
    return 0
  fi
  if pid_alive "$RUN_DIR/prometheus.pid"; then
    log "prometheus pid alive but not answering; restarting it"
    stop_pidfile prometheus 10
  fi
  printf '%s\n' "$want" >"$PROM_CONFIG"
  log "starting prometheus $(prometheus --version 2>/dev/null | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p') on $PROM_LISTEN"
  start_detached prometheus prometheus --config.file="$PROM_CONFIG" --storage.tsdb.path="$PROM_DIR/data" \
    --storage.tsdb.retention.time=2h --web.listen-address="$PROM_LISTEN"
  wait_started prometheus 30 "prometheus $PROM_URL" prometheus_ok || return 1
  log "prometheus up (pid $(<"$RUN_DIR/prometheus.pid")), $PROM_URL"
}
