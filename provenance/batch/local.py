"""The local engine: `verify_clip` in worker processes on this machine (the pool behind `verify --workers`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from provenance.batch.inputs import Clip
from provenance.verify import verify_clips


def run_local(
    clips: Iterable[Clip], workers: int, detector_dir: str | None, options: dict
) -> Iterator[tuple[Clip, dict]]:
    """Each clip with its `verify_clip` object (timed), as clips finish."""
    in_flight: dict[str, Clip] = {}

    def paths() -> Iterator[str]:
        for clip in clips:
            in_flight[clip.path] = clip
            yield clip.path

    for result in verify_clips(paths(), workers, detector_dir, timed=True, **options):
        yield in_flight.pop(result["path"]), result
