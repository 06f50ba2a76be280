"""The generative model of the lab's Hugging Face-like runtime: load, then complete, as KServe's
huggingfaceserver does with its transformers backend (python/huggingfaceserver/huggingfaceserver/
generative_model.py, stop_sequence_stopping_criteria.py, utils.py _get_and_verify_max_len).
Written from those facts; the errors are the ones that code raises, with the same messages.
"""
import concurrent.futures
from typing import Optional

import torch
from transformers import (AutoModelForCausalLM, AutoTokenizer, GenerationConfig, StoppingCriteria,
                          StoppingCriteriaList, set_seed)


class OpenAIError(Exception):
    """kserve.protocol.rest.openai.errors.OpenAIError(str): answered as HTTP 500, type OpenAIError."""


class StopSequences(StoppingCriteria):
    """Stops when any row ends with one of the stop sequences (token ids) after the prompt."""

    def __init__(self, input_length: int, sequences: list[torch.Tensor]):
        self.input_length = input_length
        self.sequences = sequences
        self.triggered = False

    def __call__(self, input_ids, scores, **kwargs) -> bool:
        for seq in self.sequences:
            if seq.shape[-1] > input_ids.shape[-1] - self.input_length:
                continue
            if torch.any(torch.all(input_ids[:, -len(seq):] == seq, dim=1)):
                self.triggered = True
                return True
        return False


def max_length_of(config) -> int:
    """_get_and_verify_max_len without overrides: the smallest of the known length keys."""
    keys = ["max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
            "max_sequence_length", "max_seq_length", "seq_len"]
    found = [getattr(config, k) for k in keys if getattr(config, k, None) is not None]
    return min(found) if found else 2048


class GenerativeModel:
    def __init__(self, name: str, model_dir: str):
        self.name = name
        self.model_dir = model_dir
        self.ready = False
        # Upstream runs generation in one background thread fed by a queue: one request at a time.
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def load(self) -> None:
        # Decoder-only: pad left. float32 on CPU.
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, padding_side="left")
        self.model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=torch.float32).eval()
        if not self.tokenizer.pad_token:
            self.tokenizer.add_special_tokens({"pad_token": "[PAD]"})
            self.model.resize_token_embeddings(len(self.tokenizer))
        self.max_length = max_length_of(self.model.config)
        self.ready = True

    def prepare(self, req) -> dict:
        """Everything create_completion does before generating; raises its errors."""
        prompt = req.prompt
        if prompt is None:
            raise OpenAIError("prompt is required")
        prompts = prompt if isinstance(prompt, list) and not isinstance(prompt[0], int) else [prompt]
        if isinstance(prompts[0][0], int):
            inputs = {"input_ids": torch.tensor(prompts, dtype=torch.int64)}
        else:
            inputs = dict(self.tokenizer(prompts, padding=True, return_tensors="pt"))
        n_in = inputs["input_ids"].shape[-1]
        max_tokens = req.max_tokens if req.max_tokens is not None else self.max_length - n_in
        if n_in + max_tokens > self.max_length:
            raise OpenAIError(
                f"This model's maximum context length is {self.max_length} tokens. "
                f"However, you requested {max_tokens + n_in} tokens "
                f"({n_in} in the messages, {max_tokens} in the completion). "
                f"Please reduce the length of the messages or completion.")
        if req.frequency_penalty is not None and req.frequency_penalty > 0:
            raise OpenAIError("'frequency_penalty' is not supported")
        if req.n is not None and req.n > 1:
            raise OpenAIError("'n' > 1 is not supported")
        if req.stream:
            # Lab limitation (the real runtime streams server-sent events): refused, never faked.
            raise OpenAIError("'stream' is not supported by the lab runtime")
        gen = {"max_new_tokens": max_tokens, "top_p": req.top_p, "pad_token_id": self.tokenizer.pad_token_id}
        if req.temperature is not None and req.temperature > 0.0:
            gen["temperature"] = req.temperature
        if req.presence_penalty and req.presence_penalty > 0:
            gen["repetition_penalty"] = req.presence_penalty
        if req.logit_bias is not None:
            gen["sequence_bias"] = {tuple(t): b for t, b in req.logit_bias.items()}
        # GenerationConfig raises ValueError for max_new_tokens <= 0: upstream lets it reach the
        # server's generic handler (HTTP 500 {"error": "ValueError : ..."}).
        config = GenerationConfig(**gen)
        stop = None
        if req.stop is not None:
            seqs = req.stop if isinstance(req.stop, list) else [req.stop]
            stop = StopSequences(n_in, [self.tokenizer.encode(s, return_tensors="pt", add_special_tokens=False)[0]
                                        for s in seqs])
        return {"inputs": inputs, "config": config, "stop": stop, "n_in": n_in}

    def _generate(self, job: dict, seed: Optional[int], echo: bool):
        if seed is not None:
            set_seed(seed)
        inputs = job["inputs"]
        criteria = StoppingCriteriaList([job["stop"]]) if job["stop"] is not None else None
        with torch.no_grad():
            out = self.model.generate(**inputs, generation_config=job["config"], stopping_criteria=criteria)
        n_in = job["n_in"]
        completion_tokens = out[:, n_in:].shape[-1] * out.shape[0]
        texts = self.tokenizer.batch_decode(out[:, 0 if echo else n_in:], skip_special_tokens=True)
        return texts, completion_tokens

    async def complete(self, req, loop) -> dict:
        job = self.prepare(req)
        texts, completion_tokens = await loop.run_in_executor(
            self._worker, self._generate, job, req.seed, bool(req.echo))
        # Upstream: "stop" only when a stop sequence fired, else "length" (also after EOS).
        finish = "stop" if job["stop"] is not None and job["stop"].triggered else "length"
        prompt_tokens = job["inputs"]["input_ids"].shape[-1] * job["inputs"]["input_ids"].shape[0]
        return {"texts": texts, "finish_reason": finish, "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens}
