"""The `provenance` command: thin click wrappers over the library."""

from __future__ import annotations

import functools
import importlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import click

from provenance.errors import BadInput, OutputExists, ProvenanceError

USAGE_EXIT = 2
UNREADABLE_EXIT = 1
_debug = False


class CommandError(click.ClickException):
    """A library error shown as one line on stderr."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)


class LazyGroup(click.Group):
    """A group whose heavy subcommands (detector, generate) are imported only when run."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "batch": ("provenance.batch.cli:batch", "Verify many clips into a resumable table (local or Ray)."),
        "detector": ("detector.cli:detector", "Train, evaluate and run the AI-video detector."),
        "generate": ("generator.cli:generate", "Generate a clip that leaves stamped (text, image, extend, fill)."),
        "serve": ("provenance.service.cli:serve", "Run the verification service and its web page (FastAPI)."),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (ProvenanceError, OSError) as exc:  # OSError: a file system failure (permissions, disk full...)
            if _debug:
                raise
            raise CommandError(_one_line(exc)) from None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name][0].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands without importing the lazy ones (keeps --help fast)."""
        rows = [(name, self.commands[name].get_short_help_str(60)) for name in super().list_commands(ctx)]
        rows += [(name, short_help) for name, (_, short_help) in self.lazy.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange that also refuses nan and the infinities (nan passes every comparison with a bound)."""

    def convert(self, value, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not in the range {self._describe_range()}.", param, ctx)
        return number


class NonEmptyPath(click.Path):
    """click's Path that refuses an empty string, which would otherwise mean the current folder."""

    def convert(self, value, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty string is not a path (to mean the current folder, write .)", param, ctx)
        return super().convert(value, param, ctx)


def _one_line(exc: Exception) -> str:
    if isinstance(exc, OutputExists):  # the library names its own parameter; a command user needs the option
        return f"output {exc.path} already exists; pass --force to replace it"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


# Input paths are checked by the library, which reports an unreadable clip as that clip's error, not a usage error.
input_path = NonEmptyPath(path_type=Path, readable=False)

home_option = click.option(
    "--home", type=NonEmptyPath(file_okay=False, path_type=Path), envvar="PROVENANCE_HOME",
    help="Folder with the signing key, certificate chain, watermark key and ledger "
         "[env PROVENANCE_HOME; default ~/.config/provenance].",
)
ledger_option = click.option("--ledger", "ledger_url", metavar="URL", envvar="PROVENANCE_LEDGER",
                             help="Ledger to use: a SQLite path or postgresql://... "
                                  "[env PROVENANCE_LEDGER; default: HOME/ledger.sqlite].")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
TRUST_LIST_ENV = "PROVENANCE_TRUST_LIST"
TRUST_OPTIONS = (
    click.option("--trust-anchors", type=NonEmptyPath(path_type=Path), metavar="PEM",
                 help="Your own CA certificates to trust (PEM; e.g. HOME/ca.pem from keygen): c2pa.trust \"own\"."),
    click.option("--trust-list", "trust_lists", multiple=True, type=NonEmptyPath(path_type=Path), metavar="PEM",
                 envvar=TRUST_LIST_ENV,
                 help="The official C2PA trust list (PEM roots of conforming signers, C2PA-TRUST-LIST.pem from "
                      "c2pa-org/conformance-public): c2pa.trust \"official\". Repeatable "
                      f"[env {TRUST_LIST_ENV}, several separated by {os.pathsep}]."),
    click.option("--interim-trust-list", type=NonEmptyPath(path_type=Path), metavar="PEM",
                 help="The interim known-certificate list, frozen 2026-01-01 (its anchors.pem, from "
                      "contentauth/verify-site): c2pa.trust \"interim\", reported apart from the official list."),
    click.option("--interim-allowed", type=NonEmptyPath(path_type=Path), metavar="PEM",
                 help="The interim list's end-entity certificates (its allowed.pem), trusted as they are; "
                      "with --interim-trust-list."),
    click.option("--rubric", "rubrics", multiple=True, type=NonEmptyPath(dir_okay=False, path_type=Path),
                 metavar="YAML",
                 help="A C2PA asset rubric (e.g. asset-rubric-signals-local.yml from c2pa-org/conformance-public) "
                      "evaluated over each manifest: c2pa.signals. Repeatable."),
    click.option("--rubric-variable", "rubric_variables", multiple=True, metavar="NAME=VALUE",
                 callback=lambda _ctx, _param, given: _assignments(given),
                 help="A variable a rubric leaves to the validator, e.g. expected_spec_version=2.4. Repeatable."),
)
TRUST_OPTION_NAMES = ("trust_anchors", "trust_lists", "interim_trust_list", "interim_allowed", "rubrics",
                      "rubric_variables")


def _assignments(given: tuple[str, ...]) -> dict[str, str]:
    """NAME=VALUE pairs as a dict; a pair without "=" is a usage error."""
    pairs = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--rubric-variable")
        pairs[name.strip().removeprefix("$")] = value
    return pairs


def trust_options(command: Callable) -> Callable:
    """The trust-list options, handed to `command` as one `trust` dict of Verifier keyword arguments."""

    @functools.wraps(command)
    def with_trust(*args, **kwargs):
        trust = {name: kwargs.pop(name) for name in TRUST_OPTION_NAMES}
        return command(*args, trust=trust, **kwargs)

    for option in reversed(TRUST_OPTIONS):
        with_trust = option(with_trust)
    return with_trust


force_option = click.option("--force", is_flag=True,
                            help="Replace OUTPUT if it exists (its earlier credential stays in the ledger, marked "
                                 "replaced).")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="provenance")
def cli(debug: bool) -> None:
    """Stamp AI-generated video with a signed C2PA manifest and an invisible watermark, and verify any clip.

    \b
    Typical use:
      provenance keygen                                  # once: keys under ~/.config/provenance
      provenance sign in.mp4 -o out.mp4 --model my-model
      provenance verify out.mp4 --trust-anchors ~/.config/provenance/ca.pem
    """
    global _debug
    _debug = debug


@contextmanager
def _progress(total: int | None, label: str) -> Iterator:
    """A progress bar on a terminal (stderr); nothing when output is piped."""
    if not sys.stderr.isatty():
        yield lambda n=1: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _emit(data: dict, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data) if as_json else text)


