"""SwS stage B: a problem per concept set, rule filters, and a reference answer by majority vote.

Per concept set the generation model gets the concepts, the domain and a difficulty level drawn
uniformly from `levels`, and is asked to plan and then write ONE standalone question joining
several concepts, with no proof, no multiple choice, no true/false, and a number or short
expression as its answer, in a ```text block (the SwS prompt, paraphrased).

Rule filters, as in the SwS code: "unextractable" (no question in the reply), "prove" (the
question contains the word), "too_long" (over `max_question_chars`; SwS cuts at 4000 tokens),
plus "duplicate" (the same question twice in this run).

Reference answer: the answer model solves each surviving question `answer_samples` times; the
final answers are extracted and normalised with rlvr.synth.svs.answer (the same rules the
`final_answer` verifier applies to the policy later, so the reference and the grading agree),
and the question is kept only if the most common answer has at least `min_agreement` votes
("no_majority" otherwise; SwS: 4 of 8). A majority answer longer than `max_answer_chars` is
"answer_too_long": a final answer, not a derivation, is what the verifier can compare.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rlvr.hashing import seed_int
from rlvr.models.backends import Backend
from rlvr.records import Message, Provenance, Task, VerifierSpec
from rlvr.synth.svs.answer import VERIFIER, extract_final_answer, normalize_answer
from rlvr.synth.svs.problems import Candidate, extract_problem, mark_duplicates
from rlvr.synth.svs.variants import ANSWER_SUFFIX

VERSION = "1"
KIND = "sws.synth"

GENERATION_PROMPT = """You are writing a new problem for a student.

Domain: {domain}
Difficulty level: {level}
Concepts:
{concepts}

First outline a short plan: how can several of these concepts work together in one problem at this level? Then write ONE self-contained question that needs several of the concepts. Rules: no proofs, no multiple choice, no true/false; the answer must be a single number or a short mathematical expression.

Write the final question alone inside a ```text block."""

_PROVE = re.compile(r"\bprove", re.IGNORECASE)


@dataclass
class ConceptSet:
    domain: str
    concepts: tuple[str, ...]
    level: str
    sources: list[str]  # weak task ids that named the concepts (the seed concept's first)
    system: list[Message]  # the domain's system message, if its tasks have one


def domain_label(kind: str) -> str:
    """'gym.basic_arithmetic' -> 'basic arithmetic': what the generation prompt calls the domain."""
    return kind.split(".", 1)[-1].replace("_", " ")


def generation_prompt(cs: ConceptSet) -> str:
    concepts = "\n".join(f"{i}. {c}" for i, c in enumerate(cs.concepts, 1))
    return GENERATION_PROMPT.format(domain=domain_label(cs.domain), level=cs.level, concepts=concepts)


def draw_level(levels: Sequence[str], seed: int, domain: str, i: int) -> str:
    return random.Random(seed_int("sws-level", seed, domain, i)).choice(list(levels))


def question_prompt(cs: ConceptSet, question: str) -> list[Message]:
    return [*cs.system, Message("user", question if cs.system else question + ANSWER_SUFFIX)]


def generate(sets: Sequence[ConceptSet], backend: Backend, *, max_new_tokens: int, temperature: float,
             max_question_chars: int, seed: int, batch_size: int = 8) -> list[Candidate]:
    """One candidate per concept set, with its question or its drop reason."""
    candidates: list[Candidate] = []
    for start in range(0, len(sets), batch_size):
        batch = sets[start:start + batch_size]
        replies = backend.generate([generation_prompt(cs) for cs in batch], n=1, max_new_tokens=max_new_tokens,
                                   temperature=temperature, seed=seed_int("sws-generate", seed, start, bits=31))
        for cs, texts in zip(batch, replies):
            c = Candidate(len(candidates), str(texts[0]), detail={
                "domain": cs.domain, "concepts": list(cs.concepts), "level": cs.level,
                "parent_task_id": cs.sources[0] if cs.sources else None})
            c.problem = extract_problem(c.raw)
            if c.problem is None:
                c.status = "unextractable"
            elif _PROVE.search(c.problem):
                c.status = "prove"
            elif len(c.problem) > max_question_chars:
                c.status = "too_long"
            candidates.append(c)
    mark_duplicates(candidates, set())
    return candidates


def majority(answers: Sequence[str | None]) -> tuple[str | None, int, dict[str, int]]:
    """(reference, votes, vote table): the most common normalised answer and its most common spelling."""
    spelled: dict[str, Counter] = {}
    votes: Counter = Counter()
    for a in answers:
        if a is None:
            continue
        key = normalize_answer(a)
        votes[key] += 1
        spelled.setdefault(key, Counter())[a.strip()] += 1
    if not votes:
        return None, 0, {}
    top, count = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    reference = sorted(spelled[top].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return reference, count, dict(votes.most_common(5))


def reference_answers(candidates: Sequence[Candidate], sets: Sequence[ConceptSet], backend: Backend, *,
                      samples: int, min_agreement: int, max_answer_chars: int, max_new_tokens: int,
                      temperature: float, fingerprint: str, seed: int, batch_size: int = 8) -> None:
    """Vote a reference answer for each pending candidate and build its task (or drop it)."""
    pending = [c for c in candidates if c.status == "pending"]
    for start in range(0, len(pending), batch_size):
        batch = pending[start:start + batch_size]
        prompts = [[{"role": m.role, "content": m.content} for m in question_prompt(sets[c.index], c.problem)]
                   for c in batch]
        replies = backend.generate(prompts, n=samples, max_new_tokens=max_new_tokens, temperature=temperature,
                                   seed=seed_int("sws-answer", seed, start, bits=31))
        for c, texts in zip(batch, replies):
            reference, votes, table = majority([extract_final_answer(str(t)) for t in texts])
            c.detail.update(votes=votes, samples=len(texts), answers=table)
            if reference is None or votes < min_agreement:
                c.status = "no_majority"
            elif len(reference) > max_answer_chars:
                c.status = "answer_too_long"
            else:
                c.task = synth_task(sets[c.index], c, reference, fingerprint, seed)


def synth_task(cs: ConceptSet, c: Candidate, reference: str, fingerprint: str, seed: int) -> Task:
    return Task(
        kind=KIND,
        prompt=question_prompt(cs, c.problem),
        answer=reference,
        verifier=VerifierSpec(VERIFIER),
        provenance=Provenance(generator="sws", version=VERSION, config_fingerprint=fingerprint, seed=seed,
                              index=c.index, parent_task_id=cs.sources[0] if cs.sources else None),
        meta={"domain": cs.domain, "concepts": list(cs.concepts), "level": cs.level, "weak_tasks": cs.sources[:10],
              "agreement": c.detail["votes"] / c.detail["samples"], "answers": c.detail["answers"]},
    )
