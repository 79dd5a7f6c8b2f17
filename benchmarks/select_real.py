"""Selectors in real GRPO runs at equal rollout budgets: probe pass rate, not only zero-variance groups.

The bundled SmolLM2-135M on a pool it can partly solve: toy.initial tasks ("Write a sentence about X.
Start your reply with the letter L.") over every initial letter, so pass rates run from about 0.5
(T, I, H, ...) to near 0 (rare letters), plus "any letter" tasks it always solves and three-term
4-digit sums it never solves (the planted pool's mastered and impossible kinds): a pool where what
a selector picks matters. The probe is held-out toy.initial tasks (other topics), measured after
training with --samples samples per task.

Budgets are equal in rollouts, counting estimation. A selector run with --estimate-k K first
spends len(pool) x K rollouts on offline estimates (`rlvr select estimate`) and then trains for
fewer steps, so that estimation + training rollouts equal the budget of the runs without it
(--steps x prompts x generations). Every run has the same seed-dependent pool, model and probe.

Prints per selector, over the seeds: probe pass rate after training (mean, sd, min, max), its
difference from uniform's paired by seed, and the zero-variance group fraction of training.

    python benchmarks/select_real.py [--seeds 0 1 2] [--steps 24] [--samples 16]
                                     [--selectors uniform variance band insight insight_signal]
                                     [--estimate-k 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from value_ablation import load_policy  # benchmarks/ is on sys.path when this script runs

PROMPTS, GENERATIONS, MAX_TOKENS = 4, 4, 4


MODEL = ["smollm2-135m-instruct"]  # --model; "tiny" (rlvr.train.tiny, a random model) checks the script quickly


def pool_and_probe(seed: int, n_letters_tasks: int = 40, n_probe: int = 12):
    from rlvr.synth.toy import INITIALS, InitialConfig, InitialGenerator
    from rlvr.train.planted import planted_tasks

    gen = InitialGenerator(InitialConfig(INITIALS))
    pool = [gen.generate(seed, i) for i in range(n_letters_tasks)]
    planted, _ = planted_tasks(n_per_source=8, n_probe=0, seed=seed)
    pool += [t for t in planted if t.meta.get("source") in ("mastered", "impossible")]
    probe_gen = InitialGenerator(InitialConfig("TIHMBP"))
    probe = [probe_gen.generate(seed + 1000, i) for i in range(n_probe)]
    return pool, probe


def run(selector: str, seed: int, steps: int, samples: int, estimate_k: int, folder: Path) -> dict:
    from rlvr.models.backends import TransformersBackend
    from rlvr.models.rollouts import EstimateConfig, estimate
    from rlvr.train.config import TrainConfig
    from rlvr.train.data import task_keys
    from rlvr.train.loop import train
    from rlvr.train.probe import Probe

    pool, probe = pool_and_probe(seed)
    model, tok = load_policy(MODEL[0], seed)
    budget = steps * PROMPTS * GENERATIONS
    estimation = 0
    if estimate_k:
        estimation = len(pool) * estimate_k
        pool, _ = estimate(pool, TransformersBackend.from_model(model, tok, batch_size=64),
                           EstimateConfig(k=estimate_k, max_new_tokens=MAX_TOKENS, seed=seed), progress=False)
    train_steps = (budget - estimation) // (PROMPTS * GENERATIONS)
    if train_steps < 1:
        raise SystemExit(f"--estimate-k {estimate_k} spends {estimation} rollouts, the whole budget of {budget}")
    cfg = TrainConfig(model=MODEL[0], steps=train_steps, prompts_per_step=PROMPTS, num_generations=GENERATIONS,
                      max_completion_length=MAX_TOKENS, selector=selector, influence=False, report=False,
                      probe_fraction=0.0, save_every=train_steps, seed=seed)
    result = train(cfg, pool, folder, model=model, tokenizer=tok)
    keys = {t.task_id: task_keys(t) for t in probe}
    groups = Probe(probe, keys, k=samples, max_new_tokens=MAX_TOKENS, temperature=1.0, seed=seed,
                   batch_size=64).evaluate(model, tok, step=10_000)
    rates = [sum(g.rewards) / len(g.rewards) for g in groups]
    return {"probe": float(np.mean(rates)), "zero_var": float(result.counts.get("zero_variance_fraction", 0.0)),
            "train_rollouts": train_steps * PROMPTS * GENERATIONS, "estimation_rollouts": estimation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=24, help="budget in steps of a run without estimation")
    parser.add_argument("--samples", type=int, default=16, help="samples per probe task after training")
    parser.add_argument("--selectors", nargs="+", default=["uniform", "variance", "band", "insight", "insight_signal"])
    parser.add_argument("--estimate-k", type=int, default=0, help="offline estimation rollouts per task for the "
                        "informed selectors (counted in their budget)")
    parser.add_argument("--model", default=MODEL[0], help="embedded model name or path, or tiny (a quick check)")
    args = parser.parse_args()
    MODEL[0] = args.model
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if "uniform" not in args.selectors:
        args.selectors.insert(0, "uniform")
    results: dict[str, list[dict]] = {s: [] for s in args.selectors}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for name in args.selectors:
                k = 0 if name == "uniform" else args.estimate_k
                r = run(name, seed, args.steps, args.samples, k, Path(tmp) / f"{name}-{seed}")
                results[name].append(r)
                print(f"seed {seed} {name:<15} probe {r['probe']:.3f}  zero-var {r['zero_var']:.3f}  "
                      f"rollouts {r['train_rollouts']} + {r['estimation_rollouts']} estimation "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    base = [r["probe"] for r in results["uniform"]]
    print(f"\nprobe pass rate after {args.steps * PROMPTS * GENERATIONS} rollouts per run (estimation counted), "
          f"{len(args.seeds)} seeds, {args.samples} samples x 12 probe tasks:")
    print(f"{'selector':<15} {'mean':>6} {'sd':>6} {'min':>6} {'max':>6} {'- uniform (paired)':>20} {'zero-var':>9}")
    for name, rs in results.items():
        probe = [r["probe"] for r in rs]
        diff = [p - b for p, b in zip(probe, base)]
        sd = statistics.stdev(probe) if len(probe) > 1 else 0.0
        dsd = statistics.stdev(diff) if len(diff) > 1 else 0.0
        print(f"{name:<15} {statistics.mean(probe):>6.3f} {sd:>6.3f} {min(probe):>6.3f} {max(probe):>6.3f} "
              f"{statistics.mean(diff):>+12.3f} +- {dsd:.3f} {statistics.mean(r['zero_var'] for r in rs):>9.3f}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
