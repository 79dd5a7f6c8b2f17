"""SelectorSampler layout and laziness, read-ahead lag handling, and the verifier reward bridge.

The real GRPOTrainer run is in test_select_trl.py; these tests pin the pieces without a model.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

import rlvr.verify
from rlvr.hashing import stable_hash
from rlvr.records import Message, Provenance, Task, VerifierSpec
from rlvr.select.base import SelectConfig, make_selector
from rlvr.select.rewards import VerifierRewards, completion_text
from rlvr.select.sampler import SelectorSampler, tasks_dataset
from rlvr.select.store import PassRateStore
from rlvr.verify import FunctionVerifier, Score


def coin_score(task: Task, completion: str) -> Score:
    """'always' -> 1, 'never' -> 0, 'coin' -> a fair coin keyed by the completion, 'crash' raises."""
    if task.answer == "crash":
        raise RuntimeError("verifier bug")
    if task.answer == "coin":
        ok = int(stable_hash(completion), 16) % 2 == 0
    else:
        ok = task.answer == "always"
    return Score(1.0 if ok else 0.0, "ok" if ok else "wrong")


COIN = FunctionVerifier("select-test-coin", coin_score, lambda t: "")
CONTAINS = FunctionVerifier(
    "select-test-contains",
    lambda t, c: Score(1.0, "ok") if t.answer in c else Score(0.0, "wrong"),
    lambda t: t.answer,
)


@pytest.fixture
def test_verifiers():
    """Register the test verifiers for one test only (the contract test must not see them)."""
    rlvr.verify.verifier_names()  # load the built-ins first
    for v in (COIN, CONTAINS):
        rlvr.verify.VERIFIERS.register(v.name, v)
    yield
    for v in (COIN, CONTAINS):
        rlvr.verify.VERIFIERS.unregister(v.name)


def task(i: int, answer: str, verifier: str = COIN.name) -> Task:
    return Task(kind="test.select", prompt=[Message("user", f"task {i}: {answer}")], answer=answer,
                verifier=VerifierSpec(verifier), provenance=Provenance("test", index=i))


def uniform(n: int, **kw):
    return make_selector("uniform", PassRateStore([f"t{i}" for i in range(n)]), SelectConfig(selector="uniform", **kw))


def test_layout_matches_trl_repeat_sampler():
    sampler = SelectorSampler(uniform(10), num_generations=3, batch_size=2, repeat_count=2, chunks_per_epoch=3)
    out = list(sampler)
    assert len(out) == len(sampler) == 3 * 2 * 3 * 2
    for c, chunk in enumerate(np.array(out).reshape(3, 2, 2 * 3)):  # chunks x repeats x (batch * generations)
        assert (chunk[0] == chunk[1]).all(), "each chunk is repeated repeat_count times"
        groups = chunk[0].reshape(2, 3)
        assert (groups == groups[:, :1]).all(), "each index repeats num_generations times consecutively"
        assert groups[0, 0] != groups[1, 0], "a chunk holds distinct tasks"
        np.testing.assert_array_equal(groups[:, 0], sampler.history[c].indices)
    assert SelectorSampler(uniform(10), num_generations=2, batch_size=3).chunks_per_epoch == 3
    long = SelectorSampler(uniform(10, max_pending_age=1), num_generations=1, batch_size=2, chunks_per_epoch=50,
                           max_history=5)
    everything = list(long)
    assert 5 <= len(long.history) <= 10 and long.history[-1].number == 49
    np.testing.assert_array_equal(everything[-2:], long.history[-1].indices)


def test_proposals_are_made_lazily_and_seeded_per_epoch():
    sampler = SelectorSampler(uniform(12, max_pending_age=1), num_generations=2, batch_size=3, repeat_count=2, seed=4)
    it = iter(sampler)
    first = list(itertools.islice(it, 12))
    assert len(sampler.history) == 1 and len(first) == 12
    next(it)
    assert len(sampler.history) == 2
    again = SelectorSampler(uniform(12, max_pending_age=1), num_generations=2, batch_size=3, repeat_count=2, seed=4)
    assert list(itertools.islice(iter(again), 12)) == first
    sampler.set_epoch(1)
    other = list(itertools.islice(iter(sampler), 12))
    assert other != first


def test_read_ahead_lag_never_reproposes_pending_tasks_and_scores_reach_groups(test_verifiers):
    tasks = [task(i, a) for i, a in enumerate(["always", "never", "coin", "coin"] * 3)]
    config = SelectConfig(selector="variance", k=4, explore=0.0)
    store = config.make_store(tasks)
    selector = make_selector(None, store, config)
    rewards = VerifierRewards(tasks, selector)
    sampler = SelectorSampler(selector, num_generations=4, batch_size=2, repeat_count=1, chunks_per_epoch=20)
    dataset = tasks_dataset(tasks, store)
    fn = rewards.reward_functions()[0]
    # Emulate the lazy DataLoader with accelerate's one-batch read-ahead.
    it = iter(sampler)
    current = [next(it) for _ in range(8)]
    for step in range(16):
        ahead = [next(it) for _ in range(8)]  # read-ahead: the next chunk is proposed now
        assert not set(ahead) & set(current), "a pending task was proposed again"
        rows = dataset.select(current)
        completions = [f"c{step}-{j}" for j in range(8)]
        out = fn(prompts=rows["prompt"], completions=completions, completion_ids=[[1] * (j + 1) for j in range(8)],
                 task_id=rows["task_id"], trainer_state=SimpleNamespace(global_step=step))
        assert out == [coin_score(tasks[i], c).reward for i, c in zip(current, completions)]
        groups = rewards.last_groups
        assert [g.task_id for g in groups] == [store.task_ids[i] for i in current[::4]]
        assert all(g.k == 4 and g.selector == "variance" and g.step == step for g in groups)
        proposal = sampler.history[-2]
        assert [g.selector_score for g in groups] == pytest.approx(proposal.scores.tolist())
        assert groups[0].completion_lengths == [1, 2, 3, 4]
        current = ahead
    assert selector.stats.groups == 32 and store.n_groups.sum() == 32
    later = [i for p in sampler.history[-6:] for i in p.indices.tolist()]
    assert sum(tasks[i].answer == "coin" for i in later) >= 0.75 * len(later), "variance should favour coin tasks"


def test_one_function_per_verifier_and_flush_after_all_ran(test_verifiers):
    tasks = [task(0, "always"), task(1, "xyz", CONTAINS.name), task(2, "crash")]
    config = SelectConfig(selector="uniform", k=2)
    store = config.make_store(tasks)
    selector = make_selector(None, store, config)
    seen = []
    rewards = VerifierRewards(tasks, selector, on_groups=[seen.extend])
    coin_fn, contains_fn = rewards.reward_functions()
    assert coin_fn.__name__ == "verify_select_test_coin" and contains_fn.__name__ == "verify_select_test_contains"
    ids = [t.task_id for t in tasks for _ in range(2)]
    comps = [[{"role": "assistant", "content": c}] for c in ["a", "b", "xyz!", "no", "q", "r"]]
    metrics = {}
    kwargs = dict(prompts=["p"] * 6, completions=comps, completion_ids=[[0]] * 6, task_id=ids,
                  trainer_state=SimpleNamespace(global_step=3), log_metric=metrics.__setitem__)
    assert contains_fn(**kwargs) == [None, None, 1.0, 0.0, None, None]
    assert seen == []  # not flushed until every function has run
    with pytest.raises(RuntimeError, match="ran twice"):
        contains_fn(**kwargs)
    assert coin_fn(**kwargs) == [1.0, 1.0, None, None, 0.0, 0.0]
    assert [g.statuses for g in seen] == [["ok", "ok"], ["ok", "wrong"], ["error", "error"]]
    assert metrics["select/verifier_errors"] == 2 and metrics["select/zero_std_frac"] == pytest.approx(2 / 3)
    # the crashed verifier's rollouts are not evidence about the policy
    assert store.n_rollouts.tolist() == [2, 2, 0] and store.n_groups.tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="no 'task_id' column"):
        coin_fn(prompts=["p"], completions=["c"])
    with pytest.raises(KeyError, match="not among the tasks"):
        VerifierRewards(tasks).reward_functions()[0](prompts=["p"], completions=["c"], task_id=["nope"])


def test_for_trainer_reads_trl_settings_and_checks_the_dataset():
    selector = uniform(10, k=4)
    trainer = SimpleNamespace(num_generations=4, num_iterations=2, train_dataset=list(range(10)),
                              args=SimpleNamespace(generation_batch_size=8, steps_per_generation=3, seed=5))
    sampler = SelectorSampler.for_trainer(trainer, selector)
    assert (sampler.batch_size, sampler.repeat_count, sampler.num_generations, sampler.seed) == (2, 6, 4, 5)
    assert len(sampler) == 5 * 2 * 4 * 6
    with pytest.raises(ValueError, match="11 rows"):
        SelectorSampler.for_trainer(trainer, selector, dataset=list(range(11)))
    with pytest.raises(ValueError, match="only 10"):
        SelectorSampler(selector, num_generations=2, batch_size=11)


def test_tasks_dataset_follows_store_order_and_completion_text():
    tasks = [task(i, "always") for i in range(3)]
    store = PassRateStore([tasks[2].task_id, tasks[0].task_id, tasks[1].task_id])
    ds = tasks_dataset(tasks, store)
    assert ds["task_id"] == store.task_ids
    assert ds[0]["prompt"] == tasks[2].chat()
    with pytest.raises(ValueError, match="not among the given tasks"):
        tasks_dataset(tasks[:2], store)
    assert completion_text([{"role": "assistant", "content": "hi"}]) == "hi" and completion_text("x") == "x"


def test_ranks_apply_the_same_gathered_groups(test_verifiers, monkeypatch):
    """Four ranks hold two rows each, so every group of four straddles two ranks; after the gather
    every rank's selector must see the same complete groups and hold the same beliefs."""
    import rlvr.select.rewards as rewards_module

    tasks = [task(0, "coin"), task(1, "always")]
    ids = [tasks[0].task_id] * 4 + [tasks[1].task_id] * 4
    completions = [f"completion {j}" for j in range(8)]
    local: list[list[tuple]] = []
    monkeypatch.setattr(rewards_module, "_gather_rows", lambda rows: local.append(rows) or rows)
    for rank in range(4):  # pass 1: what each rank scores on its own slice
        VerifierRewards(tasks).reward_functions()[0](
            prompts=["p"] * 2, completions=completions[2 * rank:2 * rank + 2], completion_ids=[[1]] * 2,
            task_id=ids[2 * rank:2 * rank + 2], trainer_state=SimpleNamespace(global_step=0))
    gathered = [row for rows in local for row in rows]
    monkeypatch.setattr(rewards_module, "_gather_rows", lambda rows: gathered)
    stores = []
    for rank in range(4):  # pass 2: each rank applies the gathered rows
        config = SelectConfig(selector="variance", k=4)
        store = config.make_store(tasks)
        bridge = VerifierRewards(tasks, make_selector(None, store, config))
        bridge.reward_functions()[0](prompts=["p"] * 2, completions=completions[2 * rank:2 * rank + 2],
                                     completion_ids=[[1]] * 2, task_id=ids[2 * rank:2 * rank + 2],
                                     trainer_state=SimpleNamespace(global_step=0))
        assert [(g.task_id, g.k) for g in bridge.last_groups] == [(tasks[0].task_id, 4), (tasks[1].task_id, 4)]
        stores.append(store)
    assert all(s.alpha.tolist() == stores[0].alpha.tolist() for s in stores)
    # the "always" task: 4 successes over the prior in force (fitted to the pool by default)
    assert stores[0].alpha[1] - stores[0].prior_alpha == pytest.approx(4.0)


