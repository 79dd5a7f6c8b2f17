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

The optimiser's geometry. Training uses AdamW, whose update for a gradient g is not -lr g but
-lr P g with P = diag(1 / (sqrt(v_hat) + eps)), v_hat the bias-corrected second-moment estimate
(momentum spreads the same total over later steps: its weights (1 - beta1) beta1^j sum to 1). A
group's predicted effect on the probe objective is therefore lr * <g_z, P G>, not lr * <g_z, G>
(plain TracIn, "SGD units", which weighs coordinates the preconditioner damps and vice versa). The
probe gradient G is multiplied by P when it is refreshed, from the optimiser's state at that time
(v of the previous step: v moves slowly, beta2 = 0.999); the step's clip coefficient scales every
group of that step. Before the first optimiser step AdamW has no v; the first step's dot products
are then rescaled after it by the scalar 1 / (rms(sqrt(v_hat)) + eps) (the geometry is recorded per
refresh: "adamw", "adamw-scalar" for that first step, "sgd" for an optimiser without a second
moment). With the "reward" objective the result is a predicted first-order change in the probe's
expected reward, i.e. in its pass rate for 0/1 rewards; with "gold", a predicted change of minus
the mean per-token NLL of the reference answers.

Uncertainty. G is a sum over probe tasks (units), G = sum_u G_u, so each group's influence is
kept as its vector of per-unit contributions (`influence_by_probe` in the ledger's meta) and any
aggregate (a task, a source) sums those vectors. Resampling the probe tasks with replacement
(the bootstrap over probe groups) gives the standard error of the sum in closed form,
se = sqrt(U * mean_u (c_u - mean c)^2) for the U per-unit contributions c_u (`bootstrap_se`).
This is the uncertainty that comes from which probe tasks were drawn and how their rollouts fell,
not from the training noise; across seeds, compare runs.

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
import math
import time
from collections import defaultdict
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
        self.unit_of = {t.task_id: i for i, t in enumerate(probe_tasks)}
        self.units = len(probe_tasks)
        if objective == "gold":
            self.gold, self.skipped = self._gold_examples(probe_tasks)
            if not self.gold:
                raise ValueError("influence: no probe task has a reference answer to measure against; give probe "
                                 "tasks whose verifier can write a gold completion, or use the reward objective")
            self.units = len(self.gold)
        self.geometry = "sgd"  # of the latest refresh: adamw, adamw-scalar (rescaled after the step) or sgd
        self.empty_refreshes = 0
        self.grads: dict[int, tuple[Any, Any]] = {}  # id(module) -> (G_weight, G_bias), stacked per unit
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
        return [(p, c, 1.0 / len(encoded), u) for u, (p, c) in enumerate(encoded)], skipped

    def _reward_examples(self) -> list[tuple[list[int], list[int], float, int]]:
        """(prompt, completion, weight, unit) with weight = (r_i - group mean) / N over the latest probe
        rollouts and unit the probe task's position.

        The loss sum_i weight_i * NLL_i has gradient -(1/N) sum_i (r_i - mean) grad log pi(o_i): minus the
        policy gradient of the probe reward."""
        groups = self.samples() if self.samples is not None else []
        n = sum(len(rewards) for _, _, rewards, _ in groups)
        out = []
        for task, completions, rewards, finished in groups:
            unit = self.unit_of.get(task.task_id)
            if unit is None:
                continue
            mean = sum(rewards) / len(rewards)
            for c, r, fin in zip(completions, rewards, finished):
                if r != mean:  # zero advantage, zero gradient: skip the forward pass
                    p_ids, c_ids = self._encode(task, c, fin)
                    if c_ids:
                        out.append((p_ids, c_ids, (r - mean) / n, unit))
        return out

    def probe_loss_and_grads(self, model: Any) -> tuple[float, list[Any]]:
        """The probe loss (see the module docstring) and its gradient w.r.t. the tracked weights, per
        probe unit: one tensor of shape (units, *param.shape) per tracked parameter."""
        import torch

        params = [p for _, m in self.modules for p in (m.weight, m.bias) if p is not None]
        total = [torch.zeros((self.units, *p.shape), dtype=torch.float32, device=p.device) for p in params]
        examples = self.gold if self.objective == "gold" else self._reward_examples()
        if not examples:
            self.empty_refreshes += 1
            return 0.0, total
        device = params[0].device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        loss_sum = 0.0
        by_unit: dict[int, list] = defaultdict(list)
        for ex in examples:
            by_unit[ex[3]].append(ex)
        for unit, unit_examples in sorted(by_unit.items()):
            for start in range(0, len(unit_examples), self.batch_size):
                batch = unit_examples[start:start + self.batch_size]
                width = max(len(p) + len(g) for p, g, _, _ in batch)
                keep = max(len(g) for _, g, _, _ in batch) + 1
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                target_mask = torch.zeros((len(batch), keep - 1))
                weights = torch.tensor([w for _, _, w, _ in batch], dtype=torch.float32, device=device)
                for i, (p, g, _, _) in enumerate(batch):  # left padding: every completion ends at the last position
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
                        acc[unit] += g.float()
                loss_sum += float(loss.detach())
        return loss_sum, total

    def precondition(self, grads: list[Any], optimizer: Any) -> str:
        """Multiply the per-unit probe gradients by AdamW's P = 1 / (sqrt(v_hat) + eps), in place.

        Returns the geometry used: "adamw" when the optimiser holds a second moment for every tracked
        parameter, "adamw-scalar" when it has none yet (rescaled after the step, see `rescale`),
        "sgd" for an optimiser without second moments (or none given)."""
        params = [p for _, m in self.modules for p in (m.weight, m.bias) if p is not None]
        inner = getattr(optimizer, "optimizer", optimizer)
        if inner is None or not hasattr(inner, "param_groups"):
            return "sgd"
        group_of = {id(p): g for g in inner.param_groups for p in g["params"]}
        if not all(id(p) in group_of and "betas" in group_of[id(p)] for p in params):
            return "sgd"
        states = [inner.state.get(p, {}) for p in params]
        if not all("exp_avg_sq" in st for st in states):
            return "adamw-scalar"
        for g, p, st in zip(grads, params, states):
            group = group_of[id(p)]
            step = float(st["step"]) if "step" in st else 1.0
            bias = 1.0 - group["betas"][1] ** max(step, 1.0)
            denom = (st["exp_avg_sq"].float() / bias).sqrt_().add_(group.get("eps", 1e-8))
            g /= denom.to(g.device)
        return "adamw"

    def rescale(self, optimizer: Any) -> float:
        """The scalar that puts a first step's dot products into AdamW's geometry, after that step:
        1 / (rms over the tracked parameters of sqrt(v_hat)) + eps); 1.0 when it cannot be known."""
        inner = getattr(optimizer, "optimizer", optimizer)
        params = [p for _, m in self.modules for p in (m.weight, m.bias) if p is not None]
        if inner is None or not hasattr(inner, "state"):
            return 1.0
        total, count, eps = 0.0, 0, 1e-8
        group_of = {id(p): g for g in getattr(inner, "param_groups", []) for p in g["params"]}
        for p in params:
            st = inner.state.get(p, {})
            if "exp_avg_sq" not in st or id(p) not in group_of:
                return 1.0
            group = group_of[id(p)]
            bias = 1.0 - group["betas"][1] ** max(float(st.get("step", 1.0)), 1.0)
            total += float((st["exp_avg_sq"].float() / bias).sum())
            count += p.numel()
            eps = group.get("eps", eps)
        return 1.0 / ((total / max(count, 1)) ** 0.5 + eps)

    def refresh(self, model: Any, step: int, optimizer: Any = None) -> float:
        """Recompute the probe gradient at the current weights, in the optimiser's geometry; returns
        the probe loss."""
        start = time.perf_counter()
        was_training, self._active = model.training, False
        model.eval()
        try:
            loss, grads = self.probe_loss_and_grads(model)
        finally:
            model.train(was_training)
        self.geometry = self.precondition(grads, optimizer)
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

        self._scores = torch.zeros((rows, self.units), dtype=torch.float32, device=device)
        self._offsets = {}
        self._active = True

    def end(self) -> list[list[float]]:
        """Per row, per probe unit u: <grad of the loss terms of that row, P G_u> for the micro-batch
        just trained (sum over u for the row's total)."""
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
                # per-row weight gradient d^T a (rows, out, in), then its dot with each unit's P G_u
                s = torch.einsum("roi,uoi->ru", torch.einsum("rto,rti->roi", d, a), gw)
                if gb is not None:
                    s += d.sum(dim=1) @ gb.T
                self._scores[offset:offset + rows] += s
            self.seconds += time.perf_counter() - start

        output.register_hook(on_grad)

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def bootstrap_se(contributions: Sequence[float]) -> float | None:
    """Standard error of sum(contributions) when the probe units are resampled with replacement.

    For U units resampled with replacement the sum's bootstrap variance is U * Var_pop(c) exactly
    (no Monte Carlo needed). None for fewer than two units."""
    c = [float(x) for x in contributions]
    if len(c) < 2:
        return None
    mean = sum(c) / len(c)
    return math.sqrt(len(c) * sum((x - mean) ** 2 for x in c) / len(c))
