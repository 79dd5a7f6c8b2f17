"""PNG plots that sit next to the card and are linked from it (matplotlib, Agg backend)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rlvr.datasets_cards.collect import CardFacts


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    return plt, fig, ax


def _save(plt, fig, out: Path, name: str) -> str:
    path = out / "plots" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    # A fixed Software tag and no date keep equal plots byte-identical across runs.
    fig.savefig(path, metadata={"Software": "rlvr"})
    plt.close(fig)
    return f"plots/{name}"


def make_plots(facts: CardFacts, out: Path) -> dict[str, str]:
    """Write the plots the facts support; returns {plot name: path relative to the card}."""
    plots: dict[str, str] = {"difficulty": "", "pass_rate": "", "probe": "", "value": ""}
    by_kind: dict[str, list[float]] = defaultdict(list)
    for t in facts.tasks:
        if t.difficulty.nominal is not None:
            by_kind[t.kind].append(t.difficulty.nominal)
    if by_kind:
        plt, fig, ax = _figure()
        ax.hist(list(by_kind.values()), bins=10, range=(0, 1), stacked=True, label=list(by_kind))
        ax.set_xlabel("nominal difficulty")
        ax.set_ylabel("tasks")
        ax.legend(fontsize=7)
        plots["difficulty"] = _save(plt, fig, out, "difficulty.png")
    rates = [t.difficulty.pass_rate for t in facts.tasks if t.difficulty.pass_rate is not None]
    if rates:
        plt, fig, ax = _figure()
        ax.hist(rates, bins=11, range=(0, 1))
        ax.set_xlabel("pass rate observed while training" if facts.pass_rate_origin == "train"
                      else "estimated pass rate")
        ax.set_ylabel("tasks")
        plots["pass_rate"] = _save(plt, fig, out, "pass_rate.png")
    if facts.probe:
        plt, fig, ax = _figure()
        series: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for p in facts.probe:
            series[p.group].append((p.step, p.pass_rate))
        for group, pts in sorted(series.items()):
            ax.plot([s for s, _ in pts], [r for _, r in pts], marker="o", label=group)
        ax.set_xlabel("training step")
        ax.set_ylabel("probe pass rate")
        ax.legend(fontsize=7)
        plots["probe"] = _save(plt, fig, out, "probe.png")
    agg = [v for v in facts.values if v.level in ("generator", "source") and v.influence is not None]
    if agg:
        plt, fig, ax = _figure()
        ax.barh([f"{v.level}: {v.key}" for v in agg], [v.influence for v in agg])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("influence on the probe objective")
        plots["value"] = _save(plt, fig, out, "value.png")
    return plots
