"""Mapping one record of a JSONL/CSV/Parquet/HF input to a RawRecord, or to a Reject saying what is wrong."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..ids import article_id_for
from ..model import RawRecord, Reject
from .base import SourceOptions
from .cnndm import cnndm_highlights, rebuild_article

#: Fields of the Hugging Face cnn_dailymail rows.
CNNDM_TEXT, CNNDM_HIGHLIGHTS, CNNDM_ID = "article", "highlights", "id"
#: The fields read when the options name none: (id, title, url, published date).
DEFAULT_FIELDS = ("id", "title", "url", "date")


def meta_fields(options: SourceOptions) -> tuple[str, str, str, str]:
    """The (id, title, url, date) field names: the options' own, else the conventional names."""
    given = (options.id_field, options.title_field, options.url_field, options.date_field)
    return tuple(g or d for g, d in zip(given, DEFAULT_FIELDS, strict=True))  # type: ignore[return-value]


def text_field_for(kind: str, options: SourceOptions) -> str:
    """The field that holds an article's text for this kind of record."""
    return CNNDM_TEXT if kind == "cnndm" else options.text_field


def fields_needed(kind: str, options: SourceOptions) -> list[str]:
    """The columns a reader must load (so Parquet/Arrow readers skip everything else)."""
    if kind == "cnndm":
        names = [CNNDM_TEXT, CNNDM_HIGHLIGHTS, options.id_field or CNNDM_ID]
    else:
        names = [options.text_field, *meta_fields(options)]
    return list(dict.fromkeys(n for n in names if n))


def guess_kind(columns: set[str] | list[str], options: SourceOptions) -> str:
    """cnndm when the columns are those of cnn_dailymail and the text field is absent, else fields."""
    if options.format == "cnndm":
        return "cnndm"
    if options.text_field not in columns and CNNDM_TEXT in columns and CNNDM_HIGHLIGHTS in columns:
        return "cnndm"
    return "fields"


def _optional_str(value: Any, field: str) -> str | None:
    """A title/url/id value as text; None when absent; TypeError for values that are not scalars."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        raise TypeError(f"field {field!r} is a boolean")
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"field {field!r} is {type(value).__name__}, not a string")


def _date_str(value: Any, field: str) -> str | None:
    """A published date as ISO text: strings as given, dates and timestamps formatted."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "isoformat") and callable(value.isoformat):  # pandas Timestamp
        return str(value.isoformat())
    return _optional_str(value, field)


def map_record(
    row: Mapping[str, Any], *, source: str, name: str, number: int, kind: str, options: SourceOptions
) -> RawRecord | Reject:
    """One record as an article; name (path relative to the input root) and number give a fallback id."""
    if not isinstance(row, Mapping):
        return Reject(source, "bad_record", f"a record must be an object, not {type(row).__name__}")
    text_field = text_field_for(kind, options)
    if text_field not in row or row[text_field] is None:
        return Reject(source, "missing_field", f"no {text_field!r} field")
    text = row[text_field]
    if not isinstance(text, str | bytes):
        return Reject(source, "bad_field", f"field {text_field!r} is {type(text).__name__}, not a string")
    if not text.strip():
        return Reject(source, "empty", f"field {text_field!r} is empty")
    try:
        if kind == "cnndm":
            id_field = options.id_field or CNNDM_ID
            given_id = _optional_str(row.get(id_field), id_field)
            highlights = row.get(CNNDM_HIGHLIGHTS)
            if highlights is not None and not isinstance(highlights, str):
                raise TypeError(f"field {CNNDM_HIGHLIGHTS!r} is {type(highlights).__name__}, not a string")
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            title = url = published = None
            data: str | bytes = rebuild_article(text, blocks=options.cnndm_blocks)
            highlight_list: list[str] | None = cnndm_highlights(highlights or "")
        else:
            id_field, title_field, url_field, date_field = meta_fields(options)
            given_id = _optional_str(row.get(id_field), id_field)
            title = _optional_str(row.get(title_field), title_field)
            url = _optional_str(row.get(url_field), url_field)
            published = _date_str(row.get(date_field), date_field)
            data, highlight_list = text, None
    except TypeError as error:
        return Reject(source, "bad_field", str(error))
    article_id = given_id or article_id_for(url if url else f"{name}:{number}")
    return RawRecord(
        source=source,
        article_id=article_id,
        data=data,
        title=title,
        url=url,
        published=published,
        highlights=highlight_list,
        meta={"has_title": False} if kind == "cnndm" else {},
    )
