"""Self-play roles inside one GRPO run: the policy proposes, rewrites and solves, and learns all three.

A task carries a role in `meta["role"]`: "solve" (the default: any ordinary task), "propose" or
"rewrite". Role tasks are made during training by `OnlineRoles` and take slots of each step's
batch (rlvr.train.dynamic.StepBatcher calls `compose`):

- **propose** (Absolute Zero, arXiv 2505.03335): the prompt shows `k_references` programs from
  the run's program buffer and asks for a new program and input (deduction or abduction, taking
  turns). Each of the group's completions is validated in the sandbox, its solver task is solved
  `solver_samples` times by the current policy, and the completion's reward is AZR's shaped
  learnability (rlvr.train.role_rewards).
- **rewrite** (SvS, arXiv 2508.14029): after a solve group whose pass rate is in
  [parent_min, parent_max] (SvS: 1 to 4 of 8), of a task SvS can rewrite (a `rewrite_kinds` kind
  with a short final answer, as in synth.svs), one of its correct completions becomes a rewrite
  prompt (the solution only, never the question). Each completion is a variant problem; it keeps
  the parent's answer and verifier and earns 1 when the policy's measured solve rate on it is in
  [rewrite_min, rewrite_max] (SvS: 1 to 5 of 8).
- **solve** on online tasks: every valid proposal (its solver task; AZR keeps all valid programs)
  and every variant solved sometimes but not always (SvS's SPA set) joins the run's solve set:
  the `solve` slots of later steps take the newest first (AZR's max_new), and valid programs
  join the buffer the next proposer prompts sample from.

Provenance: an online task's `provenance.parent_task_id` is the role task whose completion made
it (whose own parent is the solve task an SvS rewrite came from); `meta["online"]` holds the step,
the role and the completion index. Every proposal and variant is also a Decision (kept or not,
with the reason), written to `role_decisions.parquet`; the online tasks to `online_tasks.parquet`.

Costs: a role group's reward needs `solver_samples` extra generations per completion (k x
solver_samples per role group per step) and a sandbox run per proposal. A checkpoint holds the
role and online tasks, the queues and the decisions, so a resumed run goes on with them; the
program buffer is an append-only file in the run folder (programs validated after the last
checkpoint stay in it, as in Absolute Zero's own buffer).
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rlvr.hashing import seed_int
from rlvr.records import Decision, Message, Provenance, Task, VerifierSpec

log = logging.getLogger(__name__)

ROLES = ("solve", "propose", "rewrite")
PROPOSE_VERIFIER = "role.propose"
REWRITE_VERIFIER = "role.rewrite"
VERSION = "1"


def role_of(task: Task) -> str:
    return str(task.meta.get("role", "solve"))


@dataclass
class RolesConfig:
    propose: int = field(default=0, metadata={"help": "AZR proposer groups per step"})
    rewrite: int = field(default=0, metadata={"help": "SvS rewriter groups per step"})
    solve: int = field(default=0, metadata={"help": "groups per step solving tasks made online (newest first)"})
    azr_kinds: tuple[str, ...] = field(default=("deduction", "abduction"), metadata={
        "help": "proposal kinds, taking turns"})
    k_references: int = field(default=6, metadata={"help": "buffer programs shown to the proposer (AZR: 6)"})
    solver_samples: int = field(default=8, metadata={"help": "policy samples measuring a proposal's or variant's "
                                                             "solve rate"})
    solver_max_new_tokens: int = field(default=256, metadata={"help": "length of those samples"})
    rewrite_kinds: tuple[str, ...] = field(default=("gym.*", "math.*", "svs.variant", "sws.synth"), metadata={
        "help": "kinds (glob patterns) a rewrite may start from; they need one short final answer (as synth.svs)"})
    max_answer_chars: int = field(default=32, metadata={"help": "rewrite parents: longest reference answer"})
    parent_min: float = field(default=0.125, metadata={"help": "rewrite parents: lowest pass rate (SvS 1/8)"})
    parent_max: float = field(default=0.5, metadata={"help": "rewrite parents: highest pass rate (SvS 4/8)"})
    rewrite_min: float = field(default=0.125, metadata={"help": "variant reward band: lowest solve rate"})
    rewrite_max: float = field(default=0.625, metadata={"help": "variant reward band: highest solve rate"})
    max_solution_chars: int = field(default=4000, metadata={"help": "longer solutions make no rewrite prompt"})
    queue: int = field(default=64, metadata={"help": "most waiting rewrite prompts / online solve tasks"})
    timeout_s: float = field(default=10.0, metadata={"help": "sandbox limit per proposal run (AZR: 10 s)"})
    memory_mb: int = field(default=512, metadata={"help": "sandbox memory limit"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"propose": -1}, {"solve": 1}, {"azr_kinds": ("induction",)}, {"solver_samples": 1}, {"parent_min": 0.6},
        {"rewrite_min": 0.7}, {"k_references": 0}, {"timeout_s": 0}, {"rewrite_kinds": ()}, {"max_answer_chars": 0},
    )

    def __post_init__(self) -> None:
        self.azr_kinds = tuple(self.azr_kinds)
        self.rewrite_kinds = tuple(self.rewrite_kinds)
        if not self.rewrite_kinds:
            raise ValueError("roles.rewrite_kinds: give at least one kind pattern, e.g. gym.*")
        for name in ("propose", "rewrite", "solve"):
            if getattr(self, name) < 0:
                raise ValueError(f"roles.{name} must be >= 0 (groups per step), got {getattr(self, name)}")
        if self.solve and not (self.propose or self.rewrite):
            raise ValueError("roles.solve solves tasks the propose and rewrite roles make; turn one of them on")
        bad = [k for k in self.azr_kinds if k not in ("deduction", "abduction")]
        if bad or not self.azr_kinds:
            raise ValueError(f"roles.azr_kinds: {bad or 'none'}; choose from deduction, abduction")
        for name in ("k_references", "solver_max_new_tokens", "max_solution_chars", "queue", "memory_mb",
                     "max_answer_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"roles.{name} must be at least 1, got {getattr(self, name)}")
        if self.solver_samples < 2:
            raise ValueError("roles.solver_samples must be at least 2: a solve rate strictly between 0 and 1 "
                             "needs two samples")
        if not 0.0 <= self.parent_min <= self.parent_max <= 1.0:
            raise ValueError(f"roles: need 0 <= parent_min <= parent_max <= 1, got {self.parent_min}, "
                             f"{self.parent_max}")
        if not 0.0 <= self.rewrite_min <= self.rewrite_max <= 1.0:
            raise ValueError(f"roles: need 0 <= rewrite_min <= rewrite_max <= 1, got {self.rewrite_min}, "
                             f"{self.rewrite_max}")
        if self.timeout_s <= 0:
            raise ValueError(f"roles.timeout_s must be > 0, got {self.timeout_s}")

    @property
    def active(self) -> bool:
        return bool(self.propose or self.rewrite or self.solve)


@contextlib.contextmanager
def policy_backend(trainer: Any) -> Iterator[Any]:
    """The trainer's current policy as a generation Backend, in eval mode, without touching the
    random stream training samples from (as the probe does)."""
    import torch

    from rlvr.models.backends import TransformersBackend

    model = trainer.accelerator.unwrap_model(trainer.model)
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            yield TransformersBackend.from_model(model, trainer.processing_class, batch_size=32)
    finally:
        model.train(was_training)


class OnlineRoles:
    """The role tasks of one run: what each step's role slots hold, and what the roles produced."""

    def __init__(self, config: RolesConfig, folder: Path, *, seed: int = 0, max_prompt_tokens: int = 1024):
        from rlvr.synth.azr.buffer import ProgramBuffer, identity_entry

        self.config = config
        self.seed = seed
        self.max_prompt_tokens = max_prompt_tokens
        self.buffer = ProgramBuffer(Path(folder) / "azr_buffer.jsonl")
        self.buffer.ensure_seeded([identity_entry()])
        self.rewrite_queue: deque[Task] = deque(maxlen=config.queue)
        self.solve_queue: deque[Task] = deque(maxlen=config.queue)
        self.tasks: dict[str, Task] = {}  # every role and online task by id
        self.online: list[Task] = []  # tasks made by the roles, in order
        self.decisions: list[Decision] = []
        self.rewards: Any = None  # the rlvr.train.role_rewards.RoleRewards built over these roles
        self.keys: dict | None = None  # the run's provenance keys (RunState.keys), extended with new tasks
        self.trainer: Any = None  # set when the trainer exists: the solver is the live policy
        self.backend_factory: Any = None  # tests: a callable returning a Backend instead of the policy
        self.count_tokens: Any = None  # task -> prompt length in policy tokens (set by rlvr.train.loop)
        self.counts: dict[str, int] = {}
        self._proposals = 0
        self._parents_seen: set[str] = set()

    def role_of(self, task_id: str) -> str:
        task = self.tasks.get(task_id)
        return role_of(task) if task is not None else "solve"

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    @contextlib.contextmanager
    def solver(self) -> Iterator[Any]:
        """The backend role rewards measure solve rates with: the live policy, or the test's backend."""
        if self.backend_factory is not None:
            yield self.backend_factory()
        elif self.trainer is None:
            raise RuntimeError("OnlineRoles has no trainer to solve with; set .trainer or .backend_factory")
        else:
            with policy_backend(self.trainer) as backend:
                yield backend

    # -- registering tasks ----------------------------------------------------------------------
    def register(self, task: Task) -> bool:
        """Make a task known to the reward functions and the ledger keys; False if already known."""
        from rlvr.train.data import task_keys

        if task.task_id in self.tasks or (self.rewards is not None and task.task_id in self.rewards.tasks):
            return False
        self.tasks[task.task_id] = task
        if self.rewards is not None:
            self.rewards.tasks[task.task_id] = task
        if self.keys is not None:
            self.keys[task.task_id] = task_keys(task)
        return True

    def add_online(self, task: Task, *, step: int, role: str, parent: Task, index: int) -> bool:
        """A task made by a role joins the solve set (queue) with its provenance; False if a duplicate."""
        task.meta["online"] = {"step": step, "role": role, "parent_task_id": parent.task_id, "completion": index}
        if not self.register(task):
            self._count(f"{role}_duplicates")
            return False
        self.online.append(task)
        self.solve_queue.append(task)
        self._count(f"{role}_online_tasks")
        return True

    # -- making role tasks ----------------------------------------------------------------------
    def proposer_task(self, step: int, i: int) -> Task:
        from rlvr.synth.azr.propose import triple_proposal_prompt

        kind = self.config.azr_kinds[self._proposals % len(self.config.azr_kinds)]
        self._proposals += 1
        rng = random.Random(seed_int("roles-propose", self.seed, step, i))
        refs = self.buffer.sample(self.config.k_references, rng)
        return Task(
            kind=f"azr.{kind}",
            prompt=[Message("user", triple_proposal_prompt(kind, refs, self.config.timeout_s))],
            answer="",
            verifier=VerifierSpec(PROPOSE_VERIFIER, {"kind": kind, "step": step, "slot": i}),  # unique per slot
            provenance=Provenance(generator="azr.online", version=VERSION, seed=self.seed, index=step * 1000 + i),
            meta={"role": "propose", "azr_kind": kind, "references": [e.entry_id for e in refs], "step": step},
        )

    def rewrite_task(self, parent: Task, solution: str, pass_rate: float, step: int, index: int) -> Task:
        from rlvr.synth.svs.variants import synthesis_prompt

        return Task(
            kind=parent.kind,
            prompt=[Message("user", synthesis_prompt(solution))],
            answer=parent.answer,
            verifier=VerifierSpec(REWRITE_VERIFIER),
            provenance=Provenance(generator="svs.online", version=VERSION, seed=self.seed, index=step,
                                  parent_task_id=parent.task_id),
            meta={"role": "rewrite", "parent_pass_rate": pass_rate, "step": step, "completion": index},
        )

    def after_groups(self, groups: list, texts: dict[str, list[str]], step: int) -> None:
        """Solve groups whose pass rate is in the parent band queue one rewrite prompt (a correct
        completion of theirs), at most one per parent per run."""
        from rlvr.synth.svs.parents import eligible

        if not self.config.rewrite:
            return
        c = self.config
        for g in groups:
            task = self.rewards.tasks.get(g.task_id) if self.rewards is not None else None
            if task is None or role_of(task) != "solve" or g.task_id in self._parents_seen or \
                    eligible(task, c.rewrite_kinds, c.max_answer_chars) is not None:
                continue
            rate = sum(min(max(r, 0.0), 1.0) for r in g.rewards) / max(1, g.k)
            if not (c.parent_min <= rate <= c.parent_max):
                continue
            correct = [(i, t) for i, (r, t) in enumerate(zip(g.rewards, texts.get(g.task_id, []))) if r >= 1.0]
            correct = [(i, t) for i, t in correct if t.strip() and len(t) <= c.max_solution_chars]
            if not correct:
                continue
            index, text = correct[0]
            self._parents_seen.add(g.task_id)
            self.rewrite_queue.append(self.rewrite_task(task, text, rate, step, index))
            self._count("rewrite_prompts_queued")

    def _fits(self, trainer: Any, task: Task) -> bool:
        if self.count_tokens is None or self.count_tokens(task) <= self.max_prompt_tokens:
            return True
        self._count(f"{role_of(task)}_prompt_too_long")
        self.decisions.append(Decision(task.task_id, f"roles.{role_of(task)}", False, "prompt_too_long"))
        return False

    def compose(self, trainer: Any, groups: list[list[dict]], step: int) -> list[list[dict]]:
        """This step's groups: role groups replace the last of the sampler's groups; the displaced
        tasks are released from the selector's pending set."""
        c = self.config
        chosen: list[Task] = []
        for i in range(c.propose):
            task = self.proposer_task(step, i)
            if self._fits(trainer, task):
                chosen.append(task)
        for _ in range(c.rewrite):
            while self.rewrite_queue:
                task = self.rewrite_queue.popleft()
                if self._fits(trainer, task):
                    chosen.append(task)
                    break
        for _ in range(c.solve):
            while self.solve_queue:
                task = self.solve_queue.pop()  # newest first
                if self._fits(trainer, task):
                    chosen.append(task)
                    break
        chosen = chosen[:len(groups)]
        if not chosen:
            return groups
        keep, displaced = groups[:len(groups) - len(chosen)], groups[len(groups) - len(chosen):]
        selector = trainer.run.selector
        selector.release([selector.store.index_of(grp[0]["task_id"]) for grp in displaced
                          if grp[0]["task_id"] in selector.store])
        g = trainer.num_generations
        out = list(keep)
        for task in chosen:
            self.register(task)
            self._count(f"{role_of(task)}_groups")
            row = {"prompt": task.chat(), "task_id": task.task_id}
            out.append([dict(row) for _ in range(g)])
        return out

    # -- checkpoints ----------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """The roles' state into a checkpoint folder: every role and online task, the queues, decisions."""
        import json

        from rlvr.io.atomic import atomic_write_text

        folder.mkdir(parents=True, exist_ok=True)
        every = {**self.tasks, **{t.task_id: t for t in [*self.rewrite_queue, *self.solve_queue]}}
        Task.write_parquet(folder / "roles_tasks.parquet", list(every.values()))
        Decision.write_parquet(folder / "roles_decisions.parquet", self.decisions)
        state = {"online": [t.task_id for t in self.online], "rewrite_queue": [t.task_id for t in self.rewrite_queue],
                 "solve_queue": [t.task_id for t in self.solve_queue], "parents_seen": sorted(self._parents_seen),
                 "proposals": self._proposals, "counts": self.counts}
        atomic_write_text(folder / "roles.json", json.dumps(state, sort_keys=True) + "\n")

    def load(self, folder: Path) -> None:
        """Restore what `save` wrote (a resumed run continues with the same queues and solve set)."""
        import json

        path = folder / "roles.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: the checkpoint has no roles state; it was written by a run "
                                    "without roles. Start afresh in a new --out folder.")
        state = json.loads(path.read_text(encoding="utf-8"))
        saved = {t.task_id: t for t in Task.read_parquet(folder / "roles_tasks.parquet")}
        for task in saved.values():
            self.register(task)
        self.decisions = Decision.read_parquet(folder / "roles_decisions.parquet")
        self.online = [saved[i] for i in state["online"]]
        self.rewrite_queue.extend(saved[i] for i in state["rewrite_queue"])
        self.solve_queue.extend(saved[i] for i in state["solve_queue"])
        self._parents_seen = set(state["parents_seen"])
        self._proposals = int(state["proposals"])
        self.counts = {k: int(v) for k, v in state["counts"].items()}

    # -- outputs --------------------------------------------------------------------------------
    def write(self, out_dir: Path) -> dict[str, Path]:
        files = {"online_tasks": Task.write_parquet(out_dir / "online_tasks.parquet", self.online),
                 "role_decisions": Decision.write_parquet(out_dir / "role_decisions.parquet", self.decisions)}
        return files
