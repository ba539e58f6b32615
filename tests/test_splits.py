"""captionset.splits: salted hash splits, stability under growth, date splits, near-duplicate groups."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime

import numpy as np
import pytest
from articles_factory import sentence

from captionset.splits import (
    BAND_ROWS,
    MAX_PAIRS_PER_MEMBER,
    MIN_WORDS,
    NUM_PERM,
    SplitRule,
    UnionFind,
    assign_splits,
    body_hash,
    group_articles,
    minhash,
    parse_ratios,
    split_of,
    text_key,
)


def body(seed: int, paragraphs: int = 8) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(sentence(rng) for _ in range(3)) for _ in range(paragraphs)]


def groups_of(bodies: dict[str, list[str]]) -> dict[str, str]:
    ids = sorted(bodies)
    return group_articles(ids, [body_hash(bodies[a]) for a in ids], [minhash(bodies[a]) for a in ids])


def test_split_of_is_deterministic_and_follows_the_ratios():
    rule = SplitRule(ratios=(0.8, 0.1, 0.1), seed="s1")
    keys = [f"article-{i}" for i in range(20_000)]
    first = [split_of(k, rule) for k in keys]
    assert first == [split_of(k, rule) for k in keys]
    shares = Counter(first)
    assert abs(shares["train"] / len(keys) - 0.8) < 0.015
    assert abs(shares["validation"] / len(keys) - 0.1) < 0.01
    assert abs(shares["test"] / len(keys) - 0.1) < 0.01


def test_the_seed_changes_the_assignment():
    keys = [f"k{i}" for i in range(2000)]
    a = [split_of(k, SplitRule(seed="a")) for k in keys]
    b = [split_of(k, SplitRule(seed="b")) for k in keys]
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 200


def test_zero_ratio_split_gets_nothing():
    rule = SplitRule(ratios=(0.5, 0.0, 0.5))
    assert {split_of(f"k{i}", rule) for i in range(3000)} == {"train", "test"}
    assert {split_of(f"k{i}", SplitRule(ratios=(1.0, 0.0, 0.0))) for i in range(500)} == {"train"}


def test_adding_articles_moves_no_existing_article():
    rule = SplitRule(seed="growth")
    old = {f"a{i}": f"a{i}" for i in range(3000)}
    grown = {**old, **{f"b{i}": f"b{i}" for i in range(1500)}}
    before = assign_splits(old, rule)
    after = assign_splits(grown, rule)
    assert all(after[a] == s for a, s in before.items())


def test_a_group_never_spans_splits():
    groups = {f"a{i}": f"g{i // 4}" for i in range(4000)}
    splits = assign_splits(groups, SplitRule(seed="g"))
    by_group: dict[str, set[str]] = {}
    for article, group in groups.items():
        by_group.setdefault(group, set()).add(splits[article])
    assert all(len(s) == 1 for s in by_group.values())
    assert len(set(splits.values())) == 3


def test_date_split_puts_the_newest_groups_in_test():
    groups = {f"a{i}": f"a{i}" for i in range(100)}
    published = {
        f"a{i}": datetime(2020, 1, 1).replace(day=1 + i % 28, month=1 + i // 28 % 12) for i in range(100)
    }
    published["a99"] = None  # undated: hashed
    splits = assign_splits(groups, SplitRule(split_by="date"), published)
    dated = [a for a in groups if published[a] is not None]
    newest_train = max(published[a] for a in dated if splits[a] == "train")
    oldest_test = min(published[a] for a in dated if splits[a] == "test")
    assert newest_train <= oldest_test
    assert Counter(splits[a] for a in dated) == {"train": 79, "validation": 10, "test": 10}
    assert splits["a99"] == split_of("a99", SplitRule(split_by="date"))


def test_date_split_keeps_a_group_together_at_its_earliest_date():
    groups = {"old": "g", "new": "g", **{f"x{i}": f"x{i}" for i in range(20)}}
    published = {"old": datetime(2000, 1, 1), "new": datetime(2030, 1, 1)}
    published |= {f"x{i}": datetime(2010, 1, 1 + i) for i in range(20)}
    splits = assign_splits(groups, SplitRule(split_by="date"), published)
    assert splits["old"] == splits["new"] == "train"


def test_exact_copies_group_even_with_other_case_and_punctuation():
    text = body(1)
    copy = [p.upper().replace(".", " !") for p in text]
    groups = groups_of({"a": text, "b": copy, "c": body(2)})
    assert groups["a"] == groups["b"] == "a"
    assert groups["c"] == "c"


def test_near_duplicates_group_and_chain():
    base = body(7, paragraphs=10)
    edited = [*base[:8], "A new closing paragraph was added by the second outlet to its copy of the story."]
    trimmed = base[1:]  # the republished copy lost its first paragraph
    groups = groups_of({"m1": base, "m2": edited, "m3": trimmed, "z": body(8, paragraphs=10)})
    assert groups["m1"] == groups["m2"] == groups["m3"] == "m1"
    assert groups["z"] == "z"


def test_unrelated_articles_stay_alone():
    bodies = {f"a{i:03d}": body(100 + i) for i in range(150)}
    groups = groups_of(bodies)
    assert all(a == g for a, g in groups.items())


def test_short_bodies_never_group():
    short = ["Scroll down for video."]
    assert body_hash(short) is None and minhash(short) is None
    groups = groups_of({"a": short, "b": short})
    assert groups == {"a": "a", "b": "b"}


def test_minhash_is_stable_and_estimates_jaccard():
    import numpy as np

    a = body(11, paragraphs=12)
    assert minhash(a) == minhash(list(a))
    b = a[:6] + body(12, paragraphs=6)
    same = np.mean(np.frombuffer(minhash(a), "<u8") == np.frombuffer(minhash(b), "<u8"))
    assert 0.2 < same < 0.8
    assert len(" ".join(a).split()) >= MIN_WORDS


def test_text_key_ignores_case_and_punctuation():
    assert text_key("Pictured: the crane, at dawn.") == text_key("pictured the CRANE at dawn")
    assert text_key("the crane at dawn") != text_key("the crane at dusk")


def test_union_find_names_groups_by_smallest_key():
    sets = UnionFind()
    sets.union("c", "b")
    sets.union("d", "c")
    assert {sets.find(k) for k in "bcd"} == {"b"}
    assert sets.find("z") == "z"


@pytest.mark.parametrize("text", ["0.8,0.1", "0.8,0.1,0.2", "a,b,c", "-0.1,0.6,0.5"])
def test_bad_ratios_are_refused(text):
    with pytest.raises(ValueError):
        parse_ratios(text)


def test_ratios_parse_and_rule_validates_split_by():
    assert parse_ratios("0.7,0.15,0.15") == (0.7, 0.15, 0.15)
    with pytest.raises(ValueError):
        SplitRule(split_by="site")
    assert SplitRule(seed="x").as_dict()["seed"] == "x"


def _reference_groups(ids, signatures, threshold=0.5):
    """The plain definition: every LSH bucket's members (in input order) each compared with at most
    MAX_PAIRS_PER_MEMBER earlier members; confirmed pairs joined; groups named by their smallest id."""
    sets = UnionFind()
    for article in ids:
        sets.find(article)
    matrix = np.array(signatures, dtype=np.uint64)
    for band in range(NUM_PERM // BAND_ROWS):
        buckets: dict[tuple, list[int]] = {}
        for i, row in enumerate(matrix[:, band * BAND_ROWS : (band + 1) * BAND_ROWS].tolist()):
            buckets.setdefault(tuple(row), []).append(i)
        for members in buckets.values():
            for position, other in enumerate(members[1:], start=1):
                for first in members[: min(position, MAX_PAIRS_PER_MEMBER)]:
                    if np.mean(matrix[first] == matrix[other]) >= threshold:
                        sets.union(ids[first], ids[other])
    return {a: sets.find(a) for a in ids}


def test_vectorised_grouping_matches_the_plain_definition_with_big_buckets():
    # Signatures mutated from a few bases: buckets far bigger than MAX_PAIRS_PER_MEMBER, pairs on both
    # sides of the threshold, chains across bases; ids not in input order.
    rng = np.random.default_rng(7)
    bases = rng.integers(0, 50, size=(4, NUM_PERM), dtype=np.uint64)
    signatures = []
    for i in range(400):
        row = bases[i % 4].copy()
        changed = rng.random(NUM_PERM) < rng.uniform(0.2, 0.7)
        row[changed] = rng.integers(100, 103, size=int(changed.sum()), dtype=np.uint64)
        signatures.append(row)
    ids = [f"a{(i * 7919) % 1000:04d}" for i in range(400)]
    got = group_articles(ids, [None] * len(ids), [s.astype("<u8").tobytes() for s in signatures])
    want = _reference_groups(ids, signatures)
    assert got == want
    assert 1 < len(set(got.values())) < len(ids) / 2
