#!/usr/bin/env bash
# The first README command: bring up the embedded lab (installing what is missing), run the
# suite against it, and build the Allure report and the validation matrix.
#   bash scripts/validate-lab.sh                 # preflight + hpc (+ cloud when the cloud lab is up, + e2e with its store and MLflow)
#   bash scripts/validate-lab.sh --project=hpc   # any extra arguments go to playwright
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "The lab needs root (it installs packages and starts daemons). Re-run as root."; exit 2; }
bash scripts/ensure-deps.sh || exit 1
if [ -f .env ] && [ -z "${MLV_ENV_FILE:-}" ]; then
  echo "Note: ./.env exists, so the suite targets the cluster it describes, not the lab. Move it aside to validate the lab."
fi
bash lab/lab.sh up || { echo "lab up failed (see the message above)"; exit 1; }

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  args=(--project=hpc)
  if bash lab/cloud/status.sh >/dev/null 2>&1 && ls specs/cloud/*.spec.ts >/dev/null 2>&1; then
    args+=(--project=cloud)
    # the train-to-serve path, where the lab's object store and MLflow are up too
    if bash lab/s3/status.sh >/dev/null 2>&1 && bash lab/mlflow/status.sh >/dev/null 2>&1; then args+=(--project=e2e); fi
  fi
fi
start=$(date +%s)
npx playwright test "${args[@]}"
rc=$?
echo "suite wall time: $(( $(date +%s) - start )) s (playwright exit $rc)"
node --import tsx reports/build-report.ts || rc=${rc:-1}
exit $rc
