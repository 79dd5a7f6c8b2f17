"""DAPO dynamic sampling: rollouts spent and zero-variance groups trained, with vs without, in one run.

Two CPU training runs on the same pool, model, selector, batch geometry and seed, one after the
other in this process:

  off   rlvr.train.loop.train as configured by default (TRL generates prompts_per_step groups
        per step and trains all of them, all-equal groups included);
  on    the same with `dynamic_sampling: true` (rlvr.train.dynamic): groups whose rewards are all
        equal are dropped and more prompts are generated until the batch is full.

Reported per run: groups trained, the zero-variance fraction of the TRAINED groups, rollouts
generated, and generation rounds; then the ratios on/off of rollouts generated and of seconds per
step. The pool is toy.first_char on the tiny random model of rlvr.train.tiny (pass rates range
from never to always), or any embedded model with --model. The uniform selector is the default so
the filter, not the selector, does the work; `--selector insight` shows the two together.

    python benchmarks/dynamic_sampling.py [--model tiny] [--steps 20] [--selector uniform]
                                          [--oversample 1.5] [--max-rounds 4]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path


def run(dynamic: bool, args, tasks, folder: Path) -> dict:
    from rlvr.records import RolloutGroup
    from rlvr.train.config import TrainConfig
    from rlvr.train.loop import train

    if args.model == "tiny":
        from rlvr.train.tiny import make_tiny_model

        model, tok = make_tiny_model()
        name = "tiny"
    else:
        model, tok, name = None, None, args.model
    config = TrainConfig(model=name, steps=args.steps, prompts_per_step=4, num_generations=4,
                         max_completion_length=args.max_tokens, selector=args.selector, influence=False,
                         probe_fraction=0.0, save_every=args.steps, report=False, seed=args.seed,
                         learning_rate=1e-3 if args.model == "tiny" else 1e-5, dynamic_sampling=dynamic,
                         dynamic_oversample=args.oversample, dynamic_max_rounds=args.max_rounds)
    result = train(config, tasks, folder, model=model, tokenizer=tok)
    groups = [g for g in RolloutGroup.read_parquet(result.files["rollouts"]) if g.phase == "train"]
    trained = [g for g in groups if g.meta.get("trained", True)]
    c = result.counts
    return {"trained_groups": len(trained), "zero_variance_trained": sum(not g.mixed for g in trained) / len(trained),
            "rollouts_generated": sum(g.k for g in groups), "groups_generated": len(groups),
            "rounds": int(c.get("dynamic_rounds", args.steps)), "padded": int(c.get("dynamic_padded_groups", 0)),
            "seconds_per_step": c["seconds_per_step"],
            "mean_reward_trained": sum(r for g in trained for r in g.rewards) / sum(g.k for g in trained)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--selector", default="uniform")
    p.add_argument("--oversample", type=float, default=1.5)
    p.add_argument("--max-rounds", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    torch.set_num_threads(1)
    from rlvr.synth.toy import FirstCharConfig, first_char_tasks

    tasks = first_char_tasks(96, seed=1, config=FirstCharConfig(1, 30))
    with tempfile.TemporaryDirectory() as tmp:
        off = run(False, args, tasks, Path(tmp) / "off")
        on = run(True, args, tasks, Path(tmp) / "on")
    print(f"{args.steps} steps x 4 groups x 4 rollouts, model {args.model}, selector {args.selector}, "
          f"oversample {args.oversample}, max rounds {args.max_rounds}")
    print(f"{'':28}{'off':>10}{'on':>10}")
    for key in ("trained_groups", "zero_variance_trained", "groups_generated", "rollouts_generated", "rounds",
                "padded", "mean_reward_trained", "seconds_per_step"):
        a, b = off[key], on[key]
        fmt = (lambda v: f"{v:10.3f}") if isinstance(a, float) or isinstance(b, float) else (lambda v: f"{v:10d}")
        print(f"{key:28}{fmt(a)}{fmt(b)}")
    print(f"rollouts generated, on/off: {on['rollouts_generated'] / off['rollouts_generated']:.2f}x")
    print(f"seconds per step, on/off:   {on['seconds_per_step'] / off['seconds_per_step']:.2f}x")
    useful_off = off["trained_groups"] * (1 - off["zero_variance_trained"])
    useful_on = on["trained_groups"] * (1 - on["zero_variance_trained"])
    print(f"rollouts generated per trained mixed group: off {off['rollouts_generated'] / max(useful_off, 1):.1f}, "
          f"on {on['rollouts_generated'] / max(useful_on, 1):.1f}")


if __name__ == "__main__":
    main()
