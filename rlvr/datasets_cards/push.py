"""Upload a dataset folder to the Hugging Face Hub, after validating its card.

Offline, or without a login, this fails before touching anything remote or local.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from rlvr.datasets_cards.card import CardError, read_header
from rlvr.datasets_cards.hub_schema import validate_header

HUB_HOST = "huggingface.co"


def hub_reachable(timeout_s: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def push(dataset_dir: str | Path, repo_id: str, private: bool = False) -> str:
    dataset_dir = Path(dataset_dir)
    problems = validate_header(read_header(dataset_dir), dataset_dir)
    if problems:
        raise CardError("refusing to upload: the card header is invalid:\n  " + "\n  ".join(problems))
    if not hub_reachable():
        raise RuntimeError(f"cannot reach {HUB_HOST} (offline or HF_HUB_OFFLINE set); nothing was uploaded. "
                           f"Run `rlvr card push` again from a machine with network access.")
    from huggingface_hub import HfApi
    from huggingface_hub.utils import get_token

    if not get_token():
        raise RuntimeError("not logged in to the Hugging Face Hub: run `huggingface-cli login` or set HF_TOKEN; "
                           "nothing was uploaded")
    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(dataset_dir), repo_id=repo_id, repo_type="dataset",
                             commit_message="Upload dataset written by rlvr card")
    return str(getattr(info, "commit_url", f"https://huggingface.co/datasets/{repo_id}"))
