"""Lexical retrieval: BM25 with a title field, held as a sparse matrix that grows by deltas.

One analyzer (lower-case words, English stop words, Snowball stems: bm25s's tokenizer) reads chunks and queries,
so their vocabularies agree. A chunk's title tokens count `title_weight` times in its term frequencies and its
length (BM25F's field weighting, Robertson et al. 2004): a word of the title says more about the passage than a
word of one of its sentences. Term counts are kept per chunk, so a delta tokenizes only its new chunks and the
scores are recomputed from counts with array arithmetic, never by re-reading texts.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import bm25s
import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]  # no stubs installed

from rag.retrieval.ranking import top_k_of

if TYPE_CHECKING:
    import Stemmer  # no type hints: `Any` to mypy

K1 = 0.9  # Anserini's defaults, which suit short passages better than Lucene's 1.2 / 0.75
B = 0.4
COMMON_TERM_SHARE = 0.05  # a query term in more than this share of the entries is scored only for candidates


@lru_cache(maxsize=1)
def _stemmer() -> "Stemmer.Stemmer":
    import Stemmer

    return Stemmer.Stemmer("english")


def analyze(texts: Sequence[str]) -> list[list[str]]:
    """The terms of each text, as indexed and as searched."""
    if not texts:
        return []
    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


class Vocabulary:
    """Term -> column, append-only and shared by every version of an index: an older matrix simply has fewer
    columns, and terms it never saw are ignored when it is searched."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self, terms: Sequence[str]) -> list[int]:
        with self._lock:
            return [self._ids.setdefault(term, len(self._ids)) for term in terms]

    def known(self, terms: Sequence[str], *, below: int) -> list[int]:
        found = (self._ids.get(term) for term in terms)
        return [term_id for term_id in found if term_id is not None and term_id < below]


@dataclass(frozen=True)
class TermCounts:
    """Weighted term frequencies of a run of chunks (one row each) and their weighted lengths."""

    counts: sp.csr_matrix
    lengths: np.ndarray

    @staticmethod
    def empty() -> "TermCounts":
        return TermCounts(sp.csr_matrix((0, 0), dtype=np.float32), np.empty(0, dtype=np.float32))

    def __len__(self) -> int:
        return self.counts.shape[0]

    def append(self, other: "TermCounts") -> "TermCounts":
        columns = max(self.counts.shape[1], other.counts.shape[1])
        top, bottom = _widen(self.counts, columns), _widen(other.counts, columns)
        return TermCounts(sp.vstack([top, bottom], format="csr"), np.concatenate([self.lengths, other.lengths]))

    def take(self, rows: np.ndarray) -> "TermCounts":
        return TermCounts(self.counts[rows], self.lengths[rows])


def _widen(matrix: sp.csr_matrix, columns: int) -> sp.csr_matrix:
    if matrix.shape[1] == columns:
        return matrix
    return sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], columns))


def term_counts(
    vocabulary: Vocabulary, *, titles: Sequence[str], texts: Sequence[str], title_weight: float
) -> TermCounts:
    """Counts for chunks given as (document title, chunk text) pairs."""
    unique_titles = list(dict.fromkeys(titles))
    title_terms = dict(zip(unique_titles, analyze(unique_titles), strict=True))
    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    values: list[np.ndarray] = []
    lengths = np.empty(len(texts), dtype=np.float32)
    for row, (title, terms) in enumerate(zip(titles, analyze(texts), strict=True)):
        in_title = title_terms[title]
        ids = np.array(vocabulary.ids(terms + in_title), dtype=np.int64)
        weight = np.concatenate([np.ones(len(terms)), np.full(len(in_title), title_weight)]).astype(np.float32)
        rows.append(np.full(len(ids), row, dtype=np.int64))
        columns.append(ids)
        values.append(weight)
        lengths[row] = len(terms) + title_weight * len(in_title)
    shape = (len(texts), len(vocabulary))
    if not texts:
        return TermCounts(sp.csr_matrix(shape, dtype=np.float32), lengths)
    counts = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=shape)
    counts.sum_duplicates()
    return TermCounts(counts, lengths)


@dataclass(frozen=True)
class Bm25Index:
    """Per-chunk, per-term BM25 contributions (chunks x terms, column-major for query terms)."""

    weights: sp.csc_matrix
    vocabulary: Vocabulary
    term_max: np.ndarray  # each term's largest contribution to any entry: what it can add at most (MaxScore)

    @property
    def size(self) -> int:
        return self.weights.shape[0]


