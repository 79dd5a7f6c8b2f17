"""What `rlvr select simulate` writes and prints: CSV tables, PNG plots, the issue's target checks.

Output folder:
- summary.csv   one row per selector (rollouts to target mean/sd/min/max, ratio to uniform,
                zero-variance group fraction, final held-out pass rate);
- per_seed.csv  one row per (selector, seed);
- curves.csv    held-out pass rate and zero-variance fraction per step, per (selector, seed);
- config.json   the SimConfig used;
- heldout.png, zero_variance.png, rollouts_to_target.png.
Every file is written atomically; the same config gives the same bytes (PNG metadata is fixed).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rlvr.io.atomic import atomic_path, atomic_write_text
from rlvr.select.simulate import RunResult, SimConfig

# The targets (see `target_checks`).
RATIO_TARGET = 0.6
ZERO_VAR_TARGET = 0.25
ZERO_VAR_SELECTORS = ("insight", "variance", "band")


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def write_outputs(out: Path, results: list[RunResult], summary: list[dict[str, Any]], config: SimConfig) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_seed = [{"selector": r.selector, "seed": r.seed, "rollouts_to_target": r.rollouts_to(config.target),
                 "zero_variance_frac": float(r.zero_var.mean()), "final_heldout": float(r.heldout[-1])}
                for r in results]
    curves = [{"selector": r.selector, "seed": r.seed, "step": t, "rollouts": t * r.rollouts_per_step,
               "heldout": float(r.heldout[t]), "zero_variance_frac": float(r.zero_var[t - 1]) if t else float("nan")}
              for r in results for t in range(len(r.heldout))]
    files = {"summary.csv": _csv(summary), "per_seed.csv": _csv(per_seed), "curves.csv": _csv(curves),
             "config.json": json.dumps(asdict(config), indent=2, sort_keys=True) + "\n"}
    paths = []
    for name, text in files.items():
        atomic_write_text(out / name, text)
        paths.append(out / name)
    paths += plot(out, results, summary, config)
    return paths


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    return path


def plot(out: Path, results: list[RunResult], summary: list[dict[str, Any]], config: SimConfig) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row["selector"] for row in summary]
    paths = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in names:
        curves = np.array([r.heldout for r in results if r.selector == name])
        x = np.arange(curves.shape[1]) * results[0].rollouts_per_step
        ax.plot(x, curves.mean(0), label=name)
        ax.fill_between(x, curves.min(0), curves.max(0), alpha=0.15)
    ax.axhline(config.target, color="k", ls="--", lw=0.8, label="target")
    ax.set(xlabel="rollouts", ylabel="held-out pass rate", title=f"held-out pass rate ({config.seeds} seeds, min-max band)")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out / "heldout.png"))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    window = max(1, config.max_steps // 40)
    for name in names:
        zv = np.array([r.zero_var for r in results if r.selector == name]).mean(0)
        smooth = np.convolve(zv, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(len(smooth)) + window, smooth, label=name)
    ax.set(xlabel="step", ylabel="all-equal (zero-variance) groups", ylim=(0, 1),
           title=f"zero-variance group fraction ({window}-step mean)")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out / "zero_variance.png"))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    means = [row["rollouts_to_target_mean"] for row in summary]
    sds = [row["rollouts_to_target_sd"] if not math.isnan(row["rollouts_to_target_sd"]) else 0 for row in summary]
    heights = [m if not math.isnan(m) else 0 for m in means]
    ax.bar(names, heights, yerr=sds, capsize=4, color=["0.6" if n == "uniform" else "C0" for n in names])
    for i, m in enumerate(means):
        if math.isnan(m):
            ax.text(i, 0, "not reached", ha="center", va="bottom", rotation=90, fontsize=8)
    ax.set(ylabel=f"rollouts to held-out {config.target}", title="rollouts to target (mean +- sd over seeds)")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    paths.append(_save(fig, out / "rollouts_to_target.png"))
    plt.close(fig)
    return paths


def format_table(summary: list[dict[str, Any]]) -> str:
    head = f"{'selector':<11} {'reached':>7} {'rollouts to target':>22} {'x uniform':>9} {'zero-var':>9} {'final':>6}"
    lines = [head, "-" * len(head)]
    for row in summary:
        m, sd = row["rollouts_to_target_mean"], row["rollouts_to_target_sd"]
        rollouts = "not reached" if math.isnan(m) else f"{m:,.0f} +- {0 if math.isnan(sd) else sd:,.0f}"
        ratio = "" if math.isnan(row["ratio_vs_uniform"]) else f"{row['ratio_vs_uniform']:.2f}"
        lines.append(f"{row['selector']:<11} {row['reached_target']:>3}/{row['seeds']:<3} {rollouts:>22} {ratio:>9} "
                     f"{row['zero_variance_frac_mean']:>9.3f} {row['final_heldout_mean']:>6.3f}")
    return "\n".join(lines)


def target_checks(summary: list[dict[str, Any]]) -> list[tuple[str, bool | None, str]]:
    """(name, passed or None when not measurable, detail) for each of the issue's targets."""
    by = {row["selector"]: row for row in summary}
    checks: list[tuple[str, bool | None, str]] = []
    ins, var, uni = by.get("insight"), by.get("variance"), by.get("uniform")
    if ins and uni:
        r = ins["ratio_vs_uniform"]
        checks.append((f"insight rollouts <= {RATIO_TARGET} x uniform", None if math.isnan(r) else r <= RATIO_TARGET,
                       f"{r:.2f} x" if not math.isnan(r) else "a selector did not reach the target in every seed"))
    if ins and var:
        a, b = ins["rollouts_to_target_mean"], var["rollouts_to_target_mean"]
        ok = None if math.isnan(a) or math.isnan(b) else a <= b
        checks.append(("insight rollouts <= variance", ok, f"{a:,.0f} vs {b:,.0f}"))
    if uni:
        for name in ZERO_VAR_SELECTORS:
            if name in by:
                zv = by[name]["zero_variance_frac_mean"]
                checks.append((f"{name} zero-variance fraction <= {ZERO_VAR_TARGET}", zv <= ZERO_VAR_TARGET,
                               f"{zv:.3f} (uniform {uni['zero_variance_frac_mean']:.3f})"))
    return checks
