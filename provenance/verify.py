"""One Report per clip from the evidence: C2PA manifest, watermark, ledger, detector; and the verdict."""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from provenance import marks, media
from provenance.errors import KeyMissing, ProvenanceError
from provenance.keys import default_home, read_watermark_secret
from provenance.manifest import IMAGE_MIME, C2paEvidence, read_evidence, still_image_format, validate_store
from provenance.rubric import load_all as load_rubrics
from provenance.trust import PemSource, Trust

if TYPE_CHECKING:
    from provenance.ledger import Ledger, Record
    from provenance.watermark import IssuedPayloads, WatermarkKey

VERDICTS = ("ai-generated", "near-copy-of-credentialed", "likely-ai-generated", "no-evidence", "tampered", "error")
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".gif"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".avif"}  # read for their manifest alone
WALKED_SUFFIXES = VIDEO_SUFFIXES | IMAGE_SUFFIXES  # what a folder given to verify or batch is walked for
BUILTIN_DETECTOR = "builtin"
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): the signal a process gets when its parent dies
HARD_BINDING_CODES = ("assertion.bmffHash.mismatch", "assertion.dataHash.mismatch")
NO_KEY_REASON = "no watermark key under the home folder"
STILL_IMAGE_REASON = "a still image: our watermark is only embedded in video"
DETECTOR_SKIPPED_ON_IMAGES = "not run: it scores video clips, not still images"
SIGNER_TRUST_WORDS = {  # C2PA asks validators to show the official and the interim list apart
    "official": "on the official C2PA trust list",
    "interim": "on the frozen interim trust list of known certificates, not on the official C2PA trust list",
    "own": "under your trust anchors",
    "untrusted": "on none of the trust lists given",
}


class ClipScorer(Protocol):
    """Anything that scores a clip: the detector package provides one."""

    def score(self, path: str | os.PathLike) -> Any:  # an object with score, threshold, verdict, model, note
        ...


@dataclass
class Report:
    """What can be proven about one clip. `to_dict()` is the JSON contract in DESIGN.md."""

    path: str
    verdict: str = "no-evidence"
    c2pa: C2paEvidence = field(default_factory=C2paEvidence)
    watermark: dict = field(default_factory=lambda: {
        "detected": False, "state": "not-checked", "payload": None, "p_value": None, "frames": 0, "others": []})
    ledger: dict = field(default_factory=lambda: {"found": False, "manifest": None})
    detector: dict = field(default_factory=lambda: {"score": None, "model": None})
    evidence: list[str] = field(default_factory=list)
    container: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "path": self.path, "verdict": self.verdict, "c2pa": self.c2pa.to_dict(), "watermark": self.watermark,
            "ledger": self.ledger, "detector": self.detector, "evidence": self.evidence, "container": self.container,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        """The Report that `to_dict()` (the JSON object) was made from."""
        fields = {key: data[key] for key in ("path", "verdict", "watermark", "ledger", "detector", "evidence",
                                             "container", "error")}
        return cls(c2pa=C2paEvidence(**data["c2pa"]), **fields)


def decide(report: Report) -> str:
    """The verdict table (README): the strongest evidence wins; a detector only speaks when marks are silent."""
    if report.error is not None:
        return "error"
    c2pa = report.c2pa
    if c2pa.present and not c2pa.tampered and c2pa.ai_generated:
        return "ai-generated"
    if report.watermark.get("detected") or other_mark_found(report):
        return "ai-generated"
    if c2pa.tampered:
        return "tampered"
    if report.ledger.get("match") == "fingerprint":
        return "near-copy-of-credentialed"
    if report.detector.get("verdict") == "ai-generated":
        return "likely-ai-generated"
    return "no-evidence"


def other_mark_found(report: Report) -> bool:
    """True when another issuer's public mark is read at its strongest level ("very-likely")."""
    return any(mark["state"] == "very-likely" for mark in report.watermark.get("others", ()))


