"""Training overhead of rlvr over a bare TRL GRPOTrainer, and zero-variance groups per selector.

Part 1, overhead. Seconds per optimizer step of three trainers with the same model, tasks, batch
geometry (prompts per step x generations), generation length and seed:

  bare      trl.GRPOTrainer with its own RepeatSampler and one plain reward function that calls
            rlvr.verify (no ledger, no store, no selection, no probe, no influence);
  rlvr      rlvr.train.loop.train with the ledger, the pass-rate store and the selector (insight),
            influence off;
  rlvr+inf  the same with TracIn influence on (probe gradient refreshed every step).

Each step is timed from the trainer's on_step_begin to on_step_end (generation, rewards, loss,
backward, optimizer step, and rlvr's per-step work: selection, ledger annotation, influence hooks
and probe-gradient refreshes). Probe evaluations and checkpoint writes happen between steps and
are reported on their own. The three trainers run alternately, `--rounds` times, so that load
changes on a shared machine hit them alike; the first step of every run (warm-up) is dropped and
the median is taken. Targets: rlvr <= 1.10 x bare, rlvr+inf <= 1.5 x bare.

Selection is compared in benchmarks/select_real.py (probe pass rate at equal rollout budgets,
estimation rollouts counted, the bundled model on a family it can partly solve, three seeds); this
script's earlier zero-variance comparison seeded the informed selectors with free offline rollouts.

    python benchmarks/train_overhead.py [--model smollm2-135m-instruct|tiny] [--steps 5] [--rounds 2]

"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

PROMPTS, GENERATIONS, MAX_TOKENS = 4, 4, 16


def _timer_callback():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds: list[float] = []
            self._t0 = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self._t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds.append(time.perf_counter() - self._t0)

    return StepTimer()


def _policy(model_name: str, folder: Path):
    """(model path or object, tokenizer): the tiny model is rebuilt identically for every run."""
    if model_name == "tiny":
        from rlvr.train.tiny import make_tiny_model

        return make_tiny_model()
    from transformers import AutoTokenizer

    from rlvr.models import resolve_model

    path = resolve_model(model_name)
    return str(path), AutoTokenizer.from_pretrained(path, padding_side="left")


def _config(model: str, steps: int, influence: bool):
    from rlvr.train.config import TrainConfig

    return TrainConfig(model=model, steps=steps, prompts_per_step=PROMPTS, num_generations=GENERATIONS,
                       max_completion_length=MAX_TOKENS, selector="insight", influence=influence,
                       probe_every=steps, probe_k=2, save_every=steps, report=False, micro_batches=1,
                       memory_gb=8.0)  # one micro-batch, as the bare trainer runs it: more than the 4 GB default


def run_bare(tasks, model_name: str, steps: int, folder: Path) -> tuple[list[float], float]:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from rlvr.select.rewards import completion_text
    from rlvr.verify import verify

    by_id = {t.task_id: t for t in tasks}

    def reward(prompts, completions, task_id, **kwargs):
        return [verify(by_id[t], completion_text(c)).reward for t, c in zip(task_id, completions)]

    kw = _config(model_name, steps, False).grpo_kwargs(str(folder))
    kw.update(save_strategy="no")
    timer = _timer_callback()
    model, tok = _policy(model_name, folder)
    data = Dataset.from_dict({"prompt": [t.chat() for t in tasks], "task_id": [t.task_id for t in tasks]})
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=GRPOConfig(**kw), train_dataset=data,
                          processing_class=tok, callbacks=[timer])
    trainer.train()
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    return timer.seconds, statistics.mean(lengths[1:] or lengths)


def run_rlvr(tasks, probe, model_name: str, steps: int, folder: Path, influence: bool
             ) -> tuple[list[float], float, dict]:
    from rlvr.records import RolloutGroup
    from rlvr.train.loop import train
    from rlvr.train.trainer import MARKER, checkpoints

    model, tok = _policy(model_name, folder)
    result = train(_config(model_name, steps, influence), tasks, folder, probe_tasks=probe, model=model,
                   tokenizer=tok)
    ckpt = checkpoints(folder / "checkpoints")[-1][1]
    import json

    seconds = json.loads((ckpt / MARKER).read_text())["step_seconds"]
    groups = [g for g in RolloutGroup.read_parquet(result.files["rollouts"]) if g.phase == "train" and g.step > 0]
    tokens = statistics.mean(n for g in groups for n in g.completion_lengths)
    return seconds, tokens, result.counts


def overhead(model_name: str, steps: int, rounds: int, n_tasks: int) -> None:
    from rlvr.synth.toy import FirstCharConfig, first_char_tasks
    from rlvr.train.planted import planted_tasks

    # the same training pool for all three; rlvr's probe set is separate, so no task is held out of it
    if model_name == "tiny":
        tasks = first_char_tasks(n_tasks, seed=0, config=FirstCharConfig(1, 30))
        probe = first_char_tasks(8, seed=99, config=FirstCharConfig(1, 30))
    else:
        train_tasks, probe = planted_tasks(n_per_source=n_tasks // 2, n_probe=8)
        tasks = train_tasks[: n_tasks]  # the helpful and poisoned toy.initial tasks
    times: dict[str, list[float]] = {"bare": [], "rlvr": [], "rlvr+inf": []}
    lengths: dict[str, list[float]] = {name: [] for name in times}
    extra: dict[str, list[float]] = {"influence_seconds": [], "probe_seconds": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name in times:
                folder = Path(tmp) / f"{name}-{r}"
                start = time.perf_counter()
                if name == "bare":
                    secs, tokens = run_bare(tasks, model_name, steps, folder)
                else:
                    secs, tokens, counts = run_rlvr(tasks, probe, model_name, steps, folder,
                                                    influence=name == "rlvr+inf")
                    if name == "rlvr+inf":
                        extra["influence_seconds"].append(counts["influence_seconds"] / max(1, counts["steps"]))
                    extra["probe_seconds"].append(counts.get("probe_seconds", 0.0))
                times[name] += secs[1:]  # the first step of a run is warm-up
                lengths[name].append(tokens)
                print(f"round {r} {name:9} median step {statistics.median(secs[1:]):.3f}s "
                      f"(run {time.perf_counter() - start:.1f}s)", flush=True)
    base = statistics.median(times["bare"])
    print(f"\nseconds per step, {model_name}, {PROMPTS} prompts x {GENERATIONS} generations, <= {MAX_TOKENS} "
          f"tokens, {rounds} alternating rounds of {steps} steps (warm-up step dropped):")
    for name, secs in times.items():
        med = statistics.median(secs)
        target = {"rlvr": " (target <= 1.10)", "rlvr+inf": " (target <= 1.50)"}.get(name, "")
        print(f"  {name:9} {med:8.3f}s  {med / base:5.2f} x bare{target}   "
              f"mean completion {statistics.mean(lengths[name]):.1f} tokens")
    print("  (selection changes which prompts are rolled out, so completion lengths, and with them the step\n"
          "   time, differ a little between bare and rlvr; compare the token counts)")
    print(f"  influence work per step (hooks + probe-gradient refresh): "
          f"{statistics.median(extra['influence_seconds']):.3f}s")
    print(f"  probe evaluations (between steps, not in the step time): "
          f"{statistics.median(extra['probe_seconds']):.3f}s per run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="embedded model, path, or 'tiny'")
    parser.add_argument("--steps", type=int, default=5, help="steps per overhead run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    parser.add_argument("--tasks", type=int, default=32, help="tasks in the overhead pool")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    import transformers

    transformers.logging.set_verbosity_error()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    overhead(args.model, args.steps, args.rounds, args.tasks)


if __name__ == "__main__":
    main()
