#!/usr/bin/env bash
# Settings and helpers shared by lab/s3/{up,down,status}.sh. Sourced, not run.
# Builds on lab/cloud/lib.sh (LAB_ROOT, LOG_DIR, RUN_DIR, TARGET_ENV, pid_alive, start_detached,
# stop_pidfile, set_env_keys). Overridable for tests: MLV_LAB_ROOT, MLV_S3_LISTEN (127.0.0.1:9000).

source "$(dirname "${BASH_SOURCE[0]}")/../cloud/lib.sh"
S3_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S3_LISTEN=${MLV_S3_LISTEN:-127.0.0.1:9000}
S3_URL=http://$S3_LISTEN
S3_DATA=$LAB_ROOT/s3
S3_SECRETS=$LAB_ROOT/secrets/s3.env
S3_BUCKET=mlv-e2e
S3_REGION=us-east-1

log() { printf '[s3] %s\n' "$*"; }

# s3_key <NAME>: a value from the secrets file.
s3_key() { sed -n "s/^$1=//p" "$S3_SECRETS" 2>/dev/null | tail -n 1; }

# s3_ok: a real signed request (SigV4, HeadBucket on the lab bucket) answers 200.
s3_ok() {
  local id secret
  id=$(s3_key AWS_ACCESS_KEY_ID) secret=$(s3_key AWS_SECRET_ACCESS_KEY)
  [[ -n $id && -n $secret ]] || return 1
  curl -sf -o /dev/null -I --max-time 3 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$id:$secret" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$S3_URL/$S3_BUCKET"
}

s3_up() { pid_alive "$RUN_DIR/s3.pid" && s3_ok; }
