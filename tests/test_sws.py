"""SwS: concept parsing, the concept-set sampler, failure-rate budgets, and the whole stage with stub backends."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pytest
from stubserver import ChatStub, serving

from rlvr.models.backends import Completion
from rlvr.records import Decision, Message, Provenance, RolloutGroup, Task, Value, VerifierSpec
from rlvr.synth.sws.concepts import parse_concepts
from rlvr.synth.sws.sampler import ConceptSampler
from rlvr.synth.sws.stage import SwSConfig, run
from rlvr.synth.sws.synthesize import majority
from rlvr.synth.sws.weak import Domain, allocate, load_domains
from rlvr.verify import verify


def hash_embed(texts):
    """Deterministic pseudo-random unit vectors: similarity carries no meaning here."""
    rows = [np.frombuffer(hashlib.sha256(t.encode()).digest(), dtype=np.uint8)[:16].astype(float) - 127.5
            for t in texts]
    return np.stack(rows)


@pytest.mark.parametrize("reply,expected", [
    ('Here you go: ["Order of operations", "Negative numbers.", "order of operations"]',
     ["order of operations", "negative numbers"]),
    ("```python\nconcepts = ['place value', 'carrying']\n```", ["place value", "carrying"]),
    ('["fractions", "common denominators", "reduc', ["fractions", "common denominators"]),  # cut off
    ("The concepts are:\n1. Ratios\n2. Unit conversion\n- Percent", ["ratios", "unit conversion", "percent"]),
    ("[1, 2] is not it, this is: ['area']", ["area"]),
    ("I don't know.", []),
])
def test_concept_lists_are_parsed_robustly(reply, expected):
    assert parse_concepts(reply) == expected


def test_sampler_seeds_by_frequency_masks_used_concepts_and_drops_duplicate_sets():
    lists = [["a", "b"], ["a", "c"], ["a", "d"], ["e"]]  # a named 3 times, b, c, d, e once each
    sampler = ConceptSampler(lists, hash_embed, temperature=0.2)
    rng = np.random.default_rng(0)
    seeds = Counter(sampler.sample(1, rng)[0] for _ in range(4000))
    assert abs(seeds["a"] / 4000 - 3 / 7) < 0.03 and abs(seeds["e"] / 4000 - 1 / 7) < 0.03
    for _ in range(200):
        drawn = sampler.sample(4, rng)
        assert len(set(drawn)) == 4  # used concepts are masked
    # co-occurrence dominates at low temperature: after "b", "a" (seen with b) is far likelier than e
    p = sampler.weights([sampler.concepts.index("b")])
    assert p[sampler.concepts.index("a")] > 0.9 and p[sampler.concepts.index("b")] == 0.0
    # 5 concepts in sets of 4 make only 5 distinct sets: asking for 8 gives 5, duplicates counted
    flat = ConceptSampler(lists, hash_embed, temperature=50.0)  # near-uniform, so every set turns up
    got = flat.sample_sets(8, 4, np.random.default_rng(1), max_attempts=300)
    assert len(got.sets) == 5 and len({frozenset(s) for s in got.sets}) == 5
    assert got.duplicates == got.attempts - 5 and got.attempts == 300


@pytest.mark.slow
def test_sampler_uses_embedding_similarity_with_the_bundled_embedder():
    from rlvr.synth.sws.sampler import minilm_embed

    concepts = ["adding fractions", "common denominators", "area of a triangle", "pythagorean theorem"]
    sampler = ConceptSampler([[c] for c in concepts], minilm_embed(), temperature=0.2)
    p = sampler.weights([sampler.concepts.index("adding fractions")])
    assert p[sampler.concepts.index("common denominators")] > p[sampler.concepts.index("area of a triangle")]
    p = sampler.weights([sampler.concepts.index("area of a triangle")])
    assert p[sampler.concepts.index("pythagorean theorem")] > p[sampler.concepts.index("common denominators")]


def test_budget_follows_failure_rates():
    domains = {"geo": Domain("geo", trained=100, weak=15, tasks=[None] * 15),
               "alg": Domain("alg", trained=100, weak=5, tasks=[None] * 5),
               "easy": Domain("easy", trained=50, weak=0)}
    assert allocate(domains, 10) == {"geo": 7, "alg": 3, "easy": 0}  # 7.5/2.5: a tie goes by name order
    assert allocate(domains, 3) == {"geo": 2, "alg": 1, "easy": 0}
    assert sum(allocate(domains, 17).values()) == 17


def test_majority_vote_uses_normalised_answers():
    assert majority(["<1/2>", None]) == ("<1/2>", 1, {"<1/2>": 1})
    ref, votes, table = majority(["0.5", "1/2", "\\frac{1}{2}", "3", None, "0.50"])
    assert votes == 4 and ref in ("0.5", "1/2", "\\frac{1}{2}", "0.50") and table["1/2"] == 4
    assert majority([None, None]) == (None, 0, {})


# ----------------------------------------------------------------------------- the stage

SYSTEM = Message("system", "Give the final answer in <answer> tags.")


def weak_task(i: int, kind: str) -> Task:
    return Task(kind, [SYSTEM, Message("user", f"Hard problem {i} of {kind}")], str(i), VerifierSpec("final_answer"),
                Provenance("test", index=i))


@pytest.fixture
def train_dir(tmp_path):
    """A finished train stage: 4 weak of 8 tasks in geometry, 1 weak of 8 in algebra (budget 4:1)."""
    geo = [weak_task(i, "math.geometry") for i in range(8)]
    alg = [weak_task(10 + i, "math.algebra") for i in range(8)]
    weak = geo[:4] + alg[:1]
    values = [Value("task", t.task_id, n_tasks=1, n_groups=3, weakness=t in weak,
                    meta={"kind": t.kind, "max_pass_rate": 0.25 if t in weak else (0.0 if t is alg[7] else 0.75)})
              for t in geo + alg]
    folder = tmp_path / "train"
    Task.write_parquet(folder / "tasks.parquet", geo + alg)
    Task.write_parquet(folder / "weaknesses.parquet", weak)
    Value.write_parquet(folder / "value.parquet", values)
    RolloutGroup.write_parquet(folder / "rollouts.parquet", [])
    return folder, geo, alg


def test_weak_tasks_by_rule(train_dir):
    folder, geo, alg = train_dir
    sws = load_domains([folder / "tasks.parquet"], "sws")
    assert {k: (d.trained, d.weak) for k, d in sws.items()} == {"math.algebra": (8, 1), "math.geometry": (8, 4)}
    failing = load_domains([folder / "tasks.parquet"], "failing")
    assert failing["math.algebra"].weak == 2  # alg[7] never passed 0.5 although its slope was not negative


GOOD_Q = "A triangle has base {n} and height 2. What is its area?"


class Writer:
    """Concept lists (one unreadable) and questions that exercise every drop reason."""

    name = "writer"

    def __init__(self):
        self.generation_prompts: list[str] = []

    def generate(self, prompts, n=1, max_new_tokens=256, temperature=1.0, seed=0):
        out = []
        for p in prompts:
            if "foundational concepts" in p:
                if "Hard problem 3 " in p:
                    out.append([Completion("no idea")])
                else:
                    out.append([Completion('["area of a triangle", "multiplication", "units"]')])
                continue
            self.generation_prompts.append(p)
            i = len(self.generation_prompts)
            replies = {1: f"Plan: combine.\n```text\n{GOOD_Q.format(n=i)}\n```", 2: "```text\nProve that 2 > 1.\n```",
                       3: "I could not think of one.", 4: "```text\n" + "long " * 1000 + "?\n```",
                       5: "```text\nSPLIT: a question without an agreed answer?\n```",
                       0: "```text\nEASY: what is 1 + 1?\n```"}
            out.append([Completion(replies[i % 6])])
        return out


class Answers:
    """Reference votes: 5 of 8 agree (in two spellings), except on SPLIT questions."""

    name = "answers"

    def generate(self, prompts, n=1, max_new_tokens=256, temperature=1.0, seed=0):
        out = []
        for p in prompts:
            if "SPLIT" in p[-1]["content"]:
                out.append([Completion(f"<answer>{i}</answer>") for i in range(n)])
            else:
                votes = ["<answer>10</answer>", "\\boxed{10.0}"] * 2 + ["<answer>10</answer>", "Answer: 3", "", "?"]
                out.append([Completion(v) for v in votes[:n]])
        return out


class Policy:
    """Solves EASY questions always, the others 3 times in 8."""

    name = "policy"

    def generate(self, prompts, n=1, max_new_tokens=256, temperature=1.0, seed=0):
        return [[Completion("<answer>10</answer>" if ("EASY" in p[-1]["content"] or i < 3) else "<answer>4</answer>")
                 for i in range(n)] for p in prompts]


def test_stage_with_stub_backends(train_dir, tmp_path):
    folder, geo, alg = train_dir
    writer = Writer()
    backends = {"stub:writer": writer, "stub:answers": Answers(), "stub:policy": Policy()}
    config = SwSConfig(backend="stub:writer", answer_backend="stub:answers", policy_backend="stub:policy",
                       budget=10, set_size=2, k=8)
    result = run(config, [folder / "tasks.parquet"], tmp_path / "sws", backends=backends, embed=hash_embed)
    c = result.counts
    assert c["weak_tasks"] == 5 and c["weak_tasks_used"] == 5
    assert c["with_concepts"] == 4 and c["no_concepts"] == 1  # geo[3]'s reply had no list
    geo_stats, alg_stats = c["domains"]["math.geometry"], c["domains"]["math.algebra"]
    assert (geo_stats["budget"], alg_stats["budget"]) == (8, 2)
    assert geo_stats["failure_rate"] == 0.5 and alg_stats["failure_rate"] == 0.125
    # every domain names the same 3 concepts: only 3 distinct pairs exist, so fewer sets than budget
    assert geo_stats["sets"] == 3 and alg_stats["sets"] == 2 and alg_stats["concepts"] == 3
    assert geo_stats["duplicate_sets"] > 0
    assert c["concept_sets"] == 5 == len(writer.generation_prompts) == c["generated"]
    assert all("Domain: geometry" in p or "Domain: algebra" in p for p in writer.generation_prompts)
    assert c["dropped"] == {"no_majority": 1, "prove": 1, "unextractable": 1, "too_long": 1} and c["kept"] == 1
    assert c["generated"] == c["kept"] + sum(c["dropped"].values())

    (task,) = Task.read_parquet(result.files["tasks"])
    assert task.kind == "sws.synth" and task.answer == "10" and task.prompt[0] == SYSTEM
    assert task.meta["agreement"] == 5 / 8 and task.meta["domain"] in ("math.geometry", "math.algebra")
    assert task.provenance.parent_task_id in {t.task_id for t in geo[:4] + alg[:1]}
    assert task.difficulty.pass_rate == 3 / 8
    assert verify(task, "\\boxed{10}").reward == 1.0
    decisions = Decision.read_parquet(result.files["decisions"])
    assert len(decisions) == 5 and {d.reason for d in decisions} == {"kept", "prove", "unextractable", "too_long",
                                                                     "no_majority"}
    audit = json.loads(result.files["concepts"].read_text())
    assert len(audit["sets"]) == 5 and audit["concepts"][geo[3].task_id] == []


def test_majority_and_band_drops(train_dir, tmp_path):
    folder, *_ = train_dir
    writer = Writer()
    writer.generation_prompts = ["x"] * 4  # start the reply cycle at SPLIT / EASY
    backends = {"w": writer, "a": Answers(), "p": Policy()}
    config = SwSConfig(backend="w", answer_backend="a", policy_backend="p", budget=2, set_size=2)
    result = run(config, [folder / "tasks.parquet"], tmp_path / "sws", backends=backends, embed=hash_embed)
    assert result.counts["dropped"] == {"no_majority": 1, "too_easy": 1} and result.counts["kept"] == 0
    split = next(d for d in Decision.read_parquet(result.files["decisions"]) if d.reason == "no_majority")
    assert json.loads(split.evidence.detail)["votes"] == 1


def test_no_weak_tasks_means_no_model_call(train_dir, tmp_path):
    folder, geo, alg = train_dir
    Task.write_parquet(folder / "weaknesses.parquet", [])

    class Refuse:
        name = "refuse"

        def generate(self, *a, **k):
            raise AssertionError("nothing is weak, so no backend may be called")

    result = run(SwSConfig(backend="r"), [folder / "tasks.parquet"], tmp_path / "sws", backends={"r": Refuse()})
    assert result.counts["generated"] == 0 and result.counts["weak_tasks"] == 0


def test_bad_configs_raise():
    for kwargs in SwSConfig.BAD_EXAMPLES:
        with pytest.raises(ValueError):
            SwSConfig(**kwargs)


# ----------------------------------------------------------------------------- quality judges


class _Judges(ChatStub):
    """Two judges behind one OpenAI-compatible server, told apart by their prompts.

    Judge A (strict) calls SPLIT questions acceptable and MUDDLE ones unreadable; judge B calls
    everything acceptable except TRIANGLE-free questions, which it calls bad."""

    def do_POST(self):
        prompt = self.body()["messages"][-1]["content"]
        question = prompt.split("### Problem\n")[-1] if "### Problem" in prompt else prompt.split("Problem:\n")[-1]
        if "You review problems" in prompt:
            verdict = ("Final Judgement: acceptable" if "SPLIT" in question else
                       "I cannot decide." if "MUDDLE" in question else "Format fine.\n**Final Judgement:** Perfect")
        else:
            verdict = "Final Judgement: \"acceptable\"" if "triangle" in question.lower() else "Final Judgement: bad"
        self.send_choices([f"Checked.\n{verdict}"])


def test_judge_verdicts_and_the_sws_acceptance_rule():
    from rlvr.synth.sws.judge import accepted, parse_verdict

    assert parse_verdict("x\nFinal Judgement: perfect\n") == "perfect"
    assert parse_verdict("**Final Judgment:** `Acceptable`") == "acceptable"
    assert parse_verdict("Final Judgement: bad ... on reflection Final Judgement: perfect") == "perfect"
    assert parse_verdict("looks perfect to me") is None
    table = {(a, b): accepted(a, b) for a in ("perfect", "acceptable", "bad", None)
             for b in ("perfect", "acceptable", "bad", None)}
    assert {k for k, v in table.items() if v} == {("perfect", "perfect"), ("perfect", "acceptable")}


def test_judges_filter_candidates_on_a_stub_server():
    from rlvr.models.backends import OpenAIBackend
    from rlvr.synth.svs.problems import Candidate
    from rlvr.synth.sws.judge import judge

    problems = ["A triangle has base 3 and height 2. What is its area?",  # perfect / acceptable: kept
                "SPLIT: a triangle with sides 1, 1, 3?",  # acceptable / ...: out (A must say perfect)
                "A square has side 4. What is its area?",  # perfect / bad: out
                "MUDDLE: a triangle of unknown size?"]  # A gives no verdict
    candidates = [Candidate(i, "", problem=p) for i, p in enumerate(problems)]
    candidates.append(Candidate(9, "", status="prove"))  # already dropped: not judged
    with serving(_Judges) as url:
        backend = OpenAIBackend(url)
        counts = judge(candidates, backend, backend, batch_size=3)
    assert [c.status for c in candidates] == ["pending", "judged_out", "judged_out", "judge_unparsable", "prove"]
    assert counts == {"judged": 4, "judge_kept": 1, "verdicts": {"?/acceptable": 1, "acceptable/acceptable": 1,
                                                                "perfect/acceptable": 1, "perfect/bad": 1}}
    assert candidates[2].detail["judges"]["a"] == "perfect" and candidates[2].detail["judges"]["b"] == "bad"


def test_stage_with_judges_records_judged_out_decisions(train_dir, tmp_path):
    from rlvr.models.backends import OpenAIBackend

    folder, *_ = train_dir
    with serving(_Judges) as url:
        backends = {"w": Writer(), "a": Answers(), "p": Policy(), "j": OpenAIBackend(url)}
        config = SwSConfig(backend="w", answer_backend="a", policy_backend="p", judges=True, judge_backend="j",
                           budget=10, set_size=2, k=8)
        result = run(config, [folder / "tasks.parquet"], tmp_path / "sws", backends=backends, embed=hash_embed)
    c = result.counts
    # without judges the SPLIT question reached the vote (no_majority); judge A now rejects it first
    assert c["dropped"] == {"judged_out": 1, "prove": 1, "unextractable": 1, "too_long": 1} and c["kept"] == 1
    assert c["judges"]["judged"] == 2 and c["judges"]["judge_kept"] == 1
    out = next(d for d in Decision.read_parquet(result.files["decisions"]) if d.reason == "judged_out")
    assert not out.keep and json.loads(out.evidence.detail)["judges"]["a"] == "acceptable"
