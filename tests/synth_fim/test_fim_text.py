"""Units, passages, reasoning filter, built-in corpus and corpus loading (no model needed)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from rlvr.records import Document
from rlvr.synth.fim.corpus import load_corpus, pydocs
from rlvr.synth.fim.guards import SpanLimits, check_item, check_options, check_span, clean_distractors
from rlvr.synth.fim.passages import boilerplate_reason, extract_passages, split_passages
from rlvr.synth.fim.perturb import perturb_negation, perturb_number, perturb_reorder, perturbations
from rlvr.synth.fim.spans import candidates, top_candidates
from rlvr.synth.fim.text import blocks, local_context, math_signatures, normalize, units

TEXT = """We compute $a^n$ with $O(\\log n)$ multiplications, e.g. by squaring. Since $a^{2b} = (a^b)^2$, the work halves.

$$3^{13} = 3^8 \\cdot 3^4 \\cdot 3^1$$

- First item. It has two sentences.
- Second item costs 1.5 units.

```python
def power(a, n):
    res = 1
    while n > 0:
        res = res * a
    return res
```
"""


def test_units_respect_math_abbreviations_lists_and_code():
    got = [(u.kind, TEXT[u.start:u.end]) for u in units(TEXT)]
    assert got[0] == ("sentence", "We compute $a^n$ with $O(\\log n)$ multiplications, e.g. by squaring.")
    assert got[1][1].startswith("Since $a^{2b}") and got[2][0] == "math"
    assert ("sentence", "First item.") in got and ("sentence", "Second item costs 1.5 units.") in got
    code = [t for k, t in got if k == "code"]
    assert code == ["def power(a, n):", "res = 1", "while n > 0:", "res = res * a", "return res"]
    assert [b.kind for b in blocks(TEXT)] == ["prose", "math", "prose", "code"]


def test_split_passages_never_cuts_a_block_and_covers_the_text():
    doc = "\n\n".join(TEXT for _ in range(6))
    spans = split_passages(doc, min_words=20, max_words=60)
    assert len(spans) > 1
    for s, e in spans:
        piece = doc[s:e]
        assert piece.count("```") % 2 == 0 and piece.count("$$") % 2 == 0


@pytest.mark.parametrize("text,reason", [
    ("Permission is hereby granted, free of charge. THE SOFTWARE IS PROVIDED WITHOUT WARRANTY. Copyright 2020. "
     "Redistribution and use in source and binary forms, with or without modification.", "boilerplate:license"),
    ("- [Intro](a.html)\n- [Setup](b.html)\n- [Usage](c.html)\n- [API](d.html)", "boilerplate:links"),
    ("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |", "boilerplate:table"),
    ("Contents\n\n1. Intro\n2. Setup\n3. Usage\n4. API\n5. Index", "boilerplate:toc"),
])
def test_boilerplate_is_recognised(text, reason):
    assert boilerplate_reason(text) == reason


def test_extract_passages_counts_every_skip():
    reasoning = ("Since the sum of the first $n$ odd numbers is $n^2$, we have $1 + 3 + 5 = 9$. Therefore the "
                 "claim holds for $n = 3$, and by induction it holds for every $n$ because each step adds "
                 "$2n + 1$. ") * 4
    docs = [
        Document("r1", reasoning), Document("r2", reasoning),  # the second is a duplicate passage
        Document("short", "Too short to use."),
        Document("chat", "We went to the park and had a lovely afternoon with friends and family. " * 8),
        Document("quiz", "What is a heap? Why is it useful? How do we build one? When should we avoid it? " * 5),
    ]
    counts = Counter()
    kept = extract_passages(docs, min_words=30, max_words=300, min_reasoning=2.0, counts=counts)
    assert [p.doc_id for p in kept] == ["r1"]
    assert counts["documents"] == 5 and counts["documents_with_passages"] == 1
    assert counts["passage_skipped:duplicate"] == 1 and counts["document_skipped:too_short"] == 1
    assert counts["passage_skipped:low_reasoning"] == 1 and counts["passage_skipped:questions"] == 1
    assert counts["passages_seen"] == counts["passages_kept"] + sum(
        v for k, v in counts.items() if k.startswith("passage_skipped:"))
    assert kept[0].reasoning > 2.0 and kept[0].features["equations"] > 0


def test_candidates_are_verbatim_runs_ranked_by_salience():
    cands = candidates(TEXT, min_tokens=6, max_tokens=60, max_fraction=0.5, max_units=3)
    assert cands and all(c.salience >= d.salience for c, d in zip(cands, cands[1:]))
    for c in cands:
        span = TEXT[c.start:c.end]
        assert span == span.strip() and TEXT.count(span) >= 1
        assert "```" not in span
    top = top_candidates(cands, 3)
    assert all(a.end <= b.start or b.end <= a.start for a in top for b in top if a is not b)


def test_perturbations_are_checkably_different_and_pinned_down():
    rng = random.Random(0)
    ctx = "We compute 3^13 and then 13 more."
    p = perturb_number("so $3^{13} = 1594323$ and $n - 1$ steps", ctx, rng, code=False)
    assert p and p.kind == "number" and normalize(p.text) != normalize("so $3^{13} = 1594323$ and $n - 1$ steps")
    assert perturb_number("It was published in 1959 by Roy.", "", rng, code=False) is None  # a bare fact
    assert perturb_number("1. Make further adjustments.", "1. Item", rng, code=False) is None  # list marker
    assert perturb_number("const int m = 1e9 + 9;\nconst int p = 31;", "", rng, code=True) is None  # constants
    assert perturb_number("x = a[i - 1]", "", rng, code=True).text == "x = a[i - 2]"
    assert perturb_number("return math.exp(-0.1 * t)", "", rng, code=True) is None  # a tunable decimal
    assert perturb_number("net = nn.Sequential(nn.LazyLinear(8))", "", rng, code=True) is None
    assert perturb_number("def train(net, num_epochs=5):", "x = 5", rng, code=True) is None
    assert perturb_negation("os.makedirs(path, exist_ok=True)", rng, code=True) is None  # a free choice
    assert perturb_negation("def f(x, flag=True):", rng, code=True, context="# If `flag=True` ...") is None
    assert perturb_negation("self.plot('loss', l, train=True)", rng, code=True,
                            context="self.plot('loss', l, train=False)").text.endswith("train=False)")
    assert perturb_negation("$y = \\sin(x) + \\epsilon$", rng, code=False) is None  # symmetric noise
    neg = perturb_negation("The error increases with depth.", rng, code=False)
    assert neg.text == "The error decreases with depth."
    assert perturb_negation("This can't really happen.", rng, code=False) is None or "cannot't" not in \
        perturb_negation("This can't really happen.", rng, code=False).text
    assert perturb_negation("if a == b:\n    return a + 1", rng, code=True).kind == "negation"
    assert perturb_reorder("First compute x. Then use x.", code=False) is None  # prose is never reordered
    re_ = perturb_reorder("x = a + b\n    y = x * 2", code=True)
    assert re_.text == "y = x * 2\n    x = a + b"
    assert perturb_reorder("x = 1\n    y = 2", code=True) is None  # independent lines: order does not matter
    kinds = {p.kind for p in perturbations("while n > 0:\n    n = n - 1", "", random.Random(1), code=True)}
    assert kinds <= {"number", "negation", "reorder"} and "negation" in kinds


def test_guards():
    limits = SpanLimits(3, 40, 0.5)
    passage = "Alpha beta gamma delta. The sum is 12 because 5 + 7 = 12. Epsilon zeta eta theta iota."
    s = passage.index("The sum")
    e = passage.index("= 12.") + 5
    assert check_span(passage, s, e, limits) is None
    assert check_span(passage + " The sum is 12 because 5 + 7 = 12.", s, e, limits) == "span_not_unique"
    assert check_span(passage, s, s + 7, limits) == "span_too_short"
    assert check_span(passage, s, e, SpanLimits(3, 5, 0.5)) == "span_too_long"
    assert check_span(passage, s, e, SpanLimits(3, 40, 0.1)) == "span_too_large_fraction"
    leaky = "The sum is 12 because 5 + 7 = 12 indeed. Alpha beta. The sum is 12 because 5 + 7 = 12."
    assert check_span(leaky, leaky.rindex("The sum"), len(leaky), limits) == "answer_leaks"
    answer = passage[s:e]
    keep, rejected = clean_distractors(answer, "x", [answer.upper(), "Other text here.", "other TEXT here", ""])
    assert keep == [1] and rejected == Counter({"equals_answer": 1, "duplicate": 1, "empty": 1})
    assert check_options("a b c", ["a b c d e f", "x y z w v u"]) == "length_giveaway"
    assert check_options("a b c d", ["a b c", "x y z w v u"]) is None
    assert check_item(passage, s, e, ["One two three four five six.", "Seven eight nine ten eleven."], 4,
                      limits) == "too_few_distractors"


def test_math_signatures_ignore_notation():
    a = "$$\\mathbf{A}\\times\\mathbf{B} = -\\mathbf{B}\\times\\mathbf{A},$$"
    b = "$\\mathbf a\\times \\mathbf b = -\\mathbf b\\times \\mathbf a$"
    assert math_signatures(a) & math_signatures(b)
    assert local_context(TEXT, TEXT.index("Since"), TEXT.index("halves.") + 7, n=1).startswith("We compute")


def test_builtin_pydocs_corpus_is_real_licensed_text():
    docs = pydocs()
    assert len(docs) > 300
    by_id = {d.doc_id: d for d in docs}
    assert "heap" in by_id["pydocs:heapq"].text.lower() and by_id["pydocs:heapq"].license == "PSF-2.0"
    numpy_docs = [d for d in docs if d.meta["package"] == "numpy"]
    assert numpy_docs and all(d.license == "BSD-3-Clause" for d in numpy_docs)
    assert not any("Parameters\n----------" in d.text for d in docs), "parameter lists are left out"
    assert any("$$" in d.text for d in numpy_docs), ".. math:: blocks become display math"


def test_load_corpus_quarantines_and_counts(tmp_path):
    path = tmp_path / "c.jsonl"
    rows = [json.dumps({"id": "a", "text": "Some text. " * 20}), "{not json", json.dumps({"id": "b", "text": ""}),
            json.dumps({"id": "c", "body": "no text field"})]
    path.write_text("\n".join(rows) + "\n")
    result = load_corpus([str(path), "builtin:pydocs"], max_documents=5)
    assert len(result.documents) == 5 and result.documents[0].doc_id == "a"
    assert result.counts["documents_quarantined"] == 3 and len(result.quarantined) == 3
    assert result.counts["documents_beyond_max_documents"] > 0
    with pytest.raises(ValueError, match="builtin:pydocs"):
        load_corpus(["builtin:nope"])
