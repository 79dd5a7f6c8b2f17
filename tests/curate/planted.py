"""Planted corpora for the curate tests and benchmarks (benchmarks/dedupe.py, benchmarks/decontam.py).

Everything is built from a seed: clean tasks from reasoning-gym (rlvr.synth.gym) and from a
small procedural family defined here, plus copies of GSM8K / MATH-500 test items planted
verbatim, lightly edited (whitespace, punctuation, case, one added sentence) or paraphrased
(hand-written, see paraphrases.py). Each planted task records what it is in `meta["planted"]`
and which benchmark item it copies in `meta["source_id"]`, so tests can measure recall and
false positives from the decisions.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from rlvr.records import Message, Provenance, Task, VerifierSpec

# reasoning-gym datasets used as the clean corpus: fast to generate, mostly arithmetic and word
# problems, i.e. the kind of task most likely to be confused with GSM8K or MATH. gsm_symbolic is
# left out on purpose: its items are GSM8K test templates with new names and numbers, reported
# separately by benchmarks/decontam.py.
CLEAN_GYM = ("basic_arithmetic", "leg_counting", "family_relationships", "calendar_arithmetic", "time_intervals",
             "fraction_simplification", "prime_factorization", "gcd", "lcm", "simple_geometry", "count_primes",
             "dice", "coin_flip", "chain_sum", "decimal_arithmetic", "number_sorting", "base_conversion",
             "bitwise_arithmetic", "syllogism", "complex_arithmetic", "power_function", "products")

EXTRA_SENTENCES = (
    "Show your reasoning before giving the final answer.",
    "This question comes from a practice worksheet.",
    "Think carefully, then answer.",
    "Give the answer as a number.",
    "Please explain each step.",
)


def read_benchmark(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def task(text: str, answer, kind: str = "planted", meta: dict | None = None, fingerprint: str | None = None) -> Task:
    return Task(kind=kind, prompt=[Message("system", "Answer the question."), Message("user", text)], answer=answer,
                verifier=VerifierSpec("exact", {}), provenance=Provenance(generator=kind), meta=meta or {},
                fingerprint=fingerprint)


def gym_tasks(n: int, seed: int = 0, datasets: tuple[str, ...] = CLEAN_GYM) -> list[Task]:
    """n reasoning-gym tasks spread over `datasets`."""
    from rlvr.synth.gym import GymConfig, GymGenerator

    gens = [GymGenerator(GymConfig(name)) for name in datasets]
    return [gens[i % len(gens)].generate(seed, i // len(gens)) for i in range(n)]


# ----------------------------------------------------------------------------- light edits


def _whitespace(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    out = []
    for w in words:
        out.append(w)
        r = rng.random()
        out.append("  " if r < 0.15 else ("\n" if r < 0.2 else " "))
    return "  " + "".join(out).strip() + " \n"


def _punctuation(text: str, rng: random.Random) -> str:
    # Only commas that separate words: in "(5,4)" the comma is part of the mathematics.
    text = text.replace(", ", " ") if rng.random() < 0.5 else text.replace(", ", " , ")
    text = re.sub(r"\?\s*$", ".", text.strip()) if rng.random() < 0.5 else text.rstrip(".?") + "?!"
    return text.replace("'", "") if rng.random() < 0.5 else text.replace(". ", "; ", 1)


def _case(text: str, rng: random.Random) -> str:
    return [str.upper, str.lower, str.title][rng.randrange(3)](text)


def _add_sentence(text: str, rng: random.Random) -> str:
    extra = rng.choice(EXTRA_SENTENCES)
    return f"{extra} {text}" if rng.random() < 0.5 else f"{text} {extra}"


LIGHT_EDITS = {"whitespace": _whitespace, "punctuation": _punctuation, "case": _case, "sentence": _add_sentence}


def light_edit(text: str, rng: random.Random) -> tuple[str, str]:
    """One to three light edits, always at least one; returns (text, names of the edits)."""
    names = rng.sample(sorted(LIGHT_EDITS), rng.randint(1, 3))
    for name in names:
        text = LIGHT_EDITS[name](text, rng)
    return text, "+".join(names)


def change_one_number(text: str, rng: random.Random) -> str | None:
    """The text with one of its numbers replaced by another value; None if it has no number."""
    spans = [m.span() for m in re.finditer(r"\d+", text)]
    if not spans:
        return None
    start, end = rng.choice(spans)
    old = int(text[start:end])
    new = old + rng.randint(1, 9)
    return text[:start] + str(new) + text[end:]


# ----------------------------------------------------------------------------- procedural family


def farm_task(cows: int, hens: int, name: str = "Maria") -> Task:
    """A templated procedural task; its fingerprint is the instance (cows, hens)."""
    text = (f"{name} keeps animals on a small farm. There are {cows} cows and {hens} chickens in the yard, and "
            f"every animal is standing. Each cow has four legs and each chicken has two legs. How many legs are "
            f"there in the yard altogether?")
    return task(text, 4 * cows + 2 * hens, kind="test.farm", fingerprint=f"{cows}:{hens}")


# ----------------------------------------------------------------------------- planted corpus


def planted_decontam_corpus(bench: dict[str, list[dict]], paraphrases: list[tuple[str, str, str]], n_copies: int,
                            clean: list[Task], seed: int = 0) -> list[Task]:
    """Clean tasks plus, per benchmark, n_copies verbatim and n_copies lightly edited copies and
    every hand-written paraphrase. Tasks carry meta planted/source_id/benchmark."""
    rng = random.Random(seed)
    tasks = [t for t in clean]
    for name, rows in bench.items():
        picks = rng.sample(rows, min(len(rows), 2 * n_copies))
        for k, row in enumerate(picks):
            if k < n_copies:
                text, how = row["question"], "verbatim"
            else:
                text, how = light_edit(row["question"], rng)
            tasks.append(task(text, row["answer"], kind=f"planted.{how.split('+')[0]}",
                              meta={"planted": "verbatim" if how == "verbatim" else "light", "edits": how,
                                    "source_id": row["id"], "benchmark": name}))
    answers = {row["id"]: row["answer"] for rows in bench.values() for row in rows}
    for name, source_id, text in paraphrases:
        tasks.append(task(text, answers.get(source_id), kind="planted.paraphrase",
                          meta={"planted": "paraphrase", "source_id": source_id, "benchmark": name}))
    rng.shuffle(tasks)
    return tasks
