"""Building a dataset: shards are parsed in parallel into parts, then split, written and renamed into place.

``DIR.partial/`` beside the output holds the work: ``parts/`` (each shard's Parquet parts, rejects and, written
last, its done-marker) and ``out/`` (the dataset being assembled). Only when everything is written is
``out/`` renamed to ``DIR``, so a crash never leaves a half-written dataset, and ``--resume`` can skip the
shards whose done-marker matches the build's options.

The row order of every file is the input order (shards in index order, records in order within a shard),
and row groups are cut at fixed row counts, so the bytes never depend on worker count, engine or the order
in which shards finish.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import __version__
from .align import DEFAULT_ALIGN_OPTIONS, AlignOptions, align
from .executors import default_workers
from .ids import stable_hash
from .model import Article, RawRecord, Reject
from .parse import DEFAULT_PARSE_OPTIONS, ParseOptions, parse_article, writable_text
from .schema import (
    ARTICLES,
    BLOCKS,
    CAPTIONS,
    KEYS,
    TABLES,
    article_row,
    caption_row,
    to_utc,
)
from .sources import DEFAULT_SOURCE_OPTIONS, ShardSpec, SourceOptions, plan_shards, read_slice
from .splits import (
    NEAR_DUPLICATE_JACCARD,
    NUM_PERM,
    SPLIT_NAMES,
    SplitRule,
    assign_splits,
    body_signatures,
    group_labels,
    text_key,
)
from .text import DecodeError
from .write import ShardedWriter, SplitFiles, atomic_write_text, file_metadata, write_jsonl, write_table

log = logging.getLogger("captionset")

#: Articles per shard: small enough to balance two workers on a small corpus, big enough that per-shard
#: overhead (process start, file writes) stays small. Output bytes do not depend on it.
ARTICLES_PER_SHARD = 500
PARTIAL_SUFFIX = ".partial"
#: Seconds one article may take (parse, align, rows) before it is rejected with reason ``timeout``: far
#: beyond any real article (milliseconds), so only a pathological one hits it and the worker moves on.
ARTICLE_TIMEOUT = 60.0


# ---------------------------------------------------------------------------------------------------------
# Per shard work (runs in workers)


@dataclass(frozen=True, slots=True)
class ShardTask:
    """Everything a worker needs for one shard: picklable, and the same on every engine."""

    spec: ShardSpec
    parts_dir: str
    fingerprint: str
    source_options: SourceOptions = DEFAULT_SOURCE_OPTIONS
    parse_options: ParseOptions = DEFAULT_PARSE_OPTIONS
    align_options: AlignOptions = DEFAULT_ALIGN_OPTIONS
    #: (folder, name): sources under folder are recorded as name/... (the default corpus's install path
    #: says nothing about the data and would differ from machine to machine).
    rename_root: tuple[str, str] | None = None
    #: Seconds per article before it is rejected as ``timeout`` (None: no limit).
    article_timeout: float | None = ARTICLE_TIMEOUT


@dataclass(slots=True)
class ShardResult:
    """What a shard did: counts, the digest of what it read, and how long it took."""

    index: int
    fingerprint: str
    inputs: int = 0
    articles: int = 0
    captions: int = 0
    blocks: int = 0
    rejects: dict[str, int] = field(default_factory=dict)
    digest: str = ""
    seconds: float = 0.0
    resumed: bool = False


def part_path(parts_dir: str | os.PathLike[str], index: int, kind: str) -> Path:
    """Where shard ``index`` writes its ``kind`` part (captions, articles, blocks, keys, rejects, done)."""
    suffix = {"rejects": "jsonl", "done": "json"}.get(kind, "parquet")
    return Path(parts_dir) / f"shard-{index:05d}.{kind}.{suffix}"


def read_done(parts_dir: str | os.PathLike[str], index: int, fingerprint: str) -> ShardResult | None:
    """The result recorded by a finished shard, if its done-marker matches the fingerprint."""
    path = part_path(parts_dir, index, "done")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != fingerprint:
        return None
    kinds = ("captions", "articles", "blocks", "keys", "rejects")
    if not all(part_path(parts_dir, index, kind).is_file() for kind in kinds):
        return None
    data.pop("resumed", None)
    return ShardResult(**data, resumed=True)


def _reject_row(reject: Reject) -> dict[str, Any]:
    return {
        "source": reject.source,
        "reason": reject.reason,
        "detail": reject.detail,
        "article_id": reject.article_id,
    }


def _records(task: ShardTask) -> Iterator[RawRecord | Reject]:
    for piece in task.spec.slices:
        try:
            for record in read_slice(piece, task.source_options):
                if task.rename_root is not None:
                    record.source = _renamed(record.source, *task.rename_root)
                # File names that are not UTF-8 (surrogate escapes) could not be written to Parquet/JSON.
                record.source = writable_text(record.source)
                if isinstance(record, Reject):
                    record.detail = writable_text(record.detail)
                yield record
        except Exception as error:  # a reader bug must not lose the rest of the shard
            yield Reject(
                source=writable_text(piece.path),
                reason="read_error",
                detail=writable_text(f"{type(error).__name__}: {error}"),
            )


class ArticleTimeout(BaseException):
    """Raised inside an article's work when its time is up; a BaseException, so that no ``except
    Exception`` in the parser swallows it."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ArticleTimeout in the block when it runs longer than ``seconds`` (a SIGALRM timer).

    Only where signals can be used: the main thread of a process on a platform with ``setitimer`` (the
    local pool's workers and an inline build); elsewhere (Dask worker threads) it does nothing. A timer
    the caller had armed is put back when the block ends.
    """
    if (
        not seconds
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    armed = True

    def on_alarm(signum: int, frame: Any) -> None:
        if armed:
            raise ArticleTimeout(f"more than {seconds:g} s")

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    try:
        previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:
            left = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), previous_interval)


def _renamed(source: str, folder: str, name: str) -> str:
    path = Path(source)
    try:
        return f"{name}/{path.relative_to(folder).as_posix()}"
    except ValueError:
        return source


class _BlockColumns:
    """The blocks part of a shard, gathered column by column: the same table as
    ``pa.Table.from_pylist`` of ``schema.block_table_rows`` (tests check it), without a dict per block
    (tens of them per article, the most rows of any table)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in BLOCKS.names if name != "split"}

    def __len__(self) -> int:
        return len(self.columns["article_id"])

    def add(self, article: Article) -> None:
        """Append the rows of one article's blocks (list comprehensions: the fastest way to read slots)."""
        blocks = article.blocks
        columns = self.columns
        first = len(self)
        columns["article_id"].extend([article.article_id] * len(blocks))
        columns["index"].extend([b.index for b in blocks])
        columns["start"].extend([b.start for b in blocks])
        columns["end"].extend([b.end for b in blocks])
        columns["label"].extend([b.label for b in blocks])
        columns["score"].extend([b.score for b in blocks])
        columns["text"].extend([b.text for b in blocks])
        # Only caption blocks carry these (None elsewhere); captions are a few blocks of each article.
        media, label, credit = columns["media_type"], columns["caption_label"], columns["credit"]
        for column in (media, label, credit):
            column.extend([None] * len(blocks))
        for i, block in enumerate(blocks, first):
            if block.is_caption:
                media[i], label[i], credit[i] = block.media_type, block.caption_label, block.credit

    def table(self) -> pa.Table:
        """The rows gathered so far, in the BLOCKS schema (``split`` is null until the final step)."""
        values = {**self.columns, "split": pa.nulls(len(self), pa.string())}
        return pa.Table.from_pydict({name: values[name] for name in BLOCKS.names}, schema=BLOCKS)


