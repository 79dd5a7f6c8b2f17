"""rlvr: verifiable RL datasets from raw text, procedural families and the policy itself.

The top-level package stays import-light so that `rlvr --help` is instant; heavy libraries
(torch, transformers, trl, sentence-transformers) are imported inside the functions that use them.
"""

__version__ = "0.1.0"
