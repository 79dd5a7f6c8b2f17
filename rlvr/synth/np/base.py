"""What every NP-hard task family shares: difficulty knobs, the Problem interface, task
assembly, the quality-ratio verifier and registration.

A family is a `Problem` subclass plus a `Config`. The Problem says how to build an instance from
a seeded RNG, how to solve it heuristically (the reference), how to solve small instances
exactly (for tests), how to parse and evaluate an answer, how to phrase the prompt and how to
fingerprint the instance. Everything else (seeding, the Task record, the reward) lives here
once, so the ten families cannot drift apart.

Difficulty is one continuous knob in [0, 1]. Each family lists its knobs at three anchor points
(NP-Engine's easy / medium / hard presets sit at 0, 0.5 and 1, widened at the easy end where
NP-Engine's tiny graphs would repeat themselves) and the knob is interpolated piecewise-linearly
between them. Any knob can be pinned with an explicit override on the Config.

Reward. The answer is read with the shared final-answer rule (`rlvr.answers`: the last `Answer:`
counts, `[a] or [b]` is `ambiguous`), then checked against every constraint (a violation is
`infeasible`, reward 0). A feasible answer with objective value q is paid by the config's
`reward` setting, given the reference value q_ref and q_trivial, the best value of the family's
instance-ignoring answers (`trivial_answers`: every subset, the tour 0..n-1, the first half, ...):

- `normalized` (default): clip((q - q_trivial) / (q_ref - q_trivial), 0, 1), so an answer no
  better than one written without reading the instance earns 0 and the reference earns 1.
- `ratio`: NP-Engine's quality ratio, q / q_ref (max) or q_ref / q (min), clipped to [0, 1].
  Trivial answers keep a floor here (set cover "every subset" about 0.6).
- `binary`: 1 when q is at least as good as the reference, else 0.

Where the exact optimum is cheap (`exact_limit` on the family's size figure: Held-Karp TSP up to
18 cities, small cliques, ...), the generator solves the instance exactly and keeps the optimum as
the reference, so `meta["optimal"]` is True. Otherwise an answer can beat a heuristic reference;
the score then records `beats_reference` (its reward is still capped at 1).
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.answers import read_final
from rlvr.hashing import config_fingerprint, seed_int
from rlvr.records import Difficulty, Message, Provenance, Task, VerifierSpec
from rlvr.synth.np.answer import MARKER, Ambiguous, FormatError, Infeasible, ListGrammar
from rlvr.synth.registry import GeneratorSpec, register_generator
from rlvr.verify import AnswerProbe, FunctionVerifier, Score, register_probe, register_verifier

MIN, MAX = "min", "max"
REWARD_MODES = ("normalized", "ratio", "binary")
MAX_REDRAWS = 8  # redraws of an instance whose reference is no better than a trivial answer
ANCHORS = (0.0, 0.5, 1.0)  # where NP-Engine's easy, medium and hard presets sit on the knob
EXAMPLE_DIFFICULTIES = (0.0, 0.5, 1.0)


def interpolate(points: tuple[float, float, float], d: float) -> float:
    """Piecewise-linear value at difficulty d of a knob given at the three anchors."""
    if d <= ANCHORS[1]:
        a, b, t = points[0], points[1], d / ANCHORS[1]
    else:
        a, b, t = points[1], points[2], (d - ANCHORS[1]) / (ANCHORS[2] - ANCHORS[1])
    return a + (b - a) * t


def resolve_knob(presets: tuple[Any, Any, Any], d: float) -> Any:
    """A knob's setting at difficulty d: an (lo, hi) range or a single number, ints rounded."""
    first = presets[0]
    if isinstance(first, tuple):
        lo = interpolate(tuple(p[0] for p in presets), d)
        hi = interpolate(tuple(p[1] for p in presets), d)
        if isinstance(first[0], int):
            lo, hi = round(lo), round(hi)
        return (lo, max(lo, hi))
    value = interpolate(presets, d)
    return round(value) if isinstance(first, int) else value


