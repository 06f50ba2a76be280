"""MLOPS-3.2: custom Oumi evaluations that work offline, loaded through OUMI_EXTRA_DEPS_FILE.

- ``mlv_perplexity``: perplexity of the model on a local text file (a sliding window over its tokens,
  as in the transformers perplexity guide). eval_kwargs: text_path, max_length, stride.
- ``mlv_generations``: greedy generations for the prompts of a JSONL file ({"prompt", "reference"?}
  a line) through Oumi's inference engine, with sentence BLEU-4 (add-one smoothing of the higher
  orders) and ROUGE-L F1 on lower-case words against the reference where there is one.
  eval_kwargs: prompts_path.

Oumi saves each returned dict as <output_dir>/custom_<time>/task_result.json:
{"results": {"<task_name>": {...}}, "start_time": ..., "duration_sec": ...}.
"""

import json
import math
import re
from collections import Counter

from oumi.core.registry import register_evaluation_function


def _words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def bleu(candidate, reference, max_n=4):
    """Sentence BLEU with a brevity penalty; orders above 1 get add-one smoothing (Lin and Och 2004)."""
    c, r = _words(candidate), _words(reference)
    if not c or not r:
        return 0.0
    log_p = 0.0
    for n in range(1, max_n + 1):
        cn = Counter(tuple(c[i : i + n]) for i in range(len(c) - n + 1))
        rn = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
        hits, total = sum((cn & rn).values()), max(sum(cn.values()), 0)
        if n > 1:
            hits, total = hits + 1, total + 1
        if hits == 0 or total == 0:
            return 0.0
        log_p += math.log(hits / total) / max_n
    bp = 1.0 if len(c) > len(r) else math.exp(1 - len(r) / len(c))
    return bp * math.exp(log_p)


def rouge_l(candidate, reference):
    """ROUGE-L F1: the longest common subsequence of words."""
    c, r = _words(candidate), _words(reference)
    if not c or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for x in c:
        cur = [0]
        for j, y in enumerate(r):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, rec = lcs / len(c), lcs / len(r)
    return 2 * p * rec / (p + rec)


@register_evaluation_function("mlv_perplexity")
def mlv_perplexity(config, text_path, max_length=256, stride=128):
    import torch

    from oumi.builders import build_model, build_tokenizer

    tokenizer = build_tokenizer(config.model)
    model = build_model(config.model)
    model.eval()
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    ids = tokenizer(text, return_tensors="pt").input_ids.to(next(model.parameters()).device)
    total = ids.size(1)
    nll, counted, prev_end = 0.0, 0, 0
    for begin in range(0, total, stride):
        end = min(begin + max_length, total)
        window = ids[:, begin:end]
        labels = window.clone()
        labels[:, : -(end - prev_end)] = -100
        with torch.no_grad():
            loss = model(window, labels=labels).loss
        n = int((labels[:, 1:] != -100).sum())
        nll, counted, prev_end = nll + float(loss) * n, counted + n, end
        if end == total:
            break
    mean_nll = nll / counted if counted else None
    # None, not NaN or inf: Oumi writes task_result.json with json.dumps, which would emit invalid JSON.
    return {
        "perplexity": math.exp(mean_nll) if mean_nll is not None and mean_nll < 700 else None,
        "mean_nll": mean_nll if mean_nll is not None and math.isfinite(mean_nll) else None,
        "tokens": counted,
        "text_path": text_path,
        "max_length": max_length,
        "stride": stride,
    }


@register_evaluation_function("mlv_generations")
def mlv_generations(inference_engine, prompts_path):
    from oumi.core.types.conversation import Conversation, Message, Role

    with open(prompts_path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    inputs = [Conversation(messages=[Message(role=Role.USER, content=r["prompt"])]) for r in rows]
    outputs = inference_engine.infer(inputs)
    generations = []
    for row, conv in zip(rows, outputs):
        last = conv.last_message()
        response = last.content if last is not None and isinstance(last.content, str) else ""
        g = {"prompt": row["prompt"], "response": response}
        if row.get("reference"):
            g.update(reference=row["reference"], bleu=bleu(response, row["reference"]), rouge_l=rouge_l(response, row["reference"]))
        generations.append(g)
    scored = [g for g in generations if "bleu" in g]
    return {
        "count": len(generations),
        "generations": generations,
        "bleu": sum(g["bleu"] for g in scored) / len(scored) if scored else None,
        "rouge_l": sum(g["rouge_l"] for g in scored) / len(scored) if scored else None,
        "scored": len(scored),
    }
