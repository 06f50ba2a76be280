"""Lab only (a CPU-only target): lets Oumi's multi-process training run on CPU with gloo.

Oumi's oumi.core.distributed.init_distributed() hard-codes NCCL and torch.cuda.set_device(), so with
WORLD_SIZE > 1 and no CUDA `oumi train` fails before training ("module 'torch._C' has no attribute
'_cuda_setDevice'"). With MLV_OUMI_CPU_DDP=1, PYTHONPATH holding this folder and no CUDA device, that
one function is replaced, as it is loaded, by one that opens a gloo process group; everything else is
Oumi's own. The config then sets model.device_map: cpu and trainer_kwargs {use_cpu: true, ddp_backend:
gloo} so that the HF trainer wraps the model in DistributedDataParallel. Inert on a machine with CUDA.
"""

import os
import sys

if os.environ.get("MLV_OUMI_CPU_DDP") == "1":
    import importlib.abc
    import importlib.util

    def _patch(module):
        import torch

        if torch.cuda.is_available():
            return

        def init_distributed(backend="nccl", timeout_minutes=None):
            from datetime import timedelta

            info = module.get_device_rank_info()
            timeout = timedelta(minutes=timeout_minutes) if timeout_minutes is not None else None
            torch.distributed.init_process_group(backend="gloo", rank=info.rank, world_size=info.world_size, timeout=timeout)
            print(f"MLV_CPU_DDP rank={info.rank} world_size={info.world_size} backend=gloo", file=sys.stderr, flush=True)

        module.init_distributed = init_distributed

    class _PatchOnLoad(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "oumi.core.distributed":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):
                exec_module(module)
                _patch(module)

            spec.loader.exec_module = exec_and_patch
            return spec

    sys.meta_path.insert(0, _PatchOnLoad())
