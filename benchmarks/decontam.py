"""Decontamination: rlvr's decontam step against an open-r1-style 8-gram set lookup.

Benchmarks: GSM8K and MATH-500 test questions (../shared/data/benchmarks). Corpus:
reasoning-gym tasks (clean), plus copies of benchmark items planted verbatim, lightly edited
(whitespace, punctuation, case, one added sentence) and paraphrased (the hand-written
paraphrases of tests/curate/paraphrases.py: the set the thresholds were chosen on, and a
held-out set written afterwards, reported separately). Two more sets are reported but not scored as
right or wrong: MMLU-STEM test questions (another benchmark, which really does contain some
MATH-500 problems) and reasoning-gym's gsm_symbolic (GSM8K test templates with new names and
numbers).

- baseline (open-r1 scripts/decontaminate.py): lower-case, split on whitespace, word 8-grams
  joined into strings, a task is contaminated if any of its 8-grams is in the set built from
  the benchmark questions.
- rlvr: DecontamStep with its defaults (8-gram coverage >= 0.5 on normalised tokens, plus the
  paraphrase check: lexical/number retrieval, MiniLM cosine confirmation).

Throughput is measured on the clean corpus alone (the steady state of scanning a large
dataset): tasks per CPU second of this process, median of interleaved repeats, with a fresh
embedding cache each time (the model is loaded once, before timing, like the baseline's index).
The end-to-end time over the planted corpus, where every paraphrase needs an embedding, is
printed too. Index build times are reported separately for both.

    python benchmarks/decontam.py [--clean 20000] [--copies 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "curate"))  # the planted-corpus helpers the tests use
DATA = REPO.parent / "shared" / "data" / "benchmarks"

import pyarrow.compute as pc  # noqa: E402
from paraphrases import all_paraphrases, held_out_paraphrases  # noqa: E402
from planted import gym_tasks, planted_decontam_corpus, read_benchmark, task  # noqa: E402

from rlvr.curate.config import CurateConfig  # noqa: E402
from rlvr.curate.decontam import DecontamStep  # noqa: E402
from rlvr.curate.items import Inputs, items_from_tasks  # noqa: E402
from rlvr.curate.runner import run_steps  # noqa: E402
from rlvr.models.embed import EmbeddingCache  # noqa: E402

BENCHMARKS = ("gsm8k_test", "math500_test")


# ----------------------------------------------------------------------------- the baseline


def normalize_string(text: str) -> str:
    return " ".join(text.lower().strip().split())


def word_ngrams(text: str, n: int) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


def build_lookup(questions: list[str], n: int = 8) -> dict[str, set[int]]:
    lookup: dict[str, set[int]] = collections.defaultdict(set)
    for i, q in enumerate(questions):
        for gram in word_ngrams(normalize_string(q), n):
            lookup[gram].add(i)
    return lookup


def baseline_flags(texts: list[str], lookup: dict[str, set[int]], n: int = 8) -> list[bool]:
    return [any(gram in lookup for gram in set(word_ngrams(normalize_string(t), n))) for t in texts]


# ----------------------------------------------------------------------------- rlvr


def as_inputs(tasks) -> Inputs:
    """The item table (text per task): built outside the timed region, like the baseline's text list."""
    return Inputs(items_from_tasks(tasks), tasks=tasks)


def rlvr_flags(step: DecontamStep, inputs: Inputs) -> list[bool]:
    result = run_steps(inputs, [step], batch_size=step.config.batch_size)
    stage = result.decisions.filter(pc.equal(result.decisions.column("stage"), "decontam"))
    flagged = dict(zip(stage.column("task_id").to_pylist(), pc.invert(stage.column("keep")).to_pylist()))
    return [flagged.get(i, False) for i in inputs.items.column("id").to_pylist()]


def fresh_cache(model) -> EmbeddingCache:
    cache = EmbeddingCache(path=Path(tempfile.mkdtemp(prefix="rlvr-emb-")) / "emb.sqlite")
    cache._model = model  # loaded once before timing, as the baseline's index is built once
    return cache


