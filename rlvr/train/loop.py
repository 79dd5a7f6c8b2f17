"""`train()`: one GRPO run from curated tasks to rollouts, values, weaknesses, priors and a report.

Reads top to bottom: split off the probe set, build the pass-rate store and selector (rlvr.select),
the verifier reward functions that feed them and the ledger, the TRL trainer (rlvr.train.trainer),
the probe and influence instruments; train (resuming from the newest complete checkpoint when the
folder holds one for the same settings); then turn the ledger into the outputs.

Outputs in `out_dir`:
  rollouts.parquet    every training and probe group (rlvr.records.RolloutGroup)
  value.parquet       per task, generator, document, source and kind (rlvr.records.Value)
  weaknesses.parquet  tasks failing by the SwS rule, as Task records with their pass-rate history
  tasks.parquet       the training tasks with the store's pass-rate belief as difficulty: priors
                      the selector loads next round (PassRateStore.from_tasks)
  pass_rates.parquet  the pass-rate store itself
  probe_tasks.parquet the probe set
  report.html         plots and tables (rlvr.train.report)
  checkpoints/        TRL checkpoints plus rlvr's state; the last one holds the trained policy
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.config import to_mapping
from rlvr.hashing import stable_hash
from rlvr.io.atomic import atomic_write_text
from rlvr.records import Document, Task
from rlvr.train.config import TrainConfig
from rlvr.train.data import dedupe, remove_overlap, split_probe, task_keys
from rlvr.train.ledger import Ledger

log = logging.getLogger(__name__)

# Settings that may change between a run and its resumption without invalidating the checkpoints
# (the memory settings only size the micro-batches, and the resolved micro_batches stays in the fingerprint).
RESUMABLE_CHANGES = ("steps", "report", "keep_checkpoints", "save_completions", "memory_gb", "tokens_per_micro_batch",
                     "influence_geometry")


@dataclass
class TrainResult:
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def _run_fingerprint(config: TrainConfig, train_ids: list[str], probe_ids: list[str]) -> str:
    settings = {k: v for k, v in to_mapping(config).items() if k not in RESUMABLE_CHANGES}
    return stable_hash({"settings": settings, "train": train_ids, "probe": probe_ids}, length=16)


def _prepare_folder(out_dir: Path, fingerprint: str) -> None:
    """Keep checkpoints and ledger only if they belong to a run with the same settings and tasks."""
    marker = out_dir / "run.json"
    if marker.exists() and json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") != fingerprint:
        log.warning("%s holds a run with other settings or tasks; starting afresh there", out_dir)
        shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
        shutil.rmtree(out_dir / "ledger", ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, json.dumps({"fingerprint": fingerprint}) + "\n")


def _load_tokenizer(config: TrainConfig, model: Any, tokenizer: Any) -> Any:
    """The policy's tokenizer, left-padded (the one passed in, or the model's own)."""
    if model is not None and tokenizer is None:
        raise ValueError("pass the tokenizer together with an already loaded model")
    if tokenizer is None:
        from transformers import AutoTokenizer

        from rlvr.models import resolve_model

        tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.model))
    tokenizer.padding_side = "left"
    return tokenizer


def _load_policy(config: TrainConfig, model: Any, tokenizer: Any) -> tuple[Any, Any]:
    """The policy (a loaded model, or a local path TRL loads) and its tokenizer."""
    if model is not None:
        return model, tokenizer
    from rlvr.models import resolve_model

    return str(resolve_model(config.model)), tokenizer


def prompt_tokens(task: Task, tokenizer: Any) -> int:
    """Length of the task's prompt as the policy sees it (chat template and generation prompt)."""
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(task.chat(), tokenize=True, add_generation_prompt=True)
        ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
        return len(ids)
    return len(tokenizer("\n".join(m.content for m in task.prompt))["input_ids"])


def fit_prompts(tasks: list[Task], tokenizer: Any, max_tokens: int) -> tuple[list[Task], int, int]:
    """(tasks whose prompt fits, how many did not, longest prompt kept)."""
    kept, too_long, longest = [], 0, 0
    for task in tasks:
        n = prompt_tokens(task, tokenizer)
        if n > max_tokens:
            too_long += 1
            continue
        kept.append(task)
        longest = max(longest, n)
    if too_long:
        log.warning("%d task(s) have prompts longer than max_prompt_tokens=%d and are left out of training",
                    too_long, max_tokens)
    if not kept:
        raise ValueError(f"every task's prompt is longer than max_prompt_tokens={max_tokens}; raise it")
    return kept, too_long, longest