def _article_rows(record: RawRecord, task: ShardTask) -> tuple[dict, list[dict], Article, dict] | None:
    """All the per-article work (the part under the time limit): its article and caption rows, the
    article itself (for the blocks table) and its key row, or None when it holds no text."""
    article = parse_article(record, options=task.parse_options)
    if not article.blocks or not article.text.strip():
        return None
    captions = align(article, task.align_options)
    published = to_utc(article.published)
    row = article_row(article, captions, published)
    key = {
        "article_id": article.article_id,
        "published": published,
        "body_hash": None,  # filled for the whole shard at once, see process_shard
        "minhash": None,
        "num_captions": len(captions),
        "num_blocks": len(article.blocks),
        "source": article.source,
        "caption_keys": [text_key(c.caption) for c in captions],
    }
    caption_rows = [caption_row(article, c, published) for c in captions]
    return row, caption_rows, article, key


def process_shard(task: ShardTask) -> ShardResult:
    """Read, parse and align one shard; write its parts and, last, its done-marker. Never raises on input."""
    started = time.perf_counter()
    result = ShardResult(index=task.spec.index, fingerprint=task.fingerprint)
    captions_rows: list[dict[str, Any]] = []
    article_rows: list[dict[str, Any]] = []
    block_columns = _BlockColumns()
    key_rows: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    seen: set[str] = set()
    digest = 0  # sum of per-input hashes mod 2^128: the same whatever the sharding
    for record in _records(task):
        result.inputs += 1
        if isinstance(record, Reject):
            rejects.append(record)
            digest += int(stable_hash("reject", record.source, record.reason, size=16), 16)
            continue
        data = record.data
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        content = hashlib.blake2b(raw, digest_size=16).hexdigest()
        digest += int(stable_hash(record.source, record.article_id, content, size=16), 16)
        if record.article_id in seen:
            rejects.append(
                Reject(
                    record.source, "duplicate_id", "same article id earlier in the input", record.article_id
                )
            )
            continue
        try:
            with time_limit(task.article_timeout):
                rows = _article_rows(record, task)
        except DecodeError as error:  # not text, or too large
            rejects.append(Reject(record.source, error.reason, error.detail, record.article_id))
            continue
        except ArticleTimeout as error:
            rejects.append(Reject(record.source, "timeout", str(error), record.article_id))
            continue
        except Exception as error:  # one bad article never stops a build
            detail = writable_text(f"{type(error).__name__}: {error}")
            rejects.append(Reject(record.source, "parse_error", detail, record.article_id))
            continue
        if rows is None:
            rejects.append(Reject(record.source, "empty", "no text", record.article_id))
            continue
        row, captions, article, key = rows
        seen.add(row["article_id"])
        article_rows.append(row)
        captions_rows.extend(captions)
        block_columns.add(article)
        key_rows.append(key)
    # Near-duplicate signatures of the whole shard in one pass rather than between parses: their code and
    # tables (the numpy path's word-hash cache) stay in the CPU caches; the values do not change.
    for row, key in zip(article_rows, key_rows, strict=True):
        key["body_hash"], key["minhash"] = body_signatures(row["body"])
    parts = task.parts_dir
    meta = file_metadata("part", {"shard": str(task.spec.index)})
    for kind, table in (
        ("captions", pa.Table.from_pylist(captions_rows, schema=CAPTIONS)),
        ("articles", pa.Table.from_pylist(article_rows, schema=ARTICLES)),
        ("blocks", block_columns.table()),
        ("keys", pa.Table.from_pylist(key_rows, schema=KEYS)),
    ):
        path = part_path(parts, task.spec.index, kind)
        tmp = path.with_name(path.name + ".tmp")
        write_table(tmp, table, kind, meta)
        os.replace(tmp, path)
    write_jsonl(part_path(parts, task.spec.index, "rejects"), (_reject_row(r) for r in rejects))
    result.articles = len(article_rows)
    result.captions = len(captions_rows)
    result.blocks = len(block_columns)
    result.rejects = dict(sorted(Counter(r.reason for r in rejects).items()))
    result.digest = f"{digest % 2**128:032x}"
    result.seconds = round(time.perf_counter() - started, 4)
    done = asdict(result)
    done.pop("resumed")
    atomic_write_text(part_path(parts, task.spec.index, "done"), json.dumps(done, sort_keys=True, indent=1))
    return result


