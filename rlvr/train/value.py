"""Which data helped: per-task value from the ledger, aggregated per generator, document, source and kind.

For every training task (rlvr.records.Value, level "task"):

- learning signal: `n_groups` rolled out, `n_mixed_groups` whose rewards were not all equal (the only
  groups GRPO learns from), and `advantage_mass`, the sum of |advantage| TRL assigned to the task's
  completions (zero for all-equal groups);
- trajectory: the group pass rates a_1..a_T in step order. `pass_rate_first` = a_1,
  `pass_rate_last` = a_T, and a label:
  unseen (no group), seen_once (T = 1), learned (a_1 < 0.5 <= a_T), forgotten (some earlier
  a_t >= 0.5 but a_T < 0.5), mastered (every a_t >= 0.5), improving (never >= 0.5, slope > 0),
  stuck (never >= 0.5, slope <= 0);
- weakness: the SwS failure rule, max_t a_t < 0.5 and least-squares slope of a_t over steps < 0
  (needs T >= 2). A task stuck at a constant 0 has slope 0 and is "stuck" but not a SwS weakness;
- influence: the sum of its groups' TracIn influence on the probe objective in AdamW's geometry
  (rlvr.train.influence): the predicted first-order change in the probe's pass rate (reward
  objective) caused by the task's updates; positive = its updates made correct probe answers more
  likely. `influence_se` is its standard error from two independent bootstraps, added in
  quadrature (`influence_uncertainty`): over probe tasks (which probe set measured it: the per-probe
  contributions summed over the key's groups, `meta["influence_by_probe"]`) and over the key's
  groups (which of its groups the run happened to draw and which of them happened to be mixed: a
  source's value often rests on a handful of groups; `meta["influence_sq"]` keeps the sum of the
  squared group influences it needs). The two parts are in `meta["influence_se_probe"]` and
  `meta["influence_se_groups"]`; `meta["influence_sure"]` says whether |influence| > 2 se.
  Neither part holds the run-to-run noise of training itself (the same data, another seed):
  benchmarks/value_ablation.py measures that, and several runs' values can be pooled over seeds
  with `across_runs` (`rlvr value RUN RUN ...`, `rlvr card --value-runs`).

Aggregates also carry `meta["influence_vs_replacement"]` (with `_se`): the key's influence minus
that of as many groups like the rest of the run's, the predicted effect of dropping the key from
a run of fixed length (its steps go to the other data); see `vs_replacement`.

Aggregates sum the counts, the influence and its per-probe contributions over their tasks and
average the first/last pass rates over the tasks that were seen; their trajectory is the commonest
label among those seen tasks ("unseen" only when none of them trained). Their `meta` holds the
failure ratio (weak tasks / seen tasks, the
share SwS uses to budget synthesis per domain), trajectory counts, influence per task and the rank.

Ranking ("value"): by influence when it was measured, else by advantage mass; ties broken by
advantage mass, then by key. Rank 1 helped most.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlvr.records import Difficulty, RolloutGroup, Task, Value
from rlvr.train.data import Keys

LEVELS = ("generator", "doc", "source", "kind")
THRESHOLD = 0.5  # SwS: a task that never reached 50% is failing


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two distinct xs)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var


def trajectory(rates: Sequence[float], slope_: float) -> str:
    if not rates:
        return "unseen"
    if len(rates) == 1:
        return "seen_once"
    first, last = rates[0], rates[-1]
    if first < THRESHOLD <= last:
        return "learned"
    if last < THRESHOLD and max(rates[:-1]) >= THRESHOLD:
        return "forgotten"
    if min(rates) >= THRESHOLD:
        return "mastered"
    return "improving" if slope_ > 0 else "stuck"


def advantage_mass(g: RolloutGroup) -> float:
    adv = g.meta.get("advantages")
    if adv is None:  # a ledger written without TRL's advantages: plain reward deviations
        mean = sum(g.rewards) / len(g.rewards) if g.rewards else 0.0
        adv = [r - mean for r in g.rewards]
    return float(sum(abs(a) for a in adv))


def task_values(tasks: Sequence[Task], groups: Sequence[RolloutGroup], influence_on: bool
                ) -> tuple[list[Value], dict[str, dict[str, Any]]]:
    """One Value per training task, plus each task's trajectory details (for weaknesses.parquet)."""
    by_task: dict[str, list[RolloutGroup]] = defaultdict(list)
    for g in groups:
        if g.phase == "train":
            by_task[g.task_id].append(g)
    values, details = [], {}
    for t in tasks:
        gs = sorted(by_task.get(t.task_id, []), key=lambda g: g.step)
        points = [(g.step, r) for g in gs if (r := g.pass_rate) is not None]
        steps, rates = [p[0] for p in points], [p[1] for p in points]
        s = slope(steps, rates)
        label = trajectory(rates, s)
        weak = len(rates) >= 2 and max(rates) < THRESHOLD and s < 0
        group_infl = [float(g.meta.get("influence", 0.0)) for g in gs]
        infl = sum(group_infl) if influence_on else None
        by_probe = sum_vectors(g.meta.get("influence_by_probe") for g in gs) if influence_on else None
        values.append(Value(
            level="task", key=t.task_id, n_tasks=1, n_groups=len(gs), n_mixed_groups=sum(g.mixed for g in gs),
            advantage_mass=round(sum(advantage_mass(g) for g in gs), 6),
            pass_rate_first=rates[0] if rates else None, pass_rate_last=rates[-1] if rates else None,
            trajectory=label, weakness=weak, influence=infl,
            meta={"max_pass_rate": max(rates) if rates else None, "slope": round(s, 8), "kind": t.kind},
        ))
        if influence_on:
            values[-1].meta["influence_sq"] = sum(x * x for x in group_infl)
        _attach_uncertainty(values[-1], by_probe)
        details[t.task_id] = {"steps": steps, "pass_rates": [round(r, 6) for r in rates], "slope": s,
                              "max": max(rates) if rates else None, "trajectory": label}
    return values, details