class Verifier:
    """Verifies clips with one set of trust anchors, watermark key, ledger and (optional) detector.

    Signers are judged by up to three lists (see `provenance.trust`): `trust_lists`, PEM bundles of the official
    C2PA trust list; `interim_trust_list` (and its `interim_allowed` end-entity certificates), the frozen interim
    list; `trust_anchors`, your own roots (e.g. HOME/ca.pem). `rubrics`: C2PA asset rubric files evaluated over
    each manifest (`provenance.rubric`), with `rubric_variables` for the variables they leave to the validator.
    `watermark=False` skips the watermark and the ledger: the C2PA manifest alone. Without a watermark key the
    ledger is still consulted, through the clip's fingerprint.
    """

    def __init__(
        self,
        trust_anchors: PemSource | None = None,
        home: str | os.PathLike | None = None,
        ledger: str | None = None,
        detector: ClipScorer | None = None,
        watermark: bool = True,
        trust_lists: Sequence[PemSource] = (),
        interim_trust_list: PemSource | None = None,
        interim_allowed: PemSource | None = None,
        rubrics: Sequence[str | os.PathLike] = (),
        rubric_variables: Mapping[str, str] | None = None,
    ) -> None:
        self.home = Path(home) if home else default_home()
        self.trust = Trust.load(trust_anchors, trust_lists, interim_trust_list, interim_allowed)
        self.rubrics = load_rubrics(rubrics, rubric_variables)
        self.watermark_key = _optional_key(self.home) if watermark else None
        self._ledger = _open_ledger(ledger, self.home) if watermark else None
        self._issued: IssuedFromLedger | None = None
        self.detector = detector

    def checks(self) -> tuple[str, ...]:
        """What this Verifier examines: c2pa always; watermark, ledger and detector when it has them."""
        have = {"watermark": self.watermark_key, "ledger": self._ledger, "detector": self.detector}
        return ("c2pa", *(name for name, part in have.items() if part is not None))

    def verify(self, path: str | os.PathLike) -> Report:
        """Examine one clip (or still image: its manifest alone); a file that cannot be read gives verdict `error`,
        never an exception."""
        report = Report(path=str(path))
        try:
            media.check_readable(path)
            image = still_image_format(path)
            if image is not None:
                report.c2pa = read_evidence(path, self.trust, IMAGE_MIME[image], self.rubrics)
                self._skip_image(image, report)
            else:
                report.c2pa = read_evidence(path, self.trust, rubrics=self.rubrics)
                report.container = media.probe(path).container
                self._check_watermark(path, report)
                report.watermark["others"] = [reading.to_dict() for reading in marks.read_clip(path)]
                self._check_detector(path, report)
        except ProvenanceError as exc:
            report.error = str(exc)
        report.verdict = decide(report)
        report.evidence = explain(report)
        return report

    def _skip_image(self, image: str, report: Report) -> None:
        """A still image: its manifest is all there is to read; neither the watermark nor the detector applies."""
        report.container = image
        report.watermark["reason"] = STILL_IMAGE_REASON
        if self.detector is not None:
            report.detector["note"] = DETECTOR_SKIPPED_ON_IMAGES

    def _check_watermark(self, path: str | os.PathLike, report: Report) -> None:
        """Our watermark and the ledger record it leads to; else (no mark read, or no key to read it with) the
        clip's fingerprint in the ledger, unless the clip's own manifest already says it all."""
        ledger = self._ledger
        if self.watermark_key is None:
            report.watermark.update(state="not-checked", reason=NO_KEY_REASON)
        else:
            from provenance.watermark import extract
            from provenance.watermark.issued import worth_matching

            detection = extract(path, self.watermark_key)
            if ledger is not None and worth_matching(detection):
                if self._issued is None:
                    self._issued = IssuedFromLedger(ledger, self.watermark_key)
                detection = self._issued.current().match(detection)
            report.watermark = detection.to_dict()
            found = ledger is not None and detection.payload is not None
            record = ledger.get(detection.payload.hex) if found else None
            if record is not None:
                self._recover(path, report, record, {"match": "watermark"})
                return
        if ledger is not None and not (report.c2pa.present and report.c2pa.ai_generated and not report.c2pa.tampered):
            self._check_fingerprint(path, report, ledger)

    def _check_fingerprint(self, path: str | os.PathLike, report: Report, ledger: Ledger) -> None:
        """Look the clip's fingerprint up in the ledger: a copy whose watermark is gone or was never there."""
        from provenance.fingerprint import match, read_clip

        readings = read_clip(path)
        found = match(readings, ledger.fingerprint_candidates(s.hash for seconds in readings for s in seconds))
        record = ledger.get(found.payload) if found is not None else None
        if record is not None:
            self._recover(path, report, record, {"match": "fingerprint", "fingerprint": found.to_dict()})

    def _recover(self, path: str | os.PathLike, report: Report, record: Record, how: dict) -> None:
        """Report the credential the ledger holds for the clip, its manifest re-validated against the clip."""
        recovered = validate_store(record.manifest_store, path, self.trust, self.rubrics)
        signature_codes = [code for code in recovered.status_codes if code not in HARD_BINDING_CODES]
        report.ledger = {
            "found": True,
            **how,
            "manifest": recovered.to_dict(),
            "signature_valid": recovered.error is None and not any(
                code.startswith(("claimSignature.mismatch", "signingCredential.invalid", "signingCredential.revoked"))
                for code in signature_codes),
            "hard_binding_matches": not any(code in HARD_BINDING_CODES for code in recovered.status_codes),
            "record": record.to_dict(),
        }

    def _check_detector(self, path: str | os.PathLike, report: Report) -> None:
        if self.detector is None or report.watermark.get("detected") or other_mark_found(report) or (
            report.c2pa.present and report.c2pa.ai_generated and not report.c2pa.tampered
        ):
            return
        result = self.detector.score(path)
        report.detector = {
            "score": result.score, "model": result.model, "threshold": result.threshold, "verdict": result.verdict,
            "note": result.note,
        }

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


