"""Write a publishable dataset folder: Parquet shards, a validated README.md card, plots, licence.

`build_dataset(run_dir, out, ...)` gathers facts from the run (collect.py), writes the Parquet
shards (export.py), the PNG plots, the YAML header, and the card body rendered from the
packaged template by the pure function `render_card`. The header is validated locally
(hub_schema.py) before anything is written as final; an invalid header is an error.
"""

from __future__ import annotations

import logging
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlvr.datasets_cards.collect import CardFacts, collect, licence_of_sources, requires_share_alike
from rlvr.datasets_cards.hub_schema import LICENSES, size_category, validate_header
from rlvr.io.atomic import atomic_write_text
from rlvr.io.tasks import COLUMN_DOCS, PUBLISHED_SCHEMA, SplitFile, config_name, write_dataset
from rlvr.version import __version__

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).with_name("templates") / "card.md.j2"
DEFAULT_GENERATED_LICENSE = "apache-2.0"


class CardError(ValueError):
    """The card cannot be written as asked (e.g. a licence the sources do not allow)."""


@dataclass
class CardOptions:
    name: str = ""  # repo-style name, e.g. "me/my-rlvr-set"; used in the load_dataset snippet
    pretty_name: str = ""
    license: str = ""  # Hub licence id; default: derived from the sources
    language: tuple[str, ...] = ("en",)
    attributions: dict[str, str] | None = None  # source -> attribution line
    curator: str = ""  # who made and maintains the dataset (a person or team)
    contact: str = ""  # where to reach them: e-mail, URL or Hub discussion page
    value_runs: tuple[str | Path, ...] = ()  # more runs of the same data: value pooled over them (se over runs)


def hub_license_id(name: str) -> str:
    return name.strip().lower().replace(" ", "-").replace("_", "-")


def choose_license(user: str, source_licences: list[str]) -> tuple[dict[str, str], str, str]:
    """(header licence fields, licence text for the card, note) for the given sources."""
    ids = sorted({hub_license_id(s) for s in source_licences})
    share_alike = requires_share_alike(ids)
    if user:
        lic = hub_license_id(user)
        if lic not in LICENSES:
            raise CardError(f"--license {user!r} is not a Hub licence id (e.g. apache-2.0, cc-by-sa-4.0, other)")
        if share_alike and lic != "other" and ids != [lic]:
            raise CardError(
                f"the tasks quote text licensed {', '.join(ids)}, which requires derived data to be shared under "
                f"the same licence; use --license {ids[0] if len(ids) == 1 else 'other'}"
            )
        if lic != "other":
            return {"license": lic}, lic, ""
    if not ids:
        return ({"license": DEFAULT_GENERATED_LICENSE}, DEFAULT_GENERATED_LICENSE,
                "The tasks are generated procedurally by rlvr and reasoning-gym (both Apache-2.0).")
    if len(ids) == 1 and ids[0] in LICENSES and not user:
        note = "The tasks quote the source text, so they carry its licence; keep the attribution lines above." if share_alike else ""
        return {"license": ids[0]}, ids[0], note
    name = "mixed-" + "-".join(sorted({re.sub(r"-\d.*$", "", i) for i in ids}))
    fields = {"license": "other", "license_name": name, "license_link": "LICENSE.md"}
    return fields, f"other ({', '.join(ids)}; see LICENSE.md)", (
        "Different parts quote text under different licences; LICENSE.md lists which tasks carry which.")


