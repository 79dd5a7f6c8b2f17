"""The `synth.sws` pipeline stage and the body of `rlvr synth sws --run RUN_DIR`.

SwS (arXiv 2506.08989) end to end, from a finished train stage:
  weak tasks per domain and the budget split by failure rate (weak.py)
  -> concepts per weak task (concepts.py) -> concept sets per domain (sampler.py)
  -> one question per set, rule filters (synthesize.py)
  -> optionally the two quality judges and their acceptance rule (judge.py; `judges: true`)
  -> majority-vote reference (synthesize.py)
  -> the policy's solve rate, kept inside [keep_min, keep_max] (SwS's band: 0.125 to 0.875).

Three roles, three backends (each defaults to `backend`): `backend` extracts concepts and writes
questions (SwS: a 70B instruct model), `answer_backend` votes the reference answers (SwS: a
reasoning model), `policy_backend` estimates the solve rate (SwS: the policy being trained). On a
laptop all three are the bundled SmolLM2; in a multi-round pipeline `policy_backend:
transformers:${policy}` measures the current policy.

Output, in the stage folder: tasks.parquet (kept sws.synth tasks), decisions.parquet (one
Decision per generated question: kept or the drop reason), rollouts.parquet (solve-rate groups)
and concepts.json (each weak task's concepts and each domain's stats and concept sets).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.hashing import config_fingerprint, seed_int
from rlvr.io.atomic import atomic_write_text
from rlvr.records import Decision, RolloutGroup, Task
from rlvr.rundir import StageResult, StageType
from rlvr.synth.sws.weak import RULES, Domain

log = logging.getLogger(__name__)

LEVELS = ("elementary school", "middle school", "high school", "competition")
_RUNTIME = ("backend", "answer_backend", "policy_backend", "judge_backend", "second_judge_backend", "device",
            "batch_size")


@dataclass
class SwSConfig:
    backend: str = field(default="transformers:smollm2-135m-instruct", metadata={
        "help": "model that extracts concepts and writes questions (transformers:MODEL, openai:MODEL@URL, vllm:MODEL)"})
    answer_backend: str = field(default="", metadata={"help": "model that votes reference answers (default: backend)"})
    policy_backend: str = field(default="", metadata={"help": "model whose solve rate is estimated (default: backend)"})
    device: str = field(default="cpu", metadata={"help": "cpu or cuda (transformers backends)"})
    rule: str = field(default="sws", metadata={"help": "weak tasks: sws (weaknesses.parquet: max < 0.5 and slope < 0) "
                                                       "or failing (max < 0.5)", "choices": RULES})
    budget: int = field(default=32, metadata={"help": "questions to generate, split over domains by failure rate"})
    max_weak: int = field(default=0, metadata={"help": "weak tasks read per domain (0: all)"})
    num_concepts: int = field(default=5, metadata={"help": "concepts asked for per weak task"})
    concept_max_new_tokens: int = field(default=128, metadata={"help": "length limit of a concept list"})
    set_size: int = field(default=5, metadata={"help": "concepts per sampled set (SwS: 5)"})
    sampling_temperature: float = field(default=0.2, metadata={"help": "concept sampling temperature T (SwS: 0.2)"})
    embedder: str = field(default="all-minilm-l6-v2", metadata={"help": "sentence embedder for concept similarity"})
    levels: tuple[str, ...] = field(default=LEVELS, metadata={"help": "difficulty levels drawn uniformly per question"})
    max_new_tokens: int = field(default=1024, metadata={"help": "length limit of a generation reply"})
    temperature: float = field(default=0.6, metadata={"help": "generation temperature (SwS: 0.6)"})
    max_question_chars: int = field(default=4000, metadata={"help": "longer questions are dropped (too_long)"})
    judges: bool = field(default=False, metadata={
        "help": "SwS quality judges (rlvr.synth.sws.judge): keep a question only if judge A says perfect and judge B "
                "perfect or acceptable; costs two generations per question"})
    judge_backend: str = field(default="", metadata={"help": "judge A, the strict one (default: backend)"})
    second_judge_backend: str = field(default="", metadata={"help": "judge B (default: judge_backend)"})
    judge_temperature: float = field(default=0.6, metadata={"help": "judge sampling temperature (SwS: 0.6)"})
    judge_max_new_tokens: int = field(default=512, metadata={"help": "length limit of a judge's reply"})
    answer_samples: int = field(default=8, metadata={"help": "answers sampled per question for the vote (SwS: 8)"})
    min_agreement: int = field(default=4, metadata={"help": "votes the majority answer needs (SwS: 4 of 8)"})
    answer_temperature: float = field(default=0.7, metadata={"help": "answer sampling temperature (SwS: 0.7)"})
    answer_max_new_tokens: int = field(default=1024, metadata={"help": "length limit of an answer sample"})
    max_answer_chars: int = field(default=64, metadata={"help": "longest reference answer kept"})
    k: int = field(default=8, metadata={"help": "policy solve attempts per question"})
    keep_min: float = field(default=0.125, metadata={"help": "lowest solve rate kept (SwS: 0.125)"})
    keep_max: float = field(default=0.875, metadata={"help": "highest solve rate kept (SwS: 0.875)"})
    solve_temperature: float = field(default=1.0, metadata={"help": "policy sampling temperature"})
    solve_max_new_tokens: int = field(default=512, metadata={"help": "length limit of a policy solve attempt"})
    batch_size: int = field(default=8, metadata={"help": "prompts per generation call"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"rule": "slope"}, {"budget": 0}, {"set_size": 0}, {"sampling_temperature": 0.0},
        {"answer_samples": 4, "min_agreement": 5}, {"keep_min": 0.9, "keep_max": 0.5}, {"levels": ()},
        {"k": 0}, {"min_agreement": 0}, {"max_weak": -1}, {"judge_max_new_tokens": 0}, {"judge_temperature": -1.0},
    )

    def __post_init__(self) -> None:
        self.levels = tuple(self.levels)
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {self.rule!r}")
        for name in ("budget", "num_concepts", "concept_max_new_tokens", "set_size", "max_new_tokens",
                     "max_question_chars", "judge_max_new_tokens", "answer_samples", "min_agreement", "answer_max_new_tokens",
                     "max_answer_chars", "k", "solve_max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_weak < 0:
            raise ValueError(f"max_weak must be >= 0 (0 reads every weak task), got {self.max_weak}")
        if self.min_agreement > self.answer_samples:
            raise ValueError(f"min_agreement ({self.min_agreement}) cannot exceed answer_samples ({self.answer_samples})")
        if self.sampling_temperature <= 0:
            raise ValueError(f"sampling_temperature must be > 0, got {self.sampling_temperature}")
        if not 0.0 <= self.keep_min <= self.keep_max <= 1.0:
            raise ValueError(f"need 0 <= keep_min <= keep_max <= 1, got {self.keep_min}, {self.keep_max}")
        if not self.levels:
            raise ValueError("levels: give at least one difficulty level")
        if min(self.temperature, self.answer_temperature, self.solve_temperature, self.judge_temperature) < 0:
            raise ValueError("temperatures must be >= 0")

    def fingerprint(self) -> str:
        return config_fingerprint({k: v for k, v in dataclasses.asdict(self).items() if k not in _RUNTIME})


def concept_sets(domains: dict[str, Domain], concepts: dict[str, list[str]], config: SwSConfig, embed: Any
                 ) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """The concept sets of every domain with a budget, and per-domain sampling stats."""
    import numpy as np

    from rlvr.synth.sws.sampler import ConceptSampler, minilm_embed
    from rlvr.synth.sws.synthesize import ConceptSet, draw_level

    sets, stats = [], {}
    for name, d in domains.items():
        lists = [(t, concepts[t.task_id]) for t in d.tasks if concepts.get(t.task_id)]
        stats[name] = {"trained": d.trained, "weak": d.weak, "failure_rate": round(d.failure_rate, 6),
                       "budget": d.budget, "tasks_with_concepts": len(lists),
                       "concepts": len({c for _, lst in lists for c in lst}), "sets": 0, "duplicate_sets": 0}
        if not d.budget or not lists:
            continue
        embed = embed or minilm_embed(config.embedder)
        sampler = ConceptSampler([lst for _, lst in lists], embed, config.sampling_temperature)
        drawn = sampler.sample_sets(d.budget, config.set_size, np.random.default_rng(seed_int("sws-sets", config.seed,
                                                                                              name)))
        stats[name].update(sets=len(drawn.sets), duplicate_sets=drawn.duplicates)
        system = [m for m in d.tasks[0].prompt if m.role == "system"]
        for i, chosen in enumerate(drawn.sets):
            seed_first = [t.task_id for t, lst in lists if chosen[0] in lst]
            others = [t.task_id for t, lst in lists if t.task_id not in seed_first and set(chosen) & set(lst)]
            sets.append(ConceptSet(name, chosen, draw_level(config.levels, config.seed, name, i),
                                   seed_first + others, system))
    return sets, stats


def run(config: SwSConfig, inputs: list[Path], out_dir: Path, backends: dict[str, Any] | None = None,
        embed: Any = None) -> StageResult:
    """Weak tasks of the training run(s) in `inputs` -> SwS questions -> outputs in out_dir.

    `backends` may map a backend spec to a ready Backend (tests pass stubs); `embed` replaces the
    bundled embedder."""
    from rlvr.models.backends import make_backend
    from rlvr.synth.svs.problems import decisions, estimate_band, tally
    from rlvr.synth.sws.concepts import extract_concepts
    from rlvr.synth.sws.synthesize import generate, reference_answers
    from rlvr.synth.sws.weak import allocate, load_domains

    backends = dict(backends or {})

    def backend(spec: str) -> Any:
        spec = spec or config.backend
        if spec not in backends:
            backends[spec] = make_backend(spec, device=config.device)
        return backends[spec]

    out_dir.mkdir(parents=True, exist_ok=True)
    domains = load_domains(inputs, config.rule)
    if config.max_weak:
        for d in domains.values():
            d.tasks = d.tasks[:config.max_weak]
    allocate(domains, config.budget)
    weak = [t for d in domains.values() if d.budget for t in d.tasks]
    concepts = extract_concepts(weak, backend(config.backend), n=config.num_concepts,
                                max_new_tokens=config.concept_max_new_tokens, seed=config.seed,
                                batch_size=config.batch_size) if weak else {}
    sets, stats = concept_sets(domains, concepts, config, embed)
    candidates, estimates, judged = [], [], None
    if sets:
        candidates = generate(sets, backend(config.backend), max_new_tokens=config.max_new_tokens,
                              temperature=config.temperature, max_question_chars=config.max_question_chars,
                              seed=config.seed, batch_size=config.batch_size)
        if config.judges:
            from rlvr.synth.sws.judge import judge

            judge_a = config.judge_backend or config.backend
            judged = judge(candidates, backend(judge_a), backend(config.second_judge_backend or judge_a),
                           max_new_tokens=config.judge_max_new_tokens, temperature=config.judge_temperature,
                           seed=config.seed, batch_size=config.batch_size)
        reference_answers(candidates, sets, backend(config.answer_backend), samples=config.answer_samples,
                          min_agreement=config.min_agreement, max_answer_chars=config.max_answer_chars,
                          max_new_tokens=config.answer_max_new_tokens, temperature=config.answer_temperature,
                          fingerprint=config.fingerprint(), seed=config.seed, batch_size=config.batch_size)
        estimates = estimate_band(candidates, backend(config.policy_backend), k=config.k, low=config.keep_min,
                                  high=config.keep_max, max_new_tokens=config.solve_max_new_tokens,
                                  temperature=config.solve_temperature, batch_size=config.batch_size,
                                  seed=config.seed)
    kept = [c.task for c in candidates if c.status == "kept"]
    audit = {"concepts": concepts, "domains": stats,
             "sets": [{"domain": s.domain, "concepts": list(s.concepts), "level": s.level} for s in sets]}
    files = {"tasks": Task.write_parquet(out_dir / "tasks.parquet", kept),
             "decisions": Decision.write_parquet(out_dir / "decisions.parquet", decisions(candidates, "synth.sws")),
             "rollouts": RolloutGroup.write_parquet(out_dir / "rollouts.parquet", estimates),
             "concepts": out_dir / "concepts.json"}
    atomic_write_text(files["concepts"], json.dumps(audit, indent=1, sort_keys=True) + "\n")
    counts = {"weak_tasks": sum(d.weak for d in domains.values()), "weak_tasks_used": len(weak),
              "with_concepts": sum(bool(v) for v in concepts.values()),
              "no_concepts": sum(not v for v in concepts.values()), "domains": stats,
              "concept_sets": len(sets), **tally(candidates), "tasks": len(kept)}
    if judged is not None:
        counts["judges"] = judged
    summary = (f"{counts['weak_tasks']} weak task(s) in {sum(bool(s['weak']) for s in stats.values())} domain(s) -> "
               f"{len(sets)} concept set(s) -> {counts['generated']} question(s), {counts['kept']} kept; dropped: "
               f"{', '.join(f'{k}={v}' for k, v in counts['dropped'].items()) or 'none'}")
    log.info("sws: %s", summary)
    return StageResult(files=files, counts=counts, tasks=files["tasks"], summary=summary)


def run_stage(config: SwSConfig, inputs: list[Path], out_dir: Path) -> StageResult:
    return run(config, inputs, out_dir)


STAGE = StageType(SwSConfig, run_stage)
