"""SwS quality judges: two models rate every generated question; the paper's acceptance rule decides.

SwS (arXiv 2506.08989, `src/filter_question_with_judgement.py`) sends each question that passed
the rule filters to two instruct models (Llama-3.3-70B and Qwen2.5-72B, temperature 0.6). Each
rates the question's format, factual accuracy and solvability and ends with
"Final Judgement: perfect | acceptable | bad". A question is kept when

    judge A (the strict one, SwS: Llama) says perfect  AND  judge B (SwS: Qwen) says perfect or acceptable.

This was the largest filter in the paper's pipeline (813,639 -> 176,140). Here both judges are any
`Backend` (two models, or one model with the two prompts), each asked once per question with its
own prompt (paraphrased from SwS). The verdict is the last "Final Judgement:" line; a reply without
one is "judge_unparsable". Questions judged out get the drop reason "judged_out" and both verdicts
(with a short excerpt of each rationale) in their decision's detail. Cost: two generations of up
to `max_new_tokens` per question that survived the rule filters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rlvr.hashing import seed_int
from rlvr.models.backends import Backend
from rlvr.synth.svs.problems import Candidate

VERDICTS = ("perfect", "acceptable", "bad")

JUDGE_A_PROMPT = """You review problems written for a mathematics problem set. Rate the problem below on three criteria:

1. Format: is it a single, clearly stated question with everything needed to solve it, and no answer or solution included?
2. Factual accuracy: are its statements, quantities and definitions correct and mutually consistent?
3. Solvability: does it have exactly one final answer (a number or short expression) that can be derived from what is given?

Discuss each criterion briefly, then rate the problem as Perfect (no flaw), Acceptable (minor flaws that do not change the answer) or Bad (unclear, wrong, unsolvable or with several answers).

End with exactly one line: Final Judgement: perfect, Final Judgement: acceptable or Final Judgement: bad

### Problem
{question}
"""

JUDGE_B_PROMPT = """As an experienced competition editor, decide whether this problem can be given to students as written.

Check that the wording is unambiguous and self-contained, that no fact or number in it is false or contradictory, and that a careful solver arrives at a single well-defined answer (not a proof, not a choice between options). Point out any problem you find.

Verdict scale: perfect = ready to use; acceptable = usable, small wording issues only; bad = must not be used.

Finish with the line "Final Judgement: <perfect|acceptable|bad>".

Problem:
{question}
"""

_FINAL = re.compile(r"final\s+judge?ment[\s*_]*[:：]?[\s*_`\"'(\[]*(perfect|acceptable|bad)\b", re.IGNORECASE)


def parse_verdict(text: str) -> str | None:
    """The verdict of the last "Final Judgement:" line (bold or quoted allowed), lower case; None if absent."""
    found = _FINAL.findall(text or "")
    return found[-1].lower() if found else None


def accepted(verdict_a: str | None, verdict_b: str | None) -> bool:
    """SwS: judge A says perfect and judge B says perfect or acceptable."""
    return verdict_a == "perfect" and verdict_b in ("perfect", "acceptable")


def judge(candidates: Sequence[Candidate], backend_a: Backend, backend_b: Backend, *, max_new_tokens: int = 512,
          temperature: float = 0.6, seed: int = 0, batch_size: int = 8) -> dict[str, Any]:
    """Judge every pending candidate; the judged-out ones get status "judged_out" or "judge_unparsable".

    Returns counts: judged, kept, and each verdict pair seen (e.g. "perfect/acceptable")."""
    pending = [c for c in candidates if c.status == "pending" and c.problem]
    counts: dict[str, Any] = {"judged": len(pending), "judge_kept": 0, "verdicts": {}}
    for start in range(0, len(pending), batch_size):
        batch = pending[start:start + batch_size]
        replies = []
        for backend, template, name in ((backend_a, JUDGE_A_PROMPT, "a"), (backend_b, JUDGE_B_PROMPT, "b")):
            prompts = [template.format(question=c.problem.strip()) for c in batch]
            replies.append(backend.generate(prompts, n=1, max_new_tokens=max_new_tokens, temperature=temperature,
                                            seed=seed_int("sws-judge", name, seed, start, bits=31)))
        for c, (reply_a,), (reply_b,) in zip(batch, replies[0], replies[1]):
            va, vb = parse_verdict(str(reply_a)), parse_verdict(str(reply_b))
            c.detail["judges"] = {"a": va, "b": vb, "a_reply": str(reply_a)[-300:], "b_reply": str(reply_b)[-300:]}
            key = f"{va or '?'}/{vb or '?'}"
            counts["verdicts"][key] = counts["verdicts"].get(key, 0) + 1
            if va is None or vb is None:
                c.status = "judge_unparsable"
            elif not accepted(va, vb):
                c.status = "judged_out"
            else:
                counts["judge_kept"] += 1
    counts["verdicts"] = dict(sorted(counts["verdicts"].items()))
    return counts
