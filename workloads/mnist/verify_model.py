#!/usr/bin/env python3
"""Verify a trained SimpleCNN: load model.pt, evaluate on the test split.

Prints one line:  MLV_VERIFY {"loaded": true, "test_accuracy": ..., "parameters": N, "onnx_checked": ...}

Exit codes: 0 ok; 1 model (or requested ONNX file) cannot be loaded;
2 bad data dir; 3 test accuracy below --min-accuracy;
4 ONNX output disagrees with torch (argmax agreement < --onnx-min-agreement).
With --onnx, the ONNX model is checked only when onnxruntime is importable;
otherwise the line says "onnx_checked": false with the reason.
"""

import argparse
import inspect
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from common import runtime  # noqa: E402
from common.mnist_data import DataError, load_split  # noqa: E402
from common.model import SimpleCNN, count_parameters, evaluate  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Load and evaluate a trained SimpleCNN")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--model", required=True, help="path to model.pt (a SimpleCNN state_dict)")
    p.add_argument("--test-samples", type=int, default=0, help="first N test samples (0 = all)")
    p.add_argument("--onnx", default=None, help="optional model.onnx to compare with torch")
    p.add_argument("--min-accuracy", type=float, default=0.0, help="exit 3 when test accuracy is below this")
    p.add_argument("--onnx-min-agreement", type=float, default=0.99)
    return p.parse_args(argv)


def load_state_dict(path):
    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = True
    obj = torch.load(path, **kwargs)
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise ValueError("%s does not hold a state_dict (got %s)" % (path, type(obj).__name__))
    # accept checkpoints saved from a DDP-wrapped model
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def check_onnx(path, model, x, batch_size=500):
    """Compare ONNX Runtime and torch outputs. Returns a dict of results."""
    try:
        import onnxruntime as ort
    except Exception as exc:
        return {"onnx_checked": False, "onnx_reason": "onnxruntime not importable (%s)" % type(exc).__name__}
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inputs = [i.name for i in sess.get_inputs()]
    outputs = [o.name for o in sess.get_outputs()]
    agree = 0
    max_diff = 0.0
    model.eval()
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]
            ref = model(xb).numpy()
            got = sess.run(None, {inputs[0]: xb.numpy().astype(np.float32)})[0]
            agree += int((ref.argmax(1) == got.argmax(1)).sum())
            max_diff = max(max_diff, float(np.abs(ref - got).max()))
    return {
        "onnx_checked": True,
        "onnx_inputs": inputs,
        "onnx_outputs": outputs,
        "onnx_argmax_agreement": agree / max(1, x.shape[0]),
        "onnx_max_abs_diff": max_diff,
        "onnxruntime_version": ort.__version__,
    }


def main(argv=None):
    args = parse_args(argv)
    runtime.set_threads()
    result = {"model_path": os.path.abspath(args.model), "loaded": False}

    def finish(code):
        print(runtime.result_line("MLV_VERIFY", result), flush=True)
        return code

    try:
        state = load_state_dict(args.model)
        model = SimpleCNN()
        model.load_state_dict(state)
    except Exception as exc:
        result["error"] = "cannot load model: %s: %s" % (type(exc).__name__, exc)
        print("ERROR: %s" % result["error"], file=sys.stderr, flush=True)
        return finish(1)
    result["loaded"] = True
    result["parameters"] = count_parameters(model)

    try:
        x, y = load_split(args.data_dir, "test", args.test_samples)
    except DataError as exc:
        result["error"] = "bad data dir: %s" % exc
        print("ERROR: %s" % result["error"], file=sys.stderr, flush=True)
        return finish(2)

    t0 = time.time()
    acc, loss = evaluate(model, x, y, torch.device("cpu"))
    result.update({
        "test_accuracy": acc,
        "test_loss": loss,
        "test_samples": int(x.shape[0]),
        "eval_seconds": time.time() - t0,
        "torch_version": torch.__version__,
        "hostname": runtime.env_facts()["hostname"],
        "onnx_checked": False,
    })

    code = 0
    if args.onnx:
        result["onnx_path"] = os.path.abspath(args.onnx)
        if not os.path.isfile(args.onnx):
            result["error"] = "ONNX file %s not found" % args.onnx
            print("ERROR: %s" % result["error"], file=sys.stderr, flush=True)
            return finish(1)
        try:
            result.update(check_onnx(args.onnx, model, x))
        except Exception as exc:
            result["error"] = "cannot run ONNX model: %s: %s" % (type(exc).__name__, exc)
            print("ERROR: %s" % result["error"], file=sys.stderr, flush=True)
            return finish(1)
        if result.get("onnx_checked") and result["onnx_argmax_agreement"] < args.onnx_min_agreement:
            print("ERROR: ONNX/torch argmax agreement %.4f < %.4f"
                  % (result["onnx_argmax_agreement"], args.onnx_min_agreement), file=sys.stderr, flush=True)
            code = 4
    else:
        result["onnx_reason"] = "no --onnx given"
    if acc < args.min_accuracy:
        print("ERROR: test accuracy %.4f < --min-accuracy %.4f" % (acc, args.min_accuracy), file=sys.stderr, flush=True)
        code = code or 3
    return finish(code)


if __name__ == "__main__":
    sys.exit(main())
