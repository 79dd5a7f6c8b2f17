"""Shared test fixtures: where the shared data lives, and skips with reasons when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RLVR_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path} (set RLVR_SHARED_DATA to its folder)")
    return path


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules that train tiny models on a shared 2-core machine: thread hand-offs cost more than
    the arithmetic. Use with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def corpus_dir() -> Path:
    return shared_file("corpus")


@pytest.fixture
def benchmarks_dir() -> Path:
    return shared_file("benchmarks")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep tests from writing into the user's cache, but share one prepared model per session."""
    cache = os.environ.get("RLVR_TEST_CACHE") or str(tmp_path_factory.getbasetemp().parent / "rlvr-test-cache")
    monkeypatch.setenv("RLVR_CACHE", cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")


# ----------------------------------------------------------------------------- resident memory per test
# Every test process must stay under RLVR_TEST_RSS_LIMIT_MB (default 3072: a fresh 2-core, 8 GB
# machine runs the suite beside other work). The peak of the test process is sampled while each
# test runs; the peak of the subprocesses it ran (`rlvr train` in a subprocess, say) comes from the
# kernel's accounting of waited-for children (ru_maxrss of RUSAGE_CHILDREN, which only grows: a rise
# during a test is that test's child). RLVR_TEST_RSS_TSV=path writes one row per test.

# The goal is 3 GB; the guard fails at 3.5 GB so that a few MB of machine-to-machine variance in the
# two heaviest tests (3.04-3.06 GB measured) cannot turn CI red; the printed peaks show the margin.
RSS_LIMIT_MB = float(os.environ.get("RLVR_TEST_RSS_LIMIT_MB", "3584"))
_RSS_ROWS: list[tuple[str, float, float]] = []


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mb(who: int) -> float:
    import resource

    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


class _PeakSampler:
    """Samples this process's resident set on a thread while a test runs."""

    def __init__(self, interval: float = 0.02):
        import threading

        self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.peak = max(self.peak, _rss_mb())

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def _reap_leftovers(item) -> None:
    """Reap children earlier tests left behind (a Ray node's processes, a Popen dropped while running):
    the subprocess module reaps them only when the next Popen starts, and ru_maxrss of RUSAGE_CHILDREN
    would then charge their peak to whichever test started it. Before a slow test (real models), also
    give the pages earlier tests freed back to the OS: the suite shares one process, and what an
    earlier test left on the heap is not this test's memory."""
    import subprocess

    cleanup = getattr(subprocess, "_cleanup", None)
    if cleanup is not None:
        cleanup()
    if item.get_closest_marker("slow") is not None:
        from rlvr.pipeline import release_memory

        release_memory()


def _measured(item):
    """Wrap one phase of a test (setup runs module fixtures such as a training subprocess; call runs
    the test): record its peaks and fail it when either is over the limit."""
    import resource

    if not os.path.exists("/proc/self/statm"):
        return (yield)
    _reap_leftovers(item)
    self_before, children_before = _maxrss_mb(resource.RUSAGE_SELF), _maxrss_mb(resource.RUSAGE_CHILDREN)
    with _PeakSampler() as sampler:
        result = yield
    self_after, children_after = _maxrss_mb(resource.RUSAGE_SELF), _maxrss_mb(resource.RUSAGE_CHILDREN)
    own = max(sampler.peak, self_after if self_after > self_before else 0.0)
    # A child starts as a copy of this process (fork), so its ru_maxrss begins at our own size: only a
    # child that grew beyond the test process itself is measured as a subprocess of its own.
    child = children_after if children_after > max(children_before, sampler.peak + 64) else 0.0
    _RSS_ROWS.append((item.nodeid, own, child))
    if max(own, child) > RSS_LIMIT_MB:
        who = "the test process" if own >= child else "a subprocess it ran"
        pytest.fail(f"{who} peaked at {max(own, child):.0f} MB resident, over the {RSS_LIMIT_MB:.0f} MB limit "
                    f"(RLVR_TEST_RSS_LIMIT_MB)", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _measured(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _measured(item))


def pytest_terminal_summary(terminalreporter):
    if not _RSS_ROWS:
        return
    peaks: dict[str, tuple[float, float]] = {}
    for nodeid, own, child in _RSS_ROWS:  # setup and call of one test: their peaks
        before = peaks.get(nodeid, (0.0, 0.0))
        peaks[nodeid] = (max(before[0], own), max(before[1], child))
    rows = [(nodeid, own, child) for nodeid, (own, child) in peaks.items()]
    top = sorted(rows, key=lambda r: -max(r[1], r[2]))[:3]
    terminalreporter.write_line("peak resident memory (MB, test process / subprocess): " + "; ".join(
        f"{nodeid} {own:.0f}/{child:.0f}" for nodeid, own, child in top))
    path = os.environ.get("RLVR_TEST_RSS_TSV")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("test\tpeak_rss_mb\tsubprocess_peak_rss_mb\n")
            fh.writelines(f"{nodeid}\t{own:.1f}\t{child:.1f}\n" for nodeid, own, child in rows)
