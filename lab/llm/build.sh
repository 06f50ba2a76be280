#!/usr/bin/env bash
# The lab's tiny causal LM (MLOPS-4.2 serving, the Oumi tasks): a venv with CPU torch and
# transformers from the package index, then lab/llm/build.py trains the tokenizer and the model
# on lab/llm/corpus.txt and saves them with save_pretrained. Nothing comes from a model hub.
#
#   <shared>/venvs/llm/               the venv (also runs lab/cloud/runtime-hf)
#   <shared>/models/tiny-llm/         config.json, generation_config.json, model.safetensors, tokenizer files
#   <shared>/datasets/tiny-llm/       sft.jsonl (chat, messages format), eval.txt, eval-prompts.jsonl
#
# Idempotent: each part is skipped while its stamp matches the hash of its inputs.
# Overrides (tests): LAB_SRV (default /srv/mlops-lab; shared = $LAB_SRV/shared), LAB_DIR (logs).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHARED=${LAB_SRV:-/srv/mlops-lab}/shared
VENV=$SHARED/venvs/llm
OUT=$SHARED/models/tiny-llm
DATA=$SHARED/datasets/tiny-llm
LOG=${LAB_DIR:-/var/lib/mlops-lab}/log/llm-build.log
PY=/usr/bin/python3

say() { printf '[lab] %s\n' "$*"; }
fail() { say "tiny LLM build failed ($1); last lines of $LOG:" >&2; tail -n 20 "$LOG" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

mkdir -p /run/lock "$(dirname "$LOG")" "$SHARED/venvs" "$SHARED/models" "$DATA"
exec 8>/run/lock/mlops-lab-llm.lock
flock -w 600 8 || { say "another tiny LLM build has held the lock for 600 s" >&2; exit 1; }

venv_hash=$(hash_of "$HERE/requirements.txt")
model_hash=$(hash_of "$HERE/requirements.txt" "$HERE/build.py" "$HERE/corpus.txt")
install -m 644 "$HERE"/../../workloads/oumi/data/{sft.jsonl,eval.txt,eval-prompts.jsonl} "$DATA/"

if [[ $(cat "$VENV/.mlv-stamp" 2>/dev/null) == "$venv_hash" && $(cat "$OUT/.mlv-stamp" 2>/dev/null) == "$model_hash" ]]; then
  say "tiny LLM up to date: $OUT (venv $VENV)"
  exit 0
fi

start=$(date +%s.%N)
say "building the tiny LLM (the venv when missing, then ~20-60 s of training; log $LOG)"
: >"$LOG"
if [[ $(cat "$VENV/.mlv-stamp" 2>/dev/null) != "$venv_hash" ]]; then
  if ! dpkg -s python3-venv >/dev/null 2>&1; then # Debian's venv needs it (ensurepip)
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv; } </dev/null >>"$LOG" 2>&1 \
      || fail "apt-get install python3-venv"
  fi
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" >>"$LOG" 2>&1 || fail "python3 -m venv"
  # PIP_RETRIES=0: an index that cannot be reached fails at once instead of retrying for minutes.
  PIP_RETRIES=0 "$VENV/bin/pip" install --no-input -r "$HERE/requirements.txt" </dev/null >>"$LOG" 2>&1 \
    || fail "pip install -r lab/llm/requirements.txt"
  echo "$venv_hash" >"$VENV/.mlv-stamp"
fi
venv_done=$(date +%s.%N)

tmp=$OUT.tmp.$$
rm -rf "$tmp"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" "$HERE/build.py" --corpus "$HERE/corpus.txt" --out "$tmp" </dev/null >>"$LOG" 2>&1 \
  || { rm -rf "$tmp"; fail "lab/llm/build.py"; }
echo "$model_hash" >"$tmp/.mlv-stamp"
rm -rf "$OUT"
mv "$tmp" "$OUT"
chmod -R a+rX "$VENV" "$OUT" "$DATA"
say "tiny LLM built in $(awk -v a="$start" -v b="$(date +%s.%N)" -v v="$venv_done" \
  'BEGIN { printf "%.1f s (venv %.1f s, model %.1f s)", b - a, v - a, b - v }'): $OUT, $(grep -m1 '^params ' "$LOG" || true)"
