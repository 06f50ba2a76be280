#!/usr/bin/env bash
# Oumi for the lab's Oumi tasks (MLOPS-1.2, 2.2, 3.1, 3.2): a venv on the shared path, so the compute
# nodes and the launcher (on this machine) run the same Oumi. Installed from the package index at a
# pinned version when the index has it; where it does not (an offline mirror without Oumi), one line
# says so and the Oumi specs skip, naming it. An Oumi venv already at $VENV (installed or linked there
# by hand) is used as it is. Writes MLV_OUMI, MLV_OUMI_RUNNER and MLV_OUMI_MODEL to the target file.
set -euo pipefail
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$LAB/cloud/lib.sh"
OUMI_VERSION=0.8.0
SHARED=${LAB_SRV:-/srv/mlops-lab}/shared
VENV=$SHARED/venvs/oumi
LOG=$LOG_DIR/oumi-install.log
say() { printf '[oumi] %s\n' "$*"; }
mkdir -p "$(dirname "$LOG")" "$SHARED/venvs"

pip_in() { PIP_RETRIES=0 PIP_DISABLE_PIP_VERSION_CHECK=1 timeout "$1" "$VENV/bin/pip" "${@:2}" --no-input --timeout 15 </dev/null >>"$LOG" 2>&1; }
if [[ ! -x $VENV/bin/oumi ]]; then
  : >"$LOG"
  probe=$(mktemp -d)
  if ! timeout 60 /usr/bin/python3 -m venv "$VENV" >>"$LOG" 2>&1; then
    say "no Python venv for Oumi (python3 -m venv failed, see $LOG): the Oumi specs will skip, naming it"
  elif ! pip_in 120 download -q --no-deps -d "$probe" "oumi==$OUMI_VERSION"; then
    if grep -q 'No matching distribution found' "$LOG"; then
      say "the package index has no oumi==$OUMI_VERSION: the Oumi specs (MLOPS-1.2, 2.2, 3.1, 3.2) will skip, naming it; install Oumi into $VENV, or set MLV_OUMI, to run them"
    else
      say "looking for oumi==$OUMI_VERSION failed (see $LOG): the Oumi specs will skip, naming it"
    fi
  else
    say "installing oumi==$OUMI_VERSION into $VENV (log $LOG)"
    pip_in 1800 install -q "oumi==$OUMI_VERSION" || say "installing oumi==$OUMI_VERSION failed (see $LOG): the Oumi specs will skip, naming it"
  fi
  [[ -x $VENV/bin/oumi ]] || rm -rf "$VENV"
  rm -rf "$probe"
fi

keys=("MLV_OUMI_MODEL=$SHARED/models/tiny-llm")
if [[ -x $VENV/bin/oumi ]]; then
  keys+=("MLV_OUMI=$VENV/bin/oumi" "MLV_OUMI_RUNNER=$VENV/bin/oumi")
  version=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("oumi"))' 2>/dev/null || echo unknown)
  say "Oumi $version: $VENV/bin/oumi (MLV_OUMI, MLV_OUMI_RUNNER)"
else
  # keep the target file free of a stale MLV_OUMI from an earlier lab up
  [[ -f $TARGET_ENV ]] && sed -i -E '/^MLV_OUMI(_RUNNER)?=/d' "$TARGET_ENV"
fi
set_env_keys "$TARGET_ENV" "${keys[@]}"