def aggregate(task_values_: Sequence[Value], keys: dict[str, Keys], level: str) -> list[Value]:
    """Values of `level` ("generator", "doc", "source" or "kind") from the task values."""
    members: dict[str, list[Value]] = defaultdict(list)
    for v in task_values_:
        key = getattr(keys[v.key], level)
        if level == "doc" and not key:
            continue  # procedural tasks come from no document
        members[key].append(v)
    out = []
    for key, vs in members.items():
        seen = [v for v in vs if v.n_groups > 0]
        weak = sum(v.weakness for v in vs)
        infl = [v.influence for v in vs if v.influence is not None]
        firsts = [v.pass_rate_first for v in seen if v.pass_rate_first is not None]
        lasts = [v.pass_rate_last for v in seen if v.pass_rate_last is not None]
        counts = Counter(v.trajectory for v in vs)
        seen_counts = Counter(v.trajectory for v in seen)  # the typical trajectory of the tasks that trained
        total_infl = sum(infl) if infl else None
        by_probe = sum_vectors(v.meta.get("influence_by_probe") for v in vs)
        out.append(Value(
            level=level, key=key, n_tasks=len(vs), n_groups=sum(v.n_groups for v in vs),
            n_mixed_groups=sum(v.n_mixed_groups for v in vs),
            advantage_mass=round(sum(v.advantage_mass for v in vs), 6),
            pass_rate_first=sum(firsts) / len(firsts) if firsts else None,
            pass_rate_last=sum(lasts) / len(lasts) if lasts else None,
            trajectory=seen_counts.most_common(1)[0][0] if seen else "unseen",
            weakness=weak > 0, influence=total_infl,
            meta={"seen_tasks": len(seen), "weak_tasks": weak,
                  "failure_ratio": round(weak / len(seen), 6) if seen else 0.0,
                  "trajectories": dict(sorted(counts.items())),
                  "influence_per_task": (total_infl / len(vs)) if total_infl is not None else None},
        ))
        if total_infl is not None:
            out[-1].meta["influence_sq"] = sum(float(v.meta.get("influence_sq") or 0.0) for v in vs)
        _attach_uncertainty(out[-1], by_probe)
    _attach_replacement(out, task_values_)
    return rank(out)


