"""The diffusers backend on a tiny, randomly initialised LTX-Video pipeline built here (nothing is downloaded)."""

from __future__ import annotations

import json
import os
import shutil
import string
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_helpers import run_json

from generator import ClipSpec, Generator, create_backend
from provenance import media
from provenance.errors import ModelError
from provenance.verify import verify

FRAMES = 9  # one LTX chunk: k * 8 + 1 frames
FPS = 24.0
SIZE_PX = 64


def build_tiny_ltx(folder: Path) -> Path:
    """Save a randomly initialised LTXConditionPipeline with the layout of a real LTX-Video checkpoint."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    torch.manual_seed(0)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [(c, -3.0) for c in string.printable[:94]]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2,
                                           num_heads=4, relative_attention_num_buckets=8)).eval()
    transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                             num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                             num_layers=1, caption_channels=32)
    vae = AutoencoderKLLTXVideo(
        latent_channels=8, block_out_channels=(8,) * 4, decoder_block_out_channels=(8,) * 4,
        layers_per_block=(1,) * 5, decoder_layers_per_block=(1,) * 5,
        spatio_temporal_scaling=(True, True, False, False), decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False,) * 5, upsample_residual=(False,) * 4, upsample_factor=(1,) * 4,
        timestep_conditioning=False, patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
    )
    pipeline = LTXConditionPipeline(FlowMatchEulerDiscreteScheduler(), vae, text_encoder, tokenizer, transformer)
    path = folder / "tiny-ltx"
    pipeline.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_ltx(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def backend(model_dir: Path):
    """The saved pipeline reloaded from its folder, offline; a few steps keep it quick."""
    return create_backend(model_dir, steps=2, chunk_frames=FRAMES)


@pytest.fixture(scope="session")
def outputs(backend, home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One clip per operation through the diffusers backend, each stamped by the generator."""
    folder = tmp_path_factory.mktemp("diffusers-clips")
    still = folder / "still.png"
    cv2.imwrite(str(still), np.tile(np.linspace(40, 220, SIZE_PX, dtype=np.uint8)[None, :, None], (SIZE_PX, 1, 3)))
    out = {name: folder / f"{name}.mp4" for name in ("text", "image", "extend", "fill")}
    spec = ClipSpec(SIZE_PX, SIZE_PX, FPS, FRAMES / FPS)
    with Generator(backend, home=home) as generator:
        generator.text_to_video("a red kite over a beach", out["text"], spec, seed=1)
        generator.image_to_video(still, "the light moves", out["image"], spec, seed=2)
        generator.extend(out["text"], 8 / FPS, "the kite climbs", out["extend"], seed=3)
        generator.fill(out["text"], out["fill"], fps=2 * FPS, method="model", seed=4)
    return out


EXPECTED_INGREDIENTS = {
    "text": [],
    "image": [{"title": "still.png", "relationship": "inputTo"}],
    "extend": [{"title": "text.mp4", "relationship": "parentOf"}],
    "fill": [{"title": "text.mp4", "relationship": "parentOf"}],
}


@pytest.mark.parametrize("operation", sorted(EXPECTED_INGREDIENTS))
def test_each_operation_runs_on_the_model_and_is_stamped(outputs: dict[str, Path], backend, home: Path,
                                                         operation: str) -> None:
    report = verify(outputs[operation], trust_anchors=home / "ca.pem", home=home).to_dict()
    assert report["verdict"] == "ai-generated"
    assert report["c2pa"]["validation_state"] == "Trusted"
    assert report["c2pa"]["generator"] == backend.model == "tiny-ltx (LTXConditionPipeline)"
    assert report["c2pa"]["ingredients"] == EXPECTED_INGREDIENTS[operation]


def test_clip_lengths_follow_the_request(outputs: dict[str, Path]) -> None:
    frames = {name: media.probe(path).frame_count for name, path in outputs.items()}
    assert frames == {"text": FRAMES, "image": FRAMES, "extend": FRAMES + 8, "fill": 2 * FRAMES - 1}
    assert media.probe(outputs["text"]).width == SIZE_PX


def test_long_clips_are_made_in_chunks_that_continue_each_other(backend) -> None:
    spec = ClipSpec(32, 32, FPS, 20 / FPS)  # more than two 9-frame chunks
    frames = list(backend.text_to_video("waves", spec, seed=5))
    assert len(frames) == 20 and all(f.shape == (32, 32, 3) for f in frames)


def test_the_command_takes_a_model_directory(model_dir: Path, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    [result] = run_json("generate", "a kite", "-o", out, "--backend", model_dir, "--size", f"{SIZE_PX}x{SIZE_PX}",
                        "--seconds", str(FRAMES / FPS), home=home)
    assert result["model"] == "tiny-ltx (LTXConditionPipeline)" and result["frames"] == FRAMES


def test_a_folder_that_is_not_a_supported_model_is_refused(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ModelError, match="cannot load the model"):
        create_backend(broken)
    with pytest.raises(ModelError, match=r"no model_index\.json"):
        create_backend("diffusers", model_dir=tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ModelError, match="not supported"):
        create_backend(tmp_path)
