"""`provenance batch`: verify a folder, list or table of clips into a Parquet or JSON Lines table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from provenance.batch import ENGINES, run_batch
from provenance.cli import NonEmptyPath, home_option, input_path, json_option, ledger_option, trust_options


@click.command()
@click.argument("source", metavar="INPUT", type=input_path)
@click.option("-o", "--output", required=True, type=NonEmptyPath(path_type=Path),
              help="Result table: OUTPUT.parquet or OUTPUT.jsonl. Run again with the same OUTPUT to finish a run "
                   "that was stopped: clips with a row (same path, size and mtime) are skipped.")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: worker processes on this machine; ray: a Ray Data job (pip install 'provenance[batch]').")
@click.option("--address", metavar="ADDRESS",
              help="Ray cluster to run on (e.g. auto, or HOST:6379); default: a local Ray started for the run.")
@click.option("--num-cpus", type=click.IntRange(1, 4096),
              help="Worker processes (local) or at most that many Ray actors; default: one per CPU.")
@click.option("--path-column", default="path", show_default=True, help="Column naming the clips in a table INPUT.")
@trust_options
@click.option("--detector", "detector_dir", metavar="MODEL_DIR|builtin",
              help="Score clips that carry no mark with a trained detector ('builtin' = the shipped model).")
@home_option
@ledger_option
@json_option
def batch(source: Path, output: Path, engine: str, address: str | None, num_cpus: int | None, path_column: str,
          trust: dict, detector_dir: str | None, home: Path | None, ledger_url: str | None,
          as_json: bool) -> None:
    """Verify every clip INPUT names into one table, one row per clip, written as each finishes.

    INPUT is a folder (walked for videos and still images), a .parquet or .csv table with a path column, or a text
    file with one path a line. Each row: path, size, mtime_ns, verdict, evidence, watermark, payload, manifest
    (embedded or recovered from the ledger), trust list and issuer of the signer, other issuers' marks, ledger
    match, detector score, error, timing, and the whole `verify --json` object as `report`. A clip that fails is a
    row with verdict error. Progress goes to stderr; the summary to stdout.

    \b
    Examples:
      provenance batch incoming/ -o verdicts.parquet --trust-anchors ca.pem
      provenance batch uploads.parquet -o verdicts.parquet --engine ray --address auto --ledger postgresql://...
      provenance batch paths.txt -o verdicts.jsonl --num-cpus 2
    """
    summary = run_batch(source, output, engine, num_cpus=num_cpus, address=address, detector_dir=detector_dir,
                        path_column=path_column, home=home, ledger=ledger_url, **trust)
    text = (f"{summary.output}: {summary.rows} rows; {summary.verified} clips verified now "
            f"({summary.errors} errors), {summary.skipped} done before")
    click.echo(json.dumps(summary.to_dict()) if as_json else text)