def group_bootstrap_var(total: float, sq: float, n: int) -> float:
    """Variance of a sum of n group influences when the groups are resampled with replacement:
    n x their population variance = sum(x^2) - sum(x)^2 / n, exactly (no Monte Carlo)."""
    return max(0.0, sq - total * total / n) if n > 0 else 0.0


def influence_uncertainty(total: float, n_groups: int, sq: float | None, units: list[float] | None
                          ) -> tuple[float | None, float | None, float | None]:
    """(se, se over probe units, se over groups) of a key's summed influence: the bootstrap over
    probe units (`units`, its per-unit contributions) and over its `n_groups` groups (`sq`, the sum
    of their squared influences), independent resamplings, so their variances add. None where a
    part cannot be computed (fewer than two probe units, no squares recorded); the se is then the
    other part alone, or None when neither exists."""
    from rlvr.train.influence import bootstrap_se

    probe = bootstrap_se(units) if units else None
    groups = math.sqrt(group_bootstrap_var(total, sq, n_groups)) if sq is not None and n_groups > 0 else None
    parts = [x for x in (probe, groups) if x is not None]
    return (math.sqrt(sum(x * x for x in parts)) if parts else None), probe, groups


def vs_replacement(influence: float, n_groups: int, units: list[float] | None, total: float, n_total: int,
                   total_units: list[float] | None, sq: float | None = None, total_sq: float | None = None
                   ) -> tuple[float | None, float | None]:
    """(influence vs replacement, its bootstrap se): a key's influence minus that of as many groups
    drawn like the rest of the run, infl_key - n_key * (infl_rest / n_rest): what dropping the key is
    predicted to do when its steps go to the other data (a run of fixed length), where `influence`
    alone predicts dropping its gradient. A source with no gradient (all-equal groups) is then worth
    minus the slots it took from the rest. The se applies the same arithmetic per probe unit and,
    given the sums of squared group influences (`sq` the key's, `total_sq` the run's), adds the
    bootstrap over the key's groups and over the rest's (scaled by the share)."""
    n_rest = n_total - n_groups
    if n_rest <= 0:
        return None, None
    share = n_groups / n_rest
    value = influence - share * (total - influence)
    var = None
    if units and total_units and len(units) == len(total_units):
        from rlvr.train.influence import bootstrap_se

        probe = bootstrap_se([a - share * (t - a) for a, t in zip(units, total_units)])
        var = probe * probe if probe is not None else None
    if sq is not None and total_sq is not None:
        groups = (group_bootstrap_var(influence, sq, n_groups)
                  + share * share * group_bootstrap_var(total - influence, total_sq - sq, n_rest))
        var = groups if var is None else var + groups
    return value, (math.sqrt(var) if var is not None else None)


def _attach_replacement(values: list[Value], task_values_: Sequence[Value]) -> None:
    """meta["influence_vs_replacement"] and its "_se" on each aggregate (see `vs_replacement`)."""
    infl = [v.influence for v in task_values_ if v.influence is not None]
    if not infl:
        return
    total, n_total = sum(infl), sum(v.n_groups for v in task_values_)
    total_units = sum_vectors(v.meta.get("influence_by_probe") for v in task_values_)
    squares = [v.meta.get("influence_sq") for v in task_values_ if v.influence is not None]
    total_sq = sum(squares) if squares and None not in squares else None
    for v in values:
        if v.influence is None:
            continue
        value, se = vs_replacement(v.influence, v.n_groups, v.meta.get("influence_by_probe"), total, n_total,
                                   total_units, v.meta.get("influence_sq"), total_sq)
        if value is not None:
            v.meta["influence_vs_replacement"] = value
        if se is not None:
            v.meta["influence_vs_replacement_se"] = se