@cli.command()
@home_option
@click.option("--alg", type=click.Choice(["es256", "ps256", "ed25519"]), default="es256", show_default=True,
              help="Signature algorithm of the CA and signing certificate.")
@click.option("--org", default="Provenance", show_default=True, help="Organisation named in the certificates.")
@click.option("--force", is_flag=True,
              help="Replace keys that already exist; the old ones move to HOME/replaced/<time>/, the only keys "
                   "that still verify the clips stamped with them.")
@json_option
def keygen(home: Path | None, alg: str, org: str, force: bool, as_json: bool) -> None:
    """Create a development CA, a C2PA signing certificate and a watermark key.

    Key files are written readable by their owner only (0600). Verifiers pass HOME/ca.pem as
    --trust-anchors to trust clips signed with these keys. Existing keys are kept unless --force.

    \b
    Examples:
      provenance keygen                                   # into ~/.config/provenance
      provenance keygen --home /srv/provenance --org "Example Studio" --alg ed25519
    """
    from provenance.keys import keygen as make_keys

    creds = make_keys(home, alg=alg, org=org, force=force)
    data = {"home": str(creds.home), "alg": creds.alg, "trust_anchors": str(creds.home / "ca.pem")}
    _emit(data, as_json, f"keys written to {creds.home} ({alg}); trust anchors: {creds.home / 'ca.pem'}")


@cli.command()
@click.argument("src", type=input_path)
@click.option("-o", "--output", "dst", required=True, type=NonEmptyPath(path_type=Path), help="Signed clip to write.")
@click.option("--model", default="unspecified", show_default=True, help="Model that generated the clip.")
@click.option("--prompt", help="Prompt the clip was generated from (only its SHA-256 is recorded by default).")
@click.option("--include-prompt", is_flag=True, help="Record the prompt text itself in the manifest.")
@click.option("--seed", type=int, help="Generation seed to record.")
@click.option("--ingredient", "ingredients", multiple=True, type=input_path,
              help="Input the clip was made from (an image: inputTo; a clip: parentOf). Repeatable.")
@click.option("--no-watermark", is_flag=True, help="Sign the manifest only; keep the video bit-exact.")
@click.option("--strength", type=FiniteFloatRange(0.25, 4.0), default=1.0, show_default=True,
              help="Watermark strength: higher survives more, lower is less visible.")
