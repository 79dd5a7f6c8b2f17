"""A local validator for dataset-card YAML headers, against the Hub's documented schema.

The Hub validates card metadata only when you push. This checks the same things offline, so a
card is known good before any upload: allowed `size_categories` and `task_categories`, licence
identifiers (and `license_name`/`license_link` when the licence is `other`), `configs` whose
`data_files` exist, and `dataset_info` that matches the Parquet files (features, row counts).

Allowed values follow the Hub documentation (huggingface.co/docs/hub: "Licenses" and
"Dataset Cards"; task ids from the huggingface.js task list). Unknown values are reported as
errors with the list of valid ones; extend the sets here when the Hub adds new ones.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

SIZE_CATEGORIES = (
    "n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M",
    "100M<n<1B", "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T",
)

TASK_CATEGORIES = frozenset({
    "text-classification", "token-classification", "table-question-answering", "question-answering",
    "zero-shot-classification", "translation", "summarization", "feature-extraction", "text-generation",
    "fill-mask", "sentence-similarity", "text-to-speech", "text-to-audio", "automatic-speech-recognition",
    "audio-to-audio", "audio-classification", "audio-text-to-text", "voice-activity-detection",
    "depth-estimation", "image-classification", "object-detection", "image-segmentation", "text-to-image",
    "image-to-text", "image-to-image", "image-to-video", "unconditional-image-generation",
    "video-classification", "reinforcement-learning", "robotics", "tabular-classification",
    "tabular-regression", "tabular-to-text", "table-to-text", "multiple-choice", "text-ranking",
    "text-retrieval", "time-series-forecasting", "text-to-video", "image-text-to-text",
    "visual-question-answering", "document-question-answering", "zero-shot-image-classification",
    "graph-ml", "mask-generation", "zero-shot-object-detection", "text-to-3d", "image-to-3d",
    "image-feature-extraction", "video-text-to-text", "keypoint-detection", "visual-document-retrieval",
    "any-to-any", "video-to-video", "other",
})

LICENSES = frozenset({
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd",
    "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0",
    "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0",
    "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0",
    "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl",
    "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research",
    "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openrail++", "osl-3.0",
    "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license",
    "fair-noncommercial-research-license", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4",
    "gemma", "unknown", "other",
})

REQUIRED_KEYS = ("license", "language", "pretty_name", "size_categories", "task_categories", "configs",
                 "dataset_info")


def size_category(n: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    for bound, name in bounds:
        if n < bound:
            return name
    return "1B<n<10B"


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def validate_header(header: dict[str, Any], dataset_dir: str | Path) -> list[str]:
    """Problems with a card header, as readable sentences; an empty list means valid."""
    dataset_dir = Path(dataset_dir)
    problems = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in header]
    problems += _check_license(header)
    for value in _as_list(header.get("size_categories", [])):
        if value not in SIZE_CATEGORIES:
            problems.append(f"size_categories {value!r} is not one of {list(SIZE_CATEGORIES)}")
    for value in _as_list(header.get("task_categories", [])):
        if value not in TASK_CATEGORIES:
            problems.append(f"task_categories {value!r} is not a Hub task id (e.g. question-answering, text-generation)")
    for value in _as_list(header.get("language", [])):
        if not isinstance(value, str) or not (2 <= len(value) <= 3 or "-" in value) or not value.replace("-", "").isalpha():
            problems.append(f"language {value!r} is not an ISO 639 code such as 'en'")
    if "pretty_name" in header and not (isinstance(header["pretty_name"], str) and header["pretty_name"].strip()):
        problems.append("pretty_name must be a non-empty string")
    problems += _check_configs(header.get("configs", []), dataset_dir)
    problems += _check_dataset_info(header, dataset_dir)
    return problems


def _check_license(header: dict[str, Any]) -> list[str]:
    problems = []
    for lic in _as_list(header.get("license", [])):
        if lic not in LICENSES:
            problems.append(f"license {lic!r} is not a Hub licence id; use one of the documented ids or 'other' "
                            f"with license_name and license_link")
    if "other" in _as_list(header.get("license", [])):
        name = header.get("license_name")
        if not (isinstance(name, str) and name and name == name.lower() and " " not in name):
            problems.append("license 'other' needs license_name: a lowercase id without spaces, e.g. 'mixed-cc-by-sa'")
        if not header.get("license_link"):
            problems.append("license 'other' needs license_link: a URL or a file in the repository (e.g. LICENSE.md)")
    return problems


def _check_configs(configs: Any, dataset_dir: Path) -> list[str]:
    if not isinstance(configs, list) or not configs:
        return ["configs must be a non-empty list"]
    problems, names = [], set()
    for cfg in configs:
        name = cfg.get("config_name")
        if not name:
            problems.append("a config has no config_name")
            continue
        if name in names:
            problems.append(f"config_name {name!r} appears twice")
        names.add(name)
        for df in _as_list(cfg.get("data_files", [])):
            pattern = df.get("path") if isinstance(df, dict) else df
            if not pattern or not glob.glob(str(dataset_dir / pattern)):
                problems.append(f"config {name!r}: data_files path {pattern!r} matches no file")
    return problems


def _check_dataset_info(header: dict[str, Any], dataset_dir: Path) -> list[str]:
    import pyarrow.parquet as pq
    from datasets import Features

    infos = header.get("dataset_info", [])
    infos = infos if isinstance(infos, list) else [infos]
    configs = {c.get("config_name"): c for c in header.get("configs", []) if isinstance(c, dict)}
    problems = []
    for info in infos:
        name = info.get("config_name", "default")
        cfg = configs.get(name)
        if cfg is None:
            problems.append(f"dataset_info for {name!r} has no matching config")
            continue
        files = {df["split"]: df["path"] for df in cfg.get("data_files", []) if isinstance(df, dict)}
        try:
            declared = Features._from_yaml_list(info.get("features", []))
        except Exception as exc:  # noqa: BLE001 - any malformed feature list is a header problem
            problems.append(f"dataset_info {name!r}: features are malformed ({exc})")
            continue
        for split in info.get("splits", []):
            path = files.get(split.get("name"))
            matches = sorted(glob.glob(str(dataset_dir / path))) if path else []
            if not matches:
                problems.append(f"dataset_info {name!r}: split {split.get('name')!r} has no data file")
                continue
            rows = sum(pq.ParquetFile(m).metadata.num_rows for m in matches)
            if rows != split.get("num_examples"):
                problems.append(f"dataset_info {name!r}: split {split.get('name')!r} says "
                                f"{split.get('num_examples')} examples but the Parquet has {rows}")
            actual = Features.from_arrow_schema(pq.read_schema(matches[0]))
            if actual != declared:
                problems.append(f"dataset_info {name!r}: features do not match the Parquet schema of {matches[0]}")
    return problems
