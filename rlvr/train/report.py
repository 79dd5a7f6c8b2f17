"""`report.html`: one self-contained page (PNG plots inlined as base64) about a training run.

Sections, in the order a practitioner asks: the run at a glance; which tasks were left out of
training and why; the verdict (per source and per kind: helped, hurt, unclear, too hard, too easy,
not trained, how sure, and what to do next); training reward and zero-variance group fraction over
steps; selector behaviour; probe pass rate over steps per source and per kind with binomial error
bars; value per generator, source and kind with the columns explained; the most helpful and most
harmful tasks (among those trained on); persistent weaknesses; the settings in effect and the cost
of probing and attribution. Everything is read from the ledger, the value rows and the tasks: the
report shows what the records say and nothing else.
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
from rlvr.train.data import Keys
from rlvr.train.value import Verdict, binomial_se, top, verdicts


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


def _plot_selector(stats: dict[int, dict[str, float]], groups: Sequence[RolloutGroup],
                   keys: dict[str, Keys] | None = None) -> str:
    """Mean score of the chosen tasks, which sources the chosen tasks came from, and coverage."""
    import matplotlib.pyplot as plt

    train = [g for g in groups if g.phase == "train"]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 3))
    steps = [s for s in stats if math.isfinite(stats[s]["score"])]
    a.plot(steps, [stats[s]["score"] for s in steps])
    if not steps:
        a.text(0.5, 0.5, "no selector scores recorded", ha="center", va="center", transform=a.transAxes, fontsize=8)
    a.set_title("mean selector score of chosen tasks", fontsize=9)
    a.set_xlabel("step")
    def source(g: RolloutGroup) -> str:
        return keys[g.task_id].source if keys and g.task_id in keys else str(g.meta.get("source", "?"))

    sources = sorted({source(g) for g in train})
    all_steps = sorted({g.step for g in train})
    counts = {src: [sum(1 for g in train if g.step == st and source(g) == src)
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


def probe_points(groups: Sequence[RolloutGroup], by: str) -> dict[str, list[tuple[int, float, int]]]:
    """(step, pass rate, rollouts) of the probe per value of meta[by] ("kind" or "source"), plus "all"."""
    acc: dict[tuple[str, int], list[float]] = defaultdict(list)
    for g in groups:
        if g.phase != "probe":
            continue
        acc[(str(g.meta.get(by, "?")), g.step)].extend(g.rewards)
        acc[("all", g.step)].extend(g.rewards)
    out: dict[str, list[tuple[int, float, int]]] = defaultdict(list)
    for (key, step), rewards in sorted(acc.items()):
        out[key].append((step, sum(rewards) / len(rewards), len(rewards)))
    return dict(out)


def _plot_probe(groups: Sequence[RolloutGroup], by: str) -> str | None:
    import matplotlib.pyplot as plt

    data = probe_points(groups, by)
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(7, 3))
    for i, (key, points) in enumerate(sorted(data.items())):
        shift = (i - len(data) / 2) * 0.06  # keep overlapping error bars apart
        ax.errorbar([p[0] + shift for p in points], [p[1] for p in points],
                    yerr=[binomial_se(p[1], p[2]) for p in points], marker="o", markersize=3, capsize=2,
                    label=f"{key[:28]} (n={points[-1][2]})", linewidth=2.5 if key == "all" else 1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("probe pass rate (± 1 SE)")
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
    rows = [[v.meta.get("rank", ""), html.escape(v.key), v.n_tasks, v.meta.get("seen_tasks", ""), v.n_groups,
             v.n_mixed_groups, _fmt(v.advantage_mass), _fmt(v.pass_rate_first), _fmt(v.pass_rate_last),
             _fmt_infl(v), _fmt(v.meta.get("failure_ratio")), html.escape(v.trajectory)]
            for v in values if v.level == level]
    return _table(["rank", level, "tasks", "trained", "groups", "mixed", "adv. mass", "first", "last", "influence",
                   "failure ratio", "typical trajectory"], rows)


COLUMNS = """<dl class='note'>
<dt>tasks / trained</dt><dd>tasks of this key in the training set / how many of them reached at least one
training step.</dd>
<dt>groups / mixed</dt><dd>training groups (one task's k rollouts at one step) / those whose rewards were not all
equal. Only mixed groups carry a GRPO learning signal.</dd>
<dt>adv. mass</dt><dd>the sum of |advantage| over the key's rollouts as TRL computed them: how much gradient the
key supplied. Range 0 upwards; it grows with the number of mixed groups (with 0/1 rewards and group
scaling, a mixed group of k rollouts adds between about 0.8k and k; an all-equal group adds 0).</dd>
<dt>first / last</dt><dd>mean training pass rate of the key's tasks at their first and last training group.</dd>
<dt>influence</dt><dd>TracIn in AdamW's geometry: the sum over the key's groups of its update dotted with the
gradient of the probe objective, i.e. the predicted first-order change in the probe pass rate caused by
the key's updates (with the default reward objective: +0.01 ≈ one percentage point of probe pass rate).
Positive: its updates made the probe answers more likely to be correct. ± is the bootstrap standard error
over probe tasks and over the key's groups (which of its groups were drawn and happened to be mixed), added in
quadrature; it does not hold the noise of training itself (another seed): pool runs for that; bold where
|influence| &gt; 2 SE. A first-order prediction (each update's effect through
AdamW's momentum over the rest of the run): with every block tracked it is the whole model's predicted
change; with the last blocks only (the default) the change through those weights, a fraction of the whole:
read signs, ratios between keys and the SE there, not the magnitude (see "influence" at the top).</dd>
<dt>failure ratio</dt><dd>weak tasks / trained tasks, where weak is the SwS rule (never reached a 0.5 pass rate
and the pass rate trended down). 0 to 1; SwS budgets new synthesis towards keys with high ratios.</dd>
<dt>typical trajectory</dt><dd>the commonest per-task label among trained tasks: learned (crossed 0.5),
mastered (always ≥ 0.5), improving, stuck, forgotten, seen_once (one group); unseen when none trained.</dd>
</dl>"""


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
dl.note dt{font-weight:600;margin-top:.3em}dl.note dd{margin-left:1.5em}.glance td:first-child{font-weight:600}
.helped{background:#e3f4e3}.hurt{background:#fbe3e3}.toohard,.tooeasy,.nottrained{background:#fff3d6}
ul.advice li{margin:.2em 0}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 6px;
vertical-align:top}th{background:#f4f4f4}h2{border-bottom:1px solid #ddd;margin-top:1.6em}code{font-size:12px}
.note{color:#555;font-size:13px}"""


CPU_ONLY_OFF = ("use_vllm", "vllm_mode", "vllm_server_base_url", "vllm_gpu_memory_utilization")


def effective_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as the run used them: on a CPU run the vLLM switches do nothing, so they are shown
    as such instead of as the (GPU) defaults."""
    out = dict(settings)
    if out.get("device") == "cpu":
        for key in CPU_ONLY_OFF:
            if key in out:
                out[key] = "n/a (cpu run)" if key != "use_vllm" else False
    return out


def _glance(summary: dict[str, Any], groups: Sequence[RolloutGroup], n_train_tasks: int) -> str:
    """The run in a few labelled lines instead of the raw counts."""
    train = [g for g in groups if g.phase == "train"]
    probe = [g for g in groups if g.phase == "probe"]
    probe_steps = sorted({g.step for g in probe})
    rows: list[tuple[str, str]] = [("policy", f"{summary.get('model')} → <code>{html.escape(str(summary.get('policy', '')))}"
                                              "</code>"),
                                   ("selector", html.escape(str(summary.get("selector"))))]
    k = train[0].k if train else 0
    rows.append(("training", f"{summary.get('steps')} steps; {len(train)} groups × {k} rollouts = "
                             f"{sum(g.k for g in train)} rollouts over {len({g.task_id for g in train})} of "
                             f"{n_train_tasks} training tasks; {_pct(summary.get('zero_variance_fraction'))} of groups "
                             "had all-equal rewards (no learning signal)"))
    if probe_steps:
        first = [r for g in probe if g.step == probe_steps[0] for r in g.rewards]
        last = [r for g in probe if g.step == probe_steps[-1] for r in g.rewards]
        pf, pl = sum(first) / len(first), sum(last) / len(last)
        n_tasks = len({g.task_id for g in probe})
        rows.append(("probe", f"{n_tasks} held-out tasks × {probe[0].k} sample(s) at steps "
                              f"{', '.join(map(str, probe_steps))} ({sum(g.k for g in probe)} rollouts, not counted "
                              f"above); pass rate {pf:.3f} ± {binomial_se(pf, len(first)):.3f} → {pl:.3f} ± "
                              f"{binomial_se(pl, len(last)):.3f} (± 1 binomial SE)"))
    else:
        rows.append(("probe", "no probe evaluations"))
    rows.append(("weaknesses", f"{summary.get('weaknesses', 0)} task(s) by the SwS failure rule"))
    if summary.get("influence_blocks") is not None:
        blocks, total = summary["influence_blocks"], summary.get("influence_model_blocks")
        geometry = {"adamw": "AdamW's per-weight scaling of each update",
                    "adamw-scalar": "AdamW's root-mean-square scaling (low-memory mode)",
                    "sgd": "the learning rate alone (no per-weight second moment)"}.get(
                        summary.get("influence_geometry"), str(summary.get("influence_geometry")))
        reach = (f"every block ({total}): the whole model's predicted change, embeddings and norms aside"
                 if blocks == total else
                 f"the last {blocks} of {total} blocks: the change through those weights only, a fraction of "
                 "the whole model's (a ranking; track every block with --influence-layers for magnitudes)")
        probe_age = ""
        if summary.get("influence_stale_refreshes"):
            ess = summary.get("influence_probe_min_ess")
            probe_age = (f"; {int(summary['influence_stale_refreshes'])} probe gradient(s) reused rollouts up to "
                         f"{summary.get('influence_probe_max_age')} step(s) old, importance weighted to the policy "
                         "of their step" + (f" (smallest effective sample share of a probe group {float(ess):.2f})"
                                            if ess is not None else ""))
        rows.append(("influence", f"{int(summary.get('influence_params', 0)):,} weights in {reach}; {geometry}"
                                  f"{probe_age}"))
    sec = summary.get("seconds_per_step")
    cost = f"{sec} s per step" if sec is not None else "n/a"
    for key, label in (("probe_seconds", "probing"), ("influence_seconds", "influence")):
        if summary.get(key) is not None:
            cost += f"; {label} {float(summary[key]):.1f} s"
    rows.append(("time", cost))
    return "<table class='glance'>" + "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows) + "</table>"


def _pct(x: Any) -> str:
    return f"{100 * float(x):.0f}%" if isinstance(x, (int, float)) else "n/a"


def _left_out_section(left_out: dict[str, Any] | None, keys: dict[str, Keys] | None) -> str:
    if not left_out or not left_out.get("by_source"):
        return ("<h2>Left out of training</h2><p class='note'>No task was left out: every task's prompt fit "
                "max_prompt_tokens.</p>")
    given = left_out.get("given_by_source", {})
    rows = [[html.escape(src), given.get(src, ""), n, html.escape(left_out.get("reason", ""))]
            for src, n in sorted(left_out["by_source"].items(), key=lambda kv: -kv[1])]
    total = sum(left_out["by_source"].values())
    return (f"<h2>Left out of training ({total} task(s))</h2><p class='note'>These tasks never reached training or "
            "the probe set; the value and verdict tables below cannot say anything about them.</p>"
            + _table(["source", "tasks given", "left out", "reason"], rows))


def _verdict_section(vs: list[Verdict], by: str, influence_on: bool) -> str:
    rows = []
    for v in vs:
        if v.influence is None:
            infl = "n/a"
        elif v.influence_se is None:
            infl = f"{v.influence:+.3g} (no SE: one group)"
        else:
            infl = f"{v.influence:+.3g} ± {v.influence_se:.2g}"
        probe = "n/a" if v.probe_first is None else (
            f"{v.probe_first:.2f} → {v.probe_last:.2f}" + (f" (± {v.probe_se:.2f})" if v.probe_se else "")
            + f", n={v.probe_n}")
        cls = v.verdict.replace(" ", "")
        repl = "n/a" if v.replacement is None else (
            f"{v.replacement:+.3g}" + (f" ± {v.replacement_se:.2g}" if v.replacement_se is not None else ""))
        rows.append([html.escape(v.key), f"{v.tasks_trained} / {v.tasks_total}", v.groups, v.mixed_groups,
                     _fmt(v.pass_rate), infl, repl, probe, f"<b class='{cls}'>{html.escape(v.verdict)}</b>",
                     html.escape(v.certainty)])
    header = [by, "tasks trained / given", "groups", "mixed", "train pass rate",
              "influence ± SE" if influence_on else "influence", "vs replacement", "probe first → last",
              "verdict", "how sure"]
    return _table(header, rows)


def _advice(vs: list[Verdict]) -> str:
    items = [v.advice for v in vs if v.verdict != "unclear"] + [v.advice for v in vs if v.verdict == "unclear"]
    return "<ul class='advice'>" + "".join(f"<li>{html.escape(a)}</li>" for a in items) + "</ul>"


def write_report(path: Path, *, title: str, groups: Sequence[RolloutGroup], values: Sequence[Value],
                 tasks: Sequence[Task], weaknesses: Sequence[Task], settings: dict[str, Any],
                 summary: dict[str, Any], keys: dict[str, Keys] | None = None,
                 left_out: dict[str, Any] | None = None, train_task_ids: Sequence[str] | None = None) -> Path:
    """Write the report (see the module docstring). `keys` maps task ids to their source and kind (for
    the verdicts); `left_out` is {"reason": ..., "by_source": {source: n}, "given_by_source": {...}};
    `train_task_ids` says which of `tasks` were training (not probe) tasks."""
    import matplotlib

    matplotlib.use("Agg")
    stats = per_step(groups)
    by_id = {t.task_id: t for t in tasks}
    influence_on = any(v.influence is not None for v in values)
    train_ids = set(train_task_ids) if train_task_ids is not None else {v.key for v in values if v.level == "task"}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             "<h2>At a glance</h2>", _glance(summary, groups, len(train_ids)), _left_out_section(left_out, keys)]
    if keys:
        train_keys = {tid: k for tid, k in keys.items() if tid in train_ids}
        dropped = (left_out or {}).get("by_source", {})
        parts.append("<h2>Verdict: which data helped</h2><p class='note'>Per source and per kind. "
                     + ("<i>helped</i> / <i>hurt</i>: the summed influence of its groups on the probe objective is "
                        "at least two standard errors above / below zero (SE: bootstrap over its groups and, where the "
                        "ledger has per-probe contributions, over probe tasks); <i>unclear</i>: "
                        "within two SE. <i>vs replacement</i>: its influence minus that of as many groups like the "
                        "rest of the run's, the predicted cost of dropping it from a run of this length (its steps "
                        "would go to the other data; negative: dropping it is predicted to help). " if influence_on else
                        "<i>helped</i> / <i>hurt</i>: its probe pass rate rose / fell by at least two binomial "
                        "standard errors (influence was off); <i>unclear</i>: within two SE. ")
                     + "<i>too hard</i> / <i>too easy</i>: every group all-fail / all-pass, so GRPO learned "
                     "nothing from it; <i>not trained</i>: no group reached a training step.</p>")
        source_verdicts = verdicts(groups, keys, "source", influence_on, available=_available(train_keys, dropped),
                                   train_ids=train_ids)
        kind_verdicts = verdicts(groups, keys, "kind", influence_on, train_ids=train_ids)
        parts += ["<h3>per source</h3>", _verdict_section(source_verdicts, "source", influence_on),
                  "<h3>per kind</h3>", _verdict_section(kind_verdicts, "kind", influence_on),
                  "<h3>What to do next</h3>", _advice(source_verdicts)]
    if stats:
        parts += ["<h2>Training reward</h2>", _img(_plot_training(stats), "reward and zero-variance fraction"),
                  "<h2>Selector behaviour</h2>", _img(_plot_selector(stats, groups, keys), "selector behaviour")]
    parts.append("<h2>Probe pass rate</h2><p class='note'>Held-out tasks, never trained on. Error bars: ± 1 "
                 "binomial standard error (Agresti-Coull); n = rollouts behind each point.</p>")
    for by in ("source", "kind"):
        img = _plot_probe(groups, by)
        parts.append(f"<h3>per {by}</h3>" + (_img(img, f"probe per {by}") if img else "<p>no probe evaluations</p>"))
    parts.append("<h2>Value</h2><p class='note'>Ranked by " + (
        "TracIn influence on the probe objective in AdamW's geometry: the predicted change in the probe pass rate "
        "caused by the task's updates (positive: correct probe answers became more likely), ± its bootstrap "
        "standard error over probe tasks and the key's groups; bold where |influence| > 2 se" if influence_on else
        "advantage mass (influence was off)") + ". Columns:</p>" + COLUMNS)
    for level in ("generator", "source", "kind"):
        img = _plot_value(values, level)
        if img:
            parts += [f"<h3>per {level}</h3>", _img(img, f"value per {level}"), _value_table(values, level)]
    header = ["task", "kind", "prompt", "answer", "groups", "mixed", "first", "last", "influence"]
    helpful = top(values, "task", 10)
    parts += ["<h2>Most helpful tasks</h2><p class='note'>Among the tasks trained on (at least one group).</p>",
              _table(header, _task_rows(helpful, by_id)) if helpful else "<p>no task was trained on</p>"]
    if influence_on:
        harmful = [v for v in top(values, "task", 10, helpful=False) if (v.influence or 0.0) < 0]
        parts += ["<h2>Most harmful tasks</h2>",
                  _table(header, _task_rows(harmful, by_id)) if harmful else "<p>no task had negative influence</p>"]
    parts.append(f"<h2>Persistent weaknesses ({len(weaknesses)})</h2><p class='note'>SwS failure rule: never "
                 "reached a 0.5 pass rate and a negative trend.</p>")
    parts.append(_table(["task", "kind", "prompt", "pass rates over steps"], [
        [f"<code>{w.task_id[:12]}</code>", html.escape(w.kind), html.escape(w.prompt_text[:200]),
         html.escape(", ".join(f"{r:.2f}" for r in w.meta["train"]["pass_rates"]))] for w in weaknesses[:50]])
        if weaknesses else "<p>no task met the rule</p>")
    parts.append("<h2>Settings in effect</h2>" + _table(["setting", "value"], [
        [html.escape(k), html.escape(str(v))] for k, v in sorted(effective_settings(settings).items())]))
    parts.append("</body></html>")
    atomic_write_text(path, "\n".join(parts))
    return path


def _available(keys: dict[str, Keys], dropped: dict[str, int]) -> dict[str, int]:
    """Tasks per source that training could have used: the training tasks plus those left out."""
    out: Counter[str] = Counter(k.source for k in keys.values())
    out.update(dropped)
    return dict(out)
