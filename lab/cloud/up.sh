#!/usr/bin/env bash
# Bring up the cloud lab: the Kubernetes-compatible API server (lab/cloud/apiserver), the KServe
# CRDs, the InferenceService controller (lab/cloud/controller) when it exists, and Prometheus
# scraping the predictor pods (lab/cloud/prometheus.sh).
# Idempotent: components that are already up are left alone. See lab/cloud/README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CLOUD_DIR/prometheus.sh"

mkdir -p "$STATE_DIR" "$LOG_DIR" "$RUN_DIR"
chmod 700 "$STATE_DIR"

# ---- API server
if apiserver_up; then
  log "apiserver already up (pid $(<"$RUN_DIR/apiserver.pid"))"
else
  if pid_alive "$RUN_DIR/apiserver.pid"; then
    log "apiserver pid alive but not answering; restarting it"
    stop_pidfile apiserver 5
  fi
  log "starting apiserver on $APISERVER_LISTEN"
  start_detached apiserver node --import tsx lab/cloud/apiserver/main.ts \
    --listen "$APISERVER_LISTEN" --state-dir "$STATE_DIR" --quiet
  wait_started apiserver 30 apiserver apiserver_up || exit 1
  log "apiserver up (pid $(<"$RUN_DIR/apiserver.pid")), kubeconfig $KUBECONFIG_FILE"
fi

# ---- KServe CRDs (real kubectl, client-side validation on)
kubectl --kubeconfig "$KUBECONFIG_FILE" apply -f "$CLOUD_DIR/manifests/kserve-crds.yaml" >/dev/null
kubectl --kubeconfig "$KUBECONFIG_FILE" wait --for condition=established --timeout=30s \
  crd/inferenceservices.serving.kserve.io >/dev/null
log "KServe CRDs applied"
# ClusterServingRuntimes (before the controller, so its first selection sees them)
kubectl --kubeconfig "$KUBECONFIG_FILE" apply -f "$CLOUD_DIR/manifests/serving-runtimes.yaml" >/dev/null
log "ClusterServingRuntimes applied (kserve-tritonserver, lab-onnx-python, kserve-huggingfaceserver)"

# ---- controller (owned by lab/cloud/controller; started only when it exists)
if [[ ${MLV_CLOUD_SKIP_CONTROLLER:-0} == 1 ]]; then
  log "MLV_CLOUD_SKIP_CONTROLLER=1: controller not started"
