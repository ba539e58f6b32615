"""The block classifier: each signal on its own, the shipped model, and reproducible training."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scriptfiles import load_script

from captionset.classify import caption_fields, classifier, classify_blocks, features, signals
from captionset.classify.classifier import (
    AUTHOR_LINE,
    MODEL_CLASSES,
    STAGE2_FEATURES,
    _asks_one_question,
    _heads_a_section,
    _heads_no_section,
    _is_question_heading,
    label_texts,
    load_model,
    predict_stage,
    stage2_rows,
)
from captionset.classify.features import FEATURE_NAMES, article_features
from captionset.model import LABELS
from captionset.segment import segment

ROOT = Path(__file__).resolve().parent.parent


STORY_LINE = "The council voted on Tuesday to close the library after the storm, a spokesman said."
STORY_DAYS = ("Tuesday", "Monday", "Friday", "Sunday")


def _label_in_story(line: str, before: int = 1) -> str:
    """The label of ``line`` set among story paragraphs: ``before`` of them above it, two below."""
    story = [STORY_LINE.replace("Tuesday", day) for day in STORY_DAYS]
    texts = ["Headline", *story[:before], line, *story[before : before + 2]]
    return label_texts(texts)[before + 1][0]


def _train_module():
    return load_script("train_classifier")


# --- credits -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "credit"),
    [
        ("The King and Queen arrive at the Palace (Picture: Getty)", "Getty"),
        ("A crowd gathers outside the court (Image: PA Wire)", "PA Wire"),
        ("The singer was diagnosed in 2017 Credit: Splash", "Splash"),
        ("Officers at the scene on Monday. Photo: AP", "AP"),
        (
            "Rescuers search the rubble. Photo by Jane Roe / AFP via Getty Images",
            "Jane Roe / AFP via Getty Images",
        ),
        ("The minister leaves the building Stefan Rousseau/via Reuters", "Stefan Rousseau/via Reuters"),
        ("Crowds gather in the square, Nov. 8, 2023. (AP Photo/Sam Smith)", "AP Photo/Sam Smith"),
        ("Soldiers patrol the border in 2001 [File: Reuters]", "Reuters"),
        ("A view of the comet over the hills. (Carlos Ruiz)", "Carlos Ruiz"),
        ("(Image: Getty)", "Getty"),
        ("Chuck Burton/AP", "Chuck Burton/AP"),
        ("A rocket stands on the Porthaven launchpad. Porthaven Space", "Porthaven Space"),
        ("The road to the harbour from the hills. Jane Roe for Example News", "Jane Roe for Example News"),
    ],
)
def test_credit_is_extracted_from_caption_endings(text, credit):
    assert caption_fields(text)[1] == credit


@pytest.mark.parametrize(
    "text",
    [
        "He said the plan was sound and would be put to a vote next week.",
        "She told the AP she was fine.",
        "He joined the party in 1990 (with his wife)",
        "A sentence about an image: the thing is big",
        "They swam in the pool",
        "The talks were led by Mr. Sam Okafor",
        "Porthaven Group 1. Jane Roe",
        "Guess who came to dinner? Uncle Sam",
        "Done. Next Steps",
        "Original short fiction, published every week. Read It Here.",
        "“We will rebuild this town together, whatever it takes.” Jane Roe",
        "“We will rebuild this town together, whatever it takes. Jane Roe",
    ],
)
def test_running_text_has_no_credit(text):
    assert caption_fields(text)[1] is None


@pytest.mark.parametrize(
    ("text", "credit"),
    [
        ("Image: Ana Lopes has signed a contract to coach the city's rowing club", None),
        ("Photo: The new bridge opens to traffic after two years of works", None),
        ("Image: Ana Lopes via Unsplash", "Ana Lopes via Unsplash"),
        ("Photo: Dan Moyo, AP", "Dan Moyo, AP"),
        ("Image Credits: Example Labs", "Example Labs"),
        ("Photo: courtesy of the city parks department", "courtesy of the city parks department"),
        ("Photo by the staff of the city council museum", "the staff of the city council museum"),
    ],
)
def test_a_credit_word_before_a_sentence_labels_the_caption(text, credit):
    """ "Image: <the caption>" is a caption labelled by a credit word, not a credit that is the whole block."""
    label, found, _ = caption_fields(text)
    assert found == credit
    assert label == (text.split(":")[0] if credit is None else None)


def test_credit_only_blocks_are_recognised():
    assert signals.is_credit_only("(Image: Getty)")
    assert signals.is_credit_only("Getty Images")
    assert signals.is_credit_only("Photo: AP")
    assert not signals.is_credit_only("The King arrives (Picture: Getty)")
    assert not signals.is_credit_only("They swam in the pool")


# --- label prefix, cues, punctuation --------------------------------------------------------------------


def test_label_prefix():
    assert signals.label_prefix("Devastation: This is the moment the bomb fell") == "Devastation"
    assert signals.label_prefix("Close call: The car stops inches away") == "Close call"
    # A credit is not a label, nor is a sentence that happens to contain a colon late.
    assert signals.label_prefix("Credit: Getty Images") is None
    assert signals.label_prefix("The singer has vowed to fight on Credit: Splash") is None
    assert signals.label_prefix("A sentence about an image: the thing is big") is None


def test_pictured_cues():
    assert signals.pictured_cues("The hospital (pictured) was hit") == ("pictured",)
    assert signals.pictured_cues("Linda, second left, with her sisters, above") == ("left", "above")
    assert signals.pictured_cues("The council met on Tuesday to vote.") == ()


def test_video_cues():
    assert signals.has_video_cue("Footage shows the moment the wall collapsed")
    assert signals.has_video_cue("Watch: the rescue on the river")
    assert not signals.has_video_cue("A woman carries a dog from a flooded house")
    # What a photo shows (a video link, a video call) and a caption calling itself a photo are photos.
    assert not signals.has_video_cue("The minister chairs a meeting via a video link from her office")
    assert not signals.has_video_cue("Filming was not allowed, so this photo of the stage will have to do")


@pytest.mark.parametrize(
    "text",
    [
        "Video: the rescue on the river",
        "WATCH: Hundreds wait to cross the border",
        "Watch the moment the wall collapsed",
        "Media playback is unsupported on your device",
        "The mayor's speech was streamed live (Video by Jane Doe)",
        "Highlights of the final 2:45",
    ],
)
def test_a_caption_that_names_a_video_is_a_videos(text):
    assert signals.names_a_video(text)


@pytest.mark.parametrize(
    "text",
    [
        # Stills taken from a video are captioned as photos (the corpus labels them so).
        "Devastation: This is the moment the pier collapsed",
        "Footage shows the wall collapsing",
        "Crowds watch the fireworks over the harbour",
        "Watch out: foxes are hiding in the orchard",
        "The minister chairs a meeting via a video link from her office",
        "I could not film the demo, so this photo of the stage will have to do (video not allowed)",
    ],
)
def test_a_caption_that_does_not_name_a_video_is_a_photos(text):
    assert not signals.names_a_video(text)


def test_closing_punctuation():
    assert signals.closes_sentence("It was late.")
    assert signals.closes_sentence("'We will not stop,' he said.'")
    assert signals.closes_sentence("Was it worth it?")
    assert not signals.closes_sentence("A woman carries a dog from a flooded house")
    assert not signals.closes_sentence("Here is what to look for:")


def test_byline_and_boilerplate():
    assert signals.is_byline("By Jane Doe 03/04/2021 09:15:00")
    assert signals.is_byline("21/09/2022 18:40:00")
    assert not signals.is_byline("By the time the rescuers arrived, the fire had spread to the roof.")
    assert signals.is_boilerplate("Advertisement")
    assert signals.is_boilerplate("Popular Articles")
    assert not signals.is_boilerplate("Popular articles about the war were read by millions.")
    # Furniture labels joined on one line are furniture (a rule: the model's feature is the single label);
    # a label beside other words is not.
    assert signals.joins_widget_labels("Advertisement · Scroll to continue")
    assert signals.joins_widget_labels("Share | Email | Print")
    assert not signals.is_boilerplate("Share | Email | Print")
    assert not signals.joins_widget_labels("Advertisement")
    assert not signals.joins_widget_labels("Business · Updated")
    assert not signals.joins_widget_labels("Share · The mayor's plan")
    assert not signals.joins_widget_labels(" · ")
    story = "The council said the new harbour wall would be finished before the autumn tides arrive."
    texts = [
        "Headline",
        story,
        "Advertisement · Scroll to continue",
        story.replace("council", "mayor"),
        "End",
    ]
    assert label_texts(texts)[2][0] == "boilerplate"


# Words and marks that the gated patterns look for (and their near misses), in any case, to build texts.
GATED_PIECES = [
    "pictured",
    "Pictured",
    "PICTURE ABOVE",
    "from left",
    "Left",
    "right",
    "Centre",
    "center",
    "above",
    "below",
    "top",
    "Bottom",
    "inset",
    "seen here",
    "in this photo",
    "In This File Photo",
    "file photo",
    "this image",
    "stop",
    "percent",
    "video",
    "Videos",
    "video link",
    "video calls",
    "footage",
    "clip",
    "Clips",
    "watch",
    "filmed",
    "the moment",
    "livestream",
    "media playback",
    "newscast",
    "1:45",
    "12:30 ",
    "this photo",
    "Label:",
    "A longer label of many words here:",
    "Photo:",
    "Credit:",
    "x",
    "İnset",
    "ınset",
    "ſeen here",
    "Kelvin",
    "FILE",
    "FILE -",
    "File",
    "file image",
    "is seen",
    "Are Shown",
    "is pictured as",
    "are depicted",
    "this screenshot",
    "in this undated handout",
    "thıs photo",
    "İs seen",
    "é",
    " ",
    ", ",
    ". ",
    "\n",
    "The",
    "man",
    ":",
]
gated_texts = st.lists(st.sampled_from(GATED_PIECES), max_size=12).map(" ".join)


@pytest.mark.parametrize(
    ("pattern", "stems", "words"),
    [
        (signals.PICTURED_CUE, signals._PICTURED_STEMS, 8),
        (signals.VIDEO_CUE, signals._VIDEO_STEMS, 8),
        (signals.VIDEO_NAMED, signals._VIDEO_STEMS, 5),
    ],
)
def test_every_word_of_a_gated_pattern_passes_its_gate(pattern, stems, words):
    """A word added to PICTURED_CUE, VIDEO_CUE or VIDEO_NAMED without its stem in the gate would never be
    found."""
    phrases = {m.strip() for m in re.findall(r"[A-Za-z][A-Za-z ]*[A-Za-z]", pattern.pattern)}
    phrases |= {f"{a} {b}" for a, b in re.findall(r"([a-z]+) \(\?:([a-z]+)", pattern.pattern)}
    matched = [p for p in sorted(phrases) if pattern.search(p)]
    assert len(matched) >= words
    for phrase in matched:
        assert signals._may_match(phrase, stems), phrase
        assert signals._may_match(phrase.upper(), stems), phrase


@settings(max_examples=500, deadline=None)
@given(gated_texts)
def test_gated_signals_equal_their_patterns(text):
    """The cheap checks before PICTURED_CUE, VIDEO_CUE, PHOTO_PHRASE and LABEL_PREFIX never change a
    result."""
    cues = tuple(dict.fromkeys(m.lower() for m in signals.PICTURED_CUE.findall(text)))
    assert signals.pictured_cues(text) == cues
    video = bool(signals.VIDEO_CUE.search(text)) and not signals.PHOTO_CUE.search(text)
    assert signals.has_video_cue(text) == video
    named = bool(signals.VIDEO_NAMED.search(text)) and not signals.PHOTO_CUE.search(text)
    assert signals.names_a_video(text) == named
    head = text[: features.HEAD]
    assert features._photo_phrase_found(head) == (features.PHOTO_PHRASE.search(head) is not None)
    match = signals.LABEL_PREFIX.match(text)
    if match is None:
        assert signals.label_prefix(text) is None
    else:
        assert match.end("label") <= signals.LABEL_PREFIX_MAX_CHARS
        label = signals.label_prefix(text)
        assert label is None or label == match.group("label")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["• one", "- two", "  * three", "—x", "•", "• ", "text", "", " ", "\t"]), max_size=5
    )
)
def test_bullet_list_check_equals_its_definition(lines):
    text = "\n".join(lines)
    kept = [line for line in text.splitlines() if line.strip()]
    assert classifier._is_bullet_list(text) == (
        bool(kept) and all(signals.BULLET_LINE.match(line) for line in kept)
    )


def test_cached_signals_give_the_same_answers():
    for text in (
        "Advertisement",
        " Share this story ",
        "Share | Print",
        "(Image: Getty)",
        "Photo: AP",
        "Getty Images",
        "A man.",
    ):
        for _ in range(2):
            assert signals.is_boilerplate(text) == bool(
                len(text) <= signals.BOILERPLATE_MAX_CHARS and signals.BOILERPLATE.match(text.strip())
            )
            assert signals.is_credit_only(text) == signals._credit_only.__wrapped__(text.strip())
        signals.clear_caches()


def test_scores_are_shown_as_pythons_round_gives_them():
    """The vectorised rounding of label scores equals round(min(max(p, 0), 1), 4), ties and ends included."""
    rng = np.random.default_rng(0)
    ties = (np.arange(10_000) + 0.5) / 10_000
    scores = np.concatenate(
        [
            rng.random(20_000),
            rng.random(2_000) ** 8,
            np.arange(10_001) / 10_000,
            ties,
            np.nextafter(ties, 2.0),
            np.nextafter(ties, -1.0),
            [0.0, -0.0, 1.0, 5e-324, 1 - 2**-53, 1.5, -0.25, np.nan, np.inf],
        ]
    )
    expected = [round(min(max(p, 0.0), 1.0), 4) for p in scores.tolist()]
    got = classifier._shown_scores(scores)
    np.testing.assert_array_equal(np.array(got).view(np.uint64), np.array(expected).view(np.uint64))


def stage2_rows_reference(x: np.ndarray, probs: np.ndarray, endings: list[str]) -> np.ndarray:
    """stage2_rows as it was written with numpy throughout (its definition)."""
    count = x.shape[0]
    cap, body, other = 1, 0, 2
    extra = np.zeros((count, len(STAGE2_FEATURES)))
    if count == 0:
        return np.hstack([x, extra])
    inner = max(count - 1, 1)
    extra[:, 0] = probs[:, cap]
    extra[:, 1] = probs[:, body]
    extra[2:, 2] = probs[1:-1, cap]
    extra[2:, 3] = probs[1:-1, body]
    extra[2:, 4] = probs[1:-1, other]
    extra[:-1, 5] = probs[1:, cap]
    extra[:-1, 6] = probs[1:, body]
    extra[:-1, 7] = probs[1:, other]
    extra[3:, 8] = probs[1:-2, cap]
    extra[:-2, 9] = probs[2:, cap]
    extra[:, 10] = probs[1:, cap].sum() / inner
    groups: dict[str, list[int]] = {}
    for i in range(1, count):
        groups.setdefault(endings[i], []).append(i)
    for members in groups.values():
        if len(members) > 1:
            cap_sum = probs[members, cap].sum()
            body_sum = probs[members, body].sum()
            extra[members, 11] = (cap_sum - probs[members, cap]) / (len(members) - 1)
            extra[members, 12] = (body_sum - probs[members, body]) / (len(members) - 1)
    return np.hstack([x, extra])


@pytest.mark.parametrize("count", [0, 1, 2, 3, 9, 40, 300])
def test_stage2_rows_equal_their_numpy_definition(count):
    """Groups of every size (numpy adds fewer than eight values one by one, more pairwise) give numpy's bits."""
    rng = np.random.default_rng(count)
    x = rng.normal(size=(count, 4))
    probs = rng.dirichlet(np.ones(len(MODEL_CLASSES)), size=count) ** 3
    endings = [["closed", "open", "open_long", "bracket:(image:"][k] for k in rng.integers(0, 4, size=count)]
    if count > 20:
        endings[1:20] = ["word:credit:"] * 19  # one group of many members
    got, expected = stage2_rows(x, probs, endings), stage2_rows_reference(x, probs, endings)
    np.testing.assert_array_equal(got.view(np.uint64), expected.view(np.uint64))


