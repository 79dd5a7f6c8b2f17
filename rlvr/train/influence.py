"""TracIn-style influence of every training group on the probe set, measured on a parameter subset.

What is measured. TracIn (Pruthi et al., 2020) credits a training example z with the decrease of a
test loss it causes through the updates that used it: sum over steps t of lr_t * <grad L(z), grad
L_test>. Here z is one task's group at one step, L(z) is its share of TRL's GRPO loss for that step
(clipping, loss-type normalisation and advantages exactly as TRL computed them), and L_test is the
probe loss, one of:

- "reward" (default): minus the probe set's expected reward, whose gradient is the policy gradient
  on the latest probe rollouts, -(1/N) sum_i (r_i - mean of its group) grad mean_t log pi(o_i,t):
  the same estimator GRPO trains with, applied to held-out tasks. Groups whose k rewards are all
  equal contribute nothing (as in training); a refresh where every probe group is all-equal gives
  a zero gradient and is counted in `empty_refreshes`;
- "gold": the mean per-token negative log-likelihood of the probe tasks' reference answers (the
  verifier's gold completion, without an end-of-sequence token), which needs no sampling and has
  no sampling noise, but scores a reply the model may never write in that form.

A positive influence says the group's update moved the policy towards higher probe reward (or more
likely reference answers); a negative one, away from it.
Gradient clipping is applied (the step's clip coefficient scales every group of that step); the
Adam preconditioner is not (plain TracIn), so magnitudes are in "SGD units" and signs and
rankings are what to read.

How it stays affordable. Only the weights of the linear layers in the last `layers` transformer
blocks are looked at (under LoRA, only the adapters there: the trainable weights). For such a layer
with weight W, the gradient of the loss is a sum over tokens of outer products delta_t a_t^T (output
gradient times input activation), so a group's dot product with the probe gradient G is
sum_t delta_t^T G a_t over its tokens. Forward hooks keep a_t (which autograd keeps anyway) and
tensor hooks on the outputs receive delta_t during TRL's own backward pass, so no extra forward or
backward is spent on the training side and no per-example gradient is ever materialised. The
probe gradient G is recomputed every `every` steps with one forward/backward over the probe
answers (autograd stops at the earliest hooked layer). `seconds` and `refreshes` report the cost.

Limits: gradient checkpointing re-runs forwards during backward and would double count, so it is
refused; in a multi-process run each rank scores its own rows and the trainer sums them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from rlvr.records import Task
from rlvr.verify import gold_completion

log = logging.getLogger(__name__)

OBJECTIVES = ("reward", "gold")


def decoder_blocks(model: Any) -> list[Any]:
    """The model's stack of transformer blocks: the longest ModuleList named like `layers`/`h`/`blocks`."""
    import torch.nn as nn

    best: list[Any] = []
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and name.split(".")[-1] in ("layers", "h", "blocks", "layer"):
            if len(module) > len(best):
                best = list(module)
    if not best:
        raise ValueError("influence: cannot find the model's transformer blocks (a ModuleList named layers, h or "
                         "blocks); turn influence off for this architecture")
    return best


def tracked_linears(model: Any, layers: int) -> list[tuple[str, Any]]:
    """(name, nn.Linear) with trainable weights inside the last `layers` blocks."""
    import torch.nn as nn

    blocks = decoder_blocks(model)[-layers:]
    names = {id(m): n for n, m in model.named_modules()}
    out = []
    for block in blocks:
        for module in block.modules():
            if isinstance(module, nn.Linear) and module.weight.requires_grad:
                out.append((names.get(id(module), "?"), module))
    if not out:
        raise ValueError(f"influence: no trainable linear layer in the last {layers} block(s); raise "
                         "influence_layers or turn influence off")
    return out


