"""`report.html`: one self-contained page (PNG plots inlined as base64) about a training run.

Sections: training reward and zero-variance group fraction over steps; selector behaviour (the
score of the chosen tasks per step and how often each task was picked); probe pass rate over steps
per source and per kind; value per generator and per source; the most helpful and most harmful
tasks with their prompts; persistent weaknesses; run settings and the cost of probing and
attribution. Everything is read from the ledger, the value rows and the tasks: the report shows
what the records say and nothing else.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlvr.io.atomic import atomic_write_text
from rlvr.records import RolloutGroup, Task, Value
from rlvr.train.probe import curves
from rlvr.train.value import top


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def per_step(groups: Sequence[RolloutGroup]) -> dict[int, dict[str, float]]:
    """Mean reward, zero-variance fraction and mean selector score of the trained groups of each step
    (groups dynamic sampling generated but dropped are left out)."""
    acc: dict[int, list[RolloutGroup]] = defaultdict(list)
    for g in groups:
        if g.phase == "train" and g.meta.get("trained", True):
            acc[g.step].append(g)
    out = {}
    for step, gs in sorted(acc.items()):
        rewards = [r for g in gs for r in g.rewards]
        scores = [g.selector_score for g in gs if g.selector_score is not None and math.isfinite(g.selector_score)]
        out[step] = {"reward": sum(rewards) / len(rewards), "zero_var": sum(not g.mixed for g in gs) / len(gs),
                     "score": sum(scores) / len(scores) if scores else float("nan"), "groups": len(gs)}
    return out


def _plot_training(stats: dict[int, dict[str, float]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    steps = list(stats)
    ax.plot(steps, [stats[s]["reward"] for s in steps], label="mean reward")
    ax.plot(steps, [stats[s]["zero_var"] for s in steps], label="zero-variance group fraction")
    ax.set_xlabel("step")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def _plot_selector(stats: dict[int, dict[str, float]], groups: Sequence[RolloutGroup]) -> str:
    """Mean score of the chosen tasks, which sources the chosen tasks came from, and coverage."""
    import matplotlib.pyplot as plt

    train = [g for g in groups if g.phase == "train"]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 3))
    steps = [s for s in stats if math.isfinite(stats[s]["score"])]
    a.plot(steps, [stats[s]["score"] for s in steps])
    a.set_title("mean selector score of chosen tasks", fontsize=9)
    a.set_xlabel("step")
    sources = sorted({str(g.meta.get("source", "?")) for g in train})
    all_steps = sorted({g.step for g in train})
    counts = {src: [sum(1 for g in train if g.step == st and str(g.meta.get("source", "?")) == src)
                    for st in all_steps] for src in sources}
    b.stackplot(all_steps, *[counts[src] for src in sources], labels=[src[:24] for src in sources])
    b.set_title("groups per step by source", fontsize=9)
    b.set_xlabel("step")
    b.legend(loc="upper left", fontsize=6)
    picks = Counter(g.task_id for g in train)
    c.bar(range(len(picks)), sorted(picks.values(), reverse=True))
    c.set_title(f"groups per task ({len(picks)} tasks picked)", fontsize=9)
    c.set_xlabel("tasks, most picked first")
    return _png(fig)


def _plot_probe(groups: Sequence[RolloutGroup], by: str) -> str | None:
    import matplotlib.pyplot as plt

    data = curves(groups, by)
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(7, 3))
    for key, points in sorted(data.items()):
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, label=key,
                linewidth=2.5 if key == "all" else 1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("probe pass rate")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="best", fontsize=7)
    return _png(fig)


def _plot_value(values: Sequence[Value], level: str) -> str | None:
    import matplotlib.pyplot as plt

    rows = [v for v in values if v.level == level][:20]
    if not rows:
        return None
    use_infl = any(v.influence is not None for v in rows)
    vals = [(v.influence or 0.0) if use_infl else v.advantage_mass for v in rows]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1))
    ax.barh(range(len(rows)), vals, color=["tab:green" if x >= 0 else "tab:red" for x in vals])
    ax.set_yticks(range(len(rows)), [v.key[:40] for v in rows], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel("influence on the probe objective" if use_infl else "advantage mass")
    return _png(fig)


def _fmt_infl(v: Value) -> str:
    """Influence +- its bootstrap standard error; bold when |influence| > 2 se."""
    if v.influence is None:
        return "n/a"
    text = _fmt(v.influence, 4) if v.influence_se is None else f"{v.influence:+.2e} ± {v.influence_se:.1e}"
    return f"<b>{text}</b>" if v.meta.get("influence_sure") else text


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e-3 and x != 0 else f"{x:.{digits}f}"
    return html.escape(str(x))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _value_table(values: Sequence[Value], level: str) -> str:
    rows = [[v.meta.get("rank", ""), html.escape(v.key), v.n_tasks, v.n_groups, v.n_mixed_groups,
             _fmt(v.advantage_mass), _fmt(v.pass_rate_first), _fmt(v.pass_rate_last), _fmt_infl(v),
             _fmt(v.meta.get("failure_ratio")), html.escape(v.trajectory)]
            for v in values if v.level == level]
    return _table(["rank", level, "tasks", "groups", "mixed", "adv. mass", "first", "last", "influence",
                   "failure ratio", "typical trajectory"], rows)


def _task_rows(values: Sequence[Value], tasks: dict[str, Task]) -> list[list[Any]]:
    rows = []
    for v in values:
        t = tasks.get(v.key)
        prompt = html.escape(t.prompt_text[:300]) if t else ""
        answer = html.escape(str(t.answer)[:80]) if t else ""
        rows.append([f"<code>{v.key[:12]}</code>", html.escape(t.kind if t else ""), prompt, answer, v.n_groups,
                     v.n_mixed_groups, _fmt(v.pass_rate_first), _fmt(v.pass_rate_last), _fmt_infl(v)])
    return rows


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;
vertical-align:top}th{background:#f4f4f4}h2{border-bottom:1px solid #ddd;margin-top:1.6em}code{font-size:12px}
.note{color:#555;font-size:13px}"""


