"""How much memory a CPU training run needs, sized before it starts.

On CPU nothing stops a run that does not fit: the kernel's OOM killer ends it minutes in, often
taking the desktop with it. So `train()` plans first, from the policy's config:

- fixed: the weights, their gradients and the optimizer state (fp32: 4 + 4 bytes per trained
  parameter, and 8 more for AdamW's two moments; Adafactor's factored state is negligible; 4 per
  frozen one under LoRA), plus the interpreter, libraries and allocator slack (~1.1 GB);
- influence: the per-probe-task probe gradients of the tracked blocks (`--influence-layers`), fp32
  or bf16 (rlvr.train.influence.storage_bytes); 170 MB for SmolLM2's last block and 12 probe tasks,
  2.5 GB for all 30 blocks; and the step's activations and output gradients in those blocks, held
  until the update is known (40 KB per token per SmolLM2 block);
- generation: the KV cache of one generation batch (every completion of a step at once) and its
  last-position logits;
- training: activations kept for backward, per token: each decoder block stores about 12 hidden-
  size and 4 intermediate-size fp32 vectors (norm inputs, q/k/v/o inputs, residuals, the MLP's gate,
  up, activation and product), and the head stores the logits and their log-softmax (2 x vocab).
  For SmolLM2-135M that is about 2 MB per token, within a factor of two of what TRL's loss
  measures (the issue that led here saw ~1 MB per token).

The micro-batch is the most tokens whose activations fit what remains of the budget; the budget
is the memory available now (MemAvailable, or the cgroup's limit when lower), capped by
`memory_gb`. A run whose fixed part plus one row does not fit is refused with the numbers and
what to change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

GB = 2**30
FP32 = 4
# Python, torch, transformers, TRL, datasets, the tokenizer, the allocator's slack and the model's
# load-time copies: calibrated on the planted run (SmolLM2, full fine-tune, 2 rows of ~70 tokens per
# slice): 3.39 GB resident at a 2.9 GB plan that counted 0.6 GB here.
RUNTIME_BYTES = int(1.1 * GB)
DEFAULT_CPU_CAP_GB = 4.0  # what a default CPU run may use: it must fit an 8 GB laptop beside the desktop


def _get(config: Any, name: str, default: Any = None) -> Any:
    value = getattr(config, name, None)
    return default if value is None else value


def _block_linears(config: Any) -> list[tuple[int, int]]:
    """(in, out) of one decoder block's linear layers: attention q, k, v, o and the MLP's gate, up, down."""
    h, inter = config.hidden_size, config.intermediate_size
    heads = config.num_attention_heads
    q = heads * _get(config, "head_dim", h // heads)
    kv = _get(config, "num_key_value_heads", heads) * _get(config, "head_dim", h // heads)
    return [(h, q), (h, kv), (h, kv), (q, h), (h, inter), (h, inter), (inter, h)]


def block_linear_parameters(config: Any) -> int:
    """Weights of one decoder block's linear layers: what influence tracks per block."""
    return sum(i * o for i, o in _block_linears(config))


def block_linear_widths(config: Any) -> int:
    """Input plus output width summed over one block's linear layers: the fp32 values per token that
    influence keeps per tracked block until the step's update is known (activations a_t and output
    gradients delta_t)."""
    return sum(i + o for i, o in _block_linears(config))


def count_parameters(config: Any) -> int:
    """Parameters of a Llama-style decoder (SmolLM2, Llama, Qwen2, Mistral) from its config."""
    h = config.hidden_size
    layers, vocab = config.num_hidden_layers, config.vocab_size
    block = block_linear_parameters(config) + 2 * h  # linear layers; two norms
    embeddings = vocab * h * (1 if _get(config, "tie_word_embeddings", True) else 2)
    return layers * block + embeddings + h


def activation_bytes_per_token(config: Any) -> int:
    """fp32 activations one training token keeps for backward (see the module docstring)."""
    per_block = 12 * config.hidden_size + 4 * config.intermediate_size
    return FP32 * (config.num_hidden_layers * per_block + 2 * config.vocab_size)


