"""Does the value report predict what removing a source does? Leave-one-source-out retraining.

On the planted pool (rlvr/train/planted.py: helpful, poisoned, mastered and impossible sources, the
bundled SmolLM2-135M), for each seed:

  full      train on all four sources for --steps steps (uniform selector, influence on), then
            measure the probe pass rate with --samples samples per probe task;
  -source   the same run without that source's tasks, same total steps, same seed, same probe
            (--mode remove, the default: the full run's schedule replayed step by step, each slot
            the source held given to a task of the rest drawn at random, so the two runs differ only
            where the source was: its steps go to the other sources), or with its tasks kept in the
            schedule but paid a constant reward, so their groups carry no gradient (--mode mask:
            the counterfactual influence itself predicts, "the same run without this source's
            gradient"; a source whose groups are already all-equal changes nothing).
            `--mode remove --fresh-schedule` draws the run without the source afresh instead (the
            uniform selector over the smaller pool, same seed): unpaired, so every step differs.

Measured contribution of a source = pass rate(full) - pass rate(without it), with its standard error
from the per-probe-task pass rates (paired over probe tasks: the same tasks are measured in both
runs). Predicted contribution, from the full run's value.parquet with its bootstrap standard error:
--mode mask, the source's influence (AdamW geometry, a predicted change in probe pass rate: the
effect of its gradient); --mode remove, its influence vs replacement (influence minus that of as
many groups like the rest of the run's: its steps go to the other sources).
A run already finished in --out (an interrupted invocation) is probed again rather than retrained.
Prints per source: predicted +- se, measured +- se (mean over seeds), sign agreement on the
sources whose measured change exceeds two standard errors, and Spearman's rank correlation between
predicted and measured. Targets (issue 16): signs agree wherever |measured| > 2 se, Spearman >= 0.8.

    python benchmarks/value_ablation.py [--seeds 2] [--steps 16] [--samples 32] [--per-source 8]
                                        [--mode remove|mask] [--influence-layers 99] [--probe-every 1]
                                        [--probe-k 8] [--out runs/value_ablation]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

MODEL = ["smollm2-135m-instruct"]  # --model; "tiny" (rlvr.train.tiny, a random model) checks the script quickly


def load_policy(name: str, seed: int):
    """(model, left-padding tokenizer): an embedded model name or path, or "tiny"."""
    if name == "tiny":
        from rlvr.train.tiny import make_tiny_model

        return make_tiny_model(seed=seed)
    import transformers

    from rlvr.models import resolve_model

    path = str(resolve_model(name))
    return (transformers.AutoModelForCausalLM.from_pretrained(path),
            transformers.AutoTokenizer.from_pretrained(path, padding_side="left"))


def probe_pass_rates(model, tokenizer, probe_tasks, keys, samples: int, seed: int) -> np.ndarray:
    """Per-probe-task pass rate of `model` from `samples` samples each (the trainer's probe sampler)."""
    from rlvr.train.probe import Probe

    probe = Probe(probe_tasks, keys, k=samples, max_new_tokens=4, temperature=1.0, seed=seed, batch_size=64)
    groups = probe.evaluate(model, tokenizer, step=10_000)
    return np.array([sum(g.rewards) / len(g.rewards) for g in groups])


INFLUENCE = {"layers": 99, "probe_every": 1, "probe_k": 8}  # --influence-layers, --probe-every, --probe-k
REPLAY = "benchmark.replay"


def replay_selector():
    """Register (once) and return the selector that proposes a fixed schedule: `Replay.schedule[t]`
    is step t's task ids, in order. Past the schedule's end (the DataLoader reads one batch ahead)
    it proposes the first tasks of the pool; those are never trained on."""
    from rlvr.select.base import SELECTORS, Proposal, Selector, register_selector

    if REPLAY in SELECTORS.names():
        return SELECTORS.get(REPLAY)

    @register_selector
    class Replay(Selector):
        name = REPLAY
        description = "value_ablation: replays a recorded schedule"
        schedule: list[list[str]] = []

        def scores(self) -> np.ndarray:
            return np.zeros(self.store.size)

        def propose(self, batch_size: int, rng: np.random.Generator) -> Proposal:
            ids = self.schedule[self.proposals] if self.proposals < len(self.schedule) else []
            if ids and len(ids) != batch_size:
                raise ValueError(f"replayed step {self.proposals} has {len(ids)} tasks, the run takes {batch_size}")
            idx = (np.array([self.store.index_of(t) for t in ids], dtype=np.int64) if ids
                   else np.arange(batch_size, dtype=np.int64))
            proposal = Proposal(self.proposals, self.name, idx, np.zeros(len(idx)), ["replay"] * len(idx))
            self.proposals += 1
            return proposal

    return Replay


def schedule_of(run_dir: Path) -> list[list[str]]:
    """The training schedule a finished run followed: per step, the task ids of its groups in the
    order they were rolled out (probe groups left out: they are not in the run's tasks.parquet)."""
    from rlvr.records import RolloutGroup, Task

    trained = {t.task_id for t in Task.read_parquet(run_dir / "tasks.parquet")}
    steps: dict[int, list[str]] = {}
    for g in RolloutGroup.read_parquet(run_dir / "rollouts.parquet"):
        if g.task_id in trained:
            steps.setdefault(g.step, []).append(g.task_id)
    return [steps[s] for s in sorted(steps)]


def without(schedule: list[list[str]], gone: set[str], rest: list[str], rng: np.random.Generator
            ) -> tuple[list[list[str]], list[str]]:
    """(`schedule` with every task in `gone` replaced by a task of `rest` drawn uniformly among those
    not already in that step, the tasks that took the freed slots): the paired leave-one-source-out run."""
    out, fillers = [], []
    for step in schedule:
        kept = [t for t in step if t not in gone]
        free = [t for t in rest if t not in kept]
        fill = rng.choice(free, size=len(step) - len(kept), replace=False).tolist()
        fillers += fill
        it = iter(fill)
        out.append([t if t not in gone else next(it) for t in step])
    return out, fillers


def for_the_draw(source: str, fillers: list[str], source_of: dict[str, str], values: dict) -> float | None:
    """The prediction for this particular replacement draw: the source's influence minus, for each
    slot it gave up, the full run's influence per group of the source of the task that took it (where
    influence vs replacement charges every slot the average group of the rest)."""
    v = values.get(source)
    if v is None or v.influence is None:
        return None
    per_group = {k: (w.influence / w.n_groups if w.influence is not None and w.n_groups else 0.0)
                 for k, w in values.items()}
    return float(v.influence) - sum(per_group.get(source_of[t], 0.0) for t in fillers)


def one_run(tasks, probe_tasks, out: Path, steps: int, seed: int, samples: int, train_seed: int | None = None,
            schedule: list[list[str]] | None = None, influence: bool = True):
    """(per-probe-task pass rates after training, source-level values of the run); `train_seed`
    (default `seed`) seeds training only (the draws and the sampling), `seed` the final probe.
    `schedule`: replay these steps instead of drawing them (the uniform selector); `influence`
    False skips the value machinery (a run only measured, never predicted from: training is the same,
    the probe runs in its own random stream)."""
    from rlvr.records import Value
    from rlvr.train.config import TrainConfig
    from rlvr.train.data import task_keys
    from rlvr.train.loop import train

    if finished_checkpoint(out, steps) is not None:  # an earlier invocation finished it (runs are deterministic)
        return finished_run(tasks, probe_tasks, out, seed, samples)
    selector = "uniform"
    if schedule is not None:
        replay_selector().schedule = schedule
        selector = REPLAY
    model, tokenizer = load_policy(MODEL[0], seed)
    cfg = TrainConfig(model=MODEL[0], steps=steps, prompts_per_step=4, num_generations=4, max_completion_length=4,
                      probe_every=INFLUENCE["probe_every"] if influence else steps, probe_k=INFLUENCE["probe_k"],
                      influence=influence, influence_layers=INFLUENCE["layers"], selector=selector,
                      save_every=steps, seed=seed if train_seed is None else train_seed, report=False,
                      memory_gb=12.0)
    train(cfg, tasks, out, probe_tasks=probe_tasks, model=model, tokenizer=tokenizer)
    for state in out.glob("checkpoints/*/optimizer.pt"):  # a finished run is read back, never resumed:
        state.unlink()                                    # AdamW's state is 2x the model (1.1 GB for SmolLM2)
    keys = {t.task_id: task_keys(t) for t in probe_tasks}
    rates = probe_pass_rates(model, tokenizer, probe_tasks, keys, samples, seed)
    save_rates(out, rates, probe_tasks, samples, seed)
    values = {v.key: v for v in Value.read_parquet(out / "value.parquet") if v.level == "source"}
    return rates, values


RATES_FILE = "ablation_probe.json"  # a run's final probe pass rates, kept so a rerun need not probe again


def save_rates(run_dir: Path, rates: np.ndarray, probe_tasks, samples: int, seed: int) -> None:
    (run_dir / RATES_FILE).write_text(json.dumps({
        "samples": samples, "seed": seed, "probe": [t.task_id for t in probe_tasks], "rates": rates.tolist()}))


def saved_rates(run_dir: Path, probe_tasks, samples: int, seed: int) -> np.ndarray | None:
    """The final probe pass rates saved with the run, when they were measured the same way."""
    path = run_dir / RATES_FILE
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    same = (saved["samples"], saved["seed"], saved["probe"]) == (samples, seed, [t.task_id for t in probe_tasks])
    return np.array(saved["rates"]) if same else None


def finished_checkpoint(out: Path, steps: int):
    """The final checkpoint of a run in `out` that completed `steps` steps, else None."""
    from rlvr.train.trainer import latest_complete

    found = latest_complete(out / "checkpoints")
    return found[0] if found is not None and int(found[1]["step"]) >= steps else None


def finished_run(tasks, probe_tasks, run_dir: Path, seed: int, samples: int):
    """A run an earlier invocation finished (same seed and settings: runs are deterministic), read
    back: its final checkpoint's policy is probed again (unless its probe pass rates were saved,
    measured the same way) and its values are recomputed from its ledger with this version's value code."""
    import transformers

    from rlvr.records import RolloutGroup, Task
    from rlvr.train.data import task_keys
    from rlvr.train.value import compute_values

    checkpoint = finished_checkpoint(run_dir, 0)
    if checkpoint is None:
        raise SystemExit(f"{run_dir}: no complete checkpoint to reuse (run the full runs first, without --full-from)")
    keys = {t.task_id: task_keys(t) for t in [*tasks, *probe_tasks]}
    rates = saved_rates(run_dir, probe_tasks, samples, seed)
    if rates is None:
        model = transformers.AutoModelForCausalLM.from_pretrained(checkpoint)
        if MODEL[0] == "tiny":
            from rlvr.train.tiny import make_tokenizer

            tokenizer = make_tokenizer()
        else:
            from rlvr.models import resolve_model

            tokenizer = transformers.AutoTokenizer.from_pretrained(str(resolve_model(MODEL[0])), padding_side="left")
        rates = probe_pass_rates(model, tokenizer, probe_tasks, keys, samples, seed)
        save_rates(run_dir, rates, probe_tasks, samples, seed)
    groups = RolloutGroup.read_parquet(run_dir / "rollouts.parquet")
    trained = Task.read_parquet(run_dir / "tasks.parquet")  # what the run trained on: duplicates already merged
    values, _ = compute_values(trained, groups, keys, influence_on=True)
    return rates, {v.key: v for v in values if v.level == "source"}


def weight_drift(a: Path, b: Path) -> float:
    """Largest absolute difference between the weights of two saved policies."""
    from safetensors.numpy import load_file

    def weights(path: Path) -> dict:
        out: dict = {}
        for f in sorted(path.glob("*.safetensors")):
            out.update(load_file(f))
        return out

    wa, wb = weights(a), weights(b)
    if wa.keys() != wb.keys():
        raise SystemExit(f"{a} and {b} hold different tensors")
    return max(float(np.abs(wa[k].astype(np.float64) - wb[k].astype(np.float64)).max()) for k in wa)


MASK_VERIFIER = "benchmark.constant_zero"


def masked(tasks, source: str):
    """`tasks` with `source`'s tasks paid 0 whatever the completion (same ids, same schedule)."""
    import dataclasses

    from rlvr.records import VerifierSpec
    from rlvr.verify import VERIFIERS, FunctionVerifier, Score, register_verifier

    if MASK_VERIFIER not in VERIFIERS:
        register_verifier(FunctionVerifier(MASK_VERIFIER, lambda task, completion: Score(0.0, "wrong", "masked"),
                                           lambda task: "", description="value_ablation's mask: always 0"))
    return [dataclasses.replace(t, verifier=VerifierSpec(MASK_VERIFIER)) if t.meta.get("source") == source else t
            for t in tasks]


def spearman(x: list[float], y: list[float]) -> float:
    from scipy.stats import spearmanr

    if len(x) < 3:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--samples", type=int, default=32, help="samples per probe task (>= 32)")
    parser.add_argument("--per-source", type=int, default=8)
    parser.add_argument("--n-probe", type=int, default=12)
    parser.add_argument("--mode", choices=("remove", "mask"), default="remove",
                        help="remove the source's tasks, or keep them with a constant reward (no gradient)")
    parser.add_argument("--out", type=Path, default=Path("runs/value_ablation"))
    parser.add_argument("--model", default=MODEL[0], help="embedded model name or path, or tiny (a quick check)")
    parser.add_argument("--influence-layers", type=int, default=INFLUENCE["layers"],
                        help="blocks influence tracks (default: all, the whole-model prediction)")
    parser.add_argument("--probe-every", type=int, default=INFLUENCE["probe_every"],
                        help="probe (and so refresh the probe rollouts influence uses) every N steps")
    parser.add_argument("--null-runs", type=int, default=0,
                        help="per seed, full runs with another training seed: the run-to-run noise of a difference")
    parser.add_argument("--full-from", type=Path, default=None,
                        help="reuse the full runs of an earlier invocation's --out (same seeds and settings)")
    parser.add_argument("--probe-k", type=int, default=INFLUENCE["probe_k"], help="probe samples per task in training")
    parser.add_argument("--fresh-schedule", action="store_true",
                        help="remove mode: draw each run without a source afresh instead of replaying the full run's "
                             "schedule (unpaired)")
    parser.add_argument("--check-replay", action="store_true",
                        help="also replay the full run's own schedule unchanged (influence off): its probe pass "
                             "rates must equal the full run's")
    args = parser.parse_args()
    MODEL[0] = args.model
    INFLUENCE.update(layers=args.influence_layers, probe_every=args.probe_every, probe_k=args.probe_k)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from rlvr.train.planted import SOURCES, planted_tasks

    measured: dict[str, list[float]] = {s: [] for s in SOURCES}
    measured_se: dict[str, list[float]] = {s: [] for s in SOURCES}
    predicted: dict[str, list[float]] = {s: [] for s in SOURCES}
    predicted_se: dict[str, list[float]] = {s: [] for s in SOURCES}
    null_diffs: list[float] = []
    full_values: list[list] = []  # each seed's full-run source values
    draw: dict[str, list[float | None]] = {s: [] for s in SOURCES}  # paired removal: prediction for the draw
    null_probe_var: list[float] = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        train_tasks, probe = planted_tasks(n_per_source=args.per_source, n_probe=args.n_probe, seed=seed)
        if args.full_from is not None:
            full_rates, values = finished_run(train_tasks, probe, args.full_from / f"seed{seed}" / "full", seed,
                                              args.samples)
        else:
            full_rates, values = one_run(train_tasks, probe, args.out / f"seed{seed}" / "full", args.steps, seed,
                                         args.samples)
        full_values.append(list(values.values()))
        print(f"seed {seed}: full run probe pass rate {full_rates.mean():.3f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        paired = args.mode == "remove" and not args.fresh_schedule
        source_of = {t.task_id: t.meta.get("source") for t in train_tasks}
        schedule = schedule_of((args.full_from or args.out) / f"seed{seed}" / "full") if paired else None
        if args.check_replay and paired:
            rates, _ = one_run(train_tasks, probe, args.out / f"seed{seed}" / "replay", args.steps, seed, args.samples,
                               schedule=schedule, influence=False)
            drift = weight_drift(finished_checkpoint((args.full_from or args.out) / f"seed{seed}" / "full", 0),
                                 finished_checkpoint(args.out / f"seed{seed}" / "replay", 0))
            print(f"  the full run's schedule replayed: probe pass rate {rates.mean():.3f}, largest per-task "
                  f"difference from the full run {np.abs(rates - full_rates).max():.4f}, largest weight "
                  f"difference {drift:.2e}", flush=True)
        for i in range(args.null_runs):  # the same data, another training seed: run-to-run noise
            rates, _ = one_run(train_tasks, probe, args.out / f"seed{seed}" / f"null{i}", args.steps, seed,
                               args.samples, train_seed=10_000 + 100 * seed + i, schedule=schedule,
                               influence=False)
            diff = full_rates - rates
            null_diffs.append(float(diff.mean()))
            null_probe_var.append(float(diff.var(ddof=1) / len(diff)))  # the probe's own share of it
            print(f"  null run {i} (training seed {10_000 + 100 * seed + i}) probe pass rate {rates.mean():.3f}: "
                  f"full - null {null_diffs[-1]:+.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
        for source in SOURCES:
            replayed = None
            if args.mode == "remove":
                rest = [t for t in train_tasks if t.meta.get("source") != source]
                if paired:
                    gone = {t.task_id for t in train_tasks if t.meta.get("source") == source}
                    replayed, fillers = without(schedule, gone, list(dict.fromkeys(t.task_id for t in rest)),
                                                np.random.default_rng([seed, SOURCES.index(source)]))
                    taken = Counter(source_of[t] for t in fillers)
                    print(f"  without {source}: {len(fillers)} of {sum(map(len, schedule))} slots given to the rest ("
                          + ", ".join(f"{k} {n}" for k, n in sorted(taken.items())) + ")", flush=True)
                    draw[source].append(for_the_draw(source, fillers, source_of, values))
            else:
                rest = masked(train_tasks, source)
            rates, _ = one_run(rest, probe, args.out / f"seed{seed}" / f"without-{source}", args.steps, seed,
                               args.samples, schedule=replayed, influence=False)
            diff = full_rates - rates  # paired over probe tasks
            measured[source].append(float(diff.mean()))
            measured_se[source].append(float(diff.std(ddof=1) / math.sqrt(len(diff))))
            v = values.get(source)
            # mask: the source's gradient is what goes (influence); remove: its steps go to the rest of
            # the data (influence vs replacement: minus as many groups like the rest's)
            field = "influence" if args.mode == "mask" else "influence_vs_replacement"
            if v is None or v.influence is None:
                pred, pse = 0.0, 0.0
            elif field == "influence":
                pred, pse = float(v.influence), float(v.influence_se or 0.0)
            else:
                pred = float(v.meta.get(field, v.influence))
                pse = float(v.meta.get(field + "_se") or 0.0)
            predicted[source].append(pred)
            predicted_se[source].append(pse)
            print(f"  without {source:<10} probe pass rate {rates.mean():.3f}: measured contribution "
                  f"{diff.mean():+.4f}; predicted {predicted[source][-1]:+.2e}"
                  + (f", for this draw {draw[source][-1]:+.2e}" if draw[source] and draw[source][-1] is not None
                     else "") + f" ({time.perf_counter() - start:.0f} s)", flush=True)

    from rlvr.train.value import across_runs

    pooled = {v.key: v for v in across_runs(full_values)}
    rows = []
    # run-to-run noise of one difference of two runs (from the null runs: same data, other training seed)
    # minus the probe's sampling share, which each measured se already holds
    run_var = (max(0.0, float(np.mean(np.square(null_diffs)) - np.mean(null_probe_var))) if null_diffs
               else None)
    n = args.seeds
    # The se that decides significance: with several seeds, the spread of the per-seed differences
    # (it holds everything that moves a run: the pool, the draws, the sampled completions and the
    # probe's own sampling); with one seed and null runs, the probe's se plus the null runs'
    # run-to-run variance; with neither, the probe's sampling se alone (a lower bound).
    basis = "seeds" if n >= 2 else "probe + null runs" if run_var is not None else "probe sampling only"
    for s in SOURCES:
        m = float(np.mean(measured[s]))
        probe_se = math.sqrt(sum(x * x for x in measured_se[s])) / n  # combined per-seed paired se's
        seed_se = float(np.std(measured[s], ddof=1) / math.sqrt(n)) if n >= 2 else None
        total_se = math.sqrt(probe_se ** 2 + run_var / n) if run_var is not None else None
        mse = seed_se if seed_se is not None else total_se if total_se is not None else probe_se
        if n >= 2 and s in pooled:  # the full runs' values pooled over seeds (rlvr.train.value.across_runs)
            v = pooled[s]
            p = float(v.influence if args.mode == "mask" else v.meta.get("influence_vs_replacement", v.influence))
            pse = float((v.influence_se if args.mode == "mask" else v.meta.get("influence_vs_replacement_se")) or 0.0)
        else:
            p = float(np.mean(predicted[s]))
            pse = math.sqrt(sum(x * x for x in predicted_se[s])) / n
        rows.append({"source": s, "predicted": p, "predicted_se": pse, "measured": m, "measured_se": mse,
                     "se_basis": basis, "significant": abs(m) > 2 * mse,
                     "signs_agree": (p > 0) == (m > 0) if p and m else p == m,
                     "per_seed_measured": measured[s], "per_seed_predicted": predicted[s],
                     "for_the_draw": (float(np.mean(draw[s])) if draw[s] and None not in draw[s] else None),
                     "probe_se": probe_se, "seed_se": seed_se, "se_with_run_noise": total_se,
                     "significant_with_run_noise": abs(m) > 2 * total_se if total_se is not None else None})
    print()
    label = 'predicted (influence)' if args.mode == 'mask' else 'predicted (vs replacement)'
    print(f"{'source':<11} {label:>26} {'measured (full - without)':>28} {'>2 se':>6} {'signs':>6}")
    for r in rows:
        print(f"{r['source']:<11} {r['predicted']:>+13.3e} +- {r['predicted_se']:.1e} "
              f"{r['measured']:>+16.4f} +- {r['measured_se']:.4f} {str(r['significant']):>6} "
              f"{'agree' if r['signs_agree'] else 'differ':>6}")
    print(f"(se: {basis}" + ("; per seed, measured " + ", ".join(
        f"{r['source']} " + " ".join(f"{x:+.3f}" for x in r["per_seed_measured"]) for r in rows) if n >= 2 else "")
          + ")")
    if run_var is not None:
        print(f"\nrun-to-run noise (full - null over {len(null_diffs)} null run(s)): rms {math.sqrt(run_var):.4f}; "
              "with it in the se, significant: "
              + ", ".join(f"{r['source']} {r['measured']:+.3f} +- {r['se_with_run_noise']:.3f} "
                          f"({'yes' if r['significant_with_run_noise'] else 'no'})" for r in rows))
        sig_all = [r for r in rows if r["significant_with_run_noise"]]
        print(f"signs agree on {sum(r['signs_agree'] for r in sig_all)}/{len(sig_all)} sources significant "
              "with run-to-run noise in the se")
    sig = [r for r in rows if r["significant"]]
    agree = sum(r["signs_agree"] for r in sig)
    rho = spearman([r["predicted"] for r in rows], [r["measured"] for r in rows])
    if all(r["for_the_draw"] is not None for r in rows):
        rho_draw = spearman([r["for_the_draw"] for r in rows], [r["measured"] for r in rows])
        print("\nfor the draw (each freed slot charged the per-group influence of the source that took it, "
              "not the rest's average): " + ", ".join(f"{r['source']} {r['for_the_draw']:+.3f}" for r in rows)
              + f"; Spearman with measured {rho_draw:.2f}")
    print(f"\nsigns agree on {agree}/{len(sig)} sources whose measured change exceeds 2 se (target: all)")
    print(f"Spearman(predicted, measured) over {len(rows)} sources: {rho:.2f} (target >= 0.8)")
    print(f"mode {args.mode}: {args.seeds} seeds x {1 + len(SOURCES)} runs of {args.steps} steps, {args.samples} samples x "
          f"{args.n_probe} probe tasks per measurement; {time.perf_counter() - start:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.json").write_text(json.dumps({"rows": rows, "spearman": rho, "null_diffs": null_diffs,
                                                        "args": vars(args)},
                                                       indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
