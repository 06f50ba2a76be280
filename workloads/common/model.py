"""SimpleCNN from the MLOPS-1.1 plan.

conv(1->32, 3) -> relu -> conv(32->64, 3) -> relu -> maxpool 2 -> [dropout]
-> flatten (64*12*12 = 9216) -> fc 128 -> relu -> [dropout] -> fc 10 (logits)

CPU speed note: Debian's torch 1.13 is linked against the reference (netlib)
BLAS, where fc1's 9216x128 matmul takes ~75% of a training step. When torch's
BLAS is not MKL/OpenBLAS, fc1 is computed on CPU as the mathematically identical
1x1 convolution over the same weight (oneDNN kernel, ~10x faster for this
layer). Parameters, state_dict and ONNX graph are unchanged (the plain
nn.Linear path is used on CUDA, while tracing/ONNX export, and with fast BLAS).
"""

import re

import torch
from torch import nn
from torch.nn import functional as F


def _slow_blas():
    """True when torch's CPU matmul goes through a generic (reference) BLAS."""
    try:
        config = torch.__config__.show()
    except Exception:
        return False
    if not torch.backends.mkldnn.is_available():
        return False
    match = re.search(r"BLAS_INFO=([^,\s]+)", config)
    if not match:
        return False
    value = match.group(1).lower()
    return not ("mkl" in value or "open" in value or "accelerate" in value)


CPU_FC_VIA_CONV = _slow_blas()


class SimpleCNN(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.pool = nn.MaxPool2d(2)
        self.dropout1 = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc1 = nn.Linear(9216, 128)
        self.dropout2 = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = self.pool(x)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = torch.relu(self._fc1(x))
        x = self.dropout2(x)
        return self.fc2(x)


    def _fc1(self, x):
        if (CPU_FC_VIA_CONV and x.device.type == "cpu" and not torch.jit.is_tracing()
                and not torch.jit.is_scripting() and not torch.onnx.is_in_onnx_export()):
            w = self.fc1.weight
            out = F.conv2d(x.reshape(x.shape[0], w.shape[1], 1, 1),
                           w.view(w.shape[0], w.shape[1], 1, 1), self.fc1.bias)
            return out.flatten(1)
        return self.fc1(x)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def evaluate_counts(model, x, y, device, batch_size=256):
    """Return (correct, summed loss, n) of `model` on tensors x, y."""
    model.eval()
    correct = 0
    loss_sum = 0.0
    for i in range(0, x.shape[0], batch_size):
        xb = x[i:i + batch_size].to(device, non_blocking=True)
        yb = y[i:i + batch_size].to(device, non_blocking=True)
        out = model(xb)
        loss_sum += float(nn.functional.cross_entropy(out, yb, reduction="sum"))
        correct += int((out.argmax(1) == yb).sum())
    return correct, loss_sum, int(x.shape[0])


def evaluate(model, x, y, device, batch_size=256):
    """Return (accuracy, mean loss) of `model` on tensors x, y."""
    correct, loss_sum, n = evaluate_counts(model, x, y, device, batch_size)
    n = max(1, n)
    return correct / n, loss_sum / n
