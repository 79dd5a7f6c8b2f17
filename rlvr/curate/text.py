"""What "the same text" means for every curate step: normalisation, tokens, numbers, shingles.

Every step must agree on it, so it lives in one place. The rules, and why:

- NFKC, lower case, thousands separators removed ("1,000" -> "1000"; also "40, 000"), a space
  typed inside a decimal number closed ("0. 2" -> "0.2", "$4. 00" -> "4.00"), number words up to
  ninety mapped to digits ("three" -> "3"), so whitespace, punctuation, case and spelling of
  small numbers never make two copies of a problem look different.
- Numbers are kept as they are. datatrove's default normalisation turns every digit into 0,
  which merges "Calculate 12 + 7" with "Calculate 98 + 3": for verifiable tasks a changed
  number is a different problem with a different answer.
- Operators and brackets (+ - * / = < > ^ % ( ) [ ] { } and friends) are tokens, so
  "2 + 3" and "2 * 3" stay different; other punctuation is dropped. A few Unicode symbols
  fold to their ASCII meaning first ("×" is "*", "÷" is "/", typographic quotes and dashes).

Everything is vectorised over a batch of texts: ASCII texts (nearly all prompts) are split
into tokens by classifying their bytes with numpy, tokens are hashed with a polynomial over
their bytes in array arithmetic, and n-gram hashes are built from token hashes by shifted
adds. Texts with other characters take the `tokens` regex, which yields the same tokens and
hashes on ASCII input (tested). A batch's shingles are one flat uint64 array plus offsets.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen twenty").split()
_TENS = {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
         "ninety": "90"}
NUMBER_WORDS: dict[str, str] = {**{w: str(i) for i, w in enumerate(_UNITS)}, **_TENS}

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# A separator followed by one stray space inside a number ("40, 000", "0. 2", "$4. 00"): edits and OCR
# make these, and a copy of a benchmark item must not escape because of them.
_SPACED_NUMBER = re.compile(r"(?<=\d)(?:, (?=\d{3}(?!\d))|\. (?=\d))")
# A number (digits, with decimal parts), a run of letters, or one operator/bracket symbol.
_OPS_ASCII = "+-*/=<>^%()[]{}|"
_TOKEN = re.compile(r"\d+(?:\.\d+)*|[^\W\d_]+|[+\-*/=<>^%()\[\]{}|×÷±≤≥≠√∫∑π]")
_NUMBER = re.compile(r"\d+(?:\.\d+)*")
# Symbols folded to ASCII before tokenising: same meaning, and the fast ASCII path can take the text.
_FOLD = str.maketrans({"×": "*", "÷": "/", "−": "-", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
                       "°": " ", "\u00a0": " ", "…": "..."})

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_BYTE_BASE = np.uint64(0x100000001B3)  # FNV prime: multiplier of the per-token byte polynomial
_GRAM_BASE = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio constant: multiplier of the n-gram polynomial


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit over the output."""
    h = h ^ (h >> np.uint64(33))
    h = h * _M1
    h = h ^ (h >> np.uint64(33))
    h = h * _M2
    return h ^ (h >> np.uint64(33))


def join_spaced_numbers(text: str) -> str:
    """'40, 000' -> '40,000' and '0. 2' -> '0.2' (then the usual number rules apply)."""
    return _SPACED_NUMBER.sub(lambda m: m.group(0)[0], text) if (", " in text or ". " in text) else text


def tokens(text: str) -> list[str]:
    """The normalised tokens of one text (see the module docstring for the rules)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    text = _THOUSANDS.sub("", join_spaced_numbers(text).lower())
    return [NUMBER_WORDS.get(t, t) for t in _TOKEN.findall(text)]


def normalize(text: str) -> str:
    """Normalised text: the tokens joined by single spaces."""
    return " ".join(tokens(text))


def numbers(text: str) -> list[str]:
    """The numbers in a text after normalisation, in order (number words count as numbers)."""
    return [t for t in tokens(text) if _NUMBER.fullmatch(t)]


# ----------------------------------------------------------------------------- hashing


def _pow_table(base: np.uint64, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64 (integer array products wrap, which is the modulo)."""
    out = np.full(max(n, 1), base, dtype=np.uint64)
    out[0] = 1
    return np.multiply.accumulate(out)