def left_out_by_source(given: list[Task], kept_ids: set[str], docs: dict[str, Document] | None,
                       reason: str) -> dict[str, Any]:
    """{"reason", "by_source": {source: tasks left out}, "given_by_source": {source: tasks given}}."""
    from collections import Counter

    given_by: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for t in given:
        source = task_keys(t, docs).source
        given_by[source] += 1
        if t.task_id not in kept_ids:
            dropped[source] += 1
    return {"reason": reason, "by_source": dict(sorted(dropped.items())), "given_by_source": dict(sorted(given_by.items()))}


def split_tasks(config: TrainConfig, tasks: list[Task], probe_tasks: list[Task] | None,
                docs: dict[str, Document] | None) -> tuple[list[Task], list[Task], dict[str, int]]:
    """(training tasks, probe tasks, counts): duplicates removed, probe held out or given."""
    deduped, duplicates = dedupe(tasks)
    if probe_tasks is None and config.probe_tasks:
        probe_tasks = Task.read_parquet(config.probe_tasks)
    if probe_tasks is None:
        train_tasks, probe_tasks = split_probe(deduped, config.probe_fraction, config.probe_max, config.seed, docs)
        overlap = 0
    else:
        train_tasks, overlap = remove_overlap(deduped, probe_tasks)
    if len(train_tasks) < config.prompts_per_step:
        raise ValueError(f"{len(train_tasks)} training task(s) left but prompts_per_step is {config.prompts_per_step}; "
                         "give more tasks or lower prompts_per_step")
    counts = {"tasks_in": len(tasks), "duplicates": duplicates, "probe_overlap": overlap,
              "train_tasks": len(train_tasks), "probe_tasks": len(probe_tasks)}
    return train_tasks, probe_tasks, counts


def restore_state(config: TrainConfig, out_dir: Path, train_tasks: list[Task], keys: dict
                  ) -> tuple[Any, Any, tuple[Path, dict] | None]:
    """(RunState, reward functions, resume point): store, selector and ledger, from the newest complete
    checkpoint in `out_dir` when there is one, else fresh."""
    from rlvr.select.base import make_selector
    from rlvr.select.rewards import VerifierRewards
    from rlvr.select.store import PassRateStore
    from rlvr.train.dynamic import StepBatcher
    from rlvr.train.trainer import STORE_FILE, RunState, latest_complete

    resume = latest_complete(out_dir / "checkpoints")
    select_config = config.select_config()
    if resume is not None:
        log.info("resuming from %s (step %d)", resume[0], resume[1]["step"])
        store = PassRateStore.load(resume[0] / "rlvr" / STORE_FILE, task_ids=[t.task_id for t in train_tasks])
    else:
        store = select_config.make_store(train_tasks)
    selector = make_selector(None, store, select_config)
    ledger = Ledger(out_dir / "ledger")
    ledger.restore(resume[1]["ledger_parts"] if resume else [])
    roles = _online_roles(config, out_dir, keys)
    if roles is not None:
        from rlvr.train.role_rewards import RoleRewards

        rewards = RoleRewards(train_tasks, selector, on_groups=[ledger.add], roles=roles,
                              temperature=config.temperature)
    else:
        rewards = VerifierRewards(train_tasks, selector, on_groups=[ledger.add])
    run = RunState(ledger=ledger, store=store, selector=selector, keys=keys, keep_chars=config.save_completions,
                   probe_every=config.probe_every, keep_checkpoints=config.keep_checkpoints)
    run.roles = roles
    run.batcher = StepBatcher.from_config(config, roles)
    if resume:
        state = resume[1]
        if roles is not None:
            roles.load(resume[0] / "rlvr" / "roles")
        run.sampler_state = state["sampler"]
        run.base_costs = dict(state.get("costs", {}))
        run.step_seconds = list(state.get("step_seconds", []))
        run.probe_losses = [tuple(x) for x in state.get("probe_losses", [])]
    return run, rewards, resume


