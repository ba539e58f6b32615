"""captionset: turn news articles into a media-caption dataset for machine-learning research."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("captionset")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

from .align import AlignOptions, align
from .build import BuildResult, build
from .build import resplit as split
from .evaluate import AlignmentReport, EvalReport, evaluate, evaluate_alignment
from .load import load, show, stats
from .model import Article, Block, Caption, RawRecord, Reject, Related
from .parse import ParseOptions, parse_article

__all__ = [
    "AlignOptions",
    "AlignmentReport",
    "Article",
    "Block",
    "BuildResult",
    "Caption",
    "EvalReport",
    "ParseOptions",
    "RawRecord",
    "Reject",
    "Related",
    "__version__",
    "align",
    "build",
    "evaluate",
    "evaluate_alignment",
    "load",
    "parse_article",
    "show",
    "split",
    "stats",
]
