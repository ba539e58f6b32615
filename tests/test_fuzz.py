"""Fuzz parse_article, align and build with article-like input (a few examples here; scripts/fuzz.py runs
10,000+). Strategies and invariants live in tests/fuzzing.py."""

from __future__ import annotations

import pytest
from fuzzing import ARTICLE_BYTES, ARTICLE_TEXT, FILES, build_property, parse_property
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW_OK)
@given(ARTICLE_TEXT)
def test_parse_and_align_keep_their_invariants_on_article_like_text(text):
    parse_property(text)


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW_OK)
@given(ARTICLE_BYTES)
def test_parse_and_align_on_encoded_noisy_bytes(data):
    parse_property(data)


@settings(max_examples=15, deadline=None, suppress_health_check=SLOW_OK)
@given(FILES)
def test_build_never_raises_and_accounts_for_every_input(files):
    build_property(files)
