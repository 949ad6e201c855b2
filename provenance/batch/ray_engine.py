"""The Ray Data engine: clips -> a `map_batches` pool of actors, each holding one Verifier -> rows to the driver.

The driver (this process) lists the clips and writes the rows; only paths and result objects travel through
Ray, so the clips must be readable at the same paths on every node. Clips go in windows of WINDOW_CLIPS,
each a dataset of one-clip blocks, so that the driver's Ray bookkeeping stays the same however many there are.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
from collections.abc import Iterable, Iterator

import numpy as np

from provenance.batch.inputs import Clip
from provenance.errors import KeyMissing, ProvenanceError
from provenance.verify import error_result, setup_worker, verify_clip

WINDOW_CLIPS = 1000
ACTOR_CPUS = 1.0  # one verifier per core: decoding a clip keeps a core busy
RETRIES = 1  # a clip whose actor died is tried once more (on a new actor), then it is an error row
WORKER_DIED = "its worker process stopped abruptly (killed, out of memory or crashed), twice"


class ClipVerifier:
    """A Ray Data actor: sets up its process's Verifier once (keys, issued payloads, detector), then verifies."""

    def __init__(self, options: dict, detector_dir: str | None, checks: tuple[str, ...]) -> None:
        have = setup_worker(detector_dir, **options).checks()
        if have != tuple(checks):  # e.g. a node without the watermark key, whose verdicts would differ
            missing = ", ".join(sorted(set(checks) - set(have)))
            raise KeyMissing(f"node {socket.gethostname()} cannot check {missing}, as the driver does "
                             f"(home {options.get('home') or 'default'}, ledger {options.get('ledger') or 'default'})")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = [json.dumps(verify_clip(str(path), timed=True)) for path in batch["path"]]
        return {"path": batch["path"], "result": np.array(results, dtype=object)}


def run_ray(
    clips: Iterable[Clip], address: str | None, num_cpus: int | None, detector_dir: str | None, options: dict,
    checks: tuple[str, ...],
) -> Iterator[tuple[Clip, dict]]:
    """Each clip with its `verify_clip` object (timed), as clips finish, on the Ray cluster at `address`
    (None: a local Ray started here with `num_cpus` CPUs) with one actor per CPU (at most `num_cpus`).
    Every actor must make the same `checks` as the driver's Verifier."""
    import ray
    import ray.data
    import ray.exceptions

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.max_errored_blocks = -1  # a block is one clip: one that fails must not fail the others
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = max(1, min(num_cpus or cluster_cpus, cluster_cpus))
        setup = {"options": options, "detector_dir": detector_dir, "checks": checks}
        clips = iter(clips)
        while window := {clip.path: clip for clip in itertools.islice(clips, WINDOW_CLIPS)}:
            dataset = ray.data.from_items([{"path": path} for path in window], override_num_blocks=len(window))
            verified = dataset.map_batches(
                ClipVerifier, fn_constructor_kwargs=setup,
                batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=2),
                num_cpus=ACTOR_CPUS, max_task_retries=RETRIES)
            try:
                for batch in verified.iter_batches(batch_size=None, prefetch_batches=0):
                    for path, result in zip(batch["path"], batch["result"], strict=True):
                        yield window.pop(str(path)), json.loads(result)
            except ray.exceptions.RayError as exc:  # e.g. actors that cannot set up: the same for every clip
                reason = [line for line in str(exc).splitlines() if line.strip()][-1].split(": ", 1)[-1]
                raise ProvenanceError(f"the Ray job stopped: {reason} (the rows written so far are kept)") from None
            for path, clip in window.items():  # the clips whose actors died on them
                yield clip, error_result(path, WORKER_DIED)
    finally:
        if started_here:
            ray.shutdown()
