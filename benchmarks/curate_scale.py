"""Curate at scale: items/s and peak resident memory of `exact,minhash` for each engine, in one run.

Data: N plain-text items of 64 words drawn from the vocabulary of ../shared/data/corpus with
Zipf-like frequencies; 10% are near copies of an earlier item (1 to 3 words replaced), 5% exact
copies. Written once per size as one Parquet file (id, text).

Each measurement runs in a fresh subprocess and reports wall seconds and the peak resident memory
of its whole process tree (the process plus every descendant, e.g. Ray's raylet and workers),
sampled every 0.2 s with psutil, and the kernel's own peak (VmHWM) of the main process:

- memory: `rlvr curate --engine memory` (today's in-memory runner);
- local: `--engine local` (rlvr.curate.engine, out of core);
- ray: `--engine ray` on a local Ray started by the run (rlvr.curate.ray_engine);
- datasketch: the common baseline, one MinHash(num_perm=128) per item from its word 5-grams
  (update_batch), MinHashLSH(threshold=0.8): query, then insert; an item with a hit is dropped.
  It answers a weaker question (no exact-Jaccard confirmation, no exact step).

    python benchmarks/curate_scale.py [--sizes 10000 100000 1000000] [--engines memory local ray datasketch]
        [--limit memory=100000 datasketch=100000] [--out-dir /tmp/rlvr-scale]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "corpus"
WORDS = 64


def vocabulary() -> list[str]:
    counts: dict[str, int] = {}
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            for w in re.findall(r"[a-z]+", json.loads(line).get("text", "").lower()):
                counts[w] = counts.get(w, 0) + 1
    return [w for w, _ in sorted(counts.items(), key=lambda kv: -kv[1])]


def make_data(n: int, path: Path, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    vocab = np.array(vocabulary())
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 0.9
    cdf = np.cumsum(p / p.sum())
    words = np.searchsorted(cdf, rng.random((n, WORDS), dtype=np.float32)).astype(np.int32)
    words = np.minimum(words, len(vocab) - 1)
    kind = rng.random(n)
    src = (rng.random(n) * np.arange(n)).astype(np.int64)  # an earlier item
    exact = (kind < 0.05) & (np.arange(n) > 0)
    near = (kind >= 0.05) & (kind < 0.15) & (np.arange(n) > 0)
    for i in np.flatnonzero(exact | near):  # in order, so a copy of a copy copies the final text
        words[i] = words[src[i]]
        if near[i]:
            k = rng.integers(1, 4)
            words[i, rng.integers(0, WORDS, size=k)] = rng.integers(0, len(vocab), size=k)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, 50_000):
            chunk = words[start:start + 50_000]
            writer.write_table(pa.table({"id": [f"d{i:08d}" for i in range(start, start + len(chunk))],
                                         "text": [" ".join(row) for row in vocab[chunk]]}, schema=schema))
    return path


# ----------------------------------------------------------------------------- one measurement (child)


def run_rlvr(engine: str, data: Path, out_dir: Path) -> dict:
    from rlvr.cli import main

    out = out_dir / f"kept-{engine}.parquet"
    code = main(["curate", "--in", str(data), "--out", str(out), "--steps", "exact,minhash", "--no-progress",
                 "--engine", engine, *(["--work-dir", str(out_dir / f"work-{engine}")] if engine != "memory" else [])])
    import pyarrow.parquet as pq

    return {"code": code, "kept": pq.read_metadata(out).num_rows}


def run_datasketch(data: Path) -> dict:
    import pyarrow.parquet as pq
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    kept = 0
    for batch in pq.ParquetFile(data).iter_batches(batch_size=4096):
        for item_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist()):
            w = text.lower().split()
            shingles = {" ".join(w[i:i + 5]).encode() for i in range(max(1, len(w) - 4))}
            m = MinHash(num_perm=128, seed=1)
            m.update_batch(list(shingles))
            if not lsh.query(m):
                kept += 1
            lsh.insert(item_id, m)
    return {"code": 0, "kept": kept}


class TreeSampler(threading.Thread):
    """Peak summed RSS of this process and all its descendants."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = False

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stop:
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)


def _vm_hwm_mb() -> int:
    """This process's peak resident set (VmHWM; ru_maxrss would include the parent's peak before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return -1


def child(engine: str, data: Path, out_dir: Path) -> None:
    sampler = TreeSampler()
    sampler.start()
    start = time.monotonic()
    res = run_datasketch(data) if engine == "datasketch" else run_rlvr(engine, data, out_dir)
    seconds = time.monotonic() - start
    if engine == "ray":
        import ray

        ray.shutdown()
    sampler.stop = True
    sampler.join()
    res.update(seconds=round(seconds, 2), tree_peak_mb=round(sampler.peak / 2**20), maxrss_mb=_vm_hwm_mb())
    print("RESULT " + json.dumps(res), flush=True)


# ----------------------------------------------------------------------------- driver


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--engines", nargs="+", default=["memory", "local", "ray", "datasketch"])
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/rlvr-scale"))
    ap.add_argument("--limit", nargs="*", default=["memory=100000", "datasketch=100000"], metavar="ENGINE=N",
                    help="skip an engine above N items (the in-memory runs need several GB at 1M)")
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    rows = []
    print(f"{'items':>9} {'engine':<11} {'wall s':>8} {'items/s':>9} {'tree peak MB':>13} {'VmHWM MB':>10} "
          f"{'kept':>9}", flush=True)
    limits = {k: int(v) for k, v in (item.split("=") for item in args.limit)}
    for n in args.sizes:
        data = make_data(n, args.out_dir / f"items-{n}.parquet")
        for engine in args.engines:
            if n > limits.get(engine, n):
                print(f"{n:>9} {engine:<11} skipped (--limit {engine}={limits[engine]})", flush=True)
                continue
            out = args.out_dir / f"run-{n}-{engine}"
            out.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run([sys.executable, __file__, "--child", engine, str(data), str(out)],
                                  capture_output=True, text=True)
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                print(f"{n:>9} {engine:<11} failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
                continue
            r = json.loads(line[0][7:])
            rows.append({"items": n, "engine": engine, **r})
            print(f"{n:>9} {engine:<11} {r['seconds']:>8.1f} {n / r['seconds']:>9.0f} {r['tree_peak_mb']:>13} "
                  f"{r['maxrss_mb']:>10} {r['kept']:>9}", flush=True)
    for n in args.sizes:
        base = {r["engine"]: r for r in rows if r["items"] == n}
        if "datasketch" in base:
            for engine in ("memory", "local", "ray"):
                if engine in base:
                    print(f"{n} items: {engine} / datasketch items/s ratio "
                          f"{base['datasketch']['seconds'] / base[engine]['seconds']:.2f}")


if __name__ == "__main__":
    main()
