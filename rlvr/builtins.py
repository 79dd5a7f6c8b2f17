"""Every built-in plugin of rlvr, declared once: task families, selectors, curate steps, stage types.

This module is data: strings naming modules and objects, imported only when a registry first
looks a name up (see rlvr.registry). It imports nothing from rlvr, so any layer may read it
without depending on the layers it names.

A task family is one `Family` line: the modules whose import registers its generators and its
verifiers, its pipeline stage type (`synth.<name>`) and its `rlvr synth <name>` command. Adding a
family to rlvr means adding one line here; a family outside rlvr needs no line at all: register
it from its own package (entry points `rlvr.generators`, `rlvr.verifiers`, `rlvr.stages`, ...)
or name it by dotted path (`my_pkg.tasks:SPEC`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    help: str = ""  # one line for `rlvr synth --help`; empty: no CLI subcommand
    generators: tuple[str, ...] = ()  # modules whose import registers the family's generators
    verifiers: tuple[str, ...] = ()  # modules whose import registers its verifiers
    stage: str | None = None  # "module:STAGE", registered as stage type synth.<name>
    cli: str | None = None  # module with configure(parser) and run(args) for `rlvr synth <name>`


FAMILIES: tuple[Family, ...] = (
    Family("gym", "tasks from any reasoning-gym dataset (extra: gym)",
           generators=("rlvr.synth.gym",), verifiers=("rlvr.synth.gym",),
           stage="rlvr.synth.gym:STAGE", cli="rlvr.synth.gym_cli"),
    Family("azr", "Absolute Zero code tasks: self-play proposals validated in the sandbox",
           generators=("rlvr.synth.azr.generator",), verifiers=("rlvr.synth.azr.verifiers",),
           stage="rlvr.synth.azr.stage:STAGE", cli="rlvr.synth.azr.cli"),
    Family("np", "NP-hard optimisation tasks (NP-Engine): clique, colouring, TSP, knapsack, ...",
           generators=("rlvr.synth.np",), verifiers=("rlvr.synth.np",),
           stage="rlvr.synth.np.stage:STAGE", cli="rlvr.synth.np_cli"),
    Family("fim", "Golden Goose fill-in-the-middle multiple choice from raw text (embedded or LLM)",
           generators=("rlvr.synth.fim.generator",), verifiers=("rlvr.synth.fim.task",),
           stage="rlvr.synth.fim.stage:STAGE", cli="rlvr.synth.fim.cli"),
    Family("svs", "SvS variants: rewrite a run's correct solutions into new problems, same answer",
           generators=("rlvr.synth.svs.generator",), verifiers=("rlvr.synth.svs.answer",),
           stage="rlvr.synth.svs.stage:STAGE", cli="rlvr.synth.svs.cli"),
    Family("sws", "SwS: new problems aimed at the concepts behind a run's persistent failures",
           stage="rlvr.synth.sws.stage:STAGE", cli="rlvr.synth.sws.cli"),
    Family("generator", "any registered generator by name (see --list), including your own",
           stage="rlvr.synth.generic:STAGE", cli="rlvr.synth.generic_cli"),
    # Tiny controlled families for tests, benchmarks and the quickstart (no CLI of their own).
    Family("toy", generators=("rlvr.synth.toy",), verifiers=("rlvr.synth.toy",)),
)

# Stage types that are not a synth family's: name -> "module:STAGE".
STAGES: dict[str, str] = {
    "select.estimate": "rlvr.select.estimate:STAGE",
    "curate": "rlvr.curate.runner:STAGE",
    "train": "rlvr.train.cli:STAGE",
    "card": "rlvr.datasets_cards.stage:STAGE",
}

# Curate steps: name -> "module:Class" (a class with `from_config(config, cache)`).
CURATE_STEPS: dict[str, str] = {
    "exact": "rlvr.curate.keyed:ExactStep",
    "structural": "rlvr.curate.keyed:StructuralStep",
    "decontam": "rlvr.curate.decontam:DecontamStep",
    "minhash": "rlvr.curate.minhash:MinHashStep",
    "semantic": "rlvr.curate.semantic:SemanticStep",
}

# Modules whose import registers the built-in selectors (uniform, variance, dapo, band, ...).
SELECTOR_MODULES: tuple[str, ...] = ("rlvr.select.selectors",)


def builtin_entries(kind: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """For a registry kind: (modules to import on first use, lazy name -> "module:attr")."""
    if kind == "generator":
        return tuple(m for f in FAMILIES for m in f.generators), {}
    if kind == "verifier":
        return tuple(m for f in FAMILIES for m in f.verifiers), {}
    if kind == "stage":
        return (), {**{f"synth.{f.name}": f.stage for f in FAMILIES if f.stage}, **STAGES}
    if kind == "curate_step":
        return (), dict(CURATE_STEPS)
    if kind == "selector":
        return SELECTOR_MODULES, {}
    return (), {}


def synth_commands() -> dict[str, tuple[str, str]]:
    """`rlvr synth` subcommands: family -> (module with configure/run, one-line help)."""
    return {f.name: (f.cli, f.help) for f in FAMILIES if f.cli}
