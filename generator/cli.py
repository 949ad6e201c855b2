"""`provenance generate`: make a clip from a prompt, an image, a clip to extend or a clip to fill, stamped."""

from __future__ import annotations

from pathlib import Path

import click

from generator.backends import BACKENDS, ClipSpec
from provenance import media
from provenance.cli import (
    FiniteFloatRange,
    NonEmptyPath,
    _emit,
    _progress,
    force_option,
    home_option,
    json_option,
    ledger_option,
)
from provenance.errors import BadInput
from provenance.signing import Stamper

DEFAULT_SIZE = "1280x720"


def _parse_size(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. {DEFAULT_SIZE}") from None
    return width, height


def _describe_words(model: str, words: dict[str, list[str]]) -> str:
    """One line: which of the prompt's words the backend draws, and which it leaves out."""
    drawn = f"{model} draws: {', '.join(words['used'])}" if words["used"] else \
        f"{model} draws none of the prompt's words (the seed picks the scene)"
    return drawn + (f"; not in its vocabulary, left out: {', '.join(words['unused'])}" if words["unused"] else "")


@click.command()
@click.argument("prompt", required=False, default="")
@click.option("-o", "--output", "output", required=True, type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="Clip to write (.mp4 or .mov).")
@click.option("--image", type=NonEmptyPath(dir_okay=False, path_type=Path), help="Animate this still (image-to-video).")
@click.option("--extend", "extend_clip", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="Continue this clip by --seconds.")
@click.option("--fill", "fill_clip", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="Restore this clip's missing frames, or raise its rate to --fps.")
@click.option("--backend", default="procedural", show_default=True, metavar="NAME|PATH",
              help=f"Backend name ({', '.join(sorted(BACKENDS))}) or a local diffusers model directory.")
@click.option("--seconds", type=FiniteFloatRange(0, None, min_open=True), default=4.0, show_default=True,
              help="Length to generate (for --extend: length added).")
@click.option("--size", callback=_parse_size, metavar="WxH", help=f"Frame size [default: {DEFAULT_SIZE}; an image's "
              "own aspect for --image; the clip's size for --extend and --fill].")
@click.option("--fps", type=FiniteFloatRange(1, 120), help="Frame rate [default: 24; --fill: the clip's own rate].")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Random seed: same seed, same clip.")
@click.option("--fill-method", type=click.Choice(["auto", "flow", "model"]), default="auto", show_default=True,
              help="How --fill makes frames: optical flow, or the model's keyframe fill (auto: the model's if any).")
@click.option("--include-prompt", is_flag=True, help="Put the prompt text in the manifest (default: its digest only).")
@force_option
@home_option
@ledger_option
@json_option
def generate(prompt: str, output: Path, image: Path | None, extend_clip: Path | None, fill_clip: Path | None,
             backend: str, seconds: float, size: tuple[int, int] | None, fps: float | None, seed: int,
             fill_method: str, include_prompt: bool, force: bool, home: Path | None, ledger_url: str | None,
             as_json: bool) -> None:
    """Generate a clip from PROMPT; it leaves watermarked, C2PA-signed and recorded in the ledger.

    \b
    Examples:
      provenance generate "a boat on the sea at sunset" -o boat.mp4 --seconds 6 --size 1280x720
      provenance generate "birds, slow zoom in" --image photo.jpg -o photo.mp4
      provenance generate "rain" --extend boat.mp4 --seconds 3 -o longer.mp4
      provenance generate --fill choppy.mp4 --fps 60 -o smooth.mp4
    """
    from generator.operations import Generator, read_image, spec_for_image

    sources = [name for name, value in (("--image", image), ("--extend", extend_clip), ("--fill", fill_clip)) if value]
    if backend == "diffusers":
        raise BadInput("--backend diffusers needs the model: give --backend PATH, the local folder of a diffusers "
                       "model (LTX-Video)")
    if len(sources) > 1:
        raise click.UsageError(f"{' and '.join(sources)} cannot be combined: choose one operation")
    if not sources and not prompt.strip():
        raise click.UsageError("give a PROMPT (or --image, --extend or --fill)")
    if (extend_clip or fill_clip) and size:
        raise click.UsageError("--size does not apply to --extend or --fill: they keep the clip's size")
    if extend_clip and fps:
        raise click.UsageError("--fps does not apply to --extend: it keeps the clip's rate")
    width, height = size or (1280, 720)
    rate = fps or ClipSpec.fps
    with Stamper(home, ledger=ledger_url, overwrite=force) as stamper, Generator(backend, stamper=stamper,
                                                                include_prompt=include_prompt) as generator:
        words = None if fill_clip else generator.backend.prompt_words(prompt, image=bool(image or extend_clip))
        if fill_clip:
            info = media.probe(fill_clip)
            with _progress(round(info.duration_s * (fps or info.fps)) or None, "filling") as advance:
                result = generator.fill(fill_clip, output, fps=fps, method=fill_method, prompt=prompt, seed=seed,
                                        progress=advance)
        elif extend_clip:
            info = media.probe(extend_clip)
            with _progress(info.frame_count + round(seconds * info.fps), "extending") as advance:
                result = generator.extend(extend_clip, seconds, prompt, output, seed=seed, progress=advance)
        elif image:
            spec = ClipSpec(width, height, rate, seconds) if size else spec_for_image(read_image(image), rate, seconds)
            with _progress(spec.frame_count, "animating") as advance:
                result = generator.image_to_video(image, prompt, output, spec, seed=seed, progress=advance)
        else:
            spec = ClipSpec(width, height, rate, seconds)
            with _progress(spec.frame_count, "generating") as advance:
                result = generator.text_to_video(prompt, output, spec, seed=seed, progress=advance)
    extra = {"prompt_words": words} if words is not None else {}
    if words is not None:
        click.echo(_describe_words(generator.backend.model, words), err=True)
    written = media.probe(result.path)
    if size and (written.width, written.height) != size:
        click.echo(f"note: --size {width}x{height} was written as {written.width}x{written.height} (H.264 in 4:2:0 "
                   f"needs even sides)", err=True)
        extra["size"] = [written.width, written.height]
    _emit({**result.to_dict(), "model": generator.backend.model, **extra}, as_json,
          f"generated {result.path} ({result.frames} frames, {generator.backend.model}, "
          f"watermark payload {result.payload})")
