"""The `captionset` command line: a thin layer over the Python API with the same names."""

from __future__ import annotations

import json
import shutil
import sys

import click

from . import __version__
from .parse import parse_article
from .sources import find_files
from .text import DecodeError
from .views import block_rows


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="captionset")
def cli():
    """Turn news articles into a media-caption dataset."""


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
def parse(paths, output_format):
    """Split articles into labelled blocks (title, body, captions, ...).

    PATHS are files or folders (searched recursively for *.txt), read in a stable order.

    \b
    Example:
        captionset parse article.txt
        captionset parse --format jsonl corpus/ > blocks.jsonl
    """
    from .align import align

    width = shutil.get_terminal_size((120, 20)).columns
    failed = 0
    for path in find_files(paths):
        source = str(path)
        try:
            article = parse_article(path.read_bytes(), source=source)
        except (OSError, DecodeError) as error:
            failed += 1
            click.echo(f"captionset: skipped {source}: {error}", err=True)
            continue
        rows = block_rows(article, align(article))
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="captionset")
