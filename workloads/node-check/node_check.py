"""Per-node health check (the node sweep): the runtime's Python and torch, the GPUs it sees, and
a short training step. Prints one line `MLV_NODE_CHECK {json}`; an import failure is reported in
it, not raised, so the suite can name what broke."""
import json
import os
import socket
import sys
import time

report = {"host": socket.gethostname(), "python": sys.version.split()[0], "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
try:
    import torch

    report["torch"] = torch.__version__
    report["cuda_available"] = bool(torch.cuda.is_available())
    report["cuda_device_count"] = torch.cuda.device_count()
    device = "cuda" if report["cuda_available"] else "cpu"
    torch.manual_seed(0)
    x, y = torch.randn(256, 16, device=device), torch.randn(256, 1, device=device)
    model = torch.nn.Linear(16, 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    t0 = time.perf_counter()
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if device == "cuda":
        torch.cuda.synchronize()
    report["train"] = {"device": device, "first_loss": losses[0], "last_loss": losses[-1], "seconds": time.perf_counter() - t0}
except Exception as e:  # the check reports what failed; the suite decides
    report["error"] = f"{type(e).__name__}: {e}"
print("MLV_NODE_CHECK " + json.dumps(report), flush=True)
