"""The default corpus: a handful of articles written for captionset, shipped inside the package.

A wheel carries them as ``captionset/_corpus`` (pyproject force-includes ``data/corpus`` there); a source
checkout or an editable install reads the repository's ``data/corpus`` instead.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
#: Where a wheel installs the default corpus.
INSTALLED_CORPUS = _PACKAGE_DIR / "_corpus"
#: Where the default corpus lives in a source checkout.
SOURCE_CORPUS = _PACKAGE_DIR.parent / "data" / "corpus"


def default_corpus_dir() -> Path:
    """The folder of default-corpus articles (``*.txt``): the installed copy first, else the checkout's."""
    for candidate in (INSTALLED_CORPUS, SOURCE_CORPUS):
        if candidate.is_dir() and any(candidate.glob("*.txt")):
            return candidate
    raise FileNotFoundError(
        f"the default corpus is missing: neither {INSTALLED_CORPUS} nor {SOURCE_CORPUS} holds *.txt files"
    )