@click.option("--cert", type=NonEmptyPath(path_type=Path), help="Your own certificate chain (PEM, leaf first).")
@click.option("--key", type=NonEmptyPath(path_type=Path), help="Private key for --cert (PEM).")
@force_option
@home_option
@ledger_option
@json_option
def sign(src: Path, dst: Path, model: str, prompt: str | None, include_prompt: bool, seed: int | None,
         ingredients: tuple[Path, ...], no_watermark: bool, strength: float, cert: Path | None, key: Path | None,
         force: bool, home: Path | None, ledger_url: str | None, as_json: bool) -> None:
    """Stamp SRC as AI-generated: invisible watermark + signed C2PA manifest, written to OUTPUT.

    The input is never modified, and an existing OUTPUT only replaced with --force. A clip that already
    carries a manifest is recorded as the new manifest's parent, so earlier provenance is kept. OUTPUT is
    an MP4 or MOV; the credential is recorded in the ledger under its watermark payload.

    \b
    Examples:
      provenance sign camera.mp4 -o signed.mp4 --model my-model --prompt "a boat at sunset"
      provenance sign edit.mov -o signed.mov --ingredient still.png --ingredient source.mp4
      provenance sign clip.mp4 -o manifest-only.mp4 --no-watermark
    """
    from provenance import media
    from provenance.keys import Credentials
    from provenance.manifest import Generation, Ingredient
    from provenance.signing import Stamper

    if (cert is None) != (key is None):
        raise click.UsageError("--cert and --key go together")
    credentials = Credentials.from_files(cert, key) if cert else None
    parts = [Ingredient.for_file(p) for p in ingredients]
    generation = Generation(model=model, prompt=prompt, include_prompt=include_prompt, seed=seed)
    total = None if no_watermark else media.probe(src).frame_count
    with Stamper(home, credentials=credentials, ledger=ledger_url, watermark=not no_watermark,
                 strength=strength, overwrite=force) as stamper, _progress(total, "watermarking") as advance:
        result = stamper.sign_clip(src, dst, generation, parts, progress=advance)
    mark = f"watermark payload {result.payload}" if result.watermarked else "no watermark"
    _emit(result.to_dict(), as_json, f"signed {result.path} ({mark}, {result.frames} frames)")


@cli.command()
@click.argument("clips", nargs=-1, required=True, type=input_path)
@trust_options
@click.option("--detector", "detector_dir", metavar="MODEL_DIR|builtin",
              help="Score clips that carry no mark with a trained detector ('builtin' = the shipped model).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Parallel processes (about 300 MB of memory each; more than the CPU cores rarely helps).")
@home_option
@ledger_option
@json_option
def verify(clips: tuple[Path, ...], trust: dict, detector_dir: str | None, workers: int, home: Path | None,
           ledger_url: str | None, as_json: bool) -> None:
    """Say what can be proven about each clip: C2PA manifest, watermark, ledger record, detector score.

    CLIPS are files or folders (walked for videos and still images). A still image (JPEG, PNG, WebP, HEIC, AVIF)
    is read for its C2PA manifest alone: the watermark and the detector are for video. With --json, one JSON
    object per clip (JSON Lines), printed as each finishes. Exit status: 0 when every clip was examined, 1
    when one could not be read. The verdict: ai-generated, near-copy-of-credentialed (the fingerprint of a clip
    in the ledger), likely-ai-generated (detector only), tampered, no-evidence or error.

    A manifest's signer is judged by the trust lists given, and c2pa.trust says which one trusts it:
    official (--trust-list), interim (--interim-trust-list), own (--trust-anchors) or untrusted; the first
    of these that trusts it is named. Trust is about the signer: a tampered file from a trusted signer is
    reported tampered, with its signer's trust. With --rubric, each manifest is also judged the way C2PA asks
    validators to: the rubric's signals (e.g. "Contains Fully GenAI Media") and checks, as c2pa.signals.

    \b
    Examples:
      provenance verify upload.mp4 --trust-anchors ~/.config/provenance/ca.pem
      provenance verify photo.jpg --trust-list C2PA-TRUST-LIST.pem \\
          --interim-trust-list interim/anchors.pem --interim-allowed interim/allowed.pem
      provenance verify photo.jpg --rubric asset-rubric-signals-local.yml --rubric asset-rubric-integrity.yml
      provenance verify incoming/ --workers 2 --json > verdicts.jsonl
      provenance verify unmarked.mp4 --detector builtin
    """
    from provenance.verify import NO_KEY_REASON, expand_paths, verify_many

    paths = list(expand_paths(clips))
    if not paths:
        raise BadInput(f"no videos or still images in {', '.join(map(str, clips))}")
    unreadable, unchecked_said = 0, False
    options = {**trust, "home": home, "ledger": ledger_url}
    with _progress(len(paths), "verifying") as advance:
        for report in verify_many(paths, workers=workers, detector_dir=detector_dir, **options):
            advance(1)
            if report.verdict == "error":
                unreadable += 1
                click.echo(f"error: {report.error}", err=True)
            elif report.watermark.get("reason") == NO_KEY_REASON and not unchecked_said:
                unchecked_said = True
                click.echo("note: the watermark was not checked (no watermark key under the home folder; "
                           "`provenance keygen` makes one): the verdicts rest on the other evidence alone",
                           err=True)
            _emit(report.to_dict(), as_json, _describe(report))
    if unreadable:
        sys.exit(UNREADABLE_EXIT)


