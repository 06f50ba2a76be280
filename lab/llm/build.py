#!/usr/bin/env python3
"""Lab only: the tiny causal LM that the lab serves (MLOPS-4.2) and fine-tunes (Oumi tasks).

A byte-level BPE tokenizer trained with `tokenizers` on the corpus, a Llama model (transformers
LlamaConfig, about 100k parameters, tied embeddings) pre-trained from a fixed seed for a fixed
number of steps, saved with save_pretrained: config.json, generation_config.json,
model.safetensors, tokenizer.json, tokenizer_config.json, special_tokens_map.json, plus
training.json (loss, time, sample completions). Deterministic: same inputs, same weights.
Nothing is downloaded. Usage: build.py --corpus corpus.txt --out DIR [--steps N]
"""
import argparse
import hashlib
import json
import os
import random
import sys
import time

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM
from transformers import PreTrainedTokenizerFast

EOS, PAD, IM_START, IM_END = "<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"
# ChatML, the template Oumi's SFT applies through the tokenizer (messages -> text).
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
PROMPTS = ["Write a short story about", "Explain quantum computing in simple terms", "Create a haiku about nature"]
SEED = 1234
VOCAB = 512
SEQ = 64
BATCH = 16
MAX_POSITIONS = 256


def documents(path):
    """Paragraphs (blank-line separated) of the corpus, each a training document."""
    with open(path, encoding="utf-8") as f:
        return [p.strip() for p in f.read().split("\n\n") if p.strip()]


def train_tokenizer(docs):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, min_frequency=2, special_tokens=[EOS, PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(docs, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOS, eos_token=EOS, pad_token=PAD, unk_token=None,
        model_max_length=MAX_POSITIONS, chat_template=CHAT_TEMPLATE,
        additional_special_tokens=[IM_START, IM_END],
    )


def make_model(tok):
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True, bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, rms_norm_eps=1e-5,
    )
    return LlamaForCausalLM(cfg)


def pretrain(model, ids, steps, log):
    """AdamW with warm-up and cosine decay on random windows of the token stream."""
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + torch.cos(torch.tensor(s / steps * torch.pi)).item()))
    data = torch.tensor(ids, dtype=torch.long)
    losses = []
    model.train()
    for step in range(steps):
        starts = torch.randint(0, len(data) - SEQ - 1, (BATCH,), generator=gen)
        batch = torch.stack([data[s:s + SEQ] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step} loss {loss.item():.3f}")
    model.eval()
    return losses


def samples(out, max_new_tokens=32):
    """Greedy completions of the task-list prompts by the model as saved (reloaded from disk)."""
    tok = AutoTokenizer.from_pretrained(out, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    result = {}
    for p in PROMPTS:
        enc = tok(p, return_tensors="pt")
        with torch.no_grad():
            o = model.generate(**enc, generation_config=GenerationConfig(
                max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id))
        result[p] = tok.decode(o[0, enc["input_ids"].shape[-1]:], skip_special_tokens=True)
    return result


def compat_tokenizer_files(out):
    """transformers 5 writes tokenizer_class "TokenizersBackend", the chat template only as
    chat_template.jinja and no special_tokens_map.json; add what 4.x loaders (and tools that read
    these files) expect too. The reload in samples() checks that 5.x still reads them."""
    path = os.path.join(out, "tokenizer_config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg.update(tokenizer_class="PreTrainedTokenizerFast", chat_template=CHAT_TEMPLATE,
               additional_special_tokens=[IM_START, IM_END])
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    stm = os.path.join(out, "special_tokens_map.json")
    if not os.path.exists(stm):
        with open(stm, "w") as f:
            json.dump({"bos_token": EOS, "eos_token": EOS, "pad_token": PAD,
                       "additional_special_tokens": [IM_START, IM_END]}, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=600)
    args = ap.parse_args()
    log = lambda m: print(m, flush=True)  # noqa: E731
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    # One thread: fixed, so results do not depend on the core count, and faster for matrices this
    # small (measured: 26 ms/step with 1 thread, 73 ms with 2 on the 2-core lab machine).
    torch.set_num_threads(1)

    t0 = time.time()
    docs = documents(args.corpus)
    tok = train_tokenizer(docs)
    ids = []
    for d in docs:
        ids += tok(d)["input_ids"] + [tok.eos_token_id]
    for d in docs:
        if tok.decode(tok(d)["input_ids"]) != d:
            sys.exit(f"tokenizer does not round-trip: {d[:60]!r}")
    model = make_model(tok)
    params = sum(p.numel() for p in model.parameters())
    log(f"params {params} vocab {len(tok)} corpus tokens {len(ids)} documents {len(docs)}")
    t1 = time.time()
    losses = pretrain(model, ids, args.steps, log)
    t2 = time.time()

    os.makedirs(args.out, exist_ok=True)
    model.generation_config = GenerationConfig(
        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model.save_pretrained(args.out)
    tok.save_pretrained(args.out)
    compat_tokenizer_files(args.out)
    with open(os.path.join(args.out, "model.safetensors"), "rb") as f:
        weights_sha = hashlib.sha256(f.read()).hexdigest()
    done = samples(args.out)
    summary = {
        "params": params, "vocab": len(tok), "corpus_tokens": len(ids), "steps": args.steps, "seed": SEED,
        "batch": BATCH, "seq": SEQ, "loss_first": losses[0], "loss_last": losses[-1],
        "loss_first_50": sum(losses[:50]) / 50, "loss_last_50": sum(losses[-50:]) / 50,
        "tokenizer_seconds": round(t1 - t0, 2), "train_seconds": round(t2 - t1, 2),
        "weights_sha256": weights_sha, "torch": torch.__version__, "samples": done,
    }
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump(summary, f, indent=2)
    for p, c in done.items():
        log(f"sample {p!r} -> {c!r}")
    log(f"trained {args.steps} steps in {t2 - t1:.1f} s, loss {summary['loss_first_50']:.3f} -> "
        f"{summary['loss_last_50']:.3f}, weights sha256 {weights_sha[:16]}")


if __name__ == "__main__":
    main()