def build_header(facts: CardFacts, files: list[SplitFile], opts: CardOptions, license_fields: dict[str, str]) -> dict:
    """The card's YAML header, built as huggingface_hub's DatasetCardData (the Hub's own model of it);
    hub_schema.validate_header then checks it offline against the Hub's allowed values and the files."""
    from datasets import Features
    from huggingface_hub import DatasetCardData

    features = Features.from_arrow_schema(PUBLISHED_SCHEMA)._to_yaml_list()
    configs: dict[str, list[SplitFile]] = {}
    for f in files:
        configs.setdefault(f.config, []).append(f)
    kinds = set(facts.kinds)
    task_categories = ["text-generation", "question-answering"]
    if any(k.startswith("mcqa") for k in kinds):
        task_categories.append("multiple-choice")
    tags = ["rlvr", "verifiable-rewards", "reasoning", "grpo", "synthetic"]
    families = sorted({k.split(".")[0] for k in kinds})
    tags += [f"rlvr-{f}" for f in families]
    card_data = DatasetCardData(
        **license_fields,
        language=list(opts.language),
        pretty_name=opts.pretty_name or "RLVR tasks",
        size_categories=[size_category(facts.n_tasks)],
        task_categories=task_categories,
        tags=tags,
        source_datasets=["original"],
        configs=_configs(configs),
        # Row counts and sizes for the `all` config only: the features are the same for every config
        # (PUBLISHED_SCHEMA), so repeating them per kind would make the header most of the card.
        dataset_info=[_dataset_info(name, fs, features) for name, fs in _info_configs(configs).items()],
    )
    return card_data.to_dict()


ALL = "all"


def _configs(configs: dict[str, list[SplitFile]]) -> list[dict[str, Any]]:
    """With several kinds: an `all` config (the default; every kind, every split, by glob) and one
    config per kind; with one kind, its single config."""
    per_kind = [{"config_name": name, "data_files": [{"split": f.split, "path": str(f.path)} for f in fs]}
                for name, fs in configs.items()]
    if len(configs) <= 1:
        return per_kind
    splits = sorted({f.split for fs in configs.values() for f in fs}, key=lambda s: (s != "train", s))
    every = {"config_name": ALL, "default": True,
             "data_files": [{"split": sp, "path": f"data/*/{sp}-*.parquet"} for sp in splits]}
    return [every, *per_kind]


def _info_configs(configs: dict[str, list[SplitFile]]) -> dict[str, list[SplitFile]]:
    if len(configs) <= 1:
        return configs
    merged: dict[str, SplitFile] = {}
    for fs in configs.values():
        for f in fs:
            m = merged.get(f.split)
            merged[f.split] = SplitFile(ALL, f.split, Path(f"data/*/{f.split}-*.parquet"),
                                        f.num_examples + (m.num_examples if m else 0),
                                        f.num_bytes + (m.num_bytes if m else 0))
    return {ALL: sorted(merged.values(), key=lambda f: (f.split != "train", f.split))}


def _dataset_info(name: str, fs: list[SplitFile], features: list) -> dict[str, Any]:
    return {"config_name": name, "features": features,
            "splits": [{"name": f.split, "num_bytes": f.num_bytes, "num_examples": f.num_examples} for f in fs],
            "dataset_size": sum(f.num_bytes for f in fs)}


def _pass_rate_summary(facts: CardFacts) -> dict[str, Any] | None:
    rated = [t for t in facts.tasks if t.difficulty.pass_rate is not None]
    if not rated:
        return None
    rates = [t.difficulty.pass_rate for t in rated]
    if facts.pass_rate_origin.startswith("train"):
        model, origin = str(facts.train_settings.get("model", "")), "observed while training"
        if facts.pass_rate_origin == "train+estimate":
            origin += " where the run rolled the task out, else estimated before it"
    else:
        backend = str(facts.estimate_settings.get("backend", ""))
        model, origin = backend.partition(":")[2] or backend, "estimated before training"
    rollouts = sum(t.difficulty.evidence for t in rated)
    breakdown = ""
    if facts.pass_rate_origin.startswith("train") and facts.rollouts:
        train, probe = facts.rollouts.get("train", 0), facts.rollouts.get("probe", 0)
        breakdown = (f"of which {train} are training rollouts (the figure the training report gives) and {probe} "
                     "probe rollouts on the held-out `test` tasks")
    return {
        "n": len(rated), "rollouts": rollouts, "origin": origin, "breakdown": breakdown,
        "mean": f"{statistics.fmean(rates):.3f}", "always": sum(r >= 1.0 for r in rates),
        "never": sum(r <= 0.0 for r in rates), "mixed": sum(0.0 < r < 1.0 for r in rates),
        "model": model, "unrated": len(facts.tasks) - len(rated),
    }


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _fmt_influence(x: float | None, se: float | None = None) -> str:
    """Influence: a predicted change in the probe pass rate, with its bootstrap standard error."""
    if x is None:
        return "n/a"
    text = "0" if x == 0 else f"{x:+.2e}"
    return text if se is None else f"{text} ± {se:.1e}"


