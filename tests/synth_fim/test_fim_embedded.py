"""Embedded mode on the real corpora in ../shared/data/corpus (skipped with a reason when absent):
every produced item passes every guard, provenance points back into the source document, the
walk is a pure function of (seed, idx), and counts add up."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import shared_file

from rlvr.records import Document, Task
from rlvr.synth.fim.config import FimConfig
from rlvr.synth.fim.generator import FimGenerator
from rlvr.synth.fim.guards import MASK, SpanLimits, check_item
from rlvr.synth.fim.text import normalize, tokens
from rlvr.verify import gold_completion, verify

pytestmark = pytest.mark.slow  # loads the embedder and embeds a few hundred spans

FILES = ("cp_algorithms.jsonl", "d2l_en.jsonl", "simple_nature_crowell.jsonl")
PER_FILE = 100


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    docs = []
    for name in FILES:
        with open(shared_file("corpus", name), encoding="utf-8") as fh:
            for _, line in zip(range(PER_FILE), fh):
                row = json.loads(line)
                docs.append(Document(row["id"], row["text"], source=row["source"], title=row["title"],
                                     license=row["license"]))
    return docs


@pytest.fixture(scope="module")
def generator(documents) -> FimGenerator:
    return FimGenerator(FimConfig(corpus=["shared"]), documents=documents)


@pytest.fixture(scope="module")
def tasks(generator) -> list[Task]:
    return list(generator.iter_tasks(seed=5, n=8))


def assert_item_ok(task: Task, config: FimConfig, docs_by_id: dict[str, Document]) -> None:
    meta = task.meta
    passage, span = meta["passage"], meta["span"]
    answer = span["text"]
    # the span is a verbatim slice of the passage, and the passage of its document
    assert passage[span["start"]:span["end"]] == answer and passage.count(answer) == 1
    assert docs_by_id[meta["doc_id"]].text[span["doc_start"]:span["doc_end"]] == answer
    assert meta["masked_text"] == passage[:span["start"]] + MASK + passage[span["end"]:]
    assert answer not in meta["masked_text"] and MASK in task.prompt_text
    options, origins = meta["options"], meta["option_origins"]
    assert len(options) == config.options == task.verifier.params["n_options"]
    key = "ABCDEFGHI".index(task.answer)
    assert options[key] == answer and origins[key] == {"kind": "answer"}
    distractors = [o for i, o in enumerate(options) if i != key]
    limits = SpanLimits(config.span_min_tokens, config.span_max_tokens, config.span_max_fraction)
    assert check_item(passage, span["start"], span["end"], distractors, config.options, limits) is None
    # the same guards, spelled out independently of guards.py
    assert len({normalize(o) for o in options}) == len(options)
    lengths = [len(tokens(o)) for o in options]
    assert sum(n >= lengths[key] for n in lengths) > 1 and sum(n <= lengths[key] for n in lengths) > 1
    assert config.span_min_tokens <= lengths[key] <= config.span_max_tokens
    for origin in origins:
        if origin["kind"] == "mined":
            assert origin["doc_id"] != meta["doc_id"] and config.cosine_min <= origin["cosine"] <= config.cosine_max
        elif origin["kind"].startswith("perturb:"):
            assert origin["of"] == "answer" or origins["ABCDEFGHI".index(origin["of"])]["kind"] == "mined"
        else:
            assert origin["kind"] == "answer"
    assert verify(task, gold_completion(task)).reward == 1.0


def test_every_item_passes_every_guard(tasks, generator, documents):
    assert len(tasks) == 8
    by_id = {d.doc_id: d for d in documents}
    for task in tasks:
        assert_item_ok(task, generator.config, by_id)
    kinds = Counter(o["kind"].split(":")[0] for t in tasks for o in t.meta["option_origins"])
    assert kinds["mined"] > 0 and kinds["perturb"] > 0


def test_counts_add_up_and_yield_meets_target(tasks, generator):
    report = generator.report(5)
    dropped = sum(v for k, v in report.items() if k.startswith("dropped:"))
    assert report["passages_visited"] == report["yielded_task"] + dropped
    assert report["passages_kept"] == report["passages_visited"] + report["passages_not_visited"]
    assert report["documents"] == 3 * PER_FILE
    assert report["yielded_task"] / report["passages_visited"] >= 0.6, report


def test_generate_is_a_pure_function_of_seed_and_index(tasks, generator, documents):
    fresh = FimGenerator(generator.config, documents=documents)
    backwards = [fresh.generate(5, i).task_id for i in (2, 1, 0)]
    assert backwards == [tasks[i].task_id for i in (2, 1, 0)], "same (seed, idx) -> same task, in any order"
    assert [t.provenance.index for t in tasks] == list(range(8))


def test_nine_options_is_one_flag_away(generator, documents):
    config = FimConfig(corpus=["shared"], options=9, perturbations=2)
    nine = FimGenerator(config, documents=documents)
    by_id = {d.doc_id: d for d in documents}
    items = list(nine.iter_tasks(seed=5, n=2))
    assert len(items) == 2
    for task in items:
        assert_item_ok(task, config, by_id)
        assert task.answer in "ABCDEFGHI"
