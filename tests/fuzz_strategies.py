"""Hypothesis strategies for fuzzing parsers: seeds mutated as a byte-level fuzzer does
(bit flips, interesting integers written at any offset, inserted and deleted runs,
truncation, a splice of two seeds), or arbitrary bytes."""

from __future__ import annotations

import struct

from hypothesis import strategies as st

#: Values that break length and offset arithmetic (AFL's "interesting" integers).
INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)


@st.composite
def _mutate(draw, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("flip", "byte", "int", "insert", "delete", "truncate", "splice")))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "int":
            value = draw(st.sampled_from(INTERESTING))
            size, order = draw(st.sampled_from([(1, "<"), (2, "<"), (2, ">"), (4, "<"), (4, ">"), (8, "<"), (8, ">")]))
            raw = struct.pack(order + {1: "B", 2: "H", 4: "I", 8: "Q"}[size], value & ((1 << (8 * size)) - 1))
            data[pos:pos + size] = raw
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            cut = draw(st.integers(0, len(other)))
            data[pos:] = other[cut:]
    return bytes(data)


def mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Inputs derived from ``seeds`` by a few byte-level mutations, or short random bytes."""
    return _mutate(seeds) | st.binary(max_size=256)
