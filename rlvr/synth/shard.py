"""Sharded synthesis: item i of every index-based generator is a pure function of (seed, i), so a
run of n items splits into index ranges that workers make independently.

`--shard I/N` makes only range I of N (0-based): indices [I*n//N, (I+1)*n//N). The N shards are
disjoint, and written one after another they are exactly the unsharded output (tested), so a
cluster scheduler (Slurm array, Kubernetes job index) can run one shard per worker and the
outputs are concatenated, or curated together (`rlvr curate --in shard-*.parquet`).

`--ray-tasks N` runs the N shards as Ray tasks (`ray.remote`, local Ray or `--ray-address`)
and writes them together, in index order.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyarrow and the records load only when tasks are made (rlvr --help stays instant)
    import pyarrow as pa

    from rlvr.records import Task

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N), 0 <= I < N."""
    m = _SHARD.match(text or "")
    if not m:
        raise ValueError(f"--shard: expected I/N such as 0/4 (shard I of N, 0-based), got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard {text}: need 0 <= I < N and N >= 1")
    return i, n


def shard_range(n_items: int, index: int, count: int) -> range:
    return range(index * n_items // count, (index + 1) * n_items // count)


def add_shard_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", metavar="I/N", help="make only index range I of N (0-based); the N shards are "
                        "disjoint and together equal the unsharded output")
    parser.add_argument("--ray-tasks", type=int, metavar="N", help="make the items as N Ray tasks (one index range "
                        "each) and write them together (extra: scale)")
    parser.add_argument("--ray-address", help="Ray cluster for --ray-tasks (default: a local Ray)")


MakeTasks = Callable[..., "list[Task]"]  # make_tasks(config, progress=False, indices=None)


def _shard_table(make_tasks: MakeTasks, config: Any, indices: range) -> pa.Table:
    from rlvr.records import Task

    return Task.to_arrow(make_tasks(config, indices=indices))


def make_sharded(make_tasks: MakeTasks, config: Any, args: argparse.Namespace) -> list[Task]:
    """The tasks the CLI asked for: all, one shard, or all shards made as Ray tasks."""
    if getattr(args, "shard", None) and getattr(args, "ray_tasks", None):
        raise ValueError("--shard and --ray-tasks exclude each other: one makes a single shard here, the other "
                         "makes every shard on Ray")
    if getattr(args, "shard", None):
        i, count = parse_shard(args.shard)
        return make_tasks(config, progress=True, indices=shard_range(config.n, i, count))
    if getattr(args, "ray_tasks", None):
        from rlvr.records import Task

        return Task.from_arrow(make_on_ray(make_tasks, config, args.ray_tasks, args.ray_address))
    return make_tasks(config, progress=True)


def make_on_ray(make_tasks: MakeTasks, config: Any, shards: int, address: str | None = None) -> pa.Table:
    """All `config.n` items as `shards` Ray tasks, in index order."""
    if shards < 1:
        raise ValueError(f"--ray-tasks must be at least 1, got {shards}")
    try:
        import ray
    except ImportError:
        raise ImportError("--ray-tasks needs Ray: pip install 'rlvr[scale]'") from None
    import pyarrow as pa

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        remote = ray.remote(_shard_table)
        refs = [remote.remote(make_tasks, config, shard_range(config.n, i, shards)) for i in range(shards)]
        return pa.concat_tables(ray.get(refs))
    finally:
        if started:
            ray.shutdown()