def hash_strings(values: pa.Array | Sequence[str]) -> np.ndarray:
    """A 64-bit hash of each string, computed over the UTF-8 bytes of all strings at once."""
    arr = pa.array(values, type=pa.large_string()) if not isinstance(values, pa.Array) else values
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    if arr.null_count:
        raise ValueError("hash_strings: null strings cannot be hashed")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data = arr.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    raw = raw[offsets[0]:offsets[-1]].astype(np.uint64) + np.uint64(1)
    starts = offsets[:-1] - offsets[0]
    lengths = np.diff(offsets)
    seg = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(raw), dtype=np.int64) - starts[seg]
    with np.errstate(over="ignore"):
        terms = raw * _pow_table(_BYTE_BASE, int(lengths.max()) if n else 1)[pos]
        sums = np.zeros(n, dtype=np.uint64)
        nonempty = lengths > 0
        if nonempty.any():
            sums[nonempty] = np.add.reduceat(terms, starts[nonempty])
        return fmix64(sums ^ (lengths.astype(np.uint64) * _GRAM_BASE))


@dataclass
class TokenBatch:
    """The tokens of a batch of texts: token hashes and number flags, flat, with offsets."""

    hashes: np.ndarray  # uint64, one per token
    is_number: np.ndarray  # bool, one per token
    offsets: np.ndarray  # int64, len(texts) + 1
    is_content: np.ndarray | None = None  # bool per token: a number or a word of 3+ letters

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1


def tokenize_batch(texts: Sequence[str]) -> TokenBatch:
    """Tokenise and hash a batch of texts.

    ASCII texts (nearly all task prompts) go through a numpy tokeniser that classifies every
    byte, finds token boundaries and hashes tokens with array arithmetic; the rest go through
    the regex in `tokens`. Both give the same tokens and hashes for ASCII input (tested), so a
    text hashes the same whichever path it takes.
    """
    texts = [t if t.isascii() else _fold_ascii(t) for t in texts]
    ascii_docs = [i for i, t in enumerate(texts) if t.isascii()]
    other_docs = [i for i, t in enumerate(texts) if not t.isascii()]
    if not other_docs:
        return _ascii_batch(texts)
    if not ascii_docs:
        return _regex_batch(texts)
    parts = [_ascii_batch([texts[i] for i in ascii_docs]), _regex_batch([texts[i] for i in other_docs])]
    return _interleave(parts, [np.asarray(ascii_docs), np.asarray(other_docs)], len(texts))


def _fold_ascii(text: str) -> str:
    """The folded text when folding makes it ASCII (and NFKC cannot change it), else the text."""
    folded = text.translate(_FOLD)
    return folded if folded.isascii() else text


def _regex_batch(texts: Sequence[str]) -> TokenBatch:
    per_text = [tokens(t) for t in texts]
    offsets = np.zeros(len(per_text) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in per_text], out=offsets[1:])
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in itertools.chain.from_iterable(per_text)),
                      dtype=np.int64, count=int(offsets[-1]))
    words = list(vocab)
    vocab_hash = hash_strings(words) if words else np.zeros(0, dtype=np.uint64)
    vocab_num = np.fromiter((bool(_NUMBER.fullmatch(t)) for t in words), dtype=bool, count=len(words))
    vocab_content = vocab_num | np.fromiter((len(t) >= 3 and t.isalpha() for t in words), dtype=bool,
                                            count=len(words))
    return TokenBatch(vocab_hash[ids], vocab_num[ids], offsets, vocab_content[ids])


def _interleave(parts: list[TokenBatch], docs: list[np.ndarray], n_docs: int) -> TokenBatch:
    """Merge token batches of disjoint document subsets back into document order."""
    lengths = np.zeros(n_docs, dtype=np.int64)
    starts = np.zeros(n_docs, dtype=np.int64)
    base = 0
    for part, idx in zip(parts, docs):
        lengths[idx] = part.lengths
        starts[idx] = part.offsets[:-1] + base
        base += int(part.offsets[-1])
    take = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(int(lengths.sum()))
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    cat = [np.concatenate([getattr(p, name) for p in parts])[take] for name in ("hashes", "is_number", "is_content")]
    return TokenBatch(cat[0], cat[1], offsets, cat[2])


