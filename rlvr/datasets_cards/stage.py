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


def run_stage(config: CardStageConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    from rlvr.datasets_cards.card import CardOptions, build_dataset

    opts = CardOptions(config.name, config.pretty_name, config.license, attributions=config.attributions)
    readme, facts = build_dataset(out_dir.parent, out_dir, opts, tasks_path=inputs[-1] if inputs else None)
    files = {str(p.relative_to(out_dir)): p for p in sorted(out_dir.rglob("*")) if p.is_file()}
    return StageResult(files=files, counts={"published": facts.n_tasks, "kinds": len(facts.kinds)},
                       summary=f"dataset card: {readme}")


STAGE = StageType(CardStageConfig, run_stage)
