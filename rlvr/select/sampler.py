"""A TRL `GRPOTrainer` sampler that asks a selector for each generation batch as TRL consumes it.

TRL's own `RepeatSampler` shuffles the dataset once per epoch. `SelectorSampler` keeps the same
output contract, so TRL's generation buffering works unchanged:

- each chosen index is repeated `num_generations` times consecutively (one group per prompt);
- a chunk of `batch_size` = generation_batch_size // num_generations distinct indices is
  repeated `repeat_count` = num_iterations * steps_per_generation times (TRL generates once per
  chunk and replays the buffered completions for the other repeats);
- `__len__` = chunks_per_epoch * batch_size * num_generations * repeat_count, chunks_per_epoch
  defaulting to len(dataset) // batch_size as in RepeatSampler;
- every rank draws from a generator seeded with (seed, epoch) and applies the same gathered
  rollout statistics (see rewards.py), so every rank proposes the same chunks in the same order.

The difference: a chunk is chosen only when the DataLoader reaches it (`selector.propose` is
called lazily, inside `__iter__`), so it reflects every reward observed so far. Accelerate's
DataLoader reads one batch ahead, so with repeat_count == 1 chunk t+1 is chosen before chunk t's
rewards are in: a lag of one generation batch. The selector treats chunk t's tasks as pending
and does not propose them again on stale beliefs; with repeat_count > 1 the lag disappears
because chunk t's rewards arrive while its repeats are still being consumed. Keep
`dataloader_num_workers=0` (TRL's default): worker prefetching lengthens the lag.

Use it from your own trainer subclass:

    from trl import GRPOTrainer
    from rlvr.select import SelectConfig, make_selector
    from rlvr.select.rewards import VerifierRewards
    from rlvr.select.sampler import SelectorSampler, tasks_dataset

    config = SelectConfig(selector="insight", k=8)
    store = config.make_store(tasks)                      # offline estimates are used if present
    selector = make_selector(None, store, config)
    rewards = VerifierRewards(tasks, selector)

    class SelectiveGRPOTrainer(GRPOTrainer):
        def _get_train_sampler(self, dataset=None):
            return SelectorSampler.for_trainer(self, selector, dataset)

    trainer = SelectiveGRPOTrainer(model=..., args=GRPOConfig(num_generations=8, ...),
                                   train_dataset=tasks_dataset(tasks, store),
                                   reward_funcs=rewards.reward_functions(),
                                   callbacks=[state_callback(store)])

On resume, rebuild the store with `PassRateStore.load(checkpoint / STATE_FILE, task_ids=...)`.
When the Trainer skips the batches it already trained on, those skipped chunks are proposed but
never observed; they expire from the pending set after `max_pending_age` proposals. rlvr's own
trainer skips nothing: it saves `state_dict(consumed=...)` with each checkpoint and loads it back,
so the resumed run proposes exactly what the uninterrupted one did (see SelectorSampler).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlvr.records import Task
from rlvr.select.base import Proposal, Selector
from rlvr.select.store import PassRateStore

log = logging.getLogger(__name__)

STATE_FILE = "pass_rates.parquet"


class SelectorSampler:
    """Yields dataset indices chosen by a selector, in TRL's RepeatSampler layout (see module doc).

    A duck-typed `torch.utils.data.Sampler` (iterable with `__len__` and `set_epoch`), so this
    module does not import torch.

    Resumable: `state_dict(consumed)` (epoch, chunks done, the selector's proposal count, the
    random state, and the chunks proposed but not yet trained on) saved with a checkpoint and
    `load_state_dict()` on resume continue the interrupted epoch exactly as an uninterrupted run
    would. The DataLoader reads ahead, so when a checkpoint is written the sampler has already
    proposed the next step's chunk, from the beliefs of that earlier moment; `consumed` (indices the
    trainer has trained on since the start) says which chunks those are, and the resumed sampler
    yields them again verbatim before proposing anything new.
    """

    def __init__(self, selector: Selector, *, num_generations: int, batch_size: int, repeat_count: int = 1,
                 chunks_per_epoch: int | None = None, seed: int = 0, dataset_size: int | None = None,
                 max_history: int = 1024):
        n = selector.store.size
        if dataset_size is not None and dataset_size != n:
            raise ValueError(f"the training dataset has {dataset_size} rows but the selector's store has {n} tasks; "
                             "build the dataset with tasks_dataset(tasks, store) so row i is store task i")
        if num_generations < 1 or batch_size < 1 or repeat_count < 1:
            raise ValueError(f"num_generations, batch_size and repeat_count must be >= 1, got "
                             f"{num_generations}, {batch_size}, {repeat_count}")
        if batch_size > n:
            raise ValueError(f"a generation batch needs {batch_size} distinct tasks but the pool has only {n}; "
                             "lower generation_batch_size or add tasks")
        self.selector = selector
        self.num_generations = num_generations
        self.batch_size = batch_size
        self.repeat_count = repeat_count
        self.chunks_per_epoch = chunks_per_epoch if chunks_per_epoch is not None else n // batch_size
        if self.chunks_per_epoch < 1:
            raise ValueError(f"chunks_per_epoch must be at least 1, got {self.chunks_per_epoch}")
        self.seed = seed
        self.epoch = 0
        self.history: list[Proposal] = []  # recent proposals, oldest first (at least the last max_history)
        self.max_history = max_history
        self._rng: np.random.Generator | None = None  # the current epoch's generator
        self._done = 0  # chunks of the current epoch proposed so far
        self._chunks: list[Proposal | None] = []  # the current epoch's proposals, in order
        self._iter_epoch = 0  # the epoch the current iteration belongs to
        self._restore: dict[str, Any] | None = None  # a loaded state, applied when iteration starts

    @classmethod
    def for_trainer(cls, trainer: Any, selector: Selector, dataset: Sequence | None = None,
                    chunks_per_epoch: int | None = None) -> SelectorSampler:
        """A sampler with the layout TRL's GRPOTrainer expects, read from the trainer's settings."""
        dataset = trainer.train_dataset if dataset is None else dataset
        args = trainer.args
        if args.generation_batch_size % trainer.num_generations:
            raise ValueError("generation_batch_size must be a multiple of num_generations")
        if selector.config.k != trainer.num_generations:
            log.warning("selector k=%d but the trainer samples num_generations=%d per prompt; InSight's evidence "
                        "term assumes k rollouts per proposal", selector.config.k, trainer.num_generations)
        return cls(selector, num_generations=trainer.num_generations,
                   batch_size=args.generation_batch_size // trainer.num_generations,
                   repeat_count=trainer.num_iterations * args.steps_per_generation,
                   chunks_per_epoch=chunks_per_epoch, seed=args.seed, dataset_size=len(dataset))

    def _record(self, proposal: Proposal) -> None:
        """Keep a proposal in `history`, dropping the oldest beyond `max_history` (memory stays flat)."""
        self.history.append(proposal)
        if len(self.history) > 2 * self.max_history:
            del self.history[: len(self.history) - self.max_history]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.chunks_per_epoch * self.batch_size * self.num_generations * self.repeat_count

    @property
    def chunk_length(self) -> int:
        """Indices one proposal contributes to the stream."""
        return self.batch_size * self.num_generations * self.repeat_count

    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """The state to resume from. `consumed`: stream indices trained on since the start of training
        (all epochs); without it, chunks already proposed count as trained (the read-ahead is lost)."""
        state = {"epoch": self.epoch, "done": self._done, "proposals": self.selector.proposals,
                 "rng": self._rng.bit_generator.state if self._rng is not None else None,
                 "pending": [], "skip": 0}
        if consumed is None or self._rng is None:
            return state
        position = consumed - self._iter_epoch * len(self)
        if position >= len(self):  # the whole epoch was trained on: the next starts afresh
            return {**state, "epoch": self._iter_epoch + 1, "done": 0, "rng": None}
        first, skip = divmod(max(position, 0), self.chunk_length)
        pending = [{"number": p.number, "indices": p.indices.tolist(), "scores": p.scores.tolist(),
                    "reasons": list(p.reasons)} for p in self._chunks[first:] if p is not None]
        return {**state, "epoch": self._iter_epoch, "pending": pending, "skip": skip}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._restore = state
        self.selector.proposals = int(state.get("proposals", 0))

    def _stream(self, chunk: list[int]) -> Iterator[int]:
        for _ in range(self.repeat_count):
            for index in chunk:
                for _ in range(self.num_generations):
                    yield index

    def __iter__(self) -> Iterator[int]:
        state, self._restore = self._restore, None
        rng = np.random.default_rng([self.seed, self.epoch])
        done, pending, skip = 0, [], 0
        if state and state.get("rng") and int(state["epoch"]) == self.epoch:
            rng.bit_generator.state = state["rng"]
            done = int(state["done"])
            skip = int(state.get("skip") or 0)
            pending = [Proposal(int(p["number"]), self.selector.name, np.asarray(p["indices"], dtype=np.int64),
                                np.asarray(p["scores"], dtype=np.float64), list(p["reasons"]))
                       for p in state.get("pending") or []]
        self._rng, self._done, self._iter_epoch = rng, done, self.epoch
        # Proposals made before the checkpoint but not (fully) trained on: yielded as they were
        # and pending again in the selector, exactly as in the run that was interrupted.
        self._chunks = [None] * (done - len(pending)) + list(pending)
        for proposal in pending:
            self.selector.restore_pending(proposal)
        for i, proposal in enumerate(pending):
            stream = self._stream(proposal.indices.tolist())
            if i == 0 and skip:
                stream = itertools.islice(stream, skip, None)
            yield from stream
        for number in range(done, self.chunks_per_epoch):
            proposal = self.selector.propose(self.batch_size, rng)  # lazily: beliefs as of now
            self._record(proposal)
            self._done = number + 1
            self._chunks.append(proposal)
            yield from self._stream(proposal.indices.tolist())
        self.epoch += 1
        self._done = 0
        self._rng = None  # the next epoch draws from its own generator


def tasks_dataset(tasks: Sequence[Task], store: PassRateStore | None = None):
    """A `datasets.Dataset` for GRPOTrainer: chat `prompt` and `task_id` columns, in store order."""
    from datasets import Dataset

    if store is not None:
        by_id = {t.task_id: t for t in tasks}
        missing = [tid for tid in store.task_ids if tid not in by_id]
        if missing:
            raise ValueError(f"{len(missing)} store task(s) are not among the given tasks, e.g. {missing[0]}")
        tasks = [by_id[tid] for tid in store.task_ids]
    return Dataset.from_dict({"prompt": [t.chat() for t in tasks], "task_id": [t.task_id for t in tasks]})


def state_callback(store: PassRateStore, filename: str = STATE_FILE):
    """A transformers TrainerCallback that saves the store into every checkpoint folder."""
    from transformers import TrainerCallback

    class PassRateStateCallback(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                store.save(folder / filename)
            return control

    return PassRateStateCallback()