@dataclass
class NPConfig:
    """Base config: a difficulty in [0, 1] plus, in subclasses, one optional override per knob.

    Subclasses declare `PRESETS` (knob -> values at difficulty 0, 0.5 and 1) and `LIMITS`
    (knob -> smallest and largest value allowed); a field named like a knob overrides it.
    """

    difficulty: float = field(
        default=0.0, metadata={"help": "0 = easiest, 1 = hardest; NP-Engine's easy/medium/hard sit at 0, 0.5, 1"}
    )
    reward: str = field(
        default="normalized",
        metadata={"help": "normalized: (q - q_trivial) / (q_ref - q_trivial) clipped, so trivial answers earn 0; "
                          "ratio: NP-Engine's q / q_ref; binary: 1 when as good as the reference"},
    )

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {}
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {}
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ({"difficulty": -0.1}, {"difficulty": 1.5},
                                                          {"reward": "linear"})

    def __post_init__(self) -> None:
        d = self.difficulty
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or not 0 <= d <= 1:
            raise ValueError(f"{type(self).__name__}.difficulty must be a number in [0, 1], got {d!r}")
        if self.reward not in REWARD_MODES:
            raise ValueError(f"{type(self).__name__}.reward must be one of {', '.join(REWARD_MODES)}, "
                             f"got {self.reward!r}")
        self.difficulty = float(d)
        for name in self.PRESETS:
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, self._check_override(name, value))

    def _check_override(self, name: str, value: Any) -> Any:
        lo_ok, hi_ok = self.LIMITS[name]
        where = f"{type(self).__name__}.{name}"
        preset = self.PRESETS[name][0]
        if isinstance(preset, tuple):
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError(f"{where}: give a range as two numbers [low, high], got {value!r}")
            lo, hi = (_as_number(v, type(preset[0]), where) for v in value)
            if lo > hi:
                raise ValueError(f"{where}: low {lo} is above high {hi}; swap them")
            if lo < lo_ok or hi > hi_ok:
                raise ValueError(f"{where}: {[lo, hi]} is outside the supported [{lo_ok}, {hi_ok}]")
            return (lo, hi)
        value = _as_number(value, type(preset), where)
        if not lo_ok <= value <= hi_ok:
            raise ValueError(f"{where}: {value!r} is outside the supported [{lo_ok}, {hi_ok}]")
        return value

    def knobs(self) -> dict[str, Any]:
        """Every knob's setting (the override when given, else the preset at this difficulty),
        plus the config's other fields (switches such as `plant`, solver budgets) as they are."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "reward"}
        for name, presets in self.PRESETS.items():
            override = getattr(self, name, None)
            out[name] = override if override is not None else resolve_knob(presets, self.difficulty)
        return out


def _as_number(value: Any, kind: type, where: str) -> Any:
    """value as the knob's number type: an integer knob refuses 2.5, a float knob takes 2."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if kind is int:
        if value != int(value):
            raise ValueError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    return float(value)


def sample(rng: random.Random, knob: Any) -> Any:
    """One draw from a knob: uniform in an (lo, hi) range, the value itself otherwise."""
    if isinstance(knob, tuple):
        lo, hi = knob
        return rng.randint(lo, hi) if isinstance(lo, int) and isinstance(hi, int) else rng.uniform(lo, hi)
    return knob


@dataclass
class Reference:
    """A heuristic's answer: the solution and whether a bound proves it optimal (None: unknown)."""

    solution: Any
    optimal: bool | None = None


