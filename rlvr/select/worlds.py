"""A suite of simulated worlds, so that a selector's default is chosen by its worst case, not by
how well it fits one world (`rlvr select simulate --worlds`).

The default world of `simulate.py` shares its premise with the selectors built on it: only mixed
groups teach, with the strength 2 sqrt(a(1-a)) that InSight's "signal" form optimises. A selector
that wins there may only be fitted to that premise. The suite varies what the selectors cannot
see and did not assume:

| world           | learning rule | difficulty sd | other                                    |
|-----------------|---------------|---------------|------------------------------------------|
| mixed           | mixed         | 3.5           | the default world                        |
| mixed-sd2       | mixed         | 2.0           | most tasks mixed at the start            |
| advantage       | advantage     | 3.5           | every group teaches by its advantage mass|
| advantage-sd2   | advantage     | 2.0           |                                          |
| expected        | expected      | 3.5           | a value baseline: all-equal groups teach |
| noisy           | mixed         | 3.5           | 10% rewards flipped, 15% luck-only tasks |
| memorise        | mixed         | 3.5           | memorisation x5, repeats transfer less   |

Each world runs every selector on the same seeds; a selector's score in a world is its mean
rollouts to the target divided by uniform's (lower is better; a selector that misses the target
on some seed is charged the whole budget for that seed, so it cannot hide a failure). Its worst
case is the largest ratio over the suite. `choose_default` picks the selector with the smallest
worst case, ties broken by the mean ratio.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from rlvr.select.simulate import SimConfig, simulate_run

WORLDS: dict[str, tuple[str, dict[str, Any]]] = {
    "mixed": ("only mixed groups teach, 2 sqrt(a(1-a)) (the default world)", {}),
    "mixed-sd2": ("only mixed groups teach; narrower difficulty spread (sd 2)", {"difficulty_sd": 2.0}),
    "advantage": ("every group teaches by its advantage mass 4 a(1-a)", {"learning_rule": "advantage"}),
    "advantage-sd2": ("advantage mass; sd 2", {"learning_rule": "advantage", "difficulty_sd": 2.0}),
    "expected": ("groups teach by 4 p(1-p) of the true pass rate (value baseline)", {"learning_rule": "expected"}),
    "noisy": ("10% of rewards flipped, 15% of tasks solved by luck only",
              {"reward_noise": 0.1, "noisy_share": 0.15}),
    "memorise": ("memorisation 5x faster, each repeat transfers less",
                 {"item_lr": 0.5, "repeat_decay": 0.5}),
}


def world_config(base: SimConfig, world: str) -> SimConfig:
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}; valid: {', '.join(WORLDS)}")
    return dataclasses.replace(base, **WORLDS[world][1])


def parse_worlds(spec: str | list[str] | None) -> list[str]:
    """`all`, a comma-separated list, or a list of world names."""
    if spec is None or spec == "all" or spec == ["all"]:
        return list(WORLDS)
    names = [w for part in ([spec] if isinstance(spec, str) else spec) for w in part.split(",") if w]
    unknown = [w for w in names if w not in WORLDS]
    if unknown or not names:
        raise ValueError(f"--worlds: unknown world(s) {unknown or spec!r}; valid: all, {', '.join(WORLDS)}")
    return names


def run_world(config: SimConfig, world: str) -> list[dict[str, Any]]:
    """One row per selector in one world: mean rollouts to target and the ratio to uniform."""
    cfg = world_config(config, world)
    budget = float(cfg.max_steps * cfg.batch * cfg.k)
    per: dict[str, list[float]] = {}
    misses: dict[str, int] = {}
    zero_var: dict[str, list[float]] = {}
    names = list(dict.fromkeys(["uniform", *cfg.selectors]))
    for name in names:
        for seed in range(cfg.seeds):
            result = simulate_run(cfg, name, seed)
            hit = result.rollouts_to(cfg.target)
            misses[name] = misses.get(name, 0) + int(math.isnan(hit))
            per.setdefault(name, []).append(budget if math.isnan(hit) else hit)
            zero_var.setdefault(name, []).append(float(result.zero_var.mean()))
    base = float(np.mean(per["uniform"]))
    rows = []
    for name in names:
        ratios = np.array(per[name]) / np.array(per["uniform"])
        rows.append({"world": world, "selector": name, "rollouts_to_target_mean": float(np.mean(per[name])),
                     "missed_target": misses[name], "ratio_vs_uniform": float(np.mean(per[name])) / base,
                     "ratio_sd_over_seeds": float(ratios.std(ddof=1)) if len(ratios) > 1 else 0.0,
                     "zero_variance_frac_mean": float(np.mean(zero_var[name]))})
    return rows


def run_worlds(config: SimConfig, worlds: list[str], progress: bool = False) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = []
    for world in tqdm(worlds, desc="worlds", disable=not progress):
        rows += run_world(config, world)
    return rows


def worst_case(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per selector: worst (largest) and mean ratio to uniform over the worlds, and where it was worst."""
    out = []
    for name in dict.fromkeys(r["selector"] for r in rows):
        mine = [r for r in rows if r["selector"] == name]
        worst = max(mine, key=lambda r: r["ratio_vs_uniform"])
        best = min(mine, key=lambda r: r["ratio_vs_uniform"])
        out.append({"selector": name, "worst_ratio": worst["ratio_vs_uniform"], "worst_world": worst["world"],
                    "mean_ratio": float(np.mean([r["ratio_vs_uniform"] for r in mine])),
                    "best_ratio": best["ratio_vs_uniform"], "best_world": best["world"],
                    "worlds_won": 0})
    for world in dict.fromkeys(r["world"] for r in rows):
        mine = [r for r in rows if r["world"] == world and r["selector"] != "uniform"]
        if mine:
            winner = min(mine, key=lambda r: r["ratio_vs_uniform"])["selector"]
            next(o for o in out if o["selector"] == winner)["worlds_won"] += 1
    return sorted(out, key=lambda o: (o["worst_ratio"], o["mean_ratio"]))


def choose_default(rows: list[dict[str, Any]]) -> str:
    """The selector (other than uniform) with the smallest worst-case ratio, ties by the mean."""
    ranked = [o for o in worst_case(rows) if o["selector"] != "uniform"]
    if not ranked:
        raise ValueError("choose_default: no selector besides uniform was simulated")
    return ranked[0]["selector"]


def format_worlds(rows: list[dict[str, Any]]) -> str:
    worlds = list(dict.fromkeys(r["world"] for r in rows))
    names = list(dict.fromkeys(r["selector"] for r in rows))
    by = {(r["world"], r["selector"]): r for r in rows}
    width = max(map(len, names)) + 1
    head = f"{'selector':<{width}}" + "".join(f"{w:>14}" for w in worlds) + f"{'worst':>8}{'mean':>7}"
    lines = ["rollouts to target / uniform's (lower is better; * = missed the target on a seed)", head,
             "-" * len(head)]
    summary = {o["selector"]: o for o in worst_case(rows)}
    for name in names:
        cells = []
        for w in worlds:
            r = by[(w, name)]
            cells.append(f"{r['ratio_vs_uniform']:>13.3f}{'*' if r['missed_target'] else ' '}")
        o = summary[name]
        lines.append(f"{name:<{width}}" + "".join(cells) + f"{o['worst_ratio']:>8.3f}{o['mean_ratio']:>7.3f}")
    lines.append(f"smallest worst case: {choose_default(rows)}")
    return "\n".join(lines)
