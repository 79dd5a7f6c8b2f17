"""Rewards of the propose and rewrite roles, as TRL reward functions beside the verifiers.

`RoleRewards` is `rlvr.select.rewards.VerifierRewards` plus one reward function per role verifier
(`role.propose`, `role.rewrite`), so TRL logs each role's mean reward separately. Ordinary and
online solve tasks are scored by their verifiers as before.

propose (Absolute Zero; rlvr.synth.azr.propose for the prompt, parsing and shaping):
    parse the ```python and ```input blocks, validate in the sandbox (one function f, ban list,
    time limit, determinism); build the solver task (deduction: predict the output, abduction:
    find an input) and let the solver (the live policy) answer it `solver_samples` times.
    learnability = 1 - rate when 0 < rate < 1, else 0. Reward with AZR's format penalties:
    -1 unparsable or invalid program, -0.5 valid but learnability 0, else the learnability.
    Statuses: format_error (no blocks), infeasible (invalid program), wrong (-0.5), ok.
rewrite (SvS):
    extract the problem (```text block, any non-code block, or a "Reconstructed Question" header);
    the variant task keeps the parent's answer and verifier; the solver answers it
    `solver_samples` times; reward 1 if rate is in [rewrite_min, rewrite_max], else 0.
    Statuses: format_error (nothing extractable), wrong (copies the parent or out of band), ok.

Every proposal and variant also becomes a Decision, and the group's `meta` carries the role, the
per-completion solve rates and the made task ids.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rlvr.records import Decision, Evidence, Provenance, RolloutGroup, Task
from rlvr.select.rewards import VerifierRewards, completion_text
from rlvr.train.roles import PROPOSE_VERIFIER, REWRITE_VERIFIER, VERSION, OnlineRoles, role_of
from rlvr.verify import verify

log = logging.getLogger(__name__)

ROLE_VERIFIERS = (PROPOSE_VERIFIER, REWRITE_VERIFIER)


def solve_rates(tasks: Sequence[Task], backend: Any, n: int, *, max_new_tokens: int, temperature: float,
                seed: int) -> list[float]:
    """Each task's solve rate over n samples from backend, checked by the task's verifier."""
    if not tasks:
        return []
    outs = backend.generate([t.chat() for t in tasks], n=n, max_new_tokens=max_new_tokens, temperature=temperature,
                            seed=seed)
    jobs = [(t, str(c)) for t, cs in zip(tasks, outs) for c in cs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        rewards = list(pool.map(lambda job: verify(*job).reward, jobs))
    rates, pos = [], 0
    for cs in outs:
        rates.append(sum(rewards[pos:pos + len(cs)]) / max(1, len(cs)))
        pos += len(cs)
    return rates


class _PoolOnly:
    """A selector seen through a filter: role and online tasks are not in its pool, so only the pool's
    groups reach `observe` (the rest would be skipped with a warning every step)."""

    def __init__(self, selector: Any):
        self._selector = selector

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)

    def observe(self, groups: Sequence[RolloutGroup]) -> Any:
        return self._selector.observe([g for g in groups if g.task_id in self._selector.store])


class RoleRewards(VerifierRewards):
    """VerifierRewards with the propose and rewrite roles (see the module docstring)."""

    def __init__(self, tasks: Sequence[Task], selector: Any = None, *, on_groups: Sequence = (),
                 roles: OnlineRoles, temperature: float = 1.0):
        super().__init__(tasks, _PoolOnly(selector) if selector is not None else None, on_groups=on_groups)
        self.roles = roles
        roles.rewards = self  # the roles register the tasks they make here
        self.temperature = temperature
        active = {PROPOSE_VERIFIER: roles.config.propose, REWRITE_VERIFIER: roles.config.rewrite}
        self.verifier_names = sorted({*self.verifier_names, *(name for name, n in active.items() if n)})
        self._functions = [self._make_function(name) for name in self.verifier_names]
        self._texts: dict[int, str] = {}
        self._role_meta: dict[int, dict[str, Any]] = {}
        self._batches = 0

    def _score(self, verifier_name: str, completions: list, completion_ids: list | None, trainer_state: Any,
               log_metric: Any, columns: dict[str, list]) -> list[float | None]:
        task_ids = columns.get(self.task_id_column)
        if task_ids is not None and not self._called:  # the batch's first function: keep the texts
            self._texts = {row: completion_text(c) for row, c in enumerate(completions)}
            self._role_meta = {}
            self._batches += 1
        if verifier_name not in ROLE_VERIFIERS:
            return super()._score(verifier_name, completions, completion_ids, trainer_state, log_metric, columns)
        if verifier_name in self._called:
            raise RuntimeError(f"reward function for {verifier_name!r} ran twice on one batch")
        self._called.add(verifier_name)
        step = int(getattr(trainer_state, "global_step", 0) or 0)
        rows = [row for row, tid in enumerate(task_ids) if self.tasks[tid].verifier.name == verifier_name]
        texts = [self._texts[row] for row in rows]
        tasks = [self.tasks[task_ids[row]] for row in rows]
        scored = (self.score_proposals if verifier_name == PROPOSE_VERIFIER else self.score_rewrites)(
            tasks, texts, step, [row for row in rows])
        out: list[float | None] = [None] * len(task_ids)
        for row, (reward, status, meta) in zip(rows, scored):
            length = len(completion_ids[row]) if completion_ids is not None else 0
            self._rows[row] = (task_ids[row], float(reward), status, length)
            self._role_meta[row] = meta
            out[row] = float(reward)
        if len(self._called) == len(self.verifier_names):
            self._flush(len(task_ids), trainer_state, log_metric)
        return out

    def make_groups(self, rows: list[tuple[str, float, str, int]], step: int) -> list[RolloutGroup]:
        groups = super().make_groups(rows, step)
        by_task: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_task.setdefault(row[0], []).append(i)
        texts: dict[str, list[str]] = {}
        for g in groups:
            members = by_task[g.task_id]
            task = self.tasks[g.task_id]
            g.meta["role"] = role_of(task)
            if task.provenance.parent_task_id:
                g.meta["parent_task_id"] = task.provenance.parent_task_id
            metas = [self._role_meta.get(i) for i in members]
            if any(m is not None for m in metas):
                g.meta["solve_rates"] = [m.get("solve_rate") if m else None for m in metas]
                g.meta["made_task_ids"] = [m.get("task_id") if m else None for m in metas]
            texts[g.task_id] = [self._texts.get(i, "") for i in members]
        self.roles.after_groups(groups, texts, step)
        return groups

    # -- propose --------------------------------------------------------------------------------
    def score_proposals(self, tasks: list[Task], texts: list[str], step: int, rows: list[int]
                        ) -> list[tuple[float, str, dict]]:
        from rlvr.synth.azr.buffer import ProgramEntry
        from rlvr.synth.azr.programs import Rejected, validate
        from rlvr.synth.azr.propose import learnability, parse_triple_proposal, proposer_reward
        from rlvr.synth.azr.tasks import ExecLimits, abduction_task, deduction_task
        from rlvr.synth.sandbox import SandboxLimits

        c = self.roles.config
        limits = SandboxLimits(timeout_s=c.timeout_s, memory_mb=c.memory_mb)

        def check(text: str) -> tuple[str, str, Any]:
            try:
                program, single = parse_triple_proposal(text)
            except Rejected as exc:
                return "format_error", str(exc), None
            result = validate(program, [single], limits)
            return ("ok", "valid", result) if result.ok else ("infeasible", result.reason, None)

        with ThreadPoolExecutor(max_workers=4) as pool:
            checked = list(pool.map(check, texts))
        made: list[tuple[int, Task, Any]] = []
        for i, (task, (_status, _reason, result)) in enumerate(zip(tasks, checked)):
            if result is None:
                continue
            kind = task.meta["azr_kind"]
            entry = ProgramEntry(result.program, result.inputs, result.outputs, origin=kind, round=step,
                                 parent_id=None)
            provenance = Provenance(generator="azr.online", version=VERSION, seed=self.roles.seed,
                                    index=step * 1000 + rows[i], parent_task_id=task.task_id)
            build = deduction_task if kind == "deduction" else abduction_task
            solve = build(entry, 0, provenance, ExecLimits(c.timeout_s, c.memory_mb))
            solve.meta.update(origin="selfplay", references=task.meta.get("references", []))
            made.append((i, solve, entry))
        rates = self._rates([t for _, t, _ in made], step, "propose")
        out: list[tuple[float, str, dict]] = []
        for status, reason, _ in checked:
            out.append((proposer_reward(False, None), status, {"reason": reason}))
        new_entries = []
        for (i, solve, entry), rate in zip(made, rates):
            learn = learnability(rate)
            reward = proposer_reward(True, learn)
            entry.stats = {"solve_rate": rate, "learnability": learn, "n_samples": c.solver_samples}
            new_entries.append(entry)
            added = self.roles.add_online(solve, step=step, role="propose", parent=tasks[i], index=rows[i])
            out[i] = (reward, "ok" if reward > 0 else "wrong",
                      {"solve_rate": rate, "learnability": learn, "task_id": solve.task_id, "reason": "valid"})
            self.roles.decisions.append(Decision(solve.task_id, "roles.propose", True,
                                                 "valid" if added else "valid_duplicate",
                                                 Evidence(matched_id=tasks[i].task_id, source="azr.online",
                                                          score=rate, detail=json.dumps({"step": step,
                                                                                         "learnability": learn}))))
        for i, (_status, reason, result) in enumerate(checked):
            if result is None:
                self.roles.decisions.append(Decision(f"{tasks[i].task_id}:{rows[i]}", "roles.propose", False,
                                                     reason[:200], Evidence(source="azr.online",
                                                                            detail=json.dumps({"step": step}))))
        if new_entries:
            self.roles.buffer.add(new_entries)
        self.roles._count("propose_valid", len(made))
        self.roles._count("propose_completions", len(texts))
        return out

    # -- rewrite --------------------------------------------------------------------------------
    def score_rewrites(self, tasks: list[Task], texts: list[str], step: int, rows: list[int]
                       ) -> list[tuple[float, str, dict]]:
        from rlvr.synth.svs.problems import extract_problem, in_band, norm_text
        from rlvr.synth.svs.variants import variant_prompt

        c = self.roles.config
        out: list[tuple[float, str, dict]] = []
        made: list[tuple[int, Task]] = []
        for i, (task, text) in enumerate(zip(tasks, texts)):
            parent = self.tasks.get(task.provenance.parent_task_id or "")
            problem = extract_problem(text)
            if parent is None:
                raise KeyError(f"rewrite task {task.task_id} names an unknown parent "
                               f"{task.provenance.parent_task_id!r}")
            if problem is None:
                out.append((0.0, "format_error", {"reason": "unextractable"}))
                continue
            if norm_text(problem) == norm_text(parent.prompt_text):
                out.append((0.0, "wrong", {"reason": "copies_parent"}))
                continue
            variant = Task(kind=parent.kind, prompt=variant_prompt(parent, problem), answer=parent.answer,
                           verifier=parent.verifier,
                           provenance=Provenance(generator="svs.online", version=VERSION, seed=self.roles.seed,
                                                 index=step * 1000 + rows[i], parent_task_id=task.task_id),
                           meta={"svs_parent_task_id": parent.task_id, "variant_of": parent.kind})
            made.append((i, variant))
            out.append((0.0, "wrong", {"reason": "pending"}))
        rates = self._rates([v for _, v in made], step, "rewrite")
        for (i, variant), rate in zip(made, rates):
            keep = in_band(rate, c.rewrite_min, c.rewrite_max)
            reason = "in_band" if keep else ("unsolved" if rate <= 0 else ("too_easy" if rate > c.rewrite_max
                                                                          else "out_of_band"))
            joined = 0.0 < rate < 1.0 and self.roles.add_online(variant, step=step, role="rewrite", parent=tasks[i],
                                                                index=rows[i])
            out[i] = (1.0 if keep else 0.0, "ok" if keep else "wrong",
                      {"solve_rate": rate, "task_id": variant.task_id, "reason": reason})
            self.roles.decisions.append(Decision(variant.task_id, "roles.rewrite", bool(joined), reason,
                                                 Evidence(matched_id=tasks[i].task_id, source="svs.online", score=rate,
                                                          detail=json.dumps({"step": step}))))
        for i, (_reward, _status, meta) in enumerate(out):
            if meta["reason"] in ("unextractable", "copies_parent"):
                self.roles.decisions.append(Decision(f"{tasks[i].task_id}:{rows[i]}", "roles.rewrite", False,
                                                     meta["reason"], Evidence(source="svs.online",
                                                                              detail=json.dumps({"step": step}))))
        self.roles._count("rewrite_variants", len(made))
        self.roles._count("rewrite_completions", len(texts))
        return out

    def _rates(self, tasks: list[Task], step: int, role: str) -> list[float]:
        from rlvr.hashing import seed_int

        if not tasks:
            return []
        c = self.roles.config
        with self.roles.solver() as backend:
            rates = solve_rates(tasks, backend, c.solver_samples, max_new_tokens=c.solver_max_new_tokens,
                                temperature=self.temperature,
                                seed=seed_int("roles-solve", self.roles.seed, step, role, bits=31))
        self.roles._count(f"{role}_solver_rollouts", len(tasks) * c.solver_samples)
        return rates
