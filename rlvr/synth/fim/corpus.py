"""Where FIM passages come from: user corpora through the foundation readers, or a built-in one.

`load_corpus(["docs/", "more.jsonl", "builtin:pydocs"])` reads each path with
`rlvr.io.readers.read_documents` (JSONL, Parquet, CSV, saved HF datasets, folders of
txt/md/rst; bad records are quarantined and counted) and adds built-in corpora by name.

`builtin:pydocs` is real, reasoning-rich text that ships with the installed software, so the demo
and the contract test need no download and no ../shared data: the docstrings of Python standard
library modules that explain their algorithms (heapq, bisect, statistics, difflib, ...) and the
summaries and "Notes" sections of NumPy, SciPy and scikit-learn docstrings, which derive methods
with equations and steps. Parameter lists, examples and references are left out. Each document
records its licence (PSF-2.0 for the standard library, BSD-3-Clause for the three packages).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from rlvr.io.readers import ReadOptions, read_documents
from rlvr.records import Document, Quarantined

log = logging.getLogger(__name__)

BUILTIN_PREFIX = "builtin:"

# package -> (licence recorded in Document.license, modules walked)
PYDOCS_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "python": ("PSF-2.0", ("heapq", "bisect", "statistics", "random", "difflib", "graphlib", "functools",
                           "collections", "itertools", "textwrap", "fractions", "decimal", "colorsys")),
    "numpy": ("BSD-3-Clause", ("numpy", "numpy.linalg", "numpy.fft", "numpy.polynomial.polynomial",
                               "numpy.random")),
    "scipy": ("BSD-3-Clause", ("scipy.optimize", "scipy.integrate", "scipy.interpolate", "scipy.linalg",
                               "scipy.signal", "scipy.stats", "scipy.spatial", "scipy.sparse.linalg",
                               "scipy.cluster.hierarchy")),
    "sklearn": ("BSD-3-Clause", ("sklearn.linear_model", "sklearn.cluster", "sklearn.decomposition",
                                 "sklearn.svm", "sklearn.tree", "sklearn.ensemble", "sklearn.neighbors",
                                 "sklearn.manifold", "sklearn.metrics")),
}

# numpydoc sections that explain (kept) versus list or point elsewhere (dropped).
_KEEP_SECTIONS = {"", "notes", "extended summary", "algorithm", "method", "methods notes"}
_SECTION = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}\s*$", re.M)
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`<]+?)(?:\s*<[^>]+>)?`")
_CITATION = re.compile(r"\s*\[[\w#*]+\]_")
_DIRECTIVE_DROP = re.compile(r"^\.\. (versionadded|versionchanged|deprecated|plot|seealso|note|warning|"
                             r"_[\w-]+|\[\w+\])::?.*$")


@dataclass
class CorpusResult:
    documents: list[Document] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


def _rst_to_markdown(doc: str) -> str:
    """numpydoc/reST docstring -> light Markdown: keep the summary and Notes; math as $...$."""
    parts, last, title = [], 0, ""
    for m in _SECTION.finditer(doc):
        parts.append((title, doc[last:m.start()]))
        title, last = m.group(1).strip().lower(), m.end()
    parts.append((title, doc[last:]))
    kept = "\n\n".join(body for title, body in parts if title in _KEEP_SECTIONS)
    out: list[str] = []
    lines = kept.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(".. math::"):
            body = [stripped[len(".. math::"):].strip()]
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                body.append(lines[i].strip())
                i += 1
            eq = " ".join(b for b in body if b and not b.startswith(":"))
            if eq:
                out += ["", f"$${eq}$$", ""]
            continue
        if stripped.startswith(".. code-block::") or stripped.startswith(".. code::"):
            body = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                body.append(lines[i])
                i += 1
            code = textwrap.dedent("\n".join(body)).strip("\n")
            if code:
                out += ["", "```", code, "```", ""]
            continue
        if _DIRECTIVE_DROP.match(stripped) or stripped.startswith("Read more in the"):
            i += 1  # the directive and its indented body (version notes, legacy warnings)
            while i < len(lines) and lines[i].startswith((" ", "\t")):
                i += 1
            continue
        line = _MATH_ROLE.sub(lambda m: f"${m.group(1)}$", line)
        line = _ROLE.sub(lambda m: f"`{m.group(1).strip()}`", line)
        out.append(_CITATION.sub("", line.replace("``", "`")))
        i += 1
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
    return unwrap(text)


_ALIGNED = re.compile(r"\S {3,}\S|\s#|^#")
_WRAPPED = re.compile(r"(?<=[\w,;:.)$`'\]-])\n(?=[A-Za-z$`(\\])")


def unwrap(text: str) -> str:
    """Join hard-wrapped prose lines (docstrings wrap at ~79 columns) so a sentence is one line.
    Lines inside code fences, indented lines and aligned columns (two spaces, '#') stay as they are."""
    out, in_fence = [], False
    for block in re.split(r"(\n\s*\n)", text):
        if block.strip().startswith("```") or in_fence:
            in_fence = block.count("```") % 2 == 1 if not in_fence else block.count("```") % 2 == 0
            out.append(block)
            continue
        lines = block.split("\n")
        if any(ln.startswith((" ", "\t", ">>>")) or _ALIGNED.search(ln) for ln in lines):
            out.append(block)
        else:
            out.append(_WRAPPED.sub(" ", block))
    return "".join(out)


def _documented(module: object, prefix: str) -> list[tuple[str, object]]:
    """(qualified name, object) for the public routines and classes a module defines, and for
    methods of those classes whose docstrings have a Notes section."""
    out = []
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        obj = getattr(module, name, None)
        routine = inspect.isroutine(obj) or type(obj).__name__ in ("ufunc", "_ArrayFunctionDispatcher")
        if not (routine or inspect.isclass(obj)):
            continue
        if not str(getattr(obj, "__module__", "") or prefix).startswith(prefix):
            continue
        out.append((f"{module.__name__}.{name}", obj))
        if inspect.isclass(obj):
            for meth in sorted(vars(obj)):
                fn = getattr(obj, meth, None)
                if not meth.startswith("_") and inspect.isroutine(fn) and "Notes\n-----" in (inspect.getdoc(fn) or ""):
                    out.append((f"{module.__name__}.{name}.{meth}", fn))
    return out


def pydocs() -> list[Document]:
    """The built-in corpus: docstrings of the standard library, NumPy, SciPy and scikit-learn."""
    from tqdm.auto import tqdm

    docs: list[Document] = []
    seen: set[str] = set()
    # Importing SciPy's and scikit-learn's modules takes a while on a slow machine: show it.
    bar = tqdm(total=sum(len(m) for _, m in PYDOCS_MODULES.values()), desc="builtin:pydocs", unit="module",
               leave=False)
    for package, (licence, modules) in PYDOCS_MODULES.items():
        try:
            version = "python-" + sys.version.split()[0] if package == "python" else \
                importlib.import_module(package).__version__
        except ImportError:
            log.warning("builtin:pydocs: %s is not installed; its docstrings are left out", package)
            bar.update(len(modules))
            continue
        prefix = "" if package == "python" else package
        for module_name in modules:
            bar.set_postfix_str(module_name, refresh=False)
            bar.update(1)
            module = importlib.import_module(module_name)
            entries = [(module_name, module), *_documented(module, prefix or module_name)]
            for qualname, obj in entries:
                raw = inspect.getdoc(obj) or ""
                text = _rst_to_markdown(textwrap.dedent(raw)) if package != "python" else unwrap(raw.strip())
                if len(text) < 200 or text in seen:
                    continue
                seen.add(text)
                docs.append(Document(
                    doc_id=f"pydocs:{qualname}", text=text, source=f"builtin:pydocs/{package}", title=qualname,
                    license=licence, meta={"package": package, "version": version, "object": qualname},
                ))
    bar.close()
    return docs


BUILTIN_CORPORA: dict[str, Callable[[], list[Document]]] = {"pydocs": pydocs}


def load_corpus(specs: list[str], *, text_field: str = "text", max_documents: int | None = None) -> CorpusResult:
    """Documents from every path or `builtin:NAME`, in order; quarantined records are kept and counted."""
    result = CorpusResult()
    for spec in specs:
        if spec.startswith(BUILTIN_PREFIX):
            name = spec[len(BUILTIN_PREFIX):]
            if name not in BUILTIN_CORPORA:
                raise ValueError(f"unknown built-in corpus {spec!r}; valid: "
                                 f"{', '.join(BUILTIN_PREFIX + n for n in sorted(BUILTIN_CORPORA))}")
            docs = BUILTIN_CORPORA[name]()
            result.documents += docs
            result.counts["documents_read"] += len(docs)
            continue
        read = read_documents(spec, ReadOptions(text_field=text_field))
        result.documents += read.documents
        result.quarantined += read.quarantined
        result.counts["documents_read"] += len(read.documents) + len(read.quarantined)
        result.counts["documents_quarantined"] += len(read.quarantined)
        for q in read.quarantined:
            result.counts[f"quarantined:{q.reason.split(':')[0]}"] += 1
    if max_documents is not None and len(result.documents) > max_documents:
        result.counts["documents_beyond_max_documents"] += len(result.documents) - max_documents
        result.documents = result.documents[:max_documents]
    return result
