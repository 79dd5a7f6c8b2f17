"""Absolute Zero self-play proposals: prompt, parse, validate, score learnability, grow the buffer.

`propose_round(backend, buffer, config, round_index=r, seed=s)` runs one proposer round with any
`Backend` (the bundled model, an OpenAI-compatible server, vLLM, or a stub in tests):

1. seed the buffer when it is empty (the identity program, as Absolute Zero does, or the
   bundled programs);
2. build `n` proposer prompts per kind: deduction and abduction prompts show
   `k_references` triples sampled from the buffer; an induction prompt shows one buffer program
   and asks for `n_inputs` inputs and a message;
3. sample one completion per prompt and parse it (first ```python and ```input blocks, or the
   last `n_inputs` ```input blocks and a ```message block);
4. validate it in the sandbox (programs.validate: one function f, ban list, time limit,
   determinism within and across processes; gold outputs are reprs);
5. build the solver task of each valid proposal, sample `n_samples` solver completions and
   score them: learnability = 1 - solve rate, or 0 when the rate is 0 or 1;
6. append every valid proposal to the buffer (Absolute Zero keeps all valid programs).

It returns the tasks and one ProposalOutcome per proposal, valid or not, with its reason and the
shaped proposer reward a training loop needs (-1 invalid, -0.5 valid but unlearnable, else the
learnability), so a multi-round trainer can call it round after round.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.hashing import config_fingerprint, seed_int, stable_hash
from rlvr.models.backends import Backend
from rlvr.records import Provenance, Task
from rlvr.synth.azr.buffer import ProgramBuffer, ProgramEntry, identity_entry
from rlvr.synth.azr.programs import Rejected, validate
from rlvr.synth.azr.tasks import KINDS, ExecLimits, abduction_task, deduction_task, induction_task
from rlvr.synth.sandbox import AZR_BANNED_MODULES, SandboxLimits
from rlvr.verify import verify

log = logging.getLogger(__name__)

VERSION = "1"
GOALS = {
    "deduction": "a solver will be shown your code and your input and must work out the output",
    "abduction": "a solver will be shown your code and the output your input produces, and must find an input "
                 "that produces it",
}


@dataclass
class ProposeConfig:
    kinds: tuple[str, ...] = field(default=KINDS, metadata={"help": "task kinds to propose"})
    n: int = field(default=8, metadata={"help": "proposals per kind per round (source seeds: tasks per kind)"})
    k_references: int = field(default=6, metadata={"help": "reference triples shown to the proposer (AZR: 6)"})
    n_inputs: int = field(default=10, metadata={"help": "inputs per induction proposal (AZR: 10)"})
    n_given: int = field(default=5, metadata={"help": "induction pairs shown to the solver; the rest are hidden"})
    n_samples: int = field(default=8, metadata={"help": "solver samples per proposal for learnability (0: skip)"})
    max_new_tokens: int = field(default=1024, metadata={"help": "proposer generation length"})
    solver_max_new_tokens: int = field(default=512, metadata={"help": "solver generation length"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature (proposer and solver)"})
    timeout_s: float = field(default=10.0, metadata={"help": "sandbox wall-clock limit per run (AZR: 10 s)"})
    memory_mb: int = field(default=512, metadata={"help": "sandbox address-space limit"})
    seed_buffer: str = field(default="identity", metadata={"help": "identity (AZR) or bundled: what an empty "
                                                                   "buffer starts from"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ({"kinds": ("code_e",)}, {"n": 0}, {"n_inputs": 5, "n_given": 5},
                    {"seed_buffer": "none"}, {"timeout_s": 0})

    def __post_init__(self) -> None:
        self.kinds = tuple(self.kinds)
        bad = [k for k in self.kinds if k not in KINDS]
        if bad or not self.kinds:
            raise ValueError(f"kinds: unknown {bad}; choose from {list(KINDS)}")
        for name in ("n", "k_references", "max_new_tokens", "solver_max_new_tokens", "memory_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not (1 <= self.n_given < self.n_inputs):
            raise ValueError(f"need 1 <= n_given < n_inputs so some induction pairs stay hidden; got "
                             f"n_given={self.n_given}, n_inputs={self.n_inputs}")
        if self.n_samples < 0 or self.temperature < 0 or self.timeout_s <= 0:
            raise ValueError("n_samples and temperature must be >= 0 and timeout_s > 0")
        if self.seed_buffer not in ("identity", "bundled"):
            raise ValueError(f"seed_buffer must be 'identity' or 'bundled', got {self.seed_buffer!r}")

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(timeout_s=self.timeout_s, memory_mb=self.memory_mb)

    @property
    def exec_limits(self) -> ExecLimits:
        return ExecLimits(self.timeout_s, self.memory_mb)


@dataclass
class ProposalOutcome:
    """One proposal: whether it became a task, why not, and the proposer's reward."""

    kind: str
    round: int
    index: int
    valid: bool
    reason: str = ""
    proposal_id: str = ""
    task_id: str | None = None
    entry_id: str | None = None
    solve_rate: float | None = None
    learnability: float | None = None
    reward: float = -1.0
    references: list[str] = field(default_factory=list)


