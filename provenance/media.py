"""The one place that decodes and encodes video (PyAV): probe, stream, sample, write, transcode."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from provenance.errors import BadInput, UnsupportedFormat

PixelFormat = str  # "rgb24" (H, W, 3), "gray" (H, W) luma plane as coded, or "yuv420p" (H * 3 // 2, W) planar
FrameFn = Callable[[np.ndarray, int], np.ndarray]

SIGNABLE_CONTAINERS = {"mp4", "mov"}
NEUTRAL_CHROMA = 128
X265_LOOKAHEAD_MIN_PX = 128
SPREAD_REFERENCE_ONLY = 4  # iter_spread_frames skips non-reference frames above this many frames per pick
PLANAR_8BIT_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"}
ENCODERS = {"h264": "libx264", "h265": "libx265", "hevc": "libx265", "vp9": "libvpx-vp9"}


@dataclass(frozen=True)
class Limits:
    """What the library agrees to decode; anything larger is refused before decoding starts."""

    max_pixels: int = 7680 * 4320
    max_seconds: float = 4 * 3600.0
    max_bytes: int = 32 * 1024**3


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ClipInfo:
    """What a clip is, read from its container without decoding every frame."""

    path: str
    container: str
    codec: str
    width: int
    height: int
    fps: float
    duration_s: float
    frame_count: int
    has_audio: bool
    size_bytes: int

    @property
    def signable(self) -> bool:
        """True when C2PA can embed a manifest in this container (ISO BMFF)."""
        return self.container in SIGNABLE_CONTAINERS

    def to_dict(self) -> dict:
        return asdict(self)


def check_readable(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> Path:
    """Refuse paths that are missing, folders, empty or over the size limit, with one clear message."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: {'broken or looping symbolic link' if path.is_symlink() else 'no such file'}")
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise BadInput(f"{path}: folder cannot be read (permission denied)")
        raise BadInput(f"{path}: is a directory, not a video file")
    size = path.stat().st_size
    if size == 0:
        raise BadInput(f"{path}: empty file")
    if size > limits.max_bytes:
        raise BadInput(f"{path}: {size} bytes is over the limit of {limits.max_bytes} bytes")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({_reason(exc)})") from None
    return path


@contextlib.contextmanager
def _open_video(
    path: str | os.PathLike, limits: Limits
) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    path = check_readable(path, limits)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not a readable video ({_reason(exc)})") from None
    try:
        if not container.streams.video:
            raise BadInput(f"{path}: has no video stream")
        if _is_still_image(container):
            raise BadInput(f"{path}: is a still image, not a video")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise BadInput(f"{path}: video stream has no frame size")
        if width * height > limits.max_pixels:
            raise BadInput(f"{path}: {width}x{height} is over the limit of {limits.max_pixels} pixels per frame")
        missing = _bytes_past_end(stream, path)
        if missing > 0:
            raise BadInput(f"{path}: truncated (its last frame ends {missing} bytes past the end of the file)")
        duration = _duration_s(container, stream)
        if duration > limits.max_seconds:
            raise BadInput(f"{path}: {duration:.0f} s is over the limit of {limits.max_seconds:.0f} s")
        stream.thread_type = "AUTO"
        yield container, stream
    finally:
        container.close()


def _bytes_past_end(stream: av.VideoStream, path: Path) -> int:
    """How far the container's index places the last frame beyond the file's end (> 0: a cut-off file)."""
    entries = stream.index_entries
    if not len(entries):
        return 0
    last = entries[len(entries) - 1]
    return last.pos + last.size - path.stat().st_size


