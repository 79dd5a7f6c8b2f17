"""FIM embedded mode on the shared corpus: passages per second, and the share of documents that
yield a task.

The generator is built over the whole corpus (../shared/data/corpus: every passage's best spans
form the distractor pool). A seeded sample of the input documents is then processed in full:
every passage of those documents that passed the reasoning filter is turned into an item or a
drop reason, with a cold embedding cache (a fresh $RLVR_CACHE), then again with the cache warm.

Absolute times on a shared machine are noisy, so the run also measures its own baseline: the
bundled embedder alone, encoding pool spans with a cold cache (texts per second). Embedding is
what embedded mode spends its time on, so "passages/s / embedder texts/s" says how many
embedder-calls' worth of work one passage costs, which is stable across machines.

    python benchmarks/fim_throughput.py [--docs 60] [--seed 0] [--options 4]
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "corpus"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=60, help="documents sampled and processed in full (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--options", type=int, default=4)
    parser.add_argument("--baseline-texts", type=int, default=256, help="pool spans the embedder-alone run encodes")
    args = parser.parse_args()
    files = sorted(glob.glob(str(CORPUS / "*.jsonl")))
    if not files:
        print(f"no corpus under {CORPUS}; this benchmark needs ../shared/data/corpus", file=sys.stderr)
        return 2
    os.environ["RLVR_CACHE"] = tempfile.mkdtemp(prefix="fim-bench-")  # cold embedding cache
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from rlvr.models.embed import EmbeddingCache
    from rlvr.synth.fim.config import FimConfig
    from rlvr.synth.fim.corpus import load_corpus
    from rlvr.synth.fim.generator import FimGenerator
    from rlvr.synth.fim.task import FimItem

    t0 = time.perf_counter()
    corpus = load_corpus(files)
    t1 = time.perf_counter()
    cache = EmbeddingCache(path=Path(os.environ["RLVR_CACHE"]) / "bench.sqlite")
    gen = FimGenerator(FimConfig(corpus=files, options=args.options), documents=corpus.documents, embeddings=cache)
    t2 = time.perf_counter()
    counts = gen.report(args.seed)
    print(f"corpus: {len(corpus.documents)} documents read in {t1 - t0:.1f}s; {counts['passages_seen']} passages, "
          f"{counts['passages_kept']} pass the filters; generator built in {t2 - t1:.1f}s "
          f"({counts['passages_kept'] / (t2 - t1):.0f} passages/s for extraction, spans and the TF-IDF index)")

    rng = random.Random(args.seed)
    docs = list(corpus.documents) if args.docs <= 0 else rng.sample(list(corpus.documents), args.docs)
    chosen = {d.doc_id for d in docs}
    indices = [i for i, p in enumerate(gen.passages) if p.doc_id in chosen]

    # Baseline: the embedder alone on pool spans it has not seen (model loaded before timing).
    cache.embed(["load the model before timing"])
    pool = [s.text for s in gen.miner.pool]
    sample = rng.sample(pool, min(args.baseline_texts, len(pool)))
    base_cache = EmbeddingCache(path=Path(os.environ["RLVR_CACHE"]) / "baseline.sqlite")
    base_cache.embed(["load the model before timing"])
    t3 = time.perf_counter()
    base_cache.embed(sample)
    embed_rate = len(sample) / (time.perf_counter() - t3)

    t4 = time.perf_counter()
    cold = gen.outcomes(args.seed, indices)
    cold_s = time.perf_counter() - t4
    encoded = cache.computed - 1
    t5 = time.perf_counter()
    warm = gen.outcomes(args.seed, indices)
    warm_s = time.perf_counter() - t5
    assert [getattr(x, "start", x) for x in cold] == [getattr(x, "start", x) for x in warm], "outcomes must repeat"

    tasks = sum(isinstance(x, FimItem) for x in cold)
    reasons = Counter(x for x in cold if isinstance(x, str))
    doc_yield = Counter()
    for i, x in zip(indices, cold):
        if isinstance(x, FimItem):
            doc_yield[gen.passages[i].doc_id] += 1
    by_source = Counter(d.source for d in docs)
    yielded_by_source = Counter(d.source for d in docs if doc_yield[d.doc_id])
    cold_rate, warm_rate = len(indices) / cold_s, len(indices) / warm_s

    print(f"sample: {len(docs)} documents, {len(indices)} filtered passages, options={args.options}")
    print(f"baseline, embedder alone (cold cache): {embed_rate:.1f} texts/s")
    print(f"embedded mode, cold cache: {cold_rate:.2f} passages/s ({encoded / max(len(indices), 1):.1f} texts "
          f"embedded per passage)")
    print(f"embedded mode, warm cache: {warm_rate:.2f} passages/s")
    print(f"ratio cold passages/s : embedder texts/s = {cold_rate / embed_rate:.3f} "
          f"(one passage costs ~{embed_rate / cold_rate:.1f} embedder texts)")
    print(f"ratio warm : cold = {warm_rate / cold_rate:.1f}x")
    print(f"passages yielding a task: {tasks}/{len(indices)} = {tasks / max(len(indices), 1):.1%}; "
          f"drops: {dict(reasons.most_common())}")
    with_passage = {gen.passages[i].doc_id for i in indices}
    print(f"documents yielding at least one task: {len(doc_yield)}/{len(docs)} = {len(doc_yield) / len(docs):.1%} "
          f"({len(doc_yield)}/{len(with_passage)} of those with a passage that passed the filters; the rest are "
          f"too short, low in reasoning, exercise lists or bare code)")
    for source, n in sorted(by_source.items()):
        print(f"  {source}: {yielded_by_source[source]}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
