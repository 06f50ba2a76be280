#!/usr/bin/env python3
"""MLOPS-2.1: data-parallel training of the MLOPS-1.1 workload (SimpleCNN on the MNIST IDX data).

torch.distributed DistributedDataParallel + DistributedSampler; backend nccl when CUDA is
available, else gloo. Launch with any of:

  torchrun (on Debian's torch 1.13 / Python 3.11 add `--redirects 1 --tee 1`, else it crashes):
      python3 -m torch.distributed.run --standalone --redirects 1 --tee 1 --nproc_per_node=2 train_ddp.py ...
  srun, one process per rank (rank/world from SLURM_PROCID / SLURM_STEP_NUM_TASKS / SLURM_LOCALID,
  MASTER_ADDR = first host of the step's node list, MASTER_PORT from env or from the job id):
      srun --ntasks=2 --ntasks-per-node=1 python3 train_ddp.py ...
  plain python (no launcher): a 1-process baseline of the same code, same hyperparameters.

Batch semantics: --batch-size is PER RANK (128 as in the plan); the global batch is
batch_size * world_size, and the learning rate is not scaled. Every epoch covers the whole
training set once, split across ranks (DistributedSampler pads to equal shards).

Every rank prints one `MLV_RANK {json}` line; rank 0 prints `MLV_EPOCH {json}` per epoch,
writes model.pt and metrics.json into --out-dir and prints `MLV_RESULT {json}`.
gloo picks its interface from GLOO_SOCKET_IFNAME when the environment sets it (not set here).
"""

import argparse
import contextlib
import datetime
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch import nn  # noqa: E402
from torch.distributed.algorithms.join import Join  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from torch.utils.data.distributed import DistributedSampler  # noqa: E402

from common import cli, distenv, runtime  # noqa: E402
from common.mnist_data import DataError, load_mnist  # noqa: E402
from common.model import SimpleCNN, count_parameters, evaluate_counts  # noqa: E402
from common.onnx_export import export_onnx  # noqa: E402


# Deliberate failures the suite's controls use to show that its checks can fail.
CONTROLS = {
    "none": "a normal run",
    "no-sync": "gradients are never all-reduced, so the ranks' parameters diverge",
    "silent-rank": "the last rank prints no MLV_RANK report",
    "uneven-steps": "the last rank skips its last batch each epoch (DDP Join keeps the others going)",
}


def parameter_checksum(model):
    """Sum of every parameter in float64: equal on every rank when DDP kept them in sync."""
    with torch.no_grad():
        return float(sum(p.detach().double().sum().item() for p in model.parameters()))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="MLOPS-2.1 SimpleCNN MNIST data-parallel training (DDP)")
    cli.add_training_args(p, out_dir_help="where rank 0 writes model.pt and metrics.json",
                          batch_size_help="per-rank batch size (global = this x world size)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many optimizer steps in all (0 = no cap)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads per rank (0 = SLURM_CPUS_PER_TASK, or available CPUs, / local ranks)")
    p.add_argument("--backend", choices=["auto", "gloo", "nccl"], default="auto")
    p.add_argument("--dist-timeout", type=int, default=600, help="seconds before a stuck collective fails")
    p.add_argument("--control", choices=list(CONTROLS), default="none",
                   help="break the run on purpose, for the suite's control tests: " + "; ".join(
                       "%s = %s" % kv for kv in CONTROLS.items() if kv[0] != "none"))
    cli.add_export_onnx(p, "rank 0 also writes model.onnx")
    args = p.parse_args(argv)
    cli.check_training_args(p, args)
    if args.max_steps < 0:
        p.error("--max-steps must be >= 0")
    return args


