"""The `card` pipeline stage: publish the run's final task table into RUN_DIR/<stage>/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rlvr.rundir import StageResult, StageType


@dataclass
class CardStageConfig:
    name: str = field(default="", metadata={"help": "Hub repo id, for the usage snippet"})
    pretty_name: str = field(default="RLVR tasks", metadata={"help": "human title"})
    license: str = field(default="", metadata={"help": "Hub licence id (default: from the sources)"})
    attributions: dict[str, str] = field(default_factory=dict, metadata={"help": "source -> attribution line"})
    curator: str = field(default="", metadata={"help": "who made and maintains the dataset"})
    contact: str = field(default="", metadata={"help": "how to reach the curator (e-mail or URL)"})
    value_runs: list[str] = field(default_factory=list, metadata={
        "help": "other training runs of the same data whose value is pooled with this run's (se over runs)"})


def run_stage(config: CardStageConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    from rlvr.datasets_cards.card import CardOptions, build_dataset

    opts = CardOptions(config.name, config.pretty_name, config.license, attributions=config.attributions,
                       curator=config.curator, contact=config.contact, value_runs=tuple(config.value_runs))
    # The run folder is the nearest parent with the manifest (a round's stage sits in RUN/round-N/).
    run_dir = next((p for p in out_dir.parents if (p / "manifest.json").is_file()), None)
    if run_dir is None and not inputs:
        raise ValueError(f"card stage {out_dir.name}: no run folder above {out_dir} and no input task table")
    readme, facts = build_dataset(run_dir, out_dir, opts, tasks_path=inputs[-1] if inputs else None)
    files = {str(p.relative_to(out_dir)): p for p in sorted(out_dir.rglob("*")) if p.is_file()}
    return StageResult(files=files, counts={"published": facts.n_tasks, "kinds": len(facts.kinds)},
                       summary=f"dataset card: {readme}")


STAGE = StageType(CardStageConfig, run_stage)
