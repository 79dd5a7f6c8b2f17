"""The planted experiment: four sources whose value is known in advance, to check the value report.

With the bundled SmolLM2-135M and the toy.initial family ("Write a sentence about X. Start your
reply with the letter L."), which the model follows about 40% of the time:

- helpful:    toy.initial tasks with correct answer keys (the probe's family, other topics/letters);
- poisoned:   toy.initial tasks whose answer key is deliberately wrong: it always says "A" (a
              constant-label bug), whatever letter the prompt asks for. The model often starts with
              "A ..." anyway, so these groups are mixed and GRPO does learn from them;
- mastered:   "... Start your reply with a letter.": any letter passes, always solved;
- impossible: reasoning-gym sums of three 4-digit numbers, never solved by this model (and not
              within the few tokens the experiment generates);
- probe:      held-out toy.initial tasks with correct keys (other seeds, so other topic/letter pairs).

What the report must show (tests/test_train_slow.py): helpful ranks above mastered and impossible,
and poisoned gets negative influence. Nothing here fixes the influence values: mastered and
impossible tasks give all-equal groups, so GRPO assigns them no advantage and no gradient; the
signs of helpful and poisoned come from measured gradient alignments with the probe's policy
gradient.
"""

from __future__ import annotations

import dataclasses

from rlvr.records import Provenance, Task
from rlvr.synth.toy import INITIALS, InitialConfig, InitialGenerator, initial_task

LETTERS = "TIHMBP"
POISON_KEY = "A"
SOURCES = ("helpful", "poisoned", "mastered", "impossible")


def _with_source(task: Task, source: str) -> Task:
    return dataclasses.replace(task, meta={**task.meta, "source": source})


def planted_tasks(n_per_source: int = 8, n_probe: int = 12, seed: int = 0) -> tuple[list[Task], list[Task]]:
    """(training tasks of the four sources, probe tasks); meta["source"] names each task's source."""
    from rlvr.synth.gym import GymConfig, GymGenerator

    gen = InitialGenerator(InitialConfig(LETTERS))
    helpful = [_with_source(gen.generate(seed, i), "helpful") for i in range(n_per_source)]
    poisoned = []
    for i in range(n_per_source):
        t = gen.generate(seed, 1000 + i)
        prov = dataclasses.replace(t.provenance, generator="toy.initial.poisoned")
        poisoned.append(initial_task(t.meta["topic"], t.meta["asked"], POISON_KEY, prov, source="poisoned",
                                     poison=f"answer key {POISON_KEY!r} whatever letter is asked"))
    easy_prov = Provenance("toy.initial.any_letter", gen.version, gen.fingerprint, seed)
    mastered = []
    for i in range(n_per_source):
        t = gen.generate(seed, 2000 + i)
        task = initial_task(t.meta["topic"], "A", INITIALS + "AS", dataclasses.replace(easy_prov, index=i),
                            source="mastered")
        text = task.prompt[0].content.replace("with the letter A.", "with a letter.")
        mastered.append(dataclasses.replace(task, prompt=[dataclasses.replace(task.prompt[0], content=text)],
                                            task_id=""))
    hard = GymGenerator(GymConfig("basic_arithmetic", {"min_terms": 3, "max_terms": 3, "min_digits": 4,
                                                       "max_digits": 4}))
    impossible = [_with_source(hard.generate(seed, i), "impossible") for i in range(n_per_source)]
    probe = [_with_source(gen.generate(seed + 1, i), "probe") for i in range(n_probe)]
    train_ids = {t.task_id for t in helpful}
    probe = [t for t in probe if t.task_id not in train_ids]
    return [*helpful, *poisoned, *mastered, *impossible], probe