# Byte classes of the ASCII tokeniser.
_SPACE, _LETTER, _DIGIT, _OP, _DOT, _COMMA = range(6)
_CLASS = np.zeros(256, dtype=np.int8)
_CLASS[np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = _LETTER
_CLASS[np.frombuffer(b"0123456789", np.uint8)] = _DIGIT
_CLASS[np.frombuffer(_OPS_ASCII.encode(), np.uint8)] = _OP
_CLASS[ord(".")], _CLASS[ord(",")] = _DOT, _COMMA
_LOWER = np.arange(256, dtype=np.uint64)
_LOWER[65:91] += 32
_NUMBER_WORD_HASH = hash_strings(list(NUMBER_WORDS))
_NUMBER_WORD_ORDER = np.argsort(_NUMBER_WORD_HASH)
_NUMBER_WORD_SORTED = _NUMBER_WORD_HASH[_NUMBER_WORD_ORDER]
_NUMBER_VALUE_HASH = hash_strings(list(NUMBER_WORDS.values()))[_NUMBER_WORD_ORDER]


def _neighbour_is(cls: np.ndarray, ends: np.ndarray, at: np.ndarray, k: int, want: int) -> np.ndarray:
    """For positions `at`: is the byte k places away, in the same document, of class `want`?"""
    doc = np.searchsorted(ends, at, side="right")
    lo = np.where(doc > 0, ends[np.maximum(doc - 1, 0)], 0)
    j = at + k
    inside = (j >= lo) & (j < ends[doc])
    return inside & (cls[np.clip(j, 0, len(cls) - 1)] == want)


def _ascii_batch(texts: Sequence[str]) -> TokenBatch:
    """The vectorised tokeniser: the same rules as the regex, on ASCII bytes.

    No per-byte document array is built: document membership is looked up (by binary search on
    document end offsets) only where it matters, at commas, dots and token starts.
    """
    texts = [join_spaced_numbers(t) for t in texts]
    n_docs = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n_docs)
    buf = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8)
    ends = np.cumsum(lengths)
    cls = _CLASS[buf]
    # Thousands separators ("1,000") disappear; decimal points between digits join the number.
    commas = np.flatnonzero(cls == _COMMA)
    if len(commas):
        near = [_neighbour_is(cls, ends, commas, k, _DIGIT) for k in (-1, 1, 2, 3, 4)]
        drop = commas[near[0] & near[1] & near[2] & near[3] & ~near[4]]
        if len(drop):
            keep = np.ones(len(buf), dtype=bool)
            keep[drop] = False
            lengths = lengths - np.bincount(np.searchsorted(ends, drop, side="right"), minlength=n_docs)
            ends = np.cumsum(lengths)
            buf, cls = buf[keep], cls[keep]
    dots = np.flatnonzero(cls == _DOT)
    if len(dots):
        joins = _neighbour_is(cls, ends, dots, -1, _DIGIT) & _neighbour_is(cls, ends, dots, 1, _DIGIT)
        cls[dots[joins]] = _DIGIT
    cls[(cls == _DOT) | (cls == _COMMA)] = _SPACE
    new_doc = np.zeros(len(cls), dtype=bool)
    new_doc[(ends - lengths)[lengths > 0]] = True
    start = cls != _SPACE
    start[1:] &= (cls[1:] != cls[:-1]) | (cls[1:] == _OP) | new_doc[1:]
    in_tok = cls != _SPACE
    tok_pos = np.flatnonzero(start)
    n_tok = len(tok_pos)
    tok_doc = np.searchsorted(ends, tok_pos, side="right")
    tok_cls = cls[tok_pos]
    tok_of = np.cumsum(start)[in_tok] - 1
    tok_len = np.bincount(tok_of, minlength=n_tok).astype(np.int64)
    first = np.zeros(n_tok, dtype=np.int64)
    np.cumsum(tok_len[:-1], out=first[1:])
    raw = _LOWER[buf[in_tok]] + np.uint64(1)
    pos = np.arange(len(raw), dtype=np.int64) - first[tok_of]
    with np.errstate(over="ignore"):
        terms = raw * _pow_table(_BYTE_BASE, int(tok_len.max()) if n_tok else 1)[pos]
        sums = np.add.reduceat(terms, first) if n_tok else np.zeros(0, dtype=np.uint64)
        hashes = fmix64(sums ^ (tok_len.astype(np.uint64) * _GRAM_BASE))
    # Number words ("three") become their digits, and count as numbers.
    at = np.minimum(np.searchsorted(_NUMBER_WORD_SORTED, hashes), len(_NUMBER_WORD_SORTED) - 1)
    word = (tok_cls == _LETTER) & (_NUMBER_WORD_SORTED[at] == hashes)
    hashes = np.where(word, _NUMBER_VALUE_HASH[at], hashes)
    is_number = (tok_cls == _DIGIT) | word
    is_content = is_number | ((tok_cls == _LETTER) & (tok_len >= 3))
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(tok_doc, minlength=n_docs), out=offsets[1:])
    return TokenBatch(hashes, is_number, offsets, is_content)


def byte_batch(texts: Sequence[str]) -> TokenBatch:
    """Character shingling input: the bytes of each normalised text, one "token" per byte."""
    norm = pa.array([normalize(t) for t in texts], type=pa.large_string())
    offsets = np.frombuffer(norm.buffers()[1], dtype=np.int64)[: len(norm) + 1].copy()
    data = norm.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[: offsets[-1]] if data is not None else np.zeros(0, np.uint8)
    hashes = fmix64(raw.astype(np.uint64) + np.uint64(1))
    return TokenBatch(hashes, np.zeros(len(hashes), bool), offsets - offsets[0], np.zeros(len(hashes), bool))


