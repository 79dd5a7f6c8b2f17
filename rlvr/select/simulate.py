"""A learner simulator for comparing selectors before spending GPU hours (`rlvr select simulate`).

Real GRPO runs are too expensive to compare seven selectors over several seeds, so this module
simulates a policy whose pass rate on each task is an item-response model, runs every selector
through the very same `PassRateStore` / `Selector` code used in training, and measures how many
rollouts each needs to reach a target pass rate on held-out tasks.

The model, and what it assumes
------------------------------
- Tasks. A pool of `n_train` training tasks and `n_heldout` held-out tasks drawn from the same
  distribution. Task j belongs to one of `n_skills` topics c_j and has a difficulty d_j ~
  Normal(difficulty_mean, difficulty_sd) in logits. It uses a general skill with weight
  `general_share` and its topic's skill with weight 1 - general_share: tasks of one topic are
  related (they share a skill), and all tasks are weakly related through the general skill.
- Policy. Skills theta (general + one per topic, starting at 0) and a per-task memorisation
  offset u_j (training tasks only). P(task j solved) = sigmoid(w_j . theta + u_j - d_j).
- Rollouts. A group of k rollouts of task j has s ~ Binomial(k, p_j) successes; with
  `reward_noise` > 0 each reward is flipped with that probability (an imperfect verifier).
  A share `noisy_share` of the training tasks is solved by luck only (guessable or mislabelled
  items): a fixed pass rate drawn from U(0.25, 0.75) whatever the policy knows.
- Learning rule (`learning_rule`). "mixed" (the default): GRPO's advantages are zero when a
  group's rewards are all equal, so such a group teaches nothing. A mixed group with success
  rate a teaches in proportion to its mean absolute GRPO advantage 2 sqrt(a (1 - a)) (rewards
  divided by the group's standard deviation). "advantage": advantages are not divided by the
  group's standard deviation (Dr. GRPO), so a group teaches in proportion to its advantage mass
  mean |r - mean r| = 2 a (1 - a), scaled by 2 to peak at 1 like the default. "expected": a
  group teaches in proportion to 4 p (1 - p) of the task's *true* pass rate p whatever its k
  rollouts showed (a learned value baseline, as in PPO: an all-equal group still moves the
  policy). Under "mixed" the selectors' own premise (only mixed groups teach) is the world's
  rule; the other two rules are the checks that a selector is not just fitted to its premise.
  The signal is multiplied by (1 + noise * xi),
  xi ~ N(0, 1) (gradient noise; large noise can even unlearn); a luck-only task contributes the
  noise term alone. Per step, the skills move by skill_lr / batch * sum over groups of signal *
  w_j (the loss averages over the whole batch, so all-equal groups dilute the step), and each
  trained task's memorisation u_j grows by item_lr * signal (this does not transfer to held-out
  tasks). With `repeat_decay` > 0 the v-th visit to a task transfers 1 / (1 + repeat_decay * v)
  as much to the skills (overfitting to a prompt).
- Forgetting. Every step skills, memorisation and visit counts decay toward 0 by a factor
  (1 - policy_forgetting): what is not practised fades.
- Measurement. The held-out pass rate is the exact mean of sigmoid(w_j . theta - d_j) over the
  held-out tasks (no sampling noise), recorded after every step.
- Lag. Selectors see a step's groups `lag` steps late (1 = TRL with accelerate's read-ahead).

Defaults: about half of uniform's groups are all-equal at the start (difficulties spread over
several logits), and uniform reaches the 0.5 target after several passes over the pool, so
selection has time to matter. `noisy_share` and `repeat_decay` default to 0: they are the
premises under which evidence-aware scores (InSight) should beat difficulty-only ones ("a
well-known task teaches little"), and they are left for the user to switch on, not assumed.

What it leaves out: rollouts of one task are independent given the policy; difficulty is one
number per task; there is no reward hacking or format learning; the learning signal is the
premise of DAPO, InSight and this module (only mixed groups teach), not something the simulator
discovers. Every selector shares the batch size, k, lag, prior, forgetting and exploration
settings, and no selector sees the simulator's hidden state: they share one SelectConfig per run
(prior, forgetting per step and per visit, exploration floor, k), differing only in `selector`,
and they learn about tasks only through the groups they rolled out, `lag` steps late.

Store settings. The defaults (`prior empirical`, `visit_forgetting 0.5`, InSight form `signal`)
are SelectConfig's; `--prior fixed --visit-forgetting 1 --insight-form variance_reduction`
reproduces the earlier figures exactly (insight 0.85x uniform, 45% zero-variance groups; see
README's select section for both tables and two other worlds). With a narrow difficulty spread
(most tasks mixed anyway) or a pool much larger than the run, the selectors' advantage shrinks:
try `--difficulty-sd 0.5` or `--n-train 50000`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from rlvr.select.base import SelectConfig, make_selector, selector_names

log = logging.getLogger(__name__)

DEFAULT_SELECTORS = ("uniform", "variance", "dapo", "band", "insight", "insight_signal", "pairing", "curriculum")
LEARNING_RULES = ("mixed", "advantage", "expected")


@dataclass
class SimConfig:
    selectors: list[str] = field(default_factory=lambda: list(DEFAULT_SELECTORS),
                                 metadata={"help": "selectors to compare (uniform is the baseline)"})
    seeds: int = field(default=5, metadata={"help": "independent simulated runs per selector"})
    seed: int = field(default=0, metadata={"help": "base seed"})
    n_train: int = field(default=2000, metadata={"help": "training pool size"})
    n_heldout: int = field(default=500, metadata={"help": "held-out tasks the target is measured on"})
    n_skills: int = field(default=8, metadata={"help": "topics (related-task clusters)"})
    general_share: float = field(default=0.3, metadata={"help": "weight of the general skill in every task"})
    difficulty_mean: float = field(default=1.0, metadata={"help": "mean task difficulty (logits above the start skill)"})
    difficulty_sd: float = field(default=3.5, metadata={"help": "spread of task difficulty (logits)"})
    k: int = field(default=8, metadata={"help": "rollouts per task per step"})
    batch: int = field(default=32, metadata={"help": "tasks per step"})
    max_steps: int = field(default=800, metadata={"help": "steps per run (the rollout budget)"})
    target: float = field(default=0.5, metadata={"help": "held-out pass rate to reach"})
    skill_lr: float = field(default=0.06, metadata={"help": "skill learning rate"})
    item_lr: float = field(default=0.1, metadata={"help": "per-task memorisation rate (does not transfer)"})
    noise: float = field(default=0.5, metadata={"help": "relative gradient noise per group"})
    policy_forgetting: float = field(default=0.0005, metadata={"help": "per-step decay of what was learned"})
    reward_noise: float = field(default=0.0, metadata={"help": "probability that a reward is flipped"})
    noisy_share: float = field(default=0.0, metadata={"help": "share of tasks solved by luck only (guessable or mislabelled)"})
    repeat_decay: float = field(default=0.0, metadata={"help": "transfer lost per earlier training visit to a task"})
    lag: int = field(default=1, metadata={"help": "steps before a selector sees a step's groups"})
    sampling: str = field(default="top", metadata={"help": "selector sampling: top or proportional"})
    explore: float = field(default=0.05, metadata={"help": "selector exploration floor"})
    forgetting: float = field(default=0.995, metadata={"help": "belief forgetting per step (store)"})
    insight_form: str = field(default="weighted_mi", metadata={"help": "InSight score form"})
    insight_evidence_weight: float = field(default=0.5, metadata={"help": "InSight evidence exponent gamma"})
    visit_forgetting: float = field(default=0.5, metadata={"help": "store: decay of a task's evidence per observation"})
    band_order: str = field(default="evidence", metadata={"help": "band selector: evidence, uniform or probability"})
    prior: str = field(default="empirical", metadata={"help": "store prior: fixed Beta(1, 1) or empirical (fitted)"})
    learning_rule: str = field(default="mixed", metadata={
        "help": "what a group teaches: mixed (only mixed groups, 2 sqrt(a(1-a))), advantage (advantage mass "
                "4 a(1-a), no std normalisation) or expected (4 p(1-p) of the true pass rate)",
        "choices": ("mixed", "advantage", "expected")})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"selectors": []}, {"selectors": ["nope"]}, {"seeds": 0}, {"n_train": 10, "batch": 32},
        {"k": 1}, {"target": 1.5}, {"general_share": 2.0}, {"lag": -1}, {"reward_noise": 0.6}, {"difficulty_sd": -1},
        {"noisy_share": 1.5}, {"repeat_decay": -1}, {"insight_form": "x"}, {"explore": 2},
        {"learning_rule": "always"},
    )

    def __post_init__(self) -> None:
        if not self.selectors:
            raise ValueError("selectors: name at least one selector, e.g. uniform insight")
        unknown = [s for s in self.selectors if s not in selector_names() and ":" not in s]
        if unknown:
            raise ValueError(f"unknown selector(s) {unknown}; valid: {', '.join(selector_names())}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {self.seeds}")
        if self.batch < 1 or self.n_train < self.batch:
            raise ValueError(f"need 1 <= batch <= n_train, got batch={self.batch}, n_train={self.n_train}")
        if self.n_heldout < 1 or self.n_skills < 1 or self.max_steps < 1:
            raise ValueError("n_heldout, n_skills and max_steps must be at least 1")
        if self.k < 2:
            raise ValueError(f"k must be at least 2 (a group of one is never mixed), got {self.k}")
        if not 0.0 < self.target < 1.0:
            raise ValueError(f"target is a pass rate in (0, 1), got {self.target}")
        if not 0.0 <= self.general_share <= 1.0:
            raise ValueError(f"general_share must be in [0, 1], got {self.general_share}")
        if self.lag < 0:
            raise ValueError(f"lag must be >= 0, got {self.lag}")
        if not 0.0 <= self.reward_noise < 0.5:
            raise ValueError(f"reward_noise must be in [0, 0.5), got {self.reward_noise}")
        if self.difficulty_sd < 0 or self.skill_lr < 0 or self.item_lr < 0 or self.noise < 0:
            raise ValueError("difficulty_sd, skill_lr, item_lr and noise must be >= 0")
        if not 0.0 <= self.noisy_share <= 1.0:
            raise ValueError(f"noisy_share must be in [0, 1], got {self.noisy_share}")
        if self.repeat_decay < 0:
            raise ValueError(f"repeat_decay must be >= 0, got {self.repeat_decay}")
        if self.learning_rule not in LEARNING_RULES:
            raise ValueError(f"learning_rule must be one of {LEARNING_RULES}, got {self.learning_rule!r}")
        if not 0.0 <= self.policy_forgetting < 1.0:
            raise ValueError(f"policy_forgetting must be in [0, 1), got {self.policy_forgetting}")
        self.select_config("uniform")  # validates the selector settings early

    def select_config(self, name: str) -> SelectConfig:
        return SelectConfig(selector=name, sampling=self.sampling, explore=self.explore, k=self.k,
                            forgetting=self.forgetting, insight_form=self.insight_form, prior=self.prior,
                            visit_forgetting=self.visit_forgetting,
                            insight_evidence_weight=self.insight_evidence_weight, band_order=self.band_order,
                            seed=self.seed)


@dataclass
class World:
    """The hidden truth of one simulated run: task topics, difficulties and skill weights."""

    weights: np.ndarray  # (n_train + n_heldout, n_skills + 1)
    difficulty: np.ndarray  # (n_train + n_heldout,)
    n_train: int
    luck: np.ndarray  # (n_train,) NaN, or the fixed pass rate of a task solved only by luck

    @classmethod
    def sample(cls, config: SimConfig, rng: np.random.Generator) -> World:
        n = config.n_train + config.n_heldout
        topic = rng.integers(0, config.n_skills, n)
        weights = np.zeros((n, config.n_skills + 1))
        weights[:, 0] = config.general_share
        weights[np.arange(n), 1 + topic] = 1.0 - config.general_share
        difficulty = rng.normal(config.difficulty_mean, config.difficulty_sd, n)
        luck = np.where(rng.random(config.n_train) < config.noisy_share,
                        rng.uniform(0.25, 0.75, config.n_train), np.nan)
        return cls(weights, difficulty, config.n_train, luck)


@dataclass
class RunResult:
    selector: str
    seed: int
    heldout: np.ndarray  # held-out pass rate after 0..max_steps steps
    zero_var: np.ndarray  # fraction of all-equal groups at each step
    rollouts_per_step: int

    def rollouts_to(self, target: float) -> float:
        hit = np.flatnonzero(self.heldout >= target)
        return float(hit[0] * self.rollouts_per_step) if len(hit) else float("nan")


class Learner:
    """The simulated policy (see the module docstring): skills, memorisation, learning, forgetting."""

    def __init__(self, world: World, config: SimConfig, rng: np.random.Generator):
        self.world, self.config, self.rng = world, config, rng
        self.theta = np.zeros(world.weights.shape[1])
        self.memo = np.zeros(world.n_train)
        self.visits = np.zeros(world.n_train)  # training visits per task (fading like the skills)

    def pass_rates(self, idx: np.ndarray) -> np.ndarray:
        logit = self.world.weights[idx] @ self.theta - self.world.difficulty[idx]
        train = idx < self.world.n_train
        logit[train] += self.memo[idx[train]]
        p = 1.0 / (1.0 + np.exp(-logit))
        luck = self.world.luck[idx[train]]
        p[train] = np.where(np.isnan(luck), p[train], luck)
        return p

    def heldout_pass_rate(self) -> float:
        w = self.world
        logit = w.weights[w.n_train:] @ self.theta - w.difficulty[w.n_train:]
        return float(np.mean(1.0 / (1.0 + np.exp(-logit))))

    def rollout(self, idx: np.ndarray) -> np.ndarray:
        """Successes of k rollouts per task (rewards flipped with probability reward_noise)."""
        c = self.config
        solved = self.rng.random((len(idx), c.k)) < self.pass_rates(idx)[:, None]
        if c.reward_noise > 0:
            solved ^= self.rng.random(solved.shape) < c.reward_noise
        return solved.sum(axis=1)

    def strength(self, idx: np.ndarray, successes: np.ndarray) -> np.ndarray:
        """How much each group can teach under the world's learning rule, in [0, 1]."""
        rule = self.config.learning_rule
        if rule == "expected":
            p = self.pass_rates(idx)
            return 4.0 * p * (1.0 - p)
        acc = successes / self.config.k
        if rule == "advantage":
            return 4.0 * acc * (1.0 - acc)
        return 2.0 * np.sqrt(acc * (1.0 - acc))

    def train(self, idx: np.ndarray, successes: np.ndarray) -> None:
        c = self.config
        xi = self.rng.standard_normal(len(idx))
        # A task solved only by luck teaches nothing but noise: its mean signal is zero.
        teaches = np.isnan(self.world.luck[idx]).astype(np.float64)
        signal = self.strength(idx, successes) * (teaches + c.noise * xi)
        decay = 1.0 - c.policy_forgetting
        self.theta *= decay
        self.memo *= decay
        self.visits *= decay
        transfer = 1.0 / (1.0 + c.repeat_decay * self.visits[idx])
        self.theta += (c.skill_lr / len(idx)) * ((signal * transfer) @ self.world.weights[idx])
        np.add.at(self.memo, idx, c.item_lr * signal)
        np.add.at(self.visits, idx, 1.0)