class IssuedFromLedger:
    """A ledger's issued payloads with their codewords: coded on first use, then only what was issued since.

    The ledger's extent (completed credentials, newest sequence number) tells whether anything changed. New
    credentials are appended; when the count still falls short (a signing begun earlier completed later, with
    an older sequence number), everything is read again.
    """

    def __init__(self, ledger: Ledger, key: WatermarkKey) -> None:
        self.ledger = ledger
        self.key = key
        self._issued: IssuedPayloads | None = None
        self._count = self._newest_seq = 0  # credentials coded, and the newest one's sequence number

    def current(self) -> IssuedPayloads:
        """The IssuedPayloads, brought up to date with the ledger."""
        from provenance.watermark import IssuedPayloads

        count, newest_seq = self.ledger.issued_extent()
        if self._issued is not None and (count, newest_seq) != (self._count, self._newest_seq):
            self._issued.add(self._payloads(self.ledger.payload_rows(after_seq=self._newest_seq)))
        if self._issued is None or self._count < count:
            self._count = self._newest_seq = 0
            self._issued = IssuedPayloads(self.key, self._payloads(self.ledger.payload_rows()))
        return self._issued

    def _payloads(self, rows: Iterable[tuple[int, str]]) -> Iterator[str]:
        """The payloads of (sequence number, payload) rows, counted as they are read."""
        for seq, payload in rows:
            self._count, self._newest_seq = self._count + 1, max(self._newest_seq, seq)
            yield payload