def sum_vectors(vectors) -> list[float] | None:
    """Elementwise sum of the per-probe influence vectors that are present (None when none is)."""
    total: list[float] | None = None
    for vec in vectors:
        if not vec:
            continue
        if total is None:
            total = [float(x) for x in vec]
        elif len(vec) == len(total):
            total = [a + float(b) for a, b in zip(total, vec)]
        else:
            raise ValueError(f"influence_by_probe vectors of different lengths ({len(total)} and {len(vec)}): "
                             "the probe set changed within a run")
    return total


def across_runs(runs: Sequence[Sequence[Value]], level: str = "source") -> list[Value]:
    """Pool the `level` rows of several runs' values (each a run's value.parquet: the same data with
    other seeds, or other draws of a pool) into one row per key. A run's own se cannot see how much
    another seed would have moved the value; the spread over runs does. `influence` (and
    meta["influence_vs_replacement"]) is the mean over the runs that hold the key, `influence_se`
    the standard deviation over them / sqrt(runs) (None with one run); counts are summed, first and
    last pass rates averaged; meta["runs"] counts the runs, meta["influence_by_run"] lists them."""
    by_key: dict[str, list[Value]] = defaultdict(list)
    for run in runs:
        for v in run:
            if v.level == level:
                by_key[v.key].append(v)

    def mean_se(xs: list[float]) -> tuple[float | None, float | None]:
        if not xs:
            return None, None
        m = sum(xs) / len(xs)
        if len(xs) < 2:
            return m, None
        return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs))

    def avg(xs: list[float | None]) -> float | None:
        xs = [x for x in xs if x is not None]
        return sum(xs) / len(xs) if xs else None

    out = []
    for key, vs in by_key.items():
        infl, se = mean_se([v.influence for v in vs if v.influence is not None])
        repl, repl_se = mean_se([float(v.meta["influence_vs_replacement"]) for v in vs
                                 if v.meta.get("influence_vs_replacement") is not None])
        row = Value(level=level, key=key, n_tasks=max(v.n_tasks for v in vs), n_groups=sum(v.n_groups for v in vs),
                    n_mixed_groups=sum(v.n_mixed_groups for v in vs),
                    advantage_mass=round(sum(v.advantage_mass for v in vs), 6),
                    pass_rate_first=avg([v.pass_rate_first for v in vs]),
                    pass_rate_last=avg([v.pass_rate_last for v in vs]),
                    trajectory=Counter(v.trajectory for v in vs).most_common(1)[0][0],
                    weakness=any(v.weakness for v in vs), influence=infl, influence_se=se,
                    meta={"runs": len(vs), "influence_by_run": [v.influence for v in vs]})
        if repl is not None:
            row.meta["influence_vs_replacement"] = repl
            row.meta["influence_vs_replacement_se"] = repl_se
        if infl is not None and se:
            row.meta["influence_sure"] = abs(infl) > 2 * se
        out.append(row)
    return rank(out)


def pool_runs(runs: Sequence[Sequence[Value]]) -> list[Value]:
    """Every level of several runs' values pooled with `across_runs`: task rows first, then each
    aggregate level in the order the runs hold them."""
    levels = list(dict.fromkeys(v.level for run in runs for v in run))
    levels.sort(key=lambda lv: lv != "task")
    return [row for level in levels for row in across_runs(runs, level)]


def value_file(path: str | Path) -> Path:
    """The value.parquet of `path`: the file itself, a train stage's folder holding one, or a run
    folder (manifest.json), whose last train stage's value.parquet is taken."""
    from rlvr.rundir import RunDir

    path = Path(path)
    if path.is_file():
        return path
    if (path / "value.parquet").is_file():
        return path / "value.parquet"
    if (path / "manifest.json").is_file():
        run = RunDir(path)
        found = [path / name / "value.parquet" for name in run.stage_names()
                 if (rec := run.record(name)) is not None and rec.kind == "train"
                 and (path / name / "value.parquet").is_file()]
        if found:
            return found[-1]
        raise FileNotFoundError(f"{path}: a run folder whose manifest.json lists no train stage with a "
                                "value.parquet (run `rlvr train --out` it first)")
    what = "does not exist" if not path.exists() else "is neither a value.parquet, a train stage's folder nor a run folder"
    raise FileNotFoundError(f"{path}: {what}")