elif [[ -f $CLOUD_DIR/controller/main.ts ]]; then
  # the controller's code (and the runtimes it spawns): a running controller older than it is restarted
  code=$(cat "$CLOUD_DIR"/controller/*.ts "$CLOUD_DIR"/runtime/*.ts "$CLOUD_DIR"/runtime-hf/*.py "$CLOUD_DIR"/http.ts | sha256sum | cut -d' ' -f1)
  if pid_alive "$RUN_DIR/controller.pid" && [[ $(cat "$RUN_DIR/controller.code" 2>/dev/null) != "$code" ]]; then
    log "controller code changed since it started; restarting it"
    stop_pidfile controller 15
  fi
  if pid_alive "$RUN_DIR/controller.pid"; then
    log "controller already up (pid $(<"$RUN_DIR/controller.pid"))"
  else
    log "starting controller"
    start_detached controller node --import tsx lab/cloud/controller/main.ts \
      --kubeconfig "$KUBECONFIG_FILE" --state-dir "$STATE_DIR" --ingress "$INGRESS_LISTEN"
    wait_started controller 30 "controller ingress $INGRESS_URL" ingress_ok || exit 1
    echo "$code" > "$RUN_DIR/controller.code"
    log "controller up (pid $(<"$RUN_DIR/controller.pid")), ingress $INGRESS_URL"
  fi
else
  log "no lab/cloud/controller/main.ts yet; controller not started"
fi

# ---- Prometheus, scraping the predictor pods the controller lists (Debian's package)
ensure_prometheus_package || exit 1
start_prometheus || exit 1

# ---- models the lab serves (from the project's own MNIST workload; PVC-style storage)
MODELS_DIR="$STATE_DIR/pvc/mlv-models"
if [[ ! -f $MODELS_DIR/mnist/model.onnx || ! -f $MODELS_DIR/mnist-wrong-labels/model.onnx ]]; then
  log "training and exporting the lab's MNIST ONNX models (about 30 s)"
  /usr/bin/python3 "$CLOUD_DIR/make-models.py" /srv/mlops-lab/shared/datasets/mnist "$MODELS_DIR" > "$LOG_DIR/make-models.log" 2>&1 \
    || { log "model export failed:"; tail -n 20 "$LOG_DIR/make-models.log" >&2; exit 1; }
fi
# the same models as Triton model repositories (<repo>/mnist/config.pbtxt, <repo>/mnist/1/model.onnx)
if [[ ! -f $MODELS_DIR/mnist-repository/mnist/1/model.onnx || ! -f $MODELS_DIR/mnist-wrong-labels-repository/mnist/1/model.onnx ]]; then
  /usr/bin/python3 "$CLOUD_DIR/make-models.py" --repositories "$MODELS_DIR" >> "$LOG_DIR/make-models.log" 2>&1 \
    || { log "staging the model repositories failed:"; tail -n 20 "$LOG_DIR/make-models.log" >&2; exit 1; }
  log "MNIST model repositories staged in $MODELS_DIR"
fi

# the lab's tiny causal LM (lab/llm, built by `lab up`) where pvc://mlv-models/tiny-llm resolves, for 4.2
LLM_SRC=${LAB_LLM_MODEL_DIR:-/srv/mlops-lab/shared/models/tiny-llm}
llm_uri=""
if [[ -f $LLM_SRC/config.json && -f $LLM_SRC/model.safetensors ]]; then
  if ! cmp -s "$LLM_SRC/model.safetensors" "$MODELS_DIR/tiny-llm/model.safetensors"; then
    rm -rf "$MODELS_DIR/tiny-llm.tmp" && cp -r "$LLM_SRC" "$MODELS_DIR/tiny-llm.tmp"
    rm -rf "$MODELS_DIR/tiny-llm" && mv "$MODELS_DIR/tiny-llm.tmp" "$MODELS_DIR/tiny-llm"
    log "tiny LLM staged in $MODELS_DIR/tiny-llm"
  fi
  llm_uri="pvc://mlv-models/tiny-llm"
else
  log "no tiny LLM at $LLM_SRC (lab/llm not built): MLV_LLM_MODEL_URI not written, 4.2 skips"
fi

# ---- the models' claim, as a site provisions one: namespace mlv-models, a static hostPath volume
# (ReadOnlyMany, Retain) over $MODELS_DIR and the claim mlv-models pre-bound to it. KServe finds a
# pvc:// claim only in the InferenceService's namespace: the suite gives each run namespace a claim
# bound to a copy of this volume (MLV_KUBE_MODEL_NAMESPACE, clients/kube-claims.ts).
kubectl --kubeconfig "$KUBECONFIG_FILE" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: mlv-models}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: mlv-models}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadOnlyMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: "$MODELS_DIR", type: Directory}
  claimRef: {namespace: mlv-models, name: mlv-models}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: mlv-models, namespace: mlv-models}
spec:
  accessModes: [ReadOnlyMany]
  resources: {requests: {storage: 1Gi}}
  storageClassName: ""
  volumeName: mlv-models
EOF
log "claim mlv-models/mlv-models applied (volume mlv-models: hostPath $MODELS_DIR)"

# ---- target file for the suite
caps=$(sed -n 's/^MLV_CAPABILITIES=//p' "$TARGET_ENV" 2>/dev/null | tail -n 1)
[[ ,$caps, == *,kserve,* ]] || caps="${caps:+$caps,}kserve"
set_env_keys "$TARGET_ENV" \
  "MLV_CAPABILITIES=$caps" \
  "MLV_MNIST_MODEL_URI=pvc://mlv-models/mnist-repository" \
  "MLV_CONTROL_WRONG_MODEL_URI=pvc://mlv-models/mnist-wrong-labels-repository" \
  "MLV_KUBECONFIG=$KUBECONFIG_FILE" \
  "MLV_KUBE_CONTEXT=mlv-lab" \
  "MLV_KUBE_MODEL_NAMESPACE=mlv-models" \
  "MLV_INGRESS_URL=$INGRESS_URL" \
  "MLV_INFERENCE_CA=$STATE_DIR/ca.crt" \
  "MLV_PROMETHEUS_URL=$PROM_URL" \
  ${llm_uri:+"MLV_LLM_MODEL_URI=$llm_uri"}
log "wrote cloud keys to $TARGET_ENV"