class Influence:
    """Per-row gradient alignment with the probe objective, collected during TRL's backward pass."""

    def __init__(self, model: Any, tokenizer: Any, probe_tasks: Sequence[Task], *, layers: int = 1,
                 every: int = 1, objective: str = "reward", samples: Callable[[], list] | None = None,
                 batch_size: int = 8):
        if objective not in OBJECTIVES:
            raise ValueError(f"influence objective must be one of {OBJECTIVES}, got {objective!r}")
        if objective == "reward" and samples is None:
            raise ValueError("the reward objective needs the probe's rollouts (samples=probe.latest)")
        self.tokenizer = tokenizer
        self.every = every
        self.objective = objective
        self.samples = samples
        self.batch_size = batch_size
        self.modules = tracked_linears(model, layers)
        self.n_params = sum(m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
                            for _, m in self.modules)
        self.skipped = 0
        if objective == "gold":
            self.gold, self.skipped = self._gold_examples(probe_tasks)
            if not self.gold:
                raise ValueError("influence: no probe task has a reference answer to measure against; give probe "
                                 "tasks whose verifier can write a gold completion, or use the reward objective")
        self.empty_refreshes = 0
        self.grads: dict[int, tuple[Any, Any]] = {}  # id(module) -> (G_weight, G_bias)
        self.refreshed_at: int | None = None
        self.refreshes = 0
        self.seconds = 0.0
        self._active = False
        self._scores = None
        self._offsets: dict[int, int] = {}
        self._handles = [m.register_forward_hook(self._forward_hook) for _, m in self.modules]

    # -- the probe objective --------------------------------------------------------------------
    def _encode(self, task: Task, completion: str, finished: bool) -> tuple[list[int], list[int]]:
        prompt = self.tokenizer.apply_chat_template(task.chat(), tokenize=False, add_generation_prompt=True)
        p_ids = self.tokenizer(prompt, add_special_tokens=False).input_ids
        c_ids = self.tokenizer(completion, add_special_tokens=False).input_ids
        if finished and self.tokenizer.eos_token_id is not None:
            c_ids = c_ids + [self.tokenizer.eos_token_id]
        return p_ids, c_ids

    def _gold_examples(self, tasks: Sequence[Task]) -> tuple[list[tuple[list[int], list[int], float]], int]:
        encoded, skipped = [], 0
        for t in tasks:
            try:
                gold = gold_completion(t)
            except Exception as exc:  # noqa: BLE001 - a task without a gold answer is left out, counted
                log.info("influence: probe task %s has no gold completion (%s); left out", t.task_id, exc)
                skipped += 1
                continue
            encoded.append(self._encode(t, gold, finished=False))  # the answer itself, not where it stops
        return [(p, c, 1.0 / len(encoded)) for p, c in encoded], skipped

    def _reward_examples(self) -> list[tuple[list[int], list[int], float]]:
        """(prompt, completion, weight) with weight = (r_i - group mean) / N over the latest probe rollouts.

        The loss sum_i weight_i * NLL_i has gradient -(1/N) sum_i (r_i - mean) grad log pi(o_i): minus the
        policy gradient of the probe reward."""
        groups = self.samples() if self.samples is not None else []
        n = sum(len(rewards) for _, _, rewards, _ in groups)
        out = []
        for task, completions, rewards, finished in groups:
            mean = sum(rewards) / len(rewards)
            for c, r, fin in zip(completions, rewards, finished):
                if r != mean:  # zero advantage, zero gradient: skip the forward pass
                    p_ids, c_ids = self._encode(task, c, fin)
                    if c_ids:
                        out.append((p_ids, c_ids, (r - mean) / n))
        return out

    def probe_loss_and_grads(self, model: Any) -> tuple[float, list[Any]]:
        """The probe loss (see the module docstring) and its gradient w.r.t. the tracked weights."""
        import torch

        params = [p for _, m in self.modules for p in (m.weight, m.bias) if p is not None]
        total = [torch.zeros_like(p, dtype=torch.float32) for p in params]
        examples = self.gold if self.objective == "gold" else self._reward_examples()
        if not examples:
            self.empty_refreshes += 1
            return 0.0, total
        device = params[0].device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        loss_sum = 0.0
        for start in range(0, len(examples), self.batch_size):
            batch = examples[start:start + self.batch_size]
            width = max(len(p) + len(g) for p, g, _ in batch)
            keep = max(len(g) for _, g, _ in batch) + 1
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            target_mask = torch.zeros((len(batch), keep - 1))
            weights = torch.tensor([w for _, _, w in batch], dtype=torch.float32, device=device)
            for i, (p, g, _) in enumerate(batch):  # left padding: every completion ends at the last position
                seq = p + g
                ids[i, width - len(seq):] = torch.tensor(seq)
                mask[i, width - len(seq):] = 1
                target_mask[i, keep - 1 - len(g):] = 1.0
            ids, mask, target_mask = ids.to(device), mask.to(device), target_mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits[:, :-1].float()
            targets = ids[:, width - keep + 1:]
            logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            per_seq = -(logp * target_mask).sum(1) / target_mask.sum(1).clamp(min=1.0)
            loss = (per_seq * weights).sum()
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            for acc, g in zip(total, grads):
                if g is not None:
                    acc += g.float()
            loss_sum += float(loss.detach())
        return loss_sum, total

    def refresh(self, model: Any, step: int) -> float:
        """Recompute the probe gradient at the current weights; returns the probe loss."""
        start = time.perf_counter()
        was_training, self._active = model.training, False
        model.eval()
        try:
            loss, grads = self.probe_loss_and_grads(model)
        finally:
            model.train(was_training)
        it = iter(grads)
        self.grads = {}
        for _, m in self.modules:
            gw = next(it)
            gb = next(it) if m.bias is not None else None
            self.grads[id(m)] = (gw, gb)
        self.refreshed_at = step
        self.refreshes += 1
        self.seconds += time.perf_counter() - start
        return loss

    def due(self, step: int) -> bool:
        return self.refreshed_at is None or step - self.refreshed_at >= self.every

    # -- collection during TRL's backward -------------------------------------------------------
    def begin(self, rows: int, device: Any) -> None:
        import torch

        self._scores = torch.zeros(rows, dtype=torch.float32, device=device)
        self._offsets = {}
        self._active = True

    def end(self) -> list[float]:
        """Per-row <grad of the loss terms of that row, probe gradient> for the micro-batch just trained."""
        self._active = False
        scores = self._scores.tolist() if self._scores is not None else []
        self._scores = None
        return scores

    def _forward_hook(self, module: Any, inputs: tuple, output: Any) -> None:
        import torch

        if not self._active or not torch.is_grad_enabled() or not getattr(output, "requires_grad", False):
            return
        act = inputs[0].detach()
        rows = act.shape[0]
        offset = self._offsets.get(id(module), 0)
        self._offsets[id(module)] = offset + rows
        gw, gb = self.grads[id(module)]

        def on_grad(grad: Any) -> None:
            start = time.perf_counter()
            with torch.no_grad():
                d = grad.reshape(rows, -1, grad.shape[-1]).float()
                a = act.reshape(rows, -1, act.shape[-1]).float()
                s = ((d @ gw) * a).sum(dim=(1, 2))
                if gb is not None:
                    s += (d @ gb).sum(dim=1)
                self._scores[offset:offset + rows] += s
            self.seconds += time.perf_counter() - start

        output.register_hook(on_grad)

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
