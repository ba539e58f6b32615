"""The `captionset` command line: a thin layer over the Python API with the same names."""

from __future__ import annotations

import json
import shutil
import sys

import click

from . import __version__
from .executors import EngineUnavailable, TaskFailed
from .parse import parse_article
from .sources import DEFAULT_SOURCE_OPTIONS, FORMATS, find_files
from .sources.common import TooLarge, read_whole, special_file_kind
from .sources.compression import DECOMPRESSION_ERRORS
from .text import DecodeError
from .views import block_rows


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="captionset")
def cli():
    """Turn news articles into a media-caption dataset."""


def _align_options(fn):
    """--neighbours, --window-tokens and --top-k (AlignOptions), shared by parse and build."""
    from .align import DEFAULT_ALIGN_OPTIONS as DEFAULT

    for name, help_text in reversed(
        [
            ("neighbours", "Body paragraphs before and after each caption (context_before/after)."),
            ("window-tokens", "Token budget of each caption's context window (whitespace tokens)."),
            ("top-k", "Most related paragraphs per caption."),
        ]
    ):
        fn = click.option(
            f"--{name}",
            type=click.IntRange(min=0),
            default=getattr(DEFAULT, name.replace("-", "_")),
            show_default=True,
            help=help_text,
        )(fn)
    return fn


def _alignment(neighbours: int, window_tokens: int, top_k: int):
    from .align import AlignOptions

    return AlignOptions(neighbours=neighbours, window_tokens=window_tokens, top_k=top_k)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jsonl", "table"]),
    default="table",
    show_default=True,
    help="jsonl: one JSON object per block; table: one line per block, for people.",
)
@_align_options
def parse(paths, output_format, neighbours, window_tokens, top_k):
    """Split articles into labelled blocks (title, body, captions, ...).

    PATHS are files or folders (searched recursively for *.txt), read in a stable order.

    \b
    Example:
        captionset parse article.txt
        captionset parse --format jsonl corpus/ > blocks.jsonl
    """
    from .align import align

    options = _alignment(neighbours, window_tokens, top_k)
    width = shutil.get_terminal_size((120, 20)).columns
    failed = 0
    for path in find_files(paths):
        source = str(path)
        special = special_file_kind(path)
        if special:  # reading a pipe or a device would wait, or run, for ever
            failed += 1
            click.echo(f"captionset: skipped {source}: is {special}", err=True)
            continue
        try:
            # Read like a build reads a one-article file: decompressed, and refused past the size limit.
            data = read_whole(path, DEFAULT_SOURCE_OPTIONS.max_record_bytes)
            article = parse_article(data, source=source)
        except (OSError, DecodeError, TooLarge, *DECOMPRESSION_ERRORS) as error:
            failed += 1
            click.echo(f"captionset: skipped {source}: {error}", err=True)
            continue
        rows = block_rows(article, align(article, options))
        if output_format == "jsonl":
            for row in rows:
                click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"== {source} ({article.article_id})")
            for row in rows:
                text = " ".join(row["text"].split())
                line = f"{row['index']:>4} {row['label']:<13} {row['score']:.2f}  {text}"
                click.echo(line[: max(width - 1, 40)])
    if failed:
        sys.exit(1)


