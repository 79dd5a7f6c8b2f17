"""Exact lookups of many uint64 keys at once: the benchmark-side indexes of decontamination.

`Postings` maps each distinct key (an n-gram hash, a vocabulary column) to the benchmark items
that hold it, CSR-style. Queries arrive as arrays of a whole batch's n-grams, most of which
match nothing, so a bitmap rejects most of them with one gather and an open-addressing hash
table answers the rest with a couple of gathers each, instead of a binary search per query.
"""

from __future__ import annotations

import numpy as np

from rlvr.curate.text import fmix64


def expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges [starts[i], starts[i] + counts[i])."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return shift + np.arange(total)


class HashTable:
    """Open-addressing hash table (linear probing) from uint64 keys to positions, probed for a
    whole array of queries at once: a couple of array gathers per query instead of a binary
    search's dozen random reads."""

    def __init__(self, keys: np.ndarray):
        bits = max(4, int(np.ceil(np.log2(2 * len(keys) + 1))))  # load factor <= 0.5
        self.shift, self.mask = np.uint64(64 - bits), (1 << bits) - 1
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.values = np.full(1 << bits, -1, dtype=np.int64)
        pending = np.arange(len(keys))
        slot = self._slot(keys)
        while len(pending):
            s = slot[pending]
            free = self.values[s] < 0
            # Among queries claiming the same free slot, the first one takes it; the rest probe on.
            _, first = np.unique(s[free], return_index=True)
            won = np.flatnonzero(free)[first]
            self.keys[s[won]] = keys[pending[won]]
            self.values[s[won]] = pending[won]
            lost = np.ones(len(pending), dtype=bool)
            lost[won] = False
            pending = pending[lost]
            slot[pending] = (slot[pending] + 1) & self.mask

    def _slot(self, values: np.ndarray) -> np.ndarray:
        # Mixed first: keys may be small integers (column numbers), whose top bits are all zero.
        return (fmix64(values) >> self.shift).astype(np.int64)

    def get(self, values: np.ndarray) -> np.ndarray:
        """Position of each value among the keys, or -1."""
        out = np.full(len(values), -1, dtype=np.int64)
        pending = np.arange(len(values))
        slot = self._slot(values)
        while len(pending):
            s = slot[pending]
            found = self.values[s]
            hit = (found >= 0) & (self.keys[s] == values[pending])
            out[pending[hit]] = found[hit]
            pending = pending[(found >= 0) & ~hit]  # an empty slot ends the probe: not a key
            slot[pending] = (slot[pending] + 1) & self.mask
        return out


class Postings:
    """Distinct keys with, for each, the benchmark items holding it (a CSR inverted index).

    Keys are hashes (low bits already uniform) or small integers (vocabulary columns: then the
    bitmap is exact on its own)."""

    def __init__(self, keys: np.ndarray, items: np.ndarray):
        keys = np.asarray(keys).astype(np.uint64)
        order = np.lexsort((items, keys))
        keys, items = keys[order], items[order]
        self.keys, first = np.unique(keys, return_index=True)
        self.offsets = np.append(first, len(keys)).astype(np.int64)
        self.items = items
        self.table = HashTable(self.keys)
        # Most task n-grams are in no benchmark item: a bitmap of mixed key bits rejects them with
        # one gather each before the hash table is probed.
        self.bitmap = np.zeros(1 << 22, dtype=bool)
        self.bitmap[self._bit(self.keys)] = True

    @staticmethod
    def _bit(values: np.ndarray) -> np.ndarray:
        return (values & np.uint64((1 << 22) - 1)).astype(np.int64)

    def find(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(indices of the values that are keys, their positions in self.keys)."""
        values = np.asarray(values).astype(np.uint64)
        maybe = np.flatnonzero(self.bitmap[self._bit(values)])
        pos = self.table.get(values[maybe])
        hit = pos >= 0
        return maybe[hit], pos[hit]

    def lookup(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (value index, item) for every posting of every value that is a key."""
        idx, pos = self.find(values)
        counts = self.offsets[pos + 1] - self.offsets[pos]
        return np.repeat(idx, counts), self.items[expand(self.offsets[pos], counts)]
