"""End to end in a real TRL GRPOTrainer on CPU: the selector sees the rewards and changes its picks.

A tiny randomly initialised 2-layer Llama with a character tokenizer built here (no download)
trains on 12 tasks scored by a test verifier: 4 always solved, 4 never solved, 4 a fair coin
per completion. Through `SelectorSampler` and `VerifierRewards` the variance selector must learn
from TRL's own reward calls that only the coin tasks give mixed groups, and propose them.
"""

from __future__ import annotations

import pytest
from test_select_sampler import task, test_verifiers  # noqa: F401 - fixture (tests/ is on sys.path)

from rlvr.select.base import SelectConfig, make_selector
from rlvr.select.rewards import VerifierRewards
from rlvr.select.sampler import SelectorSampler, state_callback, tasks_dataset
from rlvr.select.store import PassRateStore

pytestmark = pytest.mark.slow


def char_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<pad>", "<unk>", "<s>", "</s>", *"abcdefghijklmnopqrstuvwxyz0123456789 :.,?!\n"])}
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                 eos_token="</s>")
    hf.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                        "{% if add_generation_prompt %}assistant: {% endif %}")
    return hf


def tiny_model(vocab_size: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=256, pad_token_id=0, bos_token_id=2, eos_token_id=3))


def train(tmp_path, selector, tasks, store, *, steps: int, per_device: int, steps_per_generation: int,
          num_iterations: int):
    from trl import GRPOConfig, GRPOTrainer

    groups = []
    rewards = VerifierRewards(tasks, selector, on_groups=[groups.extend])
    samplers = []
    observed_at_proposal = []  # how many groups the selector had seen when each chunk was chosen
    propose = selector.propose

    def recording_propose(batch_size, rng):
        observed_at_proposal.append(selector.stats.groups)
        return propose(batch_size, rng)

    selector.propose = recording_propose

    class SelectiveGRPOTrainer(GRPOTrainer):
        def _get_train_sampler(self, dataset=None):
            samplers.append(SelectorSampler.for_trainer(self, selector, dataset, chunks_per_epoch=100))
            return samplers[-1]

    tokenizer = char_tokenizer()
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, activation_checkpointing=False, seed=0,
        per_device_train_batch_size=per_device, steps_per_generation=steps_per_generation,
        num_iterations=num_iterations, num_generations=4, max_completion_length=8, max_steps=steps,
        logging_steps=steps, report_to="none", save_strategy="steps", save_steps=steps, learning_rate=1e-3,
    )
    trainer = SelectiveGRPOTrainer(model=tiny_model(len(tokenizer)), args=args, processing_class=tokenizer,
                                   train_dataset=tasks_dataset(tasks, store), reward_funcs=rewards.reward_functions(),
                                   callbacks=[state_callback(store)])
    trainer.train()
    return samplers[0], groups, trainer, observed_at_proposal


@pytest.fixture
def pool(test_verifiers):  # noqa: F811 - the fixture imported above
    tasks = [task(i, answer) for i, answer in enumerate(["always", "never", "coin"] * 4)]
    config = SelectConfig(selector="variance", k=4, explore=0.0)
    store = config.make_store(tasks)
    return tasks, store, make_selector(None, store, config)


def test_grpo_trainer_feeds_rewards_to_the_selector_with_one_batch_lag(tmp_path, pool):
    tasks, store, selector = pool
    sampler, groups, trainer, observed = train(tmp_path, selector, tasks, store, steps=14, per_device=8,
                                               steps_per_generation=1, num_iterations=1)
    history = sampler.history
    assert len(history) == 15  # one proposal per generation batch, plus accelerate's read-ahead
    # Chunk j is chosen before chunk j-1's rewards are in: the one-generation-batch lag.
    assert observed == [0] + [2 * (j - 1) for j in range(1, 15)]
    # Groups come back in proposal order, each with the score its task was proposed with.
    assert [g.task_id for g in groups] == [store.task_ids[i] for p in history[:14] for i in p.indices]
    assert [g.selector_score for g in groups] == pytest.approx([s for p in history[:14] for s in p.scores])
    assert all(g.k == 4 and g.selector == "variance" for g in groups)
    # The read-ahead proposal never repeats a task whose rewards are still outstanding.
    assert all(not set(a.indices.tolist()) & set(b.indices.tolist()) for a, b in zip(history, history[1:]))
    # The rewards the selector saw are the verifier's.
    answers = {t.task_id: t.answer for t in tasks}
    assert all(g.rewards == [1.0] * 4 for g in groups if answers[g.task_id] == "always")
    assert all(g.rewards == [0.0] * 4 for g in groups if answers[g.task_id] == "never")
    assert store.n_groups.sum() == len(groups) == 28 and store.step == groups[-1].step
    # ... and changed what it proposes: coin tasks (the only mixed ones) dominate once all were seen.
    first = [tasks[i].answer for p in history[:4] for i in p.indices]
    last = [tasks[i].answer for p in history[10:14] for i in p.indices]
    assert last.count("coin") >= 6 > first.count("coin")
    zero_std = [not g.mixed for g in groups]
    assert sum(zero_std[-8:]) < sum(zero_std[:8])
    logged = [h for h in trainer.state.log_history if "select/zero_std_frac" in h]
    assert logged and logged[-1]["frac_reward_zero_std"] == pytest.approx(logged[-1]["select/zero_std_frac"])
    # The store was saved with the checkpoint and restores to the same beliefs.
    back = PassRateStore.load(tmp_path / "out" / "checkpoint-14" / "pass_rates.parquet", task_ids=store.task_ids)
    assert back.alpha.tolist() == store.alpha.tolist() and back.step == store.step


def test_grpo_trainer_with_buffered_generations_has_no_lag(tmp_path, pool):
    tasks, store, selector = pool
    # 2 steps per generation x 2 iterations: each chunk is replayed 4 times, generated once.
    sampler, groups, _, observed = train(tmp_path, selector, tasks, store, steps=12, per_device=4,
                                         steps_per_generation=2, num_iterations=2)
    assert sampler.repeat_count == 4 and len(groups) == 3 * 2  # 12 steps / 4 per generation, 2 prompts each
    assert [g.task_id for g in groups] == [store.task_ids[i] for p in sampler.history[:3] for i in p.indices]
    # The read-ahead lands on a repeat of the current chunk, so every chunk is chosen after the
    # previous chunk's rewards are in (the last proposal is the read-ahead past the final step).
    assert observed == [0, 2, 4, 6]
