"""Who am I in a distributed run: torchrun, srun, or a single process.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE / MASTER_ADDR / MASTER_PORT.
srun sets SLURM_PROCID / SLURM_STEP_NUM_TASKS (SLURM_NTASKS) / SLURM_LOCALID and the node
lists; MASTER_ADDR is then the first host of the step's node list (rank 0 runs there with
srun's default block distribution) and MASTER_PORT is taken from the environment or
derived from the job and step ids. Anything else is a single process (world size 1).
"""

import os
import re
import socket
import subprocess


def _int(name, default=None):
    value = os.environ.get(name, "").strip()
    try:
        return int(value)
    except ValueError:
        return default


def first_host(nodelist):
    """First host of a SLURM node list: 'node[01-03,7],gpu1' -> 'node01'.

    Asks `scontrol show hostnames` first, then falls back to a small parser.
    """
    if not nodelist:
        return None
    try:
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True,
                             text=True, timeout=15)
        if out.returncode == 0 and out.stdout.split():
            return out.stdout.split()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    # the first top-level comma-separated item ...
    depth, item = 0, ""
    for ch in nodelist:
        if ch == "," and depth == 0:
            break
        depth += ch == "["
        depth -= ch == "]"
        item += ch
    # ... with each [a-b,c] group replaced by its first value (zero padding kept)
    return re.sub(r"\[([^\]]*)\]", lambda m: re.split(r"[-,]", m.group(1))[0], item.strip())


def _node_addr(host):
    """An address for `host`: DNS when it resolves, else slurm's NodeAddr."""
    try:
        socket.getaddrinfo(host, None)
        return host
    except OSError:
        pass
    try:
        out = subprocess.run(["scontrol", "show", "node", host, "-o"], capture_output=True, text=True, timeout=15)
        m = re.search(r"\bNodeAddr=(\S+)", out.stdout)
        if m:
            return m.group(1)
    except (OSError, subprocess.SubprocessError):
        pass
    return host


def detect():
    """Return a dict: launcher, rank, world_size, local_rank, local_world_size, master_addr, master_port."""
    env = os.environ
    if "RANK" in env and "WORLD_SIZE" in env:
        world = _int("WORLD_SIZE", 1)
        return {
            "launcher": "torchrun",
            "rank": _int("RANK", 0),
            "world_size": world,
            "local_rank": _int("LOCAL_RANK", 0),
            "local_world_size": _int("LOCAL_WORLD_SIZE", world),
            "master_addr": env.get("MASTER_ADDR", "127.0.0.1"),
            "master_port": _int("MASTER_PORT", 29500),
        }
    # srun sets SLURM_STEP_NUM_TASKS; a batch shell has only SLURM_NTASKS (and is one process).
    step_tasks = _int("SLURM_STEP_NUM_TASKS")
    if "SLURM_PROCID" in env and step_tasks is not None and step_tasks > 1:
        nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
        master = env.get("MASTER_ADDR") or _node_addr(first_host(nodelist) or "127.0.0.1")
        port = _int("MASTER_PORT")
        if port is None:
            job = _int("SLURM_JOB_ID", 0) or 0
            step = _int("SLURM_STEP_ID", 0) or 0
            port = 20000 + (job * 7 + step) % 10000  # below Linux's ephemeral range
        return {
            "launcher": "srun",
            "rank": _int("SLURM_PROCID", 0),
            "world_size": step_tasks,
            "local_rank": _int("SLURM_LOCALID", 0),
            # each srun task gets its own SLURM_CPUS_PER_TASK cpus
            "local_world_size": 1,
            "master_addr": master,
            "master_port": port,
        }
    return {"launcher": "none", "rank": 0, "world_size": 1, "local_rank": 0, "local_world_size": 1,
            "master_addr": None, "master_port": None}
