"""Settings of the FIM family: one dataclass for the generator, one for the CLI command and stage.

Defaults suit a laptop and a small policy: embedded mode (no LLM), 4 options (`--options 9` is
the paper's setting), the built-in `builtin:pydocs` corpus so everything runs with no data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from rlvr.models import DEFAULT_EMBEDDER

MODES = ("embedded", "llm")
MAX_OPTIONS = 20


@dataclass
class FimConfig:
    corpus: list[str] = field(default_factory=lambda: ["builtin:pydocs"], metadata={
        "help": "corpus paths (JSONL, Parquet, CSV, saved HF dataset, folder of txt/md/rst) or builtin:pydocs"})
    mode: str = field(default="embedded", metadata={"help": "embedded (no LLM) or llm", "choices": MODES})
    options: int = field(default=4, metadata={"help": "options per task (the paper uses 9)"})
    text_field: str = field(default="text", metadata={"help": "record field holding the text"})
    max_documents: int | None = field(default=None, metadata={"help": "read at most this many documents"})
    min_words: int = field(default=60, metadata={"help": "shortest passage, in words"})
    max_words: int = field(default=300, metadata={"help": "longest passage a document is cut into, in words"})
    min_reasoning: float = field(default=2.0, metadata={
        "help": "reasoning markers per 100 words a passage needs (connectives, equations, steps, code)"})
    span_min_tokens: int = field(default=8, metadata={"help": "shortest masked span, in tokens"})
    span_max_tokens: int = field(default=80, metadata={"help": "longest masked span, in tokens"})
    span_max_fraction: float = field(default=0.35, metadata={"help": "largest share of the passage the span may be"})
    span_max_units: int = field(default=3, metadata={"help": "most sentences / code lines in a span"})
    span_choices: int = field(default=2, metadata={"help": "the span is drawn (by seed) from the passage's best N"})
    pool_per_passage: int = field(default=3, metadata={"help": "best spans per passage kept as candidates"})
    cosine_min: float = field(default=0.25, metadata={"help": "mined distractors: lowest embedding cosine to the answer"})
    cosine_max: float = field(default=0.8, metadata={"help": "mined distractors: highest cosine (above: paraphrase)"})
    context_margin: float = field(default=0.02, metadata={
        "help": "mined distractors must fit the gap's neighbouring sentences worse than the answer by this cosine"})
    shortlist: int = field(default=10, metadata={"help": "lexically closest spans embedded per answer"})
    perturbations: int = field(default=1, metadata={
        "help": "most perturbations (number, negation, reorder) of the answer, and of each wrong option, in an "
                "item; how many an item has is drawn per item (see layout.py)"})
    twin_decoys: bool = field(default=True, metadata={
        "help": "also perturb wrong options, so near-identical pairs do not point at the answer"})
    overlap_keep: float = field(default=0.2, metadata={
        "help": "keep an item whose answer shares the most words with the passage with this probability "
                "(else try another span), so word overlap does not point at the answer"})
    embedder: str = field(default=DEFAULT_EMBEDDER, metadata={"help": "sentence embedder (name, folder or hub id)"})
    backend: str = field(default="transformers:smollm2-135m-instruct", metadata={
        "help": "llm mode: transformers:MODEL, openai:MODEL@URL or vllm:MODEL"})
    device: str = field(default="cpu", metadata={"help": "cpu or cuda (transformers backend)"})
    llm_retries: int = field(default=2, metadata={"help": "llm mode: retries per passage, each with a new seed"})
    llm_batch_size: int = field(default=8, metadata={"help": "llm mode: prompts per generation call"})
    llm_temperature: float = field(default=0.7, metadata={"help": "llm mode: sampling temperature"})
    llm_max_new_tokens: int = field(default=1024, metadata={"help": "llm mode: reply length limit"})

    BAD_EXAMPLES: ClassVar[tuple[dict, ...]] = (
        {"options": 1}, {"options": 21}, {"mode": "gpt"}, {"corpus": []}, {"cosine_min": 0.9, "cosine_max": 0.5},
        {"span_max_fraction": 0.0}, {"min_words": 200, "max_words": 100}, {"span_min_tokens": 50, "span_max_tokens": 10},
        {"perturbations": -1}, {"overlap_keep": 1.5}, {"llm_retries": -1}, {"pool_per_passage": 0}, {"max_documents": 0},
    )

    def __post_init__(self) -> None:
        if isinstance(self.corpus, str):
            self.corpus = [self.corpus]
        if not self.corpus:
            raise ValueError("corpus: give at least one path (or builtin:pydocs)")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 2 <= self.options <= MAX_OPTIONS:
            raise ValueError(f"options must be between 2 and {MAX_OPTIONS} (the paper uses 9), got {self.options}")
        if self.max_documents is not None and self.max_documents < 1:
            raise ValueError(f"max_documents must be at least 1 (or unset), got {self.max_documents}")
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError(f"need 1 <= min_words <= max_words, got {self.min_words} and {self.max_words}")
        if not 1 <= self.span_min_tokens <= self.span_max_tokens:
            raise ValueError(f"need 1 <= span_min_tokens <= span_max_tokens, got {self.span_min_tokens} and "
                             f"{self.span_max_tokens}")
        if not 0.0 < self.span_max_fraction <= 1.0:
            raise ValueError(f"span_max_fraction must be in (0, 1], got {self.span_max_fraction}")
        if not -1.0 <= self.cosine_min < self.cosine_max <= 1.0:
            raise ValueError(f"need -1 <= cosine_min < cosine_max <= 1, got {self.cosine_min} and {self.cosine_max}")
        for name in ("span_max_units", "span_choices", "pool_per_passage", "shortlist", "llm_batch_size",
                     "llm_max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("perturbations", "llm_retries"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if not 0.0 <= self.overlap_keep <= 1.0:
            raise ValueError(f"overlap_keep must be in [0, 1], got {self.overlap_keep}")
        if self.llm_temperature < 0:
            raise ValueError(f"llm_temperature must be >= 0, got {self.llm_temperature}")


@dataclass
class FimStageConfig(FimConfig):
    """`rlvr synth fim` and the `synth.fim` pipeline stage: the generator settings plus how many
    tasks, the seed, and the optional difficulty filter."""

    n: int = field(default=100, metadata={"help": "number of tasks (fewer if the corpus runs out)"})
    seed: int = field(default=0, metadata={"help": "seed; the walk over passages and all choices derive from it"})
    filter_k: int = field(default=0, metadata={
        "help": "difficulty filter: rollouts per task (0 = off; the paper uses 16)"})
    filter_backend: str = field(default="", metadata={"help": "difficulty filter model (default: --backend)"})
    drop_never_solved: bool = field(default=False, metadata={"help": "difficulty filter: also drop never-solved tasks"})
    filter_max_new_tokens: int = field(default=512, metadata={"help": "difficulty filter: completion length limit"})
    filter_temperature: float = field(default=1.0, metadata={"help": "difficulty filter: sampling temperature"})

    BAD_EXAMPLES: ClassVar[tuple[dict, ...]] = FimConfig.BAD_EXAMPLES + ({"n": 0}, {"filter_k": -1})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if self.filter_k < 0:
            raise ValueError(f"filter_k must be 0 (off) or a number of rollouts, got {self.filter_k}")
        if self.filter_max_new_tokens < 1:
            raise ValueError(f"filter_max_new_tokens must be at least 1, got {self.filter_max_new_tokens}")

    def generator_config(self) -> FimConfig:
        return FimConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(FimConfig)})
