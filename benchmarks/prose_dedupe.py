"""Near-duplicate recall on prose: the numbers guard on (as for task tables) and off (plain text).

Corpus: paragraphs of ../shared/data/corpus (three open textbooks, chunks of 60 to 140 words),
plus planted near copies of a random share of them with 1 to 4 edits each: words deleted,
replaced or inserted, and in half of the copies a number changed or added (a year, a page or
figure number: what reprints, mirrors and scraped copies of prose differ in). Truth: every pair
whose exact Jaccard similarity of word 5-gram shingles (rlvr's normalised tokens) is >= 0.8.

The items are plain-text records (no task kind), so by default the numbers guard is off
(rlvr.curate.guards); `same_numbers=True` forces it on, as for task tables. Precision and
recall are over pairs: a confirmed pair is right when its true Jaccard is >= 0.8.

    python benchmarks/prose_dedupe.py [--variants 3000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
CORPUS = REPO.parent / "shared" / "data" / "corpus"

from dedupe import shingle_strings, true_pairs  # noqa: E402

from rlvr.curate.config import CurateConfig  # noqa: E402
from rlvr.curate.items import Inputs, items_from_documents  # noqa: E402
from rlvr.curate.minhash import MinHashStep  # noqa: E402
from rlvr.curate.runner import run_steps  # noqa: E402
from rlvr.records import Document  # noqa: E402

FILLERS = ["really", "quite", "exactly", "also", "then", "now", "still", "just", "simply", "indeed"]


def paragraphs(rng: random.Random) -> list[str]:
    out = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            words = json.loads(line).get("text", "").split()
            start = 0
            while start + 60 <= len(words):
                size = rng.randint(60, 140)
                out.append(" ".join(words[start:start + size]))
                start += size
    return out


def edit(text: str, rng: random.Random, n_edits: int, numbers: bool) -> str:
    words = text.split()
    for _ in range(n_edits):
        op = rng.randrange(3)
        i = rng.randrange(len(words))
        if op == 0 and len(words) > 10:
            del words[i]
        elif op == 1:
            words[i] = rng.choice(FILLERS)
        else:
            words.insert(i, rng.choice(FILLERS))
    if numbers:
        spots = [i for i, w in enumerate(words) if re.fullmatch(r"\d+[.,;:)]?", w)]
        if spots:
            i = rng.choice(spots)
            words[i] = re.sub(r"\d+", lambda m: str(int(m.group(0)) + rng.randint(1, 9)), words[i])
        else:
            words.insert(rng.randrange(len(words)), f"({rng.randint(1900, 2024)})")
    return " ".join(words)


def run(docs: list[Document], same_numbers: bool | None) -> tuple[set, float, str]:
    config = CurateConfig(steps=["minhash"], same_numbers=same_numbers)
    step = MinHashStep(config)
    index = {d.doc_id: i for i, d in enumerate(docs)}
    start = time.process_time()
    result = run_steps(Inputs(items_from_documents(docs, None, None), documents=docs), [step])
    seconds = time.process_time() - start
    source = next(d["evidence"]["source"] for d in result.decisions.to_pylist() if d["reason"] == "near_duplicate")
    return {tuple(sorted((index[a], index[b]))) for a, b in step.confirmed_pairs}, seconds, source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    base = paragraphs(rng)
    texts = list(base)
    for _ in range(args.variants):
        texts.append(edit(rng.choice(base), rng, rng.randint(1, 4), numbers=rng.random() < 0.5))
    docs = [Document(doc_id=f"p{i:06d}", text=t, source="corpus") for i, t in enumerate(texts)]
    truth = true_pairs([shingle_strings(t) for t in texts])
    print(f"corpus: {len(base)} paragraphs + {args.variants} near copies; {len(truth)} pairs with exact "
          f"Jaccard >= 0.8 (word 5-grams)\n")
    print(f"{'numbers guard':<36} {'recall':>7} {'precision':>9} {'pairs':>7} {'cpu s':>6}  decisions say")
    for label, setting in (("default for plain text (off)", None), ("forced on (as for task tables)", True)):
        found, seconds, source = run(docs, setting)
        hits = len(found & truth)
        recall, precision = hits / max(1, len(truth)), hits / max(1, len(found))
        print(f"{label:<36} {recall:>7.3f} {precision:>9.3f} {len(found):>7} {seconds:>6.1f}  {source!r}")
        if setting is None:
            ok = recall >= 0.98 and precision >= 0.99
            print(f"targets: recall >= 0.98, precision >= 0.99 [{'ok' if ok else 'MISSED'}]")


if __name__ == "__main__":
    main()