def _attach_uncertainty(value: Value, by_probe: list[float] | None) -> None:
    """`influence_se` and its parts (see `influence_uncertainty`) on a value row."""
    if value.influence is None:
        return
    if by_probe is not None:
        value.meta["influence_by_probe"] = [round(x, 12) for x in by_probe]
    se, probe, groups = influence_uncertainty(value.influence, value.n_groups, value.meta.get("influence_sq"),
                                              by_probe)
    value.influence_se = se
    value.meta["influence_se_probe"] = probe
    value.meta["influence_se_groups"] = groups
    if se:
        value.meta["influence_sure"] = abs(value.influence) > 2 * se


def rank(values: list[Value]) -> list[Value]:
    """Order by value (see module docstring) and write the 1-based rank into meta."""
    def key(v: Value) -> tuple:
        primary = v.influence if v.influence is not None else v.advantage_mass
        return (-primary, -v.advantage_mass, v.key)

    ordered = sorted(values, key=key)
    for i, v in enumerate(ordered, 1):
        v.meta["rank"] = i
    return ordered


def compute_values(tasks: Sequence[Task], groups: Sequence[RolloutGroup], keys: dict[str, Keys],
                   influence_on: bool) -> tuple[list[Value], list[Task]]:
    """(value rows for every level, weakness tasks). Task rows come first, ranked, then each level."""
    per_task, details = task_values(tasks, groups, influence_on)
    values = rank(per_task)
    for level in LEVELS:
        values += aggregate(per_task, keys, level)
    weak_ids = {v.key for v in per_task if v.weakness}
    weaknesses = []
    for t in tasks:
        if t.task_id in weak_ids:
            d = details[t.task_id]
            rollouts = sum(g.k for g in groups if g.phase == "train" and g.task_id == t.task_id)
            diff = Difficulty(t.difficulty.nominal, d["pass_rates"][-1], rollouts)
            weaknesses.append(dataclasses.replace(t, difficulty=diff, meta={**t.meta, "train": {
                "steps": d["steps"], "pass_rates": d["pass_rates"], "max_pass_rate": d["max"],
                "slope": round(d["slope"], 8), "rule": "sws: max < 0.5 and slope < 0"}}))
    return values, weaknesses


def top(values: Sequence[Value], level: str, n: int, helpful: bool = True) -> list[Value]:
    """The n most helpful (or most harmful) values of a level, by influence (advantage mass without it),
    among those trained on (at least one group)."""
    rows = [v for v in values if v.level == level and v.n_groups > 0  # never trained on: no value to rank
            and (v.influence is not None or v.advantage_mass > 0)]
    rows = [v for v in rows if v.influence is None or math.isfinite(v.influence)]
    ordered = rank([dataclasses.replace(v, meta=dict(v.meta)) for v in rows])
    return ordered[:n] if helpful else list(reversed(ordered))[:n]


# ----------------------------------------------------------------------------- verdicts

Z_SURE = 2.0  # |estimate| / standard error at which a verdict counts as more than noise
FEW_ROLLOUTS = 16  # below this, "too hard" / "too easy" rests on weak evidence and says so


