"""The network: a fixed high-pass residual filter in front of any timm backbone, scoring native-resolution tiles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from provenance.errors import ModelError

TILE_PX = 64
RESIDUAL_GAIN = 8.0


REPRESENTATIONS = {"residual": 3, "rgb+residual": 6, "residual-spectrum": 1, "residual+statistics": 3}
SPECTRUM_POOL = 2  # average 2x2 frequency bins: a steadier power estimate and a quarter of the compute
RING_BINS = 16
STATISTICS = RING_BINS + 6  # radial residual spectrum, then colour means and spreads
BACKBONE_DROPOUT = 0.5


class ResidualNet(torch.nn.Module):
    """Logit that a tile is AI-generated, from its high-pass residual (the image minus its 3x3 local mean):
    the residual itself, beside the centred colour image, or its log power spectrum (upsampling and
    decoder traces show as peaks and slopes there); `residual+statistics` joins the backbone's features of the
    residual with fixed statistics (radial residual spectrum, colour means and spreads) in one linear head."""

    def __init__(self, backbone: str, representation: str = "rgb+residual") -> None:
        super().__init__()
        if representation not in REPRESENTATIONS:
            raise ModelError(f"unknown input representation {representation!r}; known: {sorted(REPRESENTATIONS)}")
        self.representation = representation
        hybrid = representation == "residual+statistics"
        try:
            self.backbone = timm.create_model(
                backbone, pretrained=False, num_classes=0 if hybrid else 1, in_chans=REPRESENTATIONS[representation])
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ModelError(f"cannot build timm backbone {backbone!r}: {exc}") from None
        if hybrid:
            self.statistics_norm = torch.nn.BatchNorm1d(STATISTICS)
            self.dropout = torch.nn.Dropout(BACKBONE_DROPOUT)
            self.head = torch.nn.Linear(self.backbone.num_features + STATISTICS, 1)

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        """`tiles`: float (N, 3, H, W) in [0, 1]; returns (N,) logits."""
        local_mean = F.avg_pool2d(tiles, 3, stride=1, padding=1, count_include_pad=False)
        residual = (tiles - local_mean) * RESIDUAL_GAIN
        if self.representation == "residual":
            inputs = residual
        elif self.representation == "rgb+residual":
            inputs = torch.cat([tiles - 0.5, residual], dim=1)
        elif self.representation == "residual+statistics":
            colour = [tiles.mean(dim=(2, 3)), tiles.std(dim=(2, 3))]
            statistics = torch.cat([ring_spectrum(residual.mean(dim=1)), *colour], dim=1)
            features = torch.cat([self.dropout(self.backbone(residual)), self.statistics_norm(statistics)], dim=1)
            return self.head(features).squeeze(1)
        else:
            inputs = log_spectrum(residual.mean(dim=1, keepdim=True))
        return self.backbone(inputs).squeeze(1)


def ring_spectrum(residual: torch.Tensor, bins: int = RING_BINS) -> torch.Tensor:
    """Log power of (N, H, W) residuals averaged in `bins` radial frequency rings: (N, bins)."""
    height, width = residual.shape[-2:]
    power = torch.fft.fftshift(torch.fft.fft2(residual).abs().square(), dim=(-2, -1)).reshape(len(residual), -1)
    yy, xx = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    radius = torch.hypot(yy - height / 2, xx - width / 2) / (min(height, width) / 2)
    ring = (radius * bins).long().clamp_max(bins - 1).reshape(-1)
    members = F.one_hot(ring, bins).to(power.dtype)
    return torch.log1p(power @ (members / members.sum(dim=0)))


def log_spectrum(residual: torch.Tensor) -> torch.Tensor:
    """Centred log power spectrum of (N, 1, H, W) residuals, pooled and standardised per tile."""
    power = torch.fft.fftshift(torch.fft.fft2(residual).abs().square(), dim=(-2, -1))
    spectrum = F.avg_pool2d(torch.log1p(power), SPECTRUM_POOL)
    mean = spectrum.mean(dim=(-2, -1), keepdim=True)
    return (spectrum - mean) / spectrum.std(dim=(-2, -1), keepdim=True).clamp_min(1e-6)


def build(
    backbone: str, weights: str | os.PathLike | None = None, representation: str = "rgb+residual"
) -> ResidualNet:
    """A new network, initialised from scratch or from a local safetensors file of backbone weights."""
    net = ResidualNet(backbone, representation)
    if weights is not None:
        state = read_safetensors(weights)
        own = net.backbone.state_dict()
        usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        if not usable:
            raise ModelError(f"{weights}: no tensor matches backbone {backbone!r}")
        net.backbone.load_state_dict(usable, strict=False)
    return net


def read_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load tensors from a safetensors file; anything else (a pickle, a truncated file) is refused."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: weights file not found")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: not a valid safetensors file ({exc}); pickled weights are refused") from None


def write_safetensors(tensors: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    """Save tensors (contiguous, CPU) as safetensors."""
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(path))


def load_weights(net: ResidualNet, path: str | os.PathLike) -> None:
    """Fill `net` from a safetensors file written by `write_safetensors(net.state_dict(), ...)`."""
    state = read_safetensors(path)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first_line = str(exc).splitlines()[0]
        raise ModelError(f"{path}: weights do not fit the model card's backbone ({first_line})") from None


def tile_grid(frames: np.ndarray, tile_px: int = TILE_PX) -> torch.Tensor:
    """Cut (T, H, W, 3) uint8 frames into non-overlapping tiles: (T * tiles_per_frame, 3, tile, tile) floats."""
    count, height, width = frames.shape[:3]
    rows, cols = height // tile_px, width // tile_px
    if rows == 0 or cols == 0:
        raise ModelError(f"frames of {width}x{height} are smaller than one {tile_px}-px tile")
    cut = frames[:, : rows * tile_px, : cols * tile_px]
    cut = cut.reshape(count, rows, tile_px, cols, tile_px, 3).transpose(0, 1, 3, 5, 2, 4)
    return torch.from_numpy(np.ascontiguousarray(cut.reshape(-1, 3, tile_px, tile_px))).float().div_(255.0)


@torch.inference_mode()
def frame_logits(net: ResidualNet, frames: np.ndarray, tile_px: int = TILE_PX, batch_tiles: int = 256) -> np.ndarray:
    """Mean tile logit of every frame: (T,) float64."""
    net.eval()
    tiles = tile_grid(frames, tile_px)
    logits = torch.cat([net(tiles[i : i + batch_tiles]) for i in range(0, len(tiles), batch_tiles)])
    return logits.reshape(len(frames), -1).mean(dim=1).double().numpy()