@cli.command("eval")
@click.argument("gold_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("text_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option("--only", metavar="SUBSTR", help="Score only articles whose name contains SUBSTR.")
def eval_command(gold_dir, text_dir, as_json, only):
    """Score the parser against gold block labels (GOLD_DIR/NAME.jsonl for TEXT_DIR/NAME.txt).

    Prints per-label P/R/F1, caption detection P/R/F1, photo-vs-video accuracy, body P/R and
    per-site figures, with the rules of the corpus scorer (tools/score_parse.py).

    \b
    Example:
        captionset eval ../shared/corpus/dev/gold ../shared/corpus/dev/text
        captionset eval --json --only dailymail GOLD_DIR TEXT_DIR
    """
    from .evaluate import evaluate, format_report

    try:
        report = evaluate(gold_dir, text_dir, only=only)
    except (OSError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if not report.articles:
        raise click.ClickException(f"no gold files (*.jsonl) to score in {gold_dir}")
    if as_json:
        click.echo(json.dumps(report.to_dict(), sort_keys=True))
    else:
        click.echo(format_report(report))


@cli.command("eval-align")
@click.argument("pairs", type=click.Path(exists=True, dir_okay=False))
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option("--details", is_flag=True, help="Also list every caption's ranking.")
@click.option(
    "--gold-labels-only", is_flag=True, help="Skip the parser: score alignment on gold labels alone."
)
@_align_options
def eval_align_command(
    pairs, corpus_dir, as_json, details, gold_labels_only, neighbours, window_tokens, top_k
):
    """Score caption -> paragraph alignment against hand-labelled pairs.

    PAIRS is a JSONL file, one labelled caption per line: {"article": NAME, "caption": I, "best": [J, ...]}
    in the gold block numbering of CORPUS_DIR/gold/NAME.jsonl ("best": [] when no paragraph is the
    picture's; "corpus": X for an article in the folder X beside CORPUS_DIR). Prints top-1 / top-3 of
    `related` next to the nearest-paragraphs baseline, on gold labels and on the parser's labels.

    \b
    Example:
        captionset eval-align tests/data/align_heldout.jsonl ../shared/corpus/dev
        captionset eval-align --json --top-k 5 my_pairs.jsonl my_corpus/
    """
    from .evaluate import evaluate_alignment, format_alignment_report

    options = _alignment(neighbours, window_tokens, top_k)
    try:
        report = evaluate_alignment(pairs, corpus_dir, options, with_parser=not gold_labels_only)
    except (OSError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if not report.pairs:
        raise click.ClickException(f"no labelled captions in {pairs}")
    if as_json:
        click.echo(json.dumps(report.to_dict(details=details), sort_keys=True))
    else:
        click.echo(format_alignment_report(report, details=details))


def _ratios_option(ctx, param, value):
    from .splits import parse_ratios

    try:
        return parse_ratios(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _split_options(fn):
    """--ratios, --seed and --split-by, shared by build and split."""
    fn = click.option(
        "--split-by",
        type=click.Choice(["article", "date"]),
        default="article",
        show_default=True,
        help="article: salted hash per near-duplicate group; date: oldest groups in train, newest in test.",
    )(fn)
    fn = click.option(
        "--seed", default="captionset", show_default=True, help="Salt of the split hash (any text)."
    )(fn)
    return click.option(
        "--ratios",
        default="0.8,0.1,0.1",
        show_default=True,
        callback=_ratios_option,
        help="Shares of train,validation,test (sum to 1).",
    )(fn)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(), help="Dataset folder to write.")
@_split_options
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler to join (default: a LocalCluster).")
@click.option(
    "--format",
    "input_format",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Input format (auto: by extension, then by content).",
)
@click.option("--glob", "pattern", metavar="PATTERN", help="Files to take from folders (default: by format).")
@click.option("--text-field", default="text", show_default=True, help="Field with the article text.")
@click.option(
    "--id-field", help="Field with the article id (default: 'id' if present, else a hash of the source)."
)
@click.option("--title-field", help="Field with the title (default: 'title' if present).")
@click.option("--url-field", help="Field with the URL (default: 'url' if present).")
@click.option("--date-field", help="Field with the publication time (default: 'date' if present).")
@click.option("--overwrite", is_flag=True, help="Replace DIR if it holds a dataset.")
@click.option("--resume", is_flag=True, help="Reuse the finished shards of an interrupted build into DIR.")
@click.option(
    "--article-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Reject an article (reason timeout) whose parsing takes longer; 0: no limit.",
)
@_align_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def build(inputs, output, ratios, seed, split_by, workers, engine, scheduler, input_format, pattern, **kw):
    """Parse, align, split and write a Hugging Face dataset folder (Parquet + card).

    INPUTS are files or folders; with none, the default corpus shipped with captionset is built.
    The folder appears only when complete. Exit status 0 when the build completes, even if some inputs
    were rejected: the summary and DIR/rejects.jsonl say how many and why.

    \b
    Example:
        captionset build -o dataset
        captionset build corpus/ -o dataset --ratios 0.9,0.05,0.05 --seed v1 --workers 2
    """
    from .build import build as build_dataset
    from .sources import SourceOptions

    try:
        source_options = SourceOptions(
            format=input_format,
            glob=pattern,
            text_field=kw["text_field"],
            id_field=kw["id_field"],
            title_field=kw["title_field"],
            url_field=kw["url_field"],
            date_field=kw["date_field"],
        )
        result = build_dataset(
            list(inputs),
            output,
            ratios=ratios,
            seed=seed,
            split_by=split_by,
            workers=workers,
            engine=engine,
            scheduler=scheduler,
            overwrite=kw["overwrite"],
            resume=kw["resume"],
            quiet=kw["quiet"],
            source_options=source_options,
            align_options=_alignment(kw["neighbours"], kw["window_tokens"], kw["top_k"]),
            article_timeout=kw["article_timeout"] or None,
        )
    except (FileExistsError, FileNotFoundError, ValueError, TaskFailed, EngineUnavailable) as error:
        raise click.ClickException(str(error)) from None
    click.echo(result.summary())


@cli.command("split")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@_split_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def split_command(dataset, ratios, seed, split_by, quiet):
    """Re-split a built dataset without re-parsing (rewrites shards, card and manifest).

    \b
    Example:
        captionset split dataset --ratios 0.9,0.05,0.05 --seed v2
    """
    from .build import resplit

    try:
        result = resplit(dataset, ratios=ratios, seed=seed, split_by=split_by, quiet=quiet)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(result.summary())


def _cell(value, width: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


@cli.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--config", type=click.Choice(["captions", "articles", "blocks"]), default="captions", show_default=True
)
@click.option(
    "--split", "split_name", type=click.Choice(["train", "validation", "test"]), help="Default: all."
)
@click.option("-n", "count", type=click.IntRange(min=0), default=5, show_default=True, help="Rows to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
def show(dataset, config, split_name, count, as_json):
    """Print the first rows of a built dataset.

    \b
    Example:
        captionset show dataset --config articles --split test -n 3
    """
    from .load import show as show_rows

    try:
        rows = show_rows(dataset, config, split_name, count)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    width = shutil.get_terminal_size((120, 20)).columns
    for number, row in enumerate(rows):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
            continue
        click.echo(f"── {config} row {number} ({row.get('split')})")
        key_width = max(len(k) for k in row)
        for key, value in row.items():
            click.echo(f"{key:>{key_width}}  {_cell(value, max(width - key_width - 3, 20))}")


@cli.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
def stats(dataset, as_json):
    """Counts, split sizes, caption statistics and the leakage check of a built dataset.

    \b
    Example:
        captionset stats dataset --json
    """
    from .load import stats as dataset_stats

    try:
        figures = dataset_stats(dataset)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{figures['path']}: {figures['articles']} articles, {figures['captions']} captions, "
        f"{figures['blocks']} blocks; {figures['rejects']} of {figures['inputs']} inputs rejected"
    )
    click.echo(f"{'config':<10}" + "".join(f"{s:>12}" for s in ("train", "validation", "test")))
    for config, per_split in figures["splits"].items():
        click.echo(f"{config:<10}" + "".join(f"{per_split[s]:>12}" for s in ("train", "validation", "test")))
    numbers = figures["statistics"]
    cpa, chars = numbers["captions_per_article"]["all"], numbers["caption_chars"]["all"]
    media = ", ".join(f"{k} {v}" for k, v in numbers["media_type"]["all"].items()) or "none"
    leak = numbers["leakage"]
    rule = figures["split_rule"]
    click.echo(f"captions per article: mean {cpa['mean']}, median {cpa['median']}, max {cpa['max']}")
    click.echo(f"caption length (chars): mean {chars['mean']}, median {chars['median']}; media: {media}")
    click.echo(
        f"split: by {rule['split_by']}, seed {rule['seed']!r}; articles in several splits "
        f"{leak['articles_in_several_splits']}, caption texts in several splits "
        f"{leak['caption_texts_in_several_splits']}"
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="captionset")