def write_report(path: Path, *, title: str, groups: Sequence[RolloutGroup], values: Sequence[Value],
                 tasks: Sequence[Task], weaknesses: Sequence[Task], settings: dict[str, Any],
                 summary: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    stats = per_step(groups)
    by_id = {t.task_id: t for t in tasks}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    parts.append(_table(["", ""], [[html.escape(str(k)), html.escape(str(v))] for k, v in summary.items()]))
    if stats:
        parts += ["<h2>Training reward</h2>", _img(_plot_training(stats), "reward and zero-variance fraction"),
                  "<h2>Selector behaviour</h2>", _img(_plot_selector(stats, groups), "selector behaviour")]
    parts.append("<h2>Probe pass rate</h2>")
    for by in ("source", "kind"):
        img = _plot_probe(groups, by)
        parts.append(f"<h3>per {by}</h3>" + (_img(img, f"probe per {by}") if img else "<p>no probe evaluations</p>"))
    influence_on = any(v.influence is not None for v in values)
    parts.append("<h2>Value</h2><p class='note'>Ranked by " + (
        "TracIn influence on the probe objective in AdamW's geometry: the predicted change in the probe pass rate "
        "caused by the task's updates (positive: correct probe answers became more likely), ± its bootstrap "
        "standard error over probe tasks; bold where |influence| > 2 se" if influence_on else "advantage mass (influence was off)") + ".</p>")
    for level in ("generator", "source", "kind"):
        img = _plot_value(values, level)
        if img:
            parts += [f"<h3>per {level}</h3>", _img(img, f"value per {level}"), _value_table(values, level)]
    header = ["task", "kind", "prompt", "answer", "groups", "mixed", "first", "last", "influence"]
    parts += ["<h2>Most helpful tasks</h2>", _table(header, _task_rows(top(values, "task", 10), by_id))]
    if influence_on:
        harmful = [v for v in top(values, "task", 10, helpful=False) if (v.influence or 0.0) < 0]
        parts += ["<h2>Most harmful tasks</h2>",
                  _table(header, _task_rows(harmful, by_id)) if harmful else "<p>no task had negative influence</p>"]
    parts.append(f"<h2>Persistent weaknesses ({len(weaknesses)})</h2><p class='note'>SwS failure rule: never "
                 "reached a 0.5 pass rate and a negative trend.</p>")
    parts.append(_table(["task", "kind", "prompt", "pass rates over steps"], [
        [f"<code>{w.task_id[:12]}</code>", html.escape(w.kind), html.escape(w.prompt_text[:200]),
         html.escape(", ".join(f"{r:.2f}" for r in w.meta["train"]["pass_rates"]))] for w in weaknesses[:50]]))
    parts.append("<h2>Settings</h2>" + _table(["setting", "value"], [[html.escape(k), html.escape(str(v))]
                                                                    for k, v in sorted(settings.items())]))
    parts.append("</body></html>")
    atomic_write_text(path, "\n".join(parts))
    return path
