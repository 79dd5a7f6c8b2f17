"""SvS: the final_answer verifier, parent selection from a ledger, variant acceptance with a stub backend."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from rlvr.models.backends import Completion
from rlvr.records import Decision, Message, Provenance, RolloutGroup, Task, VerifierSpec
from rlvr.synth.svs.answer import answers_match, as_number, extract_final_answer, normalize_answer
from rlvr.synth.svs.parents import select_parents
from rlvr.synth.svs.problems import extract_problem
from rlvr.synth.svs.stage import SvSConfig, run
from rlvr.synth.svs.variants import SYNTHESIS_PROMPT
from rlvr.verify import verify

# ----------------------------------------------------------------------------- answers


@pytest.mark.parametrize("completion,expected", [
    ("so the total is <answer> 1,000 </answer>", "1000"),
    ("We get \\boxed{\\frac{1}{2}} at the end", "1/2"),
    ("<answer>3</answer> wait, no: <answer>4</answer>", "4"),
    ("Working...\nFinal answer: **-4**", "-4"),
    ("The answer is $\\dfrac{3}{4}$.", "3/4"),
    ("**Answer:** x = 0.50", "1/2"),
    ("Answer: Paris.", "paris"),
])
def test_final_answer_extraction_and_normalisation(completion, expected):
    assert normalize_answer(extract_final_answer(completion)) == expected


@pytest.mark.parametrize("completion", ["", "I think it is five", "\\boxed{}", "Answer the question", "<answer></answer>"])
def test_no_final_answer_is_a_format_error(completion):
    task = Task("math.x", [Message("user", "q")], "5", VerifierSpec("final_answer"), Provenance("t"))
    assert verify(task, completion).status == "format_error"


def test_answers_match_numbers_exactly_and_text_folded():
    assert answers_match("7.0", "7") and answers_match("0.5", "\\frac{1}{2}") and answers_match("1e3", "1,000")
    assert answers_match("\\text{Paris}", "paris") and answers_match("50\\%", "50")
    assert not answers_match("3", "4") and not answers_match("0.333", "1/3") and not answers_match("7", "17")
    assert not answers_match("2\\sqrt{2}", "\\sqrt{8}")  # no symbolic algebra, as documented


def test_huge_exponents_are_refused_not_computed():
    """A policy answering '1e99999999' against a text reference once built a 330-million-bit integer
    (the verifier stalled for minutes); numbers share rlvr.answers' bounded parser now."""
    assert as_number("1e99999999") is None and as_number("1e59") == 10**59 and as_number("2.5e-3") == Fraction(1, 400)
    assert not answers_match("1e99999999", "Paris") and not answers_match("-1E-99999999", "0")
    task = Task("math.x", [Message("user", "q")], "Paris", VerifierSpec("final_answer"), Provenance("t"))
    assert verify(task, "<answer>1e99999999</answer>").reward == 0.0


def test_problem_extraction_fallbacks():
    assert extract_problem("plan...\n```text\nFirst one?\n```\n```text\nA train leaves at noon. When?\n```") == \
        "A train leaves at noon. When?"
    assert extract_problem("```\nHow many legs do 3 cats have?\n```") == "How many legs do 3 cats have?"
    assert extract_problem("```python\nprint(1)\n```") is None
    assert extract_problem("**Reconstructed Question:** What is 2 + 3?\n\nSome notes") == "What is 2 + 3?"
    assert extract_problem("no problem here") is None and extract_problem("```text\nshort\n```") is None


# ----------------------------------------------------------------------------- a fake training run

QUESTION = "Anna has 2 apples and buys 3 more. How many apples does she have?"
SOLUTION = "She starts with 2 and adds 3, so 2 + 3 = 5.\n<answer>5</answer>"


def math_task(i: int, kind: str = "math.word", answer="5", question: str | None = None) -> Task:
    return Task(kind, [Message("system", "Give the final answer in <answer> tags."),
                       Message("user", question or f"{QUESTION} (#{i})")],
                answer, VerifierSpec("final_answer"), Provenance("test", index=i))


def group(task: Task, step: int, correct: list[int], k: int = 8, texts: list[str] | None = None) -> RolloutGroup:
    rewards = [1.0 if i in correct else 0.0 for i in range(k)]
    texts = texts or [SOLUTION if i in correct else "<answer>6</answer>" for i in range(k)]
    return RolloutGroup(step, task.task_id, k, rewards, ["ok" if r else "wrong" for r in rewards], [10] * k,
                        meta={"completions": texts})


