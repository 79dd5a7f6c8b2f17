"""Curation: keep or drop every task, with a reason and evidence for each decision.

Steps (each a per-item `score` over Arrow record batches plus a `decide`, run by one runner):
exact dedupe (keyed.py), structural dedupe on instance fingerprints (keyed.py), MinHash LSH
near-duplicates with exact-Jaccard confirmation (minhash.py, lsh.py), semantic dedupe
(semantic.py) and benchmark decontamination (decontam.py). Shared text rules live in text.py,
the keep rule and union-find in base.py, the runner and pipeline stage in runner.py.

Nothing heavy is imported here, so `import rlvr.curate` stays cheap.
"""
