"""The Golden Goose FIM generator: passages -> masked span + options, as a pure function of (seed, idx).

The constructor does everything that does not depend on the seed, once: read the corpus, cut
and filter passages, rank each passage's maskable spans, index every document's spans as
same-topic wrong options (siblings.py), and build the miner over the pool of every passage's best
spans (wrong options from other pages, when a topic has too few). `generate(seed, idx)` then walks the passages in an
order drawn from `seed`, in chunks (a chunk is one embedding batch, or one batch of LLM prompts
of fixed size, since LLM sampling seeds are drawn per chunk), and returns the idx-th passage
that yields an item passing every guard. Each passage's outcome depends only on (seed,
passage) (and, in LLM mode, the fixed chunking), and outcomes are memoised per seed, so the
result is a pure function of (seed, idx) for a fixed config and corpus, and asking for idx
0..n-1 in order costs one pass.

Every passage the walk visits ends as a task or as a counted drop reason; `report(seed)` adds
those counts to the corpus counts (documents read, quarantined, skipped; passages skipped).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rlvr.hashing import config_fingerprint, seed_int
from rlvr.records import Document, Task
from rlvr.synth.fim.config import FimConfig
from rlvr.synth.fim.corpus import CorpusResult, load_corpus
from rlvr.synth.fim.guards import (
    SpanLimits,
    check_item,
    check_options,
    check_span,
    clean_distractors,
    masked_text,
)
from rlvr.synth.fim.layout import (
    Filling,
    choose,
    draw_layout,
    group_fillings,
    overlap_top_credit,
    place_answer,
)
from rlvr.synth.fim.llm import build_prompt, parse_proposal
from rlvr.synth.fim.passages import extract_passages
from rlvr.synth.fim.perturb import Perturbation, WordFrequencies, perturbations
from rlvr.synth.fim.siblings import SiblingPool, SiblingSpan
from rlvr.synth.fim.spans import Candidate, candidates, top_candidates
from rlvr.synth.fim.task import VERIFIER, FimItem, Option, build_task
from rlvr.synth.fim.text import blocks, local_context, tokens
from rlvr.synth.registry import GeneratorSpec, register_generator

log = logging.getLogger(__name__)

NAME = "fim"
VERSION = "2"  # 2: same-topic wrong options, per-item layouts, balanced choice (issue 13)
EMBED_CHUNK = 32  # most passages per embedding batch


@dataclass
class _Scan:
    """The walk over passages for one seed: memoised items and every outcome so far."""

    order: list[int]
    pos: int = 0
    items: list[FimItem] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)  # "yielded_task" or "dropped:<reason>", one per visited passage
    details: Counter = field(default_factory=Counter)  # candidate_rejected:, distractor_rejected:, llm_failure:


class FimGenerator:
    def __init__(self, config: FimConfig, *, documents: list[Document] | None = None, backend: Any = None,
                 embeddings: Any = None):
        """`documents` replaces reading config.corpus; `backend` (LLM mode) and `embeddings` (an
        rlvr.models.embed.EmbeddingCache, embedded mode) replace the ones the config names."""
        self.config = config
        self.name, self.version = NAME, VERSION
        self.fingerprint = config_fingerprint(config)
        self.limits = SpanLimits(config.span_min_tokens, config.span_max_tokens, config.span_max_fraction)
        corpus = CorpusResult(documents=list(documents)) if documents is not None else load_corpus(
            list(config.corpus), text_field=config.text_field, max_documents=config.max_documents)
        if documents is not None:
            corpus.counts["documents_read"] = len(corpus.documents)
        self.quarantined = corpus.quarantined
        self.corpus_counts = Counter(corpus.counts)
        self.passages = extract_passages(corpus.documents, min_words=config.min_words, max_words=config.max_words,
                                         min_reasoning=config.min_reasoning, counts=self.corpus_counts)
        if not self.passages:
            raise ValueError(f"no passage of the corpus {list(config.corpus)} passes the filters "
                             f"({dict(self.corpus_counts)}); lower min_reasoning or min_words, or add documents")
        self.spans: list[list[Candidate]] = [
            top_candidates(candidates(p.text, min_tokens=config.span_min_tokens, max_tokens=config.span_max_tokens,
                                      max_fraction=config.span_max_fraction, max_units=config.span_max_units),
                           config.pool_per_passage)
            for p in self.passages
        ]
        self.frequencies = WordFrequencies(p.text for p in self.passages)
        self.siblings = SiblingPool(corpus.documents, min_tokens=config.span_min_tokens,
                                    max_tokens=config.span_max_tokens, max_units=config.span_max_units)
        self._backend = backend
        self.miner = self._build_miner(embeddings) if config.mode == "embedded" else None
        self._scans: dict[int, _Scan] = {}

    def _build_miner(self, embeddings: Any):
        from rlvr.synth.fim.mining import Embeddings, Miner, PoolSpan, shared_embeddings

        pool = [PoolSpan(p.text[c.start:c.end], p.passage_id, p.doc_id, p.page, c.kind, c.n_tokens, c.has_math)
                for p, cs in zip(self.passages, self.spans) for c in cs]
        cache = Embeddings(embeddings) if embeddings is not None else shared_embeddings(self.config.embedder)
        # Enough shortlisted spans for the mined options this option count needs (9 options need more).
        shortlist = max(self.config.shortlist, 3 * (self.config.options - 1 - self.config.perturbations))
        return Miner(pool, cache, cosine_min=self.config.cosine_min, cosine_max=self.config.cosine_max,
                     shortlist=shortlist, context_margin=self.config.context_margin)

    # ------------------------------------------------------------------------- public API
    def generate(self, seed: int, idx: int) -> Task:
        scan = self._walk_to(seed, idx)
        if idx >= len(scan.items):
            raise ValueError(
                f"the corpus yields only {len(scan.items)} FIM tasks for seed {seed} with this config "
                f"({len(self.passages)} passages; drops: {dict(scan.outcomes)}); add documents or relax the guards")
        return build_task(scan.items[idx], seed=seed, index=idx, generator=self.name, version=self.version,
                          fingerprint=self.fingerprint)

    def iter_tasks(self, seed: int, n: int) -> Iterator[Task]:
        """Up to n tasks for seed, stopping early (without error) when the corpus runs out."""
        for idx in range(n):
            if idx >= len(self._walk_to(seed, idx).items):
                return
            yield self.generate(seed, idx)

    def outcomes(self, seed: int, passages: list[int]) -> list[FimItem | str]:
        """The item or drop reason each listed passage (an index into `self.passages`) gets for
        `seed`: what the walk would get for it. Not memoised; for audits and benchmarks that look at
        chosen passages. Embedded mode only: LLM outcomes depend on the batch a prompt was in."""
        if self.config.mode != "embedded":
            raise ValueError("outcomes() is for embedded mode; in LLM mode use generate()/iter_tasks()")
        details: Counter = Counter()
        out: list[FimItem | str] = []
        for start in range(0, len(passages), EMBED_CHUNK):
            out += self._embedded_chunk(seed, passages[start:start + EMBED_CHUNK], details)
        return out

    def report(self, seed: int) -> dict[str, int]:
        """Counts for the corpus and the walk for `seed`; visited + not visited = passages kept."""
        scan = self._scans.get(seed) or _Scan(order=[])
        counts = dict(self.corpus_counts)
        counts["passages_visited"] = scan.pos
        counts["passages_not_visited"] = len(self.passages) - scan.pos
        counts.update(scan.outcomes)
        counts.update(scan.details)
        return dict(sorted(counts.items()))

    # ------------------------------------------------------------------------- the walk
    def _walk_to(self, seed: int, idx: int) -> _Scan:
        scan = self._scans.get(seed)
        if scan is None:
            order = list(range(len(self.passages)))
            random.Random(seed_int("fim-order", seed)).shuffle(order)
            scan = self._scans[seed] = _Scan(order=order)
        while len(scan.items) <= idx and scan.pos < len(scan.order):
            if self.config.mode == "embedded":
                # Chunks only set embedding batch sizes, which do not change decisions (embeddings
                # are rounded, see mining), so they grow with what is still needed.
                size = min(EMBED_CHUNK, max(4, 2 * (idx + 1 - len(scan.items))))
            else:  # LLM sampling seeds are per chunk: the chunk size must stay fixed
                size = self.config.llm_batch_size
            chunk = scan.order[scan.pos:scan.pos + size]
            if self.config.mode == "embedded":
                results = self._embedded_chunk(seed, chunk, scan.details)
            else:
                results = self._llm_chunk(seed, scan.pos // size, chunk, scan.details)
            for result in results:
                if isinstance(result, FimItem):
                    scan.items.append(result)
                    scan.outcomes["yielded_task"] += 1
                else:
                    scan.outcomes[f"dropped:{result}"] += 1
            scan.pos += len(chunk)
        return scan

    def _rng(self, seed: int, pi: int) -> random.Random:
        return random.Random(seed_int("fim", seed, self.passages[pi].passage_id))

    def _span_order(self, pi: int, rng: random.Random) -> list[Candidate]:
        cands = list(self.spans[pi])
        head = cands[: self.config.span_choices]
        rng.shuffle(head)
        return head + cands[self.config.span_choices:]

    # ------------------------------------------------------------------------- embedded mode
    def _mine_kwargs(self, pi: int, c: Candidate) -> dict[str, Any]:
        p = self.passages[pi]
        return {"kind": c.kind, "n_tokens": c.n_tokens, "page": p.page, "doc_id": p.doc_id, "has_math": c.has_math,
                "context": local_context(p.text, c.start, c.end)}

    def _embedded_chunk(self, seed: int, chunk: list[int], details: Counter) -> list[FimItem | str]:
        texts: list[str] = []
        for pi in chunk:  # batch-encode what the first span choice of every passage will need
            order = self._span_order(pi, self._rng(seed, pi))
            if order:
                c = order[0]
                kw = self._mine_kwargs(pi, c)
                texts += [self.passages[pi].text[c.start:c.end], kw["context"]]
                texts += [s.text for s in self._siblings(pi, c)]
        self.miner.cache.prefetch(texts)
        return [self._embedded_passage(seed, pi, details) for pi in chunk]

    def _embedded_passage(self, seed: int, pi: int, details: Counter) -> FimItem | str:
        rng = self._rng(seed, pi)
        order = self._span_order(pi, rng)
        if not order:
            return "no_maskable_span"
        reason = "no_maskable_span"
        for c in order:
            result = self._embedded_item(pi, c, rng, details)
            if isinstance(result, FimItem):
                return result
            details[f"candidate_rejected:{result}"] += 1
            reason = result
        return reason

    def _embedded_item(self, pi: int, c: Candidate, rng: random.Random, details: Counter) -> FimItem | str:
        """Options of one span: the answer and its perturbations, wrong spans of the same document
        (then page, then, short of those, mined from other pages) and their perturbations, laid
        out and chosen as `layout` describes."""
        cfg, p = self.config, self.passages[pi]
        reason = check_span(p.text, c.start, c.end, self.limits)
        if reason:
            return reason
        answer = p.text[c.start:c.end]
        masked = masked_text(p.text, c.start, c.end)
        code = c.kind == "code"
        perts = perturbations(answer, p.text[:c.start] + " " + p.text[c.end:], rng, code,
                              freq=self.frequencies)[:cfg.perturbations]
        # Groups no larger than the answer's own can be: if the answer could not have a twin while
        # others do, "pick an option without a twin" would find it.
        sizes = draw_layout(cfg.options, 1 + len(perts), rng)
        sizes, g = place_answer(sizes, len(perts), rng)
        answer_opts = [_perturbation_option(x, None) for x in perts[:sizes[g] - 1]]
        groups = sizes[:g] + sizes[g + 1:]
        if not cfg.twin_decoys:
            groups = [1] * sum(groups)
        originals = self._originals(pi, c, answer, masked, len(groups), rng, details)
        twins = [self._twin_options(o, rng, code) if cfg.twin_decoys else [] for o in originals]
        picks = group_fillings(groups, [len(t) for t in twins], rng)
        while not picks and any(z > 1 for z in groups):  # too few originals with twins: fewer pairs
            groups = sorted(groups, reverse=True)
            groups = groups[1:] + [1] * groups[0]
            picks = group_fillings(groups, [len(t) for t in twins], rng)
        fillings = []
        for pick in picks:
            opts = answer_opts + [originals[o] for o in pick]
            opts += [t for o, z in zip(pick, groups) for t in twins[o][:z - 1]]
            fillings.append(Filling(tuple(o.text for o in opts), tuple(opts)))
        chosen = choose(masked, answer, fillings, rng)
        if chosen is None:
            return "too_few_distractors" if not fillings else "length_giveaway"
        # The answer comes from the passage and so shares more of its words than any other span
        # usually does, whatever the choice; an item where it tops word overlap is kept only with
        # probability `overlap_keep` (by how much it tops it: a tie counts in part), so that "pick the
        # option most like the passage" is right about as often as chance.
        top = overlap_top_credit(masked, [answer, *chosen.texts])
        if top and rng.random() >= 1.0 - (1.0 - cfg.overlap_keep) * top:
            return "overlap_giveaway"
        distractors = list(chosen.payload)
        keep, bad = clean_distractors(answer, masked, [d.text for d in distractors])
        distractors = [distractors[i] for i in keep]
        for why, k in bad.items():
            details[f"distractor_rejected:{why}"] += k
        if len(distractors) < cfg.options - 1:
            return "too_few_distractors"
        reason = check_item(p.text, c.start, c.end, [d.text for d in distractors], cfg.options, self.limits)
        if reason:
            return reason
        return FimItem(p, c.start, c.end, distractors, "embedded",
                       {"kind": c.kind, "units": c.n_units, "tokens": c.n_tokens, "salience": c.salience,
                        "layout": sorted([sizes[g], *groups], reverse=True), "answer_group": sizes[g]})

    def _siblings(self, pi: int, c: Candidate) -> list[SiblingSpan]:
        p = self.passages[pi]
        answer = p.text[c.start:c.end]
        return self.siblings.for_answer(p, answer, c.kind, c.n_tokens, c.has_math,
                                        masked_text(p.text, c.start, c.end),
                                        max(self.config.shortlist + 4, 2 * (self.config.options - 1)))

    def _originals(self, pi: int, c: Candidate, answer: str, masked: str, n_groups: int, rng: random.Random,
                   details: Counter) -> list[Option]:
        """Wrong spans for the distractor groups: same-topic spans that pass the embedding checks,
        topped up with spans mined from other pages when fewer than n_groups + 2 are left."""
        kw = self._mine_kwargs(pi, c)
        sibs = self._siblings(pi, c)
        kept, rejected = self.miner.screen(answer, kw["context"], [s.text for s in sibs])
        for why, k in rejected.items():
            details[f"distractor_rejected:{why}"] += k
        out = [Option(sibs[i].text, {"kind": "mined", "scope": sibs[i].scope, "doc_id": sibs[i].doc_id,
                                     "doc_start": sibs[i].doc_start, "cosine": cos}) for i, cos in kept]
        if len(out) < n_groups + 2:
            mined, rejected = self.miner.mine(answer, n_groups + 2 - len(out), rng,
                                              exclude={answer, *(o.text for o in out)}, **kw)
            for why, k in rejected.items():
                details[f"distractor_rejected:{why}"] += k
            out += [Option(m.text, {**m.origin, "scope": "corpus"}) for m in mined]
        keep, bad = clean_distractors(answer, masked, [o.text for o in out])
        for why, k in bad.items():
            details[f"distractor_rejected:{why}"] += k
        return [out[i] for i in keep]

    def _twin_options(self, base: Option, rng: random.Random, code: bool) -> list[Option]:
        """Perturbations of a wrong option, pinned down by its own document's text around it."""
        doc = self.siblings.docs.get(base.origin.get("doc_id", ""))
        context = ""
        if doc is not None and "doc_start" in base.origin:
            s = base.origin["doc_start"]
            context = doc.text[max(s - 800, 0):s] + " " + doc.text[s + len(base.text):s + len(base.text) + 800]
        return [_perturbation_option(x, base) for x in perturbations(base.text, context, rng, code,
                                                                     freq=self.frequencies)]

    # ------------------------------------------------------------------------- LLM mode
    def backend(self) -> Any:
        if self._backend is None:
            from rlvr.models.backends import make_backend

            self._backend = make_backend(self.config.backend, device=self.config.device)
        return self._backend

    def _llm_chunk(self, seed: int, chunk_no: int, chunk: list[int], details: Counter) -> list[FimItem | str]:
        cfg = self.config
        results: list[FimItem | str] = ["llm_no_reply"] * len(chunk)
        pending = list(range(len(chunk)))
        prompts = [build_prompt(self.passages[pi].text, cfg.options - 1, cfg.span_max_units) for pi in chunk]
        for attempt in range(cfg.llm_retries + 1):
            replies = self.backend().generate([prompts[i] for i in pending], n=1, max_new_tokens=cfg.llm_max_new_tokens,
                                              temperature=cfg.llm_temperature,
                                              seed=seed_int("fim-llm", seed, chunk_no, attempt, bits=31))
            still = []
            for i, reply in zip(pending, replies):
                result = self._llm_item(chunk[i], str(reply[0]) if reply else "", seed, details)
                results[i] = result
                if not isinstance(result, FimItem):
                    details[f"llm_failure:{result}"] += 1
                    still.append(i)
            pending = still
            if not pending:
                break
        return results

    def _llm_item(self, pi: int, reply: str, seed: int, details: Counter) -> FimItem | str:
        cfg, p = self.config, self.passages[pi]
        proposal = parse_proposal(reply, p.text)
        if isinstance(proposal, str):
            return proposal
        start, end = proposal.start, proposal.end
        reason = check_span(p.text, start, end, self.limits)
        if reason:
            return reason
        answer, masked, need = p.text[start:end], masked_text(p.text, start, end), cfg.options - 1
        keep, bad = clean_distractors(answer, masked, proposal.distractors)
        for why, k in bad.items():
            details[f"distractor_rejected:{why}"] += k
        distractors = [Option(proposal.distractors[i], {"kind": "llm"}) for i in keep][:need]
        if len(distractors) < need:  # top up with perturbations of the answer
            rng = self._rng(seed, pi)
            extra = perturbations(answer, p.text[:start] + " " + p.text[end:], rng, _in_code(p.text, start),
                                  freq=self.frequencies)
            cand = distractors + [_perturbation_option(x, None) for x in extra]
            keep, _ = clean_distractors(answer, masked, [d.text for d in cand])
            distractors = [cand[i] for i in keep][:need]
        if len(distractors) < need:
            return "too_few_distractors"
        reason = check_options(answer, [d.text for d in distractors]) or check_item(
            p.text, start, end, [d.text for d in distractors], cfg.options, self.limits)
        if reason:
            return reason
        return FimItem(p, start, end, distractors, "llm",
                       {"kind": "code" if _in_code(p.text, start) else "prose", "tokens": len(tokens(answer)),
                        "masked_text_consistent": proposal.masked_consistent})


def _in_code(text: str, pos: int) -> bool:
    return any(b.kind == "code" and b.start <= pos < b.end for b in blocks(text))


def _perturbation_option(x: Perturbation, base: Option | None) -> Option:
    origin: dict[str, Any] = {"kind": f"perturb:{x.kind}", "detail": x.detail}
    if base is None:
        origin["of"] = "answer"
    return Option(x.text, origin, base)


register_generator(
    GeneratorSpec(
        name=NAME,
        config_cls=FimConfig,
        make=FimGenerator,
        verifiers=(VERIFIER,),
        description="Golden Goose fill-in-the-middle multiple choice from raw text (embedded or LLM mode)",
        # One example: building a generator embeds spans, and tests/synth_fim covers 9 options.
        examples=(FimConfig(),),
    )
)
