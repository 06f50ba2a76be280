#!/usr/bin/env bash
# Stop the lab's object store. Idempotent. `--purge` also removes its objects and its access key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
for a in "$@"; do [[ $a == --purge ]] && purge=true; done

stop_pidfile s3 10
rm -f "$RUN_DIR/s3.code"
if $purge; then
  rm -rf "$S3_DATA" "$S3_SECRETS"
  log "removed $S3_DATA and $S3_SECRETS"
fi
log "object store down"
