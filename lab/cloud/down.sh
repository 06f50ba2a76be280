#!/usr/bin/env bash
# Stop the cloud lab: model-server runtimes, controller, Prometheus, then the API server. Idempotent.
# `--purge` (as passed by lab/lab.sh down --purge) also removes the state dir (CA, token, kubeconfig).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
for a in "$@"; do [[ $a == --purge ]] && purge=true; done

stop_pidfile controller 10
shopt -s nullglob
for f in "$RUN_DIR"/runtime-*.pid; do
  name=$(basename "$f" .pid)
  stop_pidfile "$name" 5
done
shopt -u nullglob
stop_pidfile prometheus 10
stop_pidfile apiserver 10
if $purge; then
  rm -rf "$STATE_DIR"
  log "removed $STATE_DIR"
fi
log "cloud lab down"
