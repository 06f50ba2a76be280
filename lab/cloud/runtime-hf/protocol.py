"""OpenAI completion request and response bodies as KServe's Hugging Face runtime sends them.

Written from (not copied from) the facts in:
- kserve python/kserve/kserve/protocol/rest/openai/types/__init__.py: the types are vLLM's
  CompletionRequest / CompletionResponse / CompletionResponseChoice / UsageInfo (vLLM 0.24 pin);
- vllm vllm/entrypoints/openai/completion/protocol.py and .../engine/protocol.py;
- kserve python/kserve/kserve/protocol/rest/openai/errors.py (the OpenAI error body).
The completions route returns the pydantic model through FastAPI without a response model, so
every optional field is serialized, as null when unset: that is what the real server sends.
"""
import time
import uuid
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CompletionRequest(BaseModel):
    """The fields of vLLM's CompletionRequest that the HF backend reads; others are accepted."""

    model_config = ConfigDict(extra="allow")  # vLLM's OpenAIBaseModel allows extra fields

    model: Optional[str] = None
    prompt: Optional[Union[list[int], list[list[int]], str, list[str]]] = None
    echo: Optional[bool] = False
    frequency_penalty: Optional[float] = None
    logit_bias: Optional[dict[str, float]] = None
    logprobs: Optional[int] = None
    max_tokens: Optional[int] = 16
    n: int = 1
    presence_penalty: Optional[float] = None
    seed: Optional[int] = Field(None, ge=-(2**63), le=2**63 - 1)
    stop: Optional[Union[str, list[str]]] = Field(default_factory=list)
    stream: Optional[bool] = False
    suffix: Optional[str] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    user: Optional[str] = None

    @model_validator(mode="before")
    @classmethod
    def normalize_null_max_tokens(cls, data: Any) -> Any:
        # vLLM: an explicit null max_tokens means the default (16).
        if isinstance(data, dict) and data.get("max_tokens") is None:
            data = {**data, "max_tokens": 16}
        return data

    @model_validator(mode="before")
    @classmethod
    def validate_prompt(cls, data: Any) -> Any:
        # vLLM raises VLLMValidationError (a ValueError): FastAPI answers 422 {"detail": [...]}.
        if isinstance(data, dict) and (data.get("prompt") is None or data.get("prompt") == ""):
            if not data.get("prompt_embeds"):
                raise ValueError("Either prompt or prompt_embeds must be provided and non-empty.")
        return data


def completion_body(model: str, texts: list[str], finish_reason: str, prompt_tokens: int,
                    completion_tokens: int, system_fingerprint: Optional[str] = None) -> dict:
    """generative_model.py create_completion: Completion(id=generate_uuid(), object, created,
    model=request.model, choices=[CompletionChoice(finish_reason, index, text, logprobs=None)],
    system_fingerprint, usage=UsageInfo(...)), with vLLM's other fields at their defaults."""
    return {
        "id": str(uuid.uuid4()),  # kserve.utils.utils.generate_uuid: str(uuid.uuid4())
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": i, "text": t, "logprobs": None, "finish_reason": finish_reason, "stop_reason": None,
             "token_ids": None, "prompt_logprobs": None, "prompt_token_ids": None}
            for i, t in enumerate(texts)
        ],
        "service_tier": None,
        "system_fingerprint": system_fingerprint,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens + completion_tokens,
                  "completion_tokens": completion_tokens, "prompt_tokens_details": None},
        "kv_transfer_params": None,
    }


def openai_error(message: str, status: int, err_type: str = "OpenAIError") -> dict:
    """errors.py create_error_response: Error(message, type, param="", code=str(status)).
    openai_error_handler uses type(exc).__name__ ("OpenAIError") and status 500 for a bare
    OpenAIError(str), which is how the HF backend raises every request error."""
    return {"error": {"code": str(status), "message": message, "param": "", "type": err_type}}


def model_card(name: str, created: int) -> dict:
    """endpoints.py models(): ModelList(object="list", data=[Model(object="model", id=name,
    created=start_time, owned_by="")]); Model is vLLM's ModelCard (its other fields default)."""
    return {"id": name, "object": "model", "created": created, "owned_by": "", "root": None,
            "parent": None, "max_model_len": None, "permission": []}
