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

from detector.forest import Forest
from detector.normalise import CHROMA_FROM_RGB
from detector.temporal import TEMPORAL_STATISTICS, temporal_statistics
from provenance.errors import ModelError

TILE_PX = 64
RESIDUAL_GAIN = 8.0


REPRESENTATIONS = {"residual": 3, "rgb+residual": 6, "residual-spectrum": 1, "residual+statistics": 3,
                   "residual+statistics+temporal": 3}
SPECTRUM_POOL = 2  # average 2x2 frequency bins: a steadier power estimate and a quarter of the compute
RING_BINS = 16
COARSE_RING_BINS = 8  # rings of the residual of the tile shrunk 2x
ENERGY_BLOCKS_PX = (16, 32)  # the residual's local energy is measured in blocks of these sides
ENERGY_QUANTILES = (0.1, 0.5, 0.9)
ENERGY_STATISTICS = len(ENERGY_QUANTILES) + 2  # the quantiles, their 90-10 spread and the standard deviation
INTENSITY_BANDS = 8  # the residual's energy is also measured in this many equal bands of grey level
INTENSITY_MIN_PIXELS = 20  # a band with fewer pixels in a frame counts as holding the frame's mean energy
ENERGY_FLOOR = 1e-6  # added to energies before taking logs
# For grey, Cb and Cr residuals: radial spectra at full and half scale, and the spread of local energies at two
# block sizes; then colour means and spreads, then saturation mean and spread; then, for each residual, its
# energy by grey level and the slope of that curve.
STATISTICS = 3 * (RING_BINS + COARSE_RING_BINS + len(ENERGY_BLOCKS_PX) * ENERGY_STATISTICS) + 6 + 2 + 3 * (
    INTENSITY_BANDS + 1)
BACKBONE_DROPOUT = 0.5
STATISTICS_INVERSE_L2 = 0.1  # the statistics head's logistic regression: C, as in scikit-learn
STATISTICS_MIN_SCALE = 1e-2  # a statistic (log power) that barely varies in training must not explode elsewhere
FOREST_WEIGHT = 0.5  # the statistics' logit: the average of the regression's and the forest's


class ResidualNet(torch.nn.Module):
    """Logit that a tile is AI-generated, from its high-pass residual (the image minus its 3x3 local mean):
    the residual itself, beside the centred colour image, or its log power spectrum (upsampling and
    decoder traces show as peaks and slopes there); `residual+statistics` adds what the backbone reads in the
    residual to a linear logit of fixed statistics (`tile_statistics`), standardised by stored buffers. That
    statistics head is fitted first, in closed form (`fit_statistics_head`); the backbone's head starts at zero,
    so the network starts where the statistics are and training can only add the backbone's part.
    `residual+statistics+temporal` appends the window's `temporal_statistics` to every tile's statistics."""

    def __init__(self, backbone: str, representation: str = "rgb+residual") -> None:
        super().__init__()
        if representation not in REPRESENTATIONS:
            raise ModelError(f"unknown input representation {representation!r}; known: {sorted(REPRESENTATIONS)}")
        self.representation = representation
        hybrid = representation.startswith("residual+statistics")
        self.temporal = representation.endswith("+temporal")
        width = statistics_width(representation)
        try:
            self.backbone = timm.create_model(
                backbone, pretrained=False, num_classes=0 if hybrid else 1, in_chans=REPRESENTATIONS[representation])
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ModelError(f"cannot build timm backbone {backbone!r}: {exc}") from None
        if hybrid:
            self.register_buffer("statistics_mean", torch.zeros(width))
            self.register_buffer("statistics_scale", torch.ones(width))
            self.statistics_head = torch.nn.Linear(width, 1)
            self.forest = Forest(width)
            self.dropout = torch.nn.Dropout(BACKBONE_DROPOUT)
            self.backbone_head = torch.nn.Linear(self.backbone.num_features, 1)
            torch.nn.init.zeros_(self.backbone_head.weight)
            torch.nn.init.zeros_(self.backbone_head.bias)

    def forward(self, tiles: torch.Tensor, temporal: torch.Tensor | None = None) -> torch.Tensor:
        """`tiles`: float (N, 3, H, W) in [0, 1], with (N, TEMPORAL_STATISTICS) `temporal` statistics of each
        tile's window if the representation takes them; returns (N,) logits."""
        residual = high_pass(tiles)
        if self.representation == "residual":
            inputs = residual
        elif self.representation == "rgb+residual":
            inputs = torch.cat([tiles - 0.5, residual], dim=1)
        elif self.representation.startswith("residual+statistics"):
            statistics = tile_statistics(tiles, residual)
            if self.temporal:
                if temporal is None:
                    raise ModelError("this network also reads temporal statistics of each tile's window")
                statistics = torch.cat([statistics, temporal.to(statistics.dtype)], dim=1)
            linear = self.statistics_head((statistics - self.statistics_mean) / self.statistics_scale).squeeze(1)
            learnt = self.backbone_head(self.dropout(self.backbone(residual))).squeeze(1)
            return (1 - FOREST_WEIGHT) * linear + FOREST_WEIGHT * self.forest(statistics) + learnt
        else:
            inputs = log_spectrum(residual.mean(dim=1, keepdim=True))
        return self.backbone(inputs).squeeze(1)