def simulate_run(config: SimConfig, selector_name: str, seed: int) -> RunResult:
    """One selector on one seed's world. The world and learner noise depend only on the seed,
    so every selector faces the same tasks; the selector's own draws use a separate stream."""
    world = World.sample(config, np.random.default_rng([config.seed, seed, 0]))
    learner = Learner(world, config, np.random.default_rng([config.seed, seed, 1]))
    select_rng = np.random.default_rng([config.seed, seed, 2])
    select_config = config.select_config(selector_name)
    store = select_config.make_store(task_ids=[str(i) for i in range(config.n_train)])
    selector = make_selector(selector_name, store, select_config)
    heldout = np.empty(config.max_steps + 1)
    zero_var = np.empty(config.max_steps)
    heldout[0] = learner.heldout_pass_rate()
    inbox: list[tuple[int, np.ndarray, np.ndarray]] = []
    for step in range(config.max_steps):
        idx = selector.propose(config.batch, select_rng).indices
        s = learner.rollout(idx)
        zero_var[step] = np.mean((s == 0) | (s == config.k))
        learner.train(idx, s)
        heldout[step + 1] = learner.heldout_pass_rate()
        inbox.append((step, idx, s))
        while len(inbox) > config.lag:
            st, i, succ = inbox.pop(0)
            selector.observe_counts(i, succ.astype(np.float64), np.full(len(i), float(config.k)), step=st)
    return RunResult(selector_name, seed, heldout, zero_var, config.batch * config.k)