def _is_still_image(container: av.container.InputContainer) -> bool:
    """True for FFmpeg's image readers (PNG, JPEG, WebP, BMP...), which present one picture as a video stream."""
    return any(name == "image2" or name.endswith("_pipe") for name in container.format.name.split(","))


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _fps(stream: av.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _container_name(container: av.container.InputContainer, path: Path) -> str:
    names = set(container.format.name.split(","))
    if "mov" in names or "mp4" in names:
        return "mov" if path.suffix.lower() == ".mov" else "mp4"
    if "matroska" in names or "webm" in names:
        return "webm" if path.suffix.lower() == ".webm" else "mkv"
    return sorted(names)[0]


def probe(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> ClipInfo:
    """Read container, codec, size, rate, duration and frame count without decoding the clip."""
    with _open_video(path, limits) as (container, stream):
        fps = _fps(stream)
        duration = _duration_s(container, stream)
        frames = stream.frames or round(duration * fps)
        return ClipInfo(
            path=str(path),
            container=_container_name(container, Path(path)),
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=fps,
            duration_s=duration,
            frame_count=int(frames),
            has_audio=bool(container.streams.audio),
            size_bytes=Path(path).stat().st_size,
        )


def frame_times(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> list[float]:
    """Presentation times (s) of every video frame, in order, read from the packets without decoding."""
    with _open_video(path, limits) as (container, stream):
        times = [float(p.pts * stream.time_base) for p in container.demux(stream) if p.pts is not None and p.size]
    return sorted(times)


def _decode(
    container: av.container.InputContainer, stream: av.VideoStream, path: str | os.PathLike
) -> Iterator[av.VideoFrame]:
    try:
        yield from container.decode(stream)
    except av.error.FFmpegError as exc:
        raise BadInput(f"{path}: video data is corrupt ({_reason(exc)})") from None


def iter_frames(
    path: str | os.PathLike, pix_fmt: PixelFormat = "rgb24", limits: Limits = DEFAULT_LIMITS
) -> Iterator[np.ndarray]:
    """Yield decoded frames one at a time, so memory stays bounded whatever the clip's length."""
    for _, frame in iter_timed_frames(path, pix_fmt, limits):
        yield frame


def iter_timed_frames(
    path: str | os.PathLike, pix_fmt: PixelFormat = "rgb24", limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (presentation time in seconds, frame) pairs one at a time."""
    with _open_video(path, limits) as (container, stream):
        count = 0
        for frame in _decode(container, stream, path):
            time_s = float(frame.time) if frame.time is not None else count / (_fps(stream) or 1.0)
            yield time_s, frame_to_array(frame, pix_fmt)
            count += 1
        if count == 0:
            raise BadInput(f"{path}: contains no decodable video frames")


def iter_timed_video_frames(
    path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[float, av.VideoFrame]]:
    """Yield (presentation time in seconds, decoded frame) without converting it, for readers that keep
    only some frames and convert those with `frame_to_array`."""
    with _open_video(path, limits) as (container, stream):
        count = 0
        for frame in _decode(container, stream, path):
            yield (float(frame.time) if frame.time is not None else count / (_fps(stream) or 1.0)), frame
            count += 1
        if count == 0:
            raise BadInput(f"{path}: contains no decodable video frames")


def iter_reference_frames(
    path: str | os.PathLike, pix_fmt: PixelFormat = "gray", limits: Limits = DEFAULT_LIMITS
) -> Iterator[np.ndarray]:
    """Yield only frames that other frames are predicted from, skipping the decoding of the rest.

    For readers that can work from a subset of a long clip: in a typical H.264 stream with B-frames
    this decodes about half the frames, in about half the time.
    """
    with _open_video(path, limits) as (container, stream):
        stream.codec_context.skip_frame = "NONREF"
        count = 0
        for frame in _decode(container, stream, path):
            yield frame_to_array(frame, pix_fmt)
            count += 1
        if count == 0:
            raise BadInput(f"{path}: contains no decodable video frames")


def iter_spread_frames(
    path: str | os.PathLike, count: int, pix_fmt: PixelFormat = "rgb24", limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield up to `count` (time, frame) pairs spread evenly over the clip, converting only those frames.

    The clip is decoded in order, without seeking; when it has more than SPREAD_REFERENCE_ONLY times as many
    frames as asked for, frames that no other frame is predicted from are not even decoded.
    """
    for time_s, frame in iter_spread_video_frames(path, count, limits):
        yield time_s, frame_to_array(frame, pix_fmt)


def iter_spread_video_frames(
    path: str | os.PathLike, count: int, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[float, av.VideoFrame]]:
    """The frames `iter_spread_frames` picks, as decoded (planes and colour tags), for readers of the planes."""
    if count <= 0:
        raise BadInput("number of frames to sample must be positive")
    info = probe(path, limits)
    gap_s = info.duration_s / count
    with _open_video(path, limits) as (container, stream):
        if info.frame_count > SPREAD_REFERENCE_ONLY * count:
            stream.codec_context.skip_frame = "NONREF"
        taken, first_s = 0, None
        for index, frame in enumerate(_decode(container, stream, path)):
            time_s = float(frame.time) if frame.time is not None else index / (info.fps or 1.0)
            first_s = time_s if first_s is None else first_s
            if time_s >= first_s + taken * gap_s - 1e-3:
                yield time_s, frame
                taken += 1
                if taken == count:
                    return
        if first_s is None:
            raise BadInput(f"{path}: contains no decodable video frames")


def display_rotation(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> int:
    """Degrees counter-clockwise that players turn the clip's frames by (its display matrix); 0 when none."""
    for _, frame in iter_timed_video_frames(path, limits):
        return round(frame.rotation)
    return 0


def plane_array(frame: av.VideoFrame, index: int) -> np.ndarray:
    """One 8-bit plane of a decoded frame as it is stored (a view, without the row padding)."""
    plane = frame.planes[index]
    return np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]


def frame_to_array(frame: av.VideoFrame, pix_fmt: PixelFormat) -> np.ndarray:
    """Convert a decoded frame to a numpy array in one of the library's pixel formats."""
    if pix_fmt == "gray":  # the coded luma plane itself: no conversion, no range change
        if frame.format.name not in PLANAR_8BIT_YUV:
            frame = frame.reformat(format="yuv420p")
        return plane_array(frame, 0).copy()
    if pix_fmt == "yuv420p" and (frame.width % 2 or frame.height % 2):  # 4:2:0 needs even sides: drop the last
        even = frame.to_ndarray(format="rgb24")[: frame.height - frame.height % 2, : frame.width - frame.width % 2]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24")
    return frame.to_ndarray(format=pix_fmt)


def sample_frames(
    path: str | os.PathLike, count: int, pix_fmt: PixelFormat = "rgb24", limits: Limits = DEFAULT_LIMITS
) -> list[tuple[float, np.ndarray]]:
    """Return `count` (time, frame) pairs spread evenly over the clip.

    Short clips are decoded once; long ones are read by seeking to each target time, so the cost
    does not grow with the clip's length.
    """
    if count <= 0:
        raise BadInput("number of frames to sample must be positive")
    info = probe(path, limits)
    if info.duration_s <= 0 or info.frame_count <= 4 * count or info.duration_s < 20:
        frames = list(iter_timed_frames(path, pix_fmt, limits))
        picks = np.linspace(0, len(frames) - 1, num=min(count, len(frames))).round().astype(int)
        return [frames[i] for i in sorted(set(picks.tolist()))]
    targets = (np.arange(count) + 0.5) * info.duration_s / count
    samples: list[tuple[float, np.ndarray]] = []
    with _open_video(path, limits) as (container, stream):
        for target in targets:
            container.seek(int(target / stream.time_base) + (stream.start_time or 0), stream=stream, backward=True)
            for frame in _decode(container, stream, path):
                if frame.time is None or frame.time >= target - 1e-3:
                    samples.append((float(frame.time or target), frame_to_array(frame, pix_fmt)))
                    break
    if not samples:
        raise BadInput(f"{path}: contains no decodable video frames")
    return samples


class VideoWriter:
    """Encode frames into an MP4/MOV (H.264 or H.265) or WebM (VP9), yuv420p.

    Odd frame sizes are trimmed by one row/column, which 4:2:0 chroma requires. Frames are spaced evenly at
    `fps`, unless a `time_base` is given: then `write` takes each frame's presentation time in it (variable rate).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: float,
        codec: str = "h264",
        crf: int = 18,
        preset: str = "medium",
        pix_fmt: PixelFormat = "rgb24",
        time_base: Fraction | None = None,
    ) -> None:
        if codec not in ENCODERS:
            raise UnsupportedFormat(f"codec {codec!r} is not one of {sorted(ENCODERS)}")
        if fps <= 0:
            raise BadInput(f"frame rate must be positive, got {fps}")
        self.width, self.height = width - width % 2, height - height % 2
        if self.width < 2 or self.height < 2:
            raise BadInput(f"frame size {width}x{height} is too small to encode")
        self.pix_fmt = pix_fmt
        self.frames_written = 0
        fmt = "webm" if codec == "vp9" else ("mov" if str(path).lower().endswith(".mov") else "mp4")
        # MP4/MOV: the index (moov) goes before the media data, so players start at once and a cut-off upload
        # keeps its index and its C2PA manifest readable
        options = {} if fmt == "webm" else {"movflags": "+faststart"}
        self._container = av.open(str(path), mode="w", format=fmt, options=options)
        self._stream = self._container.add_stream(ENCODERS[codec], rate=Fraction(fps).limit_denominator(1001))
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        self._time_base = time_base
        if time_base is not None:
            self._stream.codec_context.time_base = self._stream.time_base = time_base
            self._ticks_per_frame = max(1, round(1 / (fps * time_base)))
            self._last_pts = -self._ticks_per_frame
        options = {"crf": str(crf)}
        if codec == "vp9":
            options.update({"b:v": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
        else:
            options["preset"] = preset
        if ENCODERS[codec] == "libx265":
            # libx265's lookahead corrupts the heap on frames under ~64 px on a side (a native crash, not an
            # error), so small frames are encoded without lookahead and B-frames.
            small = min(self.width, self.height) < X265_LOOKAHEAD_MIN_PX
            options["x265-params"] = "log-level=error" + (":rc-lookahead=0:bframes=0" if small else "")
            self._stream.codec_context.codec_tag = "hvc1"
        self._stream.options = options

    @property
    def stream(self) -> av.VideoStream:
        return self._stream

    @property
    def container(self) -> av.container.OutputContainer:
        return self._container

    def write(self, frame: np.ndarray, pts: int | None = None) -> None:
        """Encode one frame given in this writer's pixel format; `pts` is its time in `time_base` units, if any."""
        if self.pix_fmt == "yuv420p":
            rows = self.height * 3 // 2
            if frame.shape[0] != rows or frame.shape[1] != self.width:
                frame = _trim_yuv420p(frame, self.width, self.height)
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="yuv420p")
        elif frame.ndim == 2:  # luma as stored (limited range), neutral chroma
            luma = frame[: self.height, : self.width]
            chroma = np.full((self.height // 2, self.width), NEUTRAL_CHROMA, dtype=np.uint8)
            video_frame = av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")
        else:
            frame = np.ascontiguousarray(frame[: self.height, : self.width])
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        if self._time_base is not None:  # strictly increasing, as encoders require, even from a damaged source
            wanted = pts if pts is not None else self._last_pts + self._ticks_per_frame
            video_frame.pts = self._last_pts = max(wanted, self._last_pts + 1)
        self._mux(self._stream.encode(video_frame))
        self.frames_written += 1

    def _mux(self, packets: list[av.Packet]) -> None:
        self._container.mux(packets)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        if self._container is None:
            return
        try:
            self._mux(self._stream.encode(None))
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif self._container is not None:
            self._container.close()
            self._container = None


def _trim_yuv420p(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    src_h = frame.shape[0] * 2 // 3
    src_w = frame.shape[1]
    y = frame[:src_h, :width][:height]
    chroma = frame[src_h:].reshape(2, src_h // 2, src_w // 2)[:, : height // 2, : width // 2]
    return np.concatenate([y, chroma.reshape(-1, width)], axis=0)


def write_video(
    path: str | os.PathLike,
    frames: Iterator[np.ndarray] | list[np.ndarray],
    fps: float,
    codec: str = "h264",
    crf: int = 18,
    preset: str = "medium",
) -> int:
    """Encode RGB frames into a video file; returns the number of frames written."""
    writer: VideoWriter | None = None
    try:
        for frame in frames:
            if writer is None:
                writer = VideoWriter(path, frame.shape[1], frame.shape[0], fps, codec, crf, preset)
            writer.write(frame)
        if writer is None:
            raise BadInput("no frames to write")
        writer.close()
        return writer.frames_written
    except BaseException:
        if writer is not None:
            writer.__exit__(Exception, None, None)
        raise


def transcode(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    frame_fn: FrameFn | None = None,
    pix_fmt: PixelFormat = "yuv420p",
    codec: str = "h264",
    crf: int = 18,
    preset: str = "medium",
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Decode `src`, pass each frame through `frame_fn(frame, index)`, encode to `dst` at the source's frame
    times (a variable frame rate stays in step with the audio), copy audio.

    Streams: one frame in memory at a time. Returns the number of video frames written.
    """
    with _open_video(src, limits) as (container, stream):
        writer = VideoWriter(
            dst, stream.codec_context.width, stream.codec_context.height, _fps(stream) or 25.0, codec, crf, preset,
            pix_fmt, time_base=stream.time_base,
        )
        try:
            rotation = display_rotation(src, limits)
            if rotation:  # players turn the frames by the display matrix: keep it, or the output plays sideways
                writer.stream.set_display_rotation(rotation)
            audio_in = container.streams.audio[0] if container.streams.audio and codec != "vp9" else None
            audio_out = writer.container.add_stream_from_template(audio_in) if audio_in is not None else None
            wanted = [stream] + ([audio_in] if audio_in is not None else [])
            index = 0
            for packet in container.demux(*wanted):
                if packet.stream is audio_in:
                    if packet.dts is not None:
                        packet.stream = audio_out
                        writer.container.mux(packet)
                    continue
                for frame in _decode_packet(packet, src):
                    array = frame_to_array(frame, pix_fmt)
                    writer.write(frame_fn(array, index) if frame_fn else array, frame.pts)
                    index += 1
                    if progress:
                        progress(1)
            if index == 0:
                raise BadInput(f"{src}: contains no decodable video frames")
            writer.close()
            return index
        except BaseException:
            writer.__exit__(Exception, None, None)
            raise


def _decode_packet(packet: av.Packet, path: str | os.PathLike) -> list[av.VideoFrame]:
    try:
        return packet.decode()
    except av.error.FFmpegError as exc:
        raise BadInput(f"{path}: video data is corrupt ({_reason(exc)})") from None


def remux(src: str | os.PathLike, dst: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> None:
    """Copy every audio and video packet into a new container without re-encoding.

    This is what upload pipelines do first; it drops any C2PA manifest the file carried.
    """
    check_readable(src, limits)
    out_format = "mov" if str(dst).lower().endswith(".mov") else "mp4"
    with av.open(str(src)) as inp, av.open(str(dst), mode="w", format=out_format) as out:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(*streams):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
