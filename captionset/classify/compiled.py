"""The optional C extension (``_speedups``): whether to use it, and importing it.

It only makes the classifier faster: features.py and trees.py keep the same computations in Python, which
``CAPTIONSET_PURE_PYTHON=1`` forces (tests compare the two; hatch_build.py honours the same switch).
"""

from __future__ import annotations

import os
from types import ModuleType

#: The environment variable that asks for the pure-Python path.
PURE_PYTHON_VARIABLE = "CAPTIONSET_PURE_PYTHON"


def pure_python_requested() -> bool:
    """Does the environment ask for no compiled code?"""
    return os.environ.get(PURE_PYTHON_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def import_speedups() -> ModuleType | None:
    """The compiled extension, or None when it was not built or the pure-Python path is asked for."""
    if pure_python_requested():
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups
