"""TRL fence: every TRL / transformers method rlvr overrides or calls (rlvr.train.grpo.OVERRIDDEN,
CALLED) still exists where the tested versions had it, with the same parameters. An upgrade that
changes one fails here, naming the method, instead of failing mid-run; pyproject.toml pins the range."""

from __future__ import annotations

import dataclasses
import importlib
import re
from importlib.metadata import version
from pathlib import Path

import pytest

pytest.importorskip("trl")

from rlvr.train import grpo  # noqa: E402  (imports TRL: after the importorskip)
from rlvr.train.config import RLVR_OWNED_GRPO_FIELDS, TrainConfig  # noqa: E402


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("table", ["OVERRIDDEN", "CALLED"])
def test_fenced_methods_keep_their_signatures(table):
    from trl import GRPOTrainer

    changed = []
    for method, (owner, expected) in getattr(grpo, table).items():
        owner_cls = _resolve(owner)
        if method not in vars(owner_cls):
            changed.append(f"{owner}.{method} is gone (now from {getattr(GRPOTrainer, method, None)!r})")
            continue
        actual = grpo.fence_signature(vars(owner_cls)[method])
        if actual != expected:
            changed.append(f"{owner}.{method}{actual}, rlvr was written against {owner}.{method}{expected}")
    assert not changed, ("TRL/transformers changed methods rlvr relies on (trl " + version("trl") + ", transformers "
                         + version("transformers") + "):\n  " + "\n  ".join(changed))


def test_every_override_is_in_the_table_and_matches_its_parent():
    from trl import GRPOTrainer

    for cls in (grpo.RlvrGRPOTrainer,):
        own = {n for n, v in vars(cls).items() if callable(v) and n != "__init__"}
        assert own == set(grpo.OVERRIDDEN), f"update grpo.OVERRIDDEN: {sorted(own ^ set(grpo.OVERRIDDEN))}"
        for name in own:
            assert grpo.fence_signature(vars(cls)[name]) == grpo.fence_signature(getattr(GRPOTrainer, name)), name


def test_the_fence_notices_a_changed_signature(monkeypatch):
    from trl import GRPOTrainer

    def moved(self, inputs, prompts, completions):  # a parameter dropped upstream
        return None

    monkeypatch.setattr(GRPOTrainer, "_calculate_rewards", moved)
    with pytest.raises(AssertionError, match=r"trl.GRPOTrainer._calculate_rewards\(self, inputs, prompts, completions\)"):
        test_fenced_methods_keep_their_signatures("OVERRIDDEN")


def test_pyproject_pins_the_tested_range():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    for dist in ("trl", "transformers"):
        m = re.search(rf'"{dist}>=([\d.]+),<([\d.]+)"', text)
        assert m, f"pyproject.toml: {dist} needs a tested range (>=X.Y,<X.Y+1)"
        low, high = (tuple(int(x) for x in v.split(".")) for v in m.groups())
        installed = tuple(int(x) for x in re.findall(r"\d+", version(dist))[:2])
        assert low <= installed < high, f"{dist} {version(dist)} is outside the pinned {m.group(0)}"


def test_grpo_settings_pass_through_and_owned_ones_are_refused(tmp_path):
    from trl import GRPOConfig

    cfg = TrainConfig(grpo={"max_grad_norm": 0.5, "weight_decay": 0.1})
    kw = cfg.grpo_kwargs(str(tmp_path))
    assert kw["max_grad_norm"] == 0.5 and kw["weight_decay"] == 0.1
    args = GRPOConfig(**kw)
    assert args.max_grad_norm == 0.5
    with pytest.raises(ValueError, match=r"grpo: learning_rate is set by rlvr \(use learning_rate\)"):
        TrainConfig(grpo={"learning_rate": 1e-3})
    with pytest.raises(ValueError, match=r"unknown trl.GRPOConfig setting\(s\) \['max_grad_nrom'\]"):
        TrainConfig(grpo={"max_grad_nrom": 1.0})
    fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    assert set(RLVR_OWNED_GRPO_FIELDS) <= fields, set(RLVR_OWNED_GRPO_FIELDS) - fields
    # every field grpo_kwargs sets is owned, on every device path
    for c in (TrainConfig(), TrainConfig(device="cuda"), TrainConfig(device="cuda", vllm_mode="server",
                                                                      vllm_server_base_url="http://x:8000")):
        assert set(c.grpo_kwargs(str(tmp_path), visible_gpus=1)) <= set(RLVR_OWNED_GRPO_FIELDS)


def test_private_attributes_rlvr_reads_are_still_set_by_trl():
    """rlvr.train.dynamic reads trainer._metrics["train"] and trainer.reward_weights: TRL's __init__
    must still set them the way the tested version did."""
    import inspect

    from trl import GRPOTrainer

    source = inspect.getsource(GRPOTrainer.__init__)
    missing = [f"{name}: expected `{line}` in GRPOTrainer.__init__" for name, line in grpo.ATTRIBUTES.items()
               if line not in source]
    assert not missing, "TRL changed attributes rlvr reads:\n  " + "\n  ".join(missing)
    dynamic = (Path(grpo.__file__).parent / "dynamic.py").read_text(encoding="utf-8")
    used = set(re.findall(r"trainer\.(_[a-z_]+|reward_weights)\b", dynamic))
    assert used <= set(grpo.ATTRIBUTES), f"add to grpo.ATTRIBUTES: {sorted(used - set(grpo.ATTRIBUTES))}"
