"""The one prompt layout all NP tasks share (after NP-Engine's `cons_NP`, paraphrased).

Sections: the role, the problem, the answer format with a worked example, the instance, and a
closing instruction to reason first and finish with an `Answer:` line. The closing line shows a
placeholder rather than a real list, so a completion that merely echoes the prompt has, after
its last `Answer:`, text that does not parse: it scores `format_error`, never a reward.
"""

from __future__ import annotations

from rlvr.synth.np.answer import MARKER

# True under every reward mode (normalized, ratio, binary); a second candidate is scored 0 as ambiguous.
SCORING = "A better solution scores at least as high, the best we know scores 1. Give exactly one solution."


def build_prompt(
    *,
    title: str,
    description: str,
    answer_format: str,
    example_input: str,
    example_answer: str,
    instance: str,
    placeholder: str,
) -> str:
    return (
        f"You are an expert at {title}. Solve the instance below as well as you can.\n\n"
        f"## Problem\n{description}\n\n"
        f"## Answer format\n{answer_format} {SCORING}\n\n"
        f"## Example\nInput:\n{example_input}\n"
        f"A correct final line for this example:\n{MARKER} {example_answer}\n\n"
        f"## Your instance\n{instance}\n\n"
        f"Think step by step, check every constraint, then finish with one final line of the form\n"
        f"{MARKER} {placeholder}"
    )


def adjacency_lines(n: int, adj: list[list[int]]) -> str:
    """`v: [u, w, ...]` per vertex, neighbours sorted: NP-Engine's graph listing."""
    return "\n".join(f"{v}: [{', '.join(map(str, sorted(adj[v])))}]" for v in range(n))


def weighted_lines(n: int, adj: list[dict[int, int]]) -> str:
    """`v: {u: w, ...}` per vertex, neighbours sorted: NP-Engine's weighted graph listing."""
    return "\n".join(
        f"{v}: {{{', '.join(f'{u}: {w}' for u, w in sorted(adj[v].items()))}}}" for v in range(n)
    )