class Problem:
    """One NP-hard family. Subclasses fill the class attributes and the methods below."""

    name: ClassVar[str]  # "np.tsp": task kind, generator and verifier name
    title: ClassVar[str]  # "the travelling salesman problem", used in the prompt
    sense: ClassVar[str]  # MIN or MAX
    solver: ClassVar[str]  # the reference heuristic, for meta and reports
    config_cls: ClassVar[type[NPConfig]]
    version: ClassVar[str] = "2"  # 2: exact references on small instances, trivial-answer baseline
    # Solve exactly at generation time when size()[key] <= limit (measured to stay under ~0.3 s);
    # None: never (the reference is already optimal, or the exact search is too slow).
    exact_limit: ClassVar[tuple[str, int] | None] = None

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        """Answers written without reading the instance (only its size): every subset, the tour
        0..n-1, ... The best feasible one's value is q_trivial, the zero of the normalized reward."""
        raise NotImplementedError

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        """A JSON-native instance (lists, ints, str keys) drawn with rng."""
        raise NotImplementedError

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        """The reference: a feasible solution from a seeded heuristic with a bounded budget."""
        raise NotImplementedError

    def exact(self, instance: dict[str, Any]) -> Any:
        """An optimal solution by exhaustive search; only for small instances (tests)."""
        raise NotImplementedError

    def parse(self, literal: list[Any]) -> Any:
        """Check the parsed literal's shape (FormatError) and return the solution."""
        raise NotImplementedError

    def evaluate(self, instance: dict[str, Any], solution: Any) -> int:
        """The objective value of a solution, or Infeasible saying which constraint it breaks."""
        raise NotImplementedError

    def render(self, solution: Any) -> str:
        raise NotImplementedError

    def describe(self, instance: dict[str, Any]) -> str:
        """The full prompt for one instance."""
        raise NotImplementedError

    def fingerprint(self, instance: dict[str, Any]) -> str:
        """A canonical hash of the instance, equal for relabelled copies where cheap to get."""
        raise NotImplementedError

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        """A few size figures for meta and summaries."""
        raise NotImplementedError

    # -- shared behaviour -------------------------------------------------------------------
    def parse_completion(self, completion: str) -> Any:
        """The solution in the completion's final answer; FormatError or Ambiguous when there is none."""
        final = read_final(completion, ListGrammar())
        if final.status != "ok":
            raise FormatError(final.detail) if final.status == "format_error" else Ambiguous(final.detail)
        return self.parse(final.value)

    def better(self, a: int, b: int) -> bool:
        return a > b if self.sense == MAX else a < b

    def ratio(self, value: int, reference: int) -> float:
        """NP-Engine's quality ratio, clipped to [0, 1]; a zero reference is met by any answer."""
        if self.sense == MAX:
            r = 1.0 if reference <= 0 else value / reference
        else:
            r = 1.0 if value <= reference else reference / value
        return min(1.0, max(0.0, r))

    def trivial_value(self, instance: dict[str, Any]) -> int | None:
        """q_trivial: the best objective among the feasible trivial answers; None when none is feasible."""
        best = None
        for answer in self.trivial_answers(instance):
            try:
                value = self.evaluate(instance, answer)
            except Infeasible:
                continue
            if best is None or self.better(value, best):
                best = value
        return best

    def normalized(self, value: int, reference: int, trivial: int | None) -> float:
        """clip((q - q_trivial) / (q_ref - q_trivial), 0, 1); with no feasible trivial answer a max
        problem's zero is 0 and a min problem falls back to the ratio. When the reference is no
        better than the trivial answer, an answer as good as the reference earns 1."""
        if trivial is None:
            if self.sense == MIN:
                return self.ratio(value, reference)
            trivial = 0
        span = (reference - trivial) if self.sense == MAX else (trivial - reference)
        if span <= 0:
            return 0.0 if self.better(reference, value) else 1.0
        gain = (value - trivial) if self.sense == MAX else (trivial - value)
        return min(1.0, max(0.0, gain / span))

    def reward(self, mode: str, value: int, reference: int, trivial: int | None) -> float:
        if mode == "ratio":
            return self.ratio(value, reference)
        if mode == "binary":
            return 0.0 if self.better(reference, value) else 1.0
        return self.normalized(value, reference, trivial)

    def score(self, task: Task, completion: str) -> Score:
        try:
            solution = self.parse_completion(completion)
        except FormatError as exc:
            return Score(0.0, "format_error", str(exc)[:300])
        except Ambiguous as exc:
            return Score(0.0, "ambiguous", str(exc)[:300])
        instance = task.meta["instance"]
        try:
            value = self.evaluate(instance, solution)
        except Infeasible as exc:
            return Score(0.0, "infeasible", str(exc)[:300])
        reference = task.answer["value"]
        trivial = task.answer["trivial"] if "trivial" in task.answer else self.trivial_value(instance)
        mode = task.verifier.params.get("reward", "normalized")
        if mode not in REWARD_MODES:
            raise ValueError(f"{task.kind}: verifier param reward={mode!r}; valid: {', '.join(REWARD_MODES)}")
        beats = self.better(value, reference)
        detail = f"{self.sense} objective {value}, reference {reference}, trivial {trivial}" + (
            " (beats the reference)" if beats else "")
        return Score(self.reward(mode, value, reference, trivial), "ok", detail,
                     info={"beats_reference": beats, "objective": value})

    def gold_completion(self, task: Task) -> str:
        return f"{MARKER} {self.render(task.answer['solution'])}"