def test_bagged_stages_score_as_their_definition():
    """A stage of bagged trees (scored in one compiled pass) gives the bits of the mean of the parts' softmax."""
    from captionset.classify.trees import blend_probabilities_python

    model = load_model()
    for path in sorted((ROOT / "data" / "corpus").glob("*.txt"))[:12]:
        texts = [b.text for b in segment(path.read_text(encoding="utf-8"))]
        x, endings = article_features(texts)
        for name in ("stage1", "stage2"):
            stage = model[name]
            parts = [classifier.stage_matrices(part) for part in stage["parts"]]
            got = predict_stage(x, stage)
            expected = blend_probabilities_python(parts, x)
            np.testing.assert_array_equal(got.view(np.uint64), expected.view(np.uint64))
            x = stage2_rows(x, got, endings)


# --- features -------------------------------------------------------------------------------------------


def test_near_copy_marks_the_short_repeat_of_a_body_sentence():
    body = (
        "Collectors across the country are hunting for rare banknotes, willing to pay large sums for those "
        "with a rare misprint. Experts say only a few have been found."
    )
    texts = [
        "Headline about banknotes",
        body,
        "Collectors across the country are hunting for rare banknotes, willing to pay large sums",
        "An unrelated paragraph about the weather in the north of the country this week.",
    ]
    x, _ = article_features(texts)
    copy, copied = FEATURE_NAMES.index("near_copy"), FEATURE_NAMES.index("near_copied")
    assert x[2, copy] > 0.8 and x[2, copied] == 1.0
    assert x[3, copy] < 0.2 and x[3, copied] == 0.0
    assert x[1, copied] == 0.0


