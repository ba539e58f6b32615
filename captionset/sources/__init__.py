"""Sources: turn inputs (files, folders, exports) into a stable stream of raw records."""

from .files import find_files

__all__ = ["find_files"]
