"""Config dataclasses as the single source of truth for CLI flags, YAML files and pipelines.

Each command is backed by a dataclass. `add_config_args` derives its flags from the fields
(help text from `field(metadata={"help": ...})`); `config_from_args` merges, in increasing
priority, the dataclass defaults, `--config FILE.yaml` files, `--config key=value` items and the
flags given explicitly. The same dataclass is filled from a pipeline stage's `with:` mapping by
`config_from_mapping`, so a stage and its CLI command can never drift apart.

Why not transformers' `HfArgumentParser`, which also turns dataclass fields into flags (checked
against transformers 5.25): it fills every unset flag with its default, so it cannot tell a flag the
user typed from one left alone, and the layering above (a YAML file overridden by an explicit
flag, never by a default) needs exactly that, which is why flags here default to
argparse.SUPPRESS; it reads one YAML/JSON file rather than merging files and key=value items; it
refuses mapping fields such as `TrainConfig.select`, `TrainConfig.grpo` or a generator's
`settings` ("invalid dict value"), which here take YAML (`--grpo '{max_grad_norm: 0.5}'`); the
pipeline's `with:` mappings need the same type coercion and unknown-key errors without argparse;
and importing it costs about 1.6 s of transformers on every `rlvr --help`. The part it would
replace (`add_config_args`) is about 40 lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")

_BOOL_STRINGS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False, "on": True, "off": False}


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def coerce(value: Any, tp: Any, *, name: str) -> Any:
    """Convert a YAML or command-line value to a field's declared type, or raise ValueError."""
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name}: a value is required")
    if optional and isinstance(value, str) and value.lower() in ("none", "null"):
        return None
    origin = typing.get_origin(tp)
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _BOOL_STRINGS:
                return _BOOL_STRINGS[value.lower()]
            raise ValueError(f"expected true/false, got {value!r}")
        if tp is int:
            if isinstance(value, bool):
                raise ValueError(f"expected an integer, got {value!r}")
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected an integer, got {value!r}")
            return int(value)
        if tp is float:
            return float(value)
        if tp is str:
            return str(value)
        if tp is Path:
            return Path(value)
        if origin in (list, tuple, typing.Sequence) or tp in (list, tuple):
            args = typing.get_args(tp)
            inner = args[0] if args else Any
            items = value.split(",") if isinstance(value, str) else list(value)
            items = [coerce(v, inner, name=name) for v in items if not (isinstance(v, str) and v == "")]
            return tuple(items) if (origin is tuple or tp is tuple) else items
        if origin is dict or tp is dict:
            if isinstance(value, str):
                value = yaml.safe_load(value)
            if not isinstance(value, dict):
                raise ValueError(f"expected a mapping, got {value!r}")
            return dict(value)
        if tp is Any:
            return value
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None
    return value


def config_from_mapping(cls: type[C], mapping: dict[str, Any] | None, *, where: str = "config") -> C:
    """Build a config dataclass from a mapping; unknown keys are an error listing the valid ones."""
    mapping = dict(mapping or {})
    types_ = _field_types(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown} for {cls.__name__}; valid: {sorted(fields)}")
    kwargs = {k: coerce(v, types_[k], name=f"{where}.{k}") for k, v in mapping.items()}
    return cls(**kwargs)


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of settings at the top level, got {type(data).__name__}")
    return data


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_args(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Add one flag per dataclass field (defaults suppressed, so only given flags are seen)."""
    types_ = _field_types(cls)
    for f in dataclasses.fields(cls):
        if not f.init or f.name in skip:
            continue
        tp, _ = _unwrap_optional(types_[f.name])
        meta = f.metadata or {}
        flags = [_flag(f.name), *meta.get("aliases", ())]
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
        )
        help_text = meta.get("help", "")
        if default not in (None, "", [], ()):
            help_text = f"{help_text} (default: {default})".strip()
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        origin = typing.get_origin(tp)
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin in (list, tuple) or tp in (list, tuple):
            kwargs["nargs"] = "+"
            kwargs["metavar"] = f.name.upper()
        elif origin is dict or tp is dict:
            kwargs["metavar"] = "YAML"
        else:
            kwargs["metavar"] = meta.get("metavar", f.name.upper())
        if "choices" in meta:
            kwargs["choices"] = meta["choices"]
        parser.add_argument(*flags, **kwargs)
    parser.add_argument(
        "--config",
        dest="config_items",
        action="append",
        default=[],
        metavar="FILE.yaml|KEY=VALUE",
        help="settings from a YAML file or a single key=value; explicit flags override them",
    )


def config_from_args(
    cls: type[C],
    args: argparse.Namespace,
    *,
    extra: typing.Callable[[str, str], bool] | None = None,
) -> C:
    """Merge defaults < YAML files < key=value items < explicit flags into a `cls` instance.

    `extra(key, value)` may claim key=value items that are not fields (returning True); any
    other unknown key is an error.
    """
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    merged: dict[str, Any] = {}
    for item in getattr(args, "config_items", []) or []:
        if "=" in item and not Path(item).exists():
            key, _, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if key in fields:
                merged[key] = yaml.safe_load(value) if value else value
            elif extra is None or not extra(key, value):
                raise ValueError(f"--config {item}: unknown setting {key!r}; valid: {sorted(fields)}")
        else:
            merged.update(load_yaml(item))
    for name in fields:
        if hasattr(args, name):
            merged[name] = getattr(args, name)
    return config_from_mapping(cls, merged, where="command line")


def config_with_passthrough(cls: type[C], args: argparse.Namespace, passthrough: str) -> C:
    """`config_from_args`, where --config key=value items that are not fields of `cls` go into its
    dict field `passthrough` (a generator's own settings), and the result is validated again."""
    items: dict[str, Any] = {}

    def claim(key: str, value: str) -> bool:
        items[key] = yaml.safe_load(value) if value else value
        return True

    config = config_from_args(cls, args, extra=claim)
    if items:
        setattr(config, passthrough, {**getattr(config, passthrough), **items})
        post_init = getattr(config, "__post_init__", None)
        if post_init is not None:
            post_init()
    return config


def to_mapping(config: Any) -> dict[str, Any]:
    """A config as plain YAML/JSON-safe data (Paths become strings)."""
    def plain(v: Any) -> Any:
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}