# ----------------------------------------------------------------------------- shingles


@dataclass
class Ragged:
    """Per-document arrays stored flat: values[offsets[i]:offsets[i+1]] belongs to document i."""

    values: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]:self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def doc_ids(self) -> np.ndarray:
        return np.repeat(np.arange(len(self)), self.lengths)


def unique_per_doc(doc: np.ndarray, values: np.ndarray, n_docs: int) -> Ragged:
    """Distinct values per document, grouped by document (in first-occurrence order within one).

    `doc` must be non-decreasing. A (doc, value) pair is identified by one mixed 64-bit key, so
    a single-key sort finds the duplicates (two pairs colliding is a 2**-64 event).
    """
    if not len(values):
        return Ragged(values[:0], np.zeros(n_docs + 1, dtype=np.int64))
    with np.errstate(over="ignore"):
        keys = fmix64(values ^ (doc.astype(np.uint64) * _GRAM_BASE))
    _, first = np.unique(keys, return_index=True)
    first.sort()
    doc, values = doc[first], values[first]
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc, minlength=n_docs), out=offsets[1:])
    return Ragged(values, offsets)


def ngram_hashes(batch: TokenBatch, n: int, whole_if_shorter: bool = True, distinct: bool = True) -> Ragged:
    """The distinct n-gram hashes of each document (contiguous runs of n tokens).

    A document shorter than n tokens gets one shingle for its whole token sequence when
    `whole_if_shorter` (so short texts can still match), and none otherwise. The hash of a
    k-token sequence does not depend on where it sits, so a short document's shingle equals the
    k-gram of the same tokens inside a longer one (`ngram_hashes(longer, k)`). With
    `distinct=False` repeats within a document are kept (cheaper, for callers that dedupe later).
    """
    if n < 1:
        raise ValueError(f"n-gram size must be at least 1, got {n}")
    t, offsets, lengths = batch.hashes, batch.offsets, batch.lengths
    n_docs = len(lengths)
    docs: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    m = len(t)
    if m >= n:
        pw = _pow_table(_GRAM_BASE, n)
        with np.errstate(over="ignore"):
            g = np.zeros(m - n + 1, dtype=np.uint64)
            for j in range(n):
                g += t[j:m - n + 1 + j] * pw[n - 1 - j]
            g = fmix64(g ^ np.uint64(n))
        doc_of = np.repeat(np.arange(n_docs), lengths)
        start_doc = doc_of[: m - n + 1]
        valid = start_doc == doc_of[n - 1:]
        docs.append(start_doc[valid])
        vals.append(g[valid])
    if whole_if_shorter:
        short = np.flatnonzero((lengths > 0) & (lengths < n))
        if len(short):
            docs.append(short)
            vals.append(_whole_sequence_hashes(t, offsets, short))
    if not docs:
        return Ragged(np.zeros(0, np.uint64), np.zeros(n_docs + 1, np.int64))
    doc, val = np.concatenate(docs), np.concatenate(vals)
    if len(docs) > 1:  # whole-sequence shingles of short documents go back to their place
        order = np.argsort(doc, kind="stable")
        doc, val = doc[order], val[order]
    if distinct:
        return unique_per_doc(doc, val, n_docs)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc, minlength=n_docs), out=offsets[1:])
    return Ragged(val, offsets)


def _whole_sequence_hashes(t: np.ndarray, offsets: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The n-gram hash (n = length) of each listed document's full token sequence."""
    lengths = offsets[docs + 1] - offsets[docs]
    seg = np.repeat(np.arange(len(docs)), lengths)
    starts = np.zeros(len(docs), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    idx = np.concatenate([np.arange(offsets[d], offsets[d + 1]) for d in docs])
    pos = np.arange(len(idx)) - starts[seg]
    exponent = lengths[seg] - 1 - pos
    pw = _pow_table(_GRAM_BASE, int(lengths.max()))
    with np.errstate(over="ignore"):
        sums = np.add.reduceat(t[idx] * pw[exponent], starts)
        return fmix64(sums ^ lengths.astype(np.uint64))


def number_signature(batch: TokenBatch) -> np.ndarray:
    """An order-free hash of each document's multiset of numbers (0 when it has none).

    Two texts with different numbers get different signatures with overwhelming probability;
    dedupe steps use it so that a number-changed variant is never called a duplicate.
    """
    n_docs = len(batch)
    out = np.zeros(n_docs, dtype=np.uint64)
    if not batch.is_number.any():
        return out
    doc_of = np.repeat(np.arange(n_docs), batch.lengths)
    sel = batch.is_number
    with np.errstate(over="ignore"):
        np.add.at(out, doc_of[sel], fmix64(batch.hashes[sel] ^ _GRAM_BASE))
    return out