# Blocks that exercise every raw value, including characters that change length when lower-cased (İ),
# decimal digits outside ASCII, the joining character of the fast path, and repeated sentences.
_TRICKY_BLOCKS = [
    "Headline: the İstanbul bridge reopens",
    "By Jane Doe 03/04/2021 09:15:00",
    "Workers waited, cheered and watched as the crane lifted the last span into place on Monday, "
    "officials said, and we're told the bridge is open.",
    "Workers waited, cheered and watched as the crane lifted the last span (pictured)",
    "The crowd gathers outside the palace (Picture: PA)",
    "A man walks past the houses. Getty Images",
    "Jane Roe/Getty Images News/Getty Images",
    "(Image: Getty)",
    "Devastation: This is the moment the pier collapsed, filmed from the air. SIA/EFAK",
    "• First point of the highlights\n• Second point",
    "Sign up to our newsletter © 2024 — read more at www.example.com or @example",
    "Advertisement",
    "Why was the OBR created?",
    "Numbers ٣ and ৪ are digits too, and so is 7 \u2018in quotes\u2019 and \u201cquoted\u201d",
    "A block with the joining character \x00 inside it, ending open",
    "THE MAYOR SPEAKS AT THE OPENING OF THE NEW LIBRARY IN NORTHPORT",
    "Collectors across the country are hunting for rare banknotes, willing to pay large sums",
    "Collectors across the country are hunting for rare banknotes, willing to pay large sums for those "
    "with a rare misprint, said the man, who was walking and talking.",
    "\u201cWe will rebuild it,\u201d the mayor said of the pier, seen (left) at dawn, in these words:",
    "3 men were arrested at 10:45",
    "the ferry leaves at dawn",
]


def _credit_match_every_pattern(text):
    """credit_match without its skipping of patterns that cannot match (the definition)."""
    offset = max(0, len(text) - signals.TAIL)
    for kind, pattern in signals._CREDIT_PATTERNS:
        match = pattern.search(text[offset:])
        if match:
            credit = match.group("credit").strip(" \t\n\xa0.,;|—–-")
            if kind not in ("bracket_name", "agency"):
                credit = signals.CREDIT_LEAD.sub("", credit).strip() or credit
            if kind == "word" and signals.labels_a_sentence(match.group("credit")):
                continue
            if credit:
                return kind, credit, offset + match.start("credit")
    return None


def test_credit_match_skips_only_patterns_that_cannot_match():
    endings = [
        "",
        ".",
        " (Photo: AP)\n",
        "]",
        " Credit: Rex",
        " PAUL SANCYA / AP",
        " Getty Images",
        " (Jo Hart)",
    ]
    texts = [t + e for t in _TRICKY_BLOCKS for e in endings] + [
        "Kourtesy ſource: Rex",
        "Photo by Kevin | AP",
        "In 2017. Gett\u0130",
        "From the air. Reuter\u017f  \n",
    ]
    texts += [f"\u201c{t}\u201d, she said.{e}" for t in ("Quoted", "Photo") for e in endings]
    for text in texts:
        assert signals.credit_match(text) == _credit_match_every_pattern(text), text


