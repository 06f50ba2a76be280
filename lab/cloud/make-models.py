#!/usr/bin/env python3
"""Lab only: the models the cloud lab serves, made from the project's own MNIST workload.

  <out>/mnist/model.onnx               the MLOPS-1.1 SimpleCNN, trained here on the lab's
                                       real MNIST digits and exported to ONNX (what 4.1 serves)
  <out>/mnist-wrong-labels/model.onnx  the same weights with the output classes rotated by one:
                                       a control model whose predictions are all wrong
Nothing is downloaded. Usage: make-models.py <data-dir> <out-dir>
"""
import os
import subprocess
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "..", "..", "workloads")
sys.path.insert(0, WORKLOADS)
from common.model import SimpleCNN  # noqa: E402
from common.onnx_export import export_onnx  # noqa: E402


class RotatedLabels(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.roll(self.inner(x), shifts=1, dims=1)


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    good = os.path.join(out_dir, "mnist")
    subprocess.run(
        [sys.executable, os.path.join(WORKLOADS, "mnist", "train.py"), "--data-dir", data_dir, "--out-dir", good,
         "--epochs", "2", "--export-onnx"],
        check=True, env={**os.environ, "SLURM_CPUS_PER_TASK": os.environ.get("SLURM_CPUS_PER_TASK", "2")},
    )
    if not os.path.exists(os.path.join(good, "model.onnx")):
        sys.exit("ONNX export failed: see the training output above")
    model = SimpleCNN()
    model.load_state_dict(torch.load(os.path.join(good, "model.pt"), map_location="cpu"))
    bad = os.path.join(out_dir, "mnist-wrong-labels")
    os.makedirs(bad, exist_ok=True)
    err = export_onnx(RotatedLabels(model).eval(), os.path.join(bad, "model.onnx"))
    if err:
        sys.exit("wrong-labels export failed: " + err)
    print("models written to", out_dir)


if __name__ == "__main__":
    main()