@dataclass
class RoundResult:
    tasks: list[Task]
    outcomes: list[ProposalOutcome]
    new_entries: int
    buffer_size: int

    def counts(self) -> dict[str, Any]:
        reasons: dict[str, int] = {}
        for o in self.outcomes:
            if not o.valid:
                key = o.reason.split(":")[0][:60]
                reasons[key] = reasons.get(key, 0) + 1
        return {"proposals": len(self.outcomes), "valid": sum(o.valid for o in self.outcomes),
                "invalid": sum(not o.valid for o in self.outcomes), "invalid_reasons": dict(sorted(reasons.items())),
                "tasks": len(self.tasks), "new_buffer_entries": self.new_entries, "buffer_size": self.buffer_size}


def learnability(solve_rate: float) -> float:
    """Absolute Zero's proposer reward: 1 - solve rate, but 0 for tasks always or never solved."""
    return 0.0 if solve_rate <= 0.0 or solve_rate >= 1.0 else 1.0 - solve_rate


def proposer_reward(valid: bool, learn: float | None) -> float:
    """AZR's shaping: -1 for an invalid proposal, -0.5 for a valid one nobody learns from."""
    if not valid:
        return -1.0
    return -0.5 if not learn else float(learn)


# ----------------------------------------------------------------------------- prompts


def _reference_block(i: int, entry: ProgramEntry) -> str:
    return (f"<example {i}>\n```python\n{entry.program}\n```\n```input\n{entry.inputs[0]}\n```\n"
            f"```output\n{entry.outputs[0]}\n```\n</example {i}>")


def triple_proposal_prompt(kind: str, references: list[ProgramEntry], timeout_s: float) -> str:
    refs = "\n".join(_reference_block(i + 1, e) for i, e in enumerate(references))
    return (
        "## Task: write a new Python function `f` and one input for it\n\n"
        f"This is a reasoning test: {GOALS[kind]}. Make the function clearly different from the reference "
        "examples below, and hard to follow in your head.\n\n"
        "Code rules:\n"
        "- the entry point is a function named `f` with at least one parameter; put helpers inside `f`; imports "
        "and classes may come before it\n"
        "- `f` returns a value and is deterministic: no randomness, dates or times, files, network, printing or "
        "other outside state\n"
        "- following it should take several steps of state tracking (data structures, loops, recursion, dynamic "
        "programming, ...)\n"
        f"- it must finish within {timeout_s:g} seconds\n"
        f"- do not use these modules: {', '.join(AZR_BANNED_MODULES)}\n\n"
        "Input rules: exactly one input, written as the arguments of one call to `f`: Python literals separated "
        "by commas, strings in quotes.\n\n"
        "First plan briefly. Then give the code in a ```python block and the input in an ```input block.\n\n"
        f"### Reference examples\n{refs}\n"
    )


