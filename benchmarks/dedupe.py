"""Near-duplicate dedupe: rlvr's MinHash step against datasketch used as its README shows.

Corpus: reasoning-gym prompts, GSM8K / MATH-500 / MMLU-STEM questions, and for a share of them
variants with 1 to 4 word edits (deletions, substitutions, insertions of letter-only words),
so true Jaccard similarities spread across 0.5..1. Truth: every pair whose exact Jaccard
similarity of word 5-gram shingle sets (rlvr's normalised tokens) is >= 0.8, computed with a
sparse matrix product. Both methods start from the raw texts and use the same tokens and
shingles, so they are scored against the same truth:

- baseline: for each document `m = MinHash(num_perm=128); for s in shingles: m.update(s)`,
  `MinHashLSH(threshold=0.8, num_perm=128)`, insert all, then `lsh.query(m)` for each; the
  pairs returned are its answer (the README's usage: no confirmation step).
- rlvr: MinHashStep (bulk numpy signatures, permissive bands, exact-Jaccard confirmation,
  union-find); its answer is the set of confirmed pairs. The number/answer guards are turned
  off here so both methods answer the same question (is Jaccard >= 0.8); a second rlvr run
  with the guards on reports how many number-changed variants each would call duplicates.

Times are CPU seconds of this process (robust on a shared machine), median of interleaved
repeats; throughput is documents per CPU second, and the ratio is rlvr / baseline.

    python benchmarks/dedupe.py [--docs 6000] [--variants 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "curate"))  # the planted-corpus helpers the tests use
DATA = REPO.parent / "shared" / "data" / "benchmarks"

from planted import farm_task, gym_tasks  # noqa: E402

from rlvr.curate.config import CurateConfig  # noqa: E402
from rlvr.curate.items import Inputs, items_from_tasks  # noqa: E402
from rlvr.curate.minhash import MinHashStep, band_params, candidate_probability  # noqa: E402
from rlvr.curate.runner import run_steps  # noqa: E402
from rlvr.curate.text import tokens  # noqa: E402
from rlvr.records import Message, Provenance, Task, VerifierSpec  # noqa: E402

SHINGLE = 5
THRESHOLD = 0.8
FILLERS = ["really", "quite", "exactly", "also", "then", "now", "still", "just", "simply", "indeed"]


def _task(text: str, kind: str = "bench") -> Task:
    return Task(kind=kind, prompt=[Message("user", text)], answer=None, verifier=VerifierSpec("exact"),
                provenance=Provenance(kind))


def edit_words(text: str, rng: random.Random, n_edits: int) -> str:
    words = text.split()
    for _ in range(n_edits):
        letters = [i for i, w in enumerate(words) if w.isalpha()]
        op = rng.randrange(3)
        if op == 0 and len(letters) > 3:
            del words[rng.choice(letters)]
        elif op == 1 and letters:
            words[rng.choice(letters)] = rng.choice(FILLERS)
        else:
            words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
    return " ".join(words)


def build_corpus(n_docs: int, n_variants: int, seed: int) -> list[Task]:
    rng = random.Random(seed)
    texts: list[str] = []
    for name in ("gsm8k_test", "math500_test", "mmlu_stem_test"):
        with open(DATA / f"{name}.jsonl", encoding="utf-8") as fh:
            texts += [json.loads(line)["question"] for line in fh]
    rng.shuffle(texts)
    base = [_task(t) for t in texts[: n_docs // 2]] + gym_tasks(n_docs - n_docs // 2, seed=seed)
    long_enough = [t for t in base if len(t.prompt_text.split()) >= 15]
    variants = [_task(edit_words(t.prompt_text, rng, rng.randint(1, 4)), kind="variant")
                for t in rng.choices(long_enough, k=n_variants)]
    # Number-changed variants of one template: not duplicates of each other for a verifier.
    farms = [farm_task(c, h) for c in range(1, 11) for h in range(1, 11)]
    return list({t.task_id: t for t in base + variants + farms}.values())


def shingle_strings(text: str) -> set[str]:
    toks = tokens(text)
    if len(toks) < SHINGLE:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i:i + SHINGLE]) for i in range(len(toks) - SHINGLE + 1)}


def true_pairs(shingle_sets: list[set[str]]) -> set[tuple[int, int]]:
    from scipy import sparse

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, s in enumerate(shingle_sets):
        for sh in s:
            rows.append(i)
            cols.append(vocab.setdefault(sh, len(vocab)))
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(shingle_sets), len(vocab)))
    inter = sparse.triu(x @ x.T, k=1).tocoo()
    sizes = np.asarray(x.sum(axis=1)).ravel()
    jac = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    hit = jac >= THRESHOLD
    return set(zip(inter.row[hit].tolist(), inter.col[hit].tolist()))


def run_baseline(texts: list[str]) -> tuple[set[tuple[int, int]], float]:
    from datasketch import MinHash, MinHashLSH

    start = time.process_time()
    sketches = []
    for text in texts:
        m = MinHash(num_perm=128)
        for sh in shingle_strings(text):
            m.update(sh.encode("utf8"))
        sketches.append(m)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    for i, m in enumerate(sketches):
        lsh.insert(i, m)
    pairs = {(min(i, j), max(i, j)) for i, m in enumerate(sketches) for j in lsh.query(m) if j != i}
    return pairs, time.process_time() - start


def run_rlvr(tasks: list[Task], guards: bool) -> tuple[set[tuple[int, int]], float, dict]:
    config = CurateConfig(steps=["minhash"], shingle_size=SHINGLE, threshold=THRESHOLD, same_numbers=guards,
                          same_answer=guards)
    index = {t.task_id: i for i, t in enumerate(tasks)}
    start = time.process_time()
    step = MinHashStep(config)
    result = run_steps(Inputs(items_from_tasks(tasks), tasks=tasks), [step], batch_size=config.batch_size)
    seconds = time.process_time() - start
    pairs = {tuple(sorted((index[a], index[b]))) for a, b in step.confirmed_pairs}
    return pairs, seconds, result.counts


def score(found: set, truth: set) -> tuple[float, float]:
    hits = len(found & truth)
    return hits / max(1, len(truth)), hits / max(1, len(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=6000)
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tasks = build_corpus(args.docs, args.variants, args.seed)
    texts = [t.prompt_text for t in tasks]
    truth = true_pairs([shingle_strings(t) for t in texts])
    print(f"corpus: {len(tasks)} documents, {len(truth)} pairs with exact Jaccard >= {THRESHOLD} "
          f"(word {SHINGLE}-gram shingles)")
    from datasketch import MinHashLSH

    base_lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    bands, rows = band_params(THRESHOLD, 128, 0.99)
    print(f"bands: baseline {base_lsh.b}x{base_lsh.r} (P[candidate | J=0.8] = "
          f"{candidate_probability(0.8, base_lsh.b, base_lsh.r):.3f}), rlvr {bands}x{rows} "
          f"({candidate_probability(0.8, bands, rows):.3f})")

    base_times, rlvr_times = [], []
    for _ in range(args.repeats):  # interleaved, so load on the machine hits both alike
        base_pairs, t = run_baseline(texts)
        base_times.append(t)
        rlvr_pairs, t, _ = run_rlvr(tasks, guards=False)
        rlvr_times.append(t)
    tb, tr = statistics.median(base_times), statistics.median(rlvr_times)
    rb, pb = score(base_pairs, truth)
    rr, pr = score(rlvr_pairs, truth)
    n = len(tasks)
    print(f"\n{'method':<34} {'recall':>7} {'precision':>9} {'pairs':>7} {'docs/cpu-s':>11}")
    print(f"{'datasketch README (baseline)':<34} {rb:>7.3f} {pb:>9.3f} {len(base_pairs):>7} {n / tb:>11.0f}")
    print(f"{'rlvr minhash (guards off)':<34} {rr:>7.3f} {pr:>9.3f} {len(rlvr_pairs):>7} {n / tr:>11.0f}")
    print(f"\nthroughput ratio rlvr / baseline: {tb / tr:.2f}x  (CPU s: baseline {tb:.2f}, rlvr {tr:.2f}; "
          f"median of {args.repeats})")
    print(f"targets: recall >= 0.95 [{'ok' if rr >= 0.95 else 'MISSED'}], precision >= 0.99 "
          f"[{'ok' if pr >= 0.99 else 'MISSED'}], throughput >= 2x [{'ok' if tb / tr >= 2 else 'MISSED'}]")

    farm_ids = {i for i, t in enumerate(tasks) if t.kind == "test.farm"}
    guarded, _, counts = run_rlvr(tasks, guards=True)
    in_farm = lambda pairs: sum(1 for a, b in pairs if a in farm_ids and b in farm_ids)  # noqa: E731
    print(f"\nnumber-changed variants of one template ({len(farm_ids)} farm tasks): pairs called duplicates by "
          f"baseline {in_farm(base_pairs)}, rlvr guards off {in_farm(rlvr_pairs)}, rlvr guards on {in_farm(guarded)}")
    print(f"rlvr with guards, books: {counts}")


if __name__ == "__main__":
    main()