def test_resume_continues_the_epoch_where_the_checkpoint_left_it():
    """A sampler restored from state_dict() proposes exactly what the uninterrupted one would
    have proposed next, and none of the chunks already proposed."""
    def sampler(selector=None):
        # The selector's own state (beliefs, pending tasks) is the store's to restore; a resumed
        # sampler here shares the interrupted one's selector, as the trainer's restored store does.
        return SelectorSampler(selector or uniform(40, explore=0.0), num_generations=2, batch_size=4,
                               chunks_per_epoch=5, seed=3)

    straight = sampler()
    epoch0 = list(iter(straight))
    epoch1 = list(iter(straight))

    first = sampler()
    it = iter(first)
    seen = list(itertools.islice(it, 2 * 4 * 2))  # two chunks of 4 tasks x 2 generations
    state = first.state_dict()
    assert state["done"] == 2 and state["epoch"] == 0 and state["proposals"] == 2

    resumed = sampler(first.selector)
    resumed.load_state_dict(state)
    rest = list(iter(resumed))
    assert seen + rest == epoch0
    assert resumed.selector.proposals == 5
    assert list(iter(resumed)) == epoch1  # the next epoch starts afresh, as in the straight run
    # A state from another epoch is not applied to this one.
    other = sampler()
    other.load_state_dict({**state, "epoch": 7})
    assert list(iter(other)) == epoch0


