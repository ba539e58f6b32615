"""Splitting: articles form groups (an article, or near-duplicate copies of one story), groups get splits.

A group's split comes from a salted hash of its key, so assigning never depends on input order or on the
other articles: adding articles never moves an existing one (unless a new near-duplicate joins its group).
``split_by="date"`` instead cuts the groups at date quantiles (oldest in train, newest in test), as
NYTimes800k does; those cut points move when articles are added, which the card says.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .classify.compiled import import_extension

SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")
DEFAULT_RATIOS: tuple[float, ...] = (0.8, 0.1, 0.1)
DEFAULT_SEED = "captionset"
SPLIT_BY = ("article", "date")

# Words for shingling: runs of letters/digits (punctuation and case never make two copies differ).
WORD = re.compile(r"\w+")
#: Words per shingle, MinHash size and LSH banding (21 bands of 3 rows: a pair with Jaccard 0.5 becomes a
#: candidate with p ~ 0.94, one with 0.8 with p > 0.9999), and the estimated Jaccard that makes a group.
SHINGLE_WORDS = 5
NUM_PERM = 63
BAND_ROWS = 3
NEAR_DUPLICATE_JACCARD = 0.5
#: Bodies shorter than this (in words) never group with others: too little text to call two copies.
MIN_WORDS = 20
#: In an LSH bucket, each member is compared with at most this many earlier members (bounds the work).
MAX_PAIRS_PER_MEMBER = 16

_MERSENNE = np.uint64((1 << 61) - 1)
#: Multiplier of the polynomial that combines SHINGLE_WORDS word hashes into a shingle hash (mod 2^64).
SHINGLE_BASE = 1_000_003
_rng = np.random.default_rng(20240601)  # fixed constants: the permutations are part of the file format
_PERM_A = _rng.integers(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_PERM_B = _rng.integers(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
del _rng
#: The permutations as the compiled path takes them (little-endian uint64 bytes on every machine).
_PERM_A_BYTES = _PERM_A.astype("<u8").tobytes()
_PERM_B_BYTES = _PERM_B.astype("<u8").tobytes()


#: The compiled signatures (captionset/_build_speedups.c), or None for the numpy path (which gives the
#: same bytes, ~10x slower; ``CAPTIONSET_PURE_PYTHON=1`` asks for it).
_speedups = import_extension("captionset._build_speedups")
#: Whether body_signatures runs the compiled code (tests and CI check it).
COMPILED = _speedups is not None


@dataclass(frozen=True, slots=True)
class SplitRule:
    """How articles are assigned to splits; recorded in the card, the manifest and every file."""

    ratios: tuple[float, ...] = DEFAULT_RATIOS
    seed: str = DEFAULT_SEED
    split_by: str = "article"

    def __post_init__(self) -> None:
        if len(self.ratios) != len(SPLIT_NAMES):
            raise ValueError(f"ratios needs {len(SPLIT_NAMES)} values (train, validation, test)")
        if any(r < 0 for r in self.ratios) or abs(sum(self.ratios) - 1.0) > 1e-6:
            raise ValueError(f"ratios must be >= 0 and sum to 1, got {self.ratios}")
        if self.split_by not in SPLIT_BY:
            raise ValueError(f"split_by must be one of {SPLIT_BY}, got {self.split_by!r}")

    @property
    def salt(self) -> str:
        return f"captionset/v1/{self.seed}"

    def as_dict(self) -> dict:
        return {
            "ratios": dict(zip(SPLIT_NAMES, self.ratios, strict=True)),
            "seed": self.seed,
            "split_by": self.split_by,
            "hash": "blake2b-64(salt NUL group_id) / 2^64",
            "salt": self.salt,
            "near_duplicates": {
                "shingle_words": SHINGLE_WORDS,
                "num_perm": NUM_PERM,
                "jaccard": NEAR_DUPLICATE_JACCARD,
                "min_words": MIN_WORDS,
            },
        }


def parse_ratios(text: str) -> tuple[float, ...]:
    """``"0.8,0.1,0.1"`` -> (0.8, 0.1, 0.1); raises ValueError on anything else."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"ratios must be comma-separated numbers, got {text!r}") from None
    SplitRule(ratios=values)  # validates
    return values


