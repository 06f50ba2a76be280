"""Runtime helpers: device selection, thread count, environment facts."""

import json
import os
import random
import socket
import sys

import numpy as np
import torch


def available_cpus():
    """CPUs this process may run on (its affinity mask, e.g. a SLURM cgroup), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0)) or (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_threads(procs_sharing=1):
    """Threads for one process: SLURM_CPUS_PER_TASK when set and valid, else the CPUs
    available, divided among `procs_sharing` processes (torchrun ranks of one task)."""
    value = os.environ.get("SLURM_CPUS_PER_TASK", "").strip()
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n <= 0:
        n = available_cpus()
    return max(1, n // max(1, int(procs_sharing)))


def set_threads(n=None):
    """Set torch intra-op threads (Debian's torch defaults to 1). Returns the count."""
    n = n or cpu_threads()
    torch.set_num_threads(max(1, int(n)))
    return torch.get_num_threads()


def select_device(local_rank=None):
    """CUDA when available (cuda:<local_rank or 0>), else CPU."""
    if torch.cuda.is_available():
        index = 0
        if local_rank is not None:
            index = local_rank % max(1, torch.cuda.device_count())
        torch.cuda.set_device(index)
        torch.backends.cudnn.benchmark = True  # fixed 28x28 inputs: let cuDNN pick its fastest kernels
        return torch.device("cuda", index)
    return torch.device("cpu")


def device_name(device):
    """'cuda:0' / 'cpu' string for metrics."""
    if device.type == "cuda":
        return "cuda:%d" % (device.index if device.index is not None else torch.cuda.current_device())
    return "cpu"


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def sync(device):
    """Wait for queued GPU work so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def env_facts(device=None):
    """Facts the suite checks: where we ran and what we saw."""
    facts = {
        "hostname": socket.gethostname(),
        "torch_version": torch.__version__,
        "python_version": sys.version.split()[0],
        "cuda_available": bool(torch.cuda.is_available()),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "cuda_device_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "slurm_job_nodelist": os.environ.get("SLURM_JOB_NODELIST"),
        "slurm_cpus_per_task": os.environ.get("SLURM_CPUS_PER_TASK"),
        "threads": torch.get_num_threads(),
    }
    if device is not None:
        facts["device"] = device_name(device)
        if device.type == "cuda":
            facts["gpu_name"] = torch.cuda.get_device_name(device)
            facts["cuda_version"] = torch.version.cuda
    return facts


def write_json(path, data):
    """Write JSON atomically (tmp file + rename) so readers never see half a file."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def result_line(tag, data):
    """One-line machine-readable result, e.g. 'MLV_RESULT {...}'."""
    return "%s %s" % (tag, json.dumps(data, sort_keys=True, separators=(",", ":")))


def fail(message, code=2):
    """Print a clear error to stderr and exit non-zero."""
    print("ERROR: %s" % message, file=sys.stderr, flush=True)
    sys.exit(code)
