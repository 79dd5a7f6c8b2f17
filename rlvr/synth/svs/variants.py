"""SvS variational problems: rewrite a correct solution into new problems with the same answer.

For each solution (rlvr.synth.svs.parents), the policy sees the solution only, never the
original question, and writes `n_variants` problems that this solution would answer. Each
extracted problem becomes an `svs.variant` task whose reference is the PARENT's reference
answer; that is the whole point of SvS: a variant that changed the answer fails its own solve
check, so no new label is needed. The policy then solves each variant `k` times, and a variant
is kept when its solve rate is in [keep_min, keep_max] (SvS: 1 to 5 correct of 8): solvable
with the original answer, and not trivial.

Drops, in order: prompt_too_long (the solution does not fit the synthesis prompt),
unextractable, copies_parent (the variant is the original question), duplicate, unsolved,
too_easy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rlvr.hashing import seed_int
from rlvr.models.backends import Backend
from rlvr.records import Message, Provenance, Task, VerifierSpec
from rlvr.synth.svs.answer import VERIFIER
from rlvr.synth.svs.parents import Solution
from rlvr.synth.svs.problems import Candidate, extract_problem, mark_duplicates, norm_text

log = logging.getLogger(__name__)

VERSION = "1"
KIND = "svs.variant"
# Used when the parent has no system message saying how to give the final answer.
ANSWER_SUFFIX = "\n\nReason step by step, and put your final answer within \\boxed{}."

SYNTHESIS_PROMPT = """You write assessment problems. Below is a response a student wrote to some problem; take it as correct.

First work out what the response is about: its topic, the kind of reasoning it uses and what it is meant to teach. Then write ONE new problem, clear, self-contained and unambiguous, for which this response would be a natural and complete answer. The problem must have exactly the same final answer as the response. Do not mention the response.

Give the problem alone inside a ```text block.

### Response
{solution}
"""


def synthesis_prompt(solution: str) -> str:
    return SYNTHESIS_PROMPT.format(solution=solution.strip())


def variant_prompt(parent: Task, problem: str) -> list[Message]:
    """The variant's chat prompt: the parent's system messages (the answer format the policy was
    trained on), then the problem; without a system message, a suffix asks for \\boxed{}."""
    system = [m for m in parent.prompt if m.role == "system"]
    return [*system, Message("user", problem if system else problem + ANSWER_SUFFIX)]


def variant_task(solution: Solution, problem: str, index: int, variant_index: int, *, fingerprint: str,
                 seed: int) -> Task:
    parent = solution.parent
    return Task(
        kind=KIND,
        prompt=variant_prompt(parent, problem),
        answer=str(parent.answer).strip(),
        verifier=VerifierSpec(VERIFIER),
        provenance=Provenance(generator="svs", version=VERSION, config_fingerprint=fingerprint, seed=seed,
                              index=index, parent_task_id=parent.task_id),
        meta={"parent_kind": parent.kind, "parent_pass_rate": solution.pass_rate, "variant_index": variant_index,
              "completion": {"step": solution.step, "index": solution.completion_index, "k": solution.k,
                             "text": solution.text}},
    )


def synthesize(solutions: Sequence[Solution], backend: Backend, *, n_variants: int, max_new_tokens: int,
               temperature: float, max_prompt_chars: int, fingerprint: str, seed: int,
               batch_size: int = 8) -> list[Candidate]:
    """`n_variants` candidates per solution, each with its task or its drop reason (no solving yet)."""
    candidates: list[Candidate] = []
    fits = []
    for s in solutions:
        prompt = synthesis_prompt(s.text)
        if len(prompt) > max_prompt_chars:
            for v in range(n_variants):
                candidates.append(Candidate(len(candidates), "", status="prompt_too_long",
                                            detail={"parent_task_id": s.parent.task_id, "variant_index": v}))
        else:
            fits.append((s, prompt))
    for start in range(0, len(fits), batch_size):
        batch = fits[start:start + batch_size]
        replies = backend.generate([p for _, p in batch], n=n_variants, max_new_tokens=max_new_tokens,
                                   temperature=temperature, seed=seed_int("svs-synthesis", seed, start, bits=31))
        for (solution, _), texts in zip(batch, replies):
            for v, raw in enumerate(texts):
                c = Candidate(len(candidates), str(raw), detail={"parent_task_id": solution.parent.task_id,
                                                                 "variant_index": v})
                c.problem = extract_problem(c.raw)
                if c.problem is None:
                    c.status = "unextractable"
                elif norm_text(c.problem) == norm_text(solution.parent.prompt_text):
                    c.status = "copies_parent"
                else:
                    c.task = variant_task(solution, c.problem, c.index, v, fingerprint=fingerprint, seed=seed)
                candidates.append(c)
    mark_duplicates(candidates, set())
    log.info("svs: %d solutions -> %d candidate variants (%d extractable)", len(solutions), len(candidates),
             sum(c.status == "pending" for c in candidates))
    return candidates
