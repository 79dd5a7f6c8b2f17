"""The import graph points one way: every rlvr module's imports (parsed with ast, including the
lazy ones inside functions) go to its own layer or a lower one, the synth / curate / select peers
do not import each other, and no two modules import each other, directly or through others.

Layers, lowest first (a module belongs to the longest prefix listed):
  0  leaves: records, io, verify, registry, builtins (data only), hashing, version, config, rundir, cliutil
  1  shared services: models (backends, embedding cache, k-rollout estimation)
  2  synth, curate, select: peers, each importing only layers 0-1 and itself
  3  train
  4  datasets_cards, pipeline
  5  the entry points: cli, commands, api, the top-level package
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import rlvr

ROOT = Path(rlvr.__file__).resolve().parent

LAYERS: dict[str, int] = {
    "rlvr.records": 0, "rlvr.io": 0, "rlvr.verify": 0, "rlvr.answers": 0, "rlvr.registry": 0, "rlvr.builtins": 0, "rlvr.errors": 0,
    "rlvr.hashing": 0, "rlvr.version": 0, "rlvr.config": 0, "rlvr.rundir": 0, "rlvr.cliutil": 0,
    "rlvr.models": 1,
    "rlvr.synth": 2, "rlvr.curate": 2, "rlvr.select": 2,
    "rlvr.train": 3,
    "rlvr.datasets_cards": 4, "rlvr.pipeline": 4,
    "rlvr.cli": 5, "rlvr.commands": 5, "rlvr.api": 5, "rlvr.__main__": 5, "rlvr": 5,
}
PEERS = ("rlvr.synth", "rlvr.curate", "rlvr.select")
# Who may read the built-in table: the registries (lazily, on first lookup) and the command line.
BUILTINS_READERS = {"rlvr.registry", "rlvr.cli", "rlvr.synth.cli", "rlvr.api"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, modules: set[str]) -> list[tuple[str, bool]]:
    """(imported rlvr module, runtime?) for every import statement in the file, lazy ones included."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only = _type_checking_lines(tree)
    out: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from pkg import submodule` depends on the submodule, `from mod import obj` on mod.
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        for t in targets:
            if t == "rlvr" or t.startswith("rlvr."):
                while t not in modules and "." in t:  # `import rlvr.synth.np.base` etc.
                    t = t.rpartition(".")[0]
                out.append((t, node.lineno not in typing_only))
    return out


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        inside = module == prefix or (prefix != "rlvr" and module.startswith(prefix + "."))  # "rlvr": __init__ only
        if inside and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return None if best is None else best[1]


def peer_of(module: str) -> str | None:
    return next((p for p in PEERS if module == p or module.startswith(p + ".")), None)


@functools.lru_cache(maxsize=1)
def import_graph() -> dict[str, list[tuple[str, bool]]]:
    files = sorted(ROOT.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def violations(graph: dict[str, list[tuple[str, bool]]]) -> list[str]:
    """Every edge that breaks the layer order or the peer rule, and every import cycle."""
    bad: list[str] = []
    for src, targets in sorted(graph.items()):
        src_layer = layer_of(src)
        if src_layer is None:
            bad.append(f"{src}: in no layer; add it to LAYERS in tests/test_architecture.py")
            continue
        for dst, _ in targets:
            dst_layer = layer_of(dst)
            if dst == src or dst_layer is None:
                continue
            if dst_layer > src_layer:
                bad.append(f"{src} (layer {src_layer}) imports {dst} (layer {dst_layer}): a back-edge")
            elif src_layer == dst_layer == 2 and peer_of(src) != peer_of(dst):
                bad.append(f"{src} imports its peer {dst}: share it through a service in rlvr.models or below")
    bad.extend(f"import cycle: {' -> '.join(c)}" for c in cycles(graph))
    return bad


def cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """One cycle per strongly connected component of the runtime import graph (Tarjan)."""
    edges = {m: sorted({d for d, runtime in ts if runtime and d != m and d in graph}) for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component) + [sorted(component)[0]])

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_import_points_down_and_there_are_no_cycles():
    graph = import_graph()
    assert len(graph) > 100  # the walk found the package
    assert violations(graph) == []


def test_the_check_catches_a_back_edge_a_peer_import_and_a_cycle():
    graph = import_graph()
    back = {**graph, "rlvr.records": [*graph["rlvr.records"], ("rlvr.datasets_cards.card", True)]}
    assert any("rlvr.records (layer 0) imports rlvr.datasets_cards.card (layer 4): a back-edge" in v
               for v in violations(back))
    peer = {**graph, "rlvr.synth.fim.stage": [*graph["rlvr.synth.fim.stage"], ("rlvr.select.base", True)]}
    assert any("imports its peer rlvr.select.base" in v for v in violations(peer))
    cyc = {**graph, "rlvr.hashing": [*graph["rlvr.hashing"], ("rlvr.records", True)]}
    assert any(v.startswith("import cycle:") and "rlvr.hashing" in v for v in violations(cyc))
    unknown = {**graph, "rlvr.newthing": []}
    assert any("rlvr.newthing: in no layer" in v for v in violations(unknown))


def test_builtins_are_data_read_only_by_the_registries_and_the_command_line():
    graph = import_graph()
    assert [d for d, _ in graph["rlvr.builtins"]] == []
    readers = {src for src, ts in graph.items() if any(d == "rlvr.builtins" for d, _ in ts)}
    assert readers <= BUILTINS_READERS, readers - BUILTINS_READERS


@pytest.mark.parametrize("module, forbidden", [
    ("rlvr.records", "rlvr.datasets_cards"),
    ("rlvr.synth.svs.parents", "rlvr.train"),
    ("rlvr.synth.fim", "rlvr.select"),
    ("rlvr.synth.fim", "rlvr.curate"),
    ("rlvr.select.base", "rlvr.select.selectors"),
    ("rlvr.verify", "rlvr.synth"),
])
def test_the_edges_that_used_to_point_up_are_gone(module, forbidden):
    graph = import_graph()
    edges = [(src, d) for src, ts in graph.items() if src == module or src.startswith(module + ".")
             for d, _ in ts if d == forbidden or d.startswith(forbidden + ".")]
    assert edges == []
