#!/usr/bin/env bash
# One line: the lab's object store up (pid, endpoint, bucket) or down; non-zero exit when down.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if s3_up; then
  echo "s3          up    pid $(<"$RUN_DIR/s3.pid")  $S3_URL  bucket $S3_BUCKET"
else
  echo "s3          down  (log: $LOG_DIR/s3.log)"
  exit 1
fi
