"""The README's "Python API" section is executable documentation: its code blocks run here as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def api_blocks() -> list[str]:
    text = README.read_text()
    start = text.index("\n## Python API\n")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else None]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "README: the Python API section has no python code block"
    return blocks


def test_readme_api_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(api_blocks()[0], "README.md (Python API)", "exec"), namespace)
    assert (tmp_path / "out" / "knapsack-demo" / "README.md").is_file()
    assert len(namespace["kept"]) == 24


@pytest.mark.slow
def test_readme_api_example_trains(tmp_path, monkeypatch):
    """Both blocks, the training one with the tiny test model in place of SmolLM2 (the same code path
    within this machine's memory budget)."""
    import torch

    from rlvr.train.tiny import make_tiny_model

    make_tiny_model(tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace: dict = {}
    try:
        first, training = api_blocks()
        assert training.count('"smollm2-135m-instruct"') == 1
        exec(compile(first, "README.md (Python API, block 1)", "exec"), namespace)
        training = training.replace('"smollm2-135m-instruct"', repr(str(tmp_path / "tiny")))
        exec(compile(training, "README.md (Python API, block 2)", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "out" / "toy-run" / "rollouts.parquet").is_file()


def test_import_rlvr_is_cheap_and_lazy():
    """`import rlvr` loads only the version module; generating and verifying never load torch."""
    code = (
        "import sys, rlvr\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('rlvr'))\n"
        "heavy = [m for m in ('numpy', 'pyarrow', 'torch', 'transformers', 'trl', 'datasets') if m in sys.modules]\n"
        "print(loaded, heavy)\n"
        "assert loaded == ['rlvr', 'rlvr.version'] and heavy == [], (loaded, heavy)\n"
        "tasks = rlvr.generate('toy.initial', n=3)\n"
        "assert rlvr.verify(tasks[0], rlvr.gold_completion(tasks[0])).reward == 1.0\n"
        "from rlvr.synth import get_generator\n"
        "assert get_generator('toy.initial').name == 'toy.initial'\n"
        "assert rlvr.verify.get_verifier('toy.initial').name == 'toy.initial'  # still the module too\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'sentence_transformers') if m in sys.modules]\n"
        "assert heavy == [], heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_api_refuses_a_second_selector_name_and_unknown_settings():
    import rlvr

    tasks = rlvr.generate("toy.initial", n=4)
    with pytest.raises(ValueError, match="give the selector name once"):
        rlvr.make_selector("band", tasks, selector="variance")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['colour'\]"):
        rlvr.curate(tasks, colour="red")
    with pytest.raises(KeyError, match="unknown generator 'nope'"):
        rlvr.generate("nope", n=1)