def _online_roles(config: TrainConfig, out_dir: Path, keys: dict) -> Any:
    """The run's self-play roles (rlvr.train.roles) when `roles` turns any on, else None."""
    roles_config = config.roles_config()
    if roles_config is None:
        return None
    from rlvr.train.roles import OnlineRoles

    roles = OnlineRoles(roles_config, out_dir, seed=config.seed, max_prompt_tokens=config.max_prompt_tokens)
    roles.keys = keys
    return roles


def train(config: TrainConfig, tasks: list[Task], out_dir: str | Path, *, probe_tasks: list[Task] | None = None,
          docs: dict[str, Document] | None = None, model: Any = None, tokenizer: Any = None) -> TrainResult:
    """Train on `tasks` (see the module docstring); `model`/`tokenizer` override `config.model`."""
    from rlvr.select.sampler import tasks_dataset

    start = time.monotonic()
    out_dir = Path(out_dir)
    tokenizer = _load_tokenizer(config, model, tokenizer)
    given = [*tasks, *(probe_tasks or [])]
    tasks, too_long, longest = fit_prompts(tasks, tokenizer, config.max_prompt_tokens)
    if probe_tasks is not None:
        probe_tasks, probe_too_long, probe_longest = fit_prompts(probe_tasks, tokenizer, config.max_prompt_tokens)
        too_long, longest = too_long + probe_too_long, max(longest, probe_longest)
    left_out = left_out_by_source(given, {t.task_id for t in [*tasks, *(probe_tasks or [])]}, docs,
                                  f"prompt longer than max_prompt_tokens={config.max_prompt_tokens}")
    train_tasks, probe_tasks, task_counts = split_tasks(config, tasks, probe_tasks, docs)
    if config.device == "cpu":
        from rlvr.train.influence import MAX_UNITS

        units = min(len(probe_tasks), MAX_UNITS) if config.influence else 0
        config = _fit_memory(config, model, longest, influence_units=units)
    config = dataclasses.replace(config, micro_batches=config.auto_micro_batches(longest))
    task_counts.update(too_long=too_long, micro_batches=config.micro_batches)
    keys = {t.task_id: task_keys(t, docs) for t in [*train_tasks, *probe_tasks]}
    _prepare_folder(out_dir, _run_fingerprint(config, [t.task_id for t in train_tasks],
                                              [t.task_id for t in probe_tasks]))
    Task.write_parquet(out_dir / "probe_tasks.parquet", probe_tasks)
    run, rewards, resume = restore_state(config, out_dir, train_tasks, keys)

    steps_done = int(resume[1]["step"]) if resume else 0
    if steps_done >= config.steps:
        # TRL would still run one more step when resumed at max_steps: a finished run is not resumed.
        log.info("%s already holds %d steps (>= steps=%d); writing the outputs only", out_dir, steps_done,
                 config.steps)
    else:
        policy, tokenizer = _load_policy(config, model, tokenizer)
        trainer = _build_trainer(config, run, policy, tokenizer, rewards, tasks_dataset(train_tasks, run.store),
                                 probe_tasks, resume[0] if resume else None)
        trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)
        steps_done = int(trainer.state.global_step)
        if run.influence is not None:
            run.influence.close()

    influence_on = config.influence and bool(probe_tasks)
    result = _write_outputs(config, out_dir, run, train_tasks, probe_tasks, keys, steps_done, influence_on, left_out)
    result.counts.update(**task_counts, seconds=round(time.monotonic() - start, 2))
    if left_out["by_source"]:
        result.counts["left_out"] = left_out
        result.summary += (f"\n{sum(left_out['by_source'].values())} task(s) left out ({left_out['reason']}): "
                           + ", ".join(f"{s} {n}" for s, n in left_out["by_source"].items()))
    return result