def test_only_the_folded_letters_match_ascii_letters_ignoring_case():
    """The credit-word gate trusts str.lower for a non-ASCII tail without _FOLDED_LETTERS: no other
    character matches an ASCII letter under re.IGNORECASE or lowers to ASCII."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    matching = [chr(c) for c in range(128, sys.maxunicode + 1) if letter.match(chr(c))]
    lowering = [chr(c) for c in range(128, sys.maxunicode + 1) if any(x.isascii() for x in chr(c).lower())]
    assert set(matching) <= set(signals._FOLDED_LETTERS)
    assert set(lowering) <= set(signals._FOLDED_LETTERS)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Credit: Rex",
                "Photo by Kevin",
                "Courtesy of NASA",
                "- AP pic",
                "file",
                "Pıc",
                "İmage:",
                "\u017fource:",
                "\u212aourtesy",
                "\u201cquoted\u201d",
                "é",
                "—",
                "Getty Images",
                "(Photo: AP)",
                "/ AP",
                ".",
                " ",
                "\n",
                "the man",
            ]
        ),
        max_size=10,
    ).map(" ".join)
)
def test_credit_match_of_generated_tails_equals_every_pattern(text):
    assert signals.credit_match(text) == _credit_match_every_pattern(text), text


@pytest.mark.parametrize("drop", [None, 14])
def test_fast_features_equal_the_block_by_block_definition(drop):
    texts = [t for i, t in enumerate(_TRICKY_BLOCKS) if i != drop]
    for variant in (texts, texts[:3], texts * 3, [t.upper() for t in texts], [t.lower() for t in texts]):
        fast, fast_endings = features.raw_values(variant)
        slow, slow_endings = features.raw_values_reference(variant)
        assert fast_endings == slow_endings
        np.testing.assert_array_equal(fast, slow)
        np.testing.assert_array_equal(
            article_features(variant)[0], features.article_features_reference(variant)[0]
        )


@pytest.mark.shared
def test_fast_features_equal_the_definition_on_dev_articles(dev_dir):
    for path in sorted((dev_dir / "text").glob("*.txt"))[:20]:
        texts = [b.text for b in segment(path.read_text(encoding="utf-8"))]
        np.testing.assert_array_equal(features.raw_values(texts)[0], features.raw_values_reference(texts)[0])


def test_features_have_one_column_per_name_and_credit_style_is_shared():
    texts = [
        "Title",
        "The crowd gathers outside the palace (Picture: PA)",
        "The speech lasted ten minutes and covered forty bills, officials said.",
        "Guards line the stairs of the porch (Picture: Reuters)",
    ]
    x, endings = article_features(texts)
    assert x.shape == (4, len(FEATURE_NAMES))
    assert endings[1] == endings[3] != endings[2]
    assert x[1, FEATURE_NAMES.index("same_credit_style")] > 0
    assert x[2, FEATURE_NAMES.index("same_credit_style")] == 0


def test_augmentation_removes_caption_full_stops_and_credits_only():
    train = _train_module()
    texts = ["Title", "A man walks past the houses. (Photo: AP)", "The story goes on.", "Crowds gather."]
    gold = [{"label": "title"}, {"label": "photo_caption"}, {"label": "body"}, {"label": "photo_caption"}]
    opened = train.open_captions(texts, gold)
    assert opened == ["Title", "A man walks past the houses", "The story goes on.", "Crowds gather"]
    assert train.open_captions(texts[:3], gold[:3]) is None  # one caption is too few


# --- the model ------------------------------------------------------------------------------------------


def test_shipped_model_loads_and_matches_the_features():
    model = load_model()
    assert model["features"] == list(FEATURE_NAMES)
    assert model["stage2_features"] == list(STAGE2_FEATURES)
    widths = {"stage1": len(FEATURE_NAMES), "stage2": len(FEATURE_NAMES) + len(STAGE2_FEATURES)}
    for stage, width in widths.items():
        parts = model[stage]["parts"] if model[stage].get("kind") == "blend" else [model[stage]]
        for part in parts:
            trees = classifier.stage_matrices(part)
            assert trees.baseline.size == len(MODEL_CLASSES)
            assert set(trees.tree_class.tolist()) == set(range(len(MODEL_CLASSES)))  # every class has trees
            assert trees.feature.max() < width  # no tree reads a column the stage does not have


def test_every_block_gets_a_known_label_and_a_score_in_range():
    text = (
        "Storm batters the coast\n\n"
        "Waves crash over the sea wall at Porthcawl on Sunday (Image: Getty)\n\n"
        "The storm brought winds of up to 80mph to the coast on Sunday, forecasters said.\n\n"
        "Residents were told to stay indoors while crews cleared fallen trees from the roads.\n\n"
        "Advertisement\n\n"
        "By Jane Doe 03/04/2021 09:15:00"
    )
    blocks = segment(text)
    classify_blocks(blocks)
    assert blocks[0].label == "title"
    assert (
        blocks[1].label == "photo_caption" and blocks[1].credit == "Getty" and blocks[1].media_type == "photo"
    )
    assert blocks[2].label == "body" and blocks[3].label == "body"
    assert blocks[4].label == "boilerplate"
    assert blocks[5].label == "byline"
    for block in blocks:
        assert block.label in LABELS
        assert 0.0 <= block.score <= 1.0


def test_video_caption_gets_video_media_type():
    texts = [
        "Headline",
        "The council voted on Tuesday to close the library, a spokesman said.",
        "Footage shows the moment the roof of the library collapses (Video: Jane Doe)",
        "Repairs will cost more than a million pounds, the council said.",
    ]
    labels = [label for label, _ in label_texts(texts)]
    assert labels[2] == "video_caption"


@pytest.mark.parametrize("mark", ["Video", "2:15", "Media playback is unsupported on your device"])
def test_a_caption_after_a_video_players_mark_is_a_videos(mark):
    story = (
        "The council voted on Tuesday to close the library after the storm, a spokesman for the council said."
    )
    texts = [
        "Headline",
        story,
        story.replace("Tuesday", "Monday"),
        mark,
        "Boats return to the harbour at dawn after the storm (Image: Getty)",
        story.replace("Tuesday", "Friday"),
        story.replace("Tuesday", "Sunday"),
    ]
    labels = [label for label, _ in label_texts(texts)]
    assert labels[4] == "video_caption"
    # A story paragraph between the mark and the caption: the player had no caption of its own.
    labels = [
        label for label, _ in label_texts([*texts[:4], story.replace("Tuesday", "Saturday"), *texts[4:]])
    ]
    assert labels[5] == "photo_caption"


@pytest.mark.parametrize("mark", ["Video", "12:38", "Media playback is unsupported on your device"])
def test_a_video_players_mark_heads_no_section(mark):
    """A player's tab or duration between story paragraphs is loose text, never a sub-heading (which would
    cut the story into sections for the captions' context)."""
    story = "The council voted on Tuesday to close the library after the storm, a spokesman said."
    texts = ["Headline", story, mark, story.replace("Tuesday", "Monday"), story.replace("Tuesday", "Friday")]
    labels = [label for label, _ in label_texts(texts)]
    assert labels[2] == "other"
    assert label_texts([*texts[:2], "Harbour repairs", *texts[3:]])[2][0] == "subheading"


@pytest.mark.parametrize(
    "line",
    [
        "Published May 07, 2025",
        "2 hours ago 10:05 Jane Roe",
        "Porthaven at dawn — Jane Roe (@jroe) May 7, 2025",
        "Updated: 9.45pm",
        "Business · Updated",
        "8 min read",
        "MORE: Storm closes the harbour bridge",
        "£ 205",
        "By Jane Roe and Sam Okafor",
        "IG: @porthaven.harbour",
    ],
)
def test_a_line_that_dates_the_page_or_links_away_heads_no_section(line):
    assert _label_in_story(line) not in ("subheading", "photo_caption", "video_caption")


