"""The optional C extensions (``_speedups`` and the others of hatch_build.EXTENSIONS): whether to use
them, and importing them.

They only make things faster: features.py, trees.py, align.py and splits.py keep the same computations in
Python, which ``CAPTIONSET_PURE_PYTHON=1`` forces (tests compare the two; hatch_build.py honours the same
switch).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

#: The environment variable that asks for the pure-Python path.
PURE_PYTHON_VARIABLE = "CAPTIONSET_PURE_PYTHON"


def pure_python_requested() -> bool:
    """Does the environment ask for no compiled code?"""
    return os.environ.get(PURE_PYTHON_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def import_extension(name: str) -> ModuleType | None:
    """A compiled extension of captionset by its import name (``captionset._align_speedups``), or None
    when it was not built or the pure-Python path is asked for: every extension has a Python definition
    that gives the same results."""
    if pure_python_requested():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def import_speedups() -> ModuleType | None:
    """The classifier's extension (``captionset.classify._speedups``), or None."""
    return import_extension(f"{__package__}._speedups")