@dataclasses.dataclass
class Verdict:
    """What one source (or kind) did for training, with how sure that is and what to do about it.

    `influence` is the sum of its groups' TracIn influence and `influence_se` the standard error of
    that sum, as `Value.influence_se`: the bootstrap over probe units (when the ledger holds per-probe
    contributions) and over its groups, added in quadrature; `z` = influence / se says
    how far the total is from zero in units of its noise. `probe_delta` is the change of its probe pass rate
    from the first to the last evaluation, with `probe_se` the binomial standard error of the change.
    """

    key: str
    tasks_trained: int
    tasks_total: int
    groups: int
    mixed_groups: int
    pass_rate: float | None  # mean reward over its training rollouts
    influence: float | None
    influence_se: float | None
    probe_first: float | None
    probe_last: float | None
    probe_n: int
    probe_se: float | None
    verdict: str  # helped | hurt | unclear | too hard | too easy | no signal | not trained
    certainty: str
    advice: str
    replacement: float | None = None  # influence minus as many groups like the others' (vs_replacement)
    replacement_se: float | None = None

    @property
    def z(self) -> float | None:
        if self.influence is None or not self.influence_se:
            return None
        return self.influence / self.influence_se

    @property
    def probe_delta(self) -> float | None:
        if self.probe_first is None or self.probe_last is None:
            return None
        return self.probe_last - self.probe_first


def binomial_se(p: float, n: int) -> float:
    """Standard error of a pass rate over n rollouts, with the Agresti-Coull +2/+4 adjustment so that
    0/n and n/n do not claim zero uncertainty."""
    if n <= 0:
        return float("nan")
    adj = (p * n + 2) / (n + 4)
    return math.sqrt(adj * (1 - adj) / (n + 4))


def _certainty(z: float) -> str:
    a = abs(z)
    if a >= 3:
        return f"confident (|z| = {a:.1f})"
    if a >= Z_SURE:
        return f"likely (|z| = {a:.1f})"
    return f"within noise (|z| = {a:.1f})"


def verdicts(groups: Sequence[RolloutGroup], keys: dict[str, Keys], by: str, influence_on: bool,
             available: dict[str, int] | None = None, train_ids: set[str] | None = None) -> list[Verdict]:
    """One Verdict per value of `by` ("source" or "kind") among the training tasks (`train_ids`, default
    every task in `keys`; probe tasks' groups feed the probe columns) and `available`, the training
    tasks each had before any were left out. Rules, in order: no training group -> not trained;
    no mixed group -> too hard (mean reward < 0.05), too easy (> 0.95) or no signal; with influence,
    helped / hurt when |z| >= Z_SURE, else unclear; without it the probe change decides the same way."""
    train: dict[str, list[RolloutGroup]] = defaultdict(list)
    probe: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    tasks_of: dict[str, set[str]] = defaultdict(set)
    for tid, k in keys.items():
        if train_ids is None or tid in train_ids:
            tasks_of[getattr(k, by)].add(tid)
    for g in groups:
        if g.task_id not in keys:
            continue
        key = getattr(keys[g.task_id], by)
        if g.phase == "train":
            train[key].append(g)
        elif g.phase == "probe":
            probe[key][g.step].extend(g.rewards)
    out = []
    for key in sorted(set(tasks_of) | set(available or {})):
        gs = train.get(key, [])
        rewards = [r for g in gs for r in g.rewards]
        rate = sum(rewards) / len(rewards) if rewards else None
        mixed = sum(g.mixed for g in gs)
        infl_values = [float(g.meta.get("influence", 0.0)) for g in gs]
        infl = sum(infl_values) if influence_on and gs else None
        infl_se = None
        if influence_on and gs:  # over probe units and over its groups, as value.parquet's influence_se
            infl_se = influence_uncertainty(infl, len(gs), sum(x * x for x in infl_values),
                                            sum_vectors(g.meta.get("influence_by_probe") for g in gs))[0]
        steps = sorted(probe.get(key, {}))
        pf = pl = pse = None
        pn = 0
        if steps:
            first, last = probe[key][steps[0]], probe[key][steps[-1]]
            pf, pl, pn = sum(first) / len(first), sum(last) / len(last), len(last)
            if len(steps) > 1:
                pse = math.sqrt(binomial_se(pf, len(first)) ** 2 + binomial_se(pl, len(last)) ** 2)
        trained_tasks = len({g.task_id for g in gs})
        total = (available or {}).get(key, len(tasks_of.get(key, ())))
        eligible = len(tasks_of.get(key, ()))
        verdict, certainty, advice = _decide(key, gs, rate, mixed, infl, infl_se, pf, pl, pse, total, trained_tasks,
                                             eligible)
        out.append(Verdict(key, trained_tasks, total, len(gs), mixed, rate, infl, infl_se, pf, pl, pn, pse,
                           verdict, certainty, advice))
    if influence_on:
        _verdict_replacement(out, train)
    order = {"helped": 0, "hurt": 1, "unclear": 2, "too hard": 3, "too easy": 4, "no signal": 5, "not trained": 6}
    return sorted(out, key=lambda v: (order[v.verdict], -(v.z or 0.0), v.key))


