"""The answer-line parser shared by every NP verifier: what it accepts, what it refuses."""

from __future__ import annotations

import pytest

from rlvr.synth.np.answer import (
    FormatError,
    Infeasible,
    answer_text,
    distinct,
    int_list,
    int_tuples,
    parse_literal,
    render_list,
)


def parse(completion: str):
    return parse_literal(answer_text(completion))


@pytest.mark.parametrize("completion,expected", [
    ("Answer: [0, 1, 3]", [0, 1, 3]),
    ("reasoning...\nAnswer: [[0, 1], [2, 3]]", [[0, 1], [2, 3]]),
    ("Answer: [(0, 1, 540), (2, 0, 600)]", [[0, 1, 540], [2, 0, 600]]),
    ("**Answer:** `[4,5]` because ...", [4, 5]),
    ("Answer: []", []),
    ("Answer: [1 2 3]", [1, 2, 3]),
    ("Answer: 1, 2, 1, 3.", [1, 2, 1, 3]),
    ("Answer: [-1, 7]", [-1, 7]),
    ("Answer: the clique is [2, 5, 6]. Done.", [2, 5, 6]),
])
def test_accepts(completion, expected):
    assert parse(completion) == expected


def test_only_the_last_answer_counts():
    text = "First guess. Answer: [9, 9]\nOn reflection that repeats a vertex.\nAnswer: [1, 2]"
    assert parse(text) == [1, 2]
    # a quoted format template after the real answer wins, and it does not parse
    with pytest.raises(FormatError):
        parse("Answer: [1, 2]\nRemember the format is Answer: [vertex ids]")


@pytest.mark.parametrize("completion", [
    "", "[0, 1, 2]", "answer: [0, 1]", "Answer:", "Answer: none", "Answer: [0, 1",
    "Answer: [0, 1)", "Answer: ]0, 1[", "Answer: [0.5, 1]", "Answer: ['a', 'b']",
    "Answer: [[[[1]]]]", "Answer: [" + "9" * 13 + "]", "Answer: " + "9" * 5000,
    "Answer: [" + "x" * 100_000 + "]", "Answer: " + "[" * 50_000,
])
def test_refuses(completion):
    with pytest.raises(FormatError):
        parse(completion)


def test_shapes():
    assert int_list([1, 2], "ids") == [1, 2]
    with pytest.raises(FormatError):
        int_list([1, [2]], "ids")
    assert int_tuples([[1, 2, 3]], 3, "groups") == [[1, 2, 3]]
    with pytest.raises(FormatError):
        int_tuples([[1, 2]], 3, "groups")
    with pytest.raises(Infeasible, match="listed twice"):
        distinct([3, 1, 3], "vertex")
    assert render_list([[0, 1], [2]]) == "[[0, 1], [2]]"
    assert parse("Answer: " + render_list([[0, 1], [2]])) == [[0, 1], [2]]
