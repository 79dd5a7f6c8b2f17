"""Facts for a dataset card, read from a run directory's records and nothing else.

Every number a card prints comes from here: the published tasks, the manifest (stage settings
and counts), curate's decisions, the estimate and train stages' rollouts, and train's value
report. Keeping the gathering separate from the rendering lets tests compare each number in
the card with the records it came from.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.records import Decision, Difficulty, Document, RolloutGroup, Task, Value
from rlvr.rundir import RunDir, StageRecord

log = logging.getLogger(__name__)

# Licence families that oblige derived data to keep attribution and the same licence.
SHARE_ALIKE = ("cc-by-sa", "gfdl", "odbl", "cdla-sharing")


@dataclass
class GeneratorFacts:
    generator: str
    version: str
    kinds: list[str]
    config_fingerprints: list[str]
    seeds: list[int]
    n_tasks: int


@dataclass
class SourceFacts:
    source: str
    license: str
    attribution: str
    n_docs: int
    n_tasks: int


@dataclass
class CurationRow:
    step: str
    n_in: int
    n_kept: int
    dropped: dict[str, int]


@dataclass
class DecontamFacts:
    settings: dict[str, Any]
    checked: int
    flagged: dict[str, int]  # benchmark -> tasks flagged


@dataclass
class ProbePoint:
    step: int
    group: str  # kind or source
    pass_rate: float
    n: int


@dataclass
class CardFacts:
    run_dir: Path
    tasks: list[Task]
    splits: dict[str, list[Task]]
    kinds: dict[str, int]
    verifiers: dict[str, str]  # kind -> verifier name
    generators: list[GeneratorFacts]
    sources: list[SourceFacts]
    curation: list[CurationRow]
    decontam: DecontamFacts | None
    quarantined: int
    stages: list[StageRecord]
    values: list[Value] = field(default_factory=list)
    probe: list[ProbePoint] = field(default_factory=list)
    train_settings: dict[str, Any] = field(default_factory=dict)
    estimate_settings: dict[str, Any] = field(default_factory=dict)
    pass_rate_origin: str = ""  # "train" (observed in the training ledger), "estimate", "train+estimate", ""
    rollouts: dict[str, int] = field(default_factory=dict)  # the train ledger's rollouts per phase (train, probe)
    value_runs: int = 1  # training runs `values` is pooled over (rlvr.train.value.across_runs)

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)


def _stages(run: RunDir) -> list[StageRecord]:
    return [run.record(name) for name in run.stage_names()]  # type: ignore[misc]


def final_task_table(run: RunDir, exclude: tuple[str, ...] = ()) -> Path:
    """The last task table a stage wrote: what the run hands on for publishing."""
    for rec in reversed(_stages(run)):
        if rec.tasks and rec.kind not in exclude:
            return run.path / rec.tasks
    raise ValueError(f"{run.path}: no stage in manifest.json produced a task table; run synth (and curate) first")


def _stage_files(run: RunDir, kind_prefix: str, filename: str) -> list[tuple[StageRecord, Path]]:
    out = []
    for rec in _stages(run):
        if rec.kind == kind_prefix or rec.kind.startswith(kind_prefix + "."):
            path = run.path / rec.name / filename
            if path.exists():
                out.append((rec, path))
    return out


def _documents(run: RunDir) -> dict[str, Document]:
    docs: dict[str, Document] = {}
    for rec in _stages(run):
        path = run.path / rec.name / "documents.parquet"
        if path.exists():
            for d in Document.read_parquet(path):
                docs.setdefault(d.doc_id, d)
    return docs


def gather_generators(tasks: list[Task]) -> list[GeneratorFacts]:
    groups: dict[tuple[str, str], list[Task]] = defaultdict(list)
    for t in tasks:
        groups[(t.provenance.generator, t.provenance.version)].append(t)
    return [
        GeneratorFacts(
            generator=gen, version=ver, kinds=sorted({t.kind for t in ts}),
            config_fingerprints=sorted({t.provenance.config_fingerprint for t in ts if t.provenance.config_fingerprint}),
            seeds=sorted({t.provenance.seed for t in ts if t.provenance.seed is not None}),
            n_tasks=len(ts),
        )
        for (gen, ver), ts in sorted(groups.items())
    ]


def gather_sources(tasks: list[Task], docs: dict[str, Document], attributions: dict[str, str]) -> list[SourceFacts]:
    """Source corpora of text-derived tasks, with licences from the documents or the task meta."""
    per_source: dict[str, dict[str, Any]] = {}
    for t in tasks:
        doc_id = t.provenance.doc_id
        if not doc_id:
            continue
        doc = docs.get(doc_id)
        source = (doc.source if doc else None) or t.meta.get("source") or "unknown source"
        license_ = (doc.license if doc else None) or t.meta.get("license") or ""
        entry = per_source.setdefault(source, {"license": Counter(), "docs": set(), "tasks": 0, "attr": ""})
        entry["license"][license_] += 1
        entry["docs"].add(doc_id)
        entry["tasks"] += 1
        entry["attr"] = entry["attr"] or (doc.meta.get("attribution", "") if doc else "") or t.meta.get("attribution", "")
    out = []
    for source, e in sorted(per_source.items()):
        license_ = ", ".join(sorted(lic or "unknown" for lic in e["license"]))
        attribution = attributions.get(source) or e["attr"] or f"Derived from {source} ({license_})."
        out.append(SourceFacts(source, license_, attribution, len(e["docs"]), e["tasks"]))
    return out


def gather_curation(run: RunDir) -> tuple[list[CurationRow], DecontamFacts | None]:
    rows: list[CurationRow] = []
    decontam: DecontamFacts | None = None
    for rec, path in _stage_files(run, "curate", "decisions.parquet"):
        decisions = Decision.read_parquet(path)
        by_step: dict[str, list[Decision]] = defaultdict(list)
        for d in decisions:
            by_step[d.stage].append(d)
        steps = list(by_step.items())
        for i, (step, ds) in enumerate(steps):
            dropped = Counter(d.reason for d in ds if not d.keep)
            n_in, n_kept = len(ds), sum(d.keep for d in ds)
            if step == "input":
                # The runner records only the rows it drops at input (second copies of a task);
                # everything else goes on to the next step, whose decisions cover every row.
                n_kept = len(steps[i + 1][1]) if i + 1 < len(steps) else int(rec.counts.get("kept", 0))
                n_in = n_kept + sum(dropped.values())
            rows.append(CurationRow(step, n_in, n_kept, dict(sorted(dropped.items()))))
            if "decontam" in step:
                flagged = Counter((d.evidence.source or "unknown") for d in ds if not d.keep)
                settings = {k: v for k, v in rec.config.items()
                            if any(s in k for s in ("bench", "ngram", "n_gram", "threshold", "decontam", "embed", "cosine"))}
                decontam = DecontamFacts(settings, len(ds), dict(sorted(flagged.items())))
    return rows, decontam


def gather_probe(run: RunDir) -> tuple[list[ProbePoint], dict[str, Any]]:
    points: list[ProbePoint] = []
    settings: dict[str, Any] = {}
    for rec, path in _stage_files(run, "train", "rollouts.parquet"):
        settings = rec.config
        groups = [g for g in RolloutGroup.read_parquet(path) if g.phase == "probe"]
        acc: dict[tuple[int, str], list[float]] = defaultdict(list)
        for g in groups:
            key = g.meta.get("kind") or g.meta.get("source") or "all"
            acc[(g.step, key)].extend(g.rewards)
        points += [ProbePoint(step, key, sum(r) / len(r), len(r)) for (step, key), r in sorted(acc.items())]
    return points, settings


def tasks_only(tasks_path: str | Path, attributions: dict[str, str] | None = None) -> CardFacts:
    """Facts for a task table published without a run folder (e.g. from `rlvr synth` or `rlvr curate`):
    the tasks, their generators and sources; no curation, training or probe records."""
    path = Path(tasks_path)
    if not path.is_file():
        raise FileNotFoundError(f"--tasks {path}: no such file")
    tasks = Task.read_parquet(path)
    if not tasks:
        raise ValueError(f"{path}: no tasks to publish")
    _refuse_duplicates(tasks, path)
    return CardFacts(
        run_dir=path.parent, tasks=tasks, splits={"train": tasks},
        kinds=dict(sorted(Counter(t.kind for t in tasks).items())),
        verifiers={t.kind: t.verifier.name for t in tasks}, generators=gather_generators(tasks),
        sources=gather_sources(tasks, {}, attributions or {}), curation=[], decontam=None, quarantined=0, stages=[],
        pass_rate_origin="estimate" if any(t.difficulty.pass_rate is not None for t in tasks) else "",
    )


def open_run(run_dir: str | Path) -> RunDir:
    """An existing run folder; an error (and nothing created) when `run_dir` is not one."""
    path = Path(run_dir)
    if not (path / "manifest.json").is_file():
        what = "does not exist" if not path.exists() else "has no manifest.json"
        raise FileNotFoundError(f"--run {path}: {what}, so it is not a run folder (`rlvr run` or a stage command "
                                "makes one); to publish a task table on its own, give --tasks TABLE instead")
    return RunDir(path)


def collect(run_dir: str | Path | None, tasks_path: str | Path | None = None,
            attributions: dict[str, str] | None = None, value_runs: Sequence[str | Path] = ()) -> CardFacts:
    """The facts a card states. `value_runs`: other training runs of the same data (run folders,
    train stage folders or value.parquet files) whose value is pooled with this run's, mean +- the
    spread over runs (`rlvr.train.value.across_runs`)."""
    if run_dir is None:
        if value_runs:
            raise ValueError("--value-runs pools training value with a run's own: give --run RUN_DIR too")
        if tasks_path is None:
            raise ValueError("give a run folder (--run) or a task table (--tasks) to publish")
        return tasks_only(tasks_path, attributions)
    run = open_run(run_dir)
    tasks_path = Path(tasks_path) if tasks_path else final_task_table(run, exclude=("card",))
    tasks = Task.read_parquet(tasks_path)
    if not tasks:
        raise ValueError(f"{tasks_path}: no tasks to publish")
    _refuse_duplicates(tasks, tasks_path)
    values: list[Value] = []
    own: Path | None = None
    for _, own in _stage_files(run, "train", "value.parquet"):
        values = Value.read_parquet(own)
    if value_runs:
        from rlvr.train.value import pool_runs, value_file

        if own is None or not values:
            raise ValueError(f"--value-runs: {run.path} has no train stage with a value.parquet to pool them with")
        others = [value_file(p) for p in value_runs]
        if len({p.resolve() for p in [own, *others]}) < 1 + len(others):
            raise ValueError("--value-runs: the same run's value was given twice: " + ", ".join(map(str, [own, *others])))
        values = pool_runs([values, *(Value.read_parquet(p) for p in others)])
    # The probe set a train stage held out is published as the `test` split; the train stage's
    # own task table leaves it out, so add it back.
    probe_ids: set[str] = set()
    for _, path in _stage_files(run, "train", "probe_tasks.parquet"):
        probe = Task.read_parquet(path)
        probe_ids = {t.task_id for t in probe}
        known = {t.task_id for t in tasks}
        tasks = tasks + [t for t in probe if t.task_id not in known]
    # What a train stage observed is the freshest pass rate for the tasks it rolled out: the mean
    # reward over every recorded rollout (training and probe), with the rollouts as evidence.
    # (Not the selector's posterior mean: that is shrunk toward a prior and never reaches 0 or 1.)
    observed = observed_pass_rates(run)
    pass_rate_origin = "estimate" if any(t.difficulty.pass_rate is not None for t in tasks) else ""
    if observed:
        estimated_too = any(t.difficulty.pass_rate is not None and t.task_id not in observed for t in tasks)
        tasks = [dataclasses.replace(t, difficulty=Difficulty(t.difficulty.nominal, *observed[t.task_id]))
                 if t.task_id in observed else t for t in tasks]
        pass_rate_origin = "train+estimate" if estimated_too else "train"
    splits = {"train": [t for t in tasks if t.task_id not in probe_ids]}
    if probe_ids:
        splits["test"] = [t for t in tasks if t.task_id in probe_ids]
    curation, decontam = gather_curation(run)
    probe, train_settings = gather_probe(run)
    estimate = [r for r in _stages(run) if r.kind == "select.estimate"]
    quarantined = sum(int(r.counts.get("quarantined", 0) or 0) for r in _stages(run))
    rollouts: Counter[str] = Counter()
    for _, path in _stage_files(run, "train", "rollouts.parquet"):
        rollouts = Counter()
        for g in RolloutGroup.read_parquet(path):
            rollouts[g.phase] += g.k
    return CardFacts(
        run_dir=run.path, tasks=tasks, splits=splits,
        kinds=dict(sorted(Counter(t.kind for t in tasks).items())),
        verifiers={t.kind: t.verifier.name for t in tasks},
        generators=gather_generators(tasks),
        sources=gather_sources(tasks, _documents(run), attributions or {}),
        curation=curation, decontam=decontam, quarantined=quarantined, stages=_stages(run),
        values=values, probe=probe, train_settings=train_settings,
        estimate_settings=estimate[-1].config if estimate else {}, pass_rate_origin=pass_rate_origin,
        rollouts=dict(rollouts), value_runs=1 + len(value_runs),
    )


def _refuse_duplicates(tasks: list[Task], path: Path) -> None:
    """A published dataset lists each task once: a repeated task_id is refused, with its rows."""
    first: dict[str, int] = {}
    repeats: list[str] = []
    for row, t in enumerate(tasks, start=1):
        if t.task_id in first:
            repeats.append(f"{t.task_id} (rows {first[t.task_id]} and {row})")
        else:
            first[t.task_id] = row
    if repeats:
        raise ValueError(f"{path}: {len(repeats)} task_id(s) appear more than once, so they would be published twice: "
                         f"{', '.join(repeats[:5])}{' ...' if len(repeats) > 5 else ''}; drop the copies first "
                         f"(rlvr curate --steps exact does) or pass another table with --tasks")


def observed_pass_rates(run: RunDir) -> dict[str, tuple[float, int]]:
    """task_id -> (pass rate, scored rollouts) over the last train stage's ledger, both phases
    (RolloutGroup.pass_rate's rule: rollouts whose verifier crashed are left out)."""
    sums: dict[str, list[float]] = {}
    for _, path in _stage_files(run, "train", "rollouts.parquet"):
        sums = {}
        for g in RolloutGroup.read_parquet(path):
            acc = sums.setdefault(g.task_id, [0.0, 0])
            rewards = g.scored_rewards()
            acc[0] += float(sum(rewards))
            acc[1] += len(rewards)
    return {tid: (total / n, int(n)) for tid, (total, n) in sums.items() if n}


def licence_of_sources(sources: list[SourceFacts]) -> list[str]:
    """Distinct licences of the text the tasks quote (procedural tasks quote none)."""
    out = set()
    for s in sources:
        out.update(part.strip() for part in s.license.split(",") if part.strip())
    return sorted(out)


def requires_share_alike(licences: list[str]) -> bool:
    return any(lic.lower().startswith(SHARE_ALIKE) for lic in licences)