# ---------------------------------------------------------------------------------------------------------
# Options, fingerprints, results


@dataclass(slots=True)
class BuildResult:
    """What a build (or a re-split) produced: the folder, the counts, and the manifest it wrote."""

    output_dir: Path
    inputs: int
    articles: int
    captions: int
    blocks: int
    rejects: dict[str, int]
    splits: dict[str, dict[str, int]]
    manifest: dict[str, Any]
    seconds: float

    @property
    def num_rejects(self) -> int:
        return sum(self.rejects.values())

    def summary(self) -> str:
        """One short paragraph for people (the CLI prints it)."""
        per_split = ", ".join(f"{s} {self.splits['articles'][s]}" for s in SPLIT_NAMES)
        text = (
            f"{self.output_dir}: {self.articles} articles ({per_split}), {self.captions} captions, "
            f"{self.blocks} blocks from {self.inputs} inputs in {self.seconds:.1f}s; "
            f"{self.num_rejects} rejected"
        )
        if self.rejects:
            text += " (" + ", ".join(f"{k} {v}" for k, v in self.rejects.items()) + ")"
        return text


def _options_dict(
    source_options: SourceOptions,
    parse_options: ParseOptions,
    align_options: AlignOptions,
    article_timeout: float | None = ARTICLE_TIMEOUT,
) -> dict[str, Any]:
    return {
        "source": asdict(source_options),
        "parse": asdict(parse_options),
        "align": asdict(align_options),
        "guard": {"article_timeout": article_timeout},
    }


#: Files of the package that decide its output: code, rules and model weights (``model.json.gz`` too).
#: Compiled extensions are left out: they give the same bits as the Python code and differ by machine.
FINGERPRINTED_SUFFIXES = (".py", ".json", ".gz")


def fingerprinted_files() -> list[Path]:
    """The package files ``code_fingerprint`` digests, in a stable order."""
    package = Path(__file__).resolve().parent
    return [
        path
        for path in sorted(package.rglob("*"))
        if path.suffix in FINGERPRINTED_SUFFIXES and "__pycache__" not in path.parts and path.is_file()
    ]


def code_fingerprint() -> str:
    """Digest of captionset's own code and data files (parser rules, model weights, writer): a build whose
    code changed never resumes from shards the old code wrote, and the card names the exact parser."""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=8)
    for path in fingerprinted_files():
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _slice_stat(path: str) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [path, None, None]
    return [path, st.st_size, st.st_mtime_ns]


def shard_fingerprint(build_fingerprint: str, spec: ShardSpec) -> str:
    """The build's fingerprint plus the shard's inputs (paths, ranges, sizes, mtimes): resume checks it."""
    pieces = [[*_slice_stat(s.path), s.format, s.root, s.start, s.stop] for s in spec.slices]
    return stable_hash(build_fingerprint, str(spec.index), json.dumps(pieces), size=16)


def partial_dir(output_dir: str | os.PathLike[str]) -> Path:
    """The work folder of a build into ``output_dir``: ``DIR.partial`` beside it (found again by resume)."""
    output_dir = Path(output_dir)
    return output_dir.with_name(output_dir.name + PARTIAL_SUFFIX)


class OutputBusy(FileExistsError):
    """Another build or re-split is writing the same dataset folder (they would overwrite each other's work)."""


def lock_path(output_dir: str | os.PathLike[str]) -> Path:
    """The lock file of a dataset folder: ``.DIR.lock`` beside it (left in place; the lock is on the open file)."""
    output_dir = Path(output_dir).absolute()
    return output_dir.with_name(f".{output_dir.name}.lock")