def _value_rows(facts: CardFacts) -> list[dict[str, Any]]:
    rows = []
    for v in facts.values:
        if v.level == "task":
            continue
        rows.append({"level": v.level, "key": v.key, "n_tasks": v.n_tasks, "n_groups": v.n_groups,
                     "n_mixed_groups": v.n_mixed_groups, "first": _fmt(v.pass_rate_first),
                     "last": _fmt(v.pass_rate_last), "influence": _fmt_influence(v.influence, v.influence_se),
                     "replacement": _fmt_influence(v.meta.get("influence_vs_replacement"),
                                                   v.meta.get("influence_vs_replacement_se"))})
    return rows


def limitations(facts: CardFacts) -> list[str]:
    items = []
    if any(k.startswith("np.") for k in facts.kinds):
        items.append("NP task rewards are, by default, the answer's quality normalized between the best answer written "
                     "without reading the instance (0) and the reference solution (1); where the reference is a "
                     "heuristic (not proven optimal), a policy that beats it is clipped at reward 1.0 (the score "
                     "records beats_reference).")
    if any(k.startswith("mcqa") for k in facts.kinds):
        items.append("Multiple-choice distractors are chosen automatically; a few may be defensible answers in "
                     "context. Guards remove options identifiable by length or leaked elsewhere in the passage.")
    pr = _pass_rate_summary(facts)
    if pr:
        items.append(f"Pass rates come from {pr['rollouts']} rollouts in total"
                     f"{' by ' + pr['model'] if pr['model'] else ''} ({pr['origin']}"
                     f"{'; ' + pr['breakdown'] if pr['breakdown'] else ''}); they describe that model, "
                     f"not yours, and {pr['unrated']} of {len(facts.tasks)} tasks have none.")
    items.append("Coverage is what the generators make: procedural families at the difficulties chosen, and "
                 "text from the listed sources only. It is English only; text-derived tasks inherit the topics, "
                 "register and any biases of their sources (e.g. documentation of scientific Python packages), and "
                 "procedural tasks follow the generators' instance distributions, not real-world ones.")
    if facts.decontam is None:
        items.append("No benchmark decontamination was run.")
    else:
        items.append("Decontamination covers only the benchmarks listed above; paraphrases far from both the n-gram "
                     "and the embedding thresholds can still slip through.")
    if facts.values:
        runs = "one short run" if facts.value_runs == 1 else f"{facts.value_runs} short runs"
        items.append(f"Training value comes from {runs} of a small model; it ranks data for that model and "
                     "budget and is evidence, not a guarantee, for others.")
    return items


def render_card(context: dict[str, Any]) -> str:
    """The card body from the packaged template; a pure function of `context`."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False,
                             keep_trailing_newline=True, autoescape=False)
    return env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(**context)


def _train_scope(facts: CardFacts) -> str:
    """One sentence on which tasks the training run could see, from the train stage's counts."""
    trains = [r for r in facts.stages if r.kind == "train" and r.counts]
    if not trains:
        return ""
    c, cfg = trains[-1].counts, trains[-1].config
    parts = [f"{c.get('steps', '?')} steps over {c.get('train_tasks', '?')} training tasks",
             f"{c.get('probe_tasks', 0)} held out as the probe set (the `test` split)"]
    if c.get("too_long"):
        parts.append(f"{c['too_long']} tasks left out because their prompt is longer than "
                     f"max_prompt_tokens={cfg.get('max_prompt_tokens', '?')}")
    return "The run: " + "; ".join(parts) + ". Tasks it never rolled out have no value here."


