"""ONNX export of SimpleCNN: input "input" [N,1,28,28] float32, output "logits" [N,10]."""

import copy
import inspect
import os
import warnings

import torch


def export_onnx(model, path):
    """Export with the TorchScript-based exporter.

    torch 1.13 needs no onnx package for this; recent torch 2.x needs `onnx`
    installed (else this returns "OnnxExporterError: Module onnx is not installed!").

    Input "input" [N,1,28,28] float32, output "logits" [N,10], dynamic batch axis.
    Returns None on success or an error string.
    """
    m = copy.deepcopy(model).cpu().eval()
    dummy = torch.zeros(1, 1, 28, 28, dtype=torch.float32)
    kwargs = dict(
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )
    # torch >= 2.9 defaults to the dynamo exporter (needs onnxscript); ask for the classic one.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    tmp = path + ".tmp.%d" % os.getpid()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # legacy-exporter deprecation notices on torch 2.x
            torch.onnx.export(m, dummy, tmp, **kwargs)
        os.replace(tmp, path)
        return None
    except Exception as exc:  # report, don't hide
        if os.path.exists(tmp):
            os.remove(tmp)
        return "%s: %s" % (type(exc).__name__, exc)