def bm25_build(counts: TermCounts, vocabulary: Vocabulary, *, alive: np.ndarray | None = None) -> Bm25Index:
    """BM25 (Lucene's idf) over the rows of `counts`; rows not `alive` (removed chunks) score nothing and are
    left out of the collection statistics."""
    matrix = counts.counts
    if alive is not None and not alive.all():
        matrix = sp.diags(alive.astype(np.float32)) @ matrix
        matrix.eliminate_zeros()
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    live_lengths = counts.lengths if alive is None else counts.lengths[alive]
    documents = len(live_lengths)
    average = float(live_lengths.mean()) if documents else 1.0
    frequency = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float32)
    idf = np.log1p((documents - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    tf = matrix.data
    norm = K1 * (1 - B + B * counts.lengths[rows] / max(average, 1e-6))
    data = idf[matrix.indices] * tf * (K1 + 1) / (tf + norm)
    weights = sp.csr_matrix((data.astype(np.float32), matrix.indices, matrix.indptr), shape=matrix.shape).tocsc()
    term_max = np.zeros(weights.shape[1], dtype=np.float32)
    used = np.flatnonzero(np.diff(weights.indptr))
    if len(used):  # a column's values run up to the next used column's first: empty columns hold none
        term_max[used] = np.maximum.reduceat(weights.data, weights.indptr[used])
    return Bm25Index(weights, vocabulary, term_max)


def bm25_scores(index: Bm25Index, query: str) -> np.ndarray | None:
    """Every chunk's score for `query`, or None when no query term is in the index."""
    terms = analyze([query])[0]
    ids = index.vocabulary.known(terms, below=index.weights.shape[1])
    if not ids:
        return None
    weights = index.weights
    scores = np.zeros(weights.shape[0], dtype=np.float32)
    for term in ids:
        _add_postings(weights, term, scores)
    return scores


def bm25_search(index: Bm25Index, query: str, *, mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and scores of the best `k` allowed entries with a positive score, best first."""
    terms = analyze([query])[0]
    ids = index.vocabulary.known(terms, below=index.weights.shape[1])
    if not ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    found = _search_rare_terms_first(index, ids, mask=mask, k=k)
    if found is not None:
        return found
    scores = np.zeros(index.weights.shape[0], dtype=np.float32)
    for term in ids:
        _add_postings(index.weights, term, scores)
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    return top_k(scores, k)


def _search_rare_terms_first(
    index: Bm25Index, ids: list[int], *, mask: np.ndarray | None, k: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The exact top `k` scored only on the entries holding a rare query term (MaxScore, Turtle and Flood 1995),
    or None when that cannot be proven. A common term (in more than COMMON_TERM_SHARE of the entries) can add at
    most its largest weight to an entry's score; when the k-th best entry with a rare term already scores more than
    all common terms could give an entry without one, no other entry can enter the top k. Common terms are then
    looked up only for the candidates that could still make the top k (their rare terms' score plus what the common
    terms could add reaches the k-th best rare-term score), so a query costs what its rare terms' postings cost,
    not a pass over every entry."""
    weights = index.weights
    entries = weights.shape[0]
    frequency = np.diff(weights.indptr)
    if not weights.has_sorted_indices:
        return None  # candidates are looked up by binary search in each column
    rare = [term for term in ids if frequency[term] <= COMMON_TERM_SHARE * entries]
    common = [term for term in ids if frequency[term] > COMMON_TERM_SHARE * entries]
    if not rare or not common:
        return None  # all rare: the plain path costs the same; all common: nothing to prune with
    bound = float(index.term_max[common].sum())  # the most the common terms can add to any entry
    rows = np.concatenate([weights.indices[weights.indptr[t] : weights.indptr[t + 1]] for t in rare])
    values = np.concatenate([weights.data[weights.indptr[t] : weights.indptr[t + 1]] for t in rare])
    if mask is not None:
        allowed = mask[rows]
        rows, values = rows[allowed], values[allowed]
    candidates, inverse = np.unique(rows, return_inverse=True)
    if len(candidates) < k:
        return None
    scores = np.bincount(inverse, weights=values, minlength=len(candidates)).astype(np.float32)
    floor = np.partition(scores, len(scores) - k)[len(scores) - k]  # the top k will score at least this
    reachable = scores + bound >= floor
    candidates, scores = candidates[reachable], scores[reachable]
    for term in common:
        postings = weights.indices[weights.indptr[term] : weights.indptr[term + 1]]
        at = np.minimum(np.searchsorted(postings, candidates), len(postings) - 1)
        hit = postings[at] == candidates
        scores[hit] += weights.data[weights.indptr[term] + at[hit]]
    best, best_scores = top_k_of(scores, candidates, k)
    if best_scores[-1] <= bound:
        return None
    return best, best_scores


def _add_postings(weights: sp.csc_matrix, term: int, scores: np.ndarray) -> None:
    """A column's rows are distinct: its postings are added straight into the scores."""
    start, end = weights.indptr[term], weights.indptr[term + 1]
    scores[weights.indices[start:end]] += weights.data[start:end]


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    candidates = np.flatnonzero(scores > 0)
    return top_k_of(scores[candidates], candidates, k)