class NPGenerator:
    """Makes tasks of one Problem under one Config; `generate(seed, idx)` is a pure function."""

    def __init__(self, problem: Problem, config: NPConfig):
        if not isinstance(config, problem.config_cls):
            raise TypeError(f"{problem.name} needs a {problem.config_cls.__name__}, got {type(config).__name__}")
        self.problem = problem
        self.config = config
        self.name = problem.name
        self.version = problem.version
        self.fingerprint = config_fingerprint(config)
        self.knobs = config.knobs()

    def instance(self, seed: int, idx: int) -> dict[str, Any]:
        """The instance alone (no solving): what uniqueness checks and benchmarks of the
        generator need. The solver gets its own RNG stream, so solver settings never change
        which instance a (seed, idx) pair makes."""
        return self.problem.build(random.Random(seed_int("np", self.name, seed, idx)), self.knobs)

    def generate(self, seed: int, idx: int) -> Task:
        """The task for (seed, idx). An instance whose best known answer is no better than a
        trivial one (one written without reading it) is redrawn, up to MAX_REDRAWS times, from
        (seed, idx, draw): it could only pay an answer that ignores the instance. `meta["draw"]`
        says which draw was kept (0: the one `instance(seed, idx)` gives)."""
        problem = self.problem
        for draw in range(MAX_REDRAWS + 1):
            instance = self.instance(seed, idx) if draw == 0 else problem.build(
                random.Random(seed_int("np", self.name, seed, idx, draw)), self.knobs)
            ref, value = self._reference(instance, seed, idx, draw)
            trivial = problem.trivial_value(instance)
            if trivial is None or problem.better(value, trivial):
                break
        return Task(
            kind=self.name,
            prompt=[Message("user", problem.describe(instance))],
            answer={"solution": ref.solution, "value": value, "trivial": trivial},
            verifier=VerifierSpec(self.name, {"reward": self.config.reward}),
            provenance=Provenance(self.name, self.version, self.fingerprint, seed, idx),
            difficulty=Difficulty(nominal=self.config.difficulty),
            meta={
                "instance": instance,
                "objective": problem.sense,
                "solver": problem.solver,
                "optimal": ref.optimal,
                "size": problem.size(instance),
                "draw": draw,
            },
            fingerprint=problem.fingerprint(instance),
        )

    def _reference(self, instance: dict[str, Any], seed: int, idx: int, draw: int) -> tuple[Reference, int]:
        """The heuristic's answer, replaced by the exact optimum where that is cheap."""
        problem = self.problem
        key = ("np-solve", self.name, seed, idx) + ((draw,) if draw else ())
        ref = problem.solve(instance, random.Random(seed_int(*key)), self.config)
        try:
            value = problem.evaluate(instance, ref.solution)
        except Infeasible as exc:  # a solver bug, not a data problem: fail loudly
            raise RuntimeError(f"{self.name}: reference solution is infeasible ({exc}); seed={seed} idx={idx}") from exc
        limit = problem.exact_limit
        if ref.optimal is not True and limit is not None and problem.size(instance)[limit[0]] <= limit[1]:
            best = problem.exact(instance)
            best_value = problem.evaluate(instance, best)
            if problem.better(value, best_value):  # an exact solver worse than a heuristic is a bug
                raise RuntimeError(f"{self.name}: exact solution {best_value} is worse than the heuristic {value}")
            ref, value = Reference(best, True), best_value
        return ref, value


PROBLEMS: dict[str, Problem] = {}


def _other_answers(problem: Problem, task: Task) -> list[str]:
    """Answers other than the reference, for the reward tests: the trivial ones and the reference
    with its first number changed."""
    gold = task.answer["solution"]
    out = [problem.render(a) for a in problem.trivial_answers(task.meta["instance"]) if a != gold]
    text = problem.render(gold)
    digits = next((i for i, c in enumerate(text) if c.isdigit()), None)
    if digits is not None:
        out.append(text[:digits] + "9" + text[digits:])
    return [o for o in out if o != text]


def register_problem(problem: Problem) -> Problem:
    """Register the family's verifier and generator (both named `problem.name`)."""
    if problem.name in PROBLEMS:
        raise ValueError(f"NP problem {problem.name!r} is already registered")
    PROBLEMS[problem.name] = problem
    register_verifier(FunctionVerifier(
        problem.name, problem.score, problem.gold_completion,
        description=f"the literal after the last '{MARKER}' is parsed as a solution to {problem.title} (two candidates "
                    f"or a hedge: ambiguous, 0) and checked for every constraint (a violation scores 0, status "
                    f"infeasible; unparsable: format_error); a feasible solution scores, by default, "
                    f"(q - q_trivial) / (q_ref - q_trivial) clipped to [0, 1], where q_trivial is the best answer "
                    f"written without reading the instance (reward: ratio or binary on request); reference solver: "
                    f"{problem.solver}",
    ))
    register_probe(problem.name, AnswerProbe(
        samples=lambda p=problem: [NPGenerator(p, p.config_cls(difficulty=0.0)).generate(0, i) for i in range(2)],
        gold=lambda task, p=problem: p.render(task.answer["solution"]),
        others=lambda task, p=problem: _other_answers(p, task),
        harmless=lambda task, p=problem: [p.render(task.answer["solution"]).replace(" ", ""),
                                          p.render(task.answer["solution"]).replace("[", "[ ").replace("]", " ]")],
    ))
    cls = problem.config_cls
    register_generator(
        GeneratorSpec(
            name=problem.name,
            config_cls=cls,
            make=lambda config, p=problem: NPGenerator(p, config),
            verifiers=(problem.name,),
            description=f"{problem.title} ({problem.sense}imize; reference: {problem.solver})",
            examples=tuple(cls(difficulty=d) for d in EXAMPLE_DIFFICULTIES),
        )
    )
    return problem