def explain(report: Report) -> list[str]:
    """The evidence behind a verdict, in plain words."""
    lines: list[str] = []
    if report.error:
        return [f"could not read the clip: {report.error}"]
    c2pa = report.c2pa
    if c2pa.present and c2pa.tampered:
        failures = [code for code in c2pa.status_codes if "untrusted" not in code]
        reason = c2pa.error or ", ".join(failures)
        credential_only = c2pa.error is None and all(code.startswith("signingCredential.") for code in failures)
        why = "its signing certificate is not valid (expired, revoked or not fit for signing)" if credential_only else (
            "the file was altered after signing")
        signer = f"; its signer ({c2pa.signer}) is {SIGNER_TRUST_WORDS[c2pa.trust]}" if c2pa.signer else ""
        lines.append(f"a C2PA manifest is present but does not validate ({reason}): {why}{signer}")
    elif c2pa.present:
        trust = "signed by a trusted certificate" if c2pa.signer_trusted else "validly signed, but by a certificate"
        said = f"states AI generation by {c2pa.generator}" if c2pa.ai_generated else "does not state AI generation"
        lines.append(f"a C2PA manifest {said}; {trust} {SIGNER_TRUST_WORDS[c2pa.trust]} ({c2pa.signer})")
    elif report.container in media.SIGNABLE_CONTAINERS or report.container in IMAGE_MIME:
        lines.append("no C2PA manifest")
    else:
        lines.append(f"no C2PA manifest: {report.container} files cannot carry one (only MP4 and MOV can be signed)")
    if c2pa.signals:
        lines += explain_signals(c2pa.signals)
    wm = report.watermark
    if wm.get("detected"):
        matched = (f", too damaged to read alone but matching one of the ledger's {wm['issued_compared']} issued "
                   "payloads" if wm.get("issued_compared") else "")
        lines.append(f"our watermark is present (payload {wm['payload']}{matched}): p-value {wm['p_value']:.2e} "
                     f"over {wm['frames']} frames")
    elif wm.get("state") == "inconclusive":
        lines.append(f"traces of our watermark (p-value {wm['p_value']:.2e}) but no readable payload: "
                     "not enough to decide")
    elif wm.get("state") == "not-checked":
        lines.append(f"watermark not checked ({wm.get('reason', NO_KEY_REASON)})")
    else:
        lines.append("no watermark of ours")
    lines += [explain_other_mark(mark) for mark in wm.get("others", ())]
    if report.ledger.get("found"):
        recovered = report.ledger["manifest"]
        soft = "the watermark (soft binding) does"
        if report.ledger.get("match") == "fingerprint":
            soft = f"its fingerprint does: {fingerprint_words(report.ledger['fingerprint'])}"
        binding = "its hard binding matches this file" if report.ledger.get("hard_binding_matches") else (
            f"its hard binding does not match this file (re-encoded), while {soft}")
        signature = "signature valid" if report.ledger.get("signature_valid") else "signature NOT valid"
        trust = f"signer {SIGNER_TRUST_WORDS[recovered['trust']]}"
        lines.append(f"the ledger holds the original manifest: {recovered['generator']} via "
                     f"{recovered['claim_generator']}, signed by {recovered['signer']} at {recovered['created_at']} "
                     f"({signature}, {trust}); {binding}")
    if report.detector.get("score") is not None:
        note = f"; {report.detector['verdict']}: {report.detector['note']}" if report.detector.get("note") else ""
        lines.append(f"detector {report.detector['model']}: score {report.detector['score']:.3f} "
                     f"(threshold {report.detector['threshold']:.3f}){note}")
    elif report.detector.get("note"):
        lines.append(f"detector {report.detector['note']}")
    return lines


def explain_signals(signals: list[dict]) -> list[str]:
    """The rubrics' signals that hold (e.g. "Contains Fully GenAI Media"), then the checks: how many passed, and
    what each failing one found."""
    said = [s["text"] for s in signals if ":signal_" in s["id"] and s["value"]]
    checks = [s for s in signals if ":signal_" not in s["id"]]
    lines = [f"C2PA rubric signals: {'; '.join(said) if said else 'none hold'}"]
    if checks:
        passed = sum(1 for s in checks if s["value"])
        failed = [s["text"] for s in checks if s["value"] is False]
        unevaluated = sum(1 for s in checks if s["value"] is None)
        tail = f"; {unevaluated} could not be evaluated" if unevaluated else ""
        found = f": {'; '.join(failed)}" if failed else ""
        lines.append(f"C2PA rubric checks: {passed} of {len(checks)} passed{tail}{found}")
    return lines


def fingerprint_words(near: dict) -> str:
    """What a fingerprint match (`ledger.fingerprint`) found, and what it is worth."""
    return (f"{near['seconds_matched']} of the clip's {near['seconds_compared']} hashed seconds within "
            f"{near['mean_distance_bits']:g} bits on average. A near copy of a credentialed clip, weaker evidence "
            "than a watermark: footage that looks alike matches too")


def explain_other_mark(mark: dict) -> str:
    """One line on another issuer's mark; "partial" is said as absent, since unmarked frames reach it by chance."""
    name = f"{mark['issuer']}'s public watermark ({mark['algorithm']})"
    if not mark["frames"]:
        return f"{name} not checked: the frames are too small to carry it"
    if mark["state"] in ("none", "partial"):
        return f"{name} not found in {mark['frames']} frames read"
    read = f"{mark['marked_frames']} of {mark['frames']} frames read at its \"very likely\" level"
    if mark["state"] == "very-likely":
        return f"{name} is present: {read}"
    return f"traces of {name} (clip level {mark['state']}; {read}): not enough to decide"