def _describe(report) -> str:
    lines = [f"{report.path}: {report.verdict}", *(f"  - {line}" for line in report.evidence)]
    return "\n".join(lines)


@cli.group()
def ledger() -> None:
    """Inspect the credentials issued: every signing is recorded, keyed by its watermark payload.

    \b
    Examples:
      provenance ledger list --limit 20
      provenance ledger show 3f2a9c0b7d1e4a65
      provenance ledger export -o credentials.jsonl
    """


@ledger.command("list")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Credentials to show.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True,
              help="Newest credentials to skip first (the next page: --offset 50).")
@home_option
@ledger_option
@json_option
def ledger_list(limit: int, offset: int, home: Path | None, ledger_url: str | None, as_json: bool) -> None:
    """List recorded credentials, newest first: payload, time, model, output path (and what replaced it)."""
    from provenance.ledger import Ledger

    with Ledger.open(ledger_url, home=home, create=False) as led:
        records = led.list(limit=limit, offset=offset)
        if not records and not as_json:
            click.echo(f"no credentials in {led.where}" + (f" after the first {offset}" if offset else ""), err=True)
        for record in records:
            row = record.to_dict()
            replaced = f"  (replaced by {row['replaced_by']})" if row["replaced_by"] else ""
            _emit(row, as_json, f"{row['payload']}  {row['created_at']}  {row['model']}  {row['path']}{replaced}")


@ledger.command("show")
@click.argument("payload")
@home_option
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print it on one line (JSON Lines), not indented.")
def ledger_show(payload: str, home: Path | None, ledger_url: str | None, as_json: bool) -> None:
    """Show one credential as JSON: PAYLOAD is its watermark payload in hex (from verify or ledger list), and
    the output includes the manifest store (base64) and the signer's certificate chain."""
    from provenance.ledger import Ledger

    with Ledger.open(ledger_url, home=home, create=False) as led:
        record = led.get(payload.lower())
    if record is None:
        raise ProvenanceError(f"no credential with payload {payload} in the ledger")
    click.echo(json.dumps(record.to_dict(include_manifest=True), indent=None if as_json else 2))


@ledger.command("export")
@click.option("-o", "--output", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="JSON Lines file, written in full or not at all [default: stdout].")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@home_option
@ledger_option
def ledger_export(output: Path | None, force: bool, home: Path | None, ledger_url: str | None) -> None:
    """Export every credential as JSON Lines, oldest first, manifest stores in base64 (streamed: any size)."""
    from provenance.files import atomic_output
    from provenance.ledger import Ledger

    with Ledger.open(ledger_url, home=home, create=False) as led:
        if output is None or str(output) == "-":
            count = led.export(click.get_text_stream("stdout"))
        else:
            with atomic_output(output, protect=[led.where], overwrite=force) as partial, \
                    open(partial, "w", encoding="utf-8") as stream:
                count = led.export(stream)
    click.echo(f"exported {count} credentials", err=True)


def main() -> None:
    """Entry point of the `provenance` command."""
    cli()