def test_resume_after_read_ahead_repeats_the_uninterrupted_sequence(tmp_path):
    """The DataLoader has read one chunk ahead when a checkpoint is written. Restored with
    state_dict(consumed=...), the sampler yields that chunk again (it was never trained on), marks
    it pending in the restored selector, and then proposes what the uninterrupted run proposed:
    same tasks, same scores, same order, across an epoch boundary."""
    import json

    batch, gens, repeats, chunks, n = 4, 2, 2, 5, 40
    chunk_len = batch * gens * repeats

    def make(store=None):
        store = store or PassRateStore([f"t{i}" for i in range(n)])
        selector = make_selector("variance", store, SelectConfig(selector="variance", explore=0.2))
        return SelectorSampler(selector, num_generations=gens, batch_size=batch, repeat_count=repeats,
                               chunks_per_epoch=chunks, seed=5)

    def train(sampler, it, n_chunks, trained):
        """Consume chunks one by one, with accelerate's one-chunk read-ahead, observing each after it."""
        for _ in range(n_chunks):
            chunk = list(itertools.islice(it, chunk_len))
            if not chunk:
                it = iter(sampler)
                chunk = list(itertools.islice(it, chunk_len))
            indices = np.array(chunk[::gens * repeats][:batch] if repeats == 1 else chunk[:batch * gens:gens])
            scores = [sampler.selector.score_for(i) for i in indices]
            successes = (indices * 7 + len(trained)) % 3  # any deterministic outcome
            sampler.selector.observe_counts(indices, successes, np.full(batch, 2), step=len(trained))
            trained.append((indices.tolist(), scores))
        return it

    def read_ahead(it):
        """Wrap an index stream so one extra chunk is always fetched before the current is used."""
        buffered = []
        for x in it:
            buffered.append(x)
            if len(buffered) == 2 * chunk_len:
                yield from buffered[:chunk_len]
                del buffered[:chunk_len]
        yield from buffered

    straight, trained_straight = make(), []
    train(straight, read_ahead(iter(straight)), 2 * chunks, trained_straight)

    first, trained = make(), []
    train(first, read_ahead(iter(first)), 3, trained)
    state = json.loads(json.dumps(first.state_dict(consumed=3 * chunk_len)))  # as the checkpoint stores it
    assert state["done"] == 4 and [p["number"] for p in state["pending"]] == [3]
    first.selector.store.save(tmp_path / "store.parquet")

    resumed = make(PassRateStore.load(tmp_path / "store.parquet"))
    resumed.load_state_dict(state)
    train(resumed, read_ahead(iter(resumed)), 2 * chunks - 3, trained)
    assert trained == trained_straight
    # Without `consumed` the read-ahead chunk counts as trained: the old behaviour, which skips it.
    assert first.state_dict()["pending"] == []
