"""The `synth.azr` pipeline stage (and the body of `rlvr synth azr`).

Two sources:
- `selfplay` (default): `rounds` Absolute Zero proposer rounds with a Backend (the bundled model
  unless `backend` names another), growing the persistent buffer; the tasks are the valid
  proposals, each with its estimated solve rate and learnability; every proposal, valid or
  not, is recorded as a Decision with its reason in proposals.parquet.
- `seeds`: `n` tasks per kind from the bundled programs, no model needed.

The buffer lives at RUN_DIR/azr_buffer.jsonl unless `buffer` names another file, so later
rounds and later stages (a multi-round loop) keep building on it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.models.backends import Backend
from rlvr.records import Decision, Evidence, Task
from rlvr.rundir import StageResult, StageType
from rlvr.synth.azr.propose import ProposalOutcome, ProposeConfig, RoundResult, propose_round

log = logging.getLogger(__name__)

BUFFER_NAME = "azr_buffer.jsonl"


@dataclass
class AZRStageConfig(ProposeConfig):
    source: str = field(default="selfplay", metadata={"help": "selfplay (propose with a model) or seeds "
                                                              "(bundled programs, no model)"})
    rounds: int = field(default=1, metadata={"help": "selfplay: proposer rounds"})
    seed: int = field(default=0, metadata={"help": "seed; everything is a function of it"})
    backend: str = field(default="transformers:smollm2-135m-instruct",
                         metadata={"help": "transformers:MODEL, openai:MODEL@URL or vllm:MODEL"})
    device: str = field(default="cpu", metadata={"help": "cpu or cuda (transformers backend)"})
    buffer: str = field(default="", metadata={"help": f"program buffer JSONL (default: RUN_DIR/{BUFFER_NAME})"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ProposeConfig.BAD_EXAMPLES + (
        {"source": "web"}, {"rounds": 0},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source not in ("selfplay", "seeds"):
            raise ValueError(f"source must be 'selfplay' or 'seeds', got {self.source!r}")
        if self.rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {self.rounds}")

    def propose_config(self) -> ProposeConfig:
        names = {f.name for f in dataclasses.fields(ProposeConfig)}
        return ProposeConfig(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})


def seed_tasks(config: AZRStageConfig) -> list[Task]:
    from rlvr.synth.azr.generator import AZRConfig, AZRGenerator

    tasks = []
    for kind in config.kinds:
        gen = AZRGenerator(AZRConfig(kind, timeout_s=config.timeout_s, memory_mb=config.memory_mb))
        tasks.extend(gen.generate(config.seed, i) for i in range(config.n))
    return tasks


def selfplay(config: AZRStageConfig, buffer_path: Path, backend: Backend | None = None
             ) -> tuple[list[Task], list[ProposalOutcome], list[RoundResult]]:
    from rlvr.models.backends import make_backend
    from rlvr.synth.azr.buffer import ProgramBuffer

    backend = backend or make_backend(config.backend, device=config.device)
    buffer = ProgramBuffer(buffer_path)
    propose = config.propose_config()
    rounds = [propose_round(backend, buffer, propose, round_index=r, seed=config.seed) for r in range(config.rounds)]
    return [t for r in rounds for t in r.tasks], [o for r in rounds for o in r.outcomes], rounds


def decisions(outcomes: list[ProposalOutcome]) -> list[Decision]:
    """One Decision per proposal: kept (valid) or dropped with the validation failure as reason."""
    rows = []
    for o in outcomes:
        detail = {"kind": o.kind, "round": o.round, "index": o.index, "solve_rate": o.solve_rate,
                  "proposer_reward": o.reward, "entry_id": o.entry_id, "references": o.references}
        rows.append(Decision(task_id=o.task_id or o.proposal_id, stage="synth.azr", keep=o.valid,
                             reason=o.reason or "valid",
                             evidence=Evidence(matched_id=o.entry_id, source="azr.propose", score=o.learnability,
                                               detail=json.dumps(detail, sort_keys=True))))
    return rows


def run(config: AZRStageConfig, out_dir: Path, buffer_path: Path | None = None,
        backend: Backend | None = None) -> StageResult:
    """Make the tasks into out_dir; shared by the pipeline stage and the CLI."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.source == "seeds":
        tasks = seed_tasks(config)
        path = Task.write_parquet(out_dir / "tasks.parquet", tasks)
        return StageResult(files={"tasks": path}, counts={"tasks": len(tasks)}, tasks=path,
                           summary=f"{len(tasks)} AZR tasks ({', '.join(config.kinds)}) from bundled programs")
    buffer_path = buffer_path or Path(config.buffer or out_dir.parent / BUFFER_NAME)
    tasks, outcomes, rounds = selfplay(config, buffer_path, backend)
    path = Task.write_parquet(out_dir / "tasks.parquet", tasks)
    props = Decision.write_parquet(out_dir / "proposals.parquet", decisions(outcomes))
    counts: dict[str, Any] = {"proposals": len(outcomes), "valid": sum(o.valid for o in outcomes),
                              "invalid": sum(not o.valid for o in outcomes), "tasks": len(tasks),
                              "buffer_size": rounds[-1].buffer_size,
                              "rounds": {str(i): r.counts() for i, r in enumerate(rounds)}}
    learn = [o.learnability for o in outcomes if o.learnability is not None]
    summary = (f"{counts['valid']}/{counts['proposals']} proposals valid over {config.rounds} round(s); "
               f"buffer {counts['buffer_size']} programs at {buffer_path}")
    if learn:
        summary += f"; mean learnability {sum(learn) / len(learn):.3f}"
    return StageResult(files={"tasks": path, "proposals": props}, counts=counts, tasks=path, summary=summary)


def run_stage(config: AZRStageConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    return run(config, out_dir)


STAGE = StageType(AZRStageConfig, run_stage, consumes_tasks=False)
