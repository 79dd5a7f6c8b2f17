"""The GRPOTrainer subclass rlvr trains with, and its callback: TRL fenced off in one module.

This module imports torch, transformers and TRL at its top, so nothing imports it except at the
moment a trainer is built (rlvr.train.loop); `import rlvr.train` stays free of them.

What rlvr touches inside TRL / transformers is listed in `OVERRIDDEN` (methods it overrides) and
`CALLED` (private methods it calls), each with the signature of the tested versions
(pyproject.toml pins that range). tests/test_trl_fence.py compares them with the installed
libraries and fails, naming the method, when an upgrade changes one. See rlvr/train/trainer.py
for what each override does and for the state (RunState) they share.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from transformers import TrainerCallback
from trl import GRPOTrainer

from rlvr.select.sampler import SelectorSampler
from rlvr.train.trainer import (
    RunState,
    annotate_generation,
    finalize_influence,
    rotate_checkpoints,
    write_rlvr_state,
)

# method -> (class that defines it in the tested versions, its parameters as `fence_signature` writes them)
OVERRIDDEN: dict[str, tuple[str, str]] = {
    "_get_train_sampler": ("trl.GRPOTrainer", "(self, dataset=None)"),
    "_calculate_rewards": ("trl.GRPOTrainer", "(self, inputs, prompts, completions, completion_ids_list)"),
    "_generate_and_score_completions": ("trl.GRPOTrainer", "(self, inputs)"),
    "training_step": ("trl.GRPOTrainer", "(self, model, inputs, num_items_in_batch)"),
    "compute_loss": ("trl.GRPOTrainer", "(self, model, inputs, return_outputs=False, num_items_in_batch=None)"),
    "_clip_grad_norm": ("transformers.Trainer", "(self, model)"),
    "_save_checkpoint": ("trl.GRPOTrainer", "(self, model, trial)"),
}
# Private methods rlvr calls without overriding them.
CALLED: dict[str, tuple[str, str]] = {
    "_get_output_dir": ("transformers.Trainer", "(self, trial)"),
    "_load_rng_state": ("transformers.Trainer", "(self, checkpoint)"),
    "_get_learning_rate": ("transformers.Trainer", "(self)"),
}
# Private attributes of a GRPOTrainer rlvr reads (rlvr/train/dynamic.py): set in TRL's __init__.
ATTRIBUTES: dict[str, str] = {
    "_metrics": 'self._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}',
    "reward_weights": "self.reward_weights = torch.",
}


def fence_signature(fn: Any) -> str:
    """A method's parameters as names, kinds and defaults (annotations left out: they are not the contract)."""
    import inspect

    parts = []
    for p in inspect.signature(fn).parameters.values():
        name = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        parts.append(name if p.default is p.empty else f"{name}={p.default!r}")
    return "(" + ", ".join(parts) + ")"


