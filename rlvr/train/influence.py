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
  a zero gradient and is counted in `empty_refreshes`. The probe is sampled every `probe_every`
  steps and the probe gradient refreshed every `every` steps, so a refresh may reuse rollouts an
  earlier policy drew: those are importance weighted to the policy of the refresh (w_i =
  q_now(o_i) / q_drawn(o_i), q the policy at the sampling temperature, self-normalised within each
  probe task's group with the baseline weighted alike: (w_i / mean w) (r_i - sum w r / sum w)),
  which needs each rollout's log-probability under the policy that drew it (`on_probe`);
  `stale_refreshes`, `max_age` and `min_ess` (the smallest effective sample share
  (sum w)^2 / (k sum w^2) of a weighted group) say how much of that happened;
- "gold": the mean per-token negative log-likelihood of the probe tasks' reference answers (the
  verifier's gold completion, without an end-of-sequence token), which needs no sampling and has
  no sampling noise, but scores a reply the model may never write in that form.

A positive influence says the group's update moved the policy towards higher probe reward (or more
likely reference answers); a negative one, away from it.

The optimiser's geometry. Training uses AdamW, whose update for a gradient g is not -lr g but
-lr P m_hat with P = diag(1 / (sqrt(v_hat) + eps)), v_hat and m_hat the bias-corrected second and
first moments. A group's predicted effect on the probe objective is therefore built from
<g_z, P G>, not <g_z, G> (plain TracIn, "SGD units", which weighs coordinates the preconditioner
damps and vice versa). P is the one the step's update actually applied: the rows' activations
and output gradients are kept until the optimiser has stepped (`settle`), when AdamW's v includes
this step's own gradient, so the first step (no v before it) and coordinates a previous step left
untouched (a stale v would blow them up) are scaled as the optimiser scaled them. Momentum feeds
the gradient into the updates of every later step too, at their learning rates: the trainer
multiplies by `update_weight` (and the step's clip coefficient), so a group's influence is its
first-order effect over the rest of the run, not only at its own step. The later steps' P and G
are taken as this step's (they move slowly: beta2 = 0.999, and lr is small). With the "reward"
objective the result is a predicted first-order change in the probe's expected reward, i.e. in its
pass rate for 0/1 rewards; with "gold", a predicted change of minus the mean per-token NLL of the
reference answers. The geometry is recorded per group: "adamw" as above; "adamw-scalar" the
low-memory mode (`exact=False`, chosen by the memory plan when the step's activations do not fit:
rows are dotted with the plain G during backward and scaled after the step by one number,
1 / rms(sqrt(v_hat) + eps) over the tracked weights: right in scale, not per weight); "sgd" an
optimiser without a per-coordinate second moment (Adafactor's is factored): the learning rate alone.

Whole model or last blocks. `layers` picks the last blocks whose linear layers are tracked; at
least the model's block count tracks them all and the prediction is the whole model's change
(minus the embeddings and norms); fewer blocks predict the change through those weights only,
a fraction of the whole (about 1/30 per block of SmolLM2), useful as a ranking.

Uncertainty. G is a sum over probe units, G = sum_u G_u, a unit being one probe task (with more
than MAX_UNITS = 16 probe tasks, they are dealt round-robin into 16 units: memory is units x
tracked weights), so each group's influence is kept as its vector of per-unit contributions
(`influence_by_probe` in the ledger's meta) and any aggregate (a task, a source) sums those
vectors. Resampling the units with replacement (the bootstrap over probe groups, clustered when
tasks share a unit) gives the standard error of the sum in closed form,
se = sqrt(U * mean_u (c_u - mean c)^2) for the U per-unit contributions c_u (`bootstrap_se`).
This is the uncertainty that comes from which probe tasks were drawn and how their rollouts fell;
rlvr.train.value adds the bootstrap over a key's groups (which of its groups the run drew), and
neither is the noise of training itself: across seeds, pool runs (`value.across_runs`).

How it stays affordable. Only the weights of the linear layers in the last `layers` transformer
blocks are looked at (under LoRA, only the adapters there: the trainable weights). For such a layer
with weight W, the gradient of the loss is a sum over tokens of outer products delta_t a_t^T (output
gradient times input activation), so a group's dot product with the probe gradient G is
sum_t delta_t^T G a_t over its tokens. Forward hooks keep a_t (which autograd keeps anyway) and
tensor hooks on the outputs receive delta_t during TRL's own backward pass, so no extra forward or
backward is spent on the training side and no per-example gradient is ever materialised; a_t and
delta_t of the step's rows with a nonzero gradient are held until the step's update is known
(memory: tokens per step x the tracked layers' widths, which the memory plan counts). The
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
MAX_UNITS = 16  # bootstrap units: more probe tasks are dealt round-robin into 16 (memory: units x tracked weights)


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
    """(name, nn.Linear) with trainable weights inside the last `layers` blocks (all of them when
    `layers` is at least the model's block count)."""
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
                 batch_size: int = 8, exact: bool = True, temperature: float = 1.0):
        if objective not in OBJECTIVES:
            raise ValueError(f"influence objective must be one of {OBJECTIVES}, got {objective!r}")
        if objective == "reward" and samples is None:
            raise ValueError("the reward objective needs the probe's rollouts (samples=probe.latest)")
        self.tokenizer = tokenizer
        self.every = every
        self.objective = objective
        self.samples = samples
        self.batch_size = batch_size
        self.temperature = temperature  # the probe's sampling temperature: its rollouts' probability is at it
        # Which policy drew the probe rollouts (see `on_probe`): the step it was sampled at and each
        # rollout's log-probability under that policy, (task_id, index) -> sum_t log q(o_t).
        self.probe_step: int | None = None
        self._drawn_logp: dict[tuple[str, int], float] | None = None
        self.stale_refreshes = 0  # refreshes whose rollouts came from an earlier policy (importance weighted)
        self.max_age = 0  # the most steps such rollouts were old
        self.min_ess: float | None = None  # the smallest effective sample share of a weighted probe group
        self.modules = tracked_linears(model, layers)
        self.n_params = sum(m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
                            for _, m in self.modules)
        self.skipped = 0
        self.units = min(len(probe_tasks), MAX_UNITS)  # probe tasks dealt round-robin into the units
        self.unit_of = {t.task_id: i % max(self.units, 1) for i, t in enumerate(probe_tasks)}
        if objective == "gold":
            self.gold, self.skipped = self._gold_examples(probe_tasks)
            if not self.gold:
                raise ValueError("influence: no probe task has a reference answer to measure against; give probe "
                                 "tasks whose verifier can write a gold completion, or use the reward objective")
            self.units = min(len(self.gold), MAX_UNITS)
        self.exact = exact  # keep the step's activations for AdamW's own P (else one scalar, see settle)
        self.model_blocks = len(decoder_blocks(model))
        self.blocks = min(layers, self.model_blocks)
        self.dtype = storage_dtype(self.units, self.n_params)
        self.geometry = "sgd"  # of the latest settled step: adamw or sgd
        self.empty_refreshes = 0
        self.grads: dict[int, tuple[Any, Any]] = {}  # id(module) -> (G_weight, G_bias), stacked per unit
        self.refreshed_at: int | None = None
        self.refreshes = 0
        self.seconds = 0.0
        self._active = False
        self._saved: Any = None  # id(module) -> [(row offset, live rows, activations, output gradients)]
        self._scores: Any = None  # low-memory mode: (rows, units) dots with the plain G
        self._rows = 0
        self._pending: list[tuple[list[Any], Any]] = []  # micro-batches of this step: (row keys, saved)
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
        return [(p, c, 1.0 / len(encoded), u % MAX_UNITS) for u, (p, c) in enumerate(encoded)], skipped

    def _reward_rollouts(self) -> tuple[list[tuple[str, int, int, list[int], list[int], float]], int]:
        """([(task_id, index, unit, prompt ids, completion ids, reward)] for every completion of the latest
        probe groups whose rewards are not all equal, N = the number of probe completions in all)."""
        groups = self.samples() if self.samples is not None else []
        n = sum(len(rewards) for _, _, rewards, _ in groups)
        out = []
        for task, completions, rewards, finished in groups:
            unit = self.unit_of.get(task.task_id)
            if unit is None or len(set(rewards)) < 2:  # all equal: zero advantage whatever the weights
                continue
            for i, (c, r, fin) in enumerate(zip(completions, rewards, finished)):
                p_ids, c_ids = self._encode(task, c, fin)
                if c_ids:
                    out.append((task.task_id, i, unit, p_ids, c_ids, float(r)))
        return out, n

    def _coefficients(self, rewards: Sequence[float], log_ratios: Sequence[float] | None, n: int) -> list[float]:
        """The coefficients of one probe group's rollouts: the loss sum_i coefficient_i * NLL_i has gradient
        minus the policy gradient of the probe reward at the current weights.

        Fresh rollouts (`log_ratios` None): (r_i - group mean) / N. Rollouts an earlier policy drew:
        self-normalised importance weights, w_i = q_now(o_i) / q_drawn(o_i) = exp(log_ratios_i),
        coefficient (w_i / mean_j w_j) (r_i - sum_j w_j r_j / sum_j w_j) / N: the same estimator, its
        sample reweighted to the policy the gradient is taken at."""
        if log_ratios is None:
            w = [1.0] * len(rewards)
        else:
            top = max(log_ratios)
            w = [math.exp(x - top) for x in log_ratios]
            ess = sum(w) ** 2 / sum(x * x for x in w) / len(w)
            self.min_ess = ess if self.min_ess is None else min(self.min_ess, ess)
        total = sum(w)
        baseline = sum(wi * r for wi, r in zip(w, rewards)) / total
        return [wi * len(w) / total * (r - baseline) / n for wi, r in zip(w, rewards)]

    def on_probe(self, model: Any, step: int) -> None:
        """The probe was just sampled, after `step` updates, from the policy the model now holds. The
        reward objective's rollouts are reused until the next probe (`probe_every` steps), while
        training moves the policy: each refresh after this step reweights them to the policy of that
        moment, which needs their log-probability under the policy that drew them. A refresh due at
        this very step reads it off its own forward pass; otherwise it is scored here (one forward
        pass over the probe's rollouts, no backward)."""
        if self.objective != "reward":
            return
        self.probe_step = step
        self._drawn_logp = None
        if not self.due(step):
            self._drawn_logp = self._rollout_logps(model, self._reward_rollouts()[0])

    def _rollout_logps(self, model: Any, rollouts: list) -> dict[tuple[str, int], float]:
        """(task_id, index) -> sum over the completion's tokens of log q(o_t), q the current policy at the
        sampling temperature; no gradient."""
        import torch

        out: dict[tuple[str, int], float] = {}
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(rollouts), self.batch_size):
                    batch = rollouts[start:start + self.batch_size]
                    _, logq = self._batch_logps(model, [(ro[3], ro[4]) for ro in batch])
                    out.update({(ro[0], ro[1]): float(x) for ro, x in zip(batch, logq)})
        finally:
            model.train(was_training)
        return out

    def _batch_logps(self, model: Any, batch: list[tuple[list[int], list[int]]]) -> tuple[Any, Any]:
        """(mean per-token log pi of each completion, with its graph; sum of log q at the sampling
        temperature, detached) for a batch of (prompt ids, completion ids), left padded."""
        import torch

        params = next(model.parameters())
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = max(len(p) + len(g) for p, g in batch)
        keep = max(len(g) for _, g in batch) + 1
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        target_mask = torch.zeros((len(batch), keep - 1))
        for i, (p, g) in enumerate(batch):  # left padding: every completion ends at the last position
            seq = p + g
            ids[i, width - len(seq):] = torch.tensor(seq)
            mask[i, width - len(seq):] = 1
            target_mask[i, keep - 1 - len(g):] = 1.0
        ids, mask, target_mask = ids.to(params.device), mask.to(params.device), target_mask.to(params.device)
        logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits[:, :-1].float()
        targets = ids[:, width - keep + 1:].unsqueeze(-1)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, targets).squeeze(-1)
        mean_logp = (logp * target_mask).sum(1) / target_mask.sum(1).clamp(min=1.0)
        with torch.no_grad():
            logq = logp if self.temperature == 1.0 else \
                torch.log_softmax(logits / self.temperature, dim=-1).gather(-1, targets).squeeze(-1)
            sum_logq = (logq * target_mask).sum(1).detach()
        return mean_logp, sum_logq

    def probe_loss_and_grads(self, model: Any, step: int | None = None) -> tuple[float, list[Any]]:
        """The probe loss (see the module docstring) at the current weights, after `step` updates, and its
        gradient w.r.t. the tracked weights, per probe unit: one tensor of shape (units, *param.shape)
        per tracked parameter, in `self.dtype` (each unit's gradient is accumulated in fp32 and stored
        once). With the reward objective, rollouts drawn before `step` are importance weighted."""
        import torch

        params = [p for _, m in self.modules for p in (m.weight, m.bias) if p is not None]
        dtype = getattr(torch, self.dtype)
        total = [torch.zeros((self.units, *p.shape), dtype=dtype, device=p.device) for p in params]
        # per unit, the batches of one forward/backward each: [(prompt ids, completion ids, rollout key)]
        # and how a batch's coefficients follow from its completions' log q under the current policy
        plan: dict[int, list[tuple[list, Callable[[Any], list[float]]]]] = defaultdict(list)
        capture: dict[tuple[str, int], float] | None = None

        def add_fixed(unit: int, kept: list[tuple[Any, float]]) -> None:
            """(item, coefficient) pairs whose coefficients are known now, in batches of batch_size."""
            for start in range(0, len(kept), self.batch_size):
                chunk = kept[start:start + self.batch_size]
                plan[unit].append(([item for item, _ in chunk], lambda _, cs=[c for _, c in chunk]: cs))

        if self.objective == "gold":
            by_unit: dict[int, list[tuple[Any, float]]] = defaultdict(list)
            for p_ids, c_ids, w, unit in self.gold:
                by_unit[unit].append(((p_ids, c_ids, None), w))
            for unit, kept in by_unit.items():
                add_fixed(unit, kept)
        else:
            rollouts, n = self._reward_rollouts()
            stale = self.probe_step is not None and step is not None and step != self.probe_step
            drawn = self._drawn_logp
            weighted = stale and drawn is not None and all((ro[0], ro[1]) in drawn for ro in rollouts)
            if stale and not weighted:
                log.warning("influence: probe rollouts from step %s reused at step %s without their sampling "
                            "log-probabilities; not reweighted", self.probe_step, step)
            elif not stale and self.probe_step is not None and step is not None:
                capture = self._drawn_logp = {}  # fresh: this pass scores them under the policy that drew them
            if weighted:
                self.stale_refreshes += 1
                self.max_age = max(self.max_age, step - self.probe_step)
            groups: dict[str, list] = defaultdict(list)
            for ro in rollouts:
                groups[ro[0]].append(ro)
            group_batch = max(self.batch_size, 16)
            for group in groups.values():
                unit, rewards = group[0][2], [ro[5] for ro in group]
                items = [(ro[3], ro[4], (ro[0], ro[1])) for ro in group]
                if weighted and len(group) <= group_batch:  # one pass: its weights and its gradient
                    old = torch.tensor([drawn[(ro[0], ro[1])] for ro in group], dtype=torch.float64)
                    plan[unit].append((items, lambda logq, rewards=rewards, old=old: self._coefficients(
                        rewards, (logq.double().cpu() - old).tolist(), n)))
                    continue
                if weighted:  # a group too large for one batch is scored first, then reweighted
                    now = self._rollout_logps(model, group)
                    coefs = self._coefficients(rewards, [now[k] - drawn[k] for *_, k in items], n)
                else:
                    coefs = self._coefficients(rewards, None, n)
                # zero coefficient, zero gradient: skip the forward pass, unless this pass also scores
                # every rollout of a mixed group under the policy that drew it
                add_fixed(unit, [(item, c) for item, c in zip(items, coefs) if c or capture is not None])
        if not plan:
            self.empty_refreshes += 1
            return 0.0, total
        loss_sum = 0.0
        for unit, batches in sorted(plan.items()):
            acc = [torch.zeros(p.shape, dtype=torch.float32, device=p.device) for p in params]
            for items, coefficients in batches:
                mean_logp, sum_logq = self._batch_logps(model, [(p_ids, c_ids) for p_ids, c_ids, _ in items])
                if capture is not None:
                    capture.update({key: float(x) for (*_, key), x in zip(items, sum_logq)})
                coefs = coefficients(sum_logq)
                if not any(coefs):
                    continue
                loss = -(mean_logp * torch.tensor(coefs, dtype=torch.float32, device=mean_logp.device)).sum()
                grads = torch.autograd.grad(loss, params, allow_unused=True)
                for a, g in zip(acc, grads):
                    if g is not None:
                        a += g.float()
                loss_sum += float(loss.detach())
            for t, a in zip(total, acc):
                t[unit] = a
        return loss_sum, total

    def preconditioners(self, optimizer: Any) -> tuple[str, dict[int, tuple[Any, Any]]]:
        """AdamW's P = 1 / (sqrt(v_hat) + eps) per tracked module (weight, bias), from the optimiser's
        state as it is now: after a step, the exact scaling that step's update applied.

        Returns the geometry and the preconditioners: "adamw" when the optimiser holds a second moment
        for every tracked parameter, else "sgd" (none given, no second moments, e.g. Adafactor's
        factored one) with no preconditioners."""
        inner = getattr(optimizer, "optimizer", optimizer)
        if inner is None or not hasattr(inner, "param_groups"):
            return "sgd", {}
        group_of = {id(p): g for g in inner.param_groups for p in g["params"]}
        out: dict[int, tuple[Any, Any]] = {}
        for _, m in self.modules:
            pair = []
            for p in (m.weight, m.bias):
                if p is None:
                    pair.append(None)
                    continue
                group, st = group_of.get(id(p)), inner.state.get(p, {})
                if group is None or "betas" not in group or "exp_avg_sq" not in st:
                    return "sgd", {}
                step = float(st["step"]) if "step" in st else 1.0
                bias = 1.0 - group["betas"][1] ** max(step, 1.0)
                pair.append(1.0 / (st["exp_avg_sq"].float() / bias).sqrt_().add_(group.get("eps", 1e-8)))
            out[id(m)] = (pair[0], pair[1])
        return "adamw", out

    def refresh(self, model: Any, step: int) -> float:
        """Recompute the probe gradient at the current weights (before this step's update); returns
        the probe loss."""
        start = time.perf_counter()
        was_training, self._active = model.training, False
        model.eval()
        try:
            loss, grads = self.probe_loss_and_grads(model, step)
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

        self._saved = defaultdict(list)
        self._scores = None if self.exact else torch.zeros((rows, self.units), dtype=torch.float32, device=device)
        self._offsets = {}
        self._rows = rows
        self._active = True

    def end(self, keys: Sequence[Any]) -> None:
        """Close the micro-batch just trained: its rows (named by `keys`, one per row) are scored by
        `settle` once the step's update is known."""
        self._active = False
        if self._saved is not None:
            if len(keys) != self._rows:
                log.warning("influence: %d row keys for a micro-batch of %d rows; its rows are not scored",
                            len(keys), self._rows)
            else:
                self._pending.append((list(keys), self._saved if self.exact else self._scores.tolist()))
        self._saved = self._scores = None

    def settle(self, optimizer: Any = None) -> dict[Any, list[float]]:
        """Per row key, per probe unit u: <grad of that row's loss terms, P G_u>, for every micro-batch
        since the last call, with P the preconditioner of the update just made (call it after the
        optimiser's step: AdamW's v then includes this step's own gradient, as the update did)."""
        import torch

        start = time.perf_counter()
        self.geometry, precond = self.preconditioners(optimizer)
        out: dict[Any, list[float]] = {}
        if not self.exact:  # rows were scored against G in the hooks: one scalar puts them in AdamW's units
            scale = self._scalar(precond)
            if precond:
                self.geometry = "adamw-scalar"
            for keys, rows in self._pending:
                for key, row in zip(keys, rows):
                    row = [x * scale for x in row]
                    out[key] = [x + y for x, y in zip(out[key], row)] if key in out else row
            self._pending = []
            self.seconds += time.perf_counter() - start
            return out
        if self._pending:
            scores = [torch.zeros((len(keys), self.units), dtype=torch.float32) for keys, _ in self._pending]
            with torch.no_grad():
                for _, m in self.modules:
                    if not any(saved.get(id(m)) for _, saved in self._pending):
                        continue  # no row with a gradient reached this layer (e.g. all groups all-equal)
                    gw, gb = self.grads[id(m)]
                    pw, pb = precond.get(id(m), (None, None))
                    pgw = gw.float() * pw if pw is not None else gw.float()
                    pgb = None if gb is None else (gb.float() * pb if pb is not None else gb.float())
                    for (_, saved), acc in zip(self._pending, scores):
                        for offset, rows, a, d in saved.get(id(m), []):
                            acc[offset + rows] += row_dots(d, a, pgw, pgb).to(acc.device)
            for (keys, _), acc in zip(self._pending, scores):
                for key, row in zip(keys, acc.tolist()):
                    out[key] = [x + y for x, y in zip(out[key], row)] if key in out else row
        self._pending = []
        self.seconds += time.perf_counter() - start
        return out

    def _scalar(self, precond: dict[int, tuple[Any, Any]]) -> float:
        """The low-memory geometry: AdamW's P replaced by its root-mean-square over the tracked weights,
        1 / rms(sqrt(v_hat) + eps), after the step (1.0 without second moments). Right in scale, not
        per coordinate."""
        total, count = 0.0, 0
        for pw, pb in precond.values():
            for p in (pw, pb):
                if p is not None:
                    total += float((1.0 / p).pow(2).sum())
                    count += p.numel()
        return 1.0 / math.sqrt(total / count) if count else 1.0

    def _forward_hook(self, module: Any, inputs: tuple, output: Any) -> None:
        import torch

        if not self._active or not torch.is_grad_enabled() or not getattr(output, "requires_grad", False):
            return
        act = inputs[0].detach()
        rows = act.shape[0]
        offset = self._offsets.get(id(module), 0)
        self._offsets[id(module)] = offset + rows
        if not self.exact:
            output.register_hook(self._score_now(module, act, rows, offset))
            return
        saved = self._saved[id(module)]

        def on_grad(grad: Any) -> None:
            d = grad.detach().reshape(rows, -1, grad.shape[-1]).float()
            live = d.flatten(1).abs().amax(dim=1) > 0  # rows with zero advantage have no gradient: not kept
            if live.any():
                idx = live.nonzero().squeeze(1)
                a = act.reshape(rows, -1, act.shape[-1])
                saved.append((offset, idx, a.index_select(0, idx).float(), d.index_select(0, idx)))

        output.register_hook(on_grad)

    def _score_now(self, module: Any, act: Any, rows: int, offset: int) -> Callable[[Any], None]:
        """The low-memory mode's gradient hook: dot each row's gradient with the plain G as it arrives
        (nothing kept)."""
        import torch

        gw, gb = self.grads[id(module)]
        scores = self._scores

        def on_grad(grad: Any) -> None:
            start = time.perf_counter()
            with torch.no_grad():
                d = grad.reshape(rows, -1, grad.shape[-1]).float()
                a = act.reshape(rows, -1, act.shape[-1]).float()
                s = row_dots(d, a, gw.float(), None if gb is None else gb.float())
                scores[offset:offset + rows] += s.to(scores.device)
            self.seconds += time.perf_counter() - start

        return on_grad

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def row_dots(d: Any, a: Any, g_weight: Any, g_bias: Any = None) -> Any:
    """(rows, units): each row's weight gradient sum_t d_t a_t^T (output gradients d: rows x tokens x
    out, inputs a: rows x tokens x in) dotted with each unit's (units, out, in) probe gradient, plus the
    bias term."""
    import torch

    s = torch.einsum("roi,uoi->ru", torch.einsum("rto,rti->roi", d, a), g_weight)
    if g_bias is not None:
        s += d.sum(dim=1) @ g_bias.T
    return s


FP32_STORAGE_LIMIT = 2**27  # bytes of per-unit probe gradients kept in fp32; beyond, bf16 halves them


def storage_dtype(units: int, n_params: int) -> str:
    """How the per-unit probe gradients are stored: float32, or bfloat16 when fp32 would take more
    than FP32_STORAGE_LIMIT (SmolLM2's last block for 16 units: 225 -> 112 MB; every block for 12
    units: 5 -> 2.5 GB; the dot products are still taken in fp32)."""
    return "float32" if 4 * units * n_params <= FP32_STORAGE_LIMIT else "bfloat16"


def storage_bytes(units: int, n_params: int) -> int:
    """Memory the stored probe gradients take (the memory planner counts it)."""
    return (4 if storage_dtype(units, n_params) == "float32" else 2) * units * n_params


def update_weight(step: int, horizon: int, lr_at: Callable[[int], float], beta1: float | None) -> float:
    """How much of a gradient taken at optimizer step `step` (0-based) the run applies, in lr units.

    Plain SGD applies it once, at that step's learning rate. Adam feeds it into its first moment:
    at every later step t < `horizon` the update carries (1 - beta1) beta1^(t - step) / (1 - beta1^(t+1))
    of it (the bias-corrected moving average), at learning rate lr_at(t). So with beta1 = 0.9 and a
    linearly decaying schedule over 8 steps the first step's gradient is applied about 1.9 times over
    and the last one's 0.18 times: TracIn with lr_s alone (the usual form) over-credits the end of a
    run and under-credits its start. beta1 None or 0 (SGD, Adafactor without momentum): lr_at(step)."""
    if not beta1:
        return lr_at(step)
    return sum(lr_at(t) * (1 - beta1) * beta1 ** (t - step) / (1 - beta1 ** (t + 1))
               for t in range(step, max(horizon, step + 1)))


def bootstrap_se(contributions: Sequence[float]) -> float | None:
    """Standard error of sum(contributions) when the probe units are resampled with replacement.

    For U units resampled with replacement the sum's bootstrap variance is U * Var_pop(c) exactly
    (no Monte Carlo needed). None for fewer than two units."""
    c = [float(x) for x in contributions]
    if len(c) < 2:
        return None
    mean = sum(c) / len(c)
    return math.sqrt(len(c) * sum((x - mean) ** 2 for x in c) / len(c))