def test_a_short_question_on_its_own_line_heads_a_section():
    """Explainers head their sections with questions ("What is in the plan?")."""
    story = [
        "The council voted on Tuesday to close the central library after the storm damaged its roof, a "
        "spokesman for the council said.",
        "Repairs are expected to cost more than a million pounds, and the building will stay shut until at "
        "least the spring.",
        "Residents have started a petition calling for a temporary library in the town hall, which has "
        "gathered 3,000 signatures.",
        "The council said it would look at every option but warned that money was tight after a difficult year.",
        "Volunteers have offered to help move the collection, which includes maps and records going back two "
        "centuries.",
    ]
    texts = ["Library to close after storm", *story[:3], "When will it reopen?", *story[3:]]
    assert [label for label, _ in label_texts(texts)][4] == "subheading"
    assert _asks_one_question("What happens to the books now?")
    assert _asks_one_question("Why now?”")
    assert not _asks_one_question("12. Why did the library close?")
    assert not _asks_one_question("Is it over? Is it really over?")
    assert not _asks_one_question("The library closed on Tuesday.")


@pytest.mark.parametrize(
    "line",
    [
        "Published May 07, 2025",
        "2 hours ago 10:05 Jane Roe",
        "Porthaven at dawn — Jane Roe (@jroe) May 7, 2025",
        "8 min read",
        "Business · Updated",
        "By Jane Roe and Sam Okafor",
        "MORE: Storm closes the harbour bridge",
        "jroe@example.com",
        "IG: @porthaven.harbour",
        "£ 205",
        "close",
        "Next »",
        "Published",
        "By",
    ],
)
def test_lines_that_head_no_section(line):
    assert _heads_no_section(line)


@pytest.mark.parametrize(
    "line",
    [
        "Harbour repairs",
        "More:",
        "By the numbers",
        "What happens next?",
        "2024 in review",
        "Next steps",
        "Conclusion",
    ],
)
def test_headings_are_not_taken_for_furniture(line):
    assert not _heads_no_section(line)


def test_a_credit_line_heads_no_section():
    """A lone credit is a caption's (credit-only) or loose text, never a sub-heading."""
    for line in ("Photo: Jane Roe, AP", "Jane Roe/Getty Images", "(Picture: Sam Okafor)"):
        assert not _heads_a_section(line, features.block_raw(line)[1]), line
    for line in ("Harbour repairs", "What happens to the books now?"):
        assert _heads_a_section(line, features.block_raw(line)[1]), line


def test_a_short_question_the_model_reads_as_story_heads_a_section():
    assert _is_question_heading("Who runs the harbour trust?", "closed")
    assert _is_question_heading("WHAT HAPPENS NEXT?", "closed")
    # Not: a question that does not open with a question word, a long one, a numbered one, two questions.
    assert not _is_question_heading("So where does that leave the council?", "closed")
    assert not _is_question_heading(
        "Could you say how the harbour trust began and what first drew you to work on its boats?", "closed"
    )
    assert not _is_question_heading("12. Why did the library close?", "closed")
    assert not _is_question_heading("Why? Why now?", "closed")


def test_an_author_line_is_a_name_after_by():
    assert AUTHOR_LINE.match("By Jane Roe") and AUTHOR_LINE.match("by Example News Agency")
    assert AUTHOR_LINE.match("By Jane Roe and Sam Okafor")
    assert not AUTHOR_LINE.match("By the numbers") and not AUTHOR_LINE.match("By Jane Roe, who was there")


def test_a_share_bar_is_boilerplate():
    assert signals.is_share_bar("Facebook Twitter Email LinkedIn Reddit Pinterest")
    assert signals.is_share_bar("Share on Facebook | Share on X | Email")
    assert not signals.is_share_bar("Facebook Twitter")  # two names may be a sentence's subject
    assert not signals.is_share_bar("Facebook and Twitter shares fell")
    assert _label_in_story("Facebook Twitter Email LinkedIn Reddit Pinterest") == "boilerplate"


def test_a_credit_line_to_anyone_is_a_photo_caption():
    for line in (
        "Screenshot by Jane Roe/Porthaven News",
        "Photo composite by Jane Roe and Sam Okafor",
        "Illustration courtesy of Maria Lopez",
        "Screenshot by Jane R. Roe/Porthaven Weekly",
        "Image montage adapted from Porthaven Weekly: The Harbour Years",
    ):
        assert signals.is_picture_credit_line(line), line
    for line in (
        "Photos from the Porthaven fair",  # a gallery's heading
        "Pictures by readers",  # no name
        "Images: Smile | Window",  # a list, not a credit
        "Photo by Jane Roe. The fire spread through the old harbour warehouses overnight.",
        "Photo: Jane Roe, AP",  # credits to known agencies are is_credit_only's: the model decides
        "(Photo courtesy of Porthaven Council)",
    ):
        assert not signals.is_picture_credit_line(line), line
    assert _label_in_story("Screenshot by Jane Roe/Porthaven News") == "photo_caption"


def test_a_sentence_labelled_image_is_a_photo_caption():
    caption = (
        "Image: Jane Roe has replaced Sam Okafor as manager of Porthaven Rovers."  # the model: story text
    )
    assert _label_in_story(caption, before=2) == "photo_caption"
    assert classifier.PICTURE_LABEL.match(caption) and not classifier.PICTURE_LABEL.match("Video: the flood")


def test_an_uncredited_caption_on_a_page_that_credits_its_captions_is_a_headline():
    credited = "Boats wait in the inner basin of Porthaven harbour (Picture: Jane Roe)"
    headline = "Council says the harbour wall will be rebuilt by the spring"
    texts = ["Headline", credited, STORY_LINE, credited, STORY_LINE, credited, headline, STORY_LINE]
    texts.append("Sam Okafor (pictured) at the harbour on Sunday")
    _, endings = article_features(texts)
    assert endings[1].startswith("bracket") and endings[6] == "open_long" and endings[8] == "open"
    caption, body = MODEL_CLASSES.index("caption"), MODEL_CLASSES.index("body")
    probs = np.full((len(texts), len(MODEL_CLASSES)), 0.01)
    labels = []
    for i, text in enumerate(texts):
        is_caption = text in (credited, headline) or "(pictured)" in text
        probs[i, caption if is_caption else body] = 0.9
        labels.append(("photo_caption" if is_caption else "body", 0.9))
    fewer = [("body", 0.9) if i == 5 else label for i, label in enumerate(labels)]
    classifier._uncredited_on_a_credited_page(texts, endings, labels, probs)
    assert [label for label, _ in labels].count("photo_caption") == 4  # the headline is not one
    assert labels[6][0] == "body" and labels[8][0] == "photo_caption"  # "(pictured)" points at a picture
    classifier._uncredited_on_a_credited_page(texts, endings, fewer, probs)
    assert fewer[6][0] == "photo_caption"  # two credited captions are too few to tell the page's style


def test_a_sentence_closed_by_a_credit_phrase_is_a_caption_even_read_as_story_text():
    # The model reads both as story paragraphs; no story paragraph in the corpus ends this way.
    for line in (
        "The council has said the harbour wall will be rebuilt by a local firm over the next two years at a "
        "cost of four million pounds. Jane Roe for Porthaven Weekly",
        "Over the winter the harbour lost a fifth of its moorings to the storms, the council's own survey "
        "shows. PORTHAVEN WEEKLY FILE PHOTO",
    ):
        assert _label_in_story(line) == "photo_caption", line
    assert (
        _label_in_story("The council has said the harbour wall will be rebuilt. Jane Roe said so.") == "body"
    )


