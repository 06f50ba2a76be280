#!/usr/bin/env bash
# Print up/down for each cloud lab component; exit non-zero if any expected one is down.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CLOUD_DIR/prometheus.sh"

rc=0
pidof_file() { [[ -s $1 ]] && cat "$1" || echo -; }

if apiserver_up; then
  echo "apiserver   up    pid $(pidof_file "$RUN_DIR/apiserver.pid")  $APISERVER_URL"
else
  echo "apiserver   down  (log: $LOG_DIR/apiserver.log)"; rc=1
fi

if [[ -f $CLOUD_DIR/controller/main.ts && ${MLV_CLOUD_SKIP_CONTROLLER:-0} != 1 ]]; then
  if pid_alive "$RUN_DIR/controller.pid" && ingress_ok; then
    echo "controller  up    pid $(pidof_file "$RUN_DIR/controller.pid")  ingress $INGRESS_URL"
  else
    echo "controller  down  (log: $LOG_DIR/controller.log)"; rc=1
  fi
fi

if prometheus_up; then
  echo "prometheus  up    pid $(pidof_file "$RUN_DIR/prometheus.pid")  $PROM_URL ($(prometheus --version 2>/dev/null | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p'))"
else
  echo "prometheus  down  (log: $LOG_DIR/prometheus.log)"; rc=1
fi

shopt -s nullglob
for f in "$RUN_DIR"/runtime-*.pid; do
  name=$(basename "$f" .pid)
  if pid_alive "$f"; then echo "$name  up    pid $(<"$f")"; else echo "$name  down  (stale pidfile)"; fi
done
exit "$rc"