def _open_ledger(url: str | None, home: Path):
    """The ledger that payloads are looked up in; None when nothing was ever signed under `home` (none is made)."""
    from provenance.ledger import Ledger

    url = url or os.environ.get("PROVENANCE_LEDGER")
    if url is None and not (home / "ledger.sqlite").exists():
        return None
    return Ledger.open(url, home=home, create=False)


def _optional_key(home: Path):
    try:
        secret = read_watermark_secret(home)
    except KeyMissing:
        return None
    from provenance.watermark import WatermarkKey

    return WatermarkKey(secret)


def verify(path: str | os.PathLike, **options) -> Report:
    """Verify one clip; `options` are Verifier's (trust_anchors, trust_lists, interim_trust_list, interim_allowed,
    rubrics, rubric_variables, home, ledger, detector)."""
    verifier = Verifier(**options)
    try:
        return verifier.verify(path)
    finally:
        verifier.close()


def expand_paths(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files as given; folders walked (sorted) for videos and still images. A subfolder that cannot be listed is yielded
    itself, so that its clips are reported as unread rather than silently missed."""
    for path in map(Path, paths):
        if not path.is_dir():
            yield path
            continue
        clips: list[Path] = []
        unlisted: list[OSError] = []
        for folder, _, names in os.walk(path, onerror=unlisted.append):
            clips += [Path(folder, name) for name in names if Path(name).suffix.lower() in WALKED_SUFFIXES]
        yield from sorted(clip for clip in clips if clip.is_file())
        yield from sorted(Path(error.filename) for error in unlisted)


_worker: Verifier | None = None  # this process's Verifier: keys, issued payloads and detector, loaded once
_worker_error: ProvenanceError | None = None  # why this worker process could not set up its Verifier


def setup_worker(detector_dir: str | None = None, **options) -> Verifier:
    """Load this process's Verifier once (options are Verifier's); `verify_clip` uses it from then on.

    `detector_dir` is a model folder, or "builtin" for the shipped model. Raises ProvenanceError for bad options.
    """
    global _worker
    close_worker()
    if detector_dir is not None:
        import detector as detector_package

        model_dir = None if detector_dir == BUILTIN_DETECTOR else detector_dir
        options = {**options, "detector": detector_package.load(model_dir)}
    _worker = Verifier(**options)
    return _worker


def close_worker() -> None:
    """Close this process's Verifier (its ledger connection), if one was set up."""
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


def verify_clip(source: str | os.PathLike | bytes, name: str | None = None, timed: bool = False) -> dict:
    """The unit every batch engine calls: one clip in (a path, or the file's bytes), the `verify --json` object out.

    It never raises for a clip: whatever goes wrong is the object's `error` (verdict "error"). It uses this
    process's Verifier (see `setup_worker`; one with the default options is loaded on first use). `name` is
    the path reported for bytes. `timed` adds "timing": wall and CPU seconds, the worker (host:pid), start time.
    """
    verifier = _worker or setup_worker()
    label = name or ("<bytes>" if isinstance(source, bytes) else str(source))
    started, cpu = time.perf_counter(), time.process_time()
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    try:
        report = _verify_bytes(verifier, source, label) if isinstance(source, bytes) else verifier.verify(source)
        result = report.to_dict()
    except Exception as exc:  # a failure on one clip is that clip's error row, never a failed batch
        result = error_result(label, f"verification failed: {exc}")
    if timed:
        result["timing"] = {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                            "worker": f"{socket.gethostname()}:{os.getpid()}", "started_at": started_at}
    return result


def _verify_bytes(verifier: Verifier, data: bytes, label: str) -> Report:
    """Verify a clip given as bytes, through a private temporary file named after `label`."""
    with tempfile.TemporaryDirectory(prefix="provenance-clip-") as folder:
        path = Path(folder) / (Path(label).name.lstrip(".<>") or "clip")
        path.write_bytes(data)
        report = verifier.verify(path)
    report.path = label
    if report.error is not None:
        report.error = report.error.replace(str(path), label)
        report.evidence = explain(report)
    return report


