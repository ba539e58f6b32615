"""Invented news articles for build tests: mixed from word pools by a seeded RNG, never copied from a corpus."""

from __future__ import annotations

import random
from pathlib import Path

PLACES = [
    "Northport",
    "Eastwick",
    "Low Marsh",
    "Kellingford",
    "Bramcote",
    "Ashby Vale",
    "Greyhaven",
    "Tolworth",
]
PEOPLE = ["Alan Reeve", "Mary Cole", "Sunil Patel", "Jo Hartley", "Pete Marsh", "Ruth Okafor", "Dan Ellery"]
THINGS = [
    "bridge",
    "crane",
    "school",
    "pier",
    "library",
    "bakery",
    "ferry",
    "market",
    "lighthouse",
    "stadium",
]
VERBS = ["reopened", "collapsed", "flooded", "was repaired", "was sold", "closed", "was rebuilt", "burned"]
ADJECTIVES = ["old", "busy", "famous", "tiny", "historic", "crowded", "quiet", "new"]
CAPTION_LABELS = ["Wreckage", "Rescue", "Aftermath", "Pictured", "Celebration", "Damage"]


def sentence(rng: random.Random) -> str:
    """One invented news sentence with names, places and numbers (so articles rarely share 5-word runs)."""
    return (
        f"{rng.choice(PEOPLE)} said the {rng.choice(ADJECTIVES)} {rng.choice(THINGS)} in "
        f"{rng.choice(PLACES)} {rng.choice(VERBS)} after {rng.randint(2, 900)} people "
        f"{rng.choice(['gathered', 'waited', 'complained', 'cheered', 'watched'])} on "
        f"{rng.choice(['Monday', 'Tuesday', 'Friday', 'Sunday'])} {rng.choice(['morning', 'night', 'evening'])}."
    )


def make_article(seed: int, *, paragraphs: int = 6, captions: int = 2, video: bool = False) -> str:
    """A plain-text article in the seed's style: title, caption, highlights, body with captions, byline."""
    rng = random.Random(seed)
    place, thing = rng.choice(PLACES), rng.choice(THINGS)
    title = f"{thing.title()} In {place} {rng.choice(VERBS).title()} As {rng.randint(10, 99)} Families Watch"
    lines = [title, ""]
    lines += [
        f"{rng.choice(CAPTION_LABELS)}: The {thing} in {place} seen from the harbour wall (pictured) "
        f"on day {rng.randint(1, 28)}",
        "",
    ]
    lines += [f"  • {sentence(rng)}" for _ in range(3)] + [""]
    for i in range(paragraphs):
        lines += [" ".join(sentence(rng) for _ in range(3)), ""]
        if i < captions - 1 and i % 2 == 0:
            lines += [
                f"A {rng.choice(ADJECTIVES)} crowd gathers by the {thing} in {place} at dawn (Image: Getty)",
                "",
            ]
    if video:
        lines += [
            f"Moment of collapse: Footage filmed by a resident shows the {thing} before it falls",
            "",
            " ".join(sentence(rng) for _ in range(2)),
            "",
        ]
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    lines += [f"By Staff Reporter {day:02d}/{month:02d}/2023 {rng.randint(0, 23):02d}:41:00", ""]
    return "\n".join(lines)


def write_corpus(folder: Path, seeds: range | list[int], **kwargs) -> list[Path]:
    """Write article-<seed>.txt files into folder; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"article-{seed:04d}.txt"
        path.write_text(make_article(seed, **kwargs), encoding="utf-8")
        paths.append(path)
    return paths


def built_dataset(tmp_path_factory, name: str, count: int, *, seed: str, **kwargs) -> Path:
    """A dataset built (one worker) from ``count`` generated articles, in a fresh temporary folder."""
    from captionset.build import build

    corpus = tmp_path_factory.mktemp(f"{name}-corpus")
    write_corpus(corpus, range(count), **kwargs)
    out = tmp_path_factory.mktemp(name) / "ds"
    build([corpus], out, workers=1, seed=seed)
    return out