def _verdict_replacement(out: list[Verdict], train: dict[str, list[RolloutGroup]]) -> None:
    """Each verdict's influence vs replacement against the other keys' groups (`vs_replacement`)."""
    def sq(gs: Sequence[RolloutGroup]) -> float:
        return sum(float(g.meta.get("influence", 0.0)) ** 2 for g in gs)

    all_groups = [g for gs in train.values() for g in gs]
    total = sum(float(g.meta.get("influence", 0.0)) for g in all_groups)
    units = sum_vectors(g.meta.get("influence_by_probe") for g in all_groups)
    for v in out:
        if v.influence is not None:
            mine = train.get(v.key, [])
            own = sum_vectors(g.meta.get("influence_by_probe") for g in mine)
            v.replacement, v.replacement_se = vs_replacement(v.influence, v.groups, own, total, len(all_groups), units,
                                                             sq(mine), sq(all_groups))


def _decide(key: str, gs: list[RolloutGroup], rate: float | None, mixed: int, infl: float | None,
            infl_se: float | None, pf: float | None, pl: float | None, pse: float | None, total: int,
            trained: int, eligible: int | None = None) -> tuple[str, str, str]:
    if not gs:
        if eligible:  # its tasks fit; none was drawn in this run's steps
            return ("not trained", f"none of its {total} task(s) reached a training step ({eligible} could have: "
                                   "none was drawn)",
                    f"{key} was never drawn: train longer, or weight it up in selection")
        return ("not trained", f"none of its {total} task(s) reached a training step",
                f"make {key} reach training: shorten its prompts, raise max_prompt_tokens, or train longer")
    if mixed == 0:
        n = sum(g.k for g in gs)
        weak = n < FEW_ROLLOUTS
        note = f"; weak evidence (fewer than {FEW_ROLLOUTS} rollouts)" if weak else ""
        if rate is not None and rate < 0.05:
            return ("too hard", f"{n} rollouts, mean reward {rate:.2f}: every group all-fail{note}",
                    f"{key}: no reward in {n} rollouts, too few to call it too hard: train longer before judging"
                    if weak else f"{key} is too hard for this policy: lower its difficulty or use a stronger model")
        if rate is not None and rate > 0.95:
            return ("too easy", f"{n} rollouts, mean reward {rate:.2f}: every group all-pass{note}",
                    f"{key}: full reward in {n} rollouts, too few to call it solved: train longer before judging"
                    if weak else f"{key} is already solved: raise its difficulty or drop it")
        return ("no signal", f"{len(gs)} group(s), none with mixed rewards",
                f"{key}: no learning signal yet; more rollouts per task (num_generations) would show one")
    if infl is not None and infl_se:
        z = infl / infl_se
    elif pf is not None and pl is not None and pse:
        z = (pl - pf) / pse
    else:
        return ("unclear", f"{mixed} mixed group(s) but nothing to measure the effect with",
                f"{key}: turn influence on or add probe tasks to see its effect")
    if z >= Z_SURE:
        return "helped", _certainty(z), f"more of {key}"
    if z <= -Z_SURE:
        return "hurt", _certainty(z), f"drop {key}, or check its verifier and answers"
    return ("unclear", _certainty(z),
            f"{key}: effect not separable from noise after {len(gs)} groups; train longer or probe more")