def simulate(config: SimConfig, progress: bool = False) -> list[RunResult]:
    from tqdm.auto import tqdm

    jobs = [(name, seed) for name in config.selectors for seed in range(config.seeds)]
    return [simulate_run(config, name, seed) for name, seed in tqdm(jobs, desc="simulate", disable=not progress)]


def summarize(results: list[RunResult], config: SimConfig) -> list[dict[str, Any]]:
    """One row per selector: rollouts to target (mean, sd, min, max over seeds that reached it),
    its ratio to uniform's, zero-variance group fraction, final held-out pass rate."""
    rows = []
    base = [r.rollouts_to(config.target) for r in results if r.selector == "uniform"]
    base_mean = float(np.mean(base)) if base and not np.isnan(base).any() else float("nan")
    for name in config.selectors:
        runs = [r for r in results if r.selector == name]
        hits = np.array([r.rollouts_to(config.target) for r in runs])
        reached = hits[~np.isnan(hits)]
        zv = np.array([r.zero_var.mean() for r in runs])
        final = np.array([r.heldout[-1] for r in runs])
        mean = float(reached.mean()) if len(reached) == len(runs) else float("nan")
        rows.append({
            "selector": name,
            "seeds": len(runs),
            "reached_target": len(reached),
            "rollouts_to_target_mean": mean,
            "rollouts_to_target_sd": float(reached.std(ddof=1)) if len(reached) > 1 else float("nan"),
            "rollouts_to_target_min": float(reached.min()) if len(reached) else float("nan"),
            "rollouts_to_target_max": float(reached.max()) if len(reached) else float("nan"),
            "ratio_vs_uniform": mean / base_mean if base_mean == base_mean else float("nan"),
            "zero_variance_frac_mean": float(zv.mean()),
            "zero_variance_frac_sd": float(zv.std(ddof=1)) if len(zv) > 1 else 0.0,
            "final_heldout_mean": float(final.mean()),
            "final_heldout_sd": float(final.std(ddof=1)) if len(final) > 1 else 0.0,
        })
    return rows
