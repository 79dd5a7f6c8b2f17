"""CurateConfig: every setting of `rlvr curate` and of the `curate` pipeline stage.

One dataclass backs the CLI flags, `--config file.yaml` and a pipeline stage's `with:`
mapping (rlvr.config), so the three can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

# Decontamination runs before fuzzy dedupe: otherwise a cluster could keep its contaminated
# member, which decontamination then drops, losing a clean near-copy for nothing.
DEFAULT_STEPS = ("exact", "structural", "decontam", "minhash")


# Steps the out-of-core engines (rlvr.curate.engine, rlvr.curate.ray_engine) can run.
OUT_OF_CORE_STEPS = ("exact", "structural", "decontam", "minhash")


def check_supported(config) -> None:
    unsupported = [s for s in config.step_names() if s not in OUT_OF_CORE_STEPS]
    if unsupported:
        raise ValueError(f"steps {unsupported} need every item in one process; run them with --engine memory "
                         f"(the out-of-core engines run {', '.join(OUT_OF_CORE_STEPS)})")
    if config.lsh_redis:
        raise ValueError("lsh_redis is a shared index for the in-memory engine; drop it or use --engine memory")


def _unit(name: str, value: float, open_low: bool = False) -> None:
    low_ok = value > 0 if open_low else value >= 0
    if not (low_ok and value <= 1):
        raise ValueError(f"{name} must be in {'(0' if open_low else '[0'}, 1], got {value}")


@dataclass
class CurateConfig:
    steps: list[str] | None = field(default=None, metadata={
        "help": f"steps to run, in order: exact, structural, decontam, minhash, semantic or a registered step "
                f"(pkg.module:Class) (default: {','.join(DEFAULT_STEPS)}, decontam only when benchmarks are given; "
                "semantic is opt-in: it embeds every item)"})
    # -- inputs that rlvr did not make
    text_field: str = field(default="text", metadata={
        "help": "text field of non-rlvr inputs (JSONL/Parquet/CSV/HF)", "aliases": ("--field",)})
    id_field: str = field(default="id", metadata={
        "help": "id field of non-rlvr inputs; its values are the decisions' task_id (row number if absent)"})
    answer_field: str | None = field(default=None, metadata={
        "help": "answer field of non-rlvr inputs, for exact dedupe and the same-answer guard"})
    quality_field: str | None = field(default=None, metadata={
        "help": "numeric field ranking duplicates (highest kept); rlvr tasks use meta['quality']"})
    allow_network: bool = field(default=False, metadata={"help": "allow Hugging Face dataset ids as inputs"})
    max_record_bytes: int = field(default=1_000_000, metadata={
        "help": "quarantine an input record larger than this many bytes (a task's prompt and answer, a JSONL "
                "line, a CSV or Parquet row's text) before any work on it; 0: no limit"})
    # -- decontamination
    benchmarks: list[str] = field(default_factory=list, metadata={
        "help": "benchmark test sets: JSONL/Parquet/CSV files, or HF dataset ids with --allow-network"})
    benchmark_field: str = field(default="question", metadata={"help": "question field of benchmark files"})
    benchmark_id_field: str = field(default="", metadata={
        "help": "id field of benchmark files (default: id or doc_id when present, else file:line)"})
    ngram: int = field(default=8, metadata={"help": "word n-gram size for overlap (Tulu 3 uses 8; 13 is stricter)"})
    coverage: float = field(default=0.5, metadata={
        "help": "contaminated when this fraction of a benchmark item's n-grams occur in the task"})
    paraphrase: bool = field(default=True, metadata={"help": "also look for paraphrased benchmark items"})
    paraphrase_lexical: float = field(default=0.4, metadata={
        "help": "IDF-weighted overlap of rare words and numbers that proposes a pair for the embedding check"})
    paraphrase_numbers: float = field(default=0.75, metadata={
        "help": "fraction of the benchmark item's numbers the task must contain to be a paraphrase"})
    paraphrase_cosine: float = field(default=0.8, metadata={
        "help": "embedding cosine at which a proposed pair is a paraphrase"})
    paraphrase_structure: float = field(default=1.0, metadata={
        "help": "for pairs proposed by their numbers (names and objects changed): embedding cosine + skeleton "
                "overlap at which they are a paraphrase (rlvr.curate.numpath)"})
    # -- near-duplicates
    shingle: str = field(default="word", metadata={"help": "shingles: word or char n-grams", "choices": ("word", "char")})
    shingle_size: int = field(default=5, metadata={"help": "n of the shingle n-grams"})
    num_perm: int = field(default=128, metadata={"help": "MinHash permutations"})
    threshold: float = field(default=0.8, metadata={"help": "Jaccard similarity at which two items are near-duplicates"})
    lsh_recall: float = field(default=0.99, metadata={
        "help": "probability that a pair at the threshold becomes an LSH candidate (sets the bands)"})
    minhash_seed: int = field(default=1, metadata={"help": "seed of the MinHash permutations"})
    max_bucket: int = field(default=256, metadata={
        "help": "LSH buckets larger than this are not expanded into all pairs: exact copies collapse, then "
                "a star plus a window of neighbours (rlvr.curate.buckets)"})
    lsh_redis: str | None = field(default=None, metadata={
        "help": "redis://host:port/db: keep the LSH index in Redis, shared by several workers"})
    lsh_basename: str = field(default="rlvr-lsh", metadata={"help": "key prefix of the shared LSH index"})
    same_numbers: bool | None = field(default=None, metadata={
        "help": "near/semantic duplicates must contain the same numbers (a changed number is a new problem); "
                "unset: on for rlvr task tables, off for plain text (rlvr.curate.guards)"})
    same_answer: bool = field(default=True, metadata={
        "help": "near/semantic duplicates must have the same reference answer when both have one"})
    # -- semantic
    semantic_eps: float = field(default=0.07, metadata={"help": "SemDeDup: duplicates at cosine >= 1 - eps"})
    semantic_clusters: int = field(default=0, metadata={"help": "k-means clusters (0: about sqrt(n/2))"})
    embedder: str = field(default="all-minilm-l6-v2", metadata={
        "help": "sentence embedder: the bundled all-minilm-l6-v2, a local folder or a HF id"})
    # -- running
    engine: str = field(default="memory", metadata={
        "help": "memory: every item in this process; local: out of core, on disk in --work-dir; ray: Ray Data "
                "(rlvr.curate.engine, rlvr.curate.ray_engine)", "choices": ("memory", "local", "ray")})
    ray_address: str | None = field(default=None, metadata={
        "help": "Ray cluster to join with --engine ray (e.g. ray://head:10001 or auto); default: a local Ray"})
    work_dir: str | None = field(default=None, metadata={
        "help": "folder for the out-of-core engines' shards (default: a temporary folder, removed after)"})
    batch_size: int = field(default=4096, metadata={"help": "items per Arrow record batch"})
    seed: int = field(default=0, metadata={"help": "seed (k-means)"})

    BAD_EXAMPLES: ClassVar[tuple[dict, ...]] = (
        {"steps": ["exact", "fuzzy"]}, {"steps": ["decontam"]}, {"steps": ["exact", "exact"]},
        {"ngram": 0}, {"coverage": 0.0}, {"threshold": 1.5}, {"num_perm": 1}, {"shingle": "line"},
        {"lsh_recall": 0}, {"semantic_eps": 1.0}, {"batch_size": 0}, {"lsh_redis": "localhost:6379"},
        {"paraphrase_cosine": 2.0}, {"max_record_bytes": -1}, {"max_bucket": 1}, {"engine": "spark"},
        {"engine": "local", "steps": ["exact", "semantic"]},
    )

    def __post_init__(self) -> None:
        if self.steps is not None:
            # "--steps exact,minhash" and "--steps exact minhash" both work.
            self.steps = [s.strip() for item in self.steps for s in str(item).split(",") if s.strip()]
            from rlvr.curate.base import STEPS

            unknown = [s for s in self.steps if s not in STEPS and ":" not in s]
            if unknown:
                raise ValueError(f"steps: unknown step(s) {unknown}; valid: {', '.join(STEPS.names())}")
            if len(set(self.steps)) != len(self.steps):
                raise ValueError(f"steps: each step may appear once, got {self.steps}")
            if not self.steps:
                raise ValueError("steps: give at least one step")
            if "decontam" in self.steps and not self.benchmarks:
                raise ValueError("the decontam step needs benchmark files: add --benchmarks FILE... "
                                 "or drop decontam from --steps")
        if self.ngram < 1:
            raise ValueError(f"ngram must be at least 1, got {self.ngram}")
        if self.shingle_size < 1:
            raise ValueError(f"shingle_size must be at least 1, got {self.shingle_size}")
        if self.shingle not in ("word", "char"):
            raise ValueError(f"shingle must be 'word' or 'char', got {self.shingle!r}")
        if self.num_perm < 2:
            raise ValueError(f"num_perm must be at least 2, got {self.num_perm}")
        for name in ("coverage", "threshold", "lsh_recall"):
            _unit(name, getattr(self, name), open_low=True)
        for name in ("paraphrase_lexical", "paraphrase_numbers", "paraphrase_cosine"):
            _unit(name, getattr(self, name))
        if not 0 <= self.paraphrase_structure <= 2:
            raise ValueError(f"paraphrase_structure must be in [0, 2] (cosine + overlap), got {self.paraphrase_structure}")
        if not 0 < self.semantic_eps < 1:
            raise ValueError(f"semantic_eps must be in (0, 1), got {self.semantic_eps}")
        if self.semantic_clusters < 0:
            raise ValueError(f"semantic_clusters must be >= 0 (0 picks a number), got {self.semantic_clusters}")
        if self.max_record_bytes < 0:
            raise ValueError(f"max_record_bytes must be >= 0 (0: no limit), got {self.max_record_bytes}")
        if self.engine not in ("memory", "local", "ray"):
            raise ValueError(f"engine must be memory, local or ray, got {self.engine!r}")
        if self.ray_address and self.engine != "ray":
            raise ValueError("ray_address is only used with engine: ray")
        if self.engine != "memory":
            check_supported(self)
        if self.max_bucket < 2:
            raise ValueError(f"max_bucket must be at least 2, got {self.max_bucket}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.lsh_redis and not self.lsh_redis.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"lsh_redis must be a URL like redis://localhost:6379/0, got {self.lsh_redis!r}")

    def input_files(self) -> list[str]:
        """Local files this config reads (the pipeline re-runs the stage when one changes)."""
        return [b for b in self.benchmarks if Path(b).is_file()]

    def step_names(self) -> list[str]:
        """The steps that will run, in order."""
        if self.steps is not None:
            return list(self.steps)
        return [s for s in DEFAULT_STEPS if s != "decontam" or self.benchmarks]