def statistics_width(representation: str) -> int:
    """How many statistics the statistics head and the forest of `representation` read."""
    return STATISTICS + (TEMPORAL_STATISTICS if representation.endswith("+temporal") else 0)


def high_pass(tiles: torch.Tensor) -> torch.Tensor:
    """The residual of (N, C, H, W) tiles: each pixel minus its 3x3 local mean, times `RESIDUAL_GAIN`."""
    local_mean = F.avg_pool2d(tiles, 3, stride=1, padding=1, count_include_pad=False)
    return (tiles - local_mean) * RESIDUAL_GAIN


def tile_statistics(tiles: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """Fixed statistics of (N, 3, H, W) tiles and their residuals: (N, STATISTICS).

    For the grey and chroma (Cb, Cr) residuals: the radial log power spectrum, the same of the tile shrunk 2x,
    and the distribution of local residual energies (`energy_spread`); then the colour means and spreads, the
    mean and spread of the saturation (max - min) / max, and the residuals' energy by grey level
    (`energy_by_intensity`).
    """
    planes = residual_planes(residual)
    spectra = [ring_spectrum(plane) for plane in planes]
    coarse = [ring_spectrum(plane, COARSE_RING_BINS) for plane in residual_planes(high_pass(F.avg_pool2d(tiles, 2)))]
    energies = [energy_spread(plane, block_px) for block_px in ENERGY_BLOCKS_PX for plane in planes]
    brightest = tiles.amax(dim=1)
    saturation = (brightest - tiles.amin(dim=1)) / brightest.clamp_min(1.0 / 255)
    colour = [tiles.mean(dim=(2, 3)), tiles.std(dim=(2, 3)), saturation.mean(dim=(1, 2))[:, None],
              saturation.std(dim=(1, 2))[:, None]]
    by_intensity = energy_by_intensity(tiles.mean(dim=1), torch.stack(planes, dim=1))
    return torch.cat([*spectra, *coarse, *energies, *colour, by_intensity], dim=1)


def residual_planes(residual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The grey, Cb and Cr planes of (N, 3, H, W) RGB residuals, each (N, H, W)."""
    chroma = torch.einsum("ck,nkhw->nchw", torch.tensor(CHROMA_FROM_RGB, dtype=residual.dtype), residual)
    return residual.mean(dim=1), chroma[:, 0], chroma[:, 1]


def energy_spread(residual: torch.Tensor, block_px: int) -> torch.Tensor:
    """How the log energy of (N, H, W) residuals varies between blocks: quantiles, 90-10 spread, deviation.

    Generated frames tend to be evenly clean or evenly noisy; camera noise and texture vary across the frame.
    """
    energy = torch.log(F.avg_pool2d(residual.square()[:, None], block_px).flatten(1) + 1e-6)
    quantiles = torch.quantile(energy, torch.tensor(ENERGY_QUANTILES, dtype=energy.dtype), dim=1).T
    spread = quantiles[:, -1:] - quantiles[:, :1]
    return torch.cat([quantiles, spread, energy.std(dim=1, correction=0, keepdim=True)], dim=1)


def energy_by_intensity(grey: torch.Tensor, residuals: torch.Tensor) -> torch.Tensor:
    """For (N, P, H, W) residual planes: log mean energy in each band of the (N, H, W) grey level in [0, 1], over
    the plane's mean energy, then the slope of that curve over the bands: (N, P * (INTENSITY_BANDS + 1)).

    Camera noise grows with brightness (shot noise); a generator's decoder need not follow that law.
    """
    band = (grey * INTENSITY_BANDS).long().clamp(0, INTENSITY_BANDS - 1).flatten(1)
    members = F.one_hot(band, INTENSITY_BANDS).to(residuals.dtype)
    energy = residuals.square().flatten(2)
    pixels = members.sum(dim=1)[:, None]
    populated = (pixels > INTENSITY_MIN_PIXELS).to(residuals.dtype)
    band_energy = (energy @ members) / pixels.clamp_min(1)
    relative = torch.log((band_energy + ENERGY_FLOOR) / (energy.mean(dim=2, keepdim=True) + ENERGY_FLOOR))
    relative = relative * populated
    centres = (torch.arange(INTENSITY_BANDS, dtype=residuals.dtype) + 0.5) / INTENSITY_BANDS
    weight = populated / populated.sum(dim=2, keepdim=True).clamp_min(1)
    offset = centres - (weight * centres).sum(dim=2, keepdim=True)
    spread = (weight * offset.square()).sum(dim=2)
    slope = (weight * offset * relative).sum(dim=2) / spread.clamp_min(1e-12) * (spread > 0)
    return torch.cat([relative, slope[..., None]], dim=2).flatten(1)


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


@torch.inference_mode()
def statistics_of(
    window: np.ndarray, tile_px: int = TILE_PX, stride: int = 1, temporal: bool = False
) -> np.ndarray:
    """`tile_statistics` of every tile of every `stride`-th of a window's (T, H, W, 3) uint8 frames, each row
    followed by the whole window's `temporal_statistics` if `temporal`: (tiles, statistics) float64."""
    tiles = tile_grid(window[::stride], tile_px)
    rows = tile_statistics(tiles, high_pass(tiles)).double().numpy()
    if not temporal:
        return rows
    return np.concatenate([rows, np.repeat(temporal_statistics(window)[None], len(rows), axis=0)], axis=1)


def fit_statistics_head(
    net: ResidualNet, statistics: np.ndarray, labels: np.ndarray, seed: int, inverse_l2: float = STATISTICS_INVERSE_L2
) -> None:
    """Fit the statistics head (standardised, class-balanced logistic regression) and the forest, then freeze them."""
    from sklearn.linear_model import LogisticRegression

    mean = statistics.mean(axis=0)
    scale = np.maximum(statistics.std(axis=0), STATISTICS_MIN_SCALE)
    regression = LogisticRegression(C=inverse_l2, class_weight="balanced", max_iter=5000)
    regression.fit((statistics - mean) / scale, labels)
    with torch.no_grad():
        net.statistics_mean.copy_(torch.from_numpy(mean))
        net.statistics_scale.copy_(torch.from_numpy(scale))
        net.statistics_head.weight.copy_(torch.from_numpy(regression.coef_))
        net.statistics_head.bias.copy_(torch.from_numpy(regression.intercept_))
    net.statistics_head.requires_grad_(False)
    net.forest.fit(statistics, labels, seed)


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
    if net.representation.startswith("residual+statistics"):
        net.forest.check()


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
def frame_logits(
    net: ResidualNet, window: np.ndarray, tile_px: int = TILE_PX, stride: int = 1, batch_tiles: int = 256
) -> np.ndarray:
    """Mean tile logit of every `stride`-th frame of a window's (T, H, W, 3) uint8 frames: (scored frames,)."""
    net.eval()
    frames = window[::stride]
    tiles = tile_grid(frames, tile_px)
    temporal = None
    if net.temporal:
        temporal = torch.from_numpy(temporal_statistics(window)).float()[None].expand(len(tiles), -1)
    logits = torch.cat([net(tiles[i : i + batch_tiles], None if temporal is None else temporal[i : i + batch_tiles])
                        for i in range(0, len(tiles), batch_tiles)])
    return logits.reshape(len(frames), -1).mean(dim=1).double().numpy()
