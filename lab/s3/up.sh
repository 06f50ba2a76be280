#!/usr/bin/env bash
# Bring up the lab's S3-compatible object store (lab/s3/server.ts: s3rver behind SigV4 checking)
# on 127.0.0.1:9000 with the bucket mlv-e2e. Idempotent: a store that is up is left alone, one
# whose code changed is restarted. The access key is generated once into the secrets file (0600).
# See lab/s3/README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$S3_DATA" "$(dirname "$S3_SECRETS")" "$LOG_DIR" "$RUN_DIR"
chmod 700 "$S3_DATA" "$(dirname "$S3_SECRETS")"

if [[ -z $(s3_key AWS_ACCESS_KEY_ID) || -z $(s3_key AWS_SECRET_ACCESS_KEY) ]]; then
  id="LAB$(openssl rand -hex 9 | tr a-f A-F | cut -c1-17)"
  secret=$(openssl rand -base64 45 | tr -d '\n/+=' | cut -c1-40)
  (umask 077 && printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$id" "$secret" >"$S3_SECRETS.tmp")
  mv "$S3_SECRETS.tmp" "$S3_SECRETS"
  log "generated the object store's access key into $S3_SECRETS"
fi
chmod 600 "$S3_SECRETS"

# the store's code: a running store older than it (or started with other keys) is restarted
code=$(cat "$S3_SRC"/*.ts "$S3_SECRETS" | sha256sum | cut -d' ' -f1)
if pid_alive "$RUN_DIR/s3.pid" && [[ $(cat "$RUN_DIR/s3.code" 2>/dev/null) != "$code" ]]; then
  log "object store code or keys changed since it started; restarting it"
  stop_pidfile s3 10
fi
if s3_up; then
  log "object store already up (pid $(<"$RUN_DIR/s3.pid")), $S3_URL"
else
  if pid_alive "$RUN_DIR/s3.pid"; then
    log "object store pid alive but not answering; restarting it"
    stop_pidfile s3 5
  fi
  log "starting the object store on $S3_LISTEN"
  # --openssl-legacy-provider: s3rver's ListObjectsV2 continuation tokens use DES
  start_detached s3 node --openssl-legacy-provider --import tsx lab/s3/server.ts \
    --listen "$S3_LISTEN" --data-dir "$S3_DATA" --credentials "$S3_SECRETS" --region "$S3_REGION" --bucket "$S3_BUCKET"
  wait_started s3 30 "object store $S3_URL" s3_up || exit 1
  echo "$code" >"$RUN_DIR/s3.code"
  log "object store up (pid $(<"$RUN_DIR/s3.pid")), $S3_URL, bucket $S3_BUCKET"
fi

# ---- target file for the suite
set_env_keys "$TARGET_ENV" \
  "MLV_S3_ENDPOINT=$S3_URL" \
  "MLV_S3_BUCKET=$S3_BUCKET" \
  "MLV_S3_REGION=$S3_REGION" \
  "AWS_ACCESS_KEY_ID=$(s3_key AWS_ACCESS_KEY_ID)" \
  "AWS_SECRET_ACCESS_KEY=$(s3_key AWS_SECRET_ACCESS_KEY)"
log "wrote MLV_S3_* and AWS_* keys to $TARGET_ENV"
