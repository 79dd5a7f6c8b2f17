"""`TrainConfig`: every knob of `rlvr train` and of the pipeline's `train` stage, and the TRL config it becomes.

One dataclass feeds the CLI flags, `--config x.yaml` and a stage's `with:` mapping (see rlvr.config).
`grpo_kwargs()` turns it into the keyword arguments of TRL's `GRPOConfig`; it is a pure function of
the config, so the GPU path (which cannot run on a CPU-only machine) is tested by checking what it
produces:

- device "cpu": `use_cpu=True, bf16=False, gradient_checkpointing=False` (TRL defaults to bf16 and
  gradient checkpointing, which a CPU run cannot use);
- device "cuda": bf16, and vLLM generation (`use_vllm=True`) in "colocate" mode on one GPU, or in
  "server" mode when several GPUs are visible (start `trl vllm-serve --model ...` on one GPU and
  launch training on the others with `accelerate launch`). `--no-vllm` keeps transformers'
  `generate` on the GPU.

Batch geometry: one optimizer step trains `prompts_per_step` groups of `num_generations`
completions each. They are generated together (TRL's generation batch) and split into
`micro_batches` gradient-accumulation slices.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo")
SCALE_REWARDS = ("group", "batch", "none")
DEVICES = ("cpu", "cuda")
OPTIMIZERS = ("adamw", "adafactor")
VLLM_MODES = ("auto", "colocate", "server")
ADVANTAGES = ("grpo", "trr++")

# GRPOConfig fields that grpo_kwargs() sets, so `grpo: {...}` may not: field -> what to use instead.
RLVR_OWNED_GRPO_FIELDS: dict[str, str] = {
    "output_dir": "the run directory (--out)", "max_steps": "steps", "seed": "seed",
    "per_device_train_batch_size": "prompts_per_step and micro_batches",
    "gradient_accumulation_steps": "micro_batches", "num_generations": "num_generations",
    "max_completion_length": "max_completion_length", "temperature": "temperature",
    "loss_type": "loss_type", "learning_rate": "learning_rate", "beta": "beta", "epsilon": "epsilon",
    "epsilon_high": "epsilon_high", "scale_rewards": "scale_rewards",
    "mask_truncated_completions": "mask_truncated_completions", "num_iterations": "num_iterations",
    "save_steps": "save_every", "save_total_limit": "keep_checkpoints", "use_cpu": "device", "bf16": "device",
    "fp16": "device", "use_vllm": "use_vllm", "vllm_mode": "vllm_mode",
    "vllm_gpu_memory_utilization": "vllm_gpu_memory_utilization", "vllm_server_base_url": "vllm_server_base_url",
    # fixed by rlvr: unbiased sampling for the pass-rate estimates, rlvr's own checkpoints and progress
    "top_p": "nothing (rlvr samples with top_p=1 so pass rates stay unbiased)",
    "top_k": "nothing (rlvr samples with top_k=0 so pass rates stay unbiased)",
    "save_strategy": "save_every", "ignore_data_skip": "nothing (the selector's sampler resumes itself)",
    "remove_unused_columns": "nothing (the reward functions need the task columns)",
    "gradient_checkpointing": "nothing (rlvr's influence hooks need it off)",
    "logging_steps": "nothing", "report_to": "nothing", "disable_tqdm": "nothing",
    "dataloader_num_workers": "nothing", "log_completions": "save_completions",
    "optim": "optimizer (adamw or adafactor: the memory planner counts its state)",
}


@dataclass
class TrainConfig:
    # -- what to train --------------------------------------------------------------------------
    model: str = field(default="smollm2-135m-instruct",
                       metadata={"help": "embedded model name, local folder or Hugging Face id"})
    device: str = field(default="cpu", metadata={"help": "cpu or cuda", "choices": DEVICES})
    steps: int = field(default=100, metadata={"help": "optimizer steps"})
    seed: int = field(default=0, metadata={"help": "seed for sampling, selection and the probe split"})
    # -- selection (rlvr.select) ----------------------------------------------------------------
    selector: str = field(default="insight", metadata={"help": "selector name (uniform, variance, dapo, band, "
                                                                "insight, pairing, curriculum) or pkg.mod:Class"})
    select: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "further rlvr.select.SelectConfig settings, e.g. '{explore: 0.1, forgetting: 0.98}'"})
    # -- GRPO (TRL) -----------------------------------------------------------------------------
    prompts_per_step: int = field(default=4, metadata={"help": "tasks (groups) per optimizer step"})
    num_generations: int = field(default=8, metadata={"help": "completions per task (group size k)"})
    micro_batches: int = field(default=0, metadata={"help": "gradient-accumulation slices per step (0: the fewest "
                                                          "that keep each slice within tokens_per_micro_batch)"})
    tokens_per_micro_batch: int = field(default=8192, metadata={
        "help": "auto micro-batching: most (prompt + completion) tokens in one forward/backward slice; "
                "activations of a 135M model take roughly 1 MB per token on CPU"})
    optimizer: str = field(default="adamw", metadata={
        "help": "adamw (two fp32 moments: 8 bytes per trained weight) or adafactor (factored second moment, no "
                "first: a few bytes per row and column), which lets a full fine-tune fit a smaller machine",
        "choices": OPTIMIZERS})
    memory_gb: float = field(default=0.0, metadata={
        "help": "CPU: resident memory the run may use, which sizes the micro-batches (0: what is available now, "
                "at most 4 GB); a run that cannot fit is refused before it starts"})
    max_prompt_tokens: int = field(default=1024, metadata={
        "help": "tasks whose chat prompt is longer (in policy tokens) are left out of training and the probe "
                "set, and counted as too_long"})
    max_completion_length: int = field(default=256, metadata={"help": "generation length limit in tokens"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature for rollouts and probes"})
    loss_type: str = field(default="dapo", metadata={"help": "TRL loss: " + ", ".join(LOSS_TYPES),
                                                     "choices": LOSS_TYPES})
    learning_rate: float = field(default=1e-5, metadata={"help": "AdamW learning rate (TRL's 1e-6 barely moves "
                                                                  "a 135M model in a short run)"})
    beta: float = field(default=0.0, metadata={"help": "KL coefficient (0 loads no reference model)"})
    epsilon: float = field(default=0.2, metadata={"help": "lower clip range"})
    epsilon_high: float = field(default=0.28, metadata={"help": "upper clip range (DAPO clip-higher)"})
    scale_rewards: str = field(default="group", metadata={"help": "group, batch or none (Dr. GRPO)",
                                                          "choices": SCALE_REWARDS})
    mask_truncated_completions: bool = field(default=False,
                                             metadata={"help": "leave truncated completions out of the loss"})
    num_iterations: int = field(default=1, metadata={"help": "updates per generation batch (mu)"})
    dynamic_sampling: bool = field(default=False, metadata={
        "help": "DAPO dynamic sampling: drop groups whose rewards are all equal and generate more until the batch "
                "holds prompts_per_step mixed groups (costs extra generation; see rlvr.train.dynamic)"})
    dynamic_oversample: float = field(default=1.5, metadata={
        "help": "dynamic sampling: prompts generated per group still needed (DAPO: 3)"})
    dynamic_max_rounds: int = field(default=4, metadata={
        "help": "dynamic sampling: most generation rounds per step; short batches are padded with masked groups"})
    advantage: str = field(default="grpo", metadata={
        "help": "grpo (TRL: per group) or trr++ (Absolute Zero: normalised per task kind x role over the batch)",
        "choices": ADVANTAGES})
    roles: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "online self-play roles (rlvr.train.roles.RolesConfig), e.g. '{propose: 1, rewrite: 1, solve: 1}'"})
    grpo: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "further trl.GRPOConfig settings, passed through as given, e.g. '{max_grad_norm: 0.5, "
                "weight_decay: 0.1}'; settings rlvr sets itself are refused with the train setting to use"})
    lora: bool = field(default=False, metadata={"help": "train LoRA adapters (peft) instead of all weights"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_target_modules: str = field(default="all-linear", metadata={
        "help": "peft target_modules: all-linear or comma-separated module names (q_proj,v_proj)"})
    # -- GPU ------------------------------------------------------------------------------------
    use_vllm: bool = field(default=True, metadata={"help": "cuda only: generate with vLLM"})
    vllm_mode: str = field(default="auto", metadata={"help": "auto (colocate on one GPU, server on several), "
                                                             "colocate or server", "choices": VLLM_MODES})
    vllm_server_base_url: str = field(default="", metadata={"help": "server mode: URL of `trl vllm-serve`"})
    vllm_gpu_memory_utilization: float = field(default=0.3, metadata={"help": "colocate: vLLM's GPU share"})
    # -- probe set ------------------------------------------------------------------------------
    probe_tasks: str = field(default="", metadata={"help": "Parquet of probe tasks; default: hold out "
                                                           "probe_fraction of the tasks"})
    probe_fraction: float = field(default=0.1, metadata={"help": "share of tasks held out as the probe set"})
    probe_max: int = field(default=64, metadata={"help": "largest probe set"})
    probe_every: int = field(default=10, metadata={"help": "evaluate the probe set every M steps"})
    probe_k: int = field(default=4, metadata={"help": "samples per probe task"})
    # -- attribution ----------------------------------------------------------------------------
    influence: bool = field(default=True, metadata={"help": "TracIn influence of each group on the probe set"})
    influence_objective: str = field(default="reward", metadata={
        "help": "probe loss the influence is measured against: reward (policy gradient on the probe rollouts) "
                "or gold (likelihood of the reference answers)", "choices": ("reward", "gold")})
    influence_layers: int = field(default=1, metadata={
        "help": "last N transformer blocks whose (trainable) weights the influence is measured on (N at least "
                "the model's block count: all of them, the whole-model prediction; memory: probe tasks x tracked "
                "weights, counted by the memory plan)"})
    influence_geometry: str = field(default="auto", metadata={
        "help": "adamw: each weight scaled as AdamW's update scaled it (keeps the step's activations of the "
                "tracked blocks until the update); scalar: one root-mean-square scale, no memory; auto: adamw "
                "when the memory plan has room", "choices": ("auto", "adamw", "scalar")})
    influence_every: int = field(default=1, metadata={"help": "recompute the probe gradient every N steps"})
    # -- outputs --------------------------------------------------------------------------------
    save_every: int = field(default=25, metadata={"help": "checkpoint every N steps (resume point)"})
    keep_checkpoints: int = field(default=2, metadata={"help": "complete checkpoints to keep"})
    save_completions: int = field(default=200, metadata={"help": "characters of each completion kept in the "
                                                                  "ledger (0 keeps none)"})
    report: bool = field(default=True, metadata={"help": "write report.html"})

    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"device": "tpu"}, {"steps": 0}, {"num_generations": 1}, {"prompts_per_step": 0},
        {"loss_type": "ppo"}, {"scale_rewards": "max"}, {"temperature": 0.0}, {"probe_fraction": 1.0},
        {"probe_every": 0}, {"probe_k": 0}, {"influence_layers": 0}, {"save_every": 0},
        {"micro_batches": 3}, {"micro_batches": -1}, {"max_prompt_tokens": 0}, {"num_iterations": 2, "save_every": 3}, {"epsilon_high": 0.1},
        {"vllm_mode": "remote"}, {"influence_objective": "loss"}, {"influence_geometry": "exact"}, {"learning_rate": 0.0}, {"selector": ""},
        {"advantage": "ppo"}, {"dynamic_oversample": 0.5}, {"dynamic_max_rounds": 0}, {"roles": {"propose": -1}},
        {"roles": {"colour": 1}},
    )

    def __post_init__(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValueError(msg)

        need(self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}")
        need(self.influence_geometry in ("auto", "adamw", "scalar"),
             f"influence_geometry must be auto, adamw or scalar, got {self.influence_geometry!r}")
        need(self.influence_objective in ("reward", "gold"),
             f"influence_objective must be reward or gold, got {self.influence_objective!r}")
        need(self.vllm_mode in VLLM_MODES, f"vllm_mode must be one of {VLLM_MODES}, got {self.vllm_mode!r}")
        need(self.loss_type in LOSS_TYPES, f"loss_type must be one of {LOSS_TYPES}, got {self.loss_type!r}")
        need(self.scale_rewards in SCALE_REWARDS, f"scale_rewards must be one of {SCALE_REWARDS}")
        need(self.advantage in ADVANTAGES, f"advantage must be one of {ADVANTAGES}, got {self.advantage!r}")
        need(self.dynamic_oversample >= 1.0, f"dynamic_oversample must be >= 1, got {self.dynamic_oversample}")
        need(self.dynamic_max_rounds >= 1, f"dynamic_max_rounds must be at least 1, got {self.dynamic_max_rounds}")
        need(bool(self.selector), "selector: give a selector name such as insight, variance or uniform")
        need(bool(self.model), "model: give an embedded model name, a local folder or a Hugging Face id")
        need(self.micro_batches >= 0, f"micro_batches must be >= 0 (0 = automatic), got {self.micro_batches}")
        for name in ("steps", "prompts_per_step", "max_completion_length", "num_iterations", "max_prompt_tokens",
                     "tokens_per_micro_batch",
                     "probe_every", "probe_k", "probe_max", "influence_layers", "influence_every",
                     "save_every", "keep_checkpoints", "lora_r", "lora_alpha"):
            need(getattr(self, name) >= 1, f"{name} must be at least 1, got {getattr(self, name)}")
        need(self.num_generations >= 2, "num_generations must be at least 2: GRPO compares completions within a group")
        need(self.temperature > 0, "temperature must be > 0: GRPO needs sampled, varied completions")
        need(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        need(self.beta >= 0, f"beta (KL coefficient) must be >= 0, got {self.beta}")
        need(self.epsilon > 0 and self.epsilon_high >= self.epsilon,
             f"need 0 < epsilon <= epsilon_high, got {self.epsilon}, {self.epsilon_high}")
        need(0.0 <= self.probe_fraction < 1.0, f"probe_fraction must be in [0, 1), got {self.probe_fraction}")
        need(self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        need(self.memory_gb >= 0, f"memory_gb must be >= 0 (0: what is available, at most 4 GB), got {self.memory_gb}")
        need(self.save_completions >= 0, "save_completions must be >= 0 (characters kept per completion)")
        need(0.0 < self.vllm_gpu_memory_utilization <= 1.0, "vllm_gpu_memory_utilization must be in (0, 1]")
        groups_total = self.prompts_per_step * self.num_generations
        need(self.micro_batches == 0 or groups_total % self.micro_batches == 0,
             f"prompts_per_step * num_generations ({groups_total}) must be divisible by micro_batches "
             f"({self.micro_batches}); pick a divisor")
        # A checkpoint inside a generation window would resume with half-used buffered completions.
        need(self.save_every % self.num_iterations == 0,
             f"save_every ({self.save_every}) must be a multiple of num_iterations ({self.num_iterations}) so "
             "checkpoints fall between generation batches")
        clash = sorted({"selector", "k"} & set(self.select))
        need(not clash, f"select: set {clash} through the train settings selector / num_generations instead")
        self.select_config()  # validates the select settings and the selector name now, not mid-run
        if self.grpo:
            check_grpo_passthrough(self.grpo)
        self.roles_config()

    def roles_config(self):
        """The rlvr.train.roles.RolesConfig of this run, or None when no role is on."""
        from rlvr.config import config_from_mapping
        from rlvr.train.roles import RolesConfig

        config = config_from_mapping(RolesConfig, dict(self.roles), where="train.roles")
        need = config.propose + config.rewrite + config.solve
        if need > self.prompts_per_step:
            raise ValueError(f"train.roles: {need} role group(s) per step but prompts_per_step is "
                             f"{self.prompts_per_step}; role groups take slots of the step's batch")
        return config if config.active else None

    # -- TRL ------------------------------------------------------------------------------------
    def auto_micro_batches(self, longest_prompt: int) -> int:
        """The fewest gradient-accumulation slices whose sequences fit tokens_per_micro_batch.

        Padding makes every row as long as the longest prompt plus the completion limit, so that
        bounds a slice's activations; on CPU without gradient checkpointing they dominate memory.
        """
        if self.micro_batches:
            return self.micro_batches
        per_rank = self.prompts_per_step * self.num_generations // self.world_size()
        row = longest_prompt + self.max_completion_length
        for slices in range(1, per_rank + 1):
            if per_rank % slices == 0 and (per_rank // slices) * row <= self.tokens_per_micro_batch:
                return slices
        return per_rank  # one row per slice: the smallest possible

    def world_size(self) -> int:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))

    def resolved_vllm_mode(self, visible_gpus: int | None = None) -> str:
        if self.vllm_mode != "auto":
            return self.vllm_mode
        if visible_gpus is None:
            visible_gpus = _visible_gpus()
        return "server" if visible_gpus > 1 else "colocate"

    def grpo_kwargs(self, output_dir: str, *, visible_gpus: int | None = None) -> dict[str, Any]:
        """Keyword arguments for trl.GRPOConfig (see the module docstring for the device rules)."""
        slices = self.micro_batches or 1  # train() resolves 0 (automatic) from the prompts first
        completions = self.prompts_per_step * self.num_generations
        per_device = completions // (slices * self.world_size())
        if per_device < 1 or per_device * slices * self.world_size() != completions:
            raise ValueError(f"{completions} completions per step do not split over {self.world_size()} "
                             f"process(es) x {slices} micro-batches; change prompts_per_step")
        kw: dict[str, Any] = {
            "output_dir": output_dir,
            "max_steps": self.steps,
            "seed": self.seed,
            "per_device_train_batch_size": per_device,
            "gradient_accumulation_steps": slices,
            "num_generations": self.num_generations,
            "max_completion_length": self.max_completion_length,
            "temperature": self.temperature,
            "top_p": 1.0,
            "top_k": 0,
            "loss_type": self.loss_type,
            "learning_rate": self.learning_rate,
            "beta": self.beta,
            "epsilon": self.epsilon,
            "epsilon_high": self.epsilon_high,
            "scale_rewards": self.scale_rewards,
            "mask_truncated_completions": self.mask_truncated_completions,
            "num_iterations": self.num_iterations,
            "logging_steps": 1,
            "report_to": [],
            "disable_tqdm": True,
            # rlvr writes checkpoints itself (see trainer.py): TRL's save schedule, rotation and
            # data skipping on resume are replaced by a completion marker and the sampler's state.
            "save_strategy": "steps",
            "save_steps": self.save_every,
            "save_total_limit": None,
            "ignore_data_skip": True,
            "remove_unused_columns": False,
            "dataloader_num_workers": 0,
            "log_completions": False,
        }
        if self.optimizer == "adafactor":  # fixed learning rate, as for AdamW (no relative steps)
            kw["optim"] = "adafactor"
        if self.device == "cpu":
            kw.update(use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False)
        else:
            kw.update(use_cpu=False, bf16=True, gradient_checkpointing=False)
            if self.use_vllm:
                mode = self.resolved_vllm_mode(visible_gpus)
                kw.update(use_vllm=True, vllm_mode=mode)
                if mode == "colocate":
                    kw["vllm_gpu_memory_utilization"] = self.vllm_gpu_memory_utilization
                elif self.vllm_server_base_url:
                    kw["vllm_server_base_url"] = self.vllm_server_base_url
        kw.update(self.grpo)  # validated in __post_init__: GRPOConfig fields that rlvr does not set
        return kw

    def peft_config(self):
        """A peft LoraConfig when `lora` is on, else None."""
        if not self.lora:
            return None
        try:
            from peft import LoraConfig
        except ImportError:
            raise ImportError("LoRA training needs peft: pip install peft") from None
        targets = self.lora_target_modules
        if targets != "all-linear":
            targets = [t.strip() for t in targets.split(",") if t.strip()]
        return LoraConfig(r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=0.0, target_modules=targets,
                          task_type="CAUSAL_LM")

    def select_config(self):
        """The rlvr.select.SelectConfig for this run (k is always num_generations)."""
        from rlvr.config import config_from_mapping
        from rlvr.select.base import SelectConfig, get_selector_class

        settings = {"seed": self.seed, **self.select, "selector": self.selector, "k": self.num_generations}
        config = config_from_mapping(SelectConfig, settings, where="train.select")
        try:
            get_selector_class(self.selector)  # an unknown name fails here, listing the valid ones
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return config


def _visible_gpus() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_grpo_passthrough(settings: dict[str, Any]) -> None:
    """`grpo: {...}` may name any trl.GRPOConfig field that rlvr does not set itself."""
    if not isinstance(settings, dict):
        raise ValueError(f"grpo must be a mapping of trl.GRPOConfig settings, got {settings!r}")
    owned = sorted(set(settings) & set(RLVR_OWNED_GRPO_FIELDS))
    if owned:
        raise ValueError("grpo: " + "; ".join(f"{k} is set by rlvr (use {RLVR_OWNED_GRPO_FIELDS[k]})" for k in owned))
    import dataclasses

    from trl import GRPOConfig  # only when a passthrough is given: `rlvr train --help` stays light

    known = {f.name for f in dataclasses.fields(GRPOConfig) if f.init}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"grpo: unknown trl.GRPOConfig setting(s) {unknown} (trl {_trl_version()}); see "
                         "https://huggingface.co/docs/trl/grpo_trainer for the valid ones")


def _trl_version() -> str:
    from importlib.metadata import version

    return version("trl")
