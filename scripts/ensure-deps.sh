#!/usr/bin/env bash
# Installs the project's Node dependencies when they are missing or stale (fresh clone, CI).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi
