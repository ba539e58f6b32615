"""Classifying: give every block a label and a confidence, and extract caption fields."""

from .classifier import classify_blocks
from .signals import caption_fields

__all__ = ["caption_fields", "classify_blocks"]
