"""Small helpers shared by the command modules: output paths and count tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def add_out(parser, help_: str = "output Parquet file", required: bool = True) -> None:
    parser.add_argument("--out", required=required, type=Path, help=help_)


def table(rows: Mapping[str, Any], title: str = "") -> str:
    """Render name/value pairs as an aligned two-column table."""
    if not rows:
        return title
    width = max(len(str(k)) for k in rows)
    lines = [title] if title else []
    lines += [f"  {str(k):<{width}}  {v}" for k, v in rows.items()]
    return "\n".join(lines)