def kv_bytes_per_token(config: Any) -> int:
    heads = config.num_attention_heads
    head_dim = _get(config, "head_dim", config.hidden_size // heads)
    kv = _get(config, "num_key_value_heads", heads) * head_dim
    return FP32 * 2 * kv * config.num_hidden_layers


def available_bytes() -> int:
    """Memory this process may still use: MemAvailable, or the cgroup limit minus usage when lower."""
    available = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as fh:
                raw = fh.read().strip()
            with open(usage_file) as fh:
                used = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if raw.isdigit() and int(raw) < 2**60:
            left = int(raw) - used
            available = left if available is None else min(available, left)
    if available is None:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    return max(0, available)


@dataclass
class MemoryPlan:
    budget: int  # bytes the run may use
    fixed: int  # weights, gradients, optimizer state, runtime
    generation: int  # KV cache and logits of one generation batch
    per_token: int  # activations per training token
    row_tokens: int  # longest prompt + completion limit: one padded row
    tokens_per_micro_batch: int  # what fits: a multiple of row_tokens, at least one row

    def describe(self) -> str:
        return (f"budget {self.budget / GB:.2f} GB: weights+gradients+optimizer+runtime(+influence) "
                f"{self.fixed / GB:.2f} GB, "
                f"generation {self.generation / GB:.2f} GB, activations {self.per_token / 2**20:.2f} MB per token "
                f"x {self.row_tokens} tokens per row")


def plan_memory(model_config: Any, *, row_tokens: int, generation_rows: int, budget: int,
                trainable: int | None = None, optimizer: str = "adamw", influence: int = 0) -> MemoryPlan:
    """The micro-batch size in tokens that keeps a CPU run within `budget` bytes, or a ValueError
    with the numbers and what to change when not even one row fits."""
    n_params = count_parameters(model_config)
    trainable = n_params if trainable is None else trainable
    moments = 2 if optimizer == "adamw" else 0
    fixed = RUNTIME_BYTES + FP32 * n_params + (1 + moments) * FP32 * trainable  # weights; gradients, moments
    fixed += influence  # the stored probe gradients and the step's kept activations
    generation = generation_rows * (row_tokens * kv_bytes_per_token(model_config) + 2 * FP32 * model_config.vocab_size)
    per_token = activation_bytes_per_token(model_config)
    rows = (budget - fixed) // (per_token * row_tokens) if budget > fixed else 0
    if rows < 1 or fixed + generation > budget:
        need = fixed + max(generation, per_token * row_tokens)
        raise ValueError(
            f"this run does not fit in memory: it needs at least {need / GB:.2f} GB but may use {budget / GB:.2f} GB "
            f"(--memory-gb, else what is available now, at most {DEFAULT_CPU_CAP_GB:.0f} GB). "
            f"Weights, gradients, optimizer state and runtime take {fixed / GB:.2f} GB (influence's probe "
            f"gradients and kept activations {influence / GB:.2f} GB of it: --influence-layers); generating "
            f"{generation_rows} completions of up to {row_tokens} tokens {generation / GB:.2f} GB; one training row "
            f"of {row_tokens} tokens {per_token * row_tokens / GB:.2f} GB. Lower max_completion_length or "
            f"prompts_per_step x num_generations, track fewer --influence-layers, train LoRA adapters (--lora), use --optimizer adafactor, pick a "
            f"smaller model, or allow more with --memory-gb if the machine has it.")
    return MemoryPlan(budget, fixed, generation, per_token, row_tokens, int(rows) * row_tokens)


def cpu_budget(memory_gb: float) -> int:
    """Bytes a CPU run may use: `memory_gb` when set, else what is available now, at most 4 GB."""
    cap = memory_gb if memory_gb > 0 else DEFAULT_CPU_CAP_GB
    return int(min(cap * GB, available_bytes()))
