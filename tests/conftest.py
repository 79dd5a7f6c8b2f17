"""Shared test fixtures: where the shared data lives, and skips with reasons when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RLVR_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path} (set RLVR_SHARED_DATA to its folder)")
    return path


@pytest.fixture
def corpus_dir() -> Path:
    return shared_file("corpus")


@pytest.fixture
def benchmarks_dir() -> Path:
    return shared_file("benchmarks")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep tests from writing into the user's cache, but share one prepared model per session."""
    cache = os.environ.get("RLVR_TEST_CACHE") or str(tmp_path_factory.getbasetemp().parent / "rlvr-test-cache")
    monkeypatch.setenv("RLVR_CACHE", cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
