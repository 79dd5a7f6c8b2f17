"""Normalisation, tokens and hashing shared by every curate step (rlvr.curate.text)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from conftest import shared_file
from planted import gym_tasks, light_edit

from rlvr.curate.text import (
    _ascii_batch,
    _regex_batch,
    hash_strings,
    ngram_hashes,
    normalize,
    number_signature,
    numbers,
    tokenize_batch,
    tokens,
)


def test_normalisation_ignores_case_space_punctuation_and_number_words():
    a = "Janet’s ducks lay 16 eggs per day. She eats THREE for breakfast; 1,000 left!"
    b = "janets ducks  lay 16 eggs per day she eats 3 for breakfast 1000 left"
    assert normalize(a).replace("janet s", "janets") == normalize(b)
    assert numbers(a) == ["16", "3", "1000"]


def test_numbers_and_operators_are_kept():
    assert normalize("Calculate 12 + 7") != normalize("Calculate 98 + 3")
    assert normalize("2 + 3") != normalize("2 * 3")
    assert normalize("3 × 4 ÷ 2") == normalize("3 * 4 / 2")
    assert tokens("x2 + 3.5 - 1.2.3") == ["x", "2", "+", "3.5", "-", "1.2.3"]


def test_vectorised_tokeniser_equals_the_regex_on_real_texts():
    texts = [t.prompt_text for t in gym_tasks(200)]
    for name in ("gsm8k_test.jsonl", "math500_test.jsonl"):
        with open(shared_file("benchmarks", name), encoding="utf-8") as fh:
            texts += [json.loads(line)["question"] for line in fh][:300]
    rng = random.Random(0)
    texts += [light_edit(t, rng)[0] for t in texts[:200]]
    texts += ["1,000,000 and 3.5.2 x2y 1,0000 ,123 a,123 .5 5. Three _x_ 12,345.67", "", "   ", "A,1234", "((2+3))*4^2"]
    ascii_texts = [t for t in texts if t.isascii()]
    fast, slow = _ascii_batch(ascii_texts), _regex_batch(ascii_texts)
    assert np.array_equal(fast.offsets, slow.offsets)
    assert np.array_equal(fast.hashes, slow.hashes)
    assert np.array_equal(fast.is_number, slow.is_number)
    assert np.array_equal(fast.is_content, slow.is_content)
    mixed = tokenize_batch(texts + ["naïve café: 3 × 4 = 12°"])
    reference = _regex_batch(texts + ["naïve café: 3 × 4 = 12°"])
    assert np.array_equal(mixed.hashes, reference.hashes) and np.array_equal(mixed.offsets, reference.offsets)


def test_hashes_do_not_depend_on_the_batch():
    alone = tokenize_batch(["seven apples and 12 pears"]).hashes
    inside = tokenize_batch(["x y z", "seven apples and 12 pears", "apples"])
    assert np.array_equal(alone, inside.hashes[inside.offsets[1]:inside.offsets[2]])
    assert np.array_equal(hash_strings(["a", "bc"]), hash_strings(["a", "bc"]))
    assert len(set(hash_strings([f"w{i}" for i in range(5000)]).tolist())) == 5000


def test_ngrams_and_short_documents():
    batch = tokenize_batch(["a b c d e", "x a b c d e y", "a b", "", "q"])
    grams = ngram_hashes(batch, 3)
    assert grams.lengths.tolist() == [3, 5, 1, 0, 1]
    assert set(grams[0].tolist()) <= set(grams[1].tolist())
    # A short document's whole-sequence shingle equals the same run inside a longer text.
    short = ngram_hashes(tokenize_batch(["a b"]), 3)[0][0]
    assert short in set(ngram_hashes(tokenize_batch(["z a b w"]), 2)[0].tolist())
    repeated = ngram_hashes(tokenize_batch(["a b a b a b"]), 2)
    assert repeated.lengths.tolist() == [2]  # distinct shingles only
    with pytest.raises(ValueError):
        ngram_hashes(batch, 0)


def test_number_signature_is_an_order_free_multiset():
    sig = number_signature(tokenize_batch(["3 and 5", "five and three", "3 and 6", "no numbers", "3 3 5"]))
    assert sig[0] == sig[1] != sig[2]
    assert sig[3] == 0
    assert sig[4] != sig[0]


def test_a_space_typed_inside_a_number_is_closed():
    assert numbers("It costs $4. 00 for 40, 000 people, or 0. 2 each") == ["4.00", "40000", "0.2"]
    assert normalize("IT COSTS $4. 00") == normalize("it costs $4.00")
    assert numbers("Take 3, 4 and 5. Then 1, 2345") == ["3", "4", "5", "1", "2345"]  # lists stay lists
    texts = ["It costs $4. 00 for 40, 000 people", "Über 40, 000 Leute zahlen 0. 2"]
    batch = tokenize_batch(texts)
    for i, t in enumerate(texts):
        assert batch.hashes[batch.offsets[i]:batch.offsets[i + 1]].tolist() == tokenize_batch([t]).hashes.tolist()