def all_reduce(values, device, op=None):
    """All-reduce a list of numbers (float64) across ranks; returns a list."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=op or dist.ReduceOp.SUM)
    return t.tolist()


def barrier(device):
    """A barrier made of a tiny all_reduce on the training device (works for gloo and nccl)."""
    all_reduce([0.0], device)


def init_process_group(info, backend, timeout_s):
    timeout = datetime.timedelta(seconds=timeout_s)
    if info["launcher"] == "none":
        # 1-process baseline: an in-process store, no ports, same DDP code path.
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1, timeout=timeout)
        return
    os.environ.setdefault("MASTER_ADDR", str(info["master_addr"]))
    os.environ.setdefault("MASTER_PORT", str(info["master_port"]))
    dist.init_process_group(backend, init_method="env://", rank=info["rank"],
                            world_size=info["world_size"], timeout=timeout)


def main(argv=None):
    args = parse_args(argv)
    started_at = time.time()
    info = distenv.detect()
    rank, world, local_rank = info["rank"], info["world_size"], info["local_rank"]
    threads = runtime.set_threads(args.threads or runtime.cpu_threads(info["local_world_size"]))
    device = runtime.select_device(local_rank)
    backend = args.backend if args.backend != "auto" else ("nccl" if device.type == "cuda" else "gloo")
    if backend == "nccl" and device.type != "cuda":
        runtime.fail("--backend nccl needs CUDA, which is not available here")

    # Load data before the rendezvous: a bad data dir fails fast on every rank instead of hanging.
    t0 = time.time()
    try:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir, args.train_samples, args.test_samples)
    except DataError as exc:
        runtime.fail("rank %d: bad data dir: %s" % (rank, exc))
    data_load_seconds = time.time() - t0
    if rank == 0:
        try:
            os.makedirs(args.out_dir, exist_ok=True)
        except OSError as exc:
            runtime.fail("cannot create out dir %s: %s" % (args.out_dir, exc))

    try:
        init_process_group(info, backend, args.dist_timeout)
    except Exception as exc:
        runtime.fail("rank %d: process group init failed (backend %s, launcher %s, master %s:%s): %s: %s" % (
            rank, backend, info["launcher"], os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT"),
            type(exc).__name__, exc), code=3)

    facts = runtime.env_facts(device)
    global_batch = args.batch_size * world
    if rank == 0:
        print(runtime.result_line("MLV_START", dict(
            facts, world_size=world, backend=backend, launcher=info["launcher"],
            master_addr=os.environ.get("MASTER_ADDR"), master_port=os.environ.get("MASTER_PORT"),
            train_samples=len(y_train), test_samples=len(y_test), epochs=args.epochs,
            batch_size=args.batch_size, global_batch_size=global_batch, lr=args.lr)), flush=True)

    runtime.seed_everything(args.seed)  # same init everywhere; DDP also broadcasts rank 0's weights
    model = SimpleCNN(dropout=args.dropout).to(device)
    ddp = DDP(model, device_ids=[device.index]) if device.type == "cuda" else DDP(model)
    optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    x_train_d, y_train_d = x_train.to(device), y_train.to(device)
    n = x_train_d.shape[0]
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=args.seed,
                                 drop_last=False)

    epochs, losses, accuracies, epoch_times = [], [], [], []
    steps = 0
    samples_seen = 0
    stop = False
    runtime.sync(device)
    barrier(device)
    train_start = time.time()
    for epoch in range(1, args.epochs + 1):
        ep_start = time.time()
        sampler.set_epoch(epoch - 1)
        ddp.train()
        order = torch.tensor(list(iter(sampler)), dtype=torch.long).to(device)
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        # Every rank has the same shard length, so all ranks take the same number of steps.
        if args.control == "uneven-steps" and rank == world - 1:
            order = order[:max(0, order.shape[0] - args.batch_size)]
        joined = Join([ddp]) if args.control == "uneven-steps" else contextlib.nullcontext()
        with joined:
            for i in range(0, order.shape[0], args.batch_size):
                idx = order[i:i + args.batch_size]
                xb, yb = x_train_d[idx], y_train_d[idx]
                optimizer.zero_grad(set_to_none=True)
                # no_sync must cover the forward pass too: DDP decides there whether backward all-reduces.
                with ddp.no_sync() if args.control == "no-sync" else contextlib.nullcontext():
                    out = ddp(xb)
                    loss = loss_fn(out, yb)
                    loss.backward()
                optimizer.step()
                loss_sum += loss.detach().double() * yb.shape[0]
                correct += (out.detach().argmax(1) == yb).sum()
                seen += int(yb.shape[0])
                steps += 1
                if args.max_steps and steps >= args.max_steps:
                    stop = True
                    break
        samples_seen += seen
        runtime.sync(device)
        tot_loss, tot_correct, tot_seen = all_reduce([float(loss_sum), float(correct), float(seen)], device)
        ep_time = time.time() - ep_start
        epochs.append(epoch)
        losses.append(tot_loss / max(1.0, tot_seen))
        accuracies.append(tot_correct / max(1.0, tot_seen))
        epoch_times.append(ep_time)
        if rank == 0:
            print(runtime.result_line("MLV_EPOCH", {
                "epoch": epoch, "epochs": args.epochs, "loss": round(losses[-1], 6),
                "accuracy": round(accuracies[-1], 6), "seconds": round(ep_time, 3), "steps": steps,
                "samples_per_second": round(tot_seen / ep_time, 1) if ep_time > 0 else None,
            }), flush=True)
        if stop:
            break
    runtime.sync(device)
    rank_time = time.time() - train_start
    barrier(device)
    # the run lasts as long as its slowest rank
    training_time = all_reduce([time.time() - train_start], device, op=dist.ReduceOp.MAX)[0]
    total_samples = all_reduce([float(samples_seen)], device)[0]

    # Held-out accuracy: each rank evaluates a strided shard of the test set, then sum.
    t0 = time.time()
    shard = slice(rank, None, world)
    c, l, m = evaluate_counts(ddp.module, x_test[shard], y_test[shard], device)
    test_correct, test_loss_sum, test_n = all_reduce([float(c), float(l), float(m)], device)
    eval_seconds = time.time() - t0
    test_accuracy = test_correct / max(1.0, test_n)

    report = {
        "rank": rank, "world_size": world, "local_rank": local_rank, "launcher": info["launcher"],
        "device": runtime.device_name(device), "hostname": facts["hostname"],
        "cuda_visible_devices": facts["cuda_visible_devices"], "backend": backend, "steps": steps,
        "samples": samples_seen, "training_time_seconds": rank_time,
        "samples_per_second": samples_seen / rank_time if rank_time > 0 else 0.0, "threads": threads,
        "slurm_job_id": facts["slurm_job_id"], "param_checksum": parameter_checksum(ddp.module),
        "control": args.control,
    }
    if not (args.control == "silent-rank" and rank == world - 1):
        print(runtime.result_line("MLV_RANK", report), flush=True)
    reports = [None] * world
    dist.all_gather_object(reports, report)

    if rank == 0:
        model_path = os.path.join(args.out_dir, "model.pt")
        tmp = model_path + ".tmp.%d" % os.getpid()
        torch.save({k: v.detach().cpu() for k, v in ddp.module.state_dict().items()}, tmp)
        os.replace(tmp, model_path)
        metrics = dict(facts)
        metrics.update({
            "task": "MLOPS-2.1",
            "model": "SimpleCNN",
            "parameters": count_parameters(model),
            "epochs": epochs,
            "loss": losses,
            "accuracy": accuracies,
            "epoch_seconds": epoch_times,
            "test_accuracy": test_accuracy,
            "test_loss": test_loss_sum / max(1.0, test_n),
            "training_time_seconds": training_time,
            "data_load_seconds": data_load_seconds,
            "eval_seconds": eval_seconds,
            "samples_per_second": total_samples / training_time if training_time > 0 else 0.0,
            "device": runtime.device_name(device),
            "threads": threads,
            "world_size": world,
            "backend": backend,
            "launcher": info["launcher"],
            "master_addr": os.environ.get("MASTER_ADDR"),
            "master_port": os.environ.get("MASTER_PORT"),
            "gloo_socket_ifname": os.environ.get("GLOO_SOCKET_IFNAME"),
            "steps": steps,
            "max_steps": args.max_steps,
            "train_samples": int(n),
            "test_samples": int(x_test.shape[0]),
            "samples_processed": int(total_samples),
            "batch_size": args.batch_size,
            "batch_size_semantics": "per-rank",
            "global_batch_size": global_batch,
            "lr": args.lr,
            "optimizer": "Adam",
            "seed": args.seed,
            "dropout": args.dropout,
            "ranks": reports,
            "data_dir": os.path.abspath(args.data_dir),
            "model_path": os.path.abspath(model_path),
            "started_at": started_at,
        })
        if args.export_onnx:
            onnx_path = os.path.join(args.out_dir, "model.onnx")
            err = export_onnx(ddp.module, onnx_path)
            metrics["onnx_exported"] = err is None
            metrics["onnx_path"] = os.path.abspath(onnx_path) if err is None else None
            if err is not None:
                metrics["onnx_error"] = err
                print("WARNING: ONNX export failed: %s" % err, file=sys.stderr, flush=True)
        metrics["finished_at"] = time.time()
        metrics["total_seconds"] = metrics["finished_at"] - started_at
        runtime.write_json(os.path.join(args.out_dir, "metrics.json"), metrics)
        print(runtime.result_line("MLV_RESULT", metrics), flush=True)

    # Every rank waits until rank 0 has written its results, then leaves together.
    barrier(device)
    # Leave without tearing DDP down. With torch 1.13 + gloo, destroying the Reducer (when `ddp` is
    # freed or the process group destroyed) can deadlock: ~ProcessGroupGloo joins a gloo worker thread
    # that waits for the GIL the main thread holds (gdb on the lab: std::thread::join in
    # ~ProcessGroupGloo vs PyEval_AcquireThread). Seen on 1 of 3 two-node srun runs, hanging the job
    # until its time limit. Everything is written and flushed; the OS reclaims the rest.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run_and_exit():
    """Run main() and leave with os._exit on every way out, a failure included.

    main() already ends a successful run with os._exit(0) (see there: tearing DDP down can
    deadlock on torch 1.13 + gloo). An exception after the process group exists would
    otherwise reach the same teardown at interpreter exit and hang the job until its time
    limit, so it is printed, flushed, and the process ends at once with exit code 1.
    """
    try:
        code = main()
    except SystemExit as exc:  # argparse errors, runtime.fail()
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _run_and_exit()