def cpu(fn):
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def rates(flags: list[bool], labels: list[str]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for f, label in zip(flags, labels):
        out[label][0] += f
        out[label][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", type=int, default=20000)
    parser.add_argument("--copies", type=int, default=200, help="verbatim and light copies per benchmark")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    files = [str(DATA / f"{name}.jsonl") for name in BENCHMARKS]
    bench = {name: read_benchmark(path) for name, path in zip(BENCHMARKS, files)}
    questions = [r["question"] for rows in bench.values() for r in rows]
    clean = gym_tasks(args.clean, seed=1)
    planted = planted_decontam_corpus(bench, all_paraphrases(), args.copies, clean=[], seed=2)
    held_out = planted_decontam_corpus(bench, held_out_paraphrases(), 0, clean=[], seed=2)
    for t in held_out:
        t.meta["planted"] = "paraphrase (held out)"
    planted += held_out
    mmlu = [task(r["question"], r["answer"], kind="mmlu") for r in read_benchmark(DATA / "mmlu_stem_test.jsonl")]
    symbolic = gym_tasks(500, seed=3, datasets=("gsm_symbolic",))

    lookup, t_base_index = cpu(lambda: build_lookup(questions))
    config = CurateConfig(steps=["decontam"], benchmarks=files)
    step, t_rlvr_index = cpu(lambda: DecontamStep(config))
    model = EmbeddingCache(config.embedder)
    model.embed(["warm-up"])
    print(f"index build (CPU s): baseline {t_base_index:.2f}, rlvr {t_rlvr_index:.2f}; "
          f"{len(questions)} benchmark questions")

    # Throughput on the clean corpus, interleaved repeats.
    texts = [t.prompt_text for t in clean]
    clean_inputs = as_inputs(clean)
    base_t, rlvr_t, embedded = [], [], []
    for _ in range(args.repeats):
        base_clean, t = cpu(lambda: baseline_flags(texts, lookup))
        base_t.append(t)
        step._cache = fresh_cache(model._model)
        rlvr_clean, t = cpu(lambda: rlvr_flags(step, clean_inputs))
        rlvr_t.append(t)
        embedded.append(step._cache.computed)
    tb, tr = statistics.median(base_t), statistics.median(rlvr_t)

    # Recall and false positives on the planted corpus (planted items + the clean corpus).
    step._cache = fresh_cache(model._model)
    planted_inputs = as_inputs(planted)
    planted_flags, t_planted = cpu(lambda: rlvr_flags(step, planted_inputs))
    para_embedded = step._cache.computed
    base_planted = baseline_flags([t.prompt_text for t in planted], lookup)
    labels = [t.meta["planted"] for t in planted]
    ours, theirs = rates(planted_flags, labels), rates(base_planted, labels)
    ours["clean"] = (sum(rlvr_clean), len(clean))
    theirs["clean"] = (sum(base_clean), len(clean))
    extra_ours = {"mmlu-stem (other benchmark)": rlvr_flags(step, as_inputs(mmlu)),
                  "gsm_symbolic (GSM8K templates, new numbers)": rlvr_flags(step, as_inputs(symbolic))}
    extra_base = {"mmlu-stem (other benchmark)": baseline_flags([t.prompt_text for t in mmlu], lookup),
                  "gsm_symbolic (GSM8K templates, new numbers)": baseline_flags([t.prompt_text for t in symbolic],
                                                                                 lookup)}

    print(f"\n{'set':<46} {'baseline flagged':>18} {'rlvr flagged':>18}")
    for label in ("verbatim", "light", "paraphrase", "paraphrase (held out)", "clean"):
        (fb, nb), (fr, nr) = theirs[label], ours[label]
        print(f"{label:<46} {fb:>6}/{nb:<6} {fb / nb:>5.3f} {fr:>6}/{nr:<6} {fr / nr:>5.3f}")
    for label in extra_ours:
        fb, fr, n = sum(extra_base[label]), sum(extra_ours[label]), len(extra_ours[label])
        print(f"{label:<46} {fb:>6}/{n:<6} {fb / n:>5.3f} {fr:>6}/{n:<6} {fr / n:>5.3f}")

    light = (ours["verbatim"][0] + ours["light"][0]) / (ours["verbatim"][1] + ours["light"][1])
    para = ours["paraphrase"][0] / ours["paraphrase"][1]
    held = ours["paraphrase (held out)"][0] / ours["paraphrase (held out)"][1]
    fp = ours["clean"][0] / ours["clean"][1]
    print(f"\nthroughput on {len(clean)} clean tasks (tasks per CPU s, median of {args.repeats}): "
          f"baseline {len(clean) / tb:.0f}, rlvr {len(clean) / tr:.0f} "
          f"(embedded {statistics.median(embedded):.0f} texts per run); ratio rlvr / baseline {tb / tr:.2f}")
    print(f"end to end over the {len(planted)} planted items: rlvr {t_planted:.2f} CPU s, of which "
          f"{para_embedded} texts embedded (paraphrase candidates and their benchmark items)")
    print(f"targets: verbatim+light >= 0.99 [{light:.3f} {'ok' if light >= 0.99 else 'MISSED'}], paraphrased >= 0.80 "
          f"[{para:.3f} {'ok' if para >= 0.8 else 'MISSED'}; held out {held:.3f} {'ok' if held >= 0.8 else 'MISSED'}], clean <= 0.005 [{fp:.4f} {'ok' if fp <= 0.005 else 'MISSED'}], "
          f"throughput >= 0.5x baseline [{tb / tr:.2f} {'ok' if tb / tr >= 0.5 else 'MISSED'}]")


if __name__ == "__main__":
    main()