def config_licences(facts: CardFacts, header: dict) -> list[dict[str, str]]:
    """Per config: the licence its tasks carry (quoted text's licence, else the generators' Apache-2.0)."""
    docs_licence = {s.source: s.license for s in facts.sources}
    by_kind: dict[str, set[str]] = {}
    for t in facts.tasks:
        lic = by_kind.setdefault(t.kind, set())
        if t.provenance.doc_id:
            source = t.meta.get("source")
            lic.add(docs_licence.get(source, "") or str(t.meta.get("license") or "") or "see Sources and licences")
        else:
            lic.add(f"{DEFAULT_GENERATED_LICENSE} (procedurally generated)")
    rows = []
    for cfg in header["configs"]:
        name = cfg["config_name"]
        kinds = [k for k in facts.kinds if config_name(k) == name] if name not in (ALL, "default") else list(facts.kinds)
        lics = sorted(set().union(*(by_kind.get(k, set()) for k in kinds))) if kinds else []
        splits = ", ".join(f"`{df['split']}`" for df in cfg["data_files"])
        rows.append({"config": name, "licence": "; ".join(lics), "splits": splits})
    return rows


def example_instance(facts: CardFacts) -> dict[str, str] | None:
    """The first training task (by kind, then id) as a reader sees it, the stored answer and its decoding."""
    import json

    from rlvr.hashing import canonical_json

    pool = sorted(facts.splits.get("train") or facts.tasks, key=lambda t: (t.kind, t.task_id))
    if not pool:
        return None
    t = pool[0]
    prompt = "\n\n".join(f"[{m.role}] {m.content}" for m in t.prompt)
    if len(prompt) > 1200:
        prompt = prompt[:1200] + " [...]"
    stored = canonical_json(t.answer)
    return {"kind": t.kind, "task_id": t.task_id, "prompt": prompt, "answer_stored": stored,
            "answer_decoded": repr(json.loads(stored))[:300], "verifier": t.verifier.name}


def citation(opts: CardOptions, pretty_name: str) -> str:
    import datetime

    key = re.sub(r"[^a-z0-9]+", "_", (opts.name or pretty_name).lower()).strip("_") or "rlvr_dataset"
    year = datetime.date.today().year
    author = opts.curator or "{unknown curator}"
    url = f"https://huggingface.co/datasets/{opts.name}" if opts.name else "(add the dataset's URL)"
    return (f"@misc{{{key},\n  title        = {{{pretty_name}}},\n  author       = {{{author}}},\n"
            f"  year         = {{{year}}},\n  howpublished = {{{url}}},\n"
            f"  note         = {{RLVR tasks with verifiers, made with rlvr {__version__}}}\n}}")