def induction_proposal_prompt(entry: ProgramEntry, n_inputs: int) -> str:
    return (
        f"## Task: choose {n_inputs} inputs for the function below, and write a message about it\n\n"
        "A solver will see some of your inputs with the outputs `f` gives for them, plus your message, and must "
        "write `f` itself; your other inputs test the solver's code. Choose inputs that together pin down what "
        "`f` does, cover its different behaviours and differ from each other. The message may describe the task "
        "or hint at it, but must not contain the code.\n\n"
        f"```python\n{entry.program}\n```\n\n"
        f"Give exactly {n_inputs} inputs, each in its own ```input block as the arguments of one call to `f` "
        "(Python literals separated by commas). Then give the message in a ```message block.\n"
    )


_FIRST_PYTHON = re.compile(r"```[ \t]*(?:python|py)[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_INPUTS = re.compile(r"```[ \t]*input[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_MESSAGE = re.compile(r"```[ \t]*message[ \t]*\n(.*?)```|<message>(.*?)</message>", re.DOTALL | re.IGNORECASE)


def parse_triple_proposal(text: str) -> tuple[str, str]:
    """(program, input) from a deduction/abduction proposal; Rejected if a block is missing."""
    code, inputs = _FIRST_PYTHON.search(text), _INPUTS.search(text)
    if not code:
        raise Rejected("format: no ```python block")
    if not inputs:
        raise Rejected("format: no ```input block")
    return code.group(1).strip(), inputs.group(1).strip()


def parse_induction_proposal(text: str, n_inputs: int, program: str) -> tuple[list[str], str]:
    """(inputs, message) from an induction proposal: the last n_inputs ```input blocks."""
    inputs = [m.strip() for m in _INPUTS.findall(text)]
    if len(inputs) < n_inputs:
        raise Rejected(f"format: {len(inputs)} ```input blocks, need {n_inputs}")
    inputs = inputs[-n_inputs:]
    if len(set(inputs)) != len(inputs):
        raise Rejected("inputs are not all different")
    found = _MESSAGE.search(text)
    if not found:
        raise Rejected("format: no ```message block")
    message = (found.group(1) or found.group(2) or "").strip()
    body = [line.strip() for line in program.splitlines() if len(line.strip()) > 12]
    if "def f" in message or any(line in message for line in body):
        raise Rejected("message contains the code")
    return inputs, message


# ----------------------------------------------------------------------------- the round


@dataclass
class _Proposal:
    kind: str
    index: int
    prompt: str
    references: list[ProgramEntry]


def _prompts(buffer: ProgramBuffer, config: ProposeConfig, round_index: int, seed: int) -> list[_Proposal]:
    proposals = []
    for kind in config.kinds:
        for i in range(config.n):
            rng = random.Random(seed_int("azr-propose", seed, round_index, kind, i))
            if kind == "induction":
                refs = buffer.sample(1, rng)
                prompt = induction_proposal_prompt(refs[0], config.n_inputs)
            else:
                refs = buffer.sample(config.k_references, rng)
                prompt = triple_proposal_prompt(kind, refs, config.timeout_s)
            proposals.append(_Proposal(kind, i, prompt, refs))
    return proposals


def _validate_one(p: _Proposal, text: str, config: ProposeConfig, round_index: int
                  ) -> tuple[ProposalOutcome, ProgramEntry | None]:
    outcome = ProposalOutcome(p.kind, round_index, p.index, False, proposal_id=stable_hash([p.kind, p.prompt, text], 16),
                              references=[e.entry_id for e in p.references])
    try:
        if p.kind == "induction":
            source = p.references[0]
            inputs, message = parse_induction_proposal(text, config.n_inputs, source.program)
            program, parent = source.program, source.entry_id
        else:
            program, single = parse_triple_proposal(text)
            inputs, message, parent = [single], "", None
    except Rejected as exc:
        outcome.reason = str(exc)
        return outcome, None
    check = validate(program, inputs, config.limits)
    if not check.ok:
        outcome.reason = check.reason
        return outcome, None
    entry = ProgramEntry(check.program, check.inputs, check.outputs, message=message, origin=p.kind,
                         round=round_index, parent_id=parent)
    outcome.valid, outcome.reason, outcome.entry_id, outcome.reward = True, "valid", entry.entry_id, -0.5
    return outcome, entry


def _task_for(entry: ProgramEntry, outcome: ProposalOutcome, config: ProposeConfig, seed: int) -> Task:
    provenance = Provenance(generator="azr.selfplay", version=VERSION, config_fingerprint=config_fingerprint(config),
                            seed=seed, index=outcome.round * 1_000_000 + KINDS.index(outcome.kind) * 10_000
                            + outcome.index)
    limits = config.exec_limits
    if outcome.kind == "deduction":
        task = deduction_task(entry, 0, provenance, limits)
    elif outcome.kind == "abduction":
        task = abduction_task(entry, 0, provenance, limits)
    else:
        n = len(entry.inputs)
        task = induction_task(entry, list(range(config.n_given)), list(range(config.n_given, n)), provenance, limits)
    task.meta.update({"round": outcome.round, "references": outcome.references, "origin": "selfplay"})
    return task


def estimate_solve_rates(tasks: list[Task], backend: Backend, n_samples: int, *, max_new_tokens: int,
                         temperature: float, seed: int, workers: int = 4) -> list[float]:
    """Each task's solve rate over n_samples completions from backend (verification runs in parallel)."""
    if not tasks:
        return []
    outs = backend.generate([t.chat() for t in tasks], n=n_samples, max_new_tokens=max_new_tokens,
                            temperature=temperature, seed=seed)
    jobs = [(t, c) for t, completions in zip(tasks, outs) for c in completions]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rewards = list(pool.map(lambda job: verify(*job).reward, jobs))
    rates, pos = [], 0
    for completions in outs:
        rates.append(sum(rewards[pos:pos + len(completions)]) / max(1, len(completions)))
        pos += len(completions)
    return rates


def propose_round(backend: Backend, buffer: ProgramBuffer, config: ProposeConfig, *, round_index: int = 0,
                  seed: int = 0) -> RoundResult:
    """One Absolute Zero proposer round (see the module docstring)."""
    from rlvr.synth.azr.generator import bundled_entries

    buffer.ensure_seeded([identity_entry()] if config.seed_buffer == "identity" else bundled_entries(config.limits))
    proposals = _prompts(buffer, config, round_index, seed)
    texts = backend.generate([p.prompt for p in proposals], n=1, max_new_tokens=config.max_new_tokens,
                             temperature=config.temperature, seed=seed_int("azr-proposer", seed, round_index, bits=31))
    with ThreadPoolExecutor(max_workers=4) as pool:
        checked = list(pool.map(lambda pt: _validate_one(pt[0], str(pt[1][0]), config, round_index),
                                zip(proposals, texts)))
    outcomes = [o for o, _ in checked]
    valid = [(o, e) for o, e in checked if e is not None]
    tasks = [_task_for(e, o, config, seed) for o, e in valid]
    if config.n_samples and tasks:
        rates = estimate_solve_rates(tasks, backend, config.n_samples, max_new_tokens=config.solver_max_new_tokens,
                                     temperature=config.temperature, seed=seed_int("azr-solver", seed, round_index,
                                                                                   bits=31))
        for (outcome, entry), task, rate in zip(valid, tasks, rates):
            learn = learnability(rate)
            outcome.solve_rate, outcome.learnability = rate, learn
            outcome.reward = proposer_reward(True, learn)
            entry.stats = {"solve_rate": rate, "learnability": learn, "n_samples": config.n_samples}
            task.difficulty = dataclasses.replace(task.difficulty, pass_rate=rate, evidence=config.n_samples)
            task.meta["learnability"] = learn
    for (outcome, _), task in zip(valid, tasks):
        outcome.task_id = task.task_id
        task.meta["proposer_reward"] = outcome.reward
    new = buffer.add([e for _, e in valid])
    log.info("azr round %d: %d proposals, %d valid, %d new buffer entries", round_index, len(outcomes), len(valid), new)
    return RoundResult(tasks, outcomes, new, len(buffer))