def init_pool_worker(options: dict, detector_dir: str | None) -> None:
    """Set up a pool worker's Verifier; a setup error is kept and raised by `pool_worker_verifier`, so the
    batch (or service) reports it with its first clip instead of losing the worker."""
    global _worker_error
    _end_with_parent()
    _worker_error = None
    try:
        setup_worker(detector_dir, **options)
    except ProvenanceError as exc:
        _worker_error = exc


def pool_worker_verifier() -> Verifier:
    """This pool worker's Verifier; raises the ProvenanceError that kept `init_pool_worker` from setting it up."""
    if _worker_error is not None:
        raise _worker_error
    return _worker or setup_worker()


def _end_with_parent() -> None:
    """On Linux, have the kernel end this worker when the batch process dies, rather than leave it idle forever."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _verify_in_worker(path: str, timed: bool = False) -> dict:
    pool_worker_verifier()
    return verify_clip(path, timed=timed)


def verify_many(
    paths: Iterable[str | os.PathLike], workers: int = 1, detector_dir: str | None = None, **options
) -> Iterator[Report]:
    """Verify clips (folders are walked) and yield each Report as it finishes; see `verify_clips`."""
    for result in verify_clips(paths, workers, detector_dir, **options):
        yield Report.from_dict(result)


def verify_clips(
    paths: Iterable[str | os.PathLike], workers: int = 1, detector_dir: str | None = None, timed: bool = False,
    **options,
) -> Iterator[dict]:
    """`verify_clip` over clips (folders are walked) in `workers` processes, yielding each result as it finishes;
    one failure never stops the batch.

    `detector_dir` (a model folder, or "builtin" for the shipped model) loads a detector in each worker.
    Bad options (trust anchors, ledger, detector) raise ProvenanceError before any result. A worker process
    that dies (killed, out of memory) is replaced; the clips in flight are tried again one at a time, and only
    one that kills its worker again is reported as an error.
    """
    unit = functools.partial(_verify_in_worker, timed=timed)
    if workers <= 1:
        setup_worker(detector_dir, **options)
        try:
            for path in expand_paths(paths):
                yield unit(str(path))
        finally:
            close_worker()
        return
    clips: Iterator[str] = (str(path) for path in expand_paths(paths))
    initargs = (options, detector_dir)
    while True:
        died: list[str] = []
        yield from _verify_in_pool(clips, unit, workers, initargs, died, window=workers * 2)
        if not died:
            return
        suspects = iter(died)  # in flight when a worker died: each is tried again alone, to find the one that kills
        while True:
            culprit: list[str] = []
            yield from _verify_in_pool(suspects, unit, workers, initargs, culprit, window=1)
            if not culprit:
                break
            yield error_result(culprit[0], "its worker process stopped abruptly (killed, out of memory or crashed)")


def _verify_in_pool(
    clips: Iterator[str], unit: Callable[[str], dict], workers: int, initargs: tuple, died: list[str], window: int
) -> Iterator[dict]:
    """Verify clips in one process pool, at most `window` at a time, until they run out or a worker dies;
    the clips in flight then go to `died`."""
    with ProcessPoolExecutor(workers, initializer=init_pool_worker, initargs=initargs) as pool:
        pending: dict[Future, str] = {}
        for path in clips:
            try:
                pending[pool.submit(unit, path)] = path
            except BrokenProcessPool:
                died.append(path)
            if len(pending) >= window:
                yield from _collect(pending, wait(pending, return_when=FIRST_COMPLETED).done, died)
            if died:
                break
        while pending:
            yield from _collect(pending, wait(pending, return_when=FIRST_COMPLETED).done, died)


def _collect(pending: dict[Future, str], done: Iterable[Future], died: list[str]) -> Iterator[dict]:
    for future in done:
        path = pending.pop(future)
        try:
            yield future.result()
        except BrokenProcessPool:
            died.append(path)
        except ProvenanceError:
            raise  # the worker could not set up (trust anchors, ledger, detector): the same for every clip
        except Exception as exc:  # a worker that failed on one clip must not end the batch
            yield error_result(path, f"verification failed: {exc}")


def error_result(path: str, error: str) -> dict:
    """The `verify_clip` object of a clip that could not be verified."""
    report = Report(path=path, error=error)
    report.verdict, report.evidence = decide(report), explain(report)
    return report.to_dict()
