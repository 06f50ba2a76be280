#!/usr/bin/env python3
"""Lab only: the models the cloud lab serves, made from the project's own MNIST workload.

  <out>/mnist/model.onnx               the MLOPS-1.1 SimpleCNN, trained here on the lab's
                                       real MNIST digits and exported to ONNX
  <out>/mnist-wrong-labels/model.onnx  the same weights with the output classes rotated by one:
                                       a control model whose predictions are all wrong
  <out>/mnist-repository/              both staged as Triton model repositories (what 4.1 serves
  <out>/mnist-wrong-labels-repository/ on kserve-tritonserver): mnist/config.pbtxt and
                                       mnist/1/model.onnx, the model named "mnist" after its directory

Nothing is downloaded. Usage: make-models.py <data-dir> <out-dir>   (train, export, stage)
                              make-models.py --repositories <out-dir> (stage only, no torch)
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "..", "..", "workloads")

# Triton auto-completes max_batch_size to 4 for a batchable ONNX model without a config
# (core src/backend_model.cc default-max-batch-size); the suite's V2 batches are 50 digits.
MAX_BATCH_SIZE = 64
CONFIG = """name: "mnist"
platform: "onnxruntime_onnx"
max_batch_size: {mbs}
"""


def stage_repository(model_file, repo_dir):
    """<repo>/mnist/config.pbtxt and <repo>/mnist/1/model.onnx (replaced atomically)."""
    tmp = repo_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "mnist", "1"))
    shutil.copyfile(model_file, os.path.join(tmp, "mnist", "1", "model.onnx"))
    with open(os.path.join(tmp, "mnist", "config.pbtxt"), "w") as f:
        f.write(CONFIG.format(mbs=MAX_BATCH_SIZE))
    shutil.rmtree(repo_dir, ignore_errors=True)
    os.rename(tmp, repo_dir)


def stage_repositories(out_dir):
    for name in ("mnist", "mnist-wrong-labels"):
        stage_repository(os.path.join(out_dir, name, "model.onnx"), os.path.join(out_dir, name + "-repository"))


def train_and_export(data_dir, out_dir):
    import torch
    from torch import nn

    sys.path.insert(0, WORKLOADS)
    from common.model import SimpleCNN
    from common.onnx_export import export_onnx

    class RotatedLabels(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return torch.roll(self.inner(x), shifts=1, dims=1)

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


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--repositories":
        stage_repositories(sys.argv[2])
        print("model repositories staged in", sys.argv[2])
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    train_and_export(data_dir, out_dir)
    stage_repositories(out_dir)
    print("models written to", out_dir)


if __name__ == "__main__":
    main()