class RlvrGRPOTrainer(GRPOTrainer):
    def __init__(self, *args: Any, run: RunState, **kwargs: Any):
        self.run = run
        super().__init__(*args, **kwargs)

    def _get_train_sampler(self, dataset=None):
        sampler = SelectorSampler.for_trainer(self, self.run.selector, dataset)
        if self.run.sampler_state:
            sampler.load_state_dict(self.run.sampler_state)
        self.run.sampler = sampler
        # each accumulation step reads one dataloader batch (a generation batch per process)
        self.run.indices_per_step = (self.args.gradient_accumulation_steps * self.args.per_device_train_batch_size
                                     * self.args.steps_per_generation * self.accelerator.num_processes)
        return sampler

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self.run.last_completions = (completions, completion_ids_list)
        self.run.last_rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        return self.run.last_rewards

    def _generate_and_score_completions(self, inputs):
        import torch

        if self.model.training and self.run.batcher is not None:  # roles, dynamic sampling, TRR++
            out, inputs = self.run.batcher.build(self, inputs, super()._generate_and_score_completions)
        else:
            out = super()._generate_and_score_completions(inputs)
        if self.model.training:
            step = self.state.global_step
            self.run.gen_keys = [(step, x["task_id"]) for x in inputs]
            annotate_generation(self, inputs, out["advantages"], step)
            out["rlvr_row"] = torch.arange(len(inputs), device=out["advantages"].device)
        return out

    def training_step(self, model, inputs, num_items_in_batch):
        inf = self.run.influence
        if inf is None:
            return super().training_step(model, inputs, num_items_in_batch)
        if self._step % self.current_gradient_accumulation_steps == 0:  # first micro-batch of a step
            self.run.step_lr = float(self._get_learning_rate())
            self.run.clip_coef = 1.0
            if inf.due(self.state.global_step):
                self.run.probe_losses.append((self.state.global_step,
                                              inf.refresh(self.accelerator.unwrap_model(model),
                                                          self.state.global_step)))
        try:
            loss = super().training_step(model, inputs, num_items_in_batch)
        finally:
            rows = self.run.current_rows.tolist() if self.run.current_rows is not None else []
            inf.end([self.run.gen_keys[row] for row in rows])  # scored after the optimizer step
            self.run.current_rows = None
        return loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.run.influence is not None and model.training and "rlvr_row" in inputs:
            self.run.current_rows = inputs["rlvr_row"]
            self.run.influence.begin(len(inputs["rlvr_row"]), inputs["rlvr_row"].device)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def _clip_grad_norm(self, model):
        norm = super()._clip_grad_norm(model)
        value = float(norm) if norm is not None else 0.0
        if self.args.max_grad_norm > 0 and np.isfinite(value):
            self.run.clip_coef = min(1.0, self.args.max_grad_norm / (value + 1e-6))
        return norm

    def _save_checkpoint(self, model, trial):
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        # only the main process writes the ledger; the others drop their copy of the rows
        if self.args.should_save:
            self.run.ledger.flush()
        else:
            self.run.ledger.discard()
        super()._save_checkpoint(model, trial)
        folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        if self.args.should_save:
            write_rlvr_state(self.run, folder, self.state.global_step)
            rotate_checkpoints(folder.parent, self.run.keep_checkpoints)

class RlvrCallback(TrainerCallback):
    """Probe evaluations, influence finalisation and step timing at the optimizer-step boundaries."""

    def __init__(self, run: RunState, resume_from: str | None):
        self.run = run
        self.resume_from = resume_from
        self.trainer: Any = None
        self._t0 = 0.0
        self._bar: Any = None
        self._restore_rng = False

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", unit="step")
        if self.resume_from and self.trainer is not None:
            inf = self.run.influence
            if inf is not None and inf.objective == "reward" and self.run.probe is not None:
                # the probe rollouts of the last evaluation died with the killed process; sample
                # afresh for the influence objective without recording them (the ledger has that step)
                self._probe(kwargs, state.global_step, record=False)
            # TRL's data-skip path restores the RNG only at an epoch boundary; rlvr never skips
            # data (the sampler resumes itself), so restore it at the first step: not here,
            # because creating the epoch's DataLoader iterator draws a seed from torch's RNG
            # afterwards, which the uninterrupted run drew long before its checkpoint.
            self._restore_rng = True
        elif self.run.probe is not None and state.global_step == 0:
            self._probe(kwargs, 0)
        return control

    def on_step_begin(self, args, state, control, **kwargs):
        if self._restore_rng:
            self.trainer._load_rng_state(self.resume_from)
            self._restore_rng = False
        self._t0 = time.perf_counter()
        return control

    def on_step_end(self, args, state, control, **kwargs):
        self.run.step_seconds.append(time.perf_counter() - self._t0)
        finalize_influence(self.run, self.trainer)
        if self.run.probe is not None and (state.global_step % self.run.probe_every == 0
                                           or state.global_step >= state.max_steps):
            self._probe(kwargs, state.global_step)
        if self._bar is not None:
            self._bar.set_postfix(self.run.progress(state.global_step), refresh=False)
            self._bar.update(state.global_step - self._bar.n)
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self._bar is not None:
            self._bar.close()
        return control

    def _probe(self, kwargs: dict, step: int, record: bool = True) -> None:
        model = kwargs.get("model")
        tokenizer = kwargs.get("processing_class")
        if self.trainer is not None:
            model = self.trainer.accelerator.unwrap_model(self.trainer.model)
            tokenizer = self.trainer.processing_class
        groups = self.run.probe.evaluate(model, tokenizer, step)
        if self.run.influence is not None:  # which policy drew the rollouts the reward objective reuses
            self.run.influence.on_probe(model, step)
        if record and (self.trainer is None or self.trainer.accelerator.is_main_process):
            self.run.ledger.add(groups)
