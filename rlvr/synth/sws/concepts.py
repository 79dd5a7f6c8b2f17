"""SwS concept extraction: the foundational concepts each weak task needs, from an LLM.

SwS asks a large instruct model, greedily (temperature 0), for a Python list of the
curriculum-level concepts a problem needs. Models do not always answer with a clean list, so the
reply is parsed by the first rule that yields at least one concept:

1. the last bracketed span that `ast.literal_eval` reads as a list of strings (so a list after
   some reasoning, or inside a ```python block, is found);
2. the quoted strings inside the first `[` ... last `]` span (a list with a syntax slip, or cut
   off by the length limit);
3. bulleted or numbered lines ("- ratios", "2. place value").

Concepts are then cleaned (quotes, trailing punctuation, spacing), folded to lower case so the
same concept from two tasks is one node of the co-occurrence graph, cut at `max_chars`, and
deduplicated per task. A reply with none is counted ("no_concepts") and its task contributes
nothing.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Sequence

from rlvr.hashing import seed_int
from rlvr.models.backends import Backend
from rlvr.records import Task

log = logging.getLogger(__name__)

MAX_CONCEPT_CHARS = 80

CONCEPT_PROMPT = """Here is a problem a student could not solve:

{problem}

List the {n} most important foundational concepts a student must know to solve it. Each concept should be a short, curriculum-level skill or piece of knowledge that could be taught and tested on its own (for example "order of operations" or "area of a triangle"), not a restatement of the problem.

Answer with a Python list of {n} strings and nothing else."""

_BRACKETS = re.compile(r"\[[^\[\]]*\]", re.DOTALL)
_QUOTED = re.compile(r"\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'")
_BULLET = re.compile(r"(?m)^\s*(?:[-*\u2022]|\d+[.)])\s+(.+?)\s*$")


def concept_prompt(task: Task, n: int) -> str:
    return CONCEPT_PROMPT.format(problem=task.prompt_text.strip(), n=n)


def clean_concept(text: str) -> str:
    s = re.sub(r"\s+", " ", str(text)).strip().strip("\"'`*").strip()
    s = s.rstrip(".,;:").strip().lower()
    return s[:MAX_CONCEPT_CHARS].strip()


def parse_concepts(reply: str, limit: int | None = None) -> list[str]:
    """Concepts from a model reply (see the module docstring); [] when none can be read."""
    raw: list[str] = []
    for span in reversed(_BRACKETS.findall(reply)):
        try:
            value = ast.literal_eval(span)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            raw = value
            break
    if not raw and "[" in reply:
        inner = reply[reply.index("["):reply.rindex("]") + 1] if "]" in reply[reply.index("["):] else \
            reply[reply.index("["):]
        raw = [a or b for a, b in _QUOTED.findall(inner)]
    if not raw:
        raw = _BULLET.findall(reply)
    out: list[str] = []
    for item in raw:
        concept = clean_concept(item)
        if concept and concept not in out:
            out.append(concept)
    return out[:limit] if limit else out


def extract_concepts(tasks: Sequence[Task], backend: Backend, *, n: int, max_new_tokens: int, seed: int,
                     batch_size: int = 8) -> dict[str, list[str]]:
    """task_id -> concepts ([] when the reply had none), greedy decoding as SwS does."""
    out: dict[str, list[str]] = {}
    for start in range(0, len(tasks), batch_size):
        batch = tasks[start:start + batch_size]
        replies = backend.generate([concept_prompt(t, n) for t in batch], n=1, max_new_tokens=max_new_tokens,
                                   temperature=0.0, seed=seed_int("sws-concepts", seed, start, bits=31))
        for task, texts in zip(batch, replies):
            out[task.task_id] = parse_concepts(str(texts[0]), limit=n)
    log.info("sws: concepts for %d/%d weak tasks", sum(bool(v) for v in out.values()), len(tasks))
    return out
