"""Small helpers shared by the command modules: output paths and count tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def add_out(parser, help_: str = "output Parquet file", required: bool = True, unless: str = "") -> None:
    """--out; `unless` names the flag that makes it unnecessary (e.g. --list), so the help says when it is
    required instead of showing it as optional."""
    if unless:
        required = False
        help_ = f"{help_} (required unless {unless})"
    parser.add_argument("--out", required=required, type=Path, metavar="OUT", help=help_)


def table(rows: Mapping[str, Any], title: str = "") -> str:
    """Render name/value pairs as an aligned two-column table."""
    if not rows:
        return title
    width = max(len(str(k)) for k in rows)
    lines = [title] if title else []
    lines += [f"  {str(k):<{width}}  {v}" for k, v in rows.items()]
    return "\n".join(lines)
