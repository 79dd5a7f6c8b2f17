"""SwS concept-set sampling: sets of concepts that go together, drawn from the weak tasks of a domain.

As in the SwS code (FastConceptSampler), for one domain:
- the seed concept is drawn with probability proportional to its frequency (how many weak tasks
  named it);
- each next concept c is drawn with probability proportional to
  exp((cooc(c | chosen) + cos(mean embedding of the chosen concepts, embedding of c)) / T),
  where cooc(c | chosen) sums the number of weak tasks that named c together with each chosen
  concept, and T is the temperature (SwS: 0.2; lower = stick to concepts seen together);
- concepts already chosen are masked out; a set has `size` concepts (fewer if the domain has
  fewer);
- a set equal to one drawn before (as a set) is dropped and counted, and drawing stops after
  `max_attempts` draws, so a small domain yields fewer sets than asked instead of looping.

Embeddings are unit vectors from the bundled MiniLM embedder unless another `embed` function is
given; the weights are computed in log space, so large co-occurrence counts cannot overflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


def minilm_embed(name: str = "all-minilm-l6-v2") -> Embed:
    """An embed function over the bundled (or named) sentence embedder, unit-normalised."""
    from rlvr.models import load_embedder

    model = load_embedder(name)

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, normalize_embeddings=True, show_progress_bar=False), dtype=np.float64)

    return embed


@dataclass
class SampledSets:
    sets: list[tuple[str, ...]]
    duplicates: int  # draws that repeated an earlier set
    attempts: int


class ConceptSampler:
    """Frequency, co-occurrence and embedding tables of one domain's concept lists."""

    def __init__(self, concept_lists: Sequence[Sequence[str]], embed: Embed, temperature: float = 0.2):
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.concepts = sorted({c for lst in concept_lists for c in lst})
        if not self.concepts:
            raise ValueError("no concepts to sample from")
        index = {c: i for i, c in enumerate(self.concepts)}
        n = len(self.concepts)
        self.freq = np.zeros(n)
        self.cooc = np.zeros((n, n))
        for lst in concept_lists:
            ids = sorted({index[c] for c in lst})
            self.freq[ids] += 1
            for i in ids:
                for j in ids:
                    if i != j:
                        self.cooc[i, j] += 1
        vectors = np.asarray(embed(self.concepts), dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.emb = vectors / np.where(norms > 0, norms, 1.0)
        self.temperature = temperature

    def weights(self, chosen: Sequence[int]) -> np.ndarray:
        """Next-concept probabilities given the chosen indices (chosen ones masked to 0)."""
        mean = self.emb[list(chosen)].mean(axis=0)
        norm = np.linalg.norm(mean)
        cos = self.emb @ (mean / norm) if norm > 0 else np.zeros(len(self.concepts))
        logits = (self.cooc[list(chosen)].sum(axis=0) + cos) / self.temperature
        logits[list(chosen)] = -np.inf
        logits -= logits.max()
        p = np.exp(logits)
        return p / p.sum()

    def sample(self, size: int, rng: np.random.Generator) -> tuple[str, ...]:
        size = min(size, len(self.concepts))
        chosen = [int(rng.choice(len(self.concepts), p=self.freq / self.freq.sum()))]
        while len(chosen) < size:
            chosen.append(int(rng.choice(len(self.concepts), p=self.weights(chosen))))
        return tuple(self.concepts[i] for i in chosen)

    def sample_sets(self, n: int, size: int, rng: np.random.Generator, max_attempts: int | None = None
                    ) -> SampledSets:
        """Up to n distinct sets (order within a set kept: the seed concept comes first)."""
        max_attempts = max_attempts if max_attempts is not None else 20 * n
        seen: set[frozenset[str]] = set()
        sets: list[tuple[str, ...]] = []
        duplicates = attempts = 0
        while len(sets) < n and attempts < max_attempts:
            attempts += 1
            drawn = self.sample(size, rng)
            key = frozenset(drawn)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            sets.append(drawn)
        return SampledSets(sets, duplicates, attempts)
