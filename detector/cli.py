"""`provenance detector train|evaluate|score`: thin click wrappers over the detector package."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from detector.config import TrainConfig
from provenance.cli import FiniteFloatRange, NonEmptyPath
from provenance.errors import BadInput, ProvenanceError

DEFAULTS = TrainConfig()
MAX_SEED = 2**32 - 1  # scikit-learn's bound on a random_state
MAX_BATCH_TILES = 1024  # 1024 tiles of 256 px are 0.8 GB of float32 per step

model_option = click.option(
    "--model", "model_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
    help="Model folder (model.json + model.safetensors) [default: the shipped reference model].",
)
cache_option = click.option("--cache", "cache_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
                            help="Folder for normalised frames [default: $PROVENANCE_DETECTOR_CACHE or "
                                 "/tmp/provenance-detector-cache].")
pair_option = click.option("--pair", "pairs", multiple=True, metavar="SOURCE=GROUP",
                           help="Keep a source in the same split as another (e.g. an edit's input videos with the "
                                "generator that edited them). Repeatable.")
threads_option = click.option("--threads", type=click.IntRange(1, 256), default=None,
                               help="CPU threads for the network [default: torch's choice].")
steps_option = click.option("--steps", type=click.IntRange(0), default=DEFAULTS.max_steps, show_default=True,
                            help="Maximum backbone training steps on top of the fitted statistics (per fold with "
                                 "--leave-one-generator-out); 0 fits the statistics head and forest alone.")
min_gain_option = click.option("--min-gain-auc", type=FiniteFloatRange(0, 1), default=DEFAULTS.min_gain_auc,
                               show_default=True,
                               help="Trained backbone weights replace the untrained network (the statistics "
                                    "regression) only if they beat its held-out AUC by this much.")
workers_option = click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
                              help="Processes for preparing clips.")


def progress_bar(label: str, total: int) -> Callable[[int], None]:
    """A progress bar on a terminal (stderr), nothing otherwise."""
    if total <= 0 or not sys.stderr.isatty():
        return lambda _n: None
    bar = click.progressbar(length=total, label=label, file=sys.stderr)
    bar.__enter__()
    done = [0]

    def advance(count: int) -> None:
        bar.update(count)
        done[0] += count
        if done[0] >= total:
            bar.__exit__(None, None, None)

    return advance


def _pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        source, sep, group = pair.partition("=")
        if not sep or not source or not group:
            raise click.BadParameter(f"{pair!r} is not SOURCE=GROUP", param_hint="--pair")
        mapping[source] = group
    return mapping


def _cache(cache_dir: Path | None) -> dict:
    return {"cache_dir": cache_dir} if cache_dir is not None else {}


@click.group()
def detector() -> None:
    """Tell AI-generated clips from camera footage by their pixels (when no mark is left).

    \b
    Typical use:
      provenance detector score upload.mp4                      # with the shipped reference model
      provenance detector train clips/ -o my-model --steps 300  # clips/real/<source>/, clips/generated/<source>/
      provenance detector evaluate held-out.csv --model my-model --json report.json
    """


@detector.command()
@click.argument("data", type=NonEmptyPath(exists=True, path_type=Path))
@click.option("-o", "--out", "out_dir", required=True, type=NonEmptyPath(file_okay=False, path_type=Path),
              help="Model folder to write (weights, model card, checkpoint).")
@click.option("--backbone", default=DEFAULTS.backbone, show_default=True,
              help="Any timm model name (built from scratch).")
@click.option("--weights", type=NonEmptyPath(exists=True, dir_okay=False, path_type=Path),
              help="Local safetensors file to initialise the backbone from (nothing is downloaded).")
@steps_option
@click.option("--batch-size", type=click.IntRange(2, MAX_BATCH_TILES), default=DEFAULTS.batch_size, show_default=True,
              help="Tiles per step.")
@click.option("--tile", "tile_px", type=click.IntRange(32, 256), default=DEFAULTS.tile_px, show_default=True,
              help="Tile side in pixels.")
@click.option("--eval-every", type=click.IntRange(1), default=DEFAULTS.eval_every_steps, show_default=True,
              help="Steps between held-out checks (early stopping).")
@click.option("--patience", type=click.IntRange(1), default=DEFAULTS.patience_evals, show_default=True,
              help="Held-out checks without improvement before stopping.")
@click.option("--augment", type=click.IntRange(0, 16), default=DEFAULTS.augment_variants, show_default=True,
              help="Random platform-like variants (codec, CRF, scale, crop, blur, noise, colour) per clip.")
@min_gain_option
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=DEFAULTS.seed, show_default=True,
              help="Random seed of the split, the augmentations and the network: same seed, same model.")
@click.option("--name", default=DEFAULTS.name, show_default=True, help="Model name for the model card.")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.safetensors.")
@click.option("--force", is_flag=True, help="Replace the model OUT already holds.")
@pair_option
@cache_option
@workers_option
def train(data, out_dir, backbone, weights, steps, batch_size, tile_px, eval_every, patience, augment, min_gain_auc,
          seed, name, resume, force, pairs, cache_dir, workers) -> None:
    """Train a detector on DATA (a CSV path,label,source or a folder with real/ and generated/).

    DATA needs real and generated clips from several sources (whole sources are kept apart to calibrate the
    threshold). The model folder gets model.safetensors and a model.json card with its measured figures.

    \b
    Examples:
      provenance detector train clips/ -o my-model
      provenance detector train labels.csv -o my-model --steps 100 --workers 2
    """
    from detector.calibration import MAX_FALSE_POSITIVE_RATE
    from detector.data import load_dataset
    from detector.model import CARD_NAME
    from detector.training import CHECKPOINT_NAME
    from detector.training import train as train_detector

    if resume and not (out_dir / CHECKPOINT_NAME).exists():
        raise BadInput(f"--resume: {out_dir} holds no {CHECKPOINT_NAME} to continue from; "
                       "leave out --resume to start afresh")
    if (out_dir / CARD_NAME).exists() and not (force or resume):
        raise BadInput(f"{out_dir} already holds a trained model; pass --force to replace it "
                       "(or --resume to continue from its checkpoint)")
    config = TrainConfig(backbone=backbone, weights=str(weights) if weights else None, tile_px=tile_px,
                         batch_size=batch_size, max_steps=steps, eval_every_steps=eval_every,
                         patience_evals=patience, augment_variants=augment, min_gain_auc=min_gain_auc, seed=seed,
                         name=name)
    model = train_detector(load_dataset(data, _pairs(pairs)), out_dir, config, resume=resume, progress=progress_bar,
                           workers=workers, **_cache(cache_dir))
    metrics = model.card["metrics"]["calibration_clean_and_augmented"]
    calibration_real = model.card["data"]["calibration"]["real"]
    click.echo(f"saved {out_dir} ({model.name}): out-of-fold AUC {metrics['auc']:.3f}, threshold "
               f"{model.threshold:.4f} (FPR {metrics['fpr_at_threshold']:.3f} on {calibration_real} real clips)")
    if calibration_real < 1 / MAX_FALSE_POSITIVE_RATE:
        click.echo(f"warning: the threshold for at most {MAX_FALSE_POSITIVE_RATE:.0%} false positives rests on "
                   f"{calibration_real} real clips scored out of fold; measuring that rate takes at least "
                   f"{1 / MAX_FALSE_POSITIVE_RATE:.0f}, so treat the threshold as rough", err=True)


@detector.command()
@click.argument("data", type=NonEmptyPath(exists=True, path_type=Path))
@model_option
@click.option("--distortion", "distortions", multiple=True,
              help="Condition(s) to evaluate [default: clean, h264-crf28, h264-crf40, downscale-50, "
                   "h264-crf28+downscale-50].")
@click.option("--json", "json_path", type=NonEmptyPath(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--roc", "roc_path", type=NonEmptyPath(dir_okay=False, path_type=Path), help="Write ROC curves (PNG).")
@click.option("--force", is_flag=True, help="Replace an existing --json or --roc file.")
@click.option("--leave-one-generator-out", "logo_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              help="Instead of evaluating one model, train one per held-out generator (and the statistics "
                   "baseline) in this folder and report both.")
@steps_option
@min_gain_option
@pair_option
@cache_option
@workers_option
@threads_option
def evaluate(data, model_dir, distortions, json_path, roc_path, force, logo_dir, steps, min_gain_auc, pairs,
             cache_dir, workers, threads) -> None:
    """Report AUC, AP, TPR at 1% FPR, FPR at the threshold and calibration error on DATA.

    DATA is a CSV path,label,source or a folder with real/ and generated/, scored clean and under each
    --distortion; the tables are per distortion and per source.

    \b
    Examples:
      provenance detector evaluate held-out/ --model my-model --json report.json --roc roc.png
      provenance detector evaluate clips/ --leave-one-generator-out folds/ --steps 100
    """
    from detector.data import load_dataset
    from detector.distortions import CONDITIONS, condition
    from detector.evaluation import evaluate as evaluate_detector
    from detector.evaluation import leave_one_generator_out, logo_table
    from detector.metrics import format_table
    from detector.model import load
    from provenance.files import check_output

    for report_path in filter(None, (json_path, roc_path)):  # before the work, not after it
        check_output(report_path, overwrite=force)
    dataset = load_dataset(data, _pairs(pairs))
    names = [condition(d).name for d in distortions] or list(CONDITIONS)
    if logo_dir is not None:
        config = TrainConfig(max_steps=steps, min_gain_auc=min_gain_auc)
        report = leave_one_generator_out(dataset, logo_dir, config, names, progress=progress_bar, out_json=json_path,
                                         roc_png=roc_path, workers=workers, overwrite=force, **_cache(cache_dir))
        click.echo(logo_table(report))
        return
    report = evaluate_detector(load(model_dir, threads), dataset, names, out_json=json_path, roc_png=roc_path,
                               progress=progress_bar, workers=workers, overwrite=force, **_cache(cache_dir))
    click.echo(f"model {report['model']}, threshold {report['threshold']:.4f}")
    click.echo(format_table(report["per_distortion"]))
    click.echo()
    click.echo(format_table(report["per_source"]))


@detector.command()
@click.argument("clips", nargs=-1, required=True, type=NonEmptyPath(path_type=Path))
@model_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per clip (JSON Lines).")
@threads_option
def score(clips, model_dir, as_json, threads) -> None:
    """Score CLIP(s): calibrated probability of being AI-generated, verdict, per-frame scores.

    The verdict is ai-generated at or above the model's threshold, inconclusive in a band below it or when
    the clip is too small or flat to judge, else real. Exit status 1 when a clip could not be read.

    \b
    Example:
      provenance detector score upload.mp4 other.mp4 --json
    """
    from detector.model import load

    model = load(model_dir, threads)
    failed = 0
    for path in clips:
        try:
            result = model.score(path)
        except BadInput as exc:
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        if as_json:
            click.echo(json.dumps(result.to_dict()))
        else:
            note = f": {result.note}" if result.note else ""
            click.echo(f"{result.path}: {result.verdict} (score {result.score:.3f}, threshold {result.threshold:.3f})"
                       f"{note}")
    if failed:
        raise ProvenanceError(f"{failed} of {len(clips)} clip(s) could not be read")
