"""One small registry class for every kind of plugin: generators, verifiers, selectors, curate
steps and pipeline stage types.

A name resolves, in this order, to
1. an object registered in this process (`register`),
2. a built-in, declared once in `rlvr.builtins` and imported only when first looked up
   (either a `name -> "module:attr"` entry, or a family module whose import registers names),
3. an installed plugin package's entry point in the group `rlvr.<kind>s`
   (e.g. `[project.entry-points."rlvr.verifiers"] mine = "my_pkg.verify:MINE"`),
4. a dotted path `pkg.module:obj` naming the object directly (imported once, then cached).

An unknown name is a `KeyError` that lists every known name. Registering a second, different
object under a taken name is a `ValueError`; registering the same object again is a no-op.

This module imports nothing above it: the built-in table it reads (`rlvr.builtins`) is data,
strings naming modules, resolved only on lookup.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


def import_path(path: str) -> Any:
    """The object named by 'pkg.module:attr' (attr may be dotted: 'pkg.mod:Class.attr')."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{path!r} is not a dotted path of the form 'pkg.module:object'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"{path}: module {module_name!r} has no attribute {attr!r}") from None
    return obj


class Registry(Generic[T]):
    """Named plugins of one kind.

    `check(obj, name)` validates (and may convert) what a lookup or registration yields: it returns
    the object to store or raises TypeError. `label` is the word used in messages ("verifier").
    `dotted_hint` is appended to the unknown-name message (e.g. "(or pkg.module:Class)").
    """

    def __init__(self, kind: str, *, label: str | None = None, check: Callable[[Any, str], T] | None = None,
                 dotted_hint: str = "", error: type[Exception] = KeyError) -> None:
        self.kind = kind
        self.label = label or kind
        self.group = f"rlvr.{kind}s"
        self._check = check
        self._dotted_hint = dotted_hint
        self._error = error
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}  # name -> "module:attr", imported on first get
        self._loaded = False
        self._loading = False

    # -- registration
    def register(self, name: str, obj: T) -> T:
        """Add `obj` under `name`; a different object under a taken name is refused."""
        if not name:
            raise ValueError(f"a {self.label} needs a non-empty name to be registered")
        if self._check is not None:
            obj = self._check(obj, name)
        existing = self._items.get(name)
        if existing is not None and existing is not obj:
            raise ValueError(f"a {self.label} named {name!r} is already registered ({_describe(existing)}); "
                             "pick another name")
        self._items[name] = obj
        self._lazy.pop(name, None)
        return obj

    def register_lazy(self, name: str, path: str) -> None:
        """Declare `name` as the object at 'module:attr', imported when first looked up."""
        if name not in self._items:
            self._lazy[name] = path

    def unregister(self, name: str) -> None:
        """Forget `name` (a test's or a notebook's temporary plugin); unknown names are ignored."""
        self._items.pop(name, None)
        self._lazy.pop(name, None)

    # -- lookup
    def get(self, name: str) -> T:
        self._load()
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            obj = import_path(self._lazy[name])
            # The module may have registered itself on import; otherwise register what it named.
            return self._items[name] if name in self._items else self.register(name, obj)
        if ":" in name:
            obj = import_path(name)
            if self._check is not None:
                obj = self._check(obj, name)
            self._items[name] = obj  # cache under the dotted path: import once, not per use
            return obj
        known = ", ".join(self.names()) or "(none)"
        raise self._error(f"unknown {self.label} {name!r}; registered: {known}{self._dotted_hint}")

    def names(self) -> list[str]:
        self._load()
        return sorted({n for n in (*self._items, *self._lazy) if ":" not in n})

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    # -- built-ins and installed plugins, on first use
    def _load(self) -> None:
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            from rlvr.builtins import builtin_entries

            modules, lazy = builtin_entries(self.kind)
            for name, path in lazy.items():
                self.register_lazy(name, path)
            for module in modules:
                importlib.import_module(module)
            for ep in _entry_points(self.group):
                if ep.name in self._lazy or ep.name in self._items:
                    log.warning("entry point %s = %s (group %s) ignored: %r is already a %s", ep.name, ep.value,
                                self.group, ep.name, self.label)
                    continue
                self.register_lazy(ep.name, ep.value)
            self._loaded = True
        finally:
            self._loading = False


def _entry_points(group: str) -> list[Any]:
    from importlib.metadata import entry_points

    try:
        return list(entry_points(group=group))
    except Exception:  # noqa: BLE001 - a broken third-party distribution must not break built-ins
        return []


def _describe(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or repr(obj)