def unit_hash(key: str, salt: str) -> float:
    """A number in [0, 1) from the salted key: the same on every machine, independent of everything else."""
    digest = hashlib.blake2b(f"{salt}\x00{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_of(group_key: str, rule: SplitRule = SplitRule()) -> str:
    """The split of a group by its salted hash (ecosystem.md §2)."""
    u = unit_hash(group_key, rule.salt)
    acc = 0.0
    for name, ratio in zip(SPLIT_NAMES, rule.ratios, strict=True):
        acc += ratio
        if u < acc:
            return name
    return next(n for n, r in zip(reversed(SPLIT_NAMES), reversed(rule.ratios), strict=True) if r > 0)


def assign_splits(
    groups: dict[str, str],
    rule: SplitRule,
    published: dict[str, datetime | None] | None = None,
) -> dict[str, str]:
    """article_id -> split, given article_id -> group_id (and publication times for ``split_by="date"``)."""
    if rule.split_by == "article":
        by_group = {g: split_of(g, rule) for g in sorted(set(groups.values()))}
        return {a: by_group[g] for a, g in groups.items()}
    published = published or {}
    # A group's date is its earliest; undated groups are hashed (they cannot be placed in time).
    dates: dict[str, datetime] = {}
    for article, group in groups.items():
        when = published.get(article)
        if when is not None and (group not in dates or when < dates[group]):
            dates[group] = when
    dated = sorted(dates, key=lambda g: (dates[g], g))
    by_group: dict[str, str] = {}
    total = len(dated)
    cut, start = 0.0, 0
    for name, ratio in zip(SPLIT_NAMES, rule.ratios, strict=True):
        cut += ratio
        stop = total if name == SPLIT_NAMES[-1] else round(cut * total)
        for group in dated[start:stop]:
            by_group[group] = name
        start = max(start, stop)
    for group in set(groups.values()) - by_group.keys():
        by_group[group] = split_of(group, rule)
    return {a: by_group[g] for a, g in groups.items()}


def normalise_words(text: str) -> list[str]:
    """Lower-cased words of a text: what near-duplicate detection and the leakage check compare."""
    return WORD.findall(text.lower())


def _words(paragraphs: Iterable[str]) -> list[str]:
    return normalise_words("\n".join(paragraphs))


def body_hash(paragraphs: Iterable[str], words: list[str] | None = None) -> str | None:
    """Hash of the normalised body (None when too short to compare): exact copies share it."""
    words = _words(paragraphs) if words is None else words
    if len(words) < MIN_WORDS:
        return None
    return hashlib.blake2b(" ".join(words).encode(), digest_size=12).hexdigest()


def text_key(text: str) -> int:
    """A 64-bit key of the normalised text (for the caption leakage check)."""
    normal = " ".join(normalise_words(text))
    return int.from_bytes(hashlib.blake2b(normal.encode(), digest_size=8).digest(), "big")


class _TokenHashes(dict):
    """word -> 64-bit hash, computed on first use: two CRC-32s (fast C, stable across machines, and good
    enough to spread shingles). A dict rather than an LRU cache: a hit is a plain lookup, and news
    vocabulary repeats across articles; cleared when it reaches TOKEN_CACHE_WORDS (bounded memory)."""

    def __missing__(self, word: str) -> int:
        if len(self) >= TOKEN_CACHE_WORDS:
            self.clear()
        data = word.encode()
        value = self[word] = zlib.crc32(data) | (zlib.crc32(data, 0x9E3779B9) << 32)
        return value


TOKEN_CACHE_WORDS = 1 << 17
_TOKEN_HASHES = _TokenHashes()
#: Shingles hashed at once: bounds the (chunk x NUM_PERM) work array to 4 MB for a huge article.
SHINGLES_PER_CHUNK = 8192


def minhash(paragraphs: Iterable[str], words: list[str] | None = None) -> bytes | None:
    """MinHash signature (NUM_PERM uint64, little-endian bytes) of the body's word shingles, or None."""
    words = _words(paragraphs) if words is None else words
    if len(words) < MIN_WORDS:
        return None
    token_hash = np.fromiter(map(_TOKEN_HASHES.__getitem__, words), dtype=np.uint64, count=len(words))
    # Shingle hashes: a polynomial combination of SHINGLE_WORDS consecutive token hashes (wraps mod 2^64).
    n = len(words) - SHINGLE_WORDS + 1
    shingles = token_hash[:n].copy()
    with np.errstate(over="ignore"):
        for offset in range(1, SHINGLE_WORDS):
            shingles *= np.uint64(SHINGLE_BASE)
            shingles += token_hash[offset : offset + n]
        # Repeated shingles need no removal: they cannot change a minimum.
        shingles &= _MERSENNE
        lowest = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
        for start in range(0, n, SHINGLES_PER_CHUNK):
            # (a * x + b) mod 2^64, masked, in one work array (no temporaries: this is most of the cost)
            values = np.multiply(shingles[start : start + SHINGLES_PER_CHUNK, None], _PERM_A[None, :])
            np.add(values, _PERM_B, out=values)
            np.bitwise_and(values, _MERSENNE, out=values)
            np.minimum(lowest, values.min(axis=0), out=lowest)
    return lowest.astype("<u8").tobytes()


def body_signatures(paragraphs: Iterable[str]) -> tuple[str | None, bytes | None]:
    """(body_hash, minhash) of a body, splitting it into words once: compiled when the extension is
    there (the words never become Python objects), else the numpy path; the two give the same bytes."""
    if _speedups is None:
        return body_signatures_python(paragraphs)
    return body_signatures_compiled(paragraphs)


def body_signatures_python(paragraphs: Iterable[str]) -> tuple[str | None, bytes | None]:
    """body_signatures by the pure-Python/numpy path (the definition the compiled one is tested against)."""
    words = _words(paragraphs)
    return body_hash((), words), minhash((), words)


def body_signatures_compiled(paragraphs: Iterable[str]) -> tuple[str | None, bytes | None]:
    """body_signatures by the C extension (which must be built): it splits the lower-cased body into
    words, joins them for the hash and computes the MinHash; the BLAKE2 digest stays hashlib's."""
    text = "\n".join(paragraphs).lower()
    found = _speedups.body_signature(
        text, _PERM_A_BYTES, _PERM_B_BYTES, SHINGLE_WORDS, MIN_WORDS, SHINGLE_BASE, int(_MERSENNE)
    )
    if found is None:
        return None, None
    normal, signature = found
    return hashlib.blake2b(normal, digest_size=12).hexdigest(), signature


def _band_pairs(matrix: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (first, other), first < other, of rows that agree on every value of one band.

    In a bucket (rows sorted stably by the band, so by index within a bucket) each member is paired with the
    members before it, at most MAX_PAIRS_PER_MEMBER of them (a big bucket is a common passage). Vectorised:
    no per-row Python work, so 100k signatures group in seconds.
    """
    columns = matrix[:, band * BAND_ROWS : (band + 1) * BAND_ROWS]
    order = np.lexsort(columns.T[::-1])
    ranked = columns[order]
    starts = np.concatenate(([True], np.any(ranked[1:] != ranked[:-1], axis=1)))
    run_start = np.flatnonzero(starts)[np.cumsum(starts) - 1]
    position = np.arange(len(order)) - run_start
    firsts, others = [], []
    for k in range(MAX_PAIRS_PER_MEMBER):
        later = np.flatnonzero(position > k)
        if not later.size:
            break
        firsts.append(order[run_start[later] + k])
        others.append(order[later])
    if not firsts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(firsts), np.concatenate(others)


def _roots(parent: np.ndarray) -> np.ndarray:
    """Point every node at its root (pointer jumping), in place."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent[:] = grand


def _union(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Merge the sets of each pair (a[i], b[i]); a set's root stays its smallest node. ``parent`` must
    point at roots, and does again afterwards."""
    while a.size:
        ra, rb = parent[a], parent[b]
        low, high = np.minimum(ra, rb), np.maximum(ra, rb)
        split = low != high
        if not split.any():
            return
        a, b = low[split], high[split]
        np.minimum.at(parent, b, a)  # hook each larger root under the smallest root it meets
        _roots(parent)


#: Candidate pairs compared at once (bounds the temporary signature copies to a few MB).
PAIRS_PER_CHUNK = 1 << 14


def group_labels(
    nodes: np.ndarray, body_codes: np.ndarray, matrix: np.ndarray, rows: np.ndarray, threshold: float
) -> np.ndarray:
    """Root node of each article's group (the smallest node of its connected component).

    ``nodes[i]``: article i's node (its rank among the sorted ids, so the smallest node is the smallest id);
    ``body_codes[i]``: a code per exact body (-1 for none); ``matrix``: MinHash rows of the articles
    ``rows``. A pair whose articles are already in one group is not compared again: it cannot change the
    groups, which are the connected components of exact copies and confirmed near-duplicate pairs.
    """
    count = int(nodes.max()) + 1 if nodes.size else 0
    parent = np.arange(count, dtype=np.int64)
    has_body = np.flatnonzero(body_codes >= 0)
    if has_body.size:
        codes = body_codes[has_body]
        _, first = np.unique(codes, return_index=True)
        first_of_code = np.zeros(int(codes.max()) + 1, np.int64)
        first_of_code[codes[first]] = has_body[first]
        _union(parent, nodes[first_of_code[codes]], nodes[has_body])
    if len(rows) >= 2:
        row_nodes = nodes[rows]
        for band in range(NUM_PERM // BAND_ROWS):
            firsts, others = _band_pairs(matrix, band)
            for start in range(0, firsts.size, PAIRS_PER_CHUNK):
                a = firsts[start : start + PAIRS_PER_CHUNK]
                b = others[start : start + PAIRS_PER_CHUNK]
                open_ = parent[row_nodes[a]] != parent[row_nodes[b]]
                a, b = a[open_], b[open_]
                same = np.count_nonzero(matrix[a] == matrix[b], axis=1)
                near = same / NUM_PERM >= threshold
                _union(parent, row_nodes[a[near]], row_nodes[b[near]])
    return parent[nodes]


class UnionFind:
    """Disjoint sets over string keys; the representative of a set is its smallest key."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        parent = self.parent.setdefault(key, key)
        if parent == key:
            return key
        root = self.find(parent)
        self.parent[key] = root
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            small, large = (ra, rb) if ra < rb else (rb, ra)
            self.parent[large] = small


def signature_matrix(signatures: Sequence[bytes | None]) -> tuple[np.ndarray, np.ndarray]:
    """(rows that have a signature, their MinHash values as an (n, NUM_PERM) uint64 matrix)."""
    rows = np.array([i for i, s in enumerate(signatures) if s is not None], dtype=np.int64)
    data = b"".join(signatures[i] for i in rows)
    return rows, np.frombuffer(data, dtype="<u8").reshape(len(rows), NUM_PERM).astype(np.uint64)


def group_articles(
    article_ids: Sequence[str],
    body_hashes: Sequence[str | None],
    signatures: Sequence[bytes | None],
    threshold: float = NEAR_DUPLICATE_JACCARD,
) -> dict[str, str]:
    """article_id -> group_id: exact normalised-body copies and MinHash near-duplicates share a group.

    Candidates come from LSH bands, then each pair is confirmed by its estimated Jaccard similarity; groups
    are the connected components, named by their smallest article id.
    """
    names = sorted(set(article_ids))
    node_of = {a: i for i, a in enumerate(names)}
    nodes = np.array([node_of[a] for a in article_ids], dtype=np.int64)
    code_of: dict[str, int] = {}
    codes = np.array(
        [-1 if h is None else code_of.setdefault(h, len(code_of)) for h in body_hashes], dtype=np.int64
    )
    rows, matrix = signature_matrix(signatures)
    roots = group_labels(nodes, codes, matrix, rows, threshold)
    return {a: names[r] for a, r in zip(article_ids, roots.tolist(), strict=True)}
