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
    LIST_PATHS,
    PAYLOAD_BITS,
    checked_payload,
    conv_encode,
    decode_candidates,
    decode_payload,
    encode_payload,
    encode_payloads,
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


def test_list_decoding_reads_words_that_the_single_best_path_misses(check_mask: np.ndarray) -> None:
    rng = np.random.default_rng(RNG_SEED)
    read = {1: 0, LIST_PATHS: 0}
    for _ in range(60):
        payload = Payload.random()
        soft = _soft(payload, check_mask) + rng.normal(0, 1.25, CODED_BITS)
        for paths in read:
            read[paths] += checked_payload(decode_candidates(soft, paths), check_mask) == payload
    assert read[LIST_PATHS] > read[1] + 5


def test_list_candidates_are_distinct_and_ordered_best_first(check_mask: np.ndarray) -> None:
    soft = _soft(Payload.random(), check_mask) + np.random.default_rng(RNG_SEED).normal(0, 1.5, CODED_BITS)
    candidates = decode_candidates(soft, LIST_PATHS)
    assert len({c.tobytes() for c in candidates}) == LIST_PATHS
    assert np.array_equal(candidates[0], decode_candidates(soft, 1)[0])
    metrics = [float((2.0 * conv_encode(c) - 1.0) @ soft) for c in candidates]
    assert metrics == sorted(metrics, reverse=True)


def test_noise_never_decodes_to_a_payload(check_mask: np.ndarray) -> None:
    rng = np.random.default_rng(RNG_SEED)
    assert all(decode_payload(rng.normal(size=CODED_BITS), check_mask) is None for _ in range(500))
    assert decode_payload(np.zeros(CODED_BITS), check_mask) is None
    assert decode_payload(np.ones(CODED_BITS), check_mask) is None
    assert decode_payload(-np.ones(CODED_BITS), check_mask) is None


def test_check_bits_depend_on_the_key_mask(check_mask: np.ndarray) -> None:
    payload = Payload.random()
    assert decode_payload(_soft(payload, check_mask), 1 - check_mask) is None


def test_many_payloads_encode_at_once_to_the_same_codewords(check_mask: np.ndarray) -> None:
    payloads = [Payload.random() for _ in range(40)] + [Payload(bytes(8)), Payload(b"\xff" * 8)]
    words = encode_payloads(np.stack([p.bits for p in payloads]), check_mask)
    assert words.shape == (len(payloads), CODED_BITS)
    assert all(np.array_equal(word, encode_payload(p, check_mask)) for word, p in zip(words, payloads, strict=True))
