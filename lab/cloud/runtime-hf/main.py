#!/usr/bin/env python3
"""Lab Hugging Face-like model server: serves a causal LM saved with save_pretrained under the
InferenceService's name, with the routes, bodies and errors of KServe's huggingfaceserver
(transformers backend). Runs in the lab LLM venv (lab/llm/build.sh):

  <shared>/venvs/llm/bin/python lab/cloud/runtime-hf/main.py --model-dir DIR --model-name NAME
      [--port 8080] [--host 127.0.0.1] [--ready-file PATH] [--threads 1]

Loads the model first (as huggingfaceserver does), then listens; --port 0 takes a free port.
When serving it prints "READY port=<p>" and writes the port (one line) to --ready-file,
atomically. A model that cannot be loaded prints "FATAL: ..." to stderr and exits 1.
Offline: HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE are forced on.
"""
import argparse
import os
import socket
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


def log(line: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {line}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--model-name", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--ready-file")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch
    import uvicorn

    from model import GenerativeModel
    from server import create_app

    torch.set_num_threads(max(1, args.threads))
    model = GenerativeModel(args.model_name, args.model_dir)
    try:
        model.load()
    except Exception as e:  # noqa: BLE001 - any load failure is fatal, with its reason
        print(f"FATAL: cannot load {args.model_dir}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)  # connections queue from now on, before uvicorn accepts them
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(model), log_level="warning", access_log=False))
    log(f"model {args.model_name} loaded from {args.model_dir} (max length {model.max_length})")
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.ready_file)
    log(f"READY port={port}")
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