CREDIT_PHRASE_PIECES = [
    "A crowd waits on the quay",
    "at the harbour",
    "Jane Roe",
    "Porthaven",
    "for",
    "Example News",
    "via",
    "the",
    "and",
    "of",
    "quay",
    "x",
    "AP",
    "Mr",
    ".",
    ". ",
    ".\n",
    ".\xa0",
    "! ",
    "? ",
    " ",
    "\n",
    "\xa0",
    "’",
    "'",
    "&",
    "/",
    "-",
    "_",
    ")",
    '"',
    "1",
    "é",
    "Émile",
    "İ",
]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(CREDIT_PHRASE_PIECES), max_size=14).map("".join))
def test_the_credit_phrase_gate_never_changes_a_result(text):
    """_may_close_with_credit_phrase, the cheap checks before the phrase pattern, only skips blocks where
    _credit_phrase finds nothing."""
    if not signals._may_close_with_credit_phrase(text):
        assert signals._credit_phrase(text, max(0, len(text) - signals.TAIL)) is None


@pytest.mark.parametrize(
    "credit", ["Jane Roe for Example News", "Studio54", "Jane Roe’", "Jane Roe/", "Jane_Roe-"]
)
def test_the_credit_phrase_gate_passes_a_sentence_and_its_credit(credit):
    """Every way a credit phrase may end (a letter, a digit, or one of CREDIT_PHRASE_LAST) passes the gate."""
    text = f"A crowd waits on the quay for the ferry. {credit}"
    assert signals._may_close_with_credit_phrase(text)
    assert signals._sentence_credit(text) == credit
    assert not signals._may_close_with_credit_phrase(text + ".")


def test_a_description_closed_by_a_photographer_and_outlet_is_a_caption():
    # No full stop before the credit and no agency named: the page credits its own photographer.
    line = (
        "Jane Roe wears a borrowed coat at the opening of the Porthaven Festival Sam Okafor/Porthaven Gazette"
    )
    assert _label_in_story(line) == "photo_caption"
    assert caption_fields(line)[1] == "Sam Okafor/Porthaven Gazette"  # "Festival" is not part of the name
    assert signals._sentence_credit("Crowds on the quay at dawn Maria Lopez Roe/Instagram") == (
        "Maria Lopez Roe/Instagram"
    )
    for line in (
        "Firm Chop / Crud",  # headings paired with a slash
        "By Jane Roe / Porthaven Gazette Staff Writers",  # a byline
        "The harbour band played its own songs and a cover of AC/DC",  # not a name of two words
        "Jane Roe/Porthaven Gazette",  # nothing described: a credit line, left to the model
    ):
        assert signals._sentence_credit(line) is None, line


def test_the_wire_formula_in_this_picture_makes_a_caption():
    for line in (
        "Smoke rises over the Porthaven harbour after the storm on Sunday in this handout picture released by "
        "the council.",
        "In this June 20, 2024, file photo, Jane Roe speaks to reporters outside the council offices in "
        "Porthaven.",
    ):
        assert classifier.IN_THIS_PICTURE.search(line), line
        assert _label_in_story(line) == "photo_caption", line
    for line in (
        "In this image-conscious age the council wants the harbour to look its best for the summer visitors.",
        "I always had this image that the harbour would be rebuilt, she said.",
        "In this still uncertain climate the council has put off its vote on the harbour wall until May.",
    ):
        assert not classifier.IN_THIS_PICTURE.search(line), line


def test_a_line_that_ends_with_a_colon_is_never_a_caption():
    assert classifier._never_a_caption("The harbour wall can be rebuilt in three ways:")
    assert not classifier._never_a_caption("Porthaven: the harbour wall after the storm")


def test_player_marks_are_whole_lines():
    for mark in ("Video", "WATCH", "1:30", "Duration: 12:38", "Your browser does not support the video tag."):
        assert signals.PLAYER_MARK.fullmatch(mark), mark
    for text in ("Video games are booming", "Watch out", "At 1:30 the doors opened", "Play"):
        assert not signals.PLAYER_MARK.fullmatch(text), text


def test_a_line_saying_how_long_ago_is_loose_text():
    story = (
        "The council voted on Tuesday to close the library after the storm, a spokesman for the council said."
    )
    for stamp in ("1 day ago", "Last updated 21 hours ago", "9 Hrs Ago", "an hour ago"):
        assert signals.TIME_AGO.fullmatch(stamp), stamp
        texts = [
            "Headline",
            story,
            stamp,
            "Boats return to the harbour at dawn",
            story,
            story.replace("Tue", "Wed"),
        ]
        label, score = label_texts(texts)[2]
        assert label == "other", stamp
        assert 0.6 <= score <= 1.0
    # A clock time is left to the model (pages put "Updated: 9.45pm" in a story paragraph).
    for text in ("Updated: 9.45pm", "03:26 pm", "Ten years ago the library opened"):
        assert not signals.TIME_AGO.fullmatch(text), text


def test_an_author_line_under_the_headline_is_the_byline():
    story = [STORY_LINE.replace("Tuesday", day) for day in STORY_DAYS]
    for line in ("By JANE ROE, SAM OKAFOR and MARIA LOPEZ Associated Press", "by Porthaven Harbour Trust"):
        labels = [label for label, _ in label_texts(["Headline", line, *story])]
        assert labels[1] == "byline", line
    # A sentence that opens with "By" is story text; "By the numbers" is a heading, not an author.
    opening = "By the time the ferry arrived, the harbour wall had already given way, the council said."
    assert label_texts(["Headline", opening, *story])[1][0] == "body"
    assert not AUTHOR_LINE.match("By the numbers")


def test_author_lines_do_not_backtrack_through_white_space():
    """Gaps of many spaces between capitalised words once let AUTHOR_LINE split each gap every way it could
    (hours for one line of ten names): it must give up at once. A subprocess with a generous limit, so that
    a regression fails instead of hanging the suite."""
    line = "By Jane" + ("  " * 10 + "Roe") * 10 + "   x"
    code = (
        "from captionset.classify.classifier import AUTHOR_LINE, label_texts\n"
        f"assert AUTHOR_LINE.match({line!r}) is None\n"
        f"label_texts(['Headline', {line!r}, {STORY_LINE!r}])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_embedded_social_post_is_loose_text():
    """A tweet or Instagram post quoted in the page, with its signature, is furniture: neither story nor caption."""
    for post in (
        "The harbour looks wonderful this morning, well done to every crew who worked through the night on "
        "the wall. — Jane Roe (@jroe_porthaven) May 7, 2025",
        "Proud of the volunteers at the lifeboat station today #Porthaven pic.twitter.com/abc123 — Porthaven "
        "Council (@PorthavenCC) 12 March 2024",
        "View this post on Instagram Sunrise over the quay A post shared by Sam Okafor (@sam.okafor) on Jun 3, "
        "2021 at 7:10pm EDT",
    ):
        assert signals.is_embedded_post(post), post
        assert _label_in_story(post) == "other", post
    # A story paragraph that names a handle is still story.
    line = "Jane Roe (@jroe) said on Tuesday that the council had voted to close the library after the storm."
    assert not signals.is_embedded_post(line)
    assert _label_in_story(line) == "body"


def test_the_models_caption_has_a_caption_length(monkeypatch):
    """A block the model calls a caption but longer than CAPTION_MAX_WORDS is read as its next-likeliest
    label: such "captions" were lists and long story paragraphs."""
    from captionset.classify import classifier

    def caption_everywhere(texts, model):
        probs = np.tile([0.2, 0.5, 0.2, 0.05, 0.05], (len(texts), 1))
        return probs, ["open"] * len(texts)

    monkeypatch.setattr(classifier, "_probabilities_and_endings", caption_everywhere)
    words = "the old town hall stands empty after the flood"
    short = " ".join([words] * 6)  # 54 words
    long = " ".join([words] * 17)  # 153 words
    assert len(long.split()) > classifier.CAPTION_MAX_WORDS >= len(short.split())
    labels = [label for label, _ in label_texts(["Headline", short, long, short])]
    assert labels == ["title", "photo_caption", "body", "photo_caption"]


def test_a_bracket_of_numbers_is_no_credit():
    assert signals.credit_match("The Porthaven Cruiser, 185 cm (21/22–23/24)") is None
    assert signals.credit_match("Fans wait outside (AP Photo/Jane Doe)")[:2] == (
        "bracket",
        "AP Photo/Jane Doe",
    )


def test_empty_article_has_no_labels():
    assert label_texts([]) == []


def test_logistic_training_is_reproducible():
    train = _train_module()
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int) * 2
    w = np.ones(300)

    def checksum() -> str:
        stage = train.fit_logistic_stage(x, y, w, l2=1.0)
        return hashlib.sha256(json.dumps(stage, sort_keys=True).encode()).hexdigest()

    first = checksum()
    assert first == checksum()
    stage = train.fit_logistic_stage(x, y, w, l2=1.0)
    # The fitted weights point the right way: feature 0 raises class 1 (caption) against class 0 (body).
    assert stage["weights"][MODEL_CLASSES[1]][0] > stage["weights"][MODEL_CLASSES[0]][0]


