"""Synth shards: `--shard I/N` ranges are disjoint and together equal the unsharded output; Ray tasks too."""

from __future__ import annotations

import pytest

from rlvr.cli import main
from rlvr.records import Task
from rlvr.synth.shard import make_on_ray, parse_shard, shard_range


def test_ranges_partition_the_indices():
    for n in (1, 7, 100):
        for count in (1, 3, 8):
            got = [i for k in range(count) for i in shard_range(n, k, count)]
            assert got == list(range(n))
    assert parse_shard(" 2/5 ") == (2, 5)
    for bad in ("5/5", "1", "a/b", "-1/3", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


@pytest.mark.parametrize("family", [["generator", "--generator", "toy.first_char"],
                                    ["np", "--task", "knapsack"]])
def test_cli_shards_concatenate_to_the_unsharded_output(family, tmp_path):
    whole = tmp_path / "whole.parquet"
    assert main(["synth", *family, "--n", "10", "--seed", "3", "--out", str(whole)]) == 0
    parts = []
    for k in range(3):
        out = tmp_path / f"part{k}.parquet"
        assert main(["synth", *family, "--n", "10", "--seed", "3", "--shard", f"{k}/3", "--out", str(out)]) == 0
        parts.append([t.task_id for t in Task.read_parquet(out)])
    assert [i for p in parts for i in p] == [t.task_id for t in Task.read_parquet(whole)]
    assert len(set().union(*map(set, parts))) == 10 and all(parts)


@pytest.mark.slow
def test_shards_as_ray_tasks_equal_one_process():
    ray = pytest.importorskip("ray")
    from rlvr.synth.generic import GeneratorStageConfig, make_tasks

    config = GeneratorStageConfig(generator="toy.first_char", n=12, seed=1)
    ray.init(num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False, log_to_driver=False)
    try:
        table = make_on_ray(make_tasks, config, 4)
    finally:
        ray.shutdown()
    assert table.column("task_id").to_pylist() == [t.task_id for t in make_tasks(config)]
