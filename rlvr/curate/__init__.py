"""Curation: keep or drop every task, with a reason and evidence for each decision.

Steps (each a per-item `score` over Arrow record batches plus a `decide`, run by one runner):
exact dedupe (keyed.py), structural dedupe on instance fingerprints (keyed.py), MinHash LSH
near-duplicates with exact-Jaccard confirmation (minhash.py, lsh.py), semantic dedupe
(semantic.py) and benchmark decontamination (decontam.py). Shared text rules live in text.py,
the keep rule and duplicate clustering (scipy connected components) in base.py, the runner and pipeline stage in runner.py.

Nothing heavy is imported here, so `import rlvr.curate` stays cheap.
`rlvr.curate(tasks, **settings) -> (kept, decisions)` calls `runner.curate_tasks`.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, tasks: Any, config: Any = None, **settings: Any) -> Any:
        """Curate tasks in memory: (kept tasks, decisions); see rlvr.curate.runner.curate_tasks."""
        from rlvr.curate.runner import curate_tasks

        return curate_tasks(tasks, config, **settings)


sys.modules[__name__].__class__ = _CallableModule