def test_tree_training_is_reproducible_and_learns():
    pytest.importorskip("sklearn")
    train = _train_module()
    rng = np.random.default_rng(11)
    x = rng.normal(size=(400, 8))
    y = np.select(
        [x[:, 4] > 1.2, x[:, 3] > 1.0, x[:, 0] + x[:, 1] * x[:, 2] > 0.5, x[:, 5] > 0], [4, 3, 2, 1], 0
    )
    w = rng.uniform(0.5, 2.0, size=400)
    options = train.FitOptions(rounds=30, depth=3, min_leaf=5, learning_rate=0.3)
    stage = train.fit_tree_stage(x, y, w, options)
    # Reproducible whatever the number of threads scikit-learn uses.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        again = train.fit_tree_stage(x, y, w, options)
    assert json.dumps(again, sort_keys=True) == json.dumps(stage, sort_keys=True)
    probs = predict_stage(x, stage)
    assert probs.shape == (400, len(MODEL_CLASSES))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # It learned the classes: most rows get their own class.
    assert (probs.argmax(axis=1) == y).mean() > 0.9


def test_bullet_list_inside_the_story_is_body_not_a_heading():
    texts = [
        "Headline",
        "The new airer dries a full load of washing in about four hours, the maker said on Monday.",
        "It folds flat when it is not in use and comes with a cover that keeps the heat in.",
        "• Draws 300W",
        "• Holds 15kg of washing",
        "• Three year guarantee",
        "Shops expect the airers to sell out again before the winter, retailers said.",
    ]
    labels = [label for label, _ in label_texts(texts)]
    assert labels[3:6] == ["body", "body", "body"]
    # Before the story, a bullet block is the highlights.
    assert label_texts(["Headline", "• One\n• Two", texts[1]])[1][0] == "highlight"


@pytest.mark.parametrize(
    "caption",
    [
        "The couple on their wedding day in Cornwall two years before the crash Credit: Supplied",
        "Firefighters spent the night at the scene of the blaze (Image: Getty)",
        "Volunteers hand out food parcels outside the hall [Photo: Reuters]",
    ],
)
def test_a_block_closing_with_a_picture_credit_is_a_caption(caption):
    texts = [
        "Headline",
        "The family said they had been overwhelmed by messages of support since the news broke.",
        caption,
        "A fundraising page set up by friends has raised more than £20,000 so far, they said.",
        "Advertisement",
    ]
    assert label_texts(texts)[2][0] == "photo_caption"
    assert not classifier._ends_in_caption_credit("Credit: Supplied")
    assert not classifier._ends_in_caption_credit("Pictured (Image: Getty)")


@pytest.mark.parametrize(
    "caption",
    [
        "FILE - Volunteers sort donated coats at the community hall in Porthaven, on Jan. 12, 2024, the "
        "week the shelter opened its doors to families who had lost their homes in the floods that winter.",
        "FILE PHOTO: Volunteers sort donated coats at the community hall in Porthaven, Britain, January 12, "
        "2024, the week the shelter opened its doors to families who had lost their homes in the floods.",
    ],
)
def test_a_wire_service_file_photo_is_a_caption(caption):
    """AP's "FILE - " and Reuters' "FILE PHOTO:" open captions of archive pictures, however long."""
    story = (
        "The shelter has taken in more than 200 families since it opened, and its organisers said on "
        "Monday that they expected the number to keep growing as the cold weather continued this month."
    )
    texts = [
        "Headline",
        story,
        story.replace("200", "300"),
        caption,
        story.replace("200", "400"),
        story,
        "End",
    ]
    label, score = label_texts(texts)[3]
    assert label == "photo_caption"
    # Its score is the model's belief in a caption (at least 0.6), not in the label the rule overruled.
    caption_p = float(
        classifier.model_probabilities(texts, classifier.load_model())[3, classifier.CAPTION_CLASS]
    )
    assert score == classifier._shown_score(max(caption_p, 0.6))
    assert (
        label_texts(
            [*texts[:3], "Files from the inquiry were published on Monday, officials said.", *texts[4:]]
        )[3][0]
        != "photo_caption"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maria Lopez helps her son with his homework April 14, 2024, in Porthaven, Maine.", True),
        (
            "Porthaven Rovers' Sam Okafor scores during the first half on Tuesday, March 3, 2022, in Leeds.",
            True,
        ),
        (
            "Jane Roe, chief executive of Acme Co., speaks at the summit March 9, 2021 in Washington.",
            True,
        ),
        ("Rescuers (left) are seen at the site of the collapse on 7 May 2025 in Porthaven", True),
        # One sentence only, no attribution, quotes, first person or link; a full date; a named subject.
        ("Maria Lopez helps her son April 14, 2024. The school reopened. It had been shut for weeks.", False),
        ("Maria Lopez was arrested on Nov. 8, 2023, police said.", False),
        ("Maria Lopez has won again this season Mar. 3, 2022 7:15 AM EST", False),
        ("The shares rise 3% on Jan. 5, 2024, after the results.", False),
        ('Maria Lopez says "we will rebuild" on Jan. 5, 2024.', False),
        ("I visit my mother in Porthaven on May 7, 2025.", False),
        ("Maria Lopez helps her son with his homework in Porthaven.", False),
        ("Maria Lopez helps her son " + "and his friends " * 30 + "on April 14, 2024.", False),
    ],
)
def test_a_dated_scene_reads_like_a_wire_caption(text, expected):
    assert signals.is_dated_scene(text) is expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("The mayor (left) may be forced to replace her deputy (right)", True),
        ("The mayor (pictured) opened the bridge", True),
        ("Front row (L) to (R): the winning crew", True),
        ("Clockwise (clockwise from top left): the four finalists", True),
        ("What is left for the left (and the right)?", False),
        ("Pictured: the mayor", False),
        ("The results (see below for the full table)", False),
    ],
)
def test_position_mark(text, found):
    assert bool(signals.POSITION_MARK.search(text)) is found