@pytest.fixture
def train_dir(tmp_path):
    """tasks.parquet + rollouts.parquet of a finished train stage, one parent per selection outcome."""
    t = {name: math_task(i) for i, name in enumerate(
        ["in_band", "above", "below", "untrained", "cut", "no_texts"])}
    t["np"] = math_task(10, kind="np.tsp")
    t["long"] = math_task(11, answer="[1, 2, 3, 4]")
    groups = [
        group(t["in_band"], 0, []),  # an older, worse group: the latest one counts
        group(t["in_band"], 3, [0, 3]),
        group(t["above"], 3, [0, 1, 2, 3, 4, 5]),
        group(t["below"], 3, []),
        group(t["cut"], 3, [1], texts=["x"] * 8),  # the ledger kept only a prefix: the answer is gone
        group(t["np"], 3, [0, 1]),
        group(t["long"], 3, [0]),
        RolloutGroup(3, t["no_texts"].task_id, 8, [1.0] + [0.0] * 7, ["ok"] + ["wrong"] * 7, [1] * 8),
    ]
    folder = tmp_path / "train"
    Task.write_parquet(folder / "tasks.parquet", list(t.values()))
    RolloutGroup.write_parquet(folder / "rollouts.parquet", groups)
    return folder, t


def test_parent_selection_counts_every_task_and_completion(train_dir):
    folder, t = train_dir
    tasks = Task.read_parquet(folder / "tasks.parquet")
    groups = RolloutGroup.read_parquet(folder / "rollouts.parquet")
    parents = select_parents(tasks, groups, solve_min=0.125, solve_max=0.5, kinds=("math.*", "gym.*"),
                             max_answer_chars=32, max_solutions=4)
    assert dict(parents.tasks) == {"selected": 1, "above_band": 1, "below_band": 1, "not_trained": 1,
                                   "no_intact_completion": 1, "no_completions_in_ledger": 1,
                                   "kind_not_eligible": 1, "answer_not_short": 1}
    assert sum(parents.tasks.values()) == len(tasks)
    assert dict(parents.completions) == {"used": 2, "completion_cut": 1}
    assert {s.parent.task_id for s in parents.solutions} == {t["in_band"].task_id}
    assert [s.completion_index for s in parents.solutions] == [0, 3] and parents.solutions[0].step == 3
    one = select_parents(tasks, groups, solve_min=0.125, solve_max=0.5, kinds=("math.*",), max_answer_chars=32,
                         max_solutions=1)
    assert one.completions["over_max_solutions"] == 1 and len(one.solutions) == 1


# ----------------------------------------------------------------------------- variants

GOOD = "Tom has 1 pen and finds 4 more pens. How many pens does he have now?"
VARIANT_REPLIES = [
    f"The response adds two counts.\n```text\n{GOOD}\n```",            # kept (solved 4 of 8)
    "I am not sure what to write.",                                      # unextractable
    f"Problem: {QUESTION} (#0)",                                          # copies_parent
    f"```text\n{GOOD}\n```",                                             # duplicate
    "```text\nEASY: what is 5? Just say 5.\n```",                        # too_easy (8 of 8)
    "```text\nHARD: what is the 5th Fermat prime?\n```",                 # unsolved (0 of 8)
]


class StubBackend:
    """Synthesis prompts get VARIANT_REPLIES in order; solve attempts are right by a marker in the problem."""

    name = "stub"

    def __init__(self):
        self.synthesis_prompts: list[str] = []

    def generate(self, prompts, n=1, max_new_tokens=256, temperature=1.0, seed=0):
        out = []
        for p in prompts:
            if isinstance(p, str):
                self.synthesis_prompts.append(p)
                out.append([Completion(VARIANT_REPLIES[i % len(VARIANT_REPLIES)]) for i in range(n)])
            else:
                user = p[-1]["content"]
                right = (lambda i: True) if "EASY" in user else (lambda i: False) if "HARD" in user else \
                    (lambda i: i % 2 == 0)
                out.append([Completion("<answer>5</answer>" if right(i) else "<answer>7</answer>") for i in range(n)])
        return out


