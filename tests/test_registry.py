"""The one Registry behind generators, verifiers, selectors, curate steps and stage types."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pyarrow as pa
import pytest

from rlvr import builtins
from rlvr.registry import Registry, import_path


@dataclass(frozen=True)
class Thing:
    name: str


def _thing(obj, name):
    if not isinstance(obj, Thing):
        raise TypeError(f"{name} is not a Thing")
    return obj


@pytest.fixture
def plugin_module(monkeypatch):
    """A user's plugin package, importable as `my_plugins` for the test."""
    mod = types.ModuleType("my_plugins")
    mod.ONE = Thing("one")
    mod.NOT_A_THING = 42
    monkeypatch.setitem(sys.modules, "my_plugins", mod)
    return mod


def test_register_get_unregister_and_refuse_a_second_object():
    reg: Registry[Thing] = Registry("thing", check=_thing)
    a = Thing("a")
    assert reg.register("a", a) is a and reg.register("a", a) is a  # the same object again is fine
    with pytest.raises(ValueError, match="a thing named 'a' is already registered"):
        reg.register("a", Thing("a"))
    with pytest.raises(TypeError, match="b is not a Thing"):
        reg.register("b", "b")
    assert reg.get("a") is a and "a" in reg and reg.names() == ["a"]
    reg.unregister("a")
    with pytest.raises(KeyError, match=r"unknown thing 'a'; registered: \(none\)"):
        reg.get("a")


def test_dotted_paths_lazy_entries_and_entry_points(plugin_module, monkeypatch):
    reg: Registry[Thing] = Registry("thing", check=_thing, dotted_hint=" (or pkg.module:OBJ)")
    assert reg.get("my_plugins:ONE") is plugin_module.ONE
    assert reg.names() == []  # a dotted path is cached, not listed
    with pytest.raises(TypeError, match="my_plugins:NOT_A_THING is not a Thing"):
        reg.get("my_plugins:NOT_A_THING")
    with pytest.raises(ImportError, match="has no attribute 'MISSING'"):
        reg.get("my_plugins:MISSING")
    reg.register_lazy("lazy", "my_plugins:ONE")
    assert reg.names() == ["lazy"] and reg.get("lazy") is plugin_module.ONE

    class EP:
        name, value = "from_ep", "my_plugins:ONE"

    monkeypatch.setattr("rlvr.registry._entry_points", lambda group: [EP()] if group == "rlvr.things" else [])
    fresh: Registry[Thing] = Registry("thing", check=_thing)
    assert fresh.names() == ["from_ep"] and fresh.get("from_ep") is plugin_module.ONE
    with pytest.raises(KeyError, match=r"unknown thing 'nope'; registered: from_ep"):
        fresh.get("nope")

    class Shadow:  # an installed package may not replace a built-in
        name, value = "exact", "my_plugins:ONE"

    monkeypatch.setattr("rlvr.registry._entry_points", lambda group: [Shadow()])
    from rlvr.curate.base import _as_step_class
    from rlvr.curate.keyed import ExactStep

    assert Registry("curate_step", check=_as_step_class).get("exact") is ExactStep


def test_import_path_needs_module_and_object():
    assert import_path("rlvr.registry:Registry") is Registry
    with pytest.raises(ValueError, match="not a dotted path"):
        import_path("rlvr.registry")


def test_every_builtin_resolves_and_each_family_is_declared_once():
    from rlvr.curate.base import STEPS
    from rlvr.pipeline import STAGES
    from rlvr.select.base import SELECTORS
    from rlvr.synth.registry import GENERATORS
    from rlvr.verify import VERIFIERS

    assert len({f.name for f in builtins.FAMILIES}) == len(builtins.FAMILIES)
    for name in STAGES.names():
        assert STAGES.get(name).config_cls is not None
    assert {f"synth.{f.name}" for f in builtins.FAMILIES if f.stage} <= set(STAGES.names())
    assert STEPS.names() == sorted(builtins.CURATE_STEPS)
    for name in STEPS.names():
        assert STEPS.get(name).name == name
    assert {"uniform", "insight", "band"} <= set(SELECTORS.names())
    assert {"gym", "toy.initial", "np.tsp", "fim", "svs"} <= set(GENERATORS.names())
    assert {"gym", "toy.initial", "np.tsp", "mcqa.fim", "final_answer", "azr.deduction"} <= set(VERIFIERS.names())
    from rlvr.builtins import synth_commands

    assert set(synth_commands()) == {"gym", "azr", "np", "fim", "svs", "sws", "generator"}


class ShortPrompts:
    """A user's curate step, plugged in by dotted path: drops items shorter than min_chars."""

    name = "short"

    def __init__(self, min_chars: int):
        self.min_chars = min_chars

    @classmethod
    def from_config(cls, config, cache=None):
        return cls(12)

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return pa.record_batch({"id": batch.column("id"),
                                "n": pa.array([len(t) for t in batch.column("text").to_pylist()])})

    def decide(self, scores: pa.Table) -> pa.Table:
        from rlvr.curate.base import VERDICT_SCHEMA

        n = scores.num_rows
        keep = [v >= self.min_chars for v in scores.column("n").to_pylist()]
        return pa.table({"id": scores.column("id"), "keep": keep,
                         "reason": ["long_enough" if k else "too_short" for k in keep],
                         "matched_id": [None] * n, "source": [None] * n, "score": [None] * n,
                         "detail": [""] * n}, schema=VERDICT_SCHEMA)


def test_a_curate_step_and_a_stage_type_plug_in_without_editing_rlvr(tmp_path):
    import rlvr
    from rlvr.pipeline import STAGES, Pipeline, get_stage_type, run_pipeline

    tasks = rlvr.generate("toy.initial", n=6)
    kept, decisions = rlvr.curate(tasks, steps=["exact", f"{__name__}:ShortPrompts"])
    short = [d for d in decisions if d.stage == "short"]
    assert len(short) == len(tasks) and {t.task_id for t in kept} == {d.task_id for d in short if d.keep}
    with pytest.raises(ValueError, match=r"steps: unknown step\(s\) \['shrot'\]; valid: decontam, exact"):
        rlvr.curate(tasks, steps=["shrot"])

    STAGES.register("test.generic", get_stage_type("synth.generator"))
    try:
        pipe = Pipeline.from_mapping({"stages": [{"name": "make", "type": "test.generic",
                                                  "with": {"generator": "toy.initial", "n": 3}}]})
        (rec, ran), = run_pipeline(pipe, tmp_path / "run")
        assert ran and rec.counts["tasks"] == 3
    finally:
        STAGES.unregister("test.generic")
    with pytest.raises(ValueError, match="unknown stage type 'test.generic'; valid:"):
        get_stage_type("test.generic")
