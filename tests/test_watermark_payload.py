"""The payload's error-correcting code and check bits do what they claim."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.errors import BadInput
from provenance.watermark import Payload
from provenance.watermark.payload import (
    CODED_BITS,
    CORRECTABLE_ERRORS,
    CRC_BITS,
    PAYLOAD_BITS,
    decode_payload,
    encode_payload,
)

RNG_SEED = 7


@pytest.fixture
def check_mask() -> np.ndarray:
    return np.random.default_rng(RNG_SEED).integers(0, 2, CRC_BITS).astype(np.uint8)


def _soft(payload: Payload, check_mask: np.ndarray) -> np.ndarray:
    return 2.0 * encode_payload(payload, check_mask) - 1.0


def test_payload_round_trips_through_hex_and_bits() -> None:
    payload = Payload.random()
    assert len(payload.bits) == PAYLOAD_BITS
    assert Payload.from_hex(payload.hex) == payload
    assert Payload.from_bits(payload.bits) == payload
    assert len({payload, Payload.from_hex(payload.hex)}) == 1
    assert Payload.random() != payload


@pytest.mark.parametrize("text", ["", "zz" * 8, "00" * 7, "00" * 9])
def test_malformed_payload_is_refused(text: str) -> None:
    with pytest.raises(BadInput):
        Payload.from_hex(text)


def test_any_seven_flipped_coded_bits_are_corrected(check_mask: np.ndarray) -> None:
    rng = np.random.default_rng(RNG_SEED)
    for trial in range(60):
        payload = Payload.random()
        soft = _soft(payload, check_mask)
        if trial % 2:
            flips = rng.choice(CODED_BITS, CORRECTABLE_ERRORS, replace=False)
        else:  # a burst
            start = int(rng.integers(0, CODED_BITS - CORRECTABLE_ERRORS))
            flips = np.arange(start, start + CORRECTABLE_ERRORS)
        soft[flips] *= -1
        assert decode_payload(soft, check_mask) == payload


def test_soft_decoding_reads_noisy_words(check_mask: np.ndarray) -> None:
    rng = np.random.default_rng(RNG_SEED)
    payloads = [Payload.random() for _ in range(30)]
    decoded = [decode_payload(_soft(p, check_mask) + rng.normal(0, 0.8, CODED_BITS), check_mask) for p in payloads]
    assert decoded == payloads


def test_noise_never_decodes_to_a_payload(check_mask: np.ndarray) -> None:
    rng = np.random.default_rng(RNG_SEED)
    assert all(decode_payload(rng.normal(size=CODED_BITS), check_mask) is None for _ in range(500))
    assert decode_payload(np.zeros(CODED_BITS), check_mask) is None
    assert decode_payload(np.ones(CODED_BITS), check_mask) is None
    assert decode_payload(-np.ones(CODED_BITS), check_mask) is None


def test_check_bits_depend_on_the_key_mask(check_mask: np.ndarray) -> None:
    payload = Payload.random()
    assert decode_payload(_soft(payload, check_mask), 1 - check_mask) is None