def test_variants_are_kept_by_solve_rate_against_the_parent_answer(train_dir, tmp_path):
    folder, t = train_dir
    backend = StubBackend()
    config = SvSConfig(n_variants=6, k=8, kinds=("math.*",))
    result = run(config, [folder / "tasks.parquet"], tmp_path / "svs", backend=backend)
    c = result.counts
    # 2 solutions x 6 replies; the second solution's extractable variants repeat the first one's
    assert c["generated"] == 12 and c["kept"] == 1
    assert c["dropped"] == {"copies_parent": 2, "duplicate": 5, "too_easy": 1, "unextractable": 2, "unsolved": 1}
    assert c["generated"] == c["kept"] + sum(c["dropped"].values())

    # the synthesis prompt shows the solution only, never the question
    assert len(backend.synthesis_prompts) == 2
    assert all(SOLUTION.strip() in p and QUESTION not in p for p in backend.synthesis_prompts)
    assert SYNTHESIS_PROMPT.split("{solution}")[0] in backend.synthesis_prompts[0]

    (task,) = Task.read_parquet(result.files["tasks"])
    assert task.kind == "svs.variant" and task.answer == "5" and GOOD in task.prompt_text
    assert task.prompt[0].role == "system"  # the parent's answer format is kept
    assert task.provenance.parent_task_id == t["in_band"].task_id and task.provenance.generator == "svs"
    assert task.meta["completion"] == {"step": 3, "index": 0, "k": 8, "text": SOLUTION}
    assert task.difficulty.pass_rate == 0.5 and task.difficulty.evidence == 8
    assert verify(task, "<answer>5.0</answer>").reward == 1.0 and verify(task, "<answer>6</answer>").reward == 0.0

    decisions = Decision.read_parquet(result.files["decisions"])
    assert len(decisions) == 12 and sum(d.keep for d in decisions) == 1
    assert all(d.evidence.matched_id == t["in_band"].task_id for d in decisions)
    unsolved = next(d for d in decisions if d.reason == "unsolved")
    assert unsolved.evidence.score == 0.0 and "HARD" in json.loads(unsolved.evidence.detail)["problem"]
    assert len(RolloutGroup.read_parquet(result.files["rollouts"])) == 3  # only new problems were solved, 8 times

    again = run(config, [folder / "tasks.parquet"], tmp_path / "svs2", backend=StubBackend())
    for name in ("tasks", "decisions", "rollouts"):
        assert again.files[name].read_bytes() == result.files[name].read_bytes(), name


def test_band_edges_follow_the_config(train_dir, tmp_path):
    folder, _ = train_dir
    wide = run(SvSConfig(n_variants=6, keep_max=1.0, kinds=("math.*",)), [folder / "tasks.parquet"], tmp_path / "a",
               backend=StubBackend())
    assert wide.counts["kept"] == 2 and "too_easy" not in wide.counts["dropped"]


def test_a_folder_without_a_ledger_is_refused_clearly(tmp_path):
    Task.write_parquet(tmp_path / "tasks.parquet", [math_task(0)])
    with pytest.raises(ValueError, match="no rollouts.parquet beside it"):
        run(SvSConfig(), [tmp_path / "tasks.parquet"], tmp_path / "svs", backend=StubBackend())


def test_no_parents_means_no_model_call(train_dir, tmp_path):
    folder, _ = train_dir

    class Refuse:
        name = "refuse"

        def generate(self, *a, **k):
            raise AssertionError("no parent qualifies, so the backend must not be called")

    result = run(SvSConfig(kinds=("gym.*",)), [folder / "tasks.parquet"], tmp_path / "svs", backend=Refuse())
    assert result.counts["generated"] == 0 and result.counts["parent_tasks"]["kind_not_eligible"] == 8


def test_bad_configs_raise():
    for kwargs in SvSConfig.BAD_EXAMPLES:
        with pytest.raises(ValueError):
            SvSConfig(**kwargs)


def test_gym_parents_are_eligible_and_their_verifier_checks_stored_completions(tmp_path):
    pytest.importorskip("reasoning_gym")
    from rlvr.synth.gym import GymConfig, GymGenerator
    from rlvr.synth.svs.parents import eligible

    arithmetic = GymGenerator(GymConfig("basic_arithmetic")).generate(0, 0)
    colouring = GymGenerator(GymConfig("graph_color")).generate(0, 0)
    assert eligible(arithmetic, SvSConfig().kinds, 32) is None
    assert eligible(colouring, SvSConfig().kinds, 32) == "answer_not_short"
    g = group(arithmetic, 0, [0, 1], texts=[f"<answer>{arithmetic.answer}</answer>", "<answer", *["no"] * 6])
    parents = select_parents([arithmetic], [g], solve_min=0.125, solve_max=0.5, kinds=SvSConfig().kinds,
                             max_answer_chars=32, max_solutions=4)
    assert parents.completions == {"used": 1, "completion_cut": 1}