def card_context(facts: CardFacts, opts: CardOptions, header: dict, license_text: str, license_note: str,
                 plots: dict[str, str]) -> dict[str, Any]:
    from rlvr.verify import describe_verifier

    configs = [c["config_name"] for c in header["configs"]]
    kind_configs = [c for c in header["configs"] if c["config_name"] != ALL]
    no_test = [c["config_name"] for c in kind_configs if not any(df["split"] == "test" for df in c["data_files"])]
    return {
        "curator": opts.curator, "contact": opts.contact, "citation": citation(opts, header["pretty_name"]),
        "example": example_instance(facts), "config_licences": config_licences(facts, header),
        "configs_without_test": no_test if len(kind_configs) > 1 and bool(facts.splits.get("test")) else [],
        "has_run": bool(facts.stages),
        "pretty_name": header["pretty_name"], "rlvr_version": __version__, "n_tasks": facts.n_tasks,
        "kinds": facts.kinds, "verifiers": facts.verifiers,
        "split_sizes": {s: len(ts) for s, ts in facts.splits.items() if ts},
        "has_test_split": bool(facts.splits.get("test")),
        "repo_hint": opts.name or "path/to/this/dataset", "several_configs": len(configs) > 1,
        "first_config": configs[0],
        "verifier_docs": {k: describe_verifier(v) for k, v in facts.verifiers.items()},
        "generators": facts.generators, "sources": facts.sources,
        "license_text": license_text, "license_note": license_note,
        "curation": facts.curation, "quarantined": facts.quarantined, "decontam": facts.decontam,
        "pass_rate": _pass_rate_summary(facts), "plots": plots, "value_rows": _value_rows(facts),
        "train_model": str(facts.train_settings.get("model", "")), "train_scope": _train_scope(facts),
        "value_runs": facts.value_runs,
        "columns": COLUMN_DOCS, "limitations": limitations(facts),
    }


def _licence_file(facts: CardFacts, license_text: str) -> str:
    lines = [f"# Licence\n\nThis dataset is distributed under: {license_text}.\n"]
    if facts.sources:
        lines.append("Tasks derived from third-party text carry that text's licence:\n")
        lines += [f"- {s.source}: {s.license} ({s.n_tasks} tasks). {s.attribution}" for s in facts.sources]
    procedural = sum(g.n_tasks for g in facts.generators) - sum(s.n_tasks for s in facts.sources)
    if procedural > 0:
        lines.append(f"\n{procedural} procedurally generated tasks quote no third-party text "
                     f"(generated by rlvr / reasoning-gym, Apache-2.0).")
    return "\n".join(lines) + "\n"


def build_dataset(run_dir: str | Path | None, out: str | Path, opts: CardOptions | None = None,
                  tasks_path: str | Path | None = None) -> tuple[Path, CardFacts]:
    """Write the dataset folder; returns its README path and the facts it was built from. Without a
    run folder (`run_dir` None) the card is built from the task table `tasks_path` alone."""
    from rlvr.datasets_cards.plots import make_plots

    opts = opts or CardOptions()
    out = Path(out)
    facts = collect(run_dir, tasks_path, opts.attributions, opts.value_runs)
    license_fields, license_text, license_note = choose_license(opts.license, licence_of_sources(facts.sources))
    files = write_dataset({s: ts for s, ts in facts.splits.items() if ts}, out)
    header = build_header(facts, files, opts, license_fields)
    problems = validate_header(header, out)
    if problems:
        raise CardError("the card header would be rejected by the Hub:\n  " + "\n  ".join(problems))
    plots = make_plots(facts, out)
    body = render_card(card_context(facts, opts, header, license_text, license_note, plots))
    readme = out / "README.md"
    atomic_write_text(readme, "---\n" + dump_header(header) + "---\n\n" + body)
    if license_fields.get("license_link") == "LICENSE.md" or facts.sources:
        atomic_write_text(out / "LICENSE.md", _licence_file(facts, license_text))
    return readme, facts


class _NoAliasDumper(yaml.SafeDumper):
    """Write repeated structures in full: some YAML readers on the Hub side reject anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_header(header: dict[str, Any]) -> str:
    # Not DatasetCardData.to_yaml(): it writes the features list shared by several configs as a YAML
    # anchor and aliases, which some readers on the Hub side reject.
    return yaml.dump(header, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)


def read_header(dataset_dir: str | Path) -> dict[str, Any]:
    text = (Path(dataset_dir) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise CardError(f"{dataset_dir}/README.md has no YAML header (it must start with '---')")
    block = text[4:].split("\n---\n", 1)[0]
    header = yaml.safe_load(block)
    if not isinstance(header, dict):
        raise CardError(f"{dataset_dir}/README.md: the YAML header is not a mapping")
    return header
