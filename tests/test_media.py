"""provenance.media: probing, streaming, sampling, writing and transcoding real video with PyAV."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import scene_frames
from provenance import media
from provenance.errors import BadInput, UnsupportedFormat


def test_probe_reports_what_was_written(clip: Path) -> None:
    info = media.probe(clip)
    assert (info.container, info.codec, info.width, info.height) == ("mp4", "h264", 320, 240)
    assert info.fps == pytest.approx(24)
    assert info.frame_count == 48
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.signable and not info.has_audio


@pytest.mark.parametrize(("codec", "suffix", "expected"), [("h265", ".mp4", "hevc"), ("vp9", ".webm", "vp9")])
def test_writer_codecs(tmp_path: Path, codec: str, suffix: str, expected: str) -> None:
    path = tmp_path / f"clip{suffix}"
    assert media.write_video(path, scene_frames(96, 64, 6), fps=12, codec=codec, crf=30) == 6
    info = media.probe(path)
    assert info.codec == expected and info.frame_count == 6
    assert info.signable is (suffix == ".mp4")


def test_frames_stream_in_every_pixel_format(clip: Path) -> None:
    rgb = next(media.iter_frames(clip, "rgb24"))
    gray = next(media.iter_frames(clip, "gray"))
    yuv = next(media.iter_frames(clip, "yuv420p"))
    assert rgb.shape == (240, 320, 3) and gray.shape == (240, 320) and yuv.shape == (360, 320)
    assert np.array_equal(gray, yuv[:240])
    times = [t for t, _ in media.iter_timed_frames(clip, "gray")]
    assert len(times) == 48 and times == sorted(times)


def test_odd_sizes_are_trimmed_to_even(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    media.write_video(path, scene_frames(101, 75, 3), fps=10)
    assert (media.probe(path).width, media.probe(path).height) == (100, 74)


def test_sample_frames_spreads_over_short_and_long_clips(clip: Path, tmp_path: Path) -> None:
    short = media.sample_frames(clip, 4)
    assert len(short) == 4 and short[0][0] == pytest.approx(0) and short[-1][0] > 1.8
    long_clip = tmp_path / "long.mp4"  # 30 s: sampled by seeking, not by decoding everything
    media.write_video(long_clip, (f for f in scene_frames(64, 48, 300)), fps=10, crf=35, preset="ultrafast")
    samples = media.sample_frames(long_clip, 5)
    times = [t for t, _ in samples]
    assert len(samples) == 5 and times == sorted(times)
    assert times[0] < 6 and times[-1] > 24


def test_limits_refuse_before_decoding(clip: Path) -> None:
    with pytest.raises(BadInput, match="pixels"):
        media.probe(clip, media.Limits(max_pixels=100 * 100))
    with pytest.raises(BadInput, match="over the limit"):
        media.probe(clip, media.Limits(max_seconds=1.0))
    with pytest.raises(BadInput, match="bytes"):
        media.probe(clip, media.Limits(max_bytes=1000))


def test_transcode_applies_frame_function_and_keeps_audio(tmp_path: Path) -> None:
    src = tmp_path / "with_audio.mp4"
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=Fraction(12))
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        for frame in scene_frames(64, 48, 12):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        samples = np.zeros((1, 16000), dtype=np.float32)
        audio_frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        audio_frame.sample_rate = 16000
        out.mux(audio.encode(audio_frame))
        out.mux(audio.encode(None))
        out.mux(video.encode(None))
    dst = tmp_path / "bright.mp4"
    count = media.transcode(src, dst, lambda f, i: np.full_like(f, 200), pix_fmt="gray")
    assert count == 12
    info = media.probe(dst)
    assert info.has_audio and info.frame_count == 12
    assert abs(float(next(media.iter_frames(dst, "gray")).mean()) - 200) < 2


def _write_yuv444(path: Path, width: int, height: int, rotation: int = 0) -> None:
    """H.264 in 4:4:4, which allows odd frame sizes (as VP9, MPEG-4 and others do), with a display rotation."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        if rotation:
            stream.set_display_rotation(rotation)
        for frame in scene_frames(width, height, 6):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))


def test_odd_sized_sources_transcode_to_even_frames(tmp_path: Path) -> None:
    src, dst = tmp_path / "odd.mp4", tmp_path / "even.mp4"
    _write_yuv444(src, 67, 49)
    assert media.transcode(src, dst, lambda frame, index: frame) == 6
    info = media.probe(dst)
    assert (info.width, info.height) == (66, 48)
    original, transcoded = next(media.iter_frames(src)), next(media.iter_frames(dst))
    assert np.abs(original[:48, :66].astype(int) - transcoded).mean() < 4  # the last row and column dropped


def test_transcode_keeps_the_display_rotation(tmp_path: Path) -> None:
    src, dst = tmp_path / "portrait.mp4", tmp_path / "transcoded.mp4"
    _write_yuv444(src, 64, 48, rotation=90)
    assert media.display_rotation(src) == 90
    media.transcode(src, dst)
    assert media.display_rotation(dst) == 90


def test_transcode_keeps_a_variable_frame_rate(tmp_path: Path) -> None:
    src, dst = tmp_path / "phone.mp4", tmp_path / "transcoded.mp4"
    times_ms = [0, 10, 210, 243, 276, 776, 793, 1100]
    with av.open(str(src), "w") as out:
        stream = out.add_stream("libx264", rate=1000)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for time_ms, frame in zip(times_ms, scene_frames(64, 48, len(times_ms)), strict=True):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts, video_frame.time_base = time_ms, Fraction(1, 1000)
            out.mux(stream.encode(video_frame))
        out.mux(stream.encode(None))
    media.transcode(src, dst)
    assert media.frame_times(dst) == pytest.approx([t / 1000 for t in times_ms], abs=1e-3)


def test_remux_copies_without_reencoding(clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "copy.mp4"
    media.remux(clip, dst)
    pairs = zip(media.iter_frames(clip, "gray"), media.iter_frames(dst, "gray"), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_unknown_codec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat):
        media.VideoWriter(tmp_path / "x.mp4", 64, 64, 10, codec="mpeg2")


def test_zero_frame_clip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    with pytest.raises(BadInput, match=r"no decodable video frames|no video stream"):
        list(media.iter_frames(path))


def test_small_h265_frames_encode_without_crashing(tmp_path: Path) -> None:
    """libx265's lookahead corrupts memory on frames under ~64 px; run in a child so a crash fails the test."""
    script = (
        "import sys, numpy as np\n"
        "from provenance import media\n"
        "rng = np.random.default_rng(0)\n"
        "for height, width in [(66, 40), (64, 40), (66, 38)] * 20:\n"
        "    frames = [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(5)]\n"
        "    media.write_video(sys.argv[1], frames, fps=8, codec='h265', crf=30, preset='veryfast')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "small.mp4")], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-500:]
    assert media.probe(tmp_path / "small.mp4").codec == "hevc"