def _fit_memory(config: TrainConfig, model: Any, longest_prompt: int, influence_units: int = 0) -> TrainConfig:
    """On CPU: micro-batches sized to the memory the run may use, or a refusal before anything starts."""
    from rlvr.train.influence import storage_bytes
    from rlvr.train.memory import (
        FP32,
        block_linear_parameters,
        block_linear_widths,
        count_parameters,
        cpu_budget,
        plan_memory,
    )

    if model is not None and hasattr(model, "config"):
        model_config = model.config
    else:  # a path to the policy (train's `model` may be one) or the configured model's name
        from transformers import AutoConfig

        from rlvr.models import resolve_model

        model_config = AutoConfig.from_pretrained(str(model) if model is not None else resolve_model(config.model))
    n_params = count_parameters(model_config)
    trainable = n_params // 100 if config.lora else n_params  # LoRA adapters: about 1% of the weights
    row = longest_prompt + config.max_completion_length
    blocks = min(config.influence_layers, model_config.num_hidden_layers)
    tracked = block_linear_parameters(model_config) * blocks
    stored = kept = 0
    if influence_units:  # the stored probe gradients; the step's kept activations and output gradients
        stored = storage_bytes(influence_units, tracked // 100 if config.lora else tracked)
        kept = config.prompts_per_step * config.num_generations * row * FP32 * block_linear_widths(model_config) * blocks

    def plan_with(influence: int) -> Any:
        return plan_memory(model_config, row_tokens=row,
                           generation_rows=config.prompts_per_step * config.num_generations,
                           budget=cpu_budget(config.memory_gb), trainable=trainable, optimizer=config.optimizer,
                           influence=influence)

    geometry = config.influence_geometry
    if geometry == "scalar" or not influence_units:
        plan = plan_with(stored)
    elif geometry == "adamw":
        plan = plan_with(stored + kept)
    else:  # auto: AdamW's own preconditioner when the step's activations fit beside the run, else the scalar
        try:
            plan, geometry = plan_with(stored + kept), "adamw"
        except ValueError:
            plan, geometry = plan_with(stored), "scalar"
            log.info("influence: keeping this step's activations for AdamW's per-weight scaling (%.2f GB) does "
                     "not fit the memory plan; influence uses its root-mean-square instead "
                     "(--influence-geometry scalar; allow more with --memory-gb, or track fewer "
                     "--influence-layers)", kept / 2**30)
    config = dataclasses.replace(config, influence_geometry=geometry)
    if config.micro_batches:
        per_slice = config.prompts_per_step * config.num_generations // config.world_size() // config.micro_batches
        if per_slice * row > plan.tokens_per_micro_batch:
            raise ValueError(f"micro_batches={config.micro_batches} puts {per_slice} rows of {row} tokens in a slice, "
                             f"but only {plan.tokens_per_micro_batch // row} fit ({plan.describe()}); "
                             f"raise micro_batches or set it to 0 (automatic)")
        return config
    tokens = min(config.tokens_per_micro_batch, plan.tokens_per_micro_batch)
    log.info("memory plan: %s -> at most %d tokens per micro-batch", plan.describe(), tokens)
    return dataclasses.replace(config, tokens_per_micro_batch=tokens)


def _build_trainer(config: TrainConfig, run: Any, policy: Any, tokenizer: Any, rewards: Any, dataset: Any,
                   probe_tasks: list[Task], resume_from: Path | None) -> Any:
    from trl import GRPOConfig

    from rlvr.train.grpo import RlvrCallback, RlvrGRPOTrainer
    from rlvr.train.influence import Influence
    from rlvr.train.probe import Probe

    trainer_cls, callback_cls = RlvrGRPOTrainer, RlvrCallback
    args = GRPOConfig(**config.grpo_kwargs(str(Path(run.ledger.folder).parent / "checkpoints")))
    callback = callback_cls(run, str(resume_from) if resume_from else None)
    trainer = trainer_cls(model=policy, reward_funcs=rewards.reward_functions(), args=args, train_dataset=dataset,
                          processing_class=tokenizer, peft_config=config.peft_config(), callbacks=[callback], run=run)
    callback.trainer = trainer
    if run.roles is not None:
        run.roles.trainer = trainer  # role rewards measure solve rates with the live policy
        run.roles.count_tokens = lambda task: prompt_tokens(task, tokenizer)  # role prompts obey max_prompt_tokens
    # TRL prints every step's full metrics dict; the callback's progress bar says what matters instead
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if probe_tasks:
        run.probe = Probe(probe_tasks, run.keys, k=config.probe_k, max_new_tokens=config.max_completion_length,
                          temperature=config.temperature, seed=config.seed, keep_chars=config.save_completions)
        if config.influence:
            run.influence = Influence(trainer.accelerator.unwrap_model(trainer.model), tokenizer, probe_tasks,
                                      layers=config.influence_layers, every=config.influence_every,
                                      objective=config.influence_objective, samples=run.probe.latest,
                                      exact=config.influence_geometry != "scalar", temperature=config.temperature)
    elif config.influence:
        log.warning("no probe tasks: influence needs a probe objective and is off for this run")
    return trainer


def _write_outputs(config: TrainConfig, out_dir: Path, run: Any, train_tasks: list[Task], probe_tasks: list[Task],
                   keys: dict, steps_done: int, influence_on: bool, left_out: dict[str, Any] | None = None
                   ) -> TrainResult:
    from rlvr.records import Value
    from rlvr.train.probe import pass_rate
    from rlvr.train.report import write_report
    from rlvr.train.value import compute_values

    rollouts, n_rows = run.ledger.consolidate(out_dir / "rollouts.parquet")
    groups = run.ledger.read()
    online = list(run.roles.online) if run.roles is not None else []
    values, weaknesses = compute_values([*train_tasks, *online], groups, keys, influence_on)
    files = {
        "rollouts": rollouts,
        "value": Value.write_parquet(out_dir / "value.parquet", values),
        "weaknesses": Task.write_parquet(out_dir / "weaknesses.parquet", weaknesses),
        "tasks": Task.write_parquet(out_dir / "tasks.parquet", run.store.to_tasks(train_tasks)),
        "pass_rates": run.store.save(out_dir / "pass_rates.parquet"),
        "probe_tasks": out_dir / "probe_tasks.parquet",
    }
    if run.roles is not None:
        files.update(run.roles.write(out_dir))
    generated = [g for g in groups if g.phase == "train"]
    train_groups = [g for g in generated if g.meta.get("trained", True)]  # dynamic sampling drops some
    probe_steps = sorted({g.step for g in groups if g.phase == "probe"})
    probe_first = pass_rate([g for g in groups if g.phase == "probe" and g.step == probe_steps[0]]) if probe_steps else None
    probe_last = pass_rate([g for g in groups if g.phase == "probe" and g.step == probe_steps[-1]]) if probe_steps else None
    train_seconds = sum(run.step_seconds)
    counts: dict[str, Any] = {
        "steps": steps_done,
        "groups": len(train_groups),
        "rollouts": sum(g.k for g in train_groups),
        "ledger_rows": n_rows,
        "zero_variance_fraction": round(sum(not g.mixed for g in train_groups) / len(train_groups), 4)
        if train_groups else None,
        "probe_pass_rate_first": round(probe_first, 4) if probe_first is not None else None,
        "probe_pass_rate_last": round(probe_last, 4) if probe_last is not None else None,
        "weaknesses": len(weaknesses),
        "seconds_per_step": round(train_seconds / len(run.step_seconds), 3) if run.step_seconds else None,
        **run.costs(),
    }
    if len(generated) != len(train_groups):
        counts.update(generated_groups=len(generated), generated_rollouts=sum(g.k for g in generated),
                      generated_zero_variance_fraction=round(sum(not g.mixed for g in generated) / len(generated), 4))
    if run.roles is not None:
        counts.update(online_tasks=len(run.roles.online), **{f"roles_{k}": v for k, v in run.roles.counts.items()})
    if influence_on and train_seconds > 0 and "influence_seconds" in counts:
        counts["influence_share_of_step_time"] = round(counts["influence_seconds"] / train_seconds, 4)
    last_ckpt = out_dir / "checkpoints" / f"checkpoint-{counts['steps']}"
    summary = {"model": config.model, "selector": config.selector, **counts, "policy": str(last_ckpt)}
    if config.report:
        files["report"] = write_report(out_dir / "report.html", title=f"rlvr train: {config.selector} on {config.model}",
                                       groups=groups, values=values, tasks=[*train_tasks, *probe_tasks],
                                       weaknesses=weaknesses, settings=to_mapping(config), summary=summary, keys=keys,
                                       left_out=left_out, train_task_ids=[t.task_id for t in train_tasks])
    text = (f"{counts['steps']} steps, {counts['groups']} groups ({counts['zero_variance_fraction']} zero-variance); "
            f"probe pass rate {counts['probe_pass_rate_first']} -> {counts['probe_pass_rate_last']}; "
            f"{len(weaknesses)} weakness(es)")
    if "report" in files:
        text += f"; report: {files['report']}"
    return TrainResult(out_dir, files, counts, text)
