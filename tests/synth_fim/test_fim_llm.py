"""LLM mode against a local OpenAI-compatible stub server, through OpenAIBackend, and the
robust JSON reading it relies on. No model is loaded."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from stubserver import ChatStub, serving

from rlvr.records import Document, Task
from rlvr.synth.fim.config import FimConfig, FimStageConfig
from rlvr.synth.fim.generator import FimGenerator
from rlvr.synth.fim.guards import SpanLimits, check_item
from rlvr.synth.fim.llm import SYSTEM_PROMPT, json_objects, locate, parse_proposal
from rlvr.synth.fim.stage import make_tasks
from rlvr.verify import gold_completion, verify


def passage(topic: str) -> str:
    return (f"Consider the {topic} problem. We store the prefix sums $s_i = a_1 + \\dots + a_i$ first. "
            f"Therefore the sum of a segment is $s_r - s_{{l-1}}$, because every earlier term cancels. "
            f"Each query then costs $O(1)$ time, since it needs only two lookups. "
            f"Building the array takes $O(n)$ time, so the total cost is $O(n + q)$ for $q$ queries.")


ANSWER = "Therefore the sum of a segment is $s_r - s_{l-1}$, because every earlier term cancels."
DISTRACTORS = [
    "Therefore the sum of a segment is $s_r + s_{l-1}$, because every earlier term doubles.",
    "Therefore the sum of a segment is $s_l - s_{r-1}$, because every later term cancels.",
    "Therefore the sum of a segment is $s_{r-1} - s_l$, because every middle term cancels.",
]


def reply_json(answer: str, distractors: list[str], masked: str = "") -> str:
    return json.dumps({"masked_text": masked, "answer": answer, "distractors": distractors})


# topic -> replies per attempt (the last one repeats)
SCRIPTS = {
    "alpha": ["Sure! Here it is:\n```json\n" + reply_json(ANSWER, DISTRACTORS) + "\n```\nHope this helps."],
    "bravo": ['{"masked_text": "...", "answer": "Therefore the sum', reply_json(ANSWER, DISTRACTORS)],
    "charlie": [reply_json("The sum of a segment is computed by magic.", DISTRACTORS)],
    # LaTeX with single backslashes (invalid or wrong JSON escapes) and a trailing comma
    "delta": ['{"answer": "Therefore the sum of a segment is $s_r - s_{l-1}$, because every earlier term '
              'cancels.", "distractors": ["Hence $\\frac{s_r}{s_l}$ gives the sum, because terms divide.", '
              '"Therefore the sum of a segment is $s_r \\cdot s_{l-1}$, because terms multiply.", '
              '"Therefore the sum of a long segment is $\\theta(n)$, because every earlier term stays where it was.",],}'],
    # two distractors equal the answer after normalisation: topped up with perturbations
    "echo": [reply_json(ANSWER, [ANSWER.upper(), ANSWER + " ", DISTRACTORS[0]])],
}


class _Stub(ChatStub):
    calls: Counter = Counter()
    student_letter = "A"

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.body()
        messages = body["messages"]
        if messages[0]["content"] == SYSTEM_PROMPT:
            topic = next(t for t in SCRIPTS if f"the {t} problem" in messages[-1]["content"])
            script = SCRIPTS[topic]
            text = script[min(type(self).calls[topic], len(script) - 1)]
            type(self).calls[topic] += 1
        else:  # a student answering a task (the difficulty filter)
            text = f"It must be this one. \\boxed{{{type(self).student_letter}}}"
        self.send_choices([text] * body.get("n", 1))


@pytest.fixture
def stub_url():
    _Stub.calls = Counter()
    with serving(_Stub) as url:
        yield url + "/v1"


DOCS = [Document(t, passage(t), title=t) for t in SCRIPTS]


def llm_config(url: str, **kw) -> FimConfig:
    return FimConfig(corpus=["unused"], mode="llm", backend=f"openai:stub@{url}", min_words=30,
                     span_min_tokens=5, span_max_fraction=0.5, llm_retries=2, llm_batch_size=4, **kw)


def test_llm_mode_through_stub_server(stub_url):
    gen = FimGenerator(llm_config(stub_url), documents=DOCS)
    tasks = list(gen.iter_tasks(seed=3, n=10))
    report = gen.report(3)
    topics = sorted(t.meta["doc_id"] for t in tasks)
    assert topics == ["alpha", "bravo", "delta", "echo"]
    assert report["dropped:answer_not_in_text"] == 1 and report["yielded_task"] == 4
    assert report["llm_failure:answer_not_in_text"] == 3, "charlie: one try and two retries"
    assert report["llm_failure:no_json"] == 1, "bravo's truncated JSON is retried"
    assert report["passages_visited"] == 5 == report["yielded_task"] + report["dropped:answer_not_in_text"]
    assert _Stub.calls["bravo"] == 2 and _Stub.calls["alpha"] == 1
    limits = SpanLimits(5, 80, 0.5)
    for task in tasks:
        meta = task.meta
        start, end = meta["span"]["start"], meta["span"]["end"]
        assert meta["passage"][start:end] == meta["span"]["text"] == ANSWER
        distractors = [o for o, org in zip(meta["options"], meta["option_origins"]) if org["kind"] != "answer"]
        assert check_item(meta["passage"], start, end, distractors, 4, limits) is None
        assert meta["mode"] == "llm" and verify(task, gold_completion(task)).reward == 1.0
    by_topic = {t.meta["doc_id"]: t for t in tasks}
    delta = by_topic["delta"].meta["options"]
    assert any("\\frac{s_r}{s_l}" in o for o in delta), "LaTeX backslashes survive the JSON repair"
    echo_kinds = Counter(o["kind"] for o in by_topic["echo"].meta["option_origins"])
    assert echo_kinds["llm"] == 1 and sum(v for k, v in echo_kinds.items() if k.startswith("perturb:")) == 2
    # Same seed, fresh server state: the same tasks.
    _Stub.calls = Counter()
    again = list(FimGenerator(llm_config(stub_url), documents=DOCS).iter_tasks(seed=3, n=10))
    assert [t.task_id for t in again] == [t.task_id for t in tasks]


def test_difficulty_filter_drops_always_solved(stub_url, tmp_path):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"id": d.doc_id, "text": d.text}) + "\n" for d in DOCS))
    base = dict(corpus=[str(corpus)], mode="llm", backend=f"openai:stub@{stub_url}", min_words=30,
                span_min_tokens=5, span_max_fraction=0.5, n=10, seed=3, filter_k=2)
    run = make_tasks(FimStageConfig(**base))
    solved = run.counts["filter_dropped:always_solved"]
    assert solved == 2 and run.counts["tasks"] == run.counts["tasks_generated"] - solved == 2
    assert all(t.answer != "A" for t in run.tasks), "the stub student always answers A"
    assert all(t.difficulty.pass_rate == 0.0 and t.difficulty.evidence == 2 for t in run.tasks)
    assert len(run.rollouts) == run.counts["tasks_generated"]
    _Stub.calls = Counter()
    strict = make_tasks(FimStageConfig(**base, drop_never_solved=True))
    assert strict.tasks == [] and strict.counts["filter_dropped:never_solved"] == run.counts["tasks"]


# ----------------------------------------------------------------------------- parsing


def test_json_objects_repairs_messy_replies():
    messy = "Here you go: {'answer': 'x', 'distractors': ['a', 'b',],} and also {\"answer\": \"y\"}"
    found = list(json_objects(messy))
    assert {"answer": "x", "distractors": ["a", "b"]} in found and {"answer": "y"} in found
    assert list(json_objects("no braces at all")) == []
    assert list(json_objects('{"answer": "unterminated')) == []


def test_parse_proposal_reasons_and_whitespace_tolerance():
    text = passage("alpha")
    assert parse_proposal("I cannot do that.", text) == "no_json"
    assert parse_proposal('{"distractors": []}', text) == "missing_answer"
    assert parse_proposal('{"answer": "Therefore", "distractors": "x"}', text) == "bad_distractors"
    assert parse_proposal(reply_json("Therefore", []), text + " Therefore.") == "span_not_unique"
    squashed = ANSWER.replace(" because", "\n   because")
    prop = parse_proposal(reply_json(squashed, DISTRACTORS), text)
    assert not isinstance(prop, str) and text[prop.start:prop.end] == ANSWER
    assert locate("not there", text) == "answer_not_in_text"


def test_llm_item_is_a_task_record(stub_url):
    gen = FimGenerator(llm_config(stub_url), documents=DOCS[:1])
    task = gen.generate(0, 0)
    assert isinstance(task, Task) and task.kind == "mcqa.fim" and task.verifier.params["n_options"] == 4
    with pytest.raises(ValueError, match="yields only 1"):
        gen.generate(0, 1)