@pytest.mark.parametrize(
    ("line", "plain"),
    [
        (
            "Mayor Jane Roe (left) may be forced to replace her deputy (right)",
            "Mayor Jane Roe and her deputy",
        ),
        (
            "A rocket stands on the Porthaven launchpad. Porthaven Space",
            "A rocket on the Porthaven launchpad",
        ),
    ],
)
def test_a_heading_like_line_that_points_at_a_picture_is_a_caption(monkeypatch, line, plain):
    """A short unclosed line the model reads as loose text is a sub-heading, unless it points at people in
    a picture or closes a sentence with a credit. (The model is made to read the line as "other", so that
    the rule is what decides.)"""
    story = (
        "The shelter has taken in more than 200 families since it opened, and its organisers said on "
        "Monday that they expected the number to keep growing as the cold weather continued this month."
    )
    texts = ["Headline", story, story.replace("200", "300"), line, story.replace("200", "400"), story, "End"]
    real = classifier._probabilities_and_endings

    def other_at_3(texts, model):
        probs, endings = real(texts, model)
        probs = probs.copy()
        probs[3] = 0.0
        probs[3, classifier.OTHER_CLASS] = 0.9
        return probs, endings

    monkeypatch.setattr(classifier, "_probabilities_and_endings", other_at_3)
    assert label_texts(texts)[3] == ("photo_caption", 0.6)
    assert label_texts([*texts[:3], plain, *texts[4:]])[3][0] == "subheading"


@pytest.mark.parametrize(
    ("text", "stamp"),
    [
        ("Updated: 9.45pm", True),
        ("Thu, Mar 3, 2022 - 7:15 AM", True),
        ("Published 10:48 GMT", True),
        ("Last updated at 9.45pm", True),
        ("Tuesday 10:48", True),
        ("Fireworks light up the sky at 9pm", False),
        ("The 9:30 train from Porthaven", False),
        ("1:30", False),  # a video's duration, not a time of day
        ("Budget Speech 2:45", False),
        ("Updated: the council met again on Tuesday at 9.45pm to vote", False),
    ],
)
def test_time_stamp(text, stamp):
    assert signals.is_time_stamp(text) is stamp


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ("Business · Updated", True),
        ("Profile | Jane Roe", True),
        ("News · Porthaven · Weather", True),
        ("Jane Roe | Getty Images", False),  # a credit line: the credit rules decide
        ("Photo: Jane Roe | AP", False),
        ("Jane Roe at the Porthaven testing lab, where the samples are kept | photo by Sam Okafor", False),
        ("Business", False),
    ],
)
def test_label_row(text, row):
    assert signals.is_label_row(text) is row


def test_a_time_stamp_is_never_a_caption(monkeypatch):
    """Nor is a row of labels, even when the model reads them as one: the rule falls back to the model's likeliest other class."""
    story = "The council said the new harbour wall would be finished before the autumn tides arrive."
    texts = ["Headline", story, "Updated: 9.45pm", story.replace("council", "mayor"), "End"]
    rows = [*texts[:2], "Profile | Jane Roe", *texts[3:]]
    real = classifier._probabilities_and_endings

    def caption_at_2(texts, model):
        probs, endings = real(texts, model)
        probs = probs.copy()
        probs[2] = [0.3, 0.6, 0.1, 0.0, 0.0]  # body, caption, other, boilerplate, byline
        return probs, endings

    monkeypatch.setattr(classifier, "_probabilities_and_endings", caption_at_2)
    assert label_texts(texts)[2][0] == "body"
    assert label_texts(rows)[2][0] == "body"  # a row of short labels, likewise


def test_a_dated_scene_between_story_paragraphs_is_a_caption():
    """AP's caption formula (who does what, now, on which full date, where) is a caption even with no credit
    and a closing full stop, which the model alone reads as a story paragraph on some sites."""
    story = (
        "The shelter has taken in more than 200 families since it opened, and its organisers said on "
        "Monday that they expected the number to keep growing as the cold weather continued this month."
    )
    scene = "Volunteer Maria Lopez sorts donated coats at the community hall on Tuesday, Jan. 9, 2024, in Porthaven."
    texts = ["Headline", story, story.replace("200", "300"), scene, story.replace("200", "400"), story, "End"]
    assert label_texts(texts)[3][0] == "photo_caption"
    told = "Volunteer Maria Lopez sorted donated coats at the hall on Tuesday, Jan. 9, 2024, her family said."
    assert label_texts([*texts[:3], told, *texts[4:]])[3][0] == "body"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FILE - In this May 3, 2021, file photo, a runner crosses the line", True),
        ("Rescuers are seen at the site of the collapse on Tuesday", True),
        ("The harbour is shown in this image taken from a drone", True),
        ("He is seen as the favourite to win the seat", False),
        ("Files from the inquiry were published on Monday.", False),
        ("The council said the photos would be released later.", False),
    ],
)
def test_photo_phrase(text, expected):
    assert features._photo_phrase(text, text.lower()) is expected


def test_an_unclosed_sentence_next_to_a_run_of_unclosed_captions_joins_the_run():
    story = [
        "The storm brought down power lines across the county on Sunday night, leaving thousands of homes "
        "without electricity for most of Monday, the supplier said in a statement.",
        "Engineers worked through the night to restore supplies to the worst-hit villages, where some "
        "residents had been without power or heating for more than a day by Monday evening.",
        "The council opened three rest centres for people who could not stay in their homes and said it "
        "would keep them open for as long as they were needed by families in the area.",
    ]
    run = [
        "A fallen tree blocks the main road into the village after the storm passed overnight",
        "Engineers repair a damaged power line on the edge of the town on Monday morning",
        "Residents clear debris from a garden after the roof of a shed was torn off by the wind",
    ]
    texts = ["Headline", *story, *run, *story]
    _, endings = features.article_features(texts)
    model_says = ["title", "body", "body", "body", "body", "photo_caption", "photo_caption"] + ["body"] * 3
    labels = [(label, 0.5) for label in model_says]
    classifier._join_caption_runs(texts, endings, labels)
    assert [label for label, _ in labels] == ["title"] + ["body"] * 3 + ["photo_caption"] * 3 + ["body"] * 3
    # Not on a page whose story paragraphs do not close either.
    unclosed = [t.rstrip(".") for t in texts]
    labels = [(label, 0.5) for label in model_says]
    classifier._join_caption_runs(unclosed, features.article_features(unclosed)[1], labels)
    assert labels[4][0] == "body"
    # Imperative furniture never joins a run.
    assert classifier.FURNITURE_LEAD.match("Scroll down for video of the storm")
    assert not classifier.FURNITURE_LEAD.match(run[0])


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        ("Scroll down for video", True),
        ("MORE: Council approves the new harbour plan", True),
        ("READ MORE Get 75% off an annual subscription", True),
        ("Related: Five things to know about the storm", True),
        ("Click here to watch live", True),
        ("Tapestry of the old town hangs in the hall", False),
        ("More than 400 homes were left without power", False),
    ],
)
def test_furniture_leads_are_never_captions(text, lead):
    assert bool(classifier.FURNITURE_LEAD.match(text)) is lead


def test_a_furniture_lead_takes_its_best_other_class():
    probs = np.array([0.2, 0.5, 0.25, 0.05, 0.0])  # caption first, then other
    assert MODEL_CLASSES[int(probs.argmax())] == "caption"
    assert classifier._best_non_caption(probs) == "other"
