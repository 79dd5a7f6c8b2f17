"""Text generation behind one protocol, for synthesis, pass-rate estimation and evaluation.

    backend.generate(prompts, n=1, max_new_tokens=256, temperature=1.0, seed=0)
        -> one list of n Completions per prompt

A prompt is either a string (sent as one user message) or a list of chat messages. A
`Completion` is a `str` that also carries how many tokens were generated and whether the
generation hit `max_new_tokens`.

Backends: `transformers` (CPU or GPU, batched with left padding), `openai` (any server with
`/v1/chat/completions`: vLLM serve, SGLang, llama.cpp server), and `vllm` in-process (GPU
only; imported lazily). `make_backend("kind:arg")` builds one from a CLI string.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from rlvr.hashing import seed_int

log = logging.getLogger(__name__)

Prompt = str | Sequence[dict[str, str]]


class Completion(str):
    """Generated text plus `n_tokens` and `truncated` (stopped by the length limit)."""

    n_tokens: int
    truncated: bool

    def __new__(cls, text: str, n_tokens: int = -1, truncated: bool = False) -> Completion:
        obj = super().__new__(cls, text)
        obj.n_tokens = n_tokens
        obj.truncated = truncated
        return obj


class Backend(Protocol):
    name: str

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> list[list[Completion]]: ...


def as_messages(prompt: Prompt) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


# ----------------------------------------------------------------------------- transformers


class TransformersBackend:
    """Batched local generation with transformers; left padding so batches decode correctly."""

    def __init__(self, model: str = "smollm2-135m-instruct", device: str = "cpu", batch_size: int = 16,
                 dtype: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from rlvr.models import resolve_model

        self.name = f"transformers:{model}"
        path = resolve_model(model)
        self.tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        torch_dtype = getattr(torch, dtype) if dtype else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype).to(device)
        self.model.eval()
        self.device = device
        self.batch_size = batch_size

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, name: str = "transformers:in-memory",
                   batch_size: int = 16) -> TransformersBackend:
        """A backend over an already loaded model (e.g. the policy being trained), without copying it.

        The tokenizer is switched to left padding, which batched generation needs.
        """
        self = cls.__new__(cls)
        self.name = name
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = model
        self.device = next(model.parameters()).device
        self.batch_size = batch_size
        return self

    def _encode(self, prompt: Prompt) -> str:
        messages = as_messages(prompt)
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n".join(m["content"] for m in messages)

    def generate(self, prompts: Sequence[Prompt], n: int = 1, max_new_tokens: int = 256,
                 temperature: float = 1.0, seed: int = 0) -> list[list[Completion]]:
        import torch

        texts = [self._encode(p) for p in prompts]
        flat = [t for t in texts for _ in range(n)]
        outputs: list[Completion] = []
        eos = self.tokenizer.eos_token_id
        for start in range(0, len(flat), self.batch_size):
            chunk = flat[start:start + self.batch_size]
            torch.manual_seed(seed_int(seed, start, bits=31))
            enc = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
            if temperature > 0:
                kwargs.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
            else:
                kwargs.update(do_sample=False)
            with torch.no_grad():
                out = self.model.generate(**enc, **kwargs)
            new = out[:, enc["input_ids"].shape[1]:]
            for row in new:
                ids = row.tolist()
                length = len(ids)
                finished = False
                for i, t in enumerate(ids):
                    if t == eos or t == self.tokenizer.pad_token_id:
                        length, finished = i + 1, True
                        break
                text = self.tokenizer.decode(ids[:length], skip_special_tokens=True)
                outputs.append(Completion(text, length, truncated=not finished))
        return [outputs[i * n:(i + 1) * n] for i in range(len(prompts))]


# ----------------------------------------------------------------------------- OpenAI-compatible


class OpenAIBackend:
    """Client for any OpenAI-compatible `/v1/chat/completions` server, with retries.

    Requests run in a thread pool. Servers that ignore `n` (llama.cpp) are topped up with
    further requests using derived seeds, so each prompt always gets exactly n completions.
    """

    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None,
                 timeout_s: float = 120.0, max_workers: int = 8, retries: int = 3):
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.timeout_s, self.max_workers, self.retries = timeout_s, max_workers, retries
        self.name = f"openai:{model}@{self.base_url}"

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.base_url + "/chat/completions", data=data, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                body = exc.read().decode("utf-8", "replace")[:300]
                if exc.code < 500 and exc.code != 429:
                    raise RuntimeError(f"{self.base_url}: HTTP {exc.code}: {body}") from None
                last = RuntimeError(f"HTTP {exc.code}: {body}")
            except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
                last = exc
            time.sleep(min(0.5 * 2**attempt, 8.0))
        raise RuntimeError(f"{self.base_url}: request failed after {self.retries + 1} attempts: {last}")

    def _one(self, prompt: Prompt, n: int, max_new_tokens: int, temperature: float, seed: int) -> list[Completion]:
        out: list[Completion] = []
        attempt = 0
        while len(out) < n:
            want = n - len(out)
            resp = self._post({
                "model": self.model, "messages": as_messages(prompt), "n": want,
                "max_tokens": max_new_tokens, "temperature": temperature, "seed": seed_int(seed, attempt, bits=31),
            })
            choices = resp.get("choices") or []
            if not choices:
                raise RuntimeError(f"{self.base_url}: response has no choices: {str(resp)[:200]}")
            usage = (resp.get("usage") or {}).get("completion_tokens")
            for ch in choices[:want]:
                text = ((ch.get("message") or {}).get("content")) or ""
                tokens = usage if (usage is not None and len(choices) == 1) else -1
                out.append(Completion(text, tokens, truncated=ch.get("finish_reason") == "length"))
            attempt += 1
        return out

    def generate(self, prompts: Sequence[Prompt], n: int = 1, max_new_tokens: int = 256,
                 temperature: float = 1.0, seed: int = 0) -> list[list[Completion]]:
        with ThreadPoolExecutor(self.max_workers) as pool:
            futures = [pool.submit(self._one, p, n, max_new_tokens, temperature, seed_int(seed, i, bits=31))
                       for i, p in enumerate(prompts)]
            return [f.result() for f in futures]


# ----------------------------------------------------------------------------- vLLM


class VLLMBackend:
    """In-process vLLM (GPU). Imported lazily: the `gpu` extra is not installable on CPU hosts."""

    def __init__(self, model: str, **llm_kwargs: Any):
        try:
            from vllm import LLM
        except ImportError:
            raise RuntimeError("the vllm backend needs a GPU machine and `pip install 'rlvr[gpu]'`") from None
        from rlvr.models import resolve_model

        self.name = f"vllm:{model}"
        self.llm = LLM(model=str(resolve_model(model)), **llm_kwargs)

    def generate(self, prompts: Sequence[Prompt], n: int = 1, max_new_tokens: int = 256,
                 temperature: float = 1.0, seed: int = 0) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = SamplingParams(n=n, max_tokens=max_new_tokens, temperature=temperature, seed=seed)
        results = self.llm.chat([as_messages(p) for p in prompts], params, use_tqdm=False)
        return [[Completion(o.text, len(o.token_ids), o.finish_reason == "length") for o in r.outputs]
                for r in results]


def make_backend(spec: str = "transformers:smollm2-135m-instruct", device: str = "cpu") -> Backend:
    """Build a backend from 'transformers:MODEL', 'openai:MODEL@URL' or 'vllm:MODEL'."""
    kind, _, arg = spec.partition(":")
    if kind in ("transformers", "hf"):
        return TransformersBackend(arg or "smollm2-135m-instruct", device=device)
    if kind == "openai":
        model, at, url = arg.partition("@")
        if not at:
            model, url = "default", arg
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"backend {spec!r}: expected openai:MODEL@http://HOST:PORT/v1")
        return OpenAIBackend(url, model=model)
    if kind == "vllm":
        return VLLMBackend(arg or "smollm2-135m-instruct")
    raise ValueError(
        f"unknown backend {spec!r}; use transformers:MODEL, openai:MODEL@URL (vLLM serve, SGLang, "
        f"llama.cpp server) or vllm:MODEL"
    )