@contextmanager
def output_lock(output_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the dataset folder for one build or re-split: a second one into the same folder fails at once with
    OutputBusy. The lock is the operating system's (flock), so it dies with its process: a killed build never
    leaves a stale lock behind. Where flock does not exist (Windows) nothing is locked."""
    path = lock_path(output_dir)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusy(
                f"another captionset build or split is writing {Path(output_dir).absolute()} (lock {path})"
            ) from None
        except OSError as error:  # a file system without locks (some network mounts): go on unlocked
            logging.getLogger(__name__).warning(
                "cannot lock %s (%s): not guarding against a second build", path, error
            )
        yield path
    finally:
        os.close(fd)  # closing the file releases the lock


def _locks_output(parameter: str):
    """Run the decorated function while holding the lock of the folder named by ``parameter``."""

    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args, **kwargs):
            with output_lock(signature.bind(*args, **kwargs).arguments[parameter]):
                return fn(*args, **kwargs)

        return locked

    return decorate


def _is_dataset_dir(path: Path) -> bool:
    return (path / "manifest.json").is_file() or not any(path.iterdir())


def _check_output(output_dir: Path, overwrite: bool) -> None:
    if output_dir.exists():
        if not overwrite:
            raise FileExistsError(f"{output_dir} exists (use overwrite=True / --overwrite to replace it)")
        if not output_dir.is_dir() or not _is_dataset_dir(output_dir):
            raise FileExistsError(
                f"{output_dir} is not a captionset dataset (no manifest.json): refusing to overwrite it"
            )


def _recover(output_dir: Path) -> None:
    """A crash between the two renames of the swap leaves the old dataset in DIR.partial/previous."""
    previous = partial_dir(output_dir) / "previous"
    if not output_dir.exists() and previous.is_dir():
        os.rename(previous, output_dir)


def _swap_into_place(out: Path, output_dir: Path) -> None:
    work = out.parent
    previous = work / "previous"
    if previous.exists():
        shutil.rmtree(previous)
    if output_dir.exists():
        os.rename(output_dir, previous)
    os.rename(out, output_dir)
    shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# Splitting and writing the dataset (shared by build and re-split)


@dataclass(slots=True)
class _Part:
    """One input of the final write: a file per table, the article ids to leave out of it, and the rows
    of the light table that hold its articles (parts are consecutive there, so a row's article is looked
    up among its part's few hundred, not among all N: the lookups stay linear in N)."""

    files: dict[str, list[Path]]
    drop: frozenset[str] = frozenset()
    span: tuple[int, int] | None = None

    def chunks(self, config: str, schema: pa.Schema, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """The part's rows of one table, a row group at a time (memory stays bounded), minus dropped ids."""
        drop = pa.array(sorted(self.drop), pa.string()) if self.drop else None
        for path in self.files[config]:
            handle = pq.ParquetFile(path)
            for group in range(handle.num_row_groups):
                table = handle.read_row_group(group, columns=columns, use_threads=False)
                if columns is None:
                    table = table.cast(schema)
                if drop is not None:
                    table = table.filter(pc.invert(pc.is_in(table["article_id"], value_set=drop)))
                yield table


def _progress(total: int, quiet: bool, unit: str, desc: str):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, unit=unit, desc=desc, disable=True if quiet else None, file=sys.stderr, leave=False
    )


def _split_codes(light: pa.Table) -> np.ndarray:
    """Each light row's split as its index in SPLIT_NAMES."""
    codes = pc.index_in(light["split"], value_set=pa.array(SPLIT_NAMES))
    return codes.to_numpy(zero_copy_only=False).astype(np.int8)


@dataclass(frozen=True, slots=True)
class WriteTask:
    """One table (config) of the final write: the parts to stream, the row count of each split and the
    files' metadata."""

    config: str
    out: str
    parts: tuple[_Part, ...]
    totals: tuple[int, ...]
    metadata: dict[str, str]


#: Tables in the order their writes are handed out: the biggest first, so that two workers finish together.
WRITE_ORDER = ("captions", "blocks", "articles")


def write_config(task: WriteTask, lookup: _Lookup) -> tuple[str, dict[str, SplitFiles], dict[str, Any]]:
    """Stream every part's rows of one table into that table's split files (one share of the final
    write); returns the table, its files, and what the statistics need from its rows."""
    schema = TABLES[task.config]
    writers = {
        split: ShardedWriter(
            Path(task.out) / task.config,
            schema,
            task.config,
            split,
            task.totals[i],
            {**task.metadata, "captionset.config": task.config, "captionset.split": split},
        )
        for i, split in enumerate(SPLIT_NAMES)
    }
    stats = _StreamStats()
    for part in task.parts:
        for rows in part.chunks(task.config, schema):
            _route(rows, task.config, schema, writers, lookup, stats, part.span)
        # Arrow's allocator keeps freed pages: hand them back part by part, or RSS creeps up.
        pa.default_memory_pool().release_unused()
    return task.config, {split: writer.close() for split, writer in writers.items()}, stats.as_dict()


def _write_tables(
    out: Path,
    parts: Sequence[_Part],
    light: pa.Table,
    rule: SplitRule,
    quiet: bool,
    workers: int | None = 1,
) -> tuple[dict[str, dict[str, SplitFiles]], dict[str, Any]]:
    """Stream every part into the final shards of every config and split, a table per task, on
    ``workers`` threads (Parquet reading, encoding and compression release the GIL; each file gets the
    same rows in the same order whichever thread writes it); returns the files and the statistics
    gathered from the rows."""
    from concurrent.futures import ThreadPoolExecutor

    codes = _split_codes(light)
    lookup = _Lookup(light["article_id"].combine_chunks(), codes, light["group_id"].combine_chunks())
    # Row counts per split (file names say "-of-n"), from the keys: an article has one row, num_captions
    # caption rows and num_blocks block rows (the writers check that exactly these many arrive).
    totals = {
        "articles": np.bincount(codes, minlength=len(SPLIT_NAMES)),
        "captions": np.bincount(codes, weights=_numbers(light["num_captions"]), minlength=len(SPLIT_NAMES)),
        "blocks": np.bincount(codes, weights=_numbers(light["num_blocks"]), minlength=len(SPLIT_NAMES)),
    }
    metadata = file_metadata("", {"split_rule": rule.as_dict()})
    tasks = [
        WriteTask(config, str(out), tuple(parts), tuple(int(n) for n in totals[config]), metadata)
        for config in WRITE_ORDER
    ]
    written: dict[str, dict[str, SplitFiles]] = {}
    stream: dict[str, dict[str, Any]] = {}
    bar = _progress(len(tasks), quiet, "table", "writing")
    with ThreadPoolExecutor(max_workers=max(1, min(workers or default_workers(), len(tasks)))) as pool:
        for config, files, stats in pool.map(lambda task: write_config(task, lookup), tasks):
            written[config], stream[config] = files, stats
            bar.update(1)
    bar.close()
    captions = stream["captions"]
    return {config: written[config] for config in TABLES}, {
        "lengths": captions["lengths"],
        "words": captions["words"],
        "media": captions["media"],
        "article_ids": stream["articles"]["article_ids"],
    }


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class _Lookup:
    """Split (as a code) and group of each article id, looked up vectorised."""

    article_ids: pa.Array
    split_codes: np.ndarray
    group_ids: pa.Array

    def rows(self, article_ids: pa.ChunkedArray, span: tuple[int, int] | None = None) -> np.ndarray:
        """Row of each article id in the light table (found among the rows ``span``, if given)."""
        start, stop = span if span is not None else (0, len(self.article_ids))
        found = pc.index_in(article_ids, value_set=self.article_ids.slice(start, stop - start))
        if found.null_count:
            raise RuntimeError("a part holds rows of an article the keys do not list")
        return found.to_numpy(zero_copy_only=False).astype(np.int64) + start


@dataclass(slots=True)
class _StreamStats:
    """Caption lengths (chars, words), media types and written article ids per split, gathered while the
    rows stream by (so the card's figures describe the files, not the plan)."""

    chars: dict[str, list[np.ndarray]] = field(default_factory=lambda: {s: [] for s in SPLIT_NAMES})
    words: dict[str, list[np.ndarray]] = field(default_factory=lambda: {s: [] for s in SPLIT_NAMES})
    media: dict[str, Counter] = field(default_factory=lambda: {s: Counter() for s in SPLIT_NAMES})
    article_ids: dict[str, list[pa.ChunkedArray]] = field(
        default_factory=lambda: {s: [] for s in SPLIT_NAMES}
    )

    def add(self, split: str, rows: pa.Table) -> None:
        text = rows["caption"].fill_null("")
        self.chars[split].append(pc.utf8_length(text).to_numpy(zero_copy_only=False))
        words = pc.list_value_length(pc.utf8_split_whitespace(text))
        self.words[split].append(words.to_numpy(zero_copy_only=False))
        self.media[split].update(rows["media_type"].fill_null("unknown").to_pylist())

    def as_dict(self) -> dict[str, Any]:
        def joined(values: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(values) if values else np.zeros(0, np.int64)

        return {
            "lengths": {s: joined(v) for s, v in self.chars.items()},
            "words": {s: joined(v) for s, v in self.words.items()},
            "media": {s: dict(sorted(c.items())) for s, c in self.media.items()},
            "article_ids": {
                s: pa.chunked_array([c for a in v for c in a.chunks], pa.string())
                for s, v in self.article_ids.items()
            },
        }


def _route(
    table: pa.Table,
    config: str,
    schema: pa.Schema,
    writers: dict[str, ShardedWriter],
    lookup: _Lookup,
    stats: _StreamStats,
    span: tuple[int, int] | None = None,
) -> None:
    """Give one chunk of rows its split (and group) and send the rows of each split to that split's writer."""
    rows = lookup.rows(table["article_id"], span)
    codes = lookup.split_codes[rows]
    names = pa.array(SPLIT_NAMES, pa.string()).take(pa.array(codes))
    table = table.set_column(schema.get_field_index("split"), schema.field("split"), names)
    if config == "articles":
        table = table.set_column(
            schema.get_field_index("group_id"), schema.field("group_id"), lookup.group_ids.take(rows)
        )
    for i, split in enumerate(SPLIT_NAMES):
        mask = codes == i
        if not mask.any():
            continue
        chosen = table if mask.all() else table.filter(pa.array(mask))
        writers[split].write(chosen)
        if config == "captions":
            stats.add(split, chosen)
        elif config == "articles":
            stats.article_ids[split].append(chosen["article_id"])


def _describe(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"count": 0, "mean": 0.0, "min": 0, "p10": 0, "median": 0, "p90": 0, "max": 0}
    q = np.percentile(values, [10, 50, 90], method="lower")
    return {
        "count": int(values.size),
        "mean": round(float(values.mean()), 2),
        "min": int(values.min()),
        "p10": int(q[0]),
        "median": int(q[1]),
        "p90": int(q[2]),
        "max": int(values.max()),
    }


def _statistics(light: pa.Table, stream: dict[str, Any]) -> dict[str, Any]:
    """Captions per article, photo/video, caption lengths, groups, and the leakage check."""
    split_of_row = _split_codes(light)
    per_article = _numbers(light["num_captions"])
    out: dict[str, Any] = {"captions_per_article": {}, "caption_chars": {}, "caption_words": {}}
    for i, split in enumerate((*SPLIT_NAMES, "all")):
        mask = np.ones(len(split_of_row), bool) if split == "all" else split_of_row == i
        counts = per_article[mask]
        summary = _describe(counts)
        summary["articles_without_captions"] = int((counts == 0).sum())
        out["captions_per_article"][split] = summary
        if split == "all":
            lengths = np.concatenate([stream["lengths"][s] for s in SPLIT_NAMES])
            words = np.concatenate([stream["words"][s] for s in SPLIT_NAMES])
        else:
            lengths, words = stream["lengths"][split], stream["words"][split]
        out["caption_chars"][split] = _describe(lengths)
        out["caption_words"][split] = _describe(words)
    media_all: Counter = Counter()
    for split in SPLIT_NAMES:
        media_all.update(stream["media"][split])
    out["media_type"] = {
        **{s: stream["media"][s] for s in SPLIT_NAMES},
        "all": dict(sorted(media_all.items())),
    }
    out["published"] = _date_ranges(light["published"], split_of_row)
    sizes = _numbers(pc.value_counts(light["group_id"]).field("counts")) if light.num_rows else np.zeros(0)
    out["groups"] = {
        "groups": int(sizes.size),
        "articles_in_multi_article_groups": int(sizes[sizes > 1].sum()),
        "largest_group": int(sizes.max(initial=0)),
    }
    out["leakage"] = _leakage(light, split_of_row, stream["article_ids"])
    return out


def _date_ranges(published: pa.ChunkedArray, split_of_row: np.ndarray) -> dict[str, dict[str, Any]]:
    """Earliest and latest publication time per split, and how many articles have none."""
    out = {}
    for i, split in enumerate((*SPLIT_NAMES, "all")):
        chosen = published if split == "all" else published.filter(pa.array(split_of_row == i))
        bounds = pc.min_max(chosen)
        first, last = bounds["min"].as_py(), bounds["max"].as_py()
        out[split] = {
            "first": first.isoformat() if first is not None else None,
            "last": last.isoformat() if last is not None else None,
            "undated": chosen.null_count,
        }
    return out


def _leakage(
    light: pa.Table, split_of_row: np.ndarray, written: dict[str, pa.ChunkedArray]
) -> dict[str, Any]:
    """Articles (as written) or groups in more than one split (must be 0), and captions whose normalised
    text recurs across splits."""
    pairs_of_group = pa.table({"group_id": light["group_id"], "split": pa.array(split_of_row)})
    spread = pairs_of_group.group_by("group_id", use_threads=False).aggregate([("split", "count_distinct")])
    several = 0
    for i, a in enumerate(SPLIT_NAMES):
        for b in SPLIT_NAMES[i + 1 :]:
            if len(written[a]) and len(written[b]):
                several += int(
                    pc.sum(pc.is_in(written[a], value_set=written[b].combine_chunks())).as_py() or 0
                )
    column = light["caption_keys"]
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.uint64)
    parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
    row_split = split_of_row[parents] if len(parents) else np.zeros(0, np.int8)
    arrays = {s: np.unique(values[row_split == i]) for i, s in enumerate(SPLIT_NAMES)}
    distinct, seen_in = np.unique(np.concatenate(list(arrays.values())), return_counts=True)
    shared = distinct[seen_in > 1]
    rows = int(np.isin(values, shared).sum())
    pairs = {}
    for i, a in enumerate(SPLIT_NAMES):
        for b in SPLIT_NAMES[i + 1 :]:
            pairs[f"{a}/{b}"] = int(np.intersect1d(arrays[a], arrays[b]).size)
    return {
        "articles_in_several_splits": several,
        "groups_in_several_splits": int(pc.sum(pc.greater(spread["split_count_distinct"], 1)).as_py() or 0),
        "caption_texts_in_several_splits": int(shared.size),
        "caption_rows_with_shared_text": rows,
        "shared_caption_texts_by_pair": pairs,
    }


def _assign(light: pa.Table, rule: SplitRule) -> pa.Array:
    """Each light row's split: its group's, decided once per group (by hash, or by the group's earliest
    publication time for ``split_by="date"``)."""
    by_group = light.select(["group_id", "published"]).group_by("group_id", use_threads=False)
    by_group = by_group.aggregate([("published", "min")])
    groups = by_group["group_id"].to_pylist()
    dates = [p.replace(tzinfo=None) if p is not None else None for p in by_group["published_min"].to_pylist()]
    splits = assign_splits(
        dict(zip(groups, groups, strict=True)), rule, dict(zip(groups, dates, strict=True))
    )
    names = pa.array([splits[g] for g in groups], pa.string())
    return pc.take(names, pc.index_in(light["group_id"], value_set=by_group["group_id"]))


def _finish(
    out: Path,
    output_dir: Path,
    parts: Sequence[_Part],
    light: pa.Table,
    rule: SplitRule,
    rejects: list[dict[str, Any]],
    manifest: dict[str, Any],
    quiet: bool,
    started: float,
    workers: int | None = 1,
) -> BuildResult:
    """Split, write every table, the rejects, the card, croissant.json and the manifest into ``out``, then swap
    it in.

    ``light`` has a row per article: article_id, group_id, published, num_captions, num_blocks and
    caption_keys (tens of bytes per article; the rows themselves stream from the parts).
    """
    from .card import render_card
    from .croissant import render_croissant

    light = light.append_column("split", _assign(light, rule))
    written_started = time.perf_counter()
    files, stream = _write_tables(out, parts, light, rule, quiet, workers)
    statistics = _statistics(light, stream)
    rejects = sorted(rejects, key=lambda r: (r["source"], r["reason"], r["detail"], r["article_id"] or ""))
    write_jsonl(out / "rejects.jsonl", rejects)
    reject_counts = dict(sorted(Counter(r["reason"] for r in rejects).items()))
    articles = sum(f.num_examples for f in files["articles"].values())
    counts = {
        "inputs": manifest["counts"]["inputs"],
        "articles": articles,
        "rejects": len(rejects),
        "rejects_by_reason": reject_counts,
        "captions": sum(f.num_examples for f in files["captions"].values()),
        "blocks": sum(f.num_examples for f in files["blocks"].values()),
        "splits": {config: {s: f.num_examples for s, f in per.items()} for config, per in files.items()},
    }
    if counts["inputs"] != articles + len(rejects):
        raise RuntimeError(
            f"accounting failed: {counts['inputs']} inputs != {articles} articles + {len(rejects)} rejects"
        )
    manifest["counts"] = counts
    manifest["split_rule"] = rule.as_dict()
    manifest["statistics"] = statistics
    manifest["files"] = {
        config: {
            s: {
                "files": f.files,
                "num_examples": f.num_examples,
                "num_bytes": f.num_bytes,
                "download_bytes": f.file_bytes,
                "sha256": f.sha256,
            }
            for s, f in per.items()
        }
        for config, per in files.items()
    }
    atomic_write_text(out / "README.md", render_card(manifest))
    croissant = json.dumps(render_croissant(manifest), indent=1, ensure_ascii=False)
    atomic_write_text(out / "croissant.json", croissant + "\n")
    manifest["timings"]["write_seconds"] = round(time.perf_counter() - written_started, 3)
    manifest["timings"]["total_seconds"] = round(time.perf_counter() - started, 3)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    _swap_into_place(out, output_dir)
    return BuildResult(
        output_dir=output_dir,
        inputs=counts["inputs"],
        articles=articles,
        captions=counts["captions"],
        blocks=counts["blocks"],
        rejects=reject_counts,
        splits=counts["splits"],
        manifest=manifest,
        seconds=manifest["timings"]["total_seconds"],
    )


# ---------------------------------------------------------------------------------------------------------
# The light pass: keys of every part, duplicate ids across shards, near-duplicate groups

#: The keys the final step keeps in memory (tens of bytes per article): the MinHash signatures go to one
#: numpy matrix instead, and only while grouping.
_LIGHT_KEYS = KEYS.remove(KEYS.get_field_index("minhash"))


def _signature_rows(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(rows of a part that have a MinHash signature, the signatures as an (n, NUM_PERM) uint64 matrix),
    read straight from the Arrow buffer (no Python object per article)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    valid = column.is_valid()
    fixed = column.filter(valid).cast(pa.binary(NUM_PERM * 8))  # raises on a signature of another size
    width = NUM_PERM * 8
    data = np.frombuffer(
        fixed.buffers()[1], dtype="<u8", count=len(fixed) * NUM_PERM, offset=fixed.offset * width
    )
    rows = np.flatnonzero(valid.to_numpy(zero_copy_only=False))
    return rows, data.reshape(len(fixed), NUM_PERM).astype(np.uint64)


def _drop_duplicates(
    keys: pa.Table, part_rows: list[int], tasks: Sequence[ShardTask], parts_dir: Path, rejects: list[dict]
) -> tuple[np.ndarray, list[_Part]]:
    """Rows to keep (an id's first occurrence: shards in index order; a shard never repeats an id), a
    ``duplicate_id`` reject for every other row, and the parts with the ids each must leave out."""
    ids = keys["article_id"]
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    codes = pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False)
    keep = np.zeros(len(codes), bool)
    keep[np.unique(codes, return_index=True)[1]] = True
    parts, start, kept = [], 0, 0
    for task, count in zip(tasks, part_rows, strict=True):
        dropped = np.flatnonzero(~keep[start : start + count]) + start
        dropped_ids = pc.take(ids, dropped).to_pylist()
        for article, source in zip(dropped_ids, pc.take(keys["source"], dropped).to_pylist(), strict=True):
            rejects.append(
                {
                    "source": source,
                    "reason": "duplicate_id",
                    "detail": "same article id earlier in the input",
                    "article_id": article,
                }
            )
        index = task.spec.index
        span = (kept, kept + count - int(dropped.size))
        parts.append(
            _Part({c: [part_path(parts_dir, index, c)] for c in TABLES}, frozenset(dropped_ids), span)
        )
        start, kept = start + count, span[1]
    return keep, parts


def _group(keys: pa.Table, rows: np.ndarray, matrix: np.ndarray) -> pa.Table:
    """The light table with each article's ``group_id``: exact copies and near-duplicates share one, the
    smallest article id of the group. ``matrix`` holds the MinHash signatures of ``rows``."""
    ids = keys["article_id"].combine_chunks()
    order = pc.sort_indices(ids).to_numpy(zero_copy_only=False).astype(np.int64)
    nodes = np.empty(len(order), np.int64)
    nodes[order] = np.arange(len(order))  # rank by id: a group's smallest node is its smallest id
    body = pc.dictionary_encode(keys["body_hash"].combine_chunks()).indices
    codes = body.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    roots = group_labels(nodes, codes, matrix, rows, NEAR_DUPLICATE_JACCARD)
    group_id = pc.take(ids, pa.array(order[roots]))
    return keys.drop_columns(["body_hash", "source"]).append_column("group_id", group_id)


# ---------------------------------------------------------------------------------------------------------
# Public API


def _default_inputs() -> list[Path]:
    try:
        from .corpus import default_corpus_dir
    except ImportError:  # pragma: no cover - the corpus module ships with the package
        return [Path(__file__).resolve().parent.parent / "data" / "corpus"]
    return [default_corpus_dir()]


@_locks_output("output_dir")
def build(
    inputs: Iterable[str | os.PathLike[str]] | None,
    output_dir: str | os.PathLike[str],
    *,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: str = "captionset",
    split_by: str = "article",
    workers: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    quiet: bool = True,
    source_options: SourceOptions = DEFAULT_SOURCE_OPTIONS,
    parse_options: ParseOptions = DEFAULT_PARSE_OPTIONS,
    align_options: AlignOptions = DEFAULT_ALIGN_OPTIONS,
    articles_per_shard: int = ARTICLES_PER_SHARD,
    article_timeout: float | None = ARTICLE_TIMEOUT,
) -> BuildResult:
    """Parse, align, split and write a dataset folder (Hugging Face layout) from the inputs.

    ``inputs`` None or empty builds the default corpus shipped with the package. The folder appears only
    when complete; an existing one is refused unless ``overwrite``. ``resume`` reuses the finished shards
    of an interrupted build into the same folder with the same options. An article whose work takes more
    than ``article_timeout`` seconds is rejected (``timeout``) where the engine allows a timer (local).
    """
    started = time.perf_counter()
    rule = SplitRule(ratios=tuple(float(r) for r in ratios), seed=seed, split_by=split_by)
    output_dir = Path(output_dir).absolute()
    _recover(output_dir)
    _check_output(output_dir, overwrite)
    rename_root = None
    if inputs:
        inputs = [Path(p) for p in inputs]
    else:
        inputs = _default_inputs()
        rename_root = (str(inputs[0]), "default-corpus")
    for path in inputs:
        if not path.exists():
            raise FileNotFoundError(f"input {path} does not exist")
    work = partial_dir(output_dir)
    if work.exists() and not resume:
        shutil.rmtree(work)
    parts_dir = work / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()

    options = _options_dict(source_options, parse_options, align_options, article_timeout)
    code = code_fingerprint()
    build_fingerprint = stable_hash(__version__, code, json.dumps(options, sort_keys=True), size=16)
    specs = plan_shards(inputs, source_options, articles_per_shard)
    tasks = [
        ShardTask(
            spec,
            str(parts_dir),
            shard_fingerprint(build_fingerprint, spec),
            source_options,
            parse_options,
            align_options,
            rename_root,
            article_timeout,
        )
        for spec in specs
    ]
    planned = time.perf_counter()
    results: dict[int, ShardResult] = {}
    todo = []
    for task in tasks:
        done = read_done(parts_dir, task.spec.index, task.fingerprint) if resume else None
        if done is not None:
            results[task.spec.index] = done
        else:
            todo.append(task)
    if todo:
        from .executors import run_tasks

        bar = _progress(len(tasks), quiet, "shard", "parsing")
        bar.update(len(results))
        for result in run_tasks(process_shard, todo, workers=workers, engine=engine, scheduler=scheduler):
            results[result.index] = result
            bar.update(1)
        bar.close()
    parsed = time.perf_counter()
    ordered = [results[t.spec.index] for t in tasks]

    # Light pass: keys of every part, duplicates across shards, near-duplicate groups.
    key_tables, part_rows, rejects = [], [], []
    matrix = np.empty((sum(r.articles for r in ordered), NUM_PERM), np.uint64)  # filled part by part
    signed, filled = [], 0
    for task in tasks:
        index = task.spec.index
        keys = pq.read_table(part_path(parts_dir, index, "keys"), schema=KEYS)
        local, block = _signature_rows(keys["minhash"])
        if filled + len(block) > len(matrix):  # more rows than the done-markers said: grow
            matrix = np.concatenate([matrix[:filled], block])
        else:
            matrix[filled : filled + len(block)] = block
        filled += len(block)
        signed.append(local + sum(part_rows))
        key_tables.append(keys.drop_columns(["minhash"]))
        part_rows.append(keys.num_rows)
        with open(part_path(parts_dir, index, "rejects"), encoding="utf-8") as handle:
            rejects.extend(json.loads(line) for line in handle if line.strip())
    keys = pa.concat_tables(key_tables).combine_chunks() if key_tables else _LIGHT_KEYS.empty_table()
    del key_tables
    keep, parts = _drop_duplicates(keys, part_rows, tasks, parts_dir, rejects)
    rows = np.concatenate(signed) if signed else np.zeros(0, np.int64)
    matrix = matrix[:filled]
    if not keep.all():
        kept = keep[rows]
        rows, matrix = (np.cumsum(keep) - 1)[rows[kept]], matrix[kept]
        keys = keys.filter(pa.array(keep))
    light = _group(keys, rows, matrix)
    del keys, matrix, rows
    grouped = time.perf_counter()
    manifest: dict[str, Any] = {
        "captionset_version": __version__,
        "command": "build",
        "code_fingerprint": code,
        "inputs": [str(p) for p in inputs],
        "input_fingerprint": f"{sum(int(r.digest, 16) for r in ordered) % 2**128:032x}",
        "options_fingerprint": build_fingerprint,
        "options": options,
        "counts": {"inputs": sum(r.inputs for r in ordered)},
        "shards": len(tasks),
        "articles_per_shard": articles_per_shard,
        "resumed_shards": sum(1 for r in ordered if r.resumed),
        "timings": {
            "plan_seconds": round(planned - started, 3),
            "parse_seconds": round(parsed - planned, 3),
            "parse_cpu_seconds": round(sum(r.seconds for r in ordered if not r.resumed), 3),
            "group_seconds": round(grouped - parsed, 3),
            "workers": workers,
            "engine": engine,
        },
    }
    return _finish(out, output_dir, parts, light, rule, rejects, manifest, quiet, started, workers)


@_locks_output("dataset_dir")
def resplit(
    dataset_dir: str | os.PathLike[str],
    *,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: str = "captionset",
    split_by: str = "article",
    quiet: bool = True,
) -> BuildResult:
    """Re-split a built dataset without re-parsing: the same rows under a new split rule, written anew.

    Groups (near-duplicates) are kept from the build; rows keep their order within each old split. The
    folder is replaced only when the new one is complete. Re-splitting with the build's own rule gives the
    same files.
    """
    from .load import read_manifest

    started = time.perf_counter()
    rule = SplitRule(ratios=tuple(float(r) for r in ratios), seed=seed, split_by=split_by)
    dataset_dir = Path(dataset_dir).absolute()
    _recover(dataset_dir)
    old = read_manifest(dataset_dir)
    work = partial_dir(dataset_dir)
    if work.exists():
        shutil.rmtree(work)
    out = work / "out"
    out.mkdir(parents=True)
    files = {
        config: {s: [dataset_dir / f for f in old["files"][config][s]["files"]] for s in SPLIT_NAMES}
        for config in TABLES
    }
    parts = [_Part({config: files[config][s] for config in TABLES}) for s in SPLIT_NAMES]
    # The light columns: ids, groups and times from articles; caption keys from the caption text.
    caption_keys: dict[str, list[int]] = {}
    for part in parts:
        for table in part.chunks("captions", CAPTIONS, columns=["article_id", "caption"]):
            for article, caption in zip(
                table["article_id"].to_pylist(), table["caption"].to_pylist(), strict=True
            ):
                caption_keys.setdefault(article, []).append(text_key(caption or ""))
    columns = ["article_id", "group_id", "published", "num_captions", "num_blocks"]
    articles: list[pa.Table] = []
    for part in parts:
        start = sum(t.num_rows for t in articles)
        articles.extend(part.chunks("articles", ARTICLES, columns=columns))
        part.span = (start, sum(t.num_rows for t in articles))
    light = pa.concat_tables(articles) if articles else ARTICLES.empty_table().select(columns)
    ids = light["article_id"].to_pylist()
    light = light.append_column(
        "caption_keys", pa.array([caption_keys.get(a, []) for a in ids], pa.list_(pa.uint64()))
    )
    rejects_path = dataset_dir / "rejects.jsonl"
    rejects = [json.loads(line) for line in rejects_path.read_text(encoding="utf-8").splitlines() if line]
    manifest = {
        key: old[key]
        for key in (
            "captionset_version",
            "command",
            "code_fingerprint",
            "inputs",
            "input_fingerprint",
            "options_fingerprint",
            "options",
            "shards",
            "articles_per_shard",
        )
        if key in old
    }
    manifest["captionset_version"] = __version__
    manifest["counts"] = {"inputs": old["counts"]["inputs"]}
    manifest["resplit_from"] = old["split_rule"]
    manifest["timings"] = {"build": old.get("timings", {})}
    return _finish(out, dataset_dir, parts, light, rule, rejects, manifest, quiet, started)
