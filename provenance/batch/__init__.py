"""Batch verification of many clips into one table, on local worker processes or a Ray cluster, resumable.

Every engine calls `provenance.verify.verify_clip` (one Verifier per worker) and nothing else decides a
verdict; this package only lists clips, skips those already done, and writes rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provenance.batch.inputs import Clip, read_clips
from provenance.batch.progress import Progress
from provenance.batch.results import Results, schema, to_row
from provenance.errors import BadInput
from provenance.verify import close_worker, setup_worker

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "Clip", "Summary", "read_clips", "run_batch", "schema"]


@dataclass
class Summary:
    """What a run did: clips named by the input, skipped as done before, verified now (errors among them)."""

    output: str
    clips: int
    skipped: int
    verified: int
    errors: int
    rows: int  # in OUTPUT after the merge

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def run_batch(
    source: str | os.PathLike, output: str | os.PathLike, engine: str = "local", *, num_cpus: int | None = None,
    address: str | None = None, detector_dir: str | None = None, path_column: str = "path",
    progress: Callable[[int, int], Progress] | None = Progress, **options,
) -> Summary:
    """Verify every clip `source` names that OUTPUT has no current row for, and merge the rows into OUTPUT.

    `options` are Verifier's (trust_anchors, trust_lists, interim_trust_list, interim_allowed, rubrics,
    rubric_variables, home, ledger).
    `num_cpus`: worker processes (local; default the CPU count) or at most that many Ray actors (default one per
    CPU of the cluster). `address`: a running Ray cluster (default: a local one started for the run). Bad options
    raise ProvenanceError before any clip.
    """
    if engine not in ENGINES:
        raise BadInput(f"engine {engine!r}: use one of {', '.join(ENGINES)}")
    results = Results(output, protect=[source])
    done = results.done()
    clips = skipped = 0
    todo: list[Clip] = []
    for clip in read_clips(source, path_column):
        clips += 1
        if done.get(clip.path) == (clip.size, clip.mtime_ns):
            skipped += 1
        else:
            todo.append(clip)
    options, checks = _checked(options, detector_dir)
    shown = progress(len(todo), skipped) if progress else None
    errors = 0
    for clip, result in _engine(engine, todo, num_cpus, address, detector_dir, options, checks):
        results.append(to_row(clip, result))
        errors += result["verdict"] == "error"
        if shown:
            shown.update(result["verdict"])
    rows = results.merge()
    return Summary(str(output), clips, skipped, len(todo), errors, rows)


def _checked(options: dict, detector_dir: str | None) -> tuple[dict, tuple[str, ...]]:
    """The Verifier options as workers get them (trust lists read once here), checked by setting one up, and
    what that Verifier examines (every worker must examine the same)."""
    verifier = setup_worker(detector_dir, **options)
    try:
        options = {**options, **verifier.trust.options()}
        if options.get("home") is not None:
            options = {**options, "home": str(Path(options["home"]).resolve())}
        return options, verifier.checks()
    finally:
        close_worker()


def _engine(engine: str, todo: list[Clip], num_cpus: int | None, address: str | None, detector_dir: str | None,
            options: dict, checks: tuple[str, ...]):
    if not todo:
        return iter(())
    if engine == "ray":
        from provenance.batch.ray_engine import run_ray

        return run_ray(todo, address, num_cpus, detector_dir, options, checks)
    from provenance.batch.local import run_local

    return run_local(todo, num_cpus or os.cpu_count() or 1, detector_dir, options)
