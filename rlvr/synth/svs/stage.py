"""The `synth.svs` pipeline stage and the body of `rlvr synth svs --run RUN_DIR`.

Input: the task table of a train stage (its folder also holds the ledger, rollouts.parquet).
Output, in the stage folder:
  tasks.parquet      the kept variants (kind svs.variant), each with its estimated pass rate
  decisions.parquet  one Decision per candidate variant: kept, or dropped with its reason
  rollouts.parquet   the solve-rate groups behind every estimate (phase "estimate")
Counts: parent tasks by outcome, correct completions by outcome, and candidates generated =
kept + dropped per reason.

The backend both writes and solves the variants, as in SvS where the policy plays both roles. In
a multi-round pipeline point it at the policy being trained: `backend: transformers:${policy}`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.hashing import config_fingerprint
from rlvr.models.backends import Backend
from rlvr.records import Decision, RolloutGroup, Task
from rlvr.rundir import StageResult, StageType

log = logging.getLogger(__name__)

DEFAULT_KINDS = ("gym.*", "math.*", "svs.variant", "sws.synth")
# Settings that do not change which variants are made (so they stay out of the tasks' fingerprint).
_RUNTIME = ("backend", "device", "batch_size")


def _unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


@dataclass
class SvSConfig:
    backend: str = field(default="transformers:smollm2-135m-instruct", metadata={
        "help": "model that writes and solves the variants: transformers:MODEL, openai:MODEL@URL or vllm:MODEL"})
    device: str = field(default="cpu", metadata={"help": "cpu or cuda (transformers backend)"})
    solve_min: float = field(default=0.125, metadata={"help": "parents: lowest training solve rate (SvS: 1/8)"})
    solve_max: float = field(default=0.5, metadata={"help": "parents: highest training solve rate (SvS: 4/8)"})
    kinds: tuple[str, ...] = field(default=DEFAULT_KINDS, metadata={
        "help": "task kinds (glob patterns) SvS may rewrite; they need a short final answer"})
    max_answer_chars: int = field(default=32, metadata={"help": "parents: longest reference answer"})
    max_solutions: int = field(default=4, metadata={"help": "correct completions used per parent"})
    n_variants: int = field(default=8, metadata={"help": "variants written per solution (SvS: 8)"})
    max_new_tokens: int = field(default=512, metadata={"help": "length limit of a synthesis reply"})
    max_prompt_chars: int = field(default=16000, metadata={"help": "solutions making a longer synthesis prompt "
                                                                   "are skipped (SvS: 4096 tokens)"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature (synthesis and solving)"})
    k: int = field(default=8, metadata={"help": "solve attempts per variant"})
    keep_min: float = field(default=0.125, metadata={"help": "variants: lowest solve rate kept (SvS: 1/8)"})
    keep_max: float = field(default=0.625, metadata={"help": "variants: highest solve rate kept (SvS: 5/8)"})
    solve_max_new_tokens: int = field(default=512, metadata={"help": "length limit of a solve attempt"})
    batch_size: int = field(default=8, metadata={"help": "prompts per generation call"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"solve_min": 0.6, "solve_max": 0.5}, {"keep_max": 1.5}, {"k": 0}, {"n_variants": 0}, {"kinds": ()},
        {"max_solutions": 0}, {"temperature": -1.0}, {"max_answer_chars": 0}, {"keep_min": 0.0},
    )

    def __post_init__(self) -> None:
        self.kinds = tuple(self.kinds)
        for name in ("solve_min", "solve_max", "keep_min", "keep_max"):
            _unit(name, getattr(self, name))
        if self.solve_min > self.solve_max or self.keep_min > self.keep_max:
            raise ValueError("need solve_min <= solve_max and keep_min <= keep_max")
        if self.keep_min <= 0.0:
            raise ValueError("keep_min must be > 0: a variant nobody solves may have lost the parent's answer")
        for name in ("k", "n_variants", "max_solutions", "max_new_tokens", "solve_max_new_tokens", "batch_size",
                     "max_answer_chars", "max_prompt_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.kinds:
            raise ValueError(f"kinds: give at least one kind pattern, e.g. {list(DEFAULT_KINDS)}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")

    def fingerprint(self) -> str:
        return config_fingerprint({k: v for k, v in dataclasses.asdict(self).items() if k not in _RUNTIME})


def run(config: SvSConfig, inputs: list[Path], out_dir: Path, backend: Backend | None = None) -> StageResult:
    """Parents from the training run(s) in `inputs` -> variants -> solve-rate band -> outputs in out_dir."""
    from rlvr.models.backends import make_backend
    from rlvr.synth.svs.parents import load_run, select_parents
    from rlvr.synth.svs.problems import decisions, estimate_band, tally
    from rlvr.synth.svs.variants import synthesize

    out_dir.mkdir(parents=True, exist_ok=True)
    tasks, groups = load_run(inputs)
    parents = select_parents(tasks, groups, solve_min=config.solve_min, solve_max=config.solve_max,
                             kinds=config.kinds, max_answer_chars=config.max_answer_chars,
                             max_solutions=config.max_solutions)
    candidates, estimates = [], []
    if parents.solutions:
        backend = backend or make_backend(config.backend, device=config.device)
        candidates = synthesize(parents.solutions, backend, n_variants=config.n_variants,
                                max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                                max_prompt_chars=config.max_prompt_chars, fingerprint=config.fingerprint(),
                                seed=config.seed, batch_size=config.batch_size)
        estimates = estimate_band(candidates, backend, k=config.k, low=config.keep_min, high=config.keep_max,
                                  max_new_tokens=config.solve_max_new_tokens, temperature=config.temperature,
                                  batch_size=config.batch_size, seed=config.seed)
    kept = [c.task for c in candidates if c.status == "kept"]
    files = {"tasks": Task.write_parquet(out_dir / "tasks.parquet", kept),
             "decisions": Decision.write_parquet(out_dir / "decisions.parquet", decisions(candidates, "synth.svs")),
             "rollouts": RolloutGroup.write_parquet(out_dir / "rollouts.parquet", estimates)}
    counts = {"parent_tasks": dict(sorted(parents.tasks.items())),
              "completions": dict(sorted(parents.completions.items())),
              "solutions": len(parents.solutions), **tally(candidates), "tasks": len(kept)}
    summary = (f"{counts['solutions']} solution(s) from {parents.tasks.get('selected', 0)} parent task(s) -> "
               f"{counts['generated']} variant(s), {counts['kept']} kept; dropped: "
               f"{', '.join(f'{k}={v}' for k, v in counts['dropped'].items()) or 'none'}")
    log.info("svs: %s", summary)
    return StageResult(files=files, counts=counts, tasks=files["tasks"], summary=summary)


def run_stage(config: SvSConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    return run(config, inputs, out_dir)


STAGE = StageType(SvSConfig, run_stage)
