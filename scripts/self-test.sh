#!/usr/bin/env bash
# `npm test`: the project's own tests. Typecheck, formatter check and linter first; unit tests
# need nothing; the integration tests bring up the lab (as root) and run the suite against it,
# including control runs that must fail.
#   MLV_SKIP_INTEGRATION=1 npm test   # unit tests and typecheck only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# Tools the unit tests drive for real (they come with this machine kind; install if a slimmer one lacks them).
if ! command -v ssh-keygen >/dev/null || ! command -v openssl >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "ssh-keygen and openssl are needed (apt-get install openssh-client openssl)"; exit 1; }
  apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-client openssl </dev/null
fi
echo "== typecheck"
npx tsc --noEmit -p .
echo "== format (prettier --check; npm run format fixes)"
npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "format check failed: run npm run format"; exit 1; }
echo "== lint (eslint)"
npx eslint .
echo "== unit tests"
node --import tsx --test --test-reporter=spec tests/unit/*.test.ts
if [ "${MLV_SKIP_INTEGRATION:-0}" = 1 ]; then
  echo "integration tests skipped (MLV_SKIP_INTEGRATION=1)"
  exit 0
fi
echo "== lab up"
bash lab/lab.sh up
echo "== integration tests"
node --import tsx --test --test-reporter=spec --test-concurrency=1 tests/integration/*.test.ts
