"""The Ray Data engine: clips -> a `map_batches` pool of actors, each holding one Verifier -> rows to the driver.

The driver (this process) lists the clips and writes the rows; only paths and result objects travel through
Ray, so the clips must be readable at the same paths on every node. Clips go in windows of WINDOW_CLIPS,
each a dataset of one-clip blocks, so that the driver's Ray bookkeeping stays the same however many there are.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable, Iterator

import numpy as np

from provenance.batch.inputs import Clip
from provenance.verify import setup_worker, verify_clip

WINDOW_CLIPS = 1000
ACTOR_CPUS = 1.0  # one verifier per core: decoding a clip keeps a core busy


class ClipVerifier:
    """A Ray Data actor: sets up its process's Verifier once (keys, issued payloads, detector), then verifies."""

    def __init__(self, options: dict, detector_dir: str | None) -> None:
        setup_worker(detector_dir, **options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = [json.dumps(verify_clip(str(path), timed=True)) for path in batch["path"]]
        return {"path": batch["path"], "result": np.array(results, dtype=object)}


def run_ray(
    clips: Iterable[Clip], address: str | None, num_cpus: int | None, detector_dir: str | None, options: dict
) -> Iterator[tuple[Clip, dict]]:
    """Each clip with its `verify_clip` object (timed), as clips finish, on the Ray cluster at `address`
    (None: a local Ray started here with `num_cpus` CPUs) with one actor per CPU (at most `num_cpus`)."""
    import ray
    import ray.data

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = max(1, min(num_cpus or cluster_cpus, cluster_cpus))
        clips = iter(clips)
        while window := {clip.path: clip for clip in itertools.islice(clips, WINDOW_CLIPS)}:
            dataset = ray.data.from_items([{"path": path} for path in window], override_num_blocks=len(window))
            verified = dataset.map_batches(
                ClipVerifier, fn_constructor_kwargs={"options": options, "detector_dir": detector_dir},
                batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=2),
                num_cpus=ACTOR_CPUS)
            for batch in verified.iter_batches(batch_size=None, prefetch_batches=0):
                for path, result in zip(batch["path"], batch["result"], strict=True):
                    yield window[str(path)], json.loads(result)
    finally:
        if started_here:
            ray.shutdown()
