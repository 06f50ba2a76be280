#!/usr/bin/env python3
"""MLOPS-1.1: single-device MNIST training of SimpleCNN.

Adam, lr 1e-3, batch 128, Normalize(0.1307, 0.3081). Uses CUDA when available,
else CPU (threads from SLURM_CPUS_PER_TASK, fallback os.cpu_count()).
Reads IDX files (optionally .gz) from --data-dir; downloads nothing.

Writes into --out-dir:
  model.pt      SimpleCNN state_dict (CPU tensors)
  metrics.json  epochs/loss/accuracy per epoch, test_accuracy, timings, env facts
  model.onnx    with --export-onnx (input "input" [N,1,28,28] float32, output "logits" [N,10])
Prints one "MLV_EPOCH {json}" line per epoch and a final "MLV_RESULT {json}".
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from common import cli, runtime  # noqa: E402
from common.mnist_data import DataError, fingerprint, load_mnist  # noqa: E402
from common.onnx_export import export_onnx  # noqa: E402
from common.model import SimpleCNN, count_parameters, evaluate  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="MLOPS-1.1 SimpleCNN MNIST training")
    cli.add_training_args(p, out_dir_help="where model.pt and metrics.json are written",
                          dropout_help="dropout after pool and fc1 (0 = off)")
    cli.add_export_onnx(p, "also write model.onnx")
    args = p.parse_args(argv)
    cli.check_training_args(p, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    started_at = time.time()
    threads = runtime.set_threads()
    runtime.seed_everything(args.seed)
    device = runtime.select_device()

    t0 = time.time()
    try:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir, args.train_samples, args.test_samples)
    except DataError as exc:
        runtime.fail("bad data dir: %s" % exc)
    data_load_seconds = time.time() - t0
    try:
        os.makedirs(args.out_dir, exist_ok=True)
    except OSError as exc:
        runtime.fail("cannot create out dir %s: %s" % (args.out_dir, exc))

    facts = runtime.env_facts(device)
    print(runtime.result_line("MLV_START", dict(
        facts, train_samples=len(y_train), test_samples=len(y_test), epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr)), flush=True)

    # Whole dataset fits in memory (MNIST: 188 MB as float32); keep it on the device.
    x_train_d = x_train.to(device)
    y_train_d = y_train.to(device)

    model = SimpleCNN(dropout=args.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator()
    gen.manual_seed(args.seed)

    n = x_train_d.shape[0]
    epochs, losses, accuracies, epoch_times = [], [], [], []
    runtime.sync(device)
    train_start = time.time()
    for epoch in range(1, args.epochs + 1):
        ep_start = time.time()
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for i in range(0, n, args.batch_size):
            idx = perm[i:i + args.batch_size]
            xb, yb = x_train_d[idx], y_train_d[idx]
            optimizer.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * yb.shape[0]
            correct += (out.detach().argmax(1) == yb).sum()
        runtime.sync(device)
        ep_time = time.time() - ep_start
        epochs.append(epoch)
        losses.append(float(loss_sum) / n)
        accuracies.append(int(correct) / n)
        epoch_times.append(ep_time)
        print(runtime.result_line("MLV_EPOCH", {
            "epoch": epoch, "epochs": args.epochs, "loss": round(losses[-1], 6),
            "accuracy": round(accuracies[-1], 6), "seconds": round(ep_time, 3),
            "samples_per_second": round(n / ep_time, 1) if ep_time > 0 else None,
        }), flush=True)
    training_time = time.time() - train_start

    t0 = time.time()
    test_accuracy, test_loss = evaluate(model, x_test, y_test, device)
    eval_seconds = time.time() - t0

    model_path = os.path.join(args.out_dir, "model.pt")
    tmp = model_path + ".tmp.%d" % os.getpid()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, model_path)

    metrics = dict(facts)
    metrics.update({
        "task": "MLOPS-1.1",
        "model": "SimpleCNN",
        "parameters": count_parameters(model),
        "epochs": epochs,
        "loss": losses,
        "accuracy": accuracies,
        "epoch_seconds": epoch_times,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "training_time_seconds": training_time,
        "data_load_seconds": data_load_seconds,
        "eval_seconds": eval_seconds,
        "samples_per_second": (n * args.epochs / training_time) if training_time > 0 else None,
        "device": runtime.device_name(device),
        "threads": threads,
        "train_samples": int(n),
        "test_samples": int(x_test.shape[0]),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": "Adam",
        "seed": args.seed,
        "dropout": args.dropout,
        "data_dir": os.path.abspath(args.data_dir),
        "dataset_sha256": fingerprint(args.data_dir),
        "model_path": os.path.abspath(model_path),
        "started_at": started_at,
    })
    if args.export_onnx:
        onnx_path = os.path.join(args.out_dir, "model.onnx")
        err = export_onnx(model, onnx_path)
        metrics["onnx_exported"] = err is None
        metrics["onnx_path"] = os.path.abspath(onnx_path) if err is None else None
        if err is not None:
            metrics["onnx_error"] = err
            print("WARNING: ONNX export failed: %s" % err, file=sys.stderr, flush=True)
    metrics["finished_at"] = time.time()
    metrics["total_seconds"] = metrics["finished_at"] - started_at
    runtime.write_json(os.path.join(args.out_dir, "metrics.json"), metrics)
    print(runtime.result_line("MLV_RESULT", metrics), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
