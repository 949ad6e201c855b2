"""The watermark's message: a 64-bit payload, CRC-24 check bits, and a rate-1/3 convolutional code.

The code (constraint length 7, generators 133/171/165 octal, free distance 15) is terminated with six
zero tail bits and decoded by soft-decision list Viterbi (the 8 best words, tried in order against the
check bits), so any 7 flipped coded bits are corrected and weaker soft evidence is used rather than
thrown away. The 24 check bits, XOR-ed with a keyed mask, make a failed decode report "no payload"
instead of a wrong one (one of 8 random words passes with probability at most 8 * 2^-24).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np

from provenance.errors import BadInput

PAYLOAD_BITS = 64
CRC_BITS = 24
CRC_POLY = 0x864CFB  # CRC-24/OpenPGP
CRC_INIT = 0xB704CE
CONSTRAINT_LENGTH = 7
GENERATORS_OCTAL = (0o133, 0o171, 0o165)
TAIL_BITS = CONSTRAINT_LENGTH - 1
INFO_BITS = PAYLOAD_BITS + CRC_BITS
CODED_BITS = (INFO_BITS + TAIL_BITS) * len(GENERATORS_OCTAL)
CORRECTABLE_ERRORS = 7  # (free distance 15 - 1) / 2
STATES = 1 << (CONSTRAINT_LENGTH - 1)
LIST_PATHS = 8  # candidate words tried against the check bits; a random word passes one with chance 8 * 2^-24


@dataclass(frozen=True)
class Payload:
    """A 64-bit identifier carried by the watermark (e.g. the ledger key of a signed clip)."""

    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) * 8 != PAYLOAD_BITS:
            raise BadInput(f"a payload is {PAYLOAD_BITS // 8} bytes, got {len(self.value)}")

    @classmethod
    def random(cls) -> Payload:
        return cls(secrets.token_bytes(PAYLOAD_BITS // 8))

    @classmethod
    def from_hex(cls, text: str) -> Payload:
        try:
            value = bytes.fromhex(text)
        except (ValueError, TypeError):
            raise BadInput(f"payload {text!r} is not hexadecimal") from None
        return cls(value)

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> Payload:
        return cls(np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes())

    @property
    def hex(self) -> str:
        return self.value.hex()

    @property
    def bits(self) -> np.ndarray:
        """The payload as 64 values 0/1, most significant bit first."""
        return np.unpackbits(np.frombuffer(self.value, dtype=np.uint8))

    def __str__(self) -> str:
        return self.hex


def crc24(bits: np.ndarray) -> np.ndarray:
    """CRC-24 of a bit sequence, as 24 bits (most significant first)."""
    register = CRC_INIT
    for bit in bits:
        top = ((register >> (CRC_BITS - 1)) & 1) ^ int(bit)
        register = (register << 1) & ((1 << CRC_BITS) - 1)
        if top:
            register ^= CRC_POLY
    return np.array([(register >> i) & 1 for i in range(CRC_BITS - 1, -1, -1)], dtype=np.uint8)


def _output_table() -> np.ndarray:
    """Coded bits emitted for (state, input bit): shape (STATES, 2, rate)."""
    table = np.zeros((STATES, 2, len(GENERATORS_OCTAL)), dtype=np.uint8)
    for state in range(STATES):
        for bit in (0, 1):
            register = (bit << (CONSTRAINT_LENGTH - 1)) | state
            for k, generator in enumerate(GENERATORS_OCTAL):
                table[state, bit, k] = bin(register & generator).count("1") & 1
    return table


_OUTPUTS = _output_table()


def _next_state(state: np.ndarray | int, bit: np.ndarray | int) -> np.ndarray | int:
    return (state >> 1) | (bit << (CONSTRAINT_LENGTH - 2))


def conv_encode(info_bits: np.ndarray) -> np.ndarray:
    """Encode info bits (0/1) with the terminated convolutional code; returns coded bits 0/1."""
    state = 0
    coded = []
    for bit in np.concatenate([np.asarray(info_bits, dtype=np.int64), np.zeros(TAIL_BITS, dtype=np.int64)]):
        coded.append(_OUTPUTS[state, bit])
        state = _next_state(state, int(bit))
    return np.concatenate(coded)


def list_viterbi_decode(soft: np.ndarray, paths: int) -> list[np.ndarray]:
    """The `paths` most likely info-bit sequences for soft coded values, best first (parallel list Viterbi).

    Positive soft values mean bit 1, their magnitude the confidence; with `paths=1` this is plain
    maximum-likelihood Viterbi decoding.
    """
    rate = len(GENERATORS_OCTAL)
    steps = len(soft) // rate
    signs = 2.0 * _OUTPUTS.astype(np.float64) - 1.0  # (STATES, 2, rate)
    metric = np.full((STATES, paths), -np.inf)  # the best `paths` path metrics ending in each state
    metric[0, 0] = 0.0
    states = np.arange(STATES)
    # Two predecessors lead to each next state; they differ in their lowest bit (the "slot").
    came_from = np.zeros((steps, STATES, paths), dtype=np.int64)  # flat index: (slot * paths + rank)
    for step in range(steps):
        branch = signs @ soft[step * rate : (step + 1) * rate]  # (STATES, 2)
        candidates = np.full((STATES, 2, paths), -np.inf)
        for bit in (0, 1):
            candidates[_next_state(states, bit), states & 1] = metric + branch[:, bit, None]
        flat = candidates.reshape(STATES, 2 * paths)
        order = np.argsort(-flat, axis=1, kind="stable")[:, :paths]
        metric = np.take_along_axis(flat, order, axis=1)
        came_from[step] = order
    decoded = []
    for rank in range(paths):
        if not np.isfinite(metric[0, rank]):
            break
        state, position = 0, rank  # terminated: the tail bits return the encoder to state 0
        bits = np.zeros(steps, dtype=np.uint8)
        for step in range(steps - 1, -1, -1):
            bits[step] = state >> (CONSTRAINT_LENGTH - 2)
            slot, position = divmod(int(came_from[step, state, position]), paths)
            state = ((state << 1) & (STATES - 1)) | slot
        decoded.append(bits[: steps - TAIL_BITS])
    return decoded


def encode_payload(payload: Payload, scrambler: np.ndarray) -> np.ndarray:
    """Payload + masked check bits, convolutionally coded: CODED_BITS values 0/1."""
    info = np.concatenate([payload.bits, crc24(payload.bits) ^ scrambler])
    return conv_encode(info)


def encode_payloads(bits: np.ndarray, scrambler: np.ndarray) -> np.ndarray:
    """Codewords of many payloads at once: (N, 64) bits 0/1 to (N, CODED_BITS) bits 0/1.

    The check bits and the code are linear over GF(2), so a codeword is the zero payload's codeword plus
    (mod 2) the codewords' differences of the payload's one bits.
    """
    zero = Payload(bytes(PAYLOAD_BITS // 8))
    base = encode_payload(zero, scrambler)
    unit = np.eye(PAYLOAD_BITS, dtype=np.uint8)
    basis = np.stack([encode_payload(Payload.from_bits(row), scrambler) ^ base for row in unit]).astype(np.float32)
    ones = np.asarray(bits, dtype=np.float32) @ basis  # how many one bits touch each coded bit (at most 64)
    return (ones.astype(np.uint8) & 1) ^ base


def decode_candidates(soft: np.ndarray, paths: int = LIST_PATHS) -> list[np.ndarray]:
    """The decoder's best guesses at the info bits (payload then masked check bits), best first."""
    return list_viterbi_decode(np.asarray(soft, dtype=np.float64), paths)


def checked_payload(candidates: list[np.ndarray], scrambler: np.ndarray) -> Payload | None:
    """The payload of the first candidate that passes its check bits, else None."""
    for info in candidates:
        data, check = info[:PAYLOAD_BITS], info[PAYLOAD_BITS:]
        if np.array_equal(crc24(data) ^ scrambler, check):
            return Payload.from_bits(data)
    return None


def decode_payload(soft: np.ndarray, scrambler: np.ndarray) -> Payload | None:
    """The payload if the soft values decode to a word that passes its check bits, else None."""
    if not np.any(soft):
        return None
    return checked_payload(decode_candidates(soft), scrambler)
